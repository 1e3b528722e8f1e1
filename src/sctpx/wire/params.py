"""INIT / INIT ACK parameters and the HEARTBEAT Info parameter (RFC 9260 §3.2.1, §3.3.2-§3.3.3);
the RE-CONFIG parameters (RFC 6525 §4).

Each parameter is a small dataclass with a ``type`` class attribute; unknown
parameters are kept byte for byte as :class:`UnknownParam`, whose ``action``
says what RFC 9260 §3.2.1 wants done with it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .errors import ParseError
from .ipaddr import pack_ipv4, pack_ipv6, unpack_ip
from .tlv import U32, UnknownAction, encode_tlv, iter_tlvs, param_action


@dataclass(slots=True)
class HeartbeatInfoParam:
    """RFC 9260 §3.3.5: opaque sender-specific information, echoed by the peer."""

    type: ClassVar[int] = 1
    info: bytes

    def value(self) -> bytes:
        return self.info

    @classmethod
    def from_value(cls, v: bytes) -> HeartbeatInfoParam:
        return cls(v)


@dataclass(slots=True)
class IPv4AddressParam:
    """RFC 9260 §3.3.2.1: an IPv4 address of the sender, as dotted text."""

    type: ClassVar[int] = 5
    address: str

    def value(self) -> bytes:
        return pack_ipv4(self.address)

    @classmethod
    def from_value(cls, v: bytes) -> IPv4AddressParam:
        if len(v) != 4:
            raise ParseError(f"IPv4 Address parameter: {len(v)} value bytes, want 4")
        return cls(unpack_ip(v))


@dataclass(slots=True)
class IPv6AddressParam:
    """RFC 9260 §3.3.2.1: an IPv6 address of the sender, in compressed text form."""

    type: ClassVar[int] = 6
    address: str

    def value(self) -> bytes:
        return pack_ipv6(self.address)

    @classmethod
    def from_value(cls, v: bytes) -> IPv6AddressParam:
        if len(v) != 16:
            raise ParseError(f"IPv6 Address parameter: {len(v)} value bytes, want 16")
        return cls(unpack_ip(v))


@dataclass(slots=True)
class StateCookieParam:
    """RFC 9260 §3.3.3.1: the state cookie in an INIT ACK, opaque to its receiver."""

    type: ClassVar[int] = 7
    cookie: bytes

    def value(self) -> bytes:
        return self.cookie

    @classmethod
    def from_value(cls, v: bytes) -> StateCookieParam:
        return cls(v)


@dataclass(slots=True)
class UnrecognizedParam:
    """RFC 9260 §3.3.3.1: an INIT parameter we did not know, returned whole (its TLV)."""

    type: ClassVar[int] = 8
    parameter: bytes

    def value(self) -> bytes:
        return self.parameter

    @classmethod
    def from_value(cls, v: bytes) -> UnrecognizedParam:
        return cls(v)


@dataclass(slots=True)
class CookiePreservativeParam:
    """RFC 9260 §3.3.2.1: ask for a longer cookie life, in milliseconds."""

    type: ClassVar[int] = 9
    increment_ms: int

    def value(self) -> bytes:
        return U32.pack(self.increment_ms)

    @classmethod
    def from_value(cls, v: bytes) -> CookiePreservativeParam:
        if len(v) != 4:
            raise ParseError(f"Cookie Preservative: {len(v)} value bytes, want 4")
        return cls(U32.unpack(v)[0])


@dataclass(slots=True)
class HostNameAddressParam:
    """RFC 9260 §3.3.2.1: a host name (NUL-terminated). Decoded so it can be refused; never sent."""

    type: ClassVar[int] = 11
    hostname: bytes

    def value(self) -> bytes:
        return self.hostname

    @classmethod
    def from_value(cls, v: bytes) -> HostNameAddressParam:
        return cls(v)


def _u16_list(v: bytes, what: str) -> tuple[int, ...]:
    if len(v) % 2:
        raise ParseError(f"{what}: odd value length {len(v)}")
    return struct.unpack(f"!{len(v) // 2}H", v)


@dataclass(slots=True)
class SupportedAddressTypesParam:
    """RFC 9260 §3.3.2.1: the address parameter types (5, 6, 11) the sender accepts."""

    type: ClassVar[int] = 12
    address_types: tuple[int, ...]

    def value(self) -> bytes:
        return struct.pack(f"!{len(self.address_types)}H", *self.address_types)

    @classmethod
    def from_value(cls, v: bytes) -> SupportedAddressTypesParam:
        return cls(_u16_list(v, "Supported Address Types"))


@dataclass(slots=True)
class RandomParam:
    """RFC 4895 §3.1 (SCTP-AUTH): random number. Kept opaque; we do not speak AUTH."""

    type: ClassVar[int] = 0x8002
    random: bytes

    def value(self) -> bytes:
        return self.random

    @classmethod
    def from_value(cls, v: bytes) -> RandomParam:
        return cls(v)


@dataclass(slots=True)
class ChunkListParam:
    """RFC 4895 §3.2 (SCTP-AUTH): chunk types that must be authenticated."""

    type: ClassVar[int] = 0x8003
    chunk_types: tuple[int, ...]

    def value(self) -> bytes:
        return bytes(self.chunk_types)

    @classmethod
    def from_value(cls, v: bytes) -> ChunkListParam:
        return cls(tuple(v))


@dataclass(slots=True)
class HmacAlgoParam:
    """RFC 4895 §3.3 (SCTP-AUTH): HMAC identifiers the sender supports."""

    type: ClassVar[int] = 0x8004
    hmac_ids: tuple[int, ...]

    def value(self) -> bytes:
        return struct.pack(f"!{len(self.hmac_ids)}H", *self.hmac_ids)

    @classmethod
    def from_value(cls, v: bytes) -> HmacAlgoParam:
        return cls(_u16_list(v, "HMAC Algorithm"))


@dataclass(slots=True)
class SupportedExtensionsParam:
    """RFC 5061 §4.2.7: chunk types of the extensions the sender supports."""

    type: ClassVar[int] = 0x8008
    chunk_types: tuple[int, ...]

    def value(self) -> bytes:
        return bytes(self.chunk_types)

    @classmethod
    def from_value(cls, v: bytes) -> SupportedExtensionsParam:
        return cls(tuple(v))


@dataclass(slots=True)
class ForwardTsnSupportedParam:
    """RFC 3758 §3.1: the sender speaks PR-SCTP (FORWARD TSN)."""

    type: ClassVar[int] = 0xC000

    def value(self) -> bytes:
        return b""

    @classmethod
    def from_value(cls, v: bytes) -> ForwardTsnSupportedParam:
        if v:
            raise ParseError(f"Forward-TSN-Supported: {len(v)} value bytes, want 0")
        return cls()


@dataclass(slots=True)
class AdaptationLayerIndicationParam:
    """RFC 5061 §4.2.8: a 32-bit adaptation code point for the upper layer."""

    type: ClassVar[int] = 0xC006
    indication: int

    def value(self) -> bytes:
        return U32.pack(self.indication)

    @classmethod
    def from_value(cls, v: bytes) -> AdaptationLayerIndicationParam:
        if len(v) != 4:
            raise ParseError(f"Adaptation Layer Indication: {len(v)} value bytes, want 4")
        return cls(U32.unpack(v)[0])


# ----- RFC 6525 §4: the parameters of a RE-CONFIG chunk -----

_U32x3 = struct.Struct("!III")
_U32x2 = struct.Struct("!II")
_ADD = struct.Struct("!IHH")


def _streams(v: bytes, what: str) -> tuple[int, ...]:
    if len(v) % 2:
        raise ParseError(f"{what}: odd stream list of {len(v)} bytes")
    return struct.unpack(f"!{len(v) // 2}H", v)


def _min(v: bytes, n: int, what: str) -> None:
    if len(v) < n:
        raise ParseError(f"{what}: {len(v)} value bytes, below its minimum of {n}")


@dataclass(slots=True)
class OutgoingSsnResetRequestParam:
    """RFC 6525 §4.1: the sender resets its outgoing streams (none listed: all)."""

    type: ClassVar[int] = 13
    request_seq: int
    response_seq: int
    last_tsn: int  # Sender's Last Assigned TSN
    streams: tuple[int, ...] = ()

    def value(self) -> bytes:
        head = _U32x3.pack(self.request_seq, self.response_seq, self.last_tsn)
        return head + struct.pack(f"!{len(self.streams)}H", *self.streams)

    @classmethod
    def from_value(cls, v: bytes) -> OutgoingSsnResetRequestParam:
        _min(v, 12, "Outgoing SSN Reset Request")
        req, resp, last = _U32x3.unpack_from(v)
        return cls(req, resp, last, _streams(v[12:], "Outgoing SSN Reset Request"))


@dataclass(slots=True)
class IncomingSsnResetRequestParam:
    """RFC 6525 §4.2: the sender asks the peer to reset its outgoing streams."""

    type: ClassVar[int] = 14
    request_seq: int
    streams: tuple[int, ...] = ()

    def value(self) -> bytes:
        return U32.pack(self.request_seq) + struct.pack(f"!{len(self.streams)}H", *self.streams)

    @classmethod
    def from_value(cls, v: bytes) -> IncomingSsnResetRequestParam:
        _min(v, 4, "Incoming SSN Reset Request")
        return cls(U32.unpack_from(v)[0], _streams(v[4:], "Incoming SSN Reset Request"))


@dataclass(slots=True)
class SsnTsnResetRequestParam:
    """RFC 6525 §4.3: reset every SSN and the TSN both ways."""

    type: ClassVar[int] = 15
    request_seq: int

    def value(self) -> bytes:
        return U32.pack(self.request_seq)

    @classmethod
    def from_value(cls, v: bytes) -> SsnTsnResetRequestParam:
        if len(v) != 4:
            raise ParseError(f"SSN/TSN Reset Request: {len(v)} value bytes, want 4")
        return cls(U32.unpack(v)[0])


@dataclass(slots=True)
class ReconfigResponseParam:
    """RFC 6525 §4.4: the result of a request; the two TSNs only after an SSN/TSN reset."""

    type: ClassVar[int] = 16
    response_seq: int
    result: int
    sender_next_tsn: int | None = None
    receiver_next_tsn: int | None = None

    def value(self) -> bytes:
        head = _U32x2.pack(self.response_seq, self.result)
        if self.sender_next_tsn is None:
            return head
        return head + _U32x2.pack(self.sender_next_tsn, self.receiver_next_tsn or 0)

    @classmethod
    def from_value(cls, v: bytes) -> ReconfigResponseParam:
        if len(v) == 8:
            return cls(*_U32x2.unpack(v))
        if len(v) == 16:
            return cls(*_U32x2.unpack_from(v), *_U32x2.unpack_from(v, 8))
        raise ParseError(f"Re-configuration Response: {len(v)} value bytes, want 8 or 16")


@dataclass(slots=True)
class _AddStreamsBase:
    request_seq: int
    new_streams: int
    reserved: int = 0

    def value(self) -> bytes:
        return _ADD.pack(self.request_seq, self.new_streams, self.reserved)

    @classmethod
    def _read(cls, v: bytes, what: str) -> tuple[int, int, int]:
        if len(v) != 8:
            raise ParseError(f"{what}: {len(v)} value bytes, want 8")
        seq, n, r = _ADD.unpack(v)
        return seq, n, r


@dataclass(slots=True)
class AddOutgoingStreamsRequestParam(_AddStreamsBase):
    """RFC 6525 §4.5: the sender adds this many outgoing streams."""

    type: ClassVar[int] = 17

    @classmethod
    def from_value(cls, v: bytes) -> AddOutgoingStreamsRequestParam:
        return cls(*cls._read(v, "Add Outgoing Streams Request"))


@dataclass(slots=True)
class AddIncomingStreamsRequestParam(_AddStreamsBase):
    """RFC 6525 §4.6: the sender asks the peer to add this many outgoing streams."""

    type: ClassVar[int] = 18

    @classmethod
    def from_value(cls, v: bytes) -> AddIncomingStreamsRequestParam:
        return cls(*cls._read(v, "Add Incoming Streams Request"))


@dataclass(slots=True)
class UnknownParam:
    """A parameter type we do not implement, kept byte for byte (RFC 9260 §3.2.1)."""

    type: int
    body: bytes

    @property
    def action(self) -> UnknownAction:
        return param_action(self.type)

    def value(self) -> bytes:
        return self.body

    def tlv(self) -> bytes:
        """The whole parameter as sent, for an Unrecognized Parameter report."""
        return encode_tlv(self.type, self.body)


Param = (
    HeartbeatInfoParam
    | IPv4AddressParam
    | IPv6AddressParam
    | StateCookieParam
    | UnrecognizedParam
    | CookiePreservativeParam
    | HostNameAddressParam
    | SupportedAddressTypesParam
    | RandomParam
    | ChunkListParam
    | HmacAlgoParam
    | SupportedExtensionsParam
    | ForwardTsnSupportedParam
    | AdaptationLayerIndicationParam
    | OutgoingSsnResetRequestParam
    | IncomingSsnResetRequestParam
    | SsnTsnResetRequestParam
    | ReconfigResponseParam
    | AddOutgoingStreamsRequestParam
    | AddIncomingStreamsRequestParam
    | UnknownParam
)

KNOWN_PARAMS: dict[int, type[Param]] = {
    cls.type: cls
    for cls in (
        HeartbeatInfoParam,
        IPv4AddressParam,
        IPv6AddressParam,
        StateCookieParam,
        UnrecognizedParam,
        CookiePreservativeParam,
        HostNameAddressParam,
        SupportedAddressTypesParam,
        RandomParam,
        ChunkListParam,
        HmacAlgoParam,
        SupportedExtensionsParam,
        ForwardTsnSupportedParam,
        AdaptationLayerIndicationParam,
        OutgoingSsnResetRequestParam,
        IncomingSsnResetRequestParam,
        SsnTsnResetRequestParam,
        ReconfigResponseParam,
        AddOutgoingStreamsRequestParam,
        AddIncomingStreamsRequestParam,
    )
}


def decode_param(t: int, v: bytes) -> Param:
    cls = KNOWN_PARAMS.get(t)
    if cls is None:
        return UnknownParam(t, v)
    return cls.from_value(v)  # type: ignore[union-attr]


def decode_params(data: bytes, what: str = "parameter") -> tuple[Param, ...]:
    """All parameters in ``data`` (the variable part of a chunk or cause)."""
    return tuple(decode_param(t, data[s:e]) for t, s, e in iter_tlvs(data, what))


def encode_param(p: Param) -> bytes:
    """One parameter with its padding; ValueError if a field does not fit the wire."""
    try:
        return encode_tlv(p.type, p.value())
    except (ValueError, struct.error, OSError) as e:
        raise ValueError(f"cannot encode parameter type {p.type:#x}: {e}") from e


def encode_params(params: tuple[Param, ...] | list[Param]) -> bytes:
    """Parameters back to back, each padded."""
    return b"".join(encode_param(p) for p in params)
