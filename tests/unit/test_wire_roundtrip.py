"""Hypothesis: whatever the codec can encode, it decodes back to an equal object."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_strategies import (
    causes,
    chunks,
    packets,
    params,
    unknown_chunk,
    unknown_param,
    unknown_type,
)

from sctpx.wire import (
    Cause,
    Chunk,
    InitChunk,
    Packet,
    Param,
    UnknownAction,
    UnknownChunk,
    UnknownParam,
    decode_causes,
    decode_packet,
    decode_params,
    encode_causes,
    encode_chunk,
    encode_packet,
    encode_params,
)
from sctpx.wire.chunks import KNOWN_CHUNKS
from sctpx.wire.params import KNOWN_PARAMS

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(packets)
def test_packet_round_trip(packet: Packet) -> None:
    data = encode_packet(packet)
    assert len(data) % 4 == 0  # every chunk is padded (RFC 9260 §3.2)
    back = decode_packet(data)
    assert back == packet
    assert encode_packet(back) == data


@SETTINGS
@given(chunks)
def test_chunk_round_trip_and_length_field(chunk: Chunk) -> None:
    raw = encode_chunk(chunk)
    length = int.from_bytes(raw[2:4], "big")
    # The length field counts header and value, not the 0-3 bytes of chunk padding.
    assert length == 4 + len(chunk.value())
    assert len(raw) == (length + 3) // 4 * 4
    assert raw[length:] == bytes(len(raw) - length)
    assert raw[0] == chunk.type and raw[1] == chunk.flags
    assert decode_packet(encode_packet(Packet(1, 2, 3, [chunk]))).chunks == [chunk]


@SETTINGS
@given(st.lists(params, max_size=8).map(tuple))
def test_params_round_trip(ps: tuple[Param, ...]) -> None:
    assert decode_params(encode_params(ps)) == ps
    # Inside an INIT the last parameter's padding is left out of the chunk length.
    init = InitChunk(1, 2, 3, 4, 5, ps)
    assert decode_packet(encode_packet(Packet(1, 2, 0, [init]))).chunks == [init]


@SETTINGS
@given(st.lists(causes, max_size=6).map(tuple))
def test_causes_round_trip(cs: tuple[Cause, ...]) -> None:
    assert decode_causes(encode_causes(cs)) == cs


@SETTINGS
@given(unknown_chunk)
def test_unknown_chunk_kept_byte_for_byte(chunk: UnknownChunk) -> None:
    assert chunk.type not in KNOWN_CHUNKS
    raw = encode_chunk(chunk)
    assert chunk.tlv() == raw[: 4 + len(chunk.body)]
    [back] = decode_packet(encode_packet(Packet(1, 2, 3, [chunk]))).chunks
    assert isinstance(back, UnknownChunk)
    assert (back.type, back.flags, back.body) == (chunk.type, chunk.flags, chunk.body)
    assert back.action == UnknownAction(chunk.type >> 6)


@SETTINGS
@given(unknown_param)
def test_unknown_param_kept_byte_for_byte(param: UnknownParam) -> None:
    assert param.type not in KNOWN_PARAMS
    [back] = decode_params(param.tlv())
    assert back == param
    assert isinstance(back, UnknownParam) and back.action == UnknownAction(param.type >> 14)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_unknown_types_of_every_action_survive(data: st.DataObject) -> None:
    """Each of the four upper-bit combinations is generated and decoded as unknown."""
    for action in UnknownAction:
        ctype = data.draw(unknown_type(8, KNOWN_CHUNKS, int(action)))
        ptype = data.draw(unknown_type(16, KNOWN_PARAMS, int(action)))
        body = data.draw(st.binary(max_size=7))
        init = InitChunk(9, 9, 1, 1, 9, (UnknownParam(ptype, body),))
        packet = Packet(7, 8, 9, [UnknownChunk(ctype, body, 0x5A), init])
        back = decode_packet(encode_packet(packet))
        assert back == packet
        first, second = back.chunks
        assert isinstance(first, UnknownChunk) and first.action is action
        assert isinstance(second, InitChunk)
        assert isinstance(second.params[0], UnknownParam) and second.params[0].action is action
