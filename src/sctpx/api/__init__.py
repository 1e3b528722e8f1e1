"""The RFC 6458 sockets API for SCTP, in Python form (blocking and non-blocking)."""
