"""SCTP chunks (RFC 9260 §3.3; FORWARD TSN: RFC 3758 §3.2; I-DATA, I-FORWARD-TSN: RFC 8260 §2.1,
§2.3.1; PAD: RFC 4820 §3; RE-CONFIG: RFC 6525 §3.1).

Every chunk is a dataclass with an integer ``type`` and ``flags``; ``value()``
gives the bytes after the 4-byte chunk header (without the chunk's own
padding) and ``from_value(flags, value)`` is its inverse. Chunk types we do
not implement stay :class:`UnknownChunk`, byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .causes import Cause, decode_causes
from .errors import ParseError
from .params import Param, decode_params
from .tlv import TL, U32, UnknownAction, chunk_action, iter_tlvs, join_tlvs

DATA_HDR = struct.Struct("!IHHI")  # TSN, stream id, SSN, PPID (after the chunk header)
IDATA_HDR = struct.Struct("!IHHII")  # TSN, stream id, reserved, MID, PPID/FSN
INIT_HDR = struct.Struct("!IIHHI")  # initiate tag, a_rwnd, OS, MIS, initial TSN
SACK_HDR = struct.Struct("!IIHH")  # cum TSN ack, a_rwnd, #gap blocks, #dup TSNs

# DATA / I-DATA flag bits, RFC 9260 §3.3.1 and RFC 7053 (I bit).
FLAG_END = 0x01
FLAG_BEGIN = 0x02
FLAG_UNORDERED = 0x04
FLAG_IMMEDIATE = 0x08
# ABORT and SHUTDOWN COMPLETE: RFC 9260 §3.3.7, §3.3.13.
FLAG_T = 0x01


def _min_len(v: bytes, n: int, what: str) -> None:
    if len(v) < n:
        raise ParseError(f"{what}: {len(v) + 4} bytes, below its minimum of {n + 4}")


class _DataFlags:
    """Accessors for the U, B, E and I bits of DATA and I-DATA."""

    __slots__ = ()
    flags: int

    @property
    def unordered(self) -> bool:
        return bool(self.flags & FLAG_UNORDERED)

    @property
    def beginning(self) -> bool:
        return bool(self.flags & FLAG_BEGIN)

    @property
    def ending(self) -> bool:
        return bool(self.flags & FLAG_END)

    @property
    def immediate(self) -> bool:
        return bool(self.flags & FLAG_IMMEDIATE)


@dataclass(slots=True)
class DataChunk(_DataFlags):
    """§3.3.1 DATA. ``ppid`` is an integer in host order; it is big-endian on the wire."""

    type: ClassVar[int] = 0
    tsn: int
    stream_id: int
    ssn: int
    ppid: int
    user_data: bytes
    flags: int = FLAG_BEGIN | FLAG_END

    def value(self) -> bytes:
        return DATA_HDR.pack(self.tsn, self.stream_id, self.ssn, self.ppid) + self.user_data

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> DataChunk:
        _min_len(v, 12, "DATA")
        tsn, sid, ssn, ppid = DATA_HDR.unpack_from(v)
        return cls(tsn, sid, ssn, ppid, v[12:], flags)


@dataclass(slots=True)
class IDataChunk(_DataFlags):
    """RFC 8260 §2.1 I-DATA: ``ppid_or_fsn`` is the PPID when B is set, else the FSN."""

    type: ClassVar[int] = 64
    tsn: int
    stream_id: int
    mid: int
    ppid_or_fsn: int
    user_data: bytes
    flags: int = FLAG_BEGIN | FLAG_END

    def value(self) -> bytes:
        hdr = IDATA_HDR.pack(self.tsn, self.stream_id, 0, self.mid, self.ppid_or_fsn)
        return hdr + self.user_data

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> IDataChunk:
        _min_len(v, 16, "I-DATA")
        tsn, sid, _res, mid, pf = IDATA_HDR.unpack_from(v)
        return cls(tsn, sid, mid, pf, v[16:], flags)


@dataclass(slots=True)
class _InitBase:
    initiate_tag: int
    a_rwnd: int
    outbound_streams: int
    inbound_streams: int
    initial_tsn: int
    params: tuple[Param, ...] = ()
    flags: int = 0

    def value(self) -> bytes:
        fixed = INIT_HDR.pack(
            self.initiate_tag,
            self.a_rwnd,
            self.outbound_streams,
            self.inbound_streams,
            self.initial_tsn,
        )
        return fixed + join_tlvs([(p.type, p.value()) for p in self.params])


@dataclass(slots=True)
class InitChunk(_InitBase):
    """§3.3.2 INIT. Field checks (tag ≠ 0, streams ≥ 1) belong to the core, not here."""

    type: ClassVar[int] = 1

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> InitChunk:
        _min_len(v, 16, "INIT")
        tag, rwnd, os_, mis, tsn = INIT_HDR.unpack_from(v)
        return cls(tag, rwnd, os_, mis, tsn, decode_params(v[16:], "INIT parameter"), flags)


@dataclass(slots=True)
class InitAckChunk(_InitBase):
    """§3.3.3 INIT ACK."""

    type: ClassVar[int] = 2

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> InitAckChunk:
        _min_len(v, 16, "INIT ACK")
        tag, rwnd, os_, mis, tsn = INIT_HDR.unpack_from(v)
        return cls(tag, rwnd, os_, mis, tsn, decode_params(v[16:], "INIT ACK parameter"), flags)


@dataclass(slots=True)
class SackChunk:
    """§3.3.4 SACK. Gap blocks are (start, end) offsets from the cumulative TSN ack."""

    type: ClassVar[int] = 3
    cum_tsn_ack: int
    a_rwnd: int
    gap_blocks: tuple[tuple[int, int], ...] = ()
    dup_tsns: tuple[int, ...] = ()
    flags: int = 0

    def value(self) -> bytes:
        ng, nd = len(self.gap_blocks), len(self.dup_tsns)
        fixed = SACK_HDR.pack(self.cum_tsn_ack, self.a_rwnd, ng, nd)
        if not ng and not nd:
            return fixed  # the common SACK: no gaps, no duplicates
        flat = [x for block in self.gap_blocks for x in block]
        return fixed + struct.pack(f"!{2 * ng}H{nd}I", *flat, *self.dup_tsns)

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> SackChunk:
        _min_len(v, 12, "SACK")
        cum, rwnd, ng, nd = SACK_HDR.unpack_from(v)
        if len(v) != 12 + 4 * ng + 4 * nd:
            raise ParseError(f"SACK: {ng} gap blocks and {nd} dup TSNs vs {len(v) + 4} bytes")
        if not ng and not nd:
            return cls(cum, rwnd, (), (), flags)
        nums = struct.unpack_from(f"!{2 * ng}H{nd}I", v, 12)
        gaps = tuple(zip(nums[0 : 2 * ng : 2], nums[1 : 2 * ng : 2], strict=True))
        return cls(cum, rwnd, gaps, tuple(nums[2 * ng :]), flags)


@dataclass(slots=True)
class _HeartbeatBase:
    info: bytes
    flags: int = 0

    def value(self) -> bytes:
        return join_tlvs([(1, self.info)])

    @staticmethod
    def _info(v: bytes, what: str) -> bytes:
        # §3.3.5/§3.3.6: the value is exactly one Heartbeat Info TLV (type 1).
        tlvs = list(iter_tlvs(v, f"{what} parameter"))
        if len(tlvs) != 1 or tlvs[0][0] != 1:
            found = [hex(t) for t, _, _ in tlvs]
            raise ParseError(f"{what}: want one Heartbeat Info parameter, found types {found}")
        _, s, e = tlvs[0]
        return v[s:e]


@dataclass(slots=True)
class HeartbeatChunk(_HeartbeatBase):
    """§3.3.5 HEARTBEAT; ``info`` is the Heartbeat Info parameter's value."""

    type: ClassVar[int] = 4

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> HeartbeatChunk:
        return cls(cls._info(v, "HEARTBEAT"), flags)


@dataclass(slots=True)
class HeartbeatAckChunk(_HeartbeatBase):
    """§3.3.6 HEARTBEAT ACK: the HEARTBEAT's info, echoed."""

    type: ClassVar[int] = 5

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> HeartbeatAckChunk:
        return cls(cls._info(v, "HEARTBEAT ACK"), flags)


@dataclass(slots=True)
class _CausesBase:
    causes: tuple[Cause, ...] = ()
    flags: int = 0

    def value(self) -> bytes:
        return join_tlvs([(c.code, c.value()) for c in self.causes])


@dataclass(slots=True)
class AbortChunk(_CausesBase):
    """§3.3.7 ABORT. T bit set: the packet carries the receiver's own tag (reflected)."""

    type: ClassVar[int] = 6

    @property
    def t_bit(self) -> bool:
        return bool(self.flags & FLAG_T)

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> AbortChunk:
        return cls(decode_causes(v), flags)


@dataclass(slots=True)
class ErrorChunk(_CausesBase):
    """§3.3.10 ERROR (Operation Error)."""

    type: ClassVar[int] = 9

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> ErrorChunk:
        return cls(decode_causes(v), flags)


@dataclass(slots=True)
class ShutdownChunk:
    """§3.3.8 SHUTDOWN."""

    type: ClassVar[int] = 7
    cum_tsn_ack: int
    flags: int = 0

    def value(self) -> bytes:
        return U32.pack(self.cum_tsn_ack)

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> ShutdownChunk:
        if len(v) != 4:
            raise ParseError(f"SHUTDOWN: length {len(v) + 4}, want 8")
        return cls(U32.unpack(v)[0], flags)


@dataclass(slots=True)
class _EmptyBase:
    flags: int = 0

    def value(self) -> bytes:
        return b""

    @staticmethod
    def _check_empty(v: bytes, what: str) -> None:
        # §3.3.9, §3.3.12, §3.3.13: these chunks are exactly 4 bytes long.
        if v:
            raise ParseError(f"{what}: length {len(v) + 4}, want 4")


@dataclass(slots=True)
class ShutdownAckChunk(_EmptyBase):
    """§3.3.9 SHUTDOWN ACK."""

    type: ClassVar[int] = 8

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> ShutdownAckChunk:
        cls._check_empty(v, "SHUTDOWN ACK")
        return cls(flags)


@dataclass(slots=True)
class CookieAckChunk(_EmptyBase):
    """§3.3.12 COOKIE ACK."""

    type: ClassVar[int] = 11

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> CookieAckChunk:
        cls._check_empty(v, "COOKIE ACK")
        return cls(flags)


@dataclass(slots=True)
class ShutdownCompleteChunk(_EmptyBase):
    """§3.3.13 SHUTDOWN COMPLETE; T bit as in ABORT."""

    type: ClassVar[int] = 14

    @property
    def t_bit(self) -> bool:
        return bool(self.flags & FLAG_T)

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> ShutdownCompleteChunk:
        cls._check_empty(v, "SHUTDOWN COMPLETE")
        return cls(flags)


@dataclass(slots=True)
class CookieEchoChunk:
    """§3.3.11 COOKIE ECHO: the state cookie from the INIT ACK, verbatim."""

    type: ClassVar[int] = 10
    cookie: bytes
    flags: int = 0

    def value(self) -> bytes:
        return self.cookie

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> CookieEchoChunk:
        return cls(v, flags)


@dataclass(slots=True)
class ForwardTsnChunk:
    """RFC 3758 §3.2 FORWARD TSN: new cumulative TSN and (stream id, SSN) pairs."""

    type: ClassVar[int] = 192
    new_cum_tsn: int
    streams: tuple[tuple[int, int], ...] = ()
    flags: int = 0

    def value(self) -> bytes:
        flat = [x for pair in self.streams for x in pair]
        return U32.pack(self.new_cum_tsn) + struct.pack(f"!{len(flat)}H", *flat)

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> ForwardTsnChunk:
        _min_len(v, 4, "FORWARD TSN")
        if len(v) % 4:
            raise ParseError(f"FORWARD TSN: length {len(v) + 4} is not 8 + 4n")
        n = (len(v) - 4) // 2
        nums = struct.unpack_from(f"!I{n}H", v)
        return cls(nums[0], tuple(zip(nums[1::2], nums[2::2], strict=True)), flags)


@dataclass(slots=True)
class IForwardTsnChunk:
    """RFC 8260 §2.3.1 I-FORWARD-TSN: new cumulative TSN and (stream id, unordered, MID)."""

    type: ClassVar[int] = 194
    new_cum_tsn: int
    entries: tuple[tuple[int, bool, int], ...] = ()
    flags: int = 0

    def value(self) -> bytes:
        out = [U32.pack(self.new_cum_tsn)]
        out += [struct.pack("!HHI", s, int(u), m) for s, u, m in self.entries]
        return b"".join(out)

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> IForwardTsnChunk:
        _min_len(v, 4, "I-FORWARD-TSN")
        if len(v) % 8 != 4:
            raise ParseError(f"I-FORWARD-TSN: length {len(v) + 4} is not 8 + 8n")
        entries = tuple((s, bool(u & 1), m) for s, u, m in struct.iter_unpack("!HHI", v[4:]))
        return cls(U32.unpack_from(v)[0], entries, flags)


@dataclass(slots=True)
class PadChunk:
    """RFC 4820 §3 PAD: filler the receiver ignores."""

    type: ClassVar[int] = 132
    padding: bytes = b""
    flags: int = 0

    def value(self) -> bytes:
        return self.padding

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> PadChunk:
        return cls(v, flags)


@dataclass(slots=True)
class ReconfigChunk:
    """RFC 6525 §3.1 RE-CONFIG: one or two request or response parameters (§3.1 lists the
    valid pairs; the receiver judges them, the codec keeps whatever is there). The chunk
    length leaves out the last parameter's padding (RFC 9260 §3.2), as INIT's does."""

    type: ClassVar[int] = 130
    params: tuple[Param, ...] = ()
    flags: int = 0

    def value(self) -> bytes:
        return join_tlvs([(p.type, p.value()) for p in self.params])

    @classmethod
    def from_value(cls, flags: int, v: bytes) -> ReconfigChunk:
        return cls(decode_params(v, "RE-CONFIG parameter"), flags)


@dataclass(slots=True)
class UnknownChunk:
    """A chunk type we do not implement, kept byte for byte (RFC 9260 §3.2)."""

    type: int
    body: bytes = b""
    flags: int = 0

    @property
    def action(self) -> UnknownAction:
        return chunk_action(self.type)

    def value(self) -> bytes:
        return self.body

    def tlv(self) -> bytes:
        """The chunk as received (header and value, unpadded), for an Unrecognized Chunk report."""
        return TL.pack((self.type << 8) | self.flags, 4 + len(self.body)) + self.body


Chunk = (
    DataChunk
    | IDataChunk
    | InitChunk
    | InitAckChunk
    | SackChunk
    | HeartbeatChunk
    | HeartbeatAckChunk
    | AbortChunk
    | ShutdownChunk
    | ShutdownAckChunk
    | ErrorChunk
    | CookieEchoChunk
    | CookieAckChunk
    | ShutdownCompleteChunk
    | ForwardTsnChunk
    | IForwardTsnChunk
    | PadChunk
    | ReconfigChunk
    | UnknownChunk
)

KNOWN_CHUNKS: dict[int, type[Chunk]] = {
    cls.type: cls
    for cls in (
        DataChunk,
        IDataChunk,
        InitChunk,
        InitAckChunk,
        SackChunk,
        HeartbeatChunk,
        HeartbeatAckChunk,
        AbortChunk,
        ShutdownChunk,
        ShutdownAckChunk,
        ErrorChunk,
        CookieEchoChunk,
        CookieAckChunk,
        ShutdownCompleteChunk,
        ForwardTsnChunk,
        IForwardTsnChunk,
        PadChunk,
        ReconfigChunk,
    )
}
