"""Data-transfer rules seen on the simulated wire (RFC 9260 §6.1-§6.4, §6.10, §7.2, §8;
RFC 7829 SCTP-PF; RFC 6458 events).

Each endpoint is attached to the network through a :class:`Tap`, a thin driver that
records every batch of datagrams one flush produced and can drop chosen datagrams on
arrival, so a test can lose exactly one DATA chunk once, or count the packets of one
flush (Max.Burst). Links have 10 ms of one-way delay; RTO.Min = RTO.Initial = 1 s.
"""

from __future__ import annotations

import errno
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from sctpx import wire as w
from sctpx.core import (
    AssocChange,
    AssocChangeState,
    Config,
    Endpoint,
    Event,
    PeerAddrChange,
    State,
)
from sctpx.core.events import DataReceived, SenderDry, SendFailed
from sctpx.core.types import Addr, Datagram, UnreachableKind
from sctpx.sim import ANY, Network, TraceRecord

from .scenario import C1, C2, CPORT, DELAY, P1, P2, SPORT

RTO = Config().rto_initial  # 1 s, also RTO.Min: every path's RTO in a lossless run


class Tap:
    """A driver around an Endpoint: records each flush's datagrams, drops chosen arrivals."""

    def __init__(self, ep: Endpoint, net: Network) -> None:
        self.ep = ep
        self.net = net
        self.batches: list[tuple[float, list[Datagram]]] = []
        self.drop: Callable[[w.Packet], bool] | None = None
        self.dropped: list[tuple[float, w.Packet]] = []
        # True: every datagram arriving at one instant is handled before the endpoint
        # sends anything, as the real stack does with a batch of ready datagrams.
        self.coalesce = False
        self._held = False

    def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
        if self.drop is not None:
            pkt = w.decode_packet(data)
            if self.drop(pkt):
                self.dropped.append((now, pkt))
                return
        self.ep.receive(data, src, dst, now)
        if self.coalesce and not self._held:
            self._held = True
            self.net.after(0.0, self._release)  # after the other arrivals of this instant

    def _release(self) -> None:
        self._held = False  # the network flushes every driver after this callback

    def receive_unreachable(
        self, dst: Addr, kind: UnreachableKind, quoted: bytes, now: float
    ) -> None:
        self.ep.receive_unreachable(dst, kind, quoted, now)

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        if self._held:
            return []
        out = self.ep.datagrams_to_send(now)
        if out:
            self.batches.append((now, out))
        return out

    def get_timer(self) -> float | None:
        if self._held:
            return None  # read again when the batch is released (the endpoint would flush)
        return self.ep.get_timer()

    def handle_timer(self, now: float) -> None:
        self.ep.handle_timer(now)


class Sim:
    """A client and a server endpoint, each behind a Tap, on a 10 ms network."""

    def __init__(
        self,
        seed: int = 1,
        server_addrs: tuple[str, ...] = (P1,),
        client_addrs: tuple[str, ...] = (C1, C2),
        client_cfg: Config | None = None,
        server_cfg: Config | None = None,
    ) -> None:
        self.net = Network(seed=seed)
        self.net.link(ANY, ANY, delay=DELAY)
        ch = self.net.add_host("client", list(client_addrs))
        sh = self.net.add_host("server", list(server_addrs))
        self.client = Endpoint(
            CPORT, list(client_addrs), rng=self.net.rng("client"), config=client_cfg
        )
        self.server = Endpoint(
            SPORT, list(server_addrs), rng=self.net.rng("server"), config=server_cfg
        )
        self.server.listen()
        self.ctap, self.stap = Tap(self.client, self.net), Tap(self.server, self.net)
        ch.attach(CPORT, self.ctap)
        sh.attach(SPORT, self.stap)
        self.cevents: list[Event] = []
        self.sevents: list[Event] = []
        self.server_reads = True  # False: the server's application stops reading
        self.aid = 0
        self.connect_to = list(server_addrs)

    def drain(self) -> None:
        while (e := self.client.next_event()) is not None:
            self.cevents.append(e)
        if self.server_reads:
            read = False
            while (e := self.server.next_event()) is not None:
                self.sevents.append(e)
                read = True
            if read:  # reading may make a window update due: let it go now
                self.net.poke(self.stap)

    def run_until(self, pred: Callable[[], object], timeout: float) -> bool:
        def check() -> bool:
            self.drain()
            return bool(pred())

        ok = self.net.run_until(check, timeout)
        self.drain()
        return ok

    def run_for(self, seconds: float) -> None:
        self.net.run_for(seconds)
        self.drain()

    def connect(self, **options: Any) -> int:
        addrs = [(a, SPORT) for a in self.connect_to]
        self.aid = self.client.connectx(addrs, self.net.now, **options)
        self.net.poke(self.ctap)
        assert self.run_until(
            lambda: (
                self.client.association(self.aid).state is State.ESTABLISHED
                and any(isinstance(e, AssocChange) for e in self.sevents)
            ),
            5,
        )
        return self.aid

    def send(self, data: bytes, poke: bool = False, **kw: Any) -> None:
        self.client.send(self.aid, data, self.net.now, **kw)
        if poke:
            self.net.poke(self.ctap)

    def poke(self) -> None:
        self.net.poke(self.ctap)

    def server_assoc(self) -> Any:
        [a] = self.server.associations.values()
        return a

    def assoc(self) -> Any:
        return self.client.association(self.aid)

    def received(self) -> list[DataReceived]:
        return [e for e in self.sevents if isinstance(e, DataReceived)]

    def client_packets(self, chunk: type = w.DataChunk) -> list[TraceRecord]:
        return self.net.packets(src=self.net.hosts["client"], chunk=chunk, duplicates=False)

    def server_packets(self, chunk: type = w.SackChunk) -> list[TraceRecord]:
        return self.net.packets(src=self.net.hosts["server"], chunk=chunk, duplicates=False)


def datas(r: TraceRecord) -> list[w.DataChunk]:
    return [c for c in r.chunks if isinstance(c, w.DataChunk)]


def sacks(r: TraceRecord) -> list[w.SackChunk]:
    return [c for c in r.chunks if isinstance(c, w.SackChunk)]


def tsn_after(a: int, b: int) -> bool:
    return 0 < ((a - b) & 0xFFFFFFFF) < (1 << 31)


# ----- fast retransmit and T3-rtx (§7.2.4, §6.3.3, §6.4) -----


def test_one_lost_data_chunk_is_fast_retransmitted_well_before_t3() -> None:
    sim = Sim()
    sim.connect()
    lost: list[int] = []

    def drop_once(pkt: w.Packet) -> bool:
        hit = [c.tsn for c in pkt.chunks if isinstance(c, w.DataChunk) and c.ssn == 30]
        if hit and not lost:
            lost.extend(hit)
            return True
        return False

    sim.stap.drop = drop_once
    for i in range(200):
        sim.send(i.to_bytes(4, "big") * 300)
    sim.poke()
    assert sim.run_until(lambda: len(sim.received()) == 200, 60)
    [tsn] = lost
    sends = [r for r in sim.client_packets() if any(c.tsn == tsn for c in datas(r))]
    assert len(sends) == 2, "lost once, retransmitted once"
    orig, rtx = sends
    assert rtx.sent - orig.sent < RTO / 2, rtx.sent - orig.sent  # not T3's doing
    assert rtx.dst[0] == orig.dst[0] == P1  # §6.4: to where it was sent first
    # triggered by a SACK: the third (or later) to report the TSN missing
    missing = [
        r for r in sim.server_packets()
        if r.arrived is not None and r.arrived <= rtx.sent
        and any(tsn_after(tsn, s.cum_tsn_ack) and s.gap_blocks for s in sacks(r))
    ]  # fmt: skip
    assert len(missing) >= 3
    assert rtx.sent in {r.arrived for r in missing}
    # nothing else was sent twice, and no timer expired on the way
    counts = Counter(c.tsn for r in sim.client_packets() for c in datas(r))
    assert {t for t, n in counts.items() if n > 1} == {tsn}
    assert sim.assoc().paths[P1].error_count == 0
    assert not any(isinstance(e, PeerAddrChange) for e in sim.cevents)
    assert [e.data[:4] for e in sim.received()] == [i.to_bytes(4, "big") for i in range(200)]


def test_t3_retransmission_goes_to_another_active_path() -> None:  # §6.4.1, MH-03
    cfg = Config(pf_retrans=Config().path_max_retrans)  # P1 stays ACTIVE after one T3
    sim = Sim(server_addrs=(P1, P2), client_cfg=cfg)
    sim.connect()
    t0 = sim.net.now
    sim.net.link(ANY, P1, blackhole=True)
    sim.send(b"first", poke=True)
    sim.run_for(0.5)
    sim.net.link(ANY, P1, blackhole=False)
    assert sim.run_until(lambda: len(sim.received()) == 1, 5)
    [orig, rtx] = sim.client_packets()
    assert orig.dst[0] == P1 and rtx.dst[0] == P2
    assert datas(orig)[0].tsn == datas(rtx)[0].tsn
    assert rtx.sent - t0 == pytest.approx(RTO, abs=0.01)
    assert rtx.src[0] == C2  # the most divergent pair: other source address too
    a = sim.assoc()
    assert a.pm.primary == P1 and a.paths[P1].reach.value == "ACTIVE"
    # new data still goes to the primary path
    sim.send(b"second", poke=True)
    assert sim.run_until(lambda: len(sim.received()) == 2, 5)
    assert sim.client_packets()[-1].dst[0] == P1


def test_failover_without_pf_stalls_longer_than_with_pf() -> None:  # RFC 7829, §6.4.1
    def stall(cfg: Config) -> float:
        sim = Sim(server_addrs=(P1, P2), client_cfg=cfg)
        sim.connect()
        msgs = [i.to_bytes(4, "big") * 300 for i in range(1000)]
        fed = 0

        def feed() -> None:  # 20 messages every 50 ms
            nonlocal fed
            for d in msgs[fed : fed + 20]:
                sim.send(d)
            fed += 20
            if fed < len(msgs):
                sim.net.after(0.05, feed)

        sim.net.at(sim.net.now, feed)
        cut = sim.net.now + 0.5
        sim.net.at(cut, lambda: sim.net.blackhole(P1))
        assert sim.run_until(lambda: len(sim.received()) == len(msgs), 600)
        assert [e.data for e in sim.received()] == msgs
        # the stall: until new data (a TSN never sent before) reaches the other path
        seen: set[int] = set()
        for r in sim.client_packets():
            tsns = {c.tsn for c in datas(r)}
            if r.sent > cut and r.dst[0] == P2 and tsns - seen and r.arrived is not None:
                return r.arrived - cut
            seen |= tsns
        raise AssertionError("no new data on P2")

    with_pf = stall(Config())  # pf_retrans = 0: PF after the first T3
    without_pf = stall(Config(pf_retrans=Config().path_max_retrans))
    assert with_pf <= 2 * RTO, with_pf
    assert with_pf < without_pf, (with_pf, without_pf)
    assert without_pf > 10 * RTO  # PMR + 1 backed-off timeouts: seconds, not one RTO


# ----- zero window probing (§6.1 A) -----


def zero_window_run() -> tuple[Sim, float]:
    """The server stops reading; the client keeps 300 messages queued for 130 s."""
    sim = Sim()
    sim.connect()
    sim.server_reads = False
    for i in range(300):
        sim.send(i.to_bytes(4, "big") * 300)
    sim.poke()
    sim.run_for(130)
    zero = [r for r in sim.server_packets() if any(s.a_rwnd == 0 for s in sacks(r))]
    assert zero, "the window closed"
    assert zero[0].arrived is not None
    return sim, zero[0].arrived


def test_zero_window_is_probed_with_one_chunk_and_transfer_resumes() -> None:
    sim, closed = zero_window_run()
    probes = [r for r in sim.client_packets() if r.sent >= closed]
    assert len(probes) >= 6
    assert all(len(datas(r)) == 1 for r in probes)  # one chunk at a time
    assert len({datas(r)[0].tsn for r in probes}) == 1  # the same one, until accepted
    gaps = [b.sent - a.sent for a, b in itertools.pairwise(probes)]
    assert gaps[0] == pytest.approx(RTO, abs=0.05)
    # backing off: 1, 2, 4, 8, 16 s ... (a HEARTBEAT on the idle path may later measure
    # the RTT afresh and so shorten the RTO again, §8.3), never beyond RTO.Max
    assert gaps[:5] == pytest.approx([RTO, 2 * RTO, 4 * RTO, 8 * RTO, 16 * RTO], abs=0.05)
    assert all(g <= 60 + 0.05 for g in gaps)
    assert gaps[1] == pytest.approx(2 * gaps[0], rel=0.05)
    assert max(gaps) <= Config().rto_max + 0.05
    assert sim.server_assoc().data.receiver.a_rwnd == 0
    assert sim.assoc().state is State.ESTABLISHED
    # the application reads again: everything arrives, in order
    sim.server_reads = True
    assert sim.run_until(lambda: len(sim.received()) == 300, 900)
    assert [e.data[:4] for e in sim.received()] == [i.to_bytes(4, "big") for i in range(300)]


def test_zero_window_probing_does_not_count_as_path_failure() -> None:
    sim, _closed = zero_window_run()
    flaps = [e for e in sim.cevents if isinstance(e, PeerAddrChange)]
    assert flaps == []


def test_transfer_resumes_promptly_after_the_window_reopens() -> None:
    sim, _closed = zero_window_run()
    read_at = sim.net.now
    sim.server_reads = True
    assert sim.run_until(lambda: len(sim.received()) == 300, 900)
    update = next(r for r in sim.server_packets() if r.sent >= read_at)
    assert update.arrived is not None and sacks(update)[0].a_rwnd > 0
    probe_tsn = datas([r for r in sim.client_packets() if r.sent < read_at][-1])[0].tsn
    new = next(
        r for r in sim.client_packets() if r.sent >= read_at and datas(r)[0].tsn != probe_tsn
    )
    assert new.sent - update.arrived < RTO, new.sent - update.arrived


# ----- Nagle, Max.Burst (§6.1 D) -----


@pytest.mark.parametrize("nodelay", [False, True])
def test_nagle_bundles_small_messages_while_data_is_in_flight(nodelay: bool) -> None:
    sim = Sim(client_cfg=Config(nodelay=nodelay))
    sim.connect()
    t0 = sim.net.now
    for i in range(10):

        def send(i: int = i) -> None:
            sim.send(b"m%d" % i)

        sim.net.at(t0 + 0.001 * i, send)
    assert sim.run_until(lambda: len(sim.received()) == 10, 5)
    pkts = sim.client_packets()
    per_packet = [len(datas(r)) for r in pkts]
    if nodelay:  # each at once, in its own packet, at the moment it was sent
        assert per_packet == [1] * 10
        assert [round(r.sent - t0, 6) for r in pkts] == [round(0.001 * i, 6) for i in range(10)]
    else:  # the first goes; the rest wait for its SACK and go together
        assert per_packet == [1, 9]
        assert pkts[0].sent == t0
        sack_back = sim.server_packets()[0]
        assert pkts[1].sent == sack_back.arrived
    assert [e.data for e in sim.received()] == [b"m%d" % i for i in range(10)]


def _record_sacks(sim: Sim) -> list[tuple[int, int]]:
    """From now on, every SACK reaching the client as (index of the next flush, cum ack)."""
    acks: list[tuple[int, int]] = []  # (index of the next flush, cum TSN ack)

    def note(pkt: w.Packet) -> bool:
        for c in pkt.chunks:
            if isinstance(c, w.SackChunk):
                assert not c.gap_blocks  # lossless: the cum ack says it all
                acks.append((len(sim.ctap.batches), c.cum_tsn_ack))
        return False

    sim.ctap.drop = note
    return acks


def _bursts(sim: Sim, acks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """For every flush of the client: (packets of new DATA to its busiest destination,
    packets the SACKs handled since the previous flush acknowledged). One chunk per
    packet: 520-byte messages at MTU 576."""
    seen: set[int] = set()
    cum = sim.assoc().data.sender.initial_tsn - 1
    freed: Counter[int] = Counter()
    for i, c in acks:
        freed[i] += (c - cum) & 0xFFFFFFFF
        cum = c
    out = []
    for i, (_now, batch) in enumerate(sim.ctap.batches):
        per_dst: Counter[str] = Counter()
        for data, _src, dst in batch:
            tsns = {c.tsn for c in w.decode_packet(data).chunks if isinstance(c, w.DataChunk)}
            if tsns and not tsns & seen:
                per_dst[dst[0]] += 1
            seen |= tsns
        out.append((max(per_dst.values(), default=0), freed[i]))
    return out


def _two_bursts(sim: Sim) -> None:
    """400 messages, a pause, 400 more: the second lot meets a grown cwnd and no flight."""
    for i in range(400):
        sim.send(i.to_bytes(4, "big") * 130)
    sim.poke()
    assert sim.run_until(lambda: any(isinstance(e, SenderDry) for e in sim.cevents), 600)
    sim.run_for(0.5)
    for i in range(400):
        sim.send(i.to_bytes(4, "big") * 130)
    sim.poke()
    assert sim.run_until(lambda: len(sim.received()) == 800, 600)


@pytest.mark.parametrize("coalesce", [False, True])
@pytest.mark.parametrize("max_burst", [1, 2, 4])
def test_max_burst_limits_new_packets_beyond_what_sacks_freed(
    max_burst: int, coalesce: bool
) -> None:
    # §6.1 D: cwnd is lowered for the transmission to flightsize + Max.Burst x PMDCS,
    # with the flight before the SACKs handled since the previous flush (what they
    # acknowledged is the ack clock's to refill). MTU 576: 520-byte messages make
    # chunks of exactly one PMDCS (536), one per packet, so packets count bytes.
    cfg = Config(mtu=576, max_burst=max_burst)
    sim = Sim(client_cfg=cfg, server_cfg=Config(mtu=576))
    sim.ctap.coalesce = coalesce
    sim.connect()
    acks = _record_sacks(sim)
    _two_bursts(sim)
    bursts = _bursts(sim, acks)
    beyond = [new - freed for new, freed in bursts if new]
    assert max(beyond) == max_burst  # never more, and the limit was reached
    if coalesce:  # several SACKs per flush: more than Max.Burst packets refill the window
        assert max(new for new, _ in bursts) > max_burst + 2


def test_flight_reaches_cwnd_when_sacks_arrive_in_batches() -> None:
    # The real stack reads every ready datagram before it sends: several SACKs per
    # flush. Max.Burst must not then cap each flush at a few packets, or the flight
    # never fills cwnd and slow start (which needs a full cwnd, §7.2.1) stalls.
    sim = Sim(client_cfg=Config(mtu=576), server_cfg=Config(mtu=576))
    sim.ctap.coalesce = True
    sim.connect()
    sender = sim.assoc().data.sender
    fill: list[tuple[int, int]] = []
    flush = sim.ctap.datagrams_to_send

    def watching(now: float) -> list[Datagram]:
        out = flush(now)
        t = sender.tx.get(P1)
        if out and t is not None and sender.pending and not sender.has_rtx():
            fill.append((t.flight, t.cc.cwnd))
        return out

    sim.ctap.datagrams_to_send = watching  # type: ignore[method-assign]
    for i in range(2000):
        sim.send(i.to_bytes(4, "big") * 130)
    sim.poke()
    assert sim.run_until(lambda: len(sim.received()) == 2000, 600)
    pmdcs = 536
    assert fill and all(cwnd - flight < pmdcs for flight, cwnd in fill), fill[:20]
    assert sender.tx[P1].cc.cwnd > 40 * pmdcs  # slow start went on


# ----- SACKs: delay and bundling (§6.2, §6.10) -----


def test_delayed_sack_200ms_for_a_single_packet() -> None:
    sim = Sim()
    sim.connect()
    sim.send(b"lonely", poke=True)
    assert sim.run_until(lambda: sim.server_packets(), 2)
    [data] = sim.client_packets()
    [sack] = sim.server_packets()
    assert data.arrived is not None
    assert sack.sent - data.arrived == pytest.approx(Config().sack_delay, abs=1e-9)


def test_sack_at_once_for_every_second_packet() -> None:
    sim = Sim(client_cfg=Config(nodelay=True))
    sim.connect()
    t0 = sim.net.now
    sim.send(b"one", poke=True)
    sim.net.at(t0 + 0.002, lambda: sim.send(b"two"))
    assert sim.run_until(lambda: sim.server_packets(), 2)
    _first, second = sim.client_packets()
    [sack] = sim.server_packets()
    assert sack.sent == second.arrived  # no delay for the second packet
    assert sacks(sack)[0].cum_tsn_ack == datas(second)[0].tsn


def test_sack_rides_on_data_when_both_sides_send() -> None:  # §6.10 bundling
    # One address each side, so that the SACK and the DATA have the same destination.
    sim = Sim(client_addrs=(C1,), client_cfg=Config(nodelay=True))
    sim.connect()
    t0 = sim.net.now
    sa = sim.server_assoc()
    sim.send(b"c1", poke=True)
    sim.net.at(t0 + 0.002, lambda: sim.send(b"c2"))
    # Before the client's DATA arrive the server sends X, then Y, which Nagle holds
    # while X is in flight; the second client packet makes a SACK due at once.
    sim.net.at(t0 + 0.004, lambda: sim.server.send(sa.id, b"X" * 100, sim.net.now))
    sim.net.at(t0 + 0.005, lambda: sim.server.send(sa.id, b"Y" * 100, sim.net.now))
    assert sim.run_until(lambda: len(sim.received()) == 2, 2)
    sim.run_for(1)
    bundles = [r for r in sim.server_packets(w.DataChunk) if r.has_chunk(w.SackChunk)]
    assert bundles, sim.net.format_trace()
    for r in bundles:  # control chunks first (§6.10)
        kinds = [type(c) for c in r.chunks]
        assert kinds.index(w.SackChunk) < kinds.index(w.DataChunk)
    assert [e.data for e in sim.cevents if isinstance(e, DataReceived)] == [b"X" * 100,
                                                                           b"Y" * 100]  # fmt: skip


def test_a_pending_delayed_sack_rides_on_the_next_data() -> None:
    sim = Sim(client_addrs=(C1,))
    sim.connect()
    t0 = sim.net.now
    sa = sim.server_assoc()
    sim.send(b"ping", poke=True)
    sim.net.at(t0 + 0.05, lambda: sim.server.send(sa.id, b"pong", sim.net.now))
    sim.run_for(1)
    [reply] = sim.server_packets(w.DataChunk)
    assert reply.has_chunk(w.SackChunk)
    assert len(sim.server_packets(w.SackChunk)) == 1  # no separate SACK later


# ----- streams, bulk, cwnd growth -----


@pytest.mark.parametrize("streams", [1, 10, 1000])
def test_streams_ordered_and_unordered_mixed(streams: int) -> None:
    cfg = Config(num_ostreams=streams, max_instreams=streams)
    sim = Sim(seed=streams, client_cfg=cfg, server_cfg=cfg)
    sim.connect()
    assert sim.assoc().outbound_streams == streams
    sim.net.link(ANY, ANY, reorder=0.1, reorder_delay=0.03)  # the receiver must reorder
    rng = random.Random(streams)
    sent: list[tuple[int, bool, bytes]] = []
    for i in range(600):
        size = rng.choice([8, 100, 1000, 1444, 1445, 4000])
        data = i.to_bytes(8, "big") + rng.randbytes(size - 8)
        stream, unordered = rng.randrange(streams), rng.random() < 0.3
        sent.append((stream, unordered, data))
        sim.send(data, stream=stream, unordered=unordered, ppid=i)
    sim.poke()
    assert sim.run_until(lambda: len(sim.received()) == len(sent), 900)
    got = sim.received()
    ids = [int.from_bytes(e.data[:8], "big") for e in got]
    assert sorted(ids) == list(range(len(sent)))  # each exactly once
    last: dict[int, int] = {}
    for e, i in zip(got, ids, strict=True):
        stream, unordered, data = sent[i]
        assert (e.stream_id, e.unordered, e.data, e.ppid) == (stream, unordered, data, i)
        if not unordered:
            assert last.get(stream, -1) < i  # in order within its stream
            last[stream] = i
    # on the wire: ordered messages of a stream got SSNs 0, 1, 2, ... in send order;
    # every fragment of an unordered message carries the U flag
    first_tx: dict[int, w.DataChunk] = {}
    for r in sim.client_packets():
        for c in datas(r):
            first_tx.setdefault(c.tsn, c)
    begins = [c for c in first_tx.values() if c.beginning]
    assert len(begins) == len(sent)
    ssns: dict[int, list[int]] = {}
    for c in begins:
        _stream, unordered, _data = sent[c.ppid]
        assert c.unordered == unordered
        if not unordered:
            ssns.setdefault(c.stream_id, []).append(c.ssn)
    for seq in ssns.values():
        assert seq == list(range(len(seq)))
    assert all(c.unordered == sent[c.ppid][1] for c in first_tx.values())


def _bulk_message(i: int, size: int) -> bytes:
    return i.to_bytes(8, "big") * (size // 8)


def test_bulk_50mb_lossless_transfer() -> None:
    """50 MB in 16 KiB messages over a lossless link: every byte arrives intact and in
    order, nothing is retransmitted, SenderDry at the end. About 3 s of real time where it
    was written (~390 s of virtual time: the window does not grow, see the xfail below)."""
    sim = Sim(seed=50)
    sim.connect()
    size = 16384
    n = 50 * 1024 * 1024 // size
    started = time.perf_counter()
    for i in range(n):
        sim.send(_bulk_message(i, size))
    sim.poke()
    count = 0

    def check() -> bool:  # verify as they come, holding none of them
        nonlocal count
        for e in sim.sevents:
            if isinstance(e, DataReceived):
                assert e.data == _bulk_message(count, size), count
                count += 1
        sim.sevents.clear()
        return count == n

    assert sim.run_until(check, 3600)
    assert sim.run_until(lambda: any(isinstance(e, SenderDry) for e in sim.cevents), 60)
    tsns = Counter(c.tsn for r in sim.client_packets() for c in datas(r))
    assert len(tsns) == n * 12  # 16384 bytes = 11 x 1444 + 500
    assert max(tsns.values()) == 1  # no retransmission on a lossless link
    assert time.perf_counter() - started < 60


def test_slow_start_grows_cwnd_during_a_lossless_transfer() -> None:
    sim = Sim()
    sim.connect()
    for i in range(300):
        sim.send(_bulk_message(i, 1444))
    sim.poke()
    assert sim.run_until(lambda: len(sim.received()) == 300, 600)
    cc = sim.assoc().data.sender.tx[P1].cc
    assert cc.cwnd > 4404


def test_idle_path_cwnd_decays() -> None:
    cfg = Config(mtu=576)  # chunks of exactly one PMDCS: cwnd grows (see Max.Burst)
    sim = Sim(client_cfg=cfg, server_cfg=cfg)
    sim.connect()
    for i in range(400):
        sim.send(i.to_bytes(4, "big") * 130)
    sim.poke()
    assert sim.run_until(lambda: any(isinstance(e, SenderDry) for e in sim.cevents), 600)
    cc = sim.assoc().data.sender.tx[P1].cc
    grown = cc.cwnd
    assert grown > 8 * 536
    sim.run_for(5 * RTO)  # idle: 5 RTOs
    sim.send(b"after the pause")  # the decay is applied when data next goes (lazily)
    sim.poke()
    sim.run_for(0.1)
    assert cc.cwnd <= max(grown // 2, 4 * 536)


# ----- events: SenderDry, SendFailed (RFC 6458) -----


def test_sender_dry_once_everything_is_acked() -> None:
    sim = Sim()
    sim.connect()
    sim.run_for(1)
    assert not any(isinstance(e, SenderDry) for e in sim.cevents)  # nothing was sent
    dry_while_busy: list[bool] = []

    def watch() -> bool:
        dry = any(isinstance(e, SenderDry) for e in sim.cevents)
        if dry:
            dry_while_busy.append(not sim.assoc().data.sender.idle)
        return dry

    for i in range(50):
        sim.send(i.to_bytes(2, "big") * 400)
    sim.poke()
    assert sim.run_until(watch, 60)
    assert dry_while_busy == [False]
    assert len(sim.received()) == 50
    # the SACK that acknowledged the last chunk had just arrived
    last_sack = max(r.arrived for r in sim.server_packets() if r.arrived is not None)
    assert last_sack == sim.net.now
    sim.run_for(1)
    assert sum(isinstance(e, SenderDry) for e in sim.cevents) == 1
    sim.send(b"again", poke=True)
    assert sim.run_until(lambda: sum(isinstance(e, SenderDry) for e in sim.cevents) == 2, 5)


def test_abort_hands_back_queued_messages_with_econnaborted() -> None:
    sim = Sim()
    sim.connect()
    for i in range(60):
        sim.send(i.to_bytes(4, "big") * 300, context=i)
    sim.poke()
    sim.run_for(0.05)  # some are acknowledged, some in flight, most still queued
    s = sim.assoc().data.sender
    acked = {i for i in range(60)} - {c.msg.context for c in [*s.outstanding.values(), *s.pending]}
    in_flight = {c.msg.context for c in s.outstanding.values()}
    assert acked and in_flight and len(s.pending) > 10
    sim.client.abort(sim.aid, sim.net.now)
    sim.poke()
    sim.drain()
    failed = [e for e in sim.cevents if isinstance(e, SendFailed)]
    assert all(e.error == errno.ECONNABORTED and e.assoc_id == sim.aid for e in failed)
    contexts = [e.context for e in failed]
    assert len(contexts) == len(set(contexts))  # each once
    assert set(contexts) == set(range(60)) - acked  # all but the acknowledged ones
    assert {e.context for e in failed if e.sent} == in_flight
    for e in failed:
        assert e.data == e.context.to_bytes(4, "big") * 300
    end = [e for e in sim.cevents if isinstance(e, AssocChange)][-1]
    assert end.error == errno.ECONNABORTED
    assert sim.client.associations == {}


# ----- teardown over a lossy path (§9.2) -----


def test_a_resent_shutdown_is_answered_at_once() -> None:
    # The first SHUTDOWN ACK is lost; the client's T2 (1 s) resends the SHUTDOWN before
    # the server's T2 (3 s) would resend the SHUTDOWN ACK: the server answers it at once.
    slow = Config(rto_initial=3.0, rto_min=3.0)
    sim = Sim(client_addrs=(C1,), server_cfg=slow)
    sim.connect()
    lost: list[float] = []

    def drop_first_ack(pkt: w.Packet) -> bool:
        if any(isinstance(c, w.ShutdownAckChunk) for c in pkt.chunks) and not lost:
            lost.append(sim.net.now)
            return True
        return False

    sim.ctap.drop = drop_first_ack
    t0 = sim.net.now
    sim.client.shutdown(sim.aid, t0)
    sim.poke()
    assert sim.run_until(lambda: any(
        isinstance(e, AssocChange) and e.state is AssocChangeState.SHUTDOWN_COMP
        for e in sim.cevents), 20)  # fmt: skip
    assert lost
    assert sim.net.now - t0 < 1.1  # the client's T2 + one round trip, not the server's T2


# ----- partial delivery (§6.9) -----


@pytest.mark.parametrize("loss", [0.0, 0.02])
def test_a_message_eight_times_the_receive_buffer_arrives_in_parts(loss: float) -> None:
    # 1 MB into a 128 KB buffer, then a small message: the big one comes in parts, the
    # small one after its last part. (Before partial delivery this stalled forever.)
    sim = Sim()
    sim.net.link(ANY, ANY, loss=loss)
    sim.connect()
    big = random.Random(5).randbytes(1 << 20)
    sim.send(big, stream=1)
    sim.send(b"after", stream=2)
    sim.poke()
    assert sim.run_until(lambda: any(e.data == b"after" for e in sim.received()), 120)
    got = sim.received()
    assert [e.complete for e in got] == [False] * (len(got) - 2) + [True, True]
    assert b"".join(e.data for e in got[:-1]) == big and got[-1].data == b"after"
    assert len(got) > 2
    rx = sim.server_assoc().data.receiver
    assert rx.stats.partial_deliveries == 1 and rx.buffered == 0


# ----- PR-SCTP: a chunk that expires when it is to be fast-retransmitted (RFC 3758) -----


def test_a_chunk_expiring_at_its_fast_retransmission_is_skipped_at_once() -> None:
    # A short-lived message (TTL 5 ms, RTT 20 ms) is lost, 5 reliable ones follow; the
    # SACKs that report the gap arrive in batches. Marking the
    # chunk for fast retransmission took it out of the flight, which stopped T3; when the
    # flush then finds it expired, its FORWARD TSN must leave in that same flush - not at
    # the next HEARTBEAT, 30 s later (found in interop with usrsctp).
    sim = Sim()
    sim.ctap.coalesce = True
    sim.connect()
    for _ in range(40):  # slow start: cwnd grows past 4 packets
        sim.send(bytes(1400))
    sim.poke()
    assert sim.run_until(lambda: any(isinstance(e, SenderDry) for e in sim.cevents), 30)
    lost: list[float] = []
    msgs = [bytes([i + 1]) * 1400 for i in range(6)]  # one packet each

    def drop_first_data(pkt: w.Packet) -> bool:
        if not lost and any(isinstance(c, w.DataChunk) for c in pkt.chunks):
            lost.append(sim.net.now)
            return True
        return False

    sim.stap.drop = drop_first_data
    t0 = sim.net.now
    sim.send(msgs[0], ttl=0.005)
    for m in msgs[1:]:
        sim.send(m)
    sim.poke()
    assert sim.run_until(lambda: sim.net.packets(chunk=w.ForwardTsnChunk), 40)
    fwd = sim.net.packets(chunk=w.ForwardTsnChunk)[0]
    # One round trip (20 ms): in the flush that found it expired. It used to wait for the
    # next flush (a later SACK here; in interop nothing came, T3 was off: 31 s).
    assert fwd.sent - t0 <= 0.021
    assert sim.run_until(lambda: len(sim.received()) == 45, 5)
    assert [e.data for e in sim.received()[40:]] == msgs[1:]
