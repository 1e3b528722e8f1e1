"""Error causes carried in ERROR and ABORT chunks (RFC 9260 §3.3.10).

Each cause is a dataclass with a ``code`` class attribute; unknown causes are
kept byte for byte as :class:`UnknownCause`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from .errors import ParseError
from .params import Param, decode_params, encode_params
from .tlv import U32, encode_tlv, iter_tlvs


def _empty(v: bytes, what: str) -> None:
    if v:
        raise ParseError(f"{what}: {len(v)} unexpected value bytes")


def _u32(v: bytes, what: str) -> int:
    if len(v) != 4:
        raise ParseError(f"{what}: {len(v)} value bytes, want 4")
    return int(U32.unpack(v)[0])


@dataclass(slots=True)
class InvalidStreamIdentifier:
    """§3.3.10.1: DATA was sent to a stream that does not exist."""

    code: ClassVar[int] = 1
    stream_id: int
    reserved: int = 0

    def value(self) -> bytes:
        return struct.pack("!HH", self.stream_id, self.reserved)

    @classmethod
    def from_value(cls, v: bytes) -> InvalidStreamIdentifier:
        if len(v) != 4:
            raise ParseError(f"Invalid Stream Identifier: {len(v)} value bytes, want 4")
        sid, res = struct.unpack("!HH", v)
        return cls(sid, res)


@dataclass(slots=True)
class MissingMandatoryParameter:
    """§3.3.10.2: the INIT or INIT ACK lacked these mandatory parameter types."""

    code: ClassVar[int] = 2
    param_types: tuple[int, ...]

    def value(self) -> bytes:
        n = len(self.param_types)
        return struct.pack(f"!I{n}H", n, *self.param_types)

    @classmethod
    def from_value(cls, v: bytes) -> MissingMandatoryParameter:
        if len(v) < 4:
            raise ParseError("Missing Mandatory Parameter: no count")
        (n,) = U32.unpack_from(v)
        if len(v) != 4 + 2 * n:
            raise ParseError(f"Missing Mandatory Parameter: count {n} vs {len(v) - 4} bytes")
        return cls(struct.unpack_from(f"!{n}H", v, 4))


@dataclass(slots=True)
class StaleCookieError:
    """§3.3.10.3: the cookie had expired by this many microseconds."""

    code: ClassVar[int] = 3
    staleness_us: int

    def value(self) -> bytes:
        return U32.pack(self.staleness_us)

    @classmethod
    def from_value(cls, v: bytes) -> StaleCookieError:
        return cls(_u32(v, "Stale Cookie Error"))


@dataclass(slots=True)
class OutOfResource:
    """§3.3.10.4: the sender is out of resources."""

    code: ClassVar[int] = 4

    def value(self) -> bytes:
        return b""

    @classmethod
    def from_value(cls, v: bytes) -> OutOfResource:
        _empty(v, "Out of Resource")
        return cls()


@dataclass(slots=True)
class UnresolvableAddress:
    """§3.3.10.5: an address parameter (its whole TLV) the sender could not use."""

    code: ClassVar[int] = 5
    address: bytes

    def value(self) -> bytes:
        return self.address

    @classmethod
    def from_value(cls, v: bytes) -> UnresolvableAddress:
        return cls(v)


@dataclass(slots=True)
class UnrecognizedChunkType:
    """§3.3.10.6: the chunk (its type, flags, length and value) the sender did not know."""

    code: ClassVar[int] = 6
    chunk: bytes

    def value(self) -> bytes:
        return self.chunk

    @classmethod
    def from_value(cls, v: bytes) -> UnrecognizedChunkType:
        return cls(v)


@dataclass(slots=True)
class InvalidMandatoryParameter:
    """§3.3.10.7: a mandatory parameter of INIT or INIT ACK had an invalid value."""

    code: ClassVar[int] = 7

    def value(self) -> bytes:
        return b""

    @classmethod
    def from_value(cls, v: bytes) -> InvalidMandatoryParameter:
        _empty(v, "Invalid Mandatory Parameter")
        return cls()


@dataclass(slots=True)
class UnrecognizedParameters:
    """§3.3.10.8: the unknown parameters (whole TLVs, padded) of an INIT ACK."""

    code: ClassVar[int] = 8
    parameters: bytes

    def value(self) -> bytes:
        return self.parameters

    @classmethod
    def from_value(cls, v: bytes) -> UnrecognizedParameters:
        return cls(v)


@dataclass(slots=True)
class NoUserData:
    """§3.3.10.9: a DATA chunk with this TSN had no user data."""

    code: ClassVar[int] = 9
    tsn: int

    def value(self) -> bytes:
        return U32.pack(self.tsn)

    @classmethod
    def from_value(cls, v: bytes) -> NoUserData:
        return cls(_u32(v, "No User Data"))


@dataclass(slots=True)
class CookieReceivedWhileShuttingDown:
    """§3.3.10.10: a COOKIE ECHO arrived in SHUTDOWN-ACK-SENT."""

    code: ClassVar[int] = 10

    def value(self) -> bytes:
        return b""

    @classmethod
    def from_value(cls, v: bytes) -> CookieReceivedWhileShuttingDown:
        _empty(v, "Cookie Received While Shutting Down")
        return cls()


@dataclass(slots=True)
class RestartWithNewAddresses:
    """§3.3.10.11: a restart INIT added these addresses (address parameters)."""

    code: ClassVar[int] = 11
    addresses: tuple[Param, ...]

    def value(self) -> bytes:
        return encode_params(self.addresses)

    @classmethod
    def from_value(cls, v: bytes) -> RestartWithNewAddresses:
        return cls(decode_params(v, "Restart address"))


@dataclass(slots=True)
class UserInitiatedAbort:
    """§3.3.10.12: the upper layer's reason for aborting (opaque bytes)."""

    code: ClassVar[int] = 12
    reason: bytes

    def value(self) -> bytes:
        return self.reason

    @classmethod
    def from_value(cls, v: bytes) -> UserInitiatedAbort:
        return cls(v)


@dataclass(slots=True)
class ProtocolViolation:
    """§3.3.10.13: the peer broke the protocol; ``info`` says how (opaque bytes)."""

    code: ClassVar[int] = 13
    info: bytes

    def value(self) -> bytes:
        return self.info

    @classmethod
    def from_value(cls, v: bytes) -> ProtocolViolation:
        return cls(v)


@dataclass(slots=True)
class UnknownCause:
    """An error cause code we do not implement, kept byte for byte."""

    code: int
    body: bytes

    def value(self) -> bytes:
        return self.body


Cause = (
    InvalidStreamIdentifier
    | MissingMandatoryParameter
    | StaleCookieError
    | OutOfResource
    | UnresolvableAddress
    | UnrecognizedChunkType
    | InvalidMandatoryParameter
    | UnrecognizedParameters
    | NoUserData
    | CookieReceivedWhileShuttingDown
    | RestartWithNewAddresses
    | UserInitiatedAbort
    | ProtocolViolation
    | UnknownCause
)

KNOWN_CAUSES: dict[int, type[Cause]] = {
    cls.code: cls
    for cls in (
        InvalidStreamIdentifier,
        MissingMandatoryParameter,
        StaleCookieError,
        OutOfResource,
        UnresolvableAddress,
        UnrecognizedChunkType,
        InvalidMandatoryParameter,
        UnrecognizedParameters,
        NoUserData,
        CookieReceivedWhileShuttingDown,
        RestartWithNewAddresses,
        UserInitiatedAbort,
        ProtocolViolation,
    )
}


def decode_causes(data: bytes) -> tuple[Cause, ...]:
    """All error causes in the value of an ERROR or ABORT chunk."""
    out: list[Cause] = []
    for code, s, e in iter_tlvs(data, "error cause"):
        cls = KNOWN_CAUSES.get(code)
        v = data[s:e]
        out.append(UnknownCause(code, v) if cls is None else cls.from_value(v))  # type: ignore[union-attr]
    return tuple(out)


def encode_cause(c: Cause) -> bytes:
    """One error cause with its padding; ValueError if a field does not fit the wire."""
    try:
        return encode_tlv(c.code, c.value())
    except (ValueError, struct.error, OSError) as e:
        raise ValueError(f"cannot encode error cause {c.code}: {e}") from e


def encode_causes(causes: tuple[Cause, ...] | list[Cause]) -> bytes:
    """Error causes back to back, each padded."""
    return b"".join(encode_cause(c) for c in causes)
