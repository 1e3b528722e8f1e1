"""The only exceptions the wire layer raises."""


class ParseError(ValueError):
    """The bytes are not a well-formed SCTP packet, chunk, parameter or error cause."""


class ChecksumError(ParseError):
    """The packet's CRC32c does not match its contents (RFC 9260 §6.8)."""
