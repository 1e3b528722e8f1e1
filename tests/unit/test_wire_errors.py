"""Malformed input: minimum lengths, overruns, padding rules, checksums, unknown-type actions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sctpx.wire import (
    ChecksumError,
    ChunkListParam,
    CookieAckChunk,
    DataChunk,
    HeartbeatChunk,
    HmacAlgoParam,
    InitChunk,
    InvalidStreamIdentifier,
    IPv4AddressParam,
    IPv6AddressParam,
    NoUserData,
    Packet,
    ParseError,
    SackChunk,
    StateCookieParam,
    SupportedAddressTypesParam,
    UnknownAction,
    chunk_action,
    crc32c,
    decode_causes,
    decode_packet,
    decode_params,
    encode_cause,
    encode_causes,
    encode_chunk,
    encode_packet,
    encode_param,
    param_action,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
HEADER = bytes.fromhex("1388 1389 01020304 00000000")  # ports 5000, 5001; checksum left zero


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace("|", " "))


def sealed(body: bytes, header: bytes = HEADER) -> bytes:
    """A packet of ``body`` after ``header``, with a correct CRC32c."""
    crc = crc32c(header[:8] + bytes(4) + body)
    return header[:8] + crc.to_bytes(4, "little") + body


def bad(body: bytes, match: str) -> None:
    """``body`` as a packet must be refused, checksum or not, with a message matching ``match``."""
    with pytest.raises(ParseError, match=match):
        decode_packet(sealed(body))
    with pytest.raises(ParseError, match=match):
        decode_packet(HEADER + body, verify_checksum=False)


# --- errors are ParseErrors are ValueErrors ---------------------------------------------------


def test_error_hierarchy() -> None:
    assert issubclass(ChecksumError, ParseError)
    assert issubclass(ParseError, ValueError)


def test_bad_checksum_raises_checksum_error() -> None:
    data = bytearray(sealed(h("0b 00 0004")))
    data[8] ^= 0x01
    with pytest.raises(ChecksumError) as info:
        decode_packet(bytes(data))
    assert isinstance(info.value, ParseError) and isinstance(info.value, ValueError)
    # Without verification the same bytes decode.
    assert decode_packet(bytes(data), verify_checksum=False).chunks == [CookieAckChunk()]


def test_a_checksum_in_big_endian_order_is_wrong() -> None:
    body = h("0b 00 0004")
    crc = crc32c(HEADER[:8] + bytes(4) + body)
    assert crc.to_bytes(4, "big") != crc.to_bytes(4, "little")
    with pytest.raises(ChecksumError):
        decode_packet(HEADER[:8] + crc.to_bytes(4, "big") + body)


@pytest.mark.parametrize("name", ["usrsctp-init.hex", "usrsctp-sack.hex", "usrsctp-heartbeat.hex"])
def test_every_single_bit_flip_of_a_real_packet_fails_the_checksum(name: str) -> None:
    data = bytes.fromhex((VECTORS / name).read_text())
    for i in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[i // 8] ^= 1 << (i % 8)
        with pytest.raises(ChecksumError):
            decode_packet(bytes(flipped))


def test_decode_takes_bytearray_and_memoryview() -> None:
    data = sealed(encode_chunk(DataChunk(1, 2, 3, 4, b"abc")))
    want = decode_packet(data)
    assert decode_packet(bytearray(data)) == want
    assert decode_packet(memoryview(data)) == want
    [chunk] = decode_packet(bytearray(data)).chunks
    assert isinstance(chunk, DataChunk) and type(chunk.user_data) is bytes


# --- the packet and chunk headers ------------------------------------------------------------


@pytest.mark.parametrize("n", range(12))
def test_truncated_common_header(n: int) -> None:
    for verify in (True, False):
        with pytest.raises(ParseError, match="common header"):
            decode_packet(HEADER[:n], verify_checksum=verify)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_truncated_chunk_header(n: int) -> None:
    bad(h("0b 00 0004")[:n], "trailing bytes")
    bad(h("0b 00 0004") + h("0b 00 0004")[:n], "trailing bytes")


@pytest.mark.parametrize("length", [0, 1, 2, 3])
def test_chunk_length_below_four(length: int) -> None:
    # A zero-length chunk would make the parser loop for ever; it is refused.
    bad(bytes([0x0B, 0]) + length.to_bytes(2, "big"), f"length {length} below 4")


def test_chunk_length_overruns_packet() -> None:
    bad(h("0a 00 0009 | 61626364"), "overruns")
    bad(h("0b 00 0004 | 0a 00 ffff | 00000000"), "overruns")


def test_missing_chunk_padding_at_the_end_of_the_packet() -> None:
    # RFC 9260 §3.2: a chunk whose length is not a multiple of 4 MUST be padded,
    # the last chunk of the packet too.
    for body in (h("0a 00 0005 | 61"), h("0a 00 0005 | 61 00"), h("0a 00 0005 | 61 0000")):
        bad(body, "inside its padding")
    assert decode_packet(sealed(h("0a 00 0005 | 61 000000"))).chunks != []


def test_padding_content_is_ignored() -> None:
    # §3.2: padding is sent as zeros, and the receiver ignores it.
    zero = decode_packet(sealed(h("0a 00 0005 | 61 000000 | 0b 00 0004")))
    junk = decode_packet(sealed(h("0a 00 0005 | 61 ffffff | 0b 00 0004")))
    assert zero == junk
    assert encode_packet(junk) == sealed(h("0a 00 0005 | 61 000000 | 0b 00 0004"))


def test_chunk_length_excludes_chunk_padding() -> None:
    raw = encode_chunk(DataChunk(1, 2, 3, 4, b"a"))
    assert int.from_bytes(raw[2:4], "big") == 17 and len(raw) == 20 and raw[17:] == bytes(3)


def test_init_length_excludes_only_the_last_parameters_padding() -> None:
    # RFC 9260 §3.2: the chunk length covers every parameter's padding but the last one's.
    init = InitChunk(1, 2, 3, 4, 5, (HmacAlgoParam((1,)), SupportedAddressTypesParam((5,))))
    raw = encode_chunk(init)
    assert int.from_bytes(raw[2:4], "big") == 20 + 8 + 6
    assert len(raw) == 20 + 8 + 8


def test_init_whose_length_includes_its_last_padding_still_decodes() -> None:
    # Some senders count the last parameter's padding too (RFC 4960 was ambiguous):
    # the parameters are the same, and we re-encode the RFC 9260 way.
    fixed = h("00000001 00000002 0003 0004 00000005")
    param = h("000c 0006 0005 0000")
    lenient = sealed(bytes([1, 0]) + (4 + 16 + 8).to_bytes(2, "big") + fixed + param)
    strict = sealed(bytes([1, 0]) + (4 + 16 + 6).to_bytes(2, "big") + fixed + param)
    assert decode_packet(lenient) == decode_packet(strict)
    assert encode_packet(decode_packet(lenient)) == strict


# --- per-chunk minimum and exact lengths -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            h("00 03 000f | 00000001 0002 0003 000000 | 00"),
            "DATA: length 15, below its minimum of 16",
        ),
        (h("00 03 0004"), "DATA"),
        (h("40 03 0013 | 00000001 0002 0000 00000003 000000 | 00"), "I-DATA"),
        (h("01 00 0013 | 00000001 00000002 0003 0004 000000 | 00"), "INIT: 19 bytes"),
        (h("02 00 0010 | 00000001 00000002 0003 0004"), "INIT ACK"),
        (h("03 00 000c | 00000001 00000002"), "SACK: 12 bytes"),
        # SACK counts that disagree with the length: 1 gap block announced, none present
        (h("03 00 0010 | 00000001 00000002 0001 0000"), "1 gap blocks"),
        # ... and a dup TSN present that the count does not announce
        (h("03 00 0014 | 00000001 00000002 0000 0000 | 00000009"), "0 dup TSNs"),
        (h("07 00 0004"), "SHUTDOWN: length 4, want 8"),
        (h("07 00 000c | 00000001 00000002"), "SHUTDOWN: length 12"),
        (h("08 00 0008 | 00000000"), "SHUTDOWN ACK: length 8, want 4"),
        (h("0b 00 0005 | 00 000000"), "COOKIE ACK: length 5"),
        (h("0e 01 0008 | 00000000"), "SHUTDOWN COMPLETE"),
        (h("04 00 0004"), "HEARTBEAT: want one Heartbeat Info"),
        (h("04 00 0008 | 0002 0004"), "HEARTBEAT: want one Heartbeat Info"),
        (h("05 00 000c | 0001 0004 | 0001 0004"), "HEARTBEAT ACK: want one"),
        (h("04 00 0008 | 0001 0003"), "HEARTBEAT parameter type 0x1: length 3 below 4"),
        (h("04 00 0008 | 0001 0009"), "overruns its container"),
        (h("c0 00 0006 | 0000 | 0000"), "FORWARD TSN: 6 bytes"),
        (h("c0 00 000a | 00000001 0001 | 0000"), "FORWARD TSN: length 10"),
        (h("c2 00 000c | 00000001 00010000"), "I-FORWARD-TSN: length 12"),
        (h("c2 00 0006 | 0000 | 0000"), "I-FORWARD-TSN: 6 bytes"),
    ],
)
def test_chunk_lengths_below_minimum_or_inconsistent(body: bytes, match: str) -> None:
    bad(body, match)


def test_data_with_no_user_data_decodes() -> None:
    # Length 16 is well-formed; RFC 9260 §6.2's No User Data error is the core's business.
    [chunk] = decode_packet(sealed(h("00 03 0010 | 00000001 0002 0003 00000004"))).chunks
    assert chunk == DataChunk(1, 2, 3, 4, b"", 3)


# --- parameters and causes inside their chunks -----------------------------------------------

INIT_FIXED = h("00000001 00000002 0003 0004 00000005")


def init_with(params: bytes) -> bytes:
    return bytes([1, 0]) + (20 + len(params)).to_bytes(2, "big") + INIT_FIXED + params


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (h("0005 0000"), "length 0 below 4"),
        (h("0005 0003"), "length 3 below 4"),
        (h("0005 000c | c0000201"), "overruns"),
        (h("0005 0008 c0000201 | 0005"), "trailing bytes"),
        (h("0005 0007 | c00002"), "IPv4 Address parameter: 3 value bytes"),
        (h("0005 000c | c0000201 00000000"), "IPv4 Address parameter: 8 value bytes"),
        (h("0006 0008 | 00000001"), "IPv6 Address parameter: 4 value bytes"),
        (h("0009 0006 | 0001"), "Cookie Preservative"),
        (h("000c 0005 | 00"), "Supported Address Types: odd"),
        (h("8004 0007 | 000100"), "HMAC Algorithm: odd"),
        (h("c000 0008 | 00000000"), "Forward-TSN-Supported"),
        (h("c006 0006 | 0000"), "Adaptation Layer Indication"),
    ],
)
def test_bad_init_parameters(params: bytes, match: str) -> None:
    body = init_with(params)
    bad(body + bytes(-len(body) % 4), match)


@pytest.mark.parametrize(
    ("causes", "match"),
    [
        (h("0001 0000"), "length 0 below 4"),
        (h("0001 0010 | 00070000"), "overruns"),
        (h("0001 0008 00070000 | 00"), "trailing bytes"),
        (h("0001 0006 | 0007"), "Invalid Stream Identifier"),
        (h("0002 0006 | 0000"), "Missing Mandatory Parameter: no count"),
        (h("0002 000a | 00000002 0007"), "count 2 vs 2 bytes"),
        (h("0002 000c | ffffffff 0007 0009"), "count 4294967295"),
        (h("0003 0006 | 0000"), "Stale Cookie Error"),
        (h("0004 0008 | 00000000"), "Out of Resource"),
        (h("0007 0005 | 00"), "Invalid Mandatory Parameter"),
        (h("0009 0005 | 00"), "No User Data"),
        (h("000a 0008 | 00000000"), "Cookie Received While Shutting Down"),
        (h("000b 0008 | 0005 0002"), "Restart address type 0x5: length 2"),
        (h("000b 000c | 0005 0008 c00002"), "overruns"),
    ],
)
def test_bad_error_causes(causes: bytes, match: str) -> None:
    for ctype in (6, 9):  # ABORT and ERROR
        body = bytes([ctype, 0]) + (4 + len(causes)).to_bytes(2, "big") + causes
        bad(body + bytes(-len(body) % 4), match)
    with pytest.raises(ParseError, match=match):
        decode_causes(causes)


def test_parameter_padding_inside_a_chunk() -> None:
    # A parameter of length 5 is followed by 3 padding bytes before the next one.
    two = h("8008 0005 c0 000000 | 0005 0008 c0000201")
    params = decode_params(two)
    assert len(params) == 2 and params[1] == IPv4AddressParam("192.0.2.1")
    # The last parameter may stop short of its padding (its chunk's padding covers it).
    assert decode_params(h("8008 0005 c0")) == decode_params(h("8008 0005 c0 000000"))


def test_heartbeat_info_tlv_is_read_exactly() -> None:
    [chunk] = decode_packet(sealed(h("04 00 000b | 0001 0007 aabbcc | 00"))).chunks
    assert chunk == HeartbeatChunk(h("aabbcc"))


# --- unknown types: the action in the upper two bits -----------------------------------------


@pytest.mark.parametrize(
    ("bits", "action", "stops", "reports"),
    [
        (0b00, UnknownAction.STOP, True, False),
        (0b01, UnknownAction.STOP_AND_REPORT, True, True),
        (0b10, UnknownAction.SKIP, False, False),
        (0b11, UnknownAction.SKIP_AND_REPORT, False, True),
    ],
)
def test_unknown_action_for_each_upper_bits_value(
    bits: int, action: UnknownAction, stops: bool, reports: bool
) -> None:
    # RFC 9260 §3.2 (chunk types, 8 bits) and §3.2.1 (parameter types, 16 bits).
    for low in (0x00, 0x15, 0x3F):
        assert chunk_action((bits << 6) | low) is action
    for low in (0x0000, 0x1234, 0x3FFF):
        assert param_action((bits << 14) | low) is action
    assert action.value == bits
    assert action.stops is stops
    assert action.reports is reports


def test_unknown_chunk_and_param_actions_on_decoded_objects() -> None:
    body = h("3f 00 0004 | 7f 00 0004 | bf 00 0004 | ff 00 0004")
    actions = [c.action for c in decode_packet(sealed(body)).chunks]  # type: ignore[union-attr]
    assert actions == list(UnknownAction)
    params = decode_params(h("3fff 0004 | 7fff 0004 | bfff 0004 | ffff 0004"))
    assert [p.action for p in params] == list(UnknownAction)  # type: ignore[union-attr]


# --- encoding limits -------------------------------------------------------------------------


def test_encode_refuses_chunks_over_the_16_bit_length() -> None:
    assert len(encode_chunk(DataChunk(1, 0, 0, 0, bytes(0xFFFF - 16)))) == 0x10000
    with pytest.raises(ValueError, match="chunk type 0: 65536 bytes exceed the 16-bit length"):
        encode_chunk(DataChunk(1, 0, 0, 0, bytes(0xFFFF - 15)))
    with pytest.raises(ValueError, match="16-bit length"):
        encode_packet(Packet(1, 2, 3, [HeartbeatChunk(bytes(0xFFFF))]))
    with pytest.raises(ValueError, match=r"parameter type 0x7: .*16-bit length"):
        encode_param(StateCookieParam(bytes(0xFFFC)))


@pytest.mark.parametrize(
    ("encode", "match"),
    [
        (lambda: encode_packet(Packet(65536, 1, 1)), "the common header"),
        (lambda: encode_packet(Packet(1, 2, 1 << 32)), "the common header"),
        (lambda: encode_chunk(CookieAckChunk(256)), "chunk type 11"),
        (lambda: encode_chunk(DataChunk(1 << 32, 0, 0, 0, b"")), "chunk type 0"),
        (lambda: encode_chunk(SackChunk(1, 1, ((70000, 1),))), "chunk type 3"),
        (
            lambda: encode_chunk(InitChunk(1, 1, 1, 1, 1, (IPv4AddressParam("::1"),))),
            "chunk type 1",
        ),
        (lambda: encode_param(IPv6AddressParam("example.org")), "parameter type 0x6"),
        (lambda: encode_param(ChunkListParam((300,))), "parameter type 0x8003"),
        (lambda: encode_causes([InvalidStreamIdentifier(-1)]), "error cause 1"),
        (lambda: encode_cause(NoUserData(1 << 32)), "error cause 9"),
    ],
)
def test_encode_raises_value_error_for_fields_that_do_not_fit(
    encode: Callable[[], bytes], match: str
) -> None:
    with pytest.raises(ValueError, match=f"cannot encode {match}"):
        encode()
