"""Sans-IO SCTP protocol engine: no sockets, threads, clocks or global randomness."""
