"""SCTP packets: the common header and its chunks (RFC 9260 §3, §3.1, §6.8)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .chunks import DATA_HDR, KNOWN_CHUNKS, Chunk, DataChunk, UnknownChunk
from .crc import crc32c_bytes, crc32c_extend_bytes
from .errors import ChecksumError, ParseError
from .tlv import padding

COMMON_HDR = struct.Struct("!HHI")  # source port, destination port, verification tag
CHUNK_HDR = struct.Struct("!BBH")  # type, flags, length
_LE32 = struct.Struct("<I")
_ZERO4 = b"\x00\x00\x00\x00"
_PAD = (b"", b"\x00\x00\x00", b"\x00\x00", b"\x00")  # by length & 3: padding(length)


@dataclass(slots=True)
class Packet:
    """One SCTP packet: common header fields and the chunks it bundles."""

    src_port: int
    dst_port: int
    verification_tag: int
    chunks: list[Chunk] = field(default_factory=list)


def _checksum(data: bytes) -> int:
    # RFC 9260 §6.8 and Appendix A: CRC32c over the packet with the checksum field
    # zeroed; the reflected result is stored least significant byte first.
    return crc32c_extend_bytes(crc32c_bytes(data[:8] + _ZERO4), data[12:])


def decode_packet(data: bytes | bytearray | memoryview, *, verify_checksum: bool = True) -> Packet:
    """Parse ``data`` into a :class:`Packet`; raises only :class:`ParseError`.

    With ``verify_checksum`` a wrong CRC32c raises :class:`ChecksumError`.
    Every chunk must be followed by its zero-to-three padding bytes, the last one
    too (RFC 9260 §3.2: the sender MUST pad); their contents are ignored.
    """
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    if n < 12:
        raise ParseError(f"packet of {n} bytes is shorter than the 12-byte common header")
    if verify_checksum and _LE32.unpack_from(data, 8)[0] != _checksum(data):
        raise ChecksumError("CRC32c mismatch")
    src, dst, vtag = COMMON_HDR.unpack_from(data)
    chunks: list[Chunk] = []
    off = 12
    while off < n:
        if n - off < 4:
            raise ParseError(f"{n - off} trailing bytes after the last chunk")
        ctype, flags, length = CHUNK_HDR.unpack_from(data, off)
        if length < 4:
            raise ParseError(f"chunk type {ctype}: length {length} below 4")
        end = off + length
        if end > n:
            raise ParseError(f"chunk type {ctype}: length {length} overruns the packet")
        if ctype == 0:  # DATA, the hot path: §3.3.1
            if length < 16:
                raise ParseError(f"DATA: length {length}, below its minimum of 16")
            tsn, sid, ssn, ppid = DATA_HDR.unpack_from(data, off + 4)
            chunks.append(DataChunk(tsn, sid, ssn, ppid, data[off + 16 : end], flags))
        else:
            cls = KNOWN_CHUNKS.get(ctype)
            value = data[off + 4 : end]
            if cls is None:
                chunks.append(UnknownChunk(ctype, value, flags))
            else:
                chunks.append(cls.from_value(flags, value))  # type: ignore[union-attr]
        off = (end + 3) & ~3
        if off > n:
            raise ParseError(f"chunk type {ctype}: the packet ends inside its padding")
    return Packet(src, dst, vtag, chunks)


def encode_chunk(chunk: Chunk) -> bytes:
    """One chunk with its header and padding (RFC 9260 §3.2).

    Raises ValueError for a field that does not fit the wire: an integer out of
    range, an address that is not one, a chunk or TLV longer than 65,535 bytes.
    """
    try:
        value = chunk.value()
        length = 4 + len(value)
        if length > 0xFFFF:
            raise ValueError(f"{length} bytes exceed the 16-bit length")
        return CHUNK_HDR.pack(chunk.type, chunk.flags, length) + value + padding(length)
    except (ValueError, struct.error, OSError) as e:
        raise ValueError(f"cannot encode chunk type {chunk.type}: {e}") from e


_DATA_FULL = struct.Struct("!BBHIHHI")  # chunk header and DATA header, RFC 9260 §3.3.1


def _encode_data(c: DataChunk) -> bytes:
    """The hot path of encode_chunk: one DATA chunk, packed in one go."""
    n = 16 + len(c.user_data)
    if n > 0xFFFF:
        raise ValueError(f"cannot encode chunk type 0: {n} bytes exceed the 16-bit length")
    try:
        hdr = _DATA_FULL.pack(0, c.flags, n, c.tsn, c.stream_id, c.ssn, c.ppid)
    except struct.error as e:
        raise ValueError(f"cannot encode chunk type 0: {e}") from e
    return hdr + c.user_data + _PAD[n & 3]


def encode_packet(packet: Packet) -> bytes:
    """Serialise ``packet`` and fill in its CRC32c; ValueError for fields that do not fit."""
    body = b"".join(
        [_encode_data(c) if type(c) is DataChunk else encode_chunk(c) for c in packet.chunks]
    )
    try:
        hdr = COMMON_HDR.pack(packet.src_port, packet.dst_port, packet.verification_tag)
    except struct.error as e:
        raise ValueError(f"cannot encode the common header: {e}") from e
    crc = crc32c_extend_bytes(crc32c_bytes(hdr + _ZERO4), body)  # §6.8, as in _checksum
    return b"".join((hdr, _LE32.pack(crc), body))
