"""Tests of the simulated network itself (sctpx.sim), with small fake drivers.

The fakes speak real SCTP packets (HEARTBEAT / HEARTBEAT ACK built with
sctpx.wire) so that the trace decodes and tshark recognises the capture.
"""

from __future__ import annotations

import functools
import itertools
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from sctpx.core.types import Addr, Datagram, UnreachableKind
from sctpx.sim import (
    ANY,
    EventLimitExceeded,
    Fate,
    Host,
    LinkProps,
    Network,
    PcapWriter,
    SimulationError,
    ip_packet,
)
from sctpx.sim.pcap import internet_checksum
from sctpx.wire import (
    HeartbeatAckChunk,
    HeartbeatChunk,
    Packet,
    ParseError,
    decode_packet,
    encode_packet,
)

A1, A2, A3 = "198.18.0.1", "198.18.1.1", "198.18.2.1"
B1, B2, B3 = "198.18.0.2", "198.18.1.2", "198.18.2.2"
A6, B6 = "fd00::1", "fd00::2"
NOWHERE = "198.18.9.9"


def hb(sport: int, dport: int, n: int, pad: int = 0) -> bytes:
    """A HEARTBEAT packet whose info is the counter ``n`` (plus ``pad`` filler bytes)."""
    info = struct.pack("!I", n) + b"\x00" * pad
    return encode_packet(Packet(sport, dport, 0x1234, [HeartbeatChunk(info)]))


def counter(data: bytes) -> int:
    chunk = decode_packet(data).chunks[0]
    assert isinstance(chunk, HeartbeatChunk | HeartbeatAckChunk)
    return int(struct.unpack_from("!I", chunk.info)[0])


class Fake:
    """A driver the test scripts: queue datagrams, set the timer, inspect what came in."""

    def __init__(self) -> None:
        self.outbox: list[Datagram] = []
        self.received: list[tuple[float, bytes, Addr, Addr]] = []
        self.signals: list[tuple[float, Addr, UnreachableKind, bytes]] = []
        self.timer: float | None = None
        self.fired: list[float] = []

    def send(self, data: bytes, src: Addr, dst: Addr) -> None:
        self.outbox.append((data, src, dst))

    def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
        self.received.append((now, data, src, dst))

    def receive_unreachable(
        self, dst: Addr, kind: UnreachableKind, quoted: bytes, now: float
    ) -> None:
        self.signals.append((now, dst, kind, quoted))

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        out, self.outbox = self.outbox, []
        return out

    def get_timer(self) -> float | None:
        return self.timer

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        self.timer = None


class Echo(Fake):
    """Answers every HEARTBEAT with a HEARTBEAT ACK to its source, ports swapped."""

    def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
        super().receive(data, src, dst, now)
        try:
            p = decode_packet(data)
        except ParseError:
            return
        chunk = p.chunks[0]
        assert isinstance(chunk, HeartbeatChunk)
        ack = Packet(p.dst_port, p.src_port, p.verification_tag, [HeartbeatAckChunk(chunk.info)])
        self.send(encode_packet(ack), dst, src)


class Periodic(Fake):
    """Sends a numbered HEARTBEAT every ``interval`` seconds, cycling over ``paths``."""

    def __init__(
        self, paths: list[tuple[Addr, Addr]], ports: tuple[int, int], interval: float, count: int
    ) -> None:
        super().__init__()
        self.paths, self.ports, self.interval, self.left = paths, ports, interval, count
        self.n = 0
        self.timer = 0.0

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        src, dst = self.paths[self.n % len(self.paths)]
        self.send(hb(*self.ports, self.n, pad=self.n % 7), src, dst)
        self.n += 1
        self.left -= 1
        self.timer = self.n * self.interval if self.left > 0 else None  # no drift


def two_hosts(net: Network, **link: object) -> tuple[Host, Host]:
    a = net.add_host("a", [A1, A2, A3, A6])
    b = net.add_host("b", [B1, B2, B3, B6])
    if link:
        net.link(ANY, ANY, **link)  # type: ignore[arg-type]
    return a, b


def stream(net: Network, n: int, interval: float, **link: object) -> tuple[Periodic, Fake]:
    """``n`` numbered packets a->b on A1->B1, one every ``interval``; returns (sender, sink)."""
    a, b = two_hosts(net, **link)
    sender = Periodic([((A1, 9899), (B1, 9899))], (1000, 2000), interval, n)
    sink = Fake()
    a.attach(1000, sender)
    b.attach(2000, sink)
    return sender, sink


# ------------------------------------------------------------------ delivery


def test_delivery_with_delay_both_ways() -> None:
    net = Network()
    a, b = two_hosts(net)
    net.link(A1, B1, delay=0.03)
    net.link(B1, A1, delay=0.07)
    client, server = Fake(), Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    client.send(hb(1000, 2000, 42), (A1, 9899), (B1, 9899))
    net.poke(client)
    assert net.trace[0].sent == 0.0 and net.trace[0].fate is Fate.IN_FLIGHT
    net.run(until=1.0)
    assert net.now == 1.0
    assert [(t, s, d) for t, _, s, d in server.received] == [(0.03, (A1, 9899), (B1, 9899))]
    ((t, data, src, dst),) = client.received
    assert t == pytest.approx(0.1) and src == (B1, 9899) and dst == (A1, 9899)
    assert counter(data) == 42
    assert [(r.sent, r.arrived, r.fate) for r in net.trace] == [
        (0.0, 0.03, Fate.DELIVERED),
        (0.03, pytest.approx(0.1), Fate.DELIVERED),
    ]


def test_default_link_is_10ms_mtu_1500() -> None:
    net = Network()
    assert net.link_props(A1, B1) == LinkProps(delay=0.01, mtu=1500)


def test_link_overlays_most_specific_wins() -> None:
    net = Network()
    net.link(ANY, ANY, delay=1.0, loss=0.5)
    net.link(A1, ANY, delay=2.0)
    net.link(ANY, B1, delay=3.0)
    net.link(A1, B1, jitter=0.1)
    assert net.link_props(A2, B2) == LinkProps(delay=1.0, loss=0.5)
    assert net.link_props(A1, B2).delay == 2.0
    assert net.link_props(A2, B1).delay == 3.0
    assert (net.link_props(A1, B1).delay, net.link_props(A1, B1).jitter) == (3.0, 0.1)
    assert net.link_props(B1, A1).jitter == 0.0  # directional
    with pytest.raises(ValueError):
        net.link(A1, B1, loss=1.5)
    with pytest.raises(TypeError):
        net.link(A1, B1, colour="red")  # type: ignore[call-arg]
    assert net.link_props(A1, B1).loss == 0.5  # a rejected change leaves the link alone


def test_jitter_is_bounded_and_used() -> None:
    net = Network(seed=3)
    _, sink = stream(net, 500, 0.002, delay=0.01, jitter=0.005)
    net.run(until=2.0)
    latencies = [r.arrived - r.sent for r in net.trace if r.arrived is not None]
    assert len(latencies) == 500
    assert all(0.01 - 1e-12 <= x <= 0.015 + 1e-12 for x in latencies)
    assert max(latencies) - min(latencies) > 0.004  # spread over the whole range
    order = [counter(d) for _, d, _, _ in sink.received]
    assert order != sorted(order)  # jitter above the spacing reorders


def test_loss_rate_near_configured() -> None:
    net = Network(seed=11)
    _, sink = stream(net, 10_000, 0.001, loss=0.2)
    net.run(until=20.0)
    lost = net.stats()[Fate.LOST]
    assert len(net.trace) == 10_000
    # binomial sd = sqrt(0.2*0.8/10000) = 0.004; allow 5 sd
    assert abs(lost / 10_000 - 0.2) < 0.02
    assert len(sink.received) == 10_000 - lost == net.stats()[Fate.DELIVERED]


def test_duplication() -> None:
    net = Network(seed=5)
    _, sink = stream(net, 5_000, 0.001, duplicate=0.1)
    net.run(until=10.0)
    copies = [r for r in net.trace if r.duplicate]
    assert abs(len(copies) / 5_000 - 0.1) < 0.025
    assert len(sink.received) == 5_000 + len(copies)
    originals = {r.data: r for r in net.trace if not r.duplicate}
    for c in copies:
        assert originals[c.data].sent == c.sent and c.fate is Fate.DELIVERED
    got = [counter(d) for _, d, _, _ in sink.received]
    assert sorted(set(got)) == list(range(5_000))
    assert len(net.packets(duplicates=False)) == 5_000


@pytest.mark.parametrize("reorder", [0.0, 0.1])
def test_reordering_reorders(reorder: float) -> None:
    net = Network(seed=8)
    _, sink = stream(net, 1_000, 0.01, reorder=reorder, reorder_delay=0.05)
    net.run(until=20.0)
    order = [counter(d) for _, d, _, _ in sink.received]
    assert sorted(order) == list(range(1_000))
    inversions = sum(1 for x, y in itertools.pairwise(order) if x > y)
    if reorder:
        assert 30 < inversions < 200  # ~100 held back, most overtaken
    else:
        assert inversions == 0


# ------------------------------------------------------- black holes, signals


def test_blackhole_mid_run_then_heal() -> None:
    net = Network()
    sender, sink = stream(net, 40, 0.1)  # sends at 0.0, 0.1, ... 3.9
    net.at(1.0, lambda: net.blackhole(B1))
    net.at(2.0, lambda: net.heal(B1))
    net.run(until=5.0)
    fates = {round(r.sent, 3): r.fate for r in net.trace}
    for t, fate in fates.items():
        expect = Fate.BLACKHOLED if 1.0 <= t < 2.0 else Fate.DELIVERED
        assert fate is expect, (t, fate)
    assert len(sink.received) == 30
    assert not sender.signals  # black holes are silent


def test_cut_and_heal_pair_and_hosts() -> None:
    net = Network()
    a, b = two_hosts(net)
    net.cut(A1, B1)
    assert net.link_props(A1, B1).blackhole and net.link_props(B1, A1).blackhole
    assert not net.link_props(A2, B2).blackhole
    net.heal(A1, B1)
    assert not net.link_props(A1, B1).blackhole
    net.cut(a, b)  # every address pair
    assert all(net.link_props(x, y).blackhole for x in a.addresses[:3] for y in b.addresses[:3])
    net.blackhole(A3)
    net.link(ANY, ANY, blackhole=True)
    net.heal()
    assert not any(net.link_props(x, y).blackhole for x in a.addresses for y in b.addresses)


def test_unreachable_link_signals_sender() -> None:
    net = Network()
    a, b = two_hosts(net)
    net.link(A1, B1, delay=0.04, unreachable=UnreachableKind.HOST)
    client, server = Fake(), Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    pkt = hb(1000, 2000, 1)
    client.send(pkt, (A1, 9899), (B1, 9899))
    client.send(pkt, (A2, 9899), (B2, 9899))  # another path works
    net.run(until=1.0)
    assert client.signals == [(0.04, (B1, 9899), UnreachableKind.HOST, pkt)]
    assert [r.fate for r in net.trace[:2]] == [Fate.UNREACHABLE, Fate.DELIVERED]
    assert (net.trace[0].signal, net.trace[0].signal_at) == (UnreachableKind.HOST, 0.04)
    assert len(server.received) == 1


def test_address_without_host_is_black_hole_unless_unreachable() -> None:
    net = Network()
    a, _ = two_hosts(net)
    client = Fake()
    a.attach(1000, client)
    client.send(hb(1000, 2000, 1), (A1, 9899), (NOWHERE, 9899))
    net.run(until=1.0)
    assert net.trace[0].fate is Fate.NO_HOST and net.trace[0].arrived == 0.01
    assert client.signals == []
    net.link(ANY, NOWHERE, unreachable=UnreachableKind.NET)
    client.send(hb(1000, 2000, 2), (A1, 9899), (NOWHERE, 9899))
    net.run(until=2.0)
    assert [(t, d, k) for t, d, k, _ in client.signals] == [
        (1.01, (NOWHERE, 9899), UnreachableKind.NET)
    ]


def test_port_unreachable_when_udp_port_differs() -> None:
    net = Network()
    a, b = two_hosts(net)
    net.link(A1, B1, delay=0.02)
    net.link(B1, A1, delay=0.05)
    client, server = Fake(), Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    pkt = hb(1000, 2000, 7)
    client.send(pkt, (A1, 9899), (B1, 9900))
    net.run(until=1.0)
    assert server.received == []
    ((t, dst, kind, quoted),) = client.signals
    assert (dst, kind, quoted) == ((B1, 9900), UnreachableKind.PORT, pkt)
    assert t == pytest.approx(0.07)  # there and back: 0.02 + 0.05
    assert net.trace[0].fate is Fate.PORT_UNREACHABLE and net.trace[0].arrived == 0.02
    net.link(B1, A1, blackhole=True)  # the answer cannot come back through a black hole
    client.send(pkt, (A1, 9899), (B1, 9900))
    net.run(until=2.0)
    assert len(client.signals) == 1 and net.trace[1].fate is Fate.PORT_UNREACHABLE


def test_mtu_drops_and_signals_frag_needed_with_truncated_quote() -> None:
    net = Network()
    a, b = two_hosts(net)
    net.link(A1, B1, mtu=1200)
    client, server = Fake(), Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    small = hb(1000, 2000, 1, pad=1200 - 28 - 24)  # exactly 1200 bytes with IPv4 + UDP
    big = hb(1000, 2000, 2, pad=1200 - 28 - 24 + 4)
    assert 28 + len(small) == 1200
    client.send(small, (A1, 9899), (B1, 9899))
    client.send(big, (A1, 9899), (B1, 9899))
    net.run(until=1.0)
    assert [r.fate for r in net.trace[:2]] == [Fate.DELIVERED, Fate.TOO_BIG]
    ((t, dst, kind, quoted),) = client.signals
    assert (t, dst, kind) == (0.01, (B1, 9899), UnreachableKind.FRAG_NEEDED)
    assert quoted == big[: 576 - 20 - 8 - 20 - 8]  # what fits a 576-byte ICMPv4 error


# ------------------------------------------------------------ hosts, demux


def test_demux_by_sctp_port_and_unclaimed() -> None:
    net = Network()
    a, b = two_hosts(net)
    client, d5000, d6000, catch_all = Fake(), Fake(), Fake(), Fake()
    a.attach(1000, client)
    b.attach(5000, d5000)
    b.attach(6000, d6000)
    seen: list[tuple[bytes, Addr, Addr, float]] = []
    b.on_unclaimed = lambda data, src, dst, now: seen.append((data, src, dst, now))
    for port in (5000, 6000, 7000, 6000):
        client.send(hb(1000, port, port), (A1, 9899), (B2, 9899))
    client.send(b"\x00\x01", (A1, 9899), (B2, 9899))  # too short for a port: unclaimed
    net.run(until=1.0)
    assert [counter(d) for _, d, _, _ in d5000.received] == [5000]
    assert [counter(d) for _, d, _, _ in d6000.received] == [6000, 6000]
    assert b.unclaimed == 2 and [s[0][:4] for s in seen] == [hb(1000, 7000, 0)[:4], b"\x00\x01"]
    assert net.stats()[Fate.NO_LISTENER] == 2
    b.attach(None, catch_all)
    assert b.detach(6000) is d6000
    client.send(hb(1000, 6000, 1), (A1, 9899), (B2, 9899))
    client.send(hb(1000, 5000, 2), (A1, 9899), (B2, 9899))
    net.run(until=2.0)
    assert [counter(d) for _, d, _, _ in catch_all.received] == [1]
    assert len(d5000.received) == 2
    with pytest.raises(SimulationError):
        b.attach(5000, Fake())
    with pytest.raises(SimulationError):
        a.attach(5000, d5000)  # a driver lives on one host


def test_raw_ip_mode_and_ipv6() -> None:
    net = Network()
    a, b = two_hosts(net)
    client, server = Fake(), Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    client.send(hb(1000, 2000, 1), (A1, 0), (B1, 0))
    client.send(hb(1000, 2000, 2), (A6, 9899), (B6, 9899))
    net.run(until=1.0)
    assert [(s, d) for _, _, s, d in client.received] == [
        ((B1, 0), (A1, 0)),
        ((B6, 9899), (A6, 9899)),
    ]


def test_source_address_rules() -> None:
    net = Network()
    a, b = two_hosts(net)
    client = Fake()
    a.attach(1000, client)
    b.attach(2000, Fake())
    client.send(hb(1000, 2000, 1), ("0.0.0.0", 9899), (B2, 9899))
    client.send(hb(1000, 2000, 2), ("::", 9899), ("fd00:0::2", 9899))
    net.run(until=1.0)
    assert [(r.src, r.dst) for r in net.trace] == [
        ((A1, 9899), (B2, 9899)),
        ((A6, 9899), (B6, 9899)),  # wildcard picked, destination normalised
    ]
    for src, dst in [
        ((B1, 9899), (B2, 9899)),  # not the host's address
        ((A1, 1234), (B2, 9899)),  # not the host's UDP port
        ((A1, 0), (B2, 9899)),  # raw on one side only
        ((A1, 9899), (B6, 9899)),  # families differ
    ]:
        client.send(hb(1000, 2000, 3), src, dst)
        with pytest.raises(SimulationError):
            net.poke(client)
        client.outbox.clear()


# --------------------------------------------------------------- timers, loop


def test_timers_fire_at_exact_times_and_can_move() -> None:
    net = Network()
    a, _ = two_hosts(net)
    d = Fake()
    d.timer = 1.5
    a.attach(1000, d)
    net.run(until=1.0)
    assert d.fired == []
    d.timer = 3.25  # later
    net.poke(d)
    net.run(until=3.0)
    assert d.fired == []
    net.run(until=4.0)
    assert d.fired == [3.25]
    d.timer = 9.0
    net.poke(d)
    net.at(5.0, lambda: setattr(d, "timer", 6.125))  # earlier, from a callback
    net.run(until=10.0)
    assert d.fired == [3.25, 6.125]
    d.timer = 11.0
    net.poke(d)
    d.timer = None  # cancelled
    net.poke(d)
    net.run(until=20.0)
    assert d.fired == [3.25, 6.125]
    d.timer = 5.0  # in the past: fires now
    net.run(until=21.0)
    assert d.fired == [3.25, 6.125, 20.0]


def test_timer_moved_on_receive() -> None:
    net = Network()
    a, b = two_hosts(net)

    class Restarting(Fake):
        def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
            super().receive(data, src, dst, now)
            self.timer = now + 1.0  # like T3-rtx restarted by an ack

    client, server = Fake(), Restarting()
    a.attach(1000, client)
    b.attach(2000, server)
    for t in (0.0, 0.5, 0.9):
        net.at(t, lambda: client.send(hb(1000, 2000, 0), (A1, 9899), (B1, 9899)))
    net.run(until=5.0)
    assert server.fired == [pytest.approx(1.91)]


def test_detach_cancels_timer_and_drops_later_signals() -> None:
    net = Network()
    a, _ = two_hosts(net)
    d = Fake()
    d.timer = 1.0
    a.attach(1000, d)
    d.send(hb(1000, 2000, 0), (A1, 9899), (NOWHERE, 9899))
    net.link(ANY, NOWHERE, unreachable=UnreachableKind.HOST, delay=0.5)
    net.poke(d)
    a.detach(1000)
    net.run(until=2.0)
    assert d.fired == [] and d.signals == []
    with pytest.raises(SimulationError):
        net.poke(d)


def test_at_callback_flushes_drivers_and_step() -> None:
    net = Network()
    a, b = two_hosts(net)
    client, server = Fake(), Fake()
    a.attach(1000, client)
    b.attach(2000, server)
    net.at(0.5, lambda: client.send(hb(1000, 2000, 0), (A1, 9899), (B1, 9899)))
    assert net.step()  # the callback
    assert net.now == 0.5 and net.trace[0].sent == 0.5
    assert net.step()  # the arrival
    assert net.now == 0.51 and len(server.received) == 1
    assert not net.step()
    with pytest.raises(ValueError):
        net.at(0.1, lambda: None)
    ev = net.after(1.0, lambda: client.send(hb(1000, 2000, 1), (A1, 9899), (B1, 9899)))
    net.cancel(ev)
    net.run()
    assert len(net.trace) == 1


def test_ties_in_time_keep_insertion_order() -> None:
    net = Network()
    a, b = two_hosts(net, delay=0.0)
    client, server = Fake(), Fake()
    a.attach(1000, client)
    b.attach(2000, server)
    calls: list[int] = []
    for i in range(5):
        net.at(1.0, functools.partial(calls.append, i))
    for i in range(20):
        client.send(hb(1000, 2000, i), (A1, 9899), (B1, 9899))
    net.run(until=2.0)
    assert calls == [0, 1, 2, 3, 4]
    assert [counter(d) for _, d, _, _ in server.received] == list(range(20))
    assert {t for t, _, _, _ in server.received} == {0.0}


def test_run_until() -> None:
    net = Network()
    _, sink = stream(net, 100, 0.1)
    assert net.run_until(lambda: len(sink.received) == 3, timeout=10.0)
    assert net.now == pytest.approx(0.21)
    assert not net.run_until(lambda: len(sink.received) > 1000, timeout=1.0)
    assert net.now == pytest.approx(1.21)


def test_max_events_guard_catches_livelock() -> None:
    net = Network()
    a, b = two_hosts(net, delay=0.0)

    class PingPong(Echo):
        def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
            Fake.receive(self, data, src, dst, now)
            p = decode_packet(data)
            self.send(encode_packet(Packet(p.dst_port, p.src_port, 0, p.chunks)), dst, src)

    left, right = PingPong(), PingPong()
    a.attach(1000, left)
    b.attach(2000, right)
    left.send(hb(1000, 2000, 0), (A1, 9899), (B1, 9899))
    with pytest.raises(EventLimitExceeded, match=r"10000 events .* virtual time 0\.000000"):
        net.run(until=1.0, max_events=10_000)
    assert net.now == 0.0


def test_max_events_guard_catches_stuck_timer() -> None:
    net = Network()
    a, _ = two_hosts(net)

    class Stuck(Fake):
        def handle_timer(self, now: float) -> None:
            self.fired.append(now)  # forgets to clear or advance its timer

    d = Stuck()
    d.timer = 0.5
    a.attach(1000, d)
    with pytest.raises(EventLimitExceeded, match="timer of Stuck on a"):
        net.run(until=1.0, max_events=1000)
    assert len(d.fired) == 1000 and set(d.fired) == {0.5}


def test_run_from_callback_is_refused() -> None:
    net = Network()
    net.at(1.0, lambda: net.run(until=2.0))
    with pytest.raises(SimulationError, match="already running"):
        net.run(until=3.0)


# ---------------------------------------------------------- determinism, trace


def lossy_scenario(seed: int) -> list[tuple[object, ...]]:
    net = Network(seed=seed)
    a, b = two_hosts(net, delay=0.02, jitter=0.01, loss=0.1, duplicate=0.05, reorder=0.05)
    paths = [((A1, 9899), (B1, 9899)), ((A2, 9899), (B2, 9899))]
    client = Periodic(paths, (1000, 2000), 0.05, 200)
    server = Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    net.run(until=15.0)
    return [(r.sent, r.arrived, r.fate, r.src, r.dst, r.data, r.duplicate) for r in net.trace]


def test_same_seed_same_trace_different_seed_differs() -> None:
    first = lossy_scenario(1)
    assert len(first) > 300
    assert lossy_scenario(1) == first
    assert lossy_scenario(2) != first


def test_rng_for_drivers_is_deterministic_and_separate() -> None:
    net = Network(seed=4)
    assert net.rng("x").random() == Network(seed=4).rng("x").random()
    assert net.rng("x").random() != net.rng("y").random()
    before = net.random.getstate()
    net.rng("x").random()
    assert net.random.getstate() == before


def test_packets_filters_and_garbage() -> None:
    net = Network()
    a, b = two_hosts(net)
    client, server = Fake(), Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    client.send(hb(1000, 2000, 1), (A1, 9899), (B1, 9899))
    net.at(1.0, lambda: client.send(hb(1000, 2000, 2), (A2, 9899), (B2, 9899)))
    net.at(2.0, lambda: client.send(b"\x07\xd0\x0b\xb8garbage", (A3, 9899), (B3, 9899)))
    net.run(until=3.0)
    assert [r.sent for r in net.packets(chunk=HeartbeatChunk)] == [0.0, 1.0]
    assert [r.sent for r in net.packets(chunk=5)] == [0.01, 1.01]  # HEARTBEAT ACK by number
    assert [r.sent for r in net.packets(dst=B2)] == [1.0]
    assert [r.sent for r in net.packets(dst=(B1, 9899), chunk=HeartbeatChunk)] == [0.0]
    assert len(net.packets(src=b)) == 2 and len(net.packets(dst=b)) == 3
    assert [r.sent for r in net.packets(since=0.5, until=1.5)] == [1.0, 1.01]
    assert [r.sent for r in net.packets(fate=Fate.DELIVERED, dst=[B1, B3])] == [0.0]
    garbage = net.trace[-1]
    assert garbage.packet is None and garbage.parse_error is not None
    assert garbage.chunks == [] and not garbage.checksum_ok and net.trace[0].checksum_ok
    assert "HEARTBEAT_ACK" in net.format_trace() and "<11 bytes: " in net.format_trace()


# --------------------------------------------------------------------- pcap


def read_pcap(path: Path) -> tuple[int, list[tuple[float, bytes]]]:
    """An independent minimal pcap reader: (linktype, [(timestamp, packet)])."""
    raw = path.read_bytes()
    magic, major, minor, _, _, _, linktype = struct.unpack_from("<IHHiIII", raw)
    assert (magic, major, minor) == (0xA1B2C3D4, 2, 4)
    out, off = [], 24
    while off < len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, off)
        assert incl == orig
        out.append((sec + usec / 1e6, raw[off + 16 : off + 16 + incl]))
        off += 16 + incl
    return linktype, out


def parse_ip(pkt: bytes) -> tuple[str, str, int, bytes, bytes]:
    """(src, dst, proto, pseudo-header prefix, payload), checking the IPv4 header checksum."""
    import ipaddress

    if pkt[0] >> 4 == 4:
        assert pkt[0] == 0x45 and struct.unpack_from("!H", pkt, 2)[0] == len(pkt)
        assert internet_checksum(pkt[:20]) == 0  # a correct header sums to all ones
        s, d, proto, payload = pkt[12:16], pkt[16:20], pkt[9], pkt[20:]
        pseudo = s + d + struct.pack("!BBH", 0, proto, len(payload))
    else:
        assert pkt[0] >> 4 == 6 and struct.unpack_from("!H", pkt, 4)[0] == len(pkt) - 40
        s, d, proto, payload = pkt[8:24], pkt[24:40], pkt[6], pkt[40:]
        pseudo = s + d + struct.pack("!I3xB", len(payload), proto)
    return str(ipaddress.ip_address(s)), str(ipaddress.ip_address(d)), proto, pseudo, payload


def pcap_scenario(tmp_path: Path) -> tuple[Network, Path]:
    net = Network(seed=2)
    a = net.add_host("a", [A1, A6], udp_port=40000)
    b = net.add_host("b", [B1, B6], udp_port=39899)
    net.link(ANY, ANY, delay=0.0123456)
    client, server = Fake(), Echo()
    a.attach(1000, client)
    b.attach(2000, server)
    client.send(hb(1000, 2000, 1), (A1, 40000), (B1, 39899))
    client.send(hb(1000, 2000, 2, pad=3), (A6, 40000), (B6, 39899))
    client.send(hb(1000, 2000, 3), (A1, 0), (B1, 0))
    client.send(hb(1000, 2000, 4), (A6, 0), (B6, 0))
    net.at(0.5, lambda: client.send(hb(1000, 2000, 5), (A1, 40000), (B1, 39899)))
    net.run(until=1.0)
    path = tmp_path / "trace.pcap"
    assert net.write_pcap(path) == 10
    return net, path


def test_pcap_written_and_parsed_back(tmp_path: Path) -> None:
    net, path = pcap_scenario(tmp_path)
    linktype, pkts = read_pcap(path)
    assert linktype == 101 and len(pkts) == len(net.trace) == 10
    for (ts, pkt), rec in zip(pkts, net.trace, strict=True):
        assert ts == pytest.approx(rec.sent, abs=1e-6)
        src, dst, proto, pseudo, payload = parse_ip(pkt)
        assert (src, dst) == (rec.src[0], rec.dst[0])
        if rec.src[1]:
            assert proto == 17
            sport, dport, length, _ = struct.unpack_from("!HHHH", payload)
            assert (sport, dport, length) == (rec.src[1], rec.dst[1], len(payload))
            assert internet_checksum(pseudo + payload) == 0  # correct UDP checksum
            payload = payload[8:]
        else:
            assert proto == 132
        assert payload == rec.data


def test_pcap_arrival_view_and_writer_alone(tmp_path: Path) -> None:
    net, _ = pcap_scenario(tmp_path)
    arrived = tmp_path / "arrived.pcap"
    assert net.write_pcap(arrived, at="arrived") == 10
    stamps = [t for t, _ in read_pcap(arrived)[1]]
    assert stamps == sorted(stamps) and stamps[0] == pytest.approx(0.0123456, abs=1e-6)
    # the writer on its own, on any binary file object
    import io

    buf = io.BytesIO()
    w = PcapWriter(buf)
    w.write_datagram(1.25, ("10.0.0.1", 5000), ("10.0.0.2", 6000), b"x" * 13)
    w.write_ip(2.0, ip_packet(("::1", 0), ("::2", 0), b"y" * 12))
    (tmp_path / "w.pcap").write_bytes(buf.getvalue())
    _, pkts = read_pcap(tmp_path / "w.pcap")
    assert [t for t, _ in pkts] == [1.25, 2.0] and [len(p) for _, p in pkts] == [41, 52]
    with pytest.raises(ValueError):
        ip_packet(("10.0.0.1", 1), ("::1", 1), b"")


def tshark(path: Path, *args: str) -> list[list[str]]:
    exe = shutil.which("tshark")
    assert exe, "tshark is required (make sysdeps / apt-get install tshark)"
    proc = subprocess.run(
        [exe, "-r", str(path), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return [line.split("\t") for line in proc.stdout.splitlines()]


def test_pcap_read_by_tshark(tmp_path: Path) -> None:
    net, path = pcap_scenario(tmp_path)
    fields = ["ip.checksum.status", "udp.checksum.status", "sctp.checksum.status"]
    rows = tshark(
        path,
        *("-d", "udp.port==39899,sctp"),
        *("-o", "sctp.checksum:crc-32c", "-o", "ip.check_checksum:TRUE"),
        *("-o", "udp.check_checksum:TRUE"),
        *("-Y", "sctp", "-T", "fields", "-e", "sctp.chunk_type", "-e", "sctp.port"),
        *[x for f in fields for x in ("-e", f)],
    )
    assert len(rows) == 10
    for rec, (ctype, ports, ip_ok, udp_ok, sctp_ok) in zip(net.trace, rows, strict=True):
        p = rec.packet
        assert p is not None
        assert (ctype, ports) == (str(p.chunks[0].type), f"{p.src_port},{p.dst_port}")
        assert ip_ok == ("" if ":" in rec.src[0] else "1")  # 1 = good; IPv6 has no checksum
        assert udp_ok == ("1" if rec.src[1] else "")
        assert sctp_ok == "1"
    # without the port hint (neither side uses 9899), only the raw-IP packets are SCTP
    assert len(tshark(path, "-Y", "sctp", "-T", "fields", "-e", "frame.number")) == 4


# -------------------------------------------------------------- performance


def test_sixty_second_scenario_runtime(capsys: pytest.CaptureFixture[str]) -> None:
    net = Network(seed=9)
    a, b = two_hosts(net, delay=0.015, jitter=0.002)
    paths_ab = [((x, 9899), (y, 9899)) for x, y in [(A1, B1), (A2, B2), (A3, B3)]]
    paths_ba = [(d, s) for s, d in paths_ab]

    class Heartbeater(Periodic, Echo):
        """Sends a HEARTBEAT every 100 ms over the 3 paths in turn and answers the peer's."""

        def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
            if decode_packet(data).chunks[0].type == HeartbeatChunk.type:
                Echo.receive(self, data, src, dst, now)
            else:
                Fake.receive(self, data, src, dst, now)

    left = Heartbeater(paths_ab, (1000, 2000), 0.1, 600)
    right = Heartbeater(paths_ba, (2000, 1000), 0.1, 600)
    a.attach(1000, left)
    b.attach(2000, right)
    start = time.perf_counter()
    events = net.run(until=60.0)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\n60 s simulated: {events} events, {len(net.trace)} datagrams, {elapsed:.3f} s real"
        )
    assert len(net.trace) == 2400 and net.stats()[Fate.DELIVERED] == 2400
    assert len(left.received) == len(right.received) == 1200
    assert elapsed < 5.0  # catches pathological slowness only, not a benchmark
