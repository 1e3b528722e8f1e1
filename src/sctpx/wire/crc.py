"""CRC32c for the SCTP checksum (RFC 9260 §6.8, Appendix A), C-accelerated."""

from __future__ import annotations

from collections.abc import Callable

import google_crc32c

# The C functions themselves, for callers that already hold ``bytes`` (the packet codec):
# they take read-only buffers and return an int.
crc32c_bytes: Callable[[bytes], int] = google_crc32c.value
crc32c_extend_bytes: Callable[[int, bytes], int] = google_crc32c.extend


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """The CRC32c (Castagnoli) of ``data``, as an integer."""
    return int(google_crc32c.value(bytes(data) if isinstance(data, memoryview) else data))


def crc32c_extend(crc: int, data: bytes | bytearray | memoryview) -> int:
    """The CRC32c of the bytes behind ``crc`` followed by ``data``, without joining them."""
    return int(google_crc32c.extend(crc, bytes(data) if isinstance(data, memoryview) else data))
