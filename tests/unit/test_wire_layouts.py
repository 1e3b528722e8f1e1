"""Byte layouts written out by hand from the RFC figures, one test per parameter, cause and chunk.

Each case encodes a known value, compares it with bytes spelled out from the
RFC's field diagram (type, length, fields, zero padding), and decodes the
bytes back to the same value.
"""

from __future__ import annotations

import pytest

from sctpx.wire import (
    FLAG_BEGIN,
    FLAG_END,
    FLAG_IMMEDIATE,
    FLAG_T,
    FLAG_UNORDERED,
    AbortChunk,
    AdaptationLayerIndicationParam,
    AddIncomingStreamsRequestParam,
    AddOutgoingStreamsRequestParam,
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
    IncomingSsnResetRequestParam,
    InitAckChunk,
    InitChunk,
    InvalidMandatoryParameter,
    InvalidStreamIdentifier,
    IPv4AddressParam,
    IPv6AddressParam,
    MissingMandatoryParameter,
    NoUserData,
    OutgoingSsnResetRequestParam,
    OutOfResource,
    Packet,
    PadChunk,
    Param,
    ProtocolViolation,
    RandomParam,
    ReconfigChunk,
    ReconfigResponseParam,
    RestartWithNewAddresses,
    SackChunk,
    ShutdownAckChunk,
    ShutdownChunk,
    ShutdownCompleteChunk,
    SsnTsnResetRequestParam,
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
    crc32c,
    decode_causes,
    decode_packet,
    decode_params,
    encode_causes,
    encode_chunk,
    encode_packet,
    encode_param,
)
from sctpx.wire.causes import KNOWN_CAUSES
from sctpx.wire.chunks import KNOWN_CHUNKS
from sctpx.wire.params import KNOWN_PARAMS


def h(text: str) -> bytes:
    """Hex with spaces and | separators allowed, for readable layouts."""
    return bytes.fromhex(text.replace("|", " "))


RANDOM32 = bytes(range(32))

# (parameter, its TLV as the RFC lays it out, padding included)
PARAMS: list[tuple[Param, bytes]] = [
    # RFC 9260 §3.3.5: Heartbeat Info, type 1, opaque info (3 bytes + 1 padding)
    (HeartbeatInfoParam(b"\x01\x02\x03"), h("0001 0007 | 010203 | 00")),
    # §3.3.2.1: IPv4 Address, type 5, length 8
    (IPv4AddressParam("192.0.2.1"), h("0005 0008 | c0000201")),
    # §3.3.2.1: IPv6 Address, type 6, length 20
    (IPv6AddressParam("2001:db8::1"), h("0006 0014 | 20010db8 00000000 00000000 00000001")),
    # §3.3.3.1: State Cookie, type 7
    (StateCookieParam(b"cookie"), h("0007 000a | 636f6f6b6965 | 0000")),
    # §3.3.3.1: Unrecognized Parameter, type 8, holding a whole ECN-Capable TLV
    (UnrecognizedParam(h("8000 0004")), h("0008 0008 | 8000 0004")),
    # §3.3.2.1: Cookie Preservative, type 9, suggested increment in ms
    (CookiePreservativeParam(1000), h("0009 0008 | 000003e8")),
    # §3.3.2.1: Host Name Address, type 11, NUL-terminated name
    (HostNameAddressParam(b"example.org\x00"), h("000b 0010 | 6578616d706c652e6f726700")),
    # §3.3.2.1: Supported Address Types, type 12, 16-bit types
    (SupportedAddressTypesParam((5, 6)), h("000c 0008 | 0005 0006")),
    (SupportedAddressTypesParam((5,)), h("000c 0006 | 0005 | 0000")),
    # RFC 6525 §4.1-§4.6: the RE-CONFIG parameters
    (
        OutgoingSsnResetRequestParam(1, 2, 3, (4, 5)),
        h("000d 0014 | 00000001 00000002 00000003 | 0004 0005"),
    ),
    (OutgoingSsnResetRequestParam(1, 2, 3), h("000d 0010 | 00000001 00000002 00000003")),
    (IncomingSsnResetRequestParam(7, (1,)), h("000e 000a | 00000007 | 0001 | 0000")),
    (SsnTsnResetRequestParam(9), h("000f 0008 | 00000009")),
    (ReconfigResponseParam(9, 1), h("0010 000c | 00000009 00000001")),
    (ReconfigResponseParam(9, 1, 5, 6), h("0010 0014 | 00000009 00000001 00000005 00000006")),
    (AddOutgoingStreamsRequestParam(3, 10), h("0011 000c | 00000003 000a 0000")),
    (AddIncomingStreamsRequestParam(3, 10), h("0012 000c | 00000003 000a 0000")),
    # RFC 4895 §3.1: Random, type 0x8002
    (RandomParam(RANDOM32), h("8002 0024") + RANDOM32),
    # RFC 4895 §3.2: Chunk List, type 0x8003, one byte per chunk type
    (ChunkListParam((0x80, 0xC1)), h("8003 0006 | 80c1 | 0000")),
    # RFC 4895 §3.3: Requested HMAC Algorithm, type 0x8004, 16-bit ids
    (HmacAlgoParam((1,)), h("8004 0006 | 0001 | 0000")),
    (HmacAlgoParam((1, 3)), h("8004 0008 | 0001 0003")),
    # RFC 5061 §4.2.7: Supported Extensions, type 0x8008, one byte per chunk type
    (
        SupportedExtensionsParam((0xC0, 0x0F, 0xC1, 0x80, 0x82)),
        h("8008 0009 | c00fc18082 | 000000"),
    ),
    # RFC 3758 §3.1: Forward-TSN-Supported, type 0xC000, no value
    (ForwardTsnSupportedParam(), h("c000 0004")),
    # RFC 5061 §4.2.8: Adaptation Layer Indication, type 0xC006
    (AdaptationLayerIndicationParam(0x01020304), h("c006 0008 | 01020304")),
    # A type we do not implement (here ECN Capable, 0x8000), kept opaque
    (UnknownParam(0x8000, b""), h("8000 0004")),
    (UnknownParam(0x4001, b"\xee"), h("4001 0005 | ee | 000000")),
]


@pytest.mark.parametrize(("param", "raw"), PARAMS, ids=lambda x: type(x).__name__)
def test_param_layout(param: Param, raw: bytes) -> None:
    assert encode_param(param) == raw
    assert decode_params(raw) == (param,)


def test_every_param_class_has_a_layout_test() -> None:
    covered = {type(p) for p, _ in PARAMS}
    assert set(KNOWN_PARAMS.values()) | {UnknownParam} <= covered


CAUSES: list[tuple[Cause, bytes]] = [
    # RFC 9260 §3.3.10.1: Invalid Stream Identifier, stream id + 16 reserved bits
    (InvalidStreamIdentifier(7), h("0001 0008 | 0007 0000")),
    # §3.3.10.2: Missing Mandatory Parameter, 32-bit count then 16-bit types
    (MissingMandatoryParameter((7, 9)), h("0002 000c | 00000002 | 0007 0009")),
    (MissingMandatoryParameter((7,)), h("0002 000a | 00000001 | 0007 | 0000")),
    # §3.3.10.3: Stale Cookie Error, measure of staleness in µs
    (StaleCookieError(1500), h("0003 0008 | 000005dc")),
    # §3.3.10.4: Out of Resource, no value
    (OutOfResource(), h("0004 0004")),
    # §3.3.10.5: Unresolvable Address, the address TLV itself
    (UnresolvableAddress(h("0005 0008 c0000201")), h("0005 000c | 0005 0008 c0000201")),
    # §3.3.10.6: Unrecognized Chunk Type, the chunk as received
    (UnrecognizedChunkType(h("c3 05 0005 aa")), h("0006 0009 | c3050005aa | 000000")),
    # §3.3.10.7: Invalid Mandatory Parameter, no value
    (InvalidMandatoryParameter(), h("0007 0004")),
    # §3.3.10.8: Unrecognized Parameters, the parameter TLVs as received
    (UnrecognizedParameters(h("8001 0005 ee 000000")), h("0008 000c | 80010005 ee000000")),
    # §3.3.10.9: No User Data, the TSN of the empty DATA chunk
    (NoUserData(0x11223344), h("0009 0008 | 11223344")),
    # §3.3.10.10: Cookie Received While Shutting Down, no value
    (CookieReceivedWhileShuttingDown(), h("000a 0004")),
    # §3.3.10.11: Restart of an Association with New Addresses, address TLVs
    (
        RestartWithNewAddresses((IPv4AddressParam("192.0.2.1"), IPv6AddressParam("::1"))),
        h("000b 0020 | 0005 0008 c0000201 | 0006 0014 00000000 00000000 00000000 00000001"),
    ),
    # §3.3.10.12: User-Initiated Abort, upper layer's reason
    (UserInitiatedAbort(b"bye"), h("000c 0007 | 627965 | 00")),
    # §3.3.10.13: Protocol Violation, additional information
    (ProtocolViolation(b"bad tsn"), h("000d 000b | 6261642074736e | 00")),
    # A cause code we do not implement, kept opaque
    (UnknownCause(0x1234, b"\xab"), h("1234 0005 | ab | 000000")),
]


@pytest.mark.parametrize(("cause", "raw"), CAUSES, ids=lambda x: type(x).__name__)
def test_cause_layout(cause: Cause, raw: bytes) -> None:
    assert encode_causes([cause]) == raw
    assert decode_causes(raw) == (cause,)
    # The same cause as the only one in an ERROR chunk: its padding is the chunk's.
    unpadded = int.from_bytes(raw[2:4], "big")
    chunk = encode_chunk(ErrorChunk((cause,)))
    assert chunk == h("09 00") + (4 + unpadded).to_bytes(2, "big") + raw


def test_every_cause_class_has_a_layout_test() -> None:
    covered = {type(c) for c, _ in CAUSES}
    assert set(KNOWN_CAUSES.values()) | {UnknownCause} <= covered
    assert sorted(KNOWN_CAUSES) == list(range(1, 14))  # RFC 9260 §3.3.10: causes 1-13


CHUNKS: list[tuple[Chunk, bytes]] = [
    # RFC 9260 §3.3.1 DATA: flags I U B E; TSN, stream id, SSN, PPID, user data
    (
        DataChunk(0x01020304, 5, 6, 0x33, b"hello", FLAG_UNORDERED | FLAG_BEGIN | FLAG_END),
        h("00 07 0015 | 01020304 | 0005 0006 | 00000033 | 68656c6c6f | 000000"),
    ),
    # RFC 8260 §2.1 I-DATA: TSN, stream id, reserved, MID, PPID or FSN
    (
        IDataChunk(1, 2, 3, 4, b"xy", FLAG_BEGIN | FLAG_END),
        h("40 03 0016 | 00000001 | 0002 0000 | 00000003 | 00000004 | 7879 | 0000"),
    ),
    # §3.3.2 INIT: the last parameter's padding is not in the chunk length (26 = 0x1a)
    (
        InitChunk(0xAABBCCDD, 0x10000, 10, 2048, 1, (SupportedAddressTypesParam((5,)),)),
        h("01 00 001a | aabbccdd | 00010000 | 000a 0800 | 00000001 | 000c 0006 0005 | 0000"),
    ),
    # ... but the padding of every earlier parameter is: 4 + 16 + 8 + 6 = 34 = 0x22
    (
        InitChunk(1, 2, 3, 4, 5, (HmacAlgoParam((1,)), SupportedAddressTypesParam((5,)))),
        h("01 00 0022 | 00000001 00000002 0003 0004 00000005")
        + h("8004 0006 0001 0000 | 000c 0006 0005 | 0000"),
    ),
    # §3.3.3 INIT ACK: same fixed part, here with a State Cookie
    (
        InitAckChunk(9, 8, 7, 6, 5, (StateCookieParam(b"\xc0\x0c"),)),
        h("02 00 001a | 00000009 00000008 0007 0006 00000005 | 0007 0006 c00c | 0000"),
    ),
    # §3.3.4 SACK: cum TSN ack, a_rwnd, #gaps, #dups, gap starts/ends, dup TSNs
    (
        SackChunk(100, 5000, ((2, 3), (5, 5)), (99,)),
        h("03 00 001c | 00000064 | 00001388 | 0002 0001 | 0002 0003 | 0005 0005 | 00000063"),
    ),
    # §3.3.5 HEARTBEAT: one Heartbeat Info TLV; chunk length 4 + 4 + 5 = 13
    (HeartbeatChunk(h("0102030405")), h("04 00 000d | 0001 0009 0102030405 | 000000")),
    # §3.3.6 HEARTBEAT ACK: the same shape
    (HeartbeatAckChunk(h("0102030405")), h("05 00 000d | 0001 0009 0102030405 | 000000")),
    # §3.3.7 ABORT with the T bit and one cause
    (
        AbortChunk((UserInitiatedAbort(b"bye"),), FLAG_T),
        h("06 01 000b | 000c 0007 627965 | 00"),
    ),
    (AbortChunk(), h("06 00 0004")),
    # §3.3.8 SHUTDOWN: cumulative TSN ack
    (ShutdownChunk(0x01020304), h("07 00 0008 | 01020304")),
    # §3.3.9 SHUTDOWN ACK
    (ShutdownAckChunk(), h("08 00 0004")),
    # §3.3.10 ERROR with two causes; the first one's padding counts, none here
    (
        ErrorChunk((StaleCookieError(1500), InvalidStreamIdentifier(7))),
        h("09 00 0014 | 0003 0008 000005dc | 0001 0008 0007 0000"),
    ),
    # §3.3.11 COOKIE ECHO: the cookie, verbatim
    (CookieEchoChunk(b"abc"), h("0a 00 0007 | 616263 | 00")),
    # §3.3.12 COOKIE ACK
    (CookieAckChunk(), h("0b 00 0004")),
    # §3.3.13 SHUTDOWN COMPLETE with the T bit
    (ShutdownCompleteChunk(FLAG_T), h("0e 01 0004")),
    # RFC 3758 §3.2 FORWARD TSN: new cum TSN, (stream, SSN) pairs
    (ForwardTsnChunk(7, ((1, 2), (3, 4))), h("c0 00 0010 | 00000007 | 0001 0002 | 0003 0004")),
    # RFC 8260 §2.3.1 I-FORWARD-TSN: new cum TSN, (stream, reserved|U, MID)
    (
        IForwardTsnChunk(7, ((1, True, 9), (2, False, 10))),
        h("c2 00 0018 | 00000007 | 0001 0001 00000009 | 0002 0000 0000000a"),
    ),
    # RFC 6525 §3.1 RE-CONFIG: flags 0, its parameters back to back
    (
        ReconfigChunk((ReconfigResponseParam(1, 1), OutgoingSsnResetRequestParam(2, 3, 4))),
        h("82 00 0020 | 0010 000c 00000001 00000001 | 000d 0010 00000002 00000003 00000004"),
    ),
    # RFC 4820 §3 PAD: padding data
    (PadChunk(bytes(5)), h("84 00 0009 | 0000000000 | 000000")),
    # A type we do not implement: kept with its flags and body
    (UnknownChunk(0xC3, b"\x01", 0x5A), h("c3 5a 0005 | 01 | 000000")),
]


@pytest.mark.parametrize(("chunk", "raw"), CHUNKS, ids=lambda x: type(x).__name__)
def test_chunk_layout(chunk: Chunk, raw: bytes) -> None:
    assert encode_chunk(chunk) == raw
    packet = Packet(1, 2, 3, [chunk])
    data = encode_packet(packet)
    assert data[12:] == raw
    assert decode_packet(data) == packet


def test_every_chunk_class_has_a_layout_test() -> None:
    covered = {type(c) for c, _ in CHUNKS}
    assert set(KNOWN_CHUNKS.values()) | {UnknownChunk} <= covered


def test_data_flag_accessors() -> None:
    # RFC 9260 §3.3.1 and RFC 7053: E = 0x01, B = 0x02, U = 0x04, I = 0x08
    for flags in range(16):
        c = DataChunk(1, 1, 1, 1, b"x", flags)
        assert (c.ending, c.beginning, c.unordered, c.immediate) == (
            bool(flags & 1),
            bool(flags & 2),
            bool(flags & 4),
            bool(flags & 8),
        )
    assert IDataChunk(1, 1, 1, 1, b"", FLAG_IMMEDIATE).immediate
    assert AbortChunk((), FLAG_T).t_bit and not AbortChunk().t_bit
    assert ShutdownCompleteChunk(FLAG_T).t_bit and not ShutdownCompleteChunk().t_bit


def test_unknown_chunk_tlv_is_the_chunk_as_received() -> None:
    # The value for an Unrecognized Chunk Type cause: header and value, no padding.
    assert UnknownChunk(0xC3, b"\x01\x02", 0x5A).tlv() == h("c3 5a 0006 0102")
    assert UnknownParam(0x4001, b"\xee").tlv() == h("4001 0005 ee 000000")


# --- the common header and the CRC32c -------------------------------------------------------


def _crc32c_reference(data: bytes) -> int:
    """Bit-at-a-time CRC32c (reflected polynomial 0x82F63B78), to check the fast one."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_known_values() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the usual CRC-32C check value
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 §B.4, 32 zero bytes
    assert crc32c(b"\xff" * 32) == 0x62A8AB43  # RFC 3720 §B.4, 32 0xff bytes
    assert crc32c(memoryview(b"123456789")) == 0xE3069283
    for data in (b"", b"a", bytes(range(256))):
        assert crc32c(data) == _crc32c_reference(data)


def test_common_header_layout_and_checksum_byte_order() -> None:
    # RFC 9260 §3.1: source port, destination port, verification tag, checksum.
    data = encode_packet(Packet(5000, 5001, 0xDEADBEEF, [CookieAckChunk()]))
    assert data[:8] == h("1388 1389 deadbeef")
    assert data[12:] == h("0b 00 0004")
    # §6.8 / Appendix A: CRC32c over the packet with a zero checksum field, stored
    # least significant byte first.
    crc = _crc32c_reference(data[:8] + bytes(4) + data[12:])
    assert data[8:12] == crc.to_bytes(4, "little")
    assert decode_packet(data) == Packet(5000, 5001, 0xDEADBEEF, [CookieAckChunk()])


def test_empty_packet_is_just_a_header() -> None:
    data = encode_packet(Packet(1, 2, 3))
    assert len(data) == 12
    assert decode_packet(data) == Packet(1, 2, 3, [])


def test_bundled_chunks_keep_their_order() -> None:
    chunks: list[Chunk] = [
        CookieEchoChunk(b"c"),
        DataChunk(1, 0, 0, 0, b"abcde"),
        SackChunk(5, 6),
        DataChunk(2, 0, 1, 0, b""),
    ]
    data = encode_packet(Packet(1, 2, 3, chunks))
    assert data[12:] == b"".join(encode_chunk(c) for c in chunks)
    assert decode_packet(data).chunks == chunks
