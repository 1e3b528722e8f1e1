"""Fuzzing: no bytes make the decoder raise anything but ParseError.

The bulk is a seeded ``random.Random`` loop over mutated real and synthetic
packets (bit flips, truncations, length-field edits, inserted, deleted and
duplicated bytes, swapped type codes), decoded with the checksum off so the
parsers behind it are reached, and with it on (resealed or not). Hypothesis
adds random bytes and mutated generated packets. Every failure is reported
with the input's hex.
"""

from __future__ import annotations

import random
import struct
import sys
import time
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_strategies import packets

from sctpx.wire import (
    FLAG_T,
    AbortChunk,
    AdaptationLayerIndicationParam,
    AddIncomingStreamsRequestParam,
    AddOutgoingStreamsRequestParam,
    ChecksumError,
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
    ParseError,
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
    decode_packet,
    encode_packet,
)
from sctpx.wire.causes import KNOWN_CAUSES
from sctpx.wire.params import KNOWN_PARAMS

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
BULK_CASES = 200_000
BULK_BUDGET_S = 20.0  # the whole loop; it takes a few seconds on a 2-core machine

ALL_PARAMS = (
    HeartbeatInfoParam(b"hb"),
    IPv4AddressParam("192.0.2.1"),
    IPv6AddressParam("2001:db8::7"),
    StateCookieParam(b"state cookie!"),
    UnrecognizedParam(bytes.fromhex("80010005ee000000")),
    CookiePreservativeParam(5000),
    HostNameAddressParam(b"host\x00"),
    SupportedAddressTypesParam((5, 6)),
    RandomParam(bytes(range(32))),
    ChunkListParam((0x80, 0xC1)),
    HmacAlgoParam((1,)),
    SupportedExtensionsParam((0xC0, 0x82)),
    ForwardTsnSupportedParam(),
    AdaptationLayerIndicationParam(7),
    OutgoingSsnResetRequestParam(1, 2, 3, (4, 5)),
    IncomingSsnResetRequestParam(6, (7,)),
    SsnTsnResetRequestParam(8),
    ReconfigResponseParam(9, 1, 10, 11),
    AddOutgoingStreamsRequestParam(12, 13),
    AddIncomingStreamsRequestParam(14, 15),
    UnknownParam(0x8000, b""),
    UnknownParam(0x4321, b"abc"),
)
ALL_CAUSES = (
    InvalidStreamIdentifier(3),
    MissingMandatoryParameter((7, 9, 12)),
    StaleCookieError(1000),
    OutOfResource(),
    UnresolvableAddress(bytes.fromhex("00050008c0000201")),
    UnrecognizedChunkType(bytes.fromhex("c3000005aa")),
    InvalidMandatoryParameter(),
    UnrecognizedParameters(bytes.fromhex("80010005ee000000")),
    NoUserData(77),
    CookieReceivedWhileShuttingDown(),
    RestartWithNewAddresses((IPv4AddressParam("198.18.0.1"), IPv6AddressParam("fd00::1"))),
    UserInitiatedAbort(b"bye"),
    ProtocolViolation(b"why"),
    UnknownCause(0x99, b"\x01"),
)
SYNTHETIC: list[list[Chunk]] = [
    [InitChunk(1, 65536, 10, 10, 99, ALL_PARAMS)],
    [InitAckChunk(2, 65536, 5, 5, 7, ALL_PARAMS)],
    [AbortChunk(ALL_CAUSES, FLAG_T)],
    [ErrorChunk(ALL_CAUSES), CookieAckChunk()],
    [SackChunk(10, 5000, ((2, 3), (5, 9), (11, 11)), (4, 8)), DataChunk(11, 1, 2, 3, b"hi!")],
    [IDataChunk(1, 2, 3, 4, b"i-data", 3), IForwardTsnChunk(9, ((1, True, 2), (3, False, 4)))],
    [ForwardTsnChunk(5, ((1, 2), (3, 4))), PadChunk(bytes(7)), UnknownChunk(0xC7, b"?", 1)],
    [HeartbeatChunk(b"info-17"), HeartbeatAckChunk(b"info")],
    [CookieEchoChunk(b"cookie" * 5), DataChunk(1, 0, 0, 0, b"x" * 33)],
    [ShutdownChunk(3), ShutdownAckChunk(), ShutdownCompleteChunk(FLAG_T)],
    [ReconfigChunk((ReconfigResponseParam(1, 6), OutgoingSsnResetRequestParam(2, 1, 0, (1,))))],
]
KNOWN_CHUNK_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 64, 130, 132, 192, 194]
KNOWN_TLV_TYPES = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    0x8002,
    0x8003,
    0x8004,
    0x8008,
    0xC000,
    0xC006,
]


def seed_corpus() -> list[bytes]:
    seeds = [bytes.fromhex(f.read_text()) for f in sorted(VECTORS.glob("*.hex"))]
    seeds += [encode_packet(Packet(5000, 5001, 0x0A0B0C0D, chunks)) for chunks in SYNTHETIC]
    return seeds


def length_fields(data: bytes) -> list[tuple[int, bool]]:
    """(offset, is_chunk) of the 16-bit length fields of chunks and of the TLVs inside them."""
    out: list[tuple[int, bool]] = []
    off = 12
    while off + 4 <= len(data):
        ctype, length = data[off], struct.unpack_from("!H", data, off + 2)[0]
        out.append((off + 2, True))
        inner = {1: 20, 2: 20, 4: 4, 5: 4, 6: 4, 9: 4}.get(ctype)  # where its TLVs start
        if inner is not None:
            sub, end = off + inner, off + length
            while sub + 4 <= end:
                out.append((sub + 2, False))
                sub += max(4, (struct.unpack_from("!H", data, sub + 2)[0] + 3) & ~3)
        off += max(4, (length + 3) & ~3)
    return out


def reseal(data: bytes) -> bytes:
    if len(data) < 12:
        return data
    return data[:8] + crc32c(data[:8] + bytes(4) + data[12:]).to_bytes(4, "little") + data[12:]


def mutate(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    fields = length_fields(seed)
    for _ in range(rng.randint(1, 3)):
        n = len(data)
        kind = rng.randrange(9)
        if kind == 0 and n:  # flip one bit
            data[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif kind == 1 and n:  # overwrite one byte
            data[rng.randrange(n)] = rng.randrange(256)
        elif kind == 2:  # truncate
            del data[rng.randrange(n + 1) :]
        elif kind == 3 and fields:  # edit a chunk or parameter length field
            at = rng.choice(fields)[0]
            if at + 2 <= n:
                old = struct.unpack_from("!H", data, at)[0]
                new = rng.choice(
                    [0, 1, 3, 4, 5, old - 4, old - 1, old + 1, old + 4, rng.randrange(65536)]
                )
                struct.pack_into("!H", data, at, new & 0xFFFF)
        elif kind == 4:  # insert a few bytes
            at = rng.randrange(n + 1)
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif kind == 5 and n:  # delete a few bytes
            at = rng.randrange(n)
            del data[at : at + rng.randint(1, 8)]
        elif kind == 6 and n > 12:  # duplicate a slice somewhere else
            a = rng.randrange(12, n)
            piece = data[a : a + rng.randint(1, 40)]
            at = rng.randrange(12, n + 1)
            data[at:at] = piece
        elif kind == 7 and fields:  # give a chunk or parameter another known type
            at, is_chunk = rng.choice(fields)
            if at <= n:
                if is_chunk:
                    data[at - 2] = rng.choice(KNOWN_CHUNK_TYPES)
                else:
                    struct.pack_into("!H", data, at - 2, rng.choice(KNOWN_TLV_TYPES))
        elif kind == 8 and n > 16:  # a random 32-bit count or field
            at = rng.randrange(12, n - 3)
            struct.pack_into(
                "!I", data, at, rng.choice([0, 1, 0xFFFF, 0xFFFFFFFF, rng.getrandbits(32)])
            )
    return bytes(data)


def check_one(data: bytes, failures: list[str]) -> None:
    """Decode ``data`` every way; record anything other than ParseError with the input's hex."""
    try:
        try:
            packet = decode_packet(data, verify_checksum=False)
        except ParseError:
            packet = None
        crc_ok = len(data) >= 12 and reseal(data) == data
        try:
            checked = decode_packet(data)
        except ChecksumError:
            assert not crc_ok, "a correct checksum was refused"
        except ParseError:
            assert packet is None, "the checksum check changed the verdict"
        else:
            assert crc_ok and checked == packet, "a wrong checksum was accepted"
        if packet is not None:
            # Whatever decodes re-encodes to bytes that decode to the same packet.
            assert decode_packet(encode_packet(packet)) == packet, "re-encoding changed the packet"
    except Exception as e:  # the point of the test: report anything unexpected
        tb = traceback.format_exception_only(e)[-1].strip()
        failures.append(f"{tb}\n  input: {data.hex()}")


def report(failures: list[str]) -> str:
    return f"{len(failures)} inputs broke the decoder; first ones:\n" + "\n".join(failures[:10])


def test_bulk_mutation_fuzz() -> None:
    rng = random.Random(0x5C7B)
    seeds = seed_corpus()
    failures: list[str] = []
    decoded = 0
    start = time.perf_counter()
    for i in range(BULK_CASES):
        data = mutate(rng, rng.choice(seeds))
        if i % 2:
            data = reseal(data)  # a good checksum, so the checked decode parses too
        before = len(failures)
        check_one(data, failures)
        if len(failures) == before:
            try:
                decode_packet(data, verify_checksum=False)
                decoded += 1
            except ParseError:
                pass
    elapsed = time.perf_counter() - start
    assert not failures, report(failures)
    # The mutations must leave a fair share decodable, or the parsers behind the
    # first length check would never run.
    assert BULK_CASES // 10 < decoded < BULK_CASES * 9 // 10, decoded
    assert elapsed < BULK_BUDGET_S, f"{BULK_CASES} cases took {elapsed:.1f} s"


def test_bulk_random_bytes_after_a_header() -> None:
    rng = random.Random(1)
    failures: list[str] = []
    for _ in range(20_000):
        body = bytearray(rng.randbytes(rng.randrange(40)))
        if len(body) >= 4 and rng.random() < 0.7:  # a plausible chunk header
            body[0] = rng.choice(KNOWN_CHUNK_TYPES)
            struct.pack_into("!H", body, 2, rng.randrange(len(body) + 4))
        check_one(reseal(rng.randbytes(12) + bytes(body)), failures)
    assert not failures, report(failures)


def test_mutator_reaches_every_chunk_type_and_length_field() -> None:
    """The bulk fuzz is only as good as its seeds: they cover every chunk, parameter and cause."""
    seeds = seed_corpus()
    assert set(KNOWN_CHUNK_TYPES) <= {c.type for s in seeds for c in decode_packet(s).chunks}
    assert {type(p) for p in ALL_PARAMS} == set(KNOWN_PARAMS.values()) | {UnknownParam}
    assert {type(c) for c in ALL_CAUSES} == set(KNOWN_CAUSES.values()) | {UnknownCause}
    init = encode_packet(Packet(1, 2, 3, SYNTHETIC[0]))
    assert length_fields(init) == [(14, True)] + [(x, False) for x in _param_offsets(init)]


def _param_offsets(init: bytes) -> list[int]:
    out, off = [], 12 + 20
    while off < len(init):
        out.append(off + 2)
        off += (int.from_bytes(init[off + 2 : off + 4], "big") + 3) & ~3
    return out


def _fuzz(data: bytes) -> None:
    failures: list[str] = []
    check_one(data, failures)
    assert not failures, report(failures)


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=120))
def test_hypothesis_random_bytes(data: bytes) -> None:
    _fuzz(data)
    _fuzz(reseal(data))


@FUZZ
@given(
    st.binary(min_size=12, max_size=12), st.lists(st.binary(min_size=4, max_size=24), max_size=5)
)
def test_hypothesis_random_chunks(header: bytes, chunks: list[bytes]) -> None:
    """Chunk-shaped pieces: a length field that usually fits, random types and values."""
    body = b"".join(c[:2] + len(c).to_bytes(2, "big") + c[4:] + bytes(-len(c) % 4) for c in chunks)
    _fuzz(reseal(header + body))


@FUZZ
@given(packets, st.randoms(use_true_random=False))
def test_hypothesis_mutated_packets(packet: Packet, rnd: random.Random) -> None:
    data = encode_packet(packet)
    _fuzz(data)
    mutated = mutate(rnd, data)
    _fuzz(mutated)
    _fuzz(reseal(mutated))


def test_check_one_reports_unexpected_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness itself fails loudly, with the input's hex, when the decoder misbehaves."""

    def boom(data: bytes, *, verify_checksum: bool = True) -> Packet:
        raise IndexError("out of range")

    monkeypatch.setattr(sys.modules[__name__], "decode_packet", boom)
    failures: list[str] = []
    check_one(b"\x01\x02", failures)
    assert len(failures) == 1 and "IndexError" in failures[0] and "0102" in failures[0]
