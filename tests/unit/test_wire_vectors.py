"""Real usrsctp packets decode to the fields tshark read from them, and re-encode byte for byte.

The vectors live in two places: ``../shared/vectors`` beside the repository (the
originals) and ``tests/vectors`` (copies, so the repository stands alone). Both
are checked; only a missing shared folder is skipped, never the copies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sctpx.wire import (
    AbortChunk,
    AdaptationLayerIndicationParam,
    ChunkListParam,
    CookieAckChunk,
    CookieEchoChunk,
    DataChunk,
    ForwardTsnSupportedParam,
    HeartbeatAckChunk,
    HeartbeatChunk,
    HmacAlgoParam,
    InitAckChunk,
    InitChunk,
    IPv4AddressParam,
    IPv6AddressParam,
    Packet,
    RandomParam,
    SackChunk,
    ShutdownAckChunk,
    ShutdownChunk,
    ShutdownCompleteChunk,
    StateCookieParam,
    SupportedAddressTypesParam,
    SupportedExtensionsParam,
    UnknownParam,
    crc32c,
    decode_packet,
    encode_chunk,
    encode_packet,
)

REPO = Path(__file__).resolve().parents[2]
SOURCES = {
    "repo": REPO / "tests" / "vectors",
    "shared": REPO / ".." / "shared" / "vectors",
}


def _cases() -> list[Any]:
    cases: list[Any] = []
    for source, folder in SOURCES.items():
        index = folder / "index.json"
        if not index.is_file():
            assert source != "repo", f"the repository's own vectors are missing: {index}"
            mark = pytest.mark.skip(reason=f"{folder} is not there (repo copies still run)")
            cases.append(pytest.param(source, None, marks=mark, id=f"{source}-missing"))
            continue
        for entry in json.loads(index.read_text())["vectors"]:
            cases.append(pytest.param(source, entry, id=f"{source}-{entry['file']}"))
    return cases


CASES = _cases()


def _load(source: str, entry: dict[str, Any]) -> bytes:
    return bytes.fromhex((SOURCES[source] / entry["file"]).read_text().strip())


# tshark's chunk and parameter names, mapped to our classes.
CHUNK_NAMES: dict[str, type] = {
    "DATA": DataChunk,
    "INIT": InitChunk,
    "INIT_ACK": InitAckChunk,
    "SACK": SackChunk,
    "HEARTBEAT": HeartbeatChunk,
    "HEARTBEAT_ACK": HeartbeatAckChunk,
    "ABORT": AbortChunk,
    "SHUTDOWN": ShutdownChunk,
    "SHUTDOWN_ACK": ShutdownAckChunk,
    "COOKIE_ECHO": CookieEchoChunk,
    "COOKIE_ACK": CookieAckChunk,
    "SHUTDOWN_COMPLETE": ShutdownCompleteChunk,
}
PARAM_NAMES: dict[str, tuple[type, int]] = {
    "Adaptation Layer Indication": (AdaptationLayerIndicationParam, 0xC006),
    "ECN Capable": (UnknownParam, 0x8000),  # RFC 9260 Appendix A reserves it; we keep it opaque
    "Forward TSN Supported": (ForwardTsnSupportedParam, 0xC000),
    "Supported Extensions": (SupportedExtensionsParam, 0x8008),
    "Random": (RandomParam, 0x8002),
    "Requested HMAC Algorithm": (HmacAlgoParam, 0x8004),
    "Chunk List": (ChunkListParam, 0x8003),
    "Supported Address Types": (SupportedAddressTypesParam, 12),
    "IPv4 Address": (IPv4AddressParam, 5),
    "IPv6 Address": (IPv6AddressParam, 6),
    "State Cookie": (StateCookieParam, 7),
    "Heartbeat Info": (HeartbeatChunk, 1),  # the TLV inside a HEARTBEAT, see _params
}


def _params(packet: Packet) -> list[tuple[str, int, int]]:
    """(class name, type, length) of every parameter, in order, as tshark lists them."""
    out: list[tuple[str, int, int]] = []
    for c in packet.chunks:
        if isinstance(c, InitChunk | InitAckChunk):
            out += [(type(p).__name__, p.type, 4 + len(p.value())) for p in c.params]
        elif isinstance(c, HeartbeatChunk | HeartbeatAckChunk):
            out.append((type(c).__name__, 1, 4 + len(c.info)))
    return out


def _per_chunk(kinds: tuple[type, ...], get: Callable[[Any], Any]) -> Callable[[Packet], Any]:
    """Extract a per-chunk field; one value for one carrier chunk, a list in chunk order else."""

    def extract(packet: Packet) -> Any:
        values = [get(c) for c in packet.chunks if isinstance(c, kinds)]
        assert values, f"no chunk of {[k.__name__ for k in kinds]} in the packet"
        return values[0] if len(values) == 1 else values

    return extract


def _params_of(kind: type, get: Callable[[Any], Any]) -> Callable[[Packet], list[Any]]:
    def extract(packet: Packet) -> list[Any]:
        return [
            get(p)
            for c in packet.chunks
            if isinstance(c, InitChunk | InitAckChunk)
            for p in c.params
            if isinstance(p, kind)
        ]

    return extract


def _one(values: list[Any]) -> Any:
    assert len(values) == 1, values
    return values[0]


def _cookie_summary(cookie: bytes) -> dict[str, Any]:
    return {"length": len(cookie), "head": cookie[:16].hex()}


INIT = (InitChunk, InitAckChunk)
DATA = (DataChunk,)

# For each field of index.json: how to read the same field from our decoding.
EXTRACT: dict[str, Callable[[Packet], Any]] = {
    "src_port": lambda p: p.src_port,
    "dst_port": lambda p: p.dst_port,
    "vtag": lambda p: f"{p.verification_tag:#010x}",
    "chunk_types": lambda p: [c.type for c in p.chunks],
    "chunk_flags": lambda p: [f"{c.flags:#04x}" for c in p.chunks],
    "chunk_lengths": lambda p: [4 + len(c.value()) for c in p.chunks],
    "tsn": _per_chunk(DATA, lambda c: c.tsn),
    "stream": _per_chunk(DATA, lambda c: c.stream_id),
    "ssn": _per_chunk(DATA, lambda c: c.ssn),
    "ppid": _per_chunk(DATA, lambda c: c.ppid),
    "u_bit": _per_chunk(DATA, lambda c: c.unordered),
    "b_bit": _per_chunk(DATA, lambda c: c.beginning),
    "e_bit": _per_chunk(DATA, lambda c: c.ending),
    "i_bit": _per_chunk(DATA, lambda c: c.immediate),
    "initiate_tag": _per_chunk(INIT, lambda c: f"{c.initiate_tag:#010x}"),
    "a_rwnd": _per_chunk((*INIT, SackChunk), lambda c: c.a_rwnd),
    "out_streams": _per_chunk(INIT, lambda c: c.outbound_streams),
    "in_streams": _per_chunk(INIT, lambda c: c.inbound_streams),
    "initial_tsn": _per_chunk(INIT, lambda c: c.initial_tsn),
    "param_types": lambda p: [t for _, t, _ in _params(p)],
    "param_lengths": lambda p: [n for _, _, n in _params(p)],
    "param_names": lambda p: [name for name, _, _ in _params(p)],
    "ipv4_addresses": _params_of(IPv4AddressParam, lambda a: a.address),
    "ipv6_addresses": _params_of(IPv6AddressParam, lambda a: a.address),
    "supported_address_types": lambda p: list(
        _one(_params_of(SupportedAddressTypesParam, lambda a: a.address_types)(p))
    ),
    "supported_extensions": lambda p: list(
        _one(_params_of(SupportedExtensionsParam, lambda a: a.chunk_types)(p))
    ),
    "adaptation_indication": lambda p: _one(
        _params_of(AdaptationLayerIndicationParam, lambda a: a.indication)(p)
    ),
    "hmac_ids": lambda p: list(_one(_params_of(HmacAlgoParam, lambda a: a.hmac_ids)(p))),
    "random": lambda p: _one(_params_of(RandomParam, lambda a: a.random.hex())(p)),
    "state_cookie": lambda p: _one(
        _params_of(StateCookieParam, lambda a: _cookie_summary(a.cookie))(p)
    ),
    "cookie": _per_chunk((CookieEchoChunk,), lambda c: _cookie_summary(c.cookie)),
    "heartbeat_info": _per_chunk((HeartbeatChunk, HeartbeatAckChunk), lambda c: c.info.hex()),
    "cum_tsn_ack": _per_chunk((SackChunk, ShutdownChunk), lambda c: c.cum_tsn_ack),
    "gap_blocks": _per_chunk((SackChunk,), lambda c: len(c.gap_blocks)),
    "dup_tsns": _per_chunk((SackChunk,), lambda c: len(c.dup_tsns)),
    "t_bit": _per_chunk((AbortChunk, ShutdownCompleteChunk), lambda c: c.t_bit),
}
# Fields checked by hand in the test below, and fields that are not SCTP bytes.
CHECKED_ELSEWHERE = {"length", "checksum", "checksum_status", "chunk_names", "tshark_info"}
NOT_IN_PACKET = {"file", "impl", "role", "udp_src", "udp_dst"}  # capture metadata, UDP header


@pytest.mark.parametrize(("source", "entry"), CASES)
def test_vector_decodes_to_tshark_fields(source: str, entry: dict[str, Any]) -> None:
    data = _load(source, entry)
    packet = decode_packet(data)  # verifies the CRC32c: tshark called it "good"

    unknown = set(entry) - set(EXTRACT) - CHECKED_ELSEWHERE - NOT_IN_PACKET
    assert not unknown, f"index.json has fields this test does not check: {sorted(unknown)}"

    assert len(data) == entry["length"]
    assert entry["checksum_status"] == "good"
    # tshark shows the four checksum bytes as one big-endian number; RFC 9260
    # Appendix A stores the CRC32c least significant byte first.
    assert data[8:12].hex() == entry["checksum"].removeprefix("0x")
    assert crc32c(data[:8] + bytes(4) + data[12:]).to_bytes(4, "little") == data[8:12]

    assert [type(c) for c in packet.chunks] == [CHUNK_NAMES[n] for n in entry["chunk_names"]]
    if "param_names" in entry:
        want = [PARAM_NAMES[n] for n in entry["param_names"]]
        assert [t for _, t, _ in _params(packet)] == [t for _, t in want]
        assert EXTRACT["param_names"](packet) == [k.__name__ for k, _ in want]

    for key, extract in EXTRACT.items():
        if key in entry and key != "param_names":
            assert extract(packet) == entry[key], key


@pytest.mark.parametrize(("source", "entry"), CASES)
def test_vector_tshark_info_line(source: str, entry: dict[str, Any]) -> None:
    """tshark's one-line summary names the chunks and repeats TSN, Ack and Arwnd."""
    packet = decode_packet(_load(source, entry))
    info = entry["tshark_info"]
    assert re.sub(r"\([^)]*\)", "", info).split() == entry["chunk_names"]
    data = [c for c in packet.chunks if isinstance(c, DataChunk)]
    assert [int(x) for x in re.findall(r"TSN=(\d+)", info)] == [c.tsn for c in data]
    # tshark marks a DATA chunk without the E bit as one fragment of a longer message.
    assert ("(Message Fragment)" in info) == any(not c.ending for c in data)
    sacks = [c for c in packet.chunks if isinstance(c, SackChunk)]
    assert [int(x) for x in re.findall(r"Ack=(\d+)", info)] == [c.cum_tsn_ack for c in sacks]
    assert [int(x) for x in re.findall(r"Arwnd=(\d+)", info)] == [c.a_rwnd for c in sacks]


@pytest.mark.parametrize(("source", "entry"), CASES)
def test_vector_reencodes_byte_for_byte(source: str, entry: dict[str, Any]) -> None:
    data = _load(source, entry)
    packet = decode_packet(data)
    assert encode_packet(packet) == data
    # Chunk by chunk too: each chunk, padded, is exactly its slice of the packet.
    assert b"".join(encode_chunk(c) for c in packet.chunks) == data[12:]
    assert decode_packet(encode_packet(packet)) == packet


def test_repo_copies_match_shared_vectors() -> None:
    """tests/vectors holds copies; when the originals are beside the repo, they agree."""
    shared, repo = SOURCES["shared"], SOURCES["repo"]
    if not (shared / "index.json").is_file():
        pytest.skip(f"{shared} is not there")
    for f in sorted(repo.iterdir()):
        original = shared / f.name
        if original.exists():
            assert f.read_bytes() == original.read_bytes(), f.name


def test_every_repo_vector_is_indexed() -> None:
    repo = SOURCES["repo"]
    listed = {e["file"] for e in json.loads((repo / "index.json").read_text())["vectors"]}
    assert listed == {f.name for f in repo.glob("*.hex")}
    assert len(listed) >= 14
