"""Cross-check against tshark: what we encode, Wireshark's SCTP dissector reads the same way.

The packets go into a pcap as IPv4/UDP datagrams to port 9899 (SCTP over UDP,
RFC 6951), which tshark dissects as SCTP. For every frame the test predicts,
from our own objects, the value of each tshark field below and compares the
whole set; it also wants good CRC32c and no expert errors or warnings. A
control capture with a bad checksum and an overrunning chunk proves the checks
can fail. tshark is required: the test fails, never skips, without it.
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sctpx.wire import (
    FLAG_BEGIN,
    FLAG_END,
    FLAG_T,
    FLAG_UNORDERED,
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
    crc32c,
    decode_packet,
    decode_params,
    encode_chunk,
    encode_packet,
    encode_param,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SCTP_UDP_PORT = 9899  # tshark decodes this UDP port as SCTP without options
SEV_ERROR, SEV_WARN = 0x00800000, 0x00600000  # tshark's expert severities

# --- a tiny pcap writer: LINKTYPE_RAW (101), IPv4 + UDP + the SCTP packet ---------------------


def _ipv4_udp(payload: bytes, ident: int) -> bytes:
    udp = struct.pack("!HHHH", 40000, SCTP_UDP_PORT, 8 + len(payload), 0) + payload
    loopback = bytes([127, 0, 0, 1])
    ip = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0x4000, 64, 17, 0, loopback, loopback
        )
    )
    total = sum(struct.unpack("!10H", ip))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", ip, 10, ~total & 0xFFFF)
    return bytes(ip) + udp


def write_pcap(path: Path, sctp_packets: list[bytes]) -> None:
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, data in enumerate(sctp_packets):
            frame = _ipv4_udp(data, i + 1)
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)


def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.fail(
            "tshark is not installed; `make test` installs it as root "
            "(or: DEBIAN_FRONTEND=noninteractive apt-get install -y tshark)"
        )
    return path


def run_tshark(pcap: Path, *args: str) -> str:
    cmd = [tshark(), "-n", "-r", str(pcap), "-o", "sctp.checksum:crc-32c", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{cmd} failed: {done.stderr}"
    return done.stdout


# --- what tshark should print, predicted from our objects -------------------------------------

FIELDS = [
    "sctp.checksum.status",
    "sctp.srcport",
    "sctp.dstport",
    "sctp.verification_tag",
    "sctp.chunk_type",
    "sctp.chunk_flags",
    "sctp.chunk_length",
    "sctp.data_tsn_raw",
    "sctp.data_sid",
    "sctp.data_ssn",
    "sctp.data_mid",
    "sctp.data_fsn",
    "sctp.data_payload_proto_id",
    "sctp.init_initiate_tag",
    "sctp.init_credit",
    "sctp.init_nr_out_streams",
    "sctp.init_nr_in_streams",
    "sctp.init_initial_tsn",
    "sctp.initack_initiate_tag",
    "sctp.initack_credit",
    "sctp.initack_nr_out_streams",
    "sctp.initack_nr_in_streams",
    "sctp.initack_initial_tsn",
    "sctp.parameter_type",
    "sctp.parameter_length",
    "sctp.parameter_heartbeat_information",
    "sctp.parameter_ipv4_address",
    "sctp.parameter_ipv6_address",
    "sctp.parameter_state_cookie",
    "sctp.parameter_cookie_preservative_incr",
    "sctp.parameter_hostname",
    "sctp.parameter_supported_address_type",
    "sctp.random_number",
    "sctp.chunk_type_to_auth",
    "sctp.hmac_id",
    "sctp.supported_chunk_type",
    "sctp.adaptation_layer_indication",
    "sctp.sack_cumulative_tsn_ack_raw",
    "sctp.sack_a_rwnd",
    "sctp.sack_number_of_gap_blocks",
    "sctp.sack_number_of_duplicated_tsns",
    "sctp.sack_gap_block_start",
    "sctp.sack_gap_block_end",
    "sctp.sack_duplicate_tsn",
    "sctp.shutdown_cumulative_tsn_ack",
    "sctp.abort_t_bit",
    "sctp.shutdown_complete_t_bit",
    "sctp.cookie",
    "sctp.cause_code",
    "sctp.cause_length",
    "sctp.cause_stream_identifier",
    "sctp.cause_nr_of_missing_parameters",
    "sctp.cause_missing_parameter_type",
    "sctp.cause_measure_of_staleness",
    "sctp.cause_tsn",
    "sctp.forward_tsn_tsn",
    "sctp.forward_tsn_sid",
    "sctp.forward_tsn_ssn",
    "sctp.i_forward_tsn_tsn",
    "sctp.i_forward_tsn_sid",
    "sctp.i_forward_tsn_u_bit",
    "sctp.forward_tsn_mid",
    "sctp.padding_data",
]
SEP = "|"


class Expect:
    """Accumulates, per tshark field, the values in dissection order."""

    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {f: [] for f in FIELDS}

    def add(self, field: str, *values: object) -> None:
        assert field in self.values, field
        self.values[field] += [str(v) for v in values]

    def row(self) -> dict[str, str]:
        return {f: SEP.join(v) for f, v in self.values.items()}


def x16(n: int) -> str:
    return f"0x{n:04x}"


def expect_param(e: Expect, p: Param) -> None:
    e.add("sctp.parameter_type", x16(p.type))
    e.add("sctp.parameter_length", 4 + len(p.value()))
    if isinstance(p, IPv4AddressParam):
        e.add("sctp.parameter_ipv4_address", p.address)
    elif isinstance(p, IPv6AddressParam):
        e.add("sctp.parameter_ipv6_address", p.address)
    elif isinstance(p, StateCookieParam):
        e.add("sctp.parameter_state_cookie", p.cookie.hex())
    elif isinstance(p, CookiePreservativeParam):
        e.add("sctp.parameter_cookie_preservative_incr", p.increment_ms)
    elif isinstance(p, HostNameAddressParam):
        e.add("sctp.parameter_hostname", p.hostname.rstrip(b"\x00").decode())
    elif isinstance(p, SupportedAddressTypesParam):
        e.add("sctp.parameter_supported_address_type", *p.address_types)
    elif isinstance(p, RandomParam):
        e.add("sctp.random_number", p.random.hex())
    elif isinstance(p, ChunkListParam):
        e.add("sctp.chunk_type_to_auth", *p.chunk_types)
    elif isinstance(p, HmacAlgoParam):
        e.add("sctp.hmac_id", *p.hmac_ids)
    elif isinstance(p, SupportedExtensionsParam):
        e.add("sctp.supported_chunk_type", *p.chunk_types)
    elif isinstance(p, AdaptationLayerIndicationParam):
        e.add("sctp.adaptation_layer_indication", f"0x{p.indication:08x}")
    elif isinstance(p, UnrecognizedParam):
        # tshark dissects the returned parameter as a parameter of its own.
        for inner in decode_params(p.parameter):
            expect_param(e, inner)


def expect_cause(e: Expect, c: Cause) -> None:
    e.add("sctp.cause_code", x16(c.code))
    e.add("sctp.cause_length", 4 + len(c.value()))
    if isinstance(c, InvalidStreamIdentifier):
        e.add("sctp.cause_stream_identifier", c.stream_id)
    elif isinstance(c, MissingMandatoryParameter):
        e.add("sctp.cause_nr_of_missing_parameters", len(c.param_types))
        e.add("sctp.cause_missing_parameter_type", *(x16(t) for t in c.param_types))
    elif isinstance(c, StaleCookieError):
        e.add("sctp.cause_measure_of_staleness", c.staleness_us)
    elif isinstance(c, NoUserData):
        e.add("sctp.cause_tsn", c.tsn)
    elif isinstance(c, UnresolvableAddress | UnrecognizedParameters):
        raw = c.address if isinstance(c, UnresolvableAddress) else c.parameters
        for p in decode_params(raw):
            expect_param(e, p)
    elif isinstance(c, RestartWithNewAddresses):
        for p in c.addresses:
            expect_param(e, p)
    elif isinstance(c, UnrecognizedChunkType):
        # tshark dissects the returned chunk as a chunk (header fields only).
        ctype, flags, length = struct.unpack_from("!BBH", c.chunk)
        e.add("sctp.chunk_type", ctype)
        e.add("sctp.chunk_flags", f"0x{flags:02x}")
        e.add("sctp.chunk_length", length)


def expect_chunk(e: Expect, c: Chunk) -> None:
    e.add("sctp.chunk_type", c.type)
    e.add("sctp.chunk_flags", f"0x{c.flags:02x}")
    e.add("sctp.chunk_length", 4 + len(c.value()))
    if isinstance(c, DataChunk):
        e.add("sctp.data_tsn_raw", c.tsn)
        e.add("sctp.data_sid", x16(c.stream_id))
        e.add("sctp.data_ssn", c.ssn)
        e.add("sctp.data_payload_proto_id", c.ppid)
    elif isinstance(c, IDataChunk):
        e.add("sctp.data_tsn_raw", c.tsn)
        e.add("sctp.data_sid", x16(c.stream_id))
        e.add("sctp.data_mid", c.mid)
        # RFC 8260 §2.1: the field is the PPID on a first fragment, else the FSN.
        e.add("sctp.data_payload_proto_id" if c.beginning else "sctp.data_fsn", c.ppid_or_fsn)
    elif isinstance(c, InitChunk | InitAckChunk):
        pre = "sctp.init_" if isinstance(c, InitChunk) else "sctp.initack_"
        e.add(pre + "initiate_tag", f"0x{c.initiate_tag:08x}")
        e.add(pre + "credit", c.a_rwnd)
        e.add(pre + "nr_out_streams", c.outbound_streams)
        e.add(pre + "nr_in_streams", c.inbound_streams)
        e.add(pre + "initial_tsn", c.initial_tsn)
        for p in c.params:
            expect_param(e, p)
    elif isinstance(c, SackChunk):
        e.add("sctp.sack_cumulative_tsn_ack_raw", c.cum_tsn_ack)
        e.add("sctp.sack_a_rwnd", c.a_rwnd)
        e.add("sctp.sack_number_of_gap_blocks", len(c.gap_blocks))
        e.add("sctp.sack_number_of_duplicated_tsns", len(c.dup_tsns))
        e.add("sctp.sack_gap_block_start", *(s for s, _ in c.gap_blocks))
        e.add("sctp.sack_gap_block_end", *(end for _, end in c.gap_blocks))
        e.add("sctp.sack_duplicate_tsn", *c.dup_tsns)
    elif isinstance(c, HeartbeatChunk | HeartbeatAckChunk):
        e.add("sctp.parameter_type", x16(1))
        e.add("sctp.parameter_length", 4 + len(c.info))
        e.add("sctp.parameter_heartbeat_information", c.info.hex())
    elif isinstance(c, AbortChunk | ErrorChunk):
        if isinstance(c, AbortChunk):
            e.add("sctp.abort_t_bit", int(c.t_bit))
        for cause in c.causes:
            expect_cause(e, cause)
    elif isinstance(c, ShutdownChunk):
        e.add("sctp.shutdown_cumulative_tsn_ack", c.cum_tsn_ack)
    elif isinstance(c, ShutdownCompleteChunk):
        e.add("sctp.shutdown_complete_t_bit", int(c.t_bit))
    elif isinstance(c, CookieEchoChunk):
        e.add("sctp.cookie", c.cookie.hex())
    elif isinstance(c, ForwardTsnChunk):
        e.add("sctp.forward_tsn_tsn", c.new_cum_tsn)
        e.add("sctp.forward_tsn_sid", *(s for s, _ in c.streams))
        e.add("sctp.forward_tsn_ssn", *(n for _, n in c.streams))
    elif isinstance(c, IForwardTsnChunk):
        e.add("sctp.i_forward_tsn_tsn", c.new_cum_tsn)
        e.add("sctp.i_forward_tsn_sid", *(s for s, _, _ in c.entries))
        e.add("sctp.i_forward_tsn_u_bit", *(int(u) for _, u, _ in c.entries))
        e.add("sctp.forward_tsn_mid", *(m for _, _, m in c.entries))
    elif isinstance(c, PadChunk):
        # tshark prints a present but empty byte field as <MISSING>.
        e.add("sctp.padding_data", c.padding.hex() or "<MISSING>")


def expected_row(packet: Packet) -> dict[str, str]:
    e = Expect()
    e.add("sctp.checksum.status", 1)
    e.add("sctp.srcport", packet.src_port)
    e.add("sctp.dstport", packet.dst_port)
    e.add("sctp.verification_tag", f"0x{packet.verification_tag:08x}")
    for c in packet.chunks:
        expect_chunk(e, c)
    return e.row()


# --- the packets: every chunk, parameter and cause, plus seeded random variety -----------------

ADDRS: tuple[Param, ...] = (IPv4AddressParam("198.18.0.1"), IPv6AddressParam("fd00::1:2"))
INIT_PARAMS: tuple[Param, ...] = (
    *ADDRS,
    CookiePreservativeParam(2000),
    HostNameAddressParam(b"peer.example\x00"),
    SupportedAddressTypesParam((5, 6)),
    UnknownParam(0x8000, b""),  # ECN capable
    ForwardTsnSupportedParam(),
    SupportedExtensionsParam((0xC0, 0x0F, 0xC1, 0x80, 0x82)),
    RandomParam(bytes(range(100, 132))),
    HmacAlgoParam((1, 3)),
    ChunkListParam((0x80, 0xC1)),
    AdaptationLayerIndicationParam(0xABCD),
    UnknownParam(0xC123, b"odd"),
)
ALL_CAUSES: tuple[Cause, ...] = (
    InvalidStreamIdentifier(17),
    MissingMandatoryParameter((7, 9)),
    StaleCookieError(123456),
    OutOfResource(),
    UnresolvableAddress(encode_param(IPv4AddressParam("192.0.2.9"))),
    UnrecognizedChunkType(encode_chunk(UnknownChunk(0xC5, b"\x01\x02\x03\x04"))),
    InvalidMandatoryParameter(),
    UnrecognizedParameters(encode_param(UnknownParam(0xC123, b"abcd"))),
    NoUserData(99),
    CookieReceivedWhileShuttingDown(),
    RestartWithNewAddresses(ADDRS),
    UserInitiatedAbort(b"closing"),
    ProtocolViolation(b"bad"),
    UnknownCause(0x0100, b"\x00\x01"),
)
# A PPID without a registered payload dissector, so tshark leaves user data alone.
PPID = 0x5C7B0001


def fixed_packets() -> list[Packet]:
    chunks: list[list[Chunk]] = [
        [InitChunk(0x11223344, 131072, 10, 2048, 1000, INIT_PARAMS)],
        [InitAckChunk(0x55667788, 65536, 5, 5, 7, (StateCookieParam(b"COOKIE" * 7), *INIT_PARAMS))],
        [
            InitAckChunk(
                1, 2, 3, 4, 5, (UnrecognizedParam(encode_param(UnknownParam(0xC123, b"x"))),)
            )
        ],
        [CookieEchoChunk(b"COOKIE" * 7), DataChunk(1000, 3, 0, PPID, b"first message")],
        [CookieAckChunk(), SackChunk(999, 4096)],
        [
            DataChunk(1001, 0, 1, PPID, b"B", FLAG_BEGIN),
            DataChunk(1002, 0, 1, PPID, b"-E", FLAG_END),
        ],
        [DataChunk(1003, 9, 0, PPID, b"unordered", FLAG_UNORDERED | FLAG_BEGIN | FLAG_END)],
        [SackChunk(1000, 60000, ((2, 3), (5, 8), (10, 10), (12, 20)), (990, 995))],
        [HeartbeatChunk(b"\x00\x01hb-info"), HeartbeatAckChunk(b"\x00\x01hb-info")],
        [AbortChunk(ALL_CAUSES, FLAG_T)],
        [ErrorChunk(ALL_CAUSES), ShutdownChunk(1003)],
        [ShutdownAckChunk(), ShutdownCompleteChunk(FLAG_T)],
        [ForwardTsnChunk(1010, ((1, 2), (3, 4)))],
        [IDataChunk(2000, 4, 7, PPID, b"i-data first", FLAG_BEGIN)],
        [IDataChunk(2001, 4, 7, 1, b"i-data last", FLAG_END)],
        [IForwardTsnChunk(2005, ((4, True, 7), (5, False, 9)))],
        [PadChunk(bytes(13)), UnknownChunk(0xC7, b"?!", 0x40)],
        [AbortChunk(), ShutdownCompleteChunk()],
    ]
    return [Packet(40001, 40002, 0x0A0B0C0D + i, c) for i, c in enumerate(chunks)]


def random_packets(rng: random.Random, n: int) -> Iterator[Packet]:
    """Seeded variety: odd lengths of every kind, bundles, sane protocol values."""
    for _ in range(n):
        chunks: list[Chunk] = []
        tsn = rng.getrandbits(32)
        for _ in range(rng.randint(1, 4)):
            kind = rng.randrange(6)
            text = bytes(rng.choice(b"abcdefgh") for _ in range(rng.randint(1, 40)))
            if kind == 0:
                flags = rng.choice([3, 2, 0, 1, 7, 11])
                chunks.append(
                    DataChunk(tsn, rng.randrange(10), rng.randrange(65536), PPID, text, flags)
                )
                tsn = (tsn + 1) & 0xFFFFFFFF
            elif kind == 1:
                starts = sorted(rng.sample(range(1, 200, 3), rng.randint(0, 5)))
                gaps = tuple((s, s + rng.randint(0, 1)) for s in starts)
                dups = tuple(rng.getrandbits(32) for _ in range(rng.randint(0, 3)))
                chunks.append(SackChunk(tsn, rng.getrandbits(32), gaps, dups))
            elif kind == 2:
                chunks.append(HeartbeatChunk(text))
            elif kind == 3:
                causes = tuple(rng.sample(ALL_CAUSES, rng.randint(0, 3)))
                chunks.append(ErrorChunk(causes))
            elif kind == 4:
                chunks.append(CookieEchoChunk(text))
            else:
                chunks.append(PadChunk(bytes(rng.randint(0, 9))))
        yield Packet(
            rng.randrange(1024, 65536), rng.randrange(1024, 65536), rng.getrandbits(32), chunks
        )


def all_packets() -> list[Packet]:
    vectors = [decode_packet(bytes.fromhex(f.read_text())) for f in sorted(VECTORS.glob("*.hex"))]
    return fixed_packets() + vectors + list(random_packets(random.Random(9899), 20))


# --- the tests -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Packet]]:
    packets = all_packets()
    pcap = tmp_path_factory.mktemp("tshark") / "sctpx.pcap"
    write_pcap(pcap, [encode_packet(p) for p in packets])
    return pcap, packets


def test_tshark_reads_every_field_as_we_wrote_it(capture: tuple[Path, list[Packet]]) -> None:
    pcap, packets = capture
    args = ["-T", "fields", "-E", "separator=/t", "-E", f"aggregator={SEP}"]
    for f in FIELDS:
        args += ["-e", f]
    lines = run_tshark(pcap, *args).splitlines()
    assert len(lines) == len(packets), "tshark saw a different number of frames"
    mismatches = []
    for frame, (line, packet) in enumerate(zip(lines, packets, strict=True), start=1):
        got = dict(zip(FIELDS, line.split("\t"), strict=True))
        want = expected_row(packet)
        for f in FIELDS:
            if got[f] != want[f]:
                mismatches.append(f"frame {frame} {f}: tshark {got[f]!r}, we expect {want[f]!r}")
    assert not mismatches, "\n".join(mismatches[:40])


def test_tshark_finds_no_expert_errors_or_warnings(capture: tuple[Path, list[Packet]]) -> None:
    pcap, packets = capture
    out = run_tshark(
        pcap,
        "-T",
        "fields",
        "-E",
        "aggregator=|",
        "-e",
        "_ws.expert.severity",
        "-e",
        "_ws.expert.message",
    )
    problems = []
    for frame, line in enumerate(out.splitlines(), start=1):
        severities, _, messages = line.partition("\t")
        for sev, msg in zip(severities.split("|"), messages.split("|"), strict=False):
            if sev and int(sev) >= SEV_WARN:
                problems.append(f"frame {frame}: {msg} ({encode_packet(packets[frame - 1]).hex()})")
    assert not problems, "\n".join(problems)
    summary = run_tshark(pcap, "-q", "-z", "expert,error")
    assert "Errors (" not in summary and "Malformed" not in summary, summary


def test_tshark_checks_can_fail(tmp_path: Path) -> None:
    """Control: a bad checksum and an overrunning chunk get flagged, so the silence above counts."""
    good = encode_packet(Packet(40001, 40002, 1, [CookieAckChunk()]))
    wrong_crc = good[:8] + bytes([good[8] ^ 0xFF]) + good[9:]
    overrun = bytearray(encode_packet(Packet(40001, 40002, 1, [SackChunk(1, 2)])))
    overrun[14:16] = (64).to_bytes(2, "big")  # the SACK claims 64 bytes, 16 are there
    crc = crc32c(bytes(overrun[:8]) + bytes(4) + bytes(overrun[12:]))
    overrun[8:12] = crc.to_bytes(4, "little")  # a good checksum: only the length is wrong
    pcap = tmp_path / "control.pcap"
    write_pcap(pcap, [good, wrong_crc, bytes(overrun)])
    out = run_tshark(
        pcap, "-T", "fields", "-e", "sctp.checksum.status", "-e", "_ws.expert.severity"
    )
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[0] for r in rows] == ["1", "0", "1"]
    assert rows[0][1] == ""
    assert str(SEV_ERROR) in rows[1][1].split(",") and str(SEV_ERROR) in rows[2][1].split(",")
    assert "Errors (" in run_tshark(pcap, "-q", "-z", "expert,error")


def test_pcap_writer_layout(tmp_path: Path) -> None:
    pcap = tmp_path / "one.pcap"
    sctp = encode_packet(Packet(1, 2, 3, [CookieAckChunk()]))
    write_pcap(pcap, [sctp])
    raw = pcap.read_bytes()
    assert raw[:4] == bytes.fromhex("d4c3b2a1") and struct.unpack_from("<I", raw, 20)[0] == 101
    frame = raw[24 + 16 :]
    assert len(frame) == 20 + 8 + len(sctp) and frame[28:] == sctp
    assert frame[9] == 17 and struct.unpack_from("!H", frame, 22)[0] == SCTP_UDP_PORT
    # The IPv4 header checksum sums to 0xffff with itself included.
    total = sum(struct.unpack("!10H", frame[:20]))
    assert (total & 0xFFFF) + (total >> 16) == 0xFFFF
