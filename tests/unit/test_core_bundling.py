"""Replies to one packet leave bundled, each packet within the MTU (RFC 9260 §6.10; issue 12).

Before: one packet of 360 unknown "skip and report" chunks made 360 datagrams, and
a packet of 40 HEARTBEATs made 40.
"""

from __future__ import annotations

import math
import random

import pytest

from sctpx import wire as w
from sctpx.core import Config, Endpoint, State
from sctpx.core.replies import chunk_room, pack

S1, C1, C2 = "198.18.1.2", "198.18.1.1", "198.18.2.1"
S6, C6 = "2001:db8::2", "2001:db8::1"
SPORT, CPORT = 5000, 40000
CTAG = 0x51515151
SKIP_AND_REPORT = 0xFF  # upper two bits 11: skip the chunk, report it (§3.2)

Out = list[tuple[w.Packet, bytes, tuple[str, int]]]


class Server:
    """A listening endpoint with one ESTABLISHED association from (C1, udp)."""

    def __init__(self, udp: int = 9899, cfg: Config | None = None, v6: bool = False) -> None:
        self.me, self.peer = (S6, C6) if v6 else (S1, C1)
        self.udp = udp
        self.ep = Endpoint(SPORT, [self.me], rng=random.Random(3), config=cfg, udp_port=udp)
        self.ep.listen()
        init = w.InitChunk(CTAG, 65536, 10, 10, 1000, ())
        [(ack_pkt, _raw, _dst)] = self.feed([init], 0)
        ack = ack_pkt.chunks[0]
        assert isinstance(ack, w.InitAckChunk)
        self.tag = ack.initiate_tag
        cookie = next(p.cookie for p in ack.params if isinstance(p, w.StateCookieParam))
        [(pkt, _raw, _dst)] = self.feed([w.CookieEchoChunk(cookie)])
        assert pkt.chunks == [w.CookieAckChunk()]
        [self.assoc] = self.ep.associations.values()
        assert self.assoc.state is State.ESTABLISHED

    def send(self, chunks: list[w.Chunk], vtag: int | None = None, now: float = 0.0) -> None:
        data = w.encode_packet(w.Packet(CPORT, SPORT, self.tag if vtag is None else vtag, chunks))
        self.ep.receive(data, (self.peer, self.udp), (self.me, self.udp), now)

    def out(self, now: float = 0.0) -> Out:
        return [(w.decode_packet(d), d, t) for d, _s, t in self.ep.datagrams_to_send(now)]

    def feed(self, chunks: list[w.Chunk], vtag: int | None = None, now: float = 0.0) -> Out:
        self.send(chunks, vtag, now)
        return self.out(now)

    def ip_size(self, raw: bytes) -> int:
        return len(raw) + (40 if ":" in self.me else 20) + (8 if self.udp else 0)


def unknown_chunks(n: int) -> list[w.Chunk]:
    # 4-byte chunks told apart by their flags (and the order of the reports).
    return [w.UnknownChunk(SKIP_AND_REPORT, b"", i % 256) for i in range(n)]


@pytest.mark.parametrize(
    ("udp", "v6"), [(9899, False), (0, False), (9899, True)], ids=["udp", "raw-ip", "ipv6"]
)
def test_360_unknown_chunks_make_as_few_packets_as_the_mtu_allows(udp: int, v6: bool) -> None:
    s = Server(udp=udp, v6=v6)
    s.send(unknown_chunks(360))  # the packet of the issue: 12 + 360 * 4 = 1452 bytes
    out = s.out()
    room = 1500 - (40 if v6 else 20) - (8 if udp else 0) - 12
    per_packet = room // 12  # one ERROR chunk (4) with its cause (4 + the 4-byte chunk)
    assert len(out) == math.ceil(360 / per_packet) == 3
    reports = []
    for pkt, raw, dst in out:
        assert s.ip_size(raw) <= 1500 and dst == (s.peer, udp)
        assert pkt.verification_tag == CTAG
        for c in pkt.chunks:
            assert isinstance(c, w.ErrorChunk)
            [cause] = c.causes
            assert isinstance(cause, w.UnrecognizedChunkType)
            reports.append(cause.chunk)
    assert reports == [bytes([SKIP_AND_REPORT, i % 256, 0, 4]) for i in range(360)]
    assert [len(p.chunks) for p, _r, _d in out] == [per_packet, per_packet, 360 - 2 * per_packet]


def test_stop_and_report_reports_once() -> None:  # §3.2: 01 stops the packet
    s = Server()
    out = s.feed([w.UnknownChunk(0x7F, b"", i % 256) for i in range(360)])
    [(pkt, _raw, _dst)] = out
    [err] = pkt.chunks
    assert isinstance(err, w.ErrorChunk) and len(err.causes) == 1


def test_40_heartbeats_get_one_packet_of_heartbeat_acks() -> None:
    s = Server()
    hbs: list[w.Chunk] = [w.HeartbeatChunk(b"hb%02d" % i + b"." * 16) for i in range(40)]
    [(pkt, raw, _dst)] = s.feed(hbs)  # 40 * 28 bytes fit one packet
    assert pkt.chunks == [w.HeartbeatAckChunk(c.info) for c in hbs]  # type: ignore[union-attr]
    assert s.ip_size(raw) <= 1500


def test_40_large_heartbeats_fill_packets_to_the_mtu() -> None:
    s = Server()
    hbs: list[w.Chunk] = [w.HeartbeatChunk(bytes([i]) * 60) for i in range(40)]
    out = s.feed(hbs)
    size = 4 + 4 + 60  # chunk header, Heartbeat Info TLV header, info
    per_packet = (1500 - 20 - 8 - 12) // size
    assert [len(p.chunks) for p, _r, _d in out] == [per_packet, 40 - per_packet] == [21, 19]
    acks = [c for p, _r, _d in out for c in p.chunks]
    assert acks == [w.HeartbeatAckChunk(c.info) for c in hbs]  # type: ignore[union-attr]
    assert all(s.ip_size(raw) <= 1500 for _p, raw, _d in out)


def test_smaller_mtu_is_respected() -> None:
    s = Server(cfg=Config(mtu=576))
    out = s.feed(unknown_chunks(100))
    per_packet = (576 - 20 - 8 - 12) // 12
    assert [len(p.chunks) for p, _r, _d in out] == [per_packet, per_packet, 100 - 2 * per_packet]
    assert all(s.ip_size(raw) <= 576 for _p, raw, _d in out)


def data(tsn: int, stream: int = 0) -> w.DataChunk:
    return w.DataChunk(tsn, stream, 0, 0, b"x", flags=0x03)  # B and E: one whole message


def test_sack_due_leads_the_replies() -> None:  # §6.2 gap: SACK now; §6.10 control first
    s = Server()
    chunks: list[w.Chunk] = [data(1002), *(w.HeartbeatChunk(b"h%d" % i) for i in range(5))]
    [(pkt, _raw, _dst)] = s.feed(chunks)  # TSN 1000 and 1001 missing: a gap
    sack, *acks = pkt.chunks
    assert isinstance(sack, w.SackChunk) and sack.cum_tsn_ack == 999 and sack.gap_blocks
    assert acks == [w.HeartbeatAckChunk(b"h%d" % i) for i in range(5)]
    assert s.assoc.timers.next() is not None and not s.assoc.data.receiver.sack_now  # type: ignore[union-attr]


def test_delayed_sack_rides_with_the_replies() -> None:  # §6.2: a SACK owed leaves early
    s = Server()
    assert s.feed([data(1000)]) == []  # one packet of DATA: the SACK is delayed
    [(pkt, _raw, _dst)] = s.feed([w.HeartbeatChunk(b"hb")], now=0.05)
    assert [type(c) for c in pkt.chunks] == [w.SackChunk, w.HeartbeatAckChunk]
    assert pkt.chunks[0].cum_tsn_ack == 1000  # type: ignore[union-attr]
    assert s.feed([], now=1.0) == []  # nothing more owed: no SACK at the delayed-SACK time
    s.ep.handle_timer(1.0)
    assert not [p for p, _r, _d in s.out(1.0) if any(isinstance(c, w.SackChunk) for c in p.chunks)]


def test_no_replies_no_early_sack() -> None:  # without replies the delayed SACK waits
    s = Server()
    assert s.feed([data(1000)]) == []
    s.ep.handle_timer(0.2)
    [(pkt, _raw, _dst)] = s.out(0.2)
    assert [type(c) for c in pkt.chunks] == [w.SackChunk]


def test_invalid_stream_error_and_sack_bundled_with_replies() -> None:  # §6.5
    s = Server()
    [(pkt, _raw, _dst)] = s.feed([data(1000, stream=500), w.UnknownChunk(SKIP_AND_REPORT)])
    kinds = [type(c) for c in pkt.chunks]
    assert kinds == [w.SackChunk, w.ErrorChunk, w.ErrorChunk]
    causes = [c.causes[0] for c in pkt.chunks[1:]]  # type: ignore[union-attr]
    assert isinstance(causes[0], w.InvalidStreamIdentifier)
    assert isinstance(causes[1], w.UnrecognizedChunkType)


def test_many_invalid_stream_errors_are_packed_within_the_mtu() -> None:  # the flush path
    s = Server()
    tsn = 1000
    for _ in range(5):  # five packets read before the endpoint flushes
        s.send([data(tsn + i, stream=500) for i in range(70)])
        tsn += 70
    out = s.out()
    errors = [c for p, _r, _d in out for c in p.chunks if isinstance(c, w.ErrorChunk)]
    assert len(errors) == 350 and all(s.ip_size(raw) <= 1500 for _p, raw, _d in out)
    assert len(out) == math.ceil((350 * 12 + 20) / 1460)


def test_nothing_answers_a_packet_with_an_abort() -> None:  # §9.1
    s = Server()
    out = s.feed([w.HeartbeatChunk(b"x"), w.UnknownChunk(SKIP_AND_REPORT), w.AbortChunk()])
    assert out == [] and s.ep.associations == {}


def test_cookie_ack_bundled_with_the_heartbeat_acks_of_its_packet() -> None:  # §5.1 D
    ep = Endpoint(SPORT, [S1], rng=random.Random(3))
    ep.listen()
    init = w.InitChunk(CTAG, 65536, 10, 10, 1000, ())
    raw = w.encode_packet(w.Packet(CPORT, SPORT, 0, [init]))
    ep.receive(raw, (C1, 9899), (S1, 9899), 0.0)
    [(d, _s, _t)] = ep.datagrams_to_send(0.0)
    ack = w.decode_packet(d).chunks[0]
    assert isinstance(ack, w.InitAckChunk)
    cookie = next(p.cookie for p in ack.params if isinstance(p, w.StateCookieParam))
    chunks: list[w.Chunk] = [w.CookieEchoChunk(cookie)] + [
        w.HeartbeatChunk(b"%d" % i) for i in range(3)
    ]
    raw = w.encode_packet(w.Packet(CPORT, SPORT, ack.initiate_tag, chunks))
    ep.receive(raw, (C1, 9899), (S1, 9899), 0.01)
    [(d, _s, _t)] = ep.datagrams_to_send(0.01)
    assert w.decode_packet(d).chunks == [w.CookieAckChunk()] + [
        w.HeartbeatAckChunk(b"%d" % i) for i in range(3)
    ]


# ----- the packer itself -----


def test_pack_keeps_units_whole_and_in_order() -> None:
    a = [w.CookieAckChunk(), w.HeartbeatChunk(b"n" * 20)]  # 4 + 28
    b = [w.HeartbeatAckChunk(b"x" * 12)]  # 20
    assert pack([a, b, b], 52) == [a + b, b]
    assert pack([b, a], 40) == [b, a]  # a unit is never split
    big = [w.HeartbeatAckChunk(b"y" * 100)]
    assert pack([b, big, b], 40) == [b, big, b]  # larger than the room: alone


def test_pack_alone_and_abort_rules() -> None:  # §6.10
    e = [w.ErrorChunk((w.InvalidStreamIdentifier(1),))]
    done = [w.ShutdownCompleteChunk()]
    abort = [w.AbortChunk()]
    assert pack([e, done, e], 1000) == [e, done, e]
    assert pack([e, abort, e], 1000) == [e + abort, e]


def test_chunk_room() -> None:
    assert chunk_room(1500, ("198.18.1.1", 9899)) == 1460
    assert chunk_room(1500, ("198.18.1.1", 0)) == 1468
    assert chunk_room(1500, ("2001:db8::1", 9899)) == 1440
