"""sctpx: a userspace SCTP stack for Python (RFC 9260), built around sctp_connectx()."""

__version__ = "0.1.0"
