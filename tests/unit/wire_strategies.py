"""Hypothesis strategies for every chunk, parameter and error cause of sctpx.wire.

Shared by the round-trip and fuzz tests. Values are built the way the decoder
returns them (tuples, not lists; IPv6 text in RFC 5952 form, as ``ipaddress`` writes it), so that
``decode(encode(x)) == x`` is the property to test.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from sctpx.wire import (
    AbortChunk,
    AdaptationLayerIndicationParam,
    Cause,
    Chunk,
    ChunkListParam,
    CookieAckChunk,
    CookieEchoChunk,
    CookiePreservativeParam,
    CookieReceivedWhileShuttingDown,
    DataChunk,
    ErrorChunk,
    ForwardTsnChunk,
    ForwardTsnSupportedParam,
    HeartbeatAckChunk,
    HeartbeatChunk,
    HeartbeatInfoParam,
    HmacAlgoParam,
    HostNameAddressParam,
    IDataChunk,
    IForwardTsnChunk,
    InitAckChunk,
    InitChunk,
    InvalidMandatoryParameter,
    InvalidStreamIdentifier,
    IPv4AddressParam,
    IPv6AddressParam,
    MissingMandatoryParameter,
    NoUserData,
    OutOfResource,
    Packet,
    PadChunk,
    Param,
    ProtocolViolation,
    RandomParam,
    RestartWithNewAddresses,
    SackChunk,
    ShutdownAckChunk,
    ShutdownChunk,
    ShutdownCompleteChunk,
    StaleCookieError,
    StateCookieParam,
    SupportedAddressTypesParam,
    SupportedExtensionsParam,
    UnknownCause,
    UnknownChunk,
    UnknownParam,
    UnrecognizedChunkType,
    UnrecognizedParam,
    UnrecognizedParameters,
    UnresolvableAddress,
    UserInitiatedAbort,
)
from sctpx.wire.causes import KNOWN_CAUSES
from sctpx.wire.chunks import KNOWN_CHUNKS
from sctpx.wire.params import KNOWN_PARAMS

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
# Short opaque values: every length 0..23, so all four padding amounts occur often.
blob = st.binary(max_size=23)


def _tuple_of(elements: st.SearchStrategy[Any], max_size: int = 6) -> st.SearchStrategy[Any]:
    return st.lists(elements, max_size=max_size).map(tuple)


ipv4_text = st.binary(min_size=4, max_size=4).map(lambda b: str(ipaddress.IPv4Address(b)))
ipv6_text = st.one_of(
    st.binary(min_size=16, max_size=16),
    # Mostly-zero addresses exercise the "::" compression of the text form.
    st.lists(
        st.sampled_from([b"\x00\x00", b"\x00\x01", b"\xfd\x00", b"\xff\xff"]),
        min_size=8,
        max_size=8,
    ).map(b"".join),
).map(lambda b: str(ipaddress.IPv6Address(b)))


def unknown_type(
    bits: int, known: dict[int, Any], action: int | None = None
) -> st.SearchStrategy[int]:
    """A type number of ``bits`` bits that no class claims, with the given (or any) action bits."""
    shift = bits - 2
    actions = st.just(action) if action is not None else st.integers(0, 3)
    low = st.integers(0, (1 << shift) - 1)
    return st.builds(lambda a, lo: (a << shift) | lo, actions, low).filter(lambda t: t not in known)


unknown_param = st.builds(UnknownParam, unknown_type(16, KNOWN_PARAMS), blob)

params: st.SearchStrategy[Param] = st.one_of(
    st.builds(HeartbeatInfoParam, blob),
    st.builds(IPv4AddressParam, ipv4_text),
    st.builds(IPv6AddressParam, ipv6_text),
    st.builds(StateCookieParam, blob),
    st.builds(UnrecognizedParam, blob),
    st.builds(CookiePreservativeParam, u32),
    st.builds(HostNameAddressParam, blob),
    st.builds(SupportedAddressTypesParam, _tuple_of(u16)),
    st.builds(RandomParam, blob),
    st.builds(ChunkListParam, _tuple_of(u8)),
    st.builds(HmacAlgoParam, _tuple_of(u16)),
    st.builds(SupportedExtensionsParam, _tuple_of(u8)),
    st.just(ForwardTsnSupportedParam()),
    st.builds(AdaptationLayerIndicationParam, u32),
    unknown_param,
)

unknown_cause = st.builds(
    UnknownCause, st.integers(0, 0xFFFF).filter(lambda c: c not in KNOWN_CAUSES), blob
)

causes: st.SearchStrategy[Cause] = st.one_of(
    st.builds(InvalidStreamIdentifier, u16, u16),
    st.builds(MissingMandatoryParameter, _tuple_of(u16)),
    st.builds(StaleCookieError, u32),
    st.just(OutOfResource()),
    st.builds(UnresolvableAddress, blob),
    st.builds(UnrecognizedChunkType, blob),
    st.just(InvalidMandatoryParameter()),
    st.builds(UnrecognizedParameters, blob),
    st.builds(NoUserData, u32),
    st.just(CookieReceivedWhileShuttingDown()),
    st.builds(RestartWithNewAddresses, _tuple_of(params, 4)),
    st.builds(UserInitiatedAbort, blob),
    st.builds(ProtocolViolation, blob),
    unknown_cause,
)

unknown_chunk = st.builds(UnknownChunk, unknown_type(8, KNOWN_CHUNKS), blob, u8)

chunks: st.SearchStrategy[Chunk] = st.one_of(
    st.builds(DataChunk, u32, u16, u16, u32, st.binary(max_size=64), u8),
    st.builds(IDataChunk, u32, u16, u32, u32, st.binary(max_size=64), u8),
    st.builds(InitChunk, u32, u32, u16, u16, u32, _tuple_of(params, 8), u8),
    st.builds(InitAckChunk, u32, u32, u16, u16, u32, _tuple_of(params, 8), u8),
    st.builds(SackChunk, u32, u32, _tuple_of(st.tuples(u16, u16)), _tuple_of(u32), u8),
    st.builds(HeartbeatChunk, blob, u8),
    st.builds(HeartbeatAckChunk, blob, u8),
    st.builds(AbortChunk, _tuple_of(causes, 4), u8),
    st.builds(ShutdownChunk, u32, u8),
    st.builds(ShutdownAckChunk, u8),
    st.builds(ErrorChunk, _tuple_of(causes, 4), u8),
    st.builds(CookieEchoChunk, blob, u8),
    st.builds(CookieAckChunk, u8),
    st.builds(ShutdownCompleteChunk, u8),
    st.builds(ForwardTsnChunk, u32, _tuple_of(st.tuples(u16, u16)), u8),
    st.builds(IForwardTsnChunk, u32, _tuple_of(st.tuples(u16, st.booleans(), u32)), u8),
    st.builds(PadChunk, blob, u8),
    unknown_chunk,
)

packets: st.SearchStrategy[Packet] = st.builds(Packet, u16, u16, u32, st.lists(chunks, max_size=6))
