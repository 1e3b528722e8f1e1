"""Type-length-value helpers shared by chunks, parameters and error causes.

RFC 9260 §3.2: chunks, and §3.2.1: parameters, are TLVs whose Length field
counts the header and value but not the zero padding up to a multiple of 4.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator

from .errors import ParseError

TL = struct.Struct("!HH")
U32 = struct.Struct("!I")
U16 = struct.Struct("!H")


def pad4(n: int) -> int:
    """Length ``n`` rounded up to a multiple of 4."""
    return (n + 3) & ~3


def padding(n: int) -> bytes:
    """The zero bytes that follow a TLV of length ``n``."""
    return b"\x00" * (-n & 3)


class UnknownAction(enum.IntEnum):
    """What to do with an unrecognized chunk or parameter: its type's upper two bits.

    RFC 9260 §3.2 (chunks) and §3.2.1 (parameters) give the same four codes; for
    chunks "stop" means discard the whole packet, for parameters it means stop
    processing the INIT or INIT ACK.
    """

    STOP = 0  # 00: stop processing, report nothing
    STOP_AND_REPORT = 1  # 01: stop processing, report it
    SKIP = 2  # 10: skip it, go on, report nothing
    SKIP_AND_REPORT = 3  # 11: skip it, go on, report it

    @property
    def stops(self) -> bool:
        return self in (UnknownAction.STOP, UnknownAction.STOP_AND_REPORT)

    @property
    def reports(self) -> bool:
        return self in (UnknownAction.STOP_AND_REPORT, UnknownAction.SKIP_AND_REPORT)


def chunk_action(chunk_type: int) -> UnknownAction:
    """RFC 9260 §3.2: the action bits are the two high bits of the 8-bit chunk type."""
    return UnknownAction(chunk_type >> 6)


def param_action(param_type: int) -> UnknownAction:
    """RFC 9260 §3.2.1: the action bits are the two high bits of the 16-bit type."""
    return UnknownAction(param_type >> 14)


def iter_tlvs(data: bytes | memoryview, what: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(type, value_start, value_end)`` for each 16/16-bit TLV in ``data``.

    The last TLV may lack its padding (RFC 9260 §3.2: a chunk's length does not
    count the padding of its last parameter). Any other shortfall is a ParseError.
    """
    end = len(data)
    off = 0
    while off < end:
        if end - off < 4:
            raise ParseError(f"{what}: {end - off} trailing bytes, too short for a header")
        t, length = TL.unpack_from(data, off)
        if length < 4:
            raise ParseError(f"{what} type {t:#x}: length {length} below 4")
        if off + length > end:
            raise ParseError(f"{what} type {t:#x}: length {length} overruns its container")
        yield t, off + 4, off + length
        off += pad4(length)


def encode_tlv(t: int, value: bytes) -> bytes:
    """One TLV with its padding."""
    n = 4 + len(value)
    if n > 0xFFFF:
        raise ValueError(f"TLV type {t:#x}: {n} bytes do not fit a 16-bit length")
    return TL.pack(t, n) + value + padding(n)


def join_tlvs(items: list[tuple[int, bytes]]) -> bytes:
    """TLVs back to back, each padded except the last.

    RFC 9260 §3.2: a chunk's Length includes the padding of every parameter but
    the last one; the chunk's own padding (added by the packet encoder) covers it.
    """
    if not items:
        return b""
    out = b"".join(encode_tlv(t, v) for t, v in items)
    return out[: len(out) - (-(4 + len(items[-1][1])) & 3)]
