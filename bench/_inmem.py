"""The in-memory figures of bench/compare.py: no sockets, sans-IO Endpoints joined directly.

- :func:`setups`: one listening Endpoint, ``n`` client Endpoints (one address
  each), every handshake pumped to the end; seconds taken, and optionally the
  memory the server endpoint holds per established idle association
  (``tracemalloc``: the clients are dropped before the second snapshot).
- :func:`cpu_per_message`: CPU seconds per 1200-byte message, the sender's and
  the receiver's share measured apart (``time.process_time`` around each call).
- :func:`failover_stall`: the simulator (``sctpx.sim``) as
  tests/sim/test_transfer_rules.py uses it: two paths, 10 ms one way, the
  primary black-holed mid-transfer; the longest time the receiving application
  gets no new message, with SCTP-PF on (``pf_retrans`` 0) and off.
"""

from __future__ import annotations

import gc
import ipaddress
import itertools
import random
import time
import tracemalloc
from collections import deque

from sctpx.core import Config, Endpoint, State
from sctpx.core.events import DataReceived
from sctpx.sim import ANY, Network

SERVER_IP, SPORT = "198.18.0.1", 5000


def _client_ip(i: int) -> str:
    return str(ipaddress.IPv4Address("198.18.1.0") + i)  # 198.18.1.0 ... 198.19.x.x


def _pump(eps: dict[str, Endpoint], start: list[Endpoint], now: float) -> None:
    """Deliver datagrams between endpoints (by destination IP) until none is left."""
    work = deque(start)
    while work:
        ep = work.popleft()
        for data, src, dst in ep.datagrams_to_send(now):
            peer = eps[dst[0]]
            peer.receive(data, src, dst, now)
            work.append(peer)


def setups(n: int, measure_memory: bool, peer_streams: int = 10) -> dict[str, float]:
    """Set up ``n`` associations to one endpoint; seconds, and bytes per association.

    The clients ask for ``peer_streams`` outbound streams (sctpx's default is 10;
    WebRTC stacks such as aiortc ask for 65535).
    """
    gc.collect()
    if measure_memory:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    cfg = Config(hb_interval=30.0)
    ccfg = Config(hb_interval=30.0, num_ostreams=peer_streams)
    server = Endpoint(SPORT, [SERVER_IP], rng=random.Random(1), config=cfg)
    server.listen()
    eps: dict[str, Endpoint] = {SERVER_IP: server}
    clients = []
    rng = random.Random(2)
    for i in range(n):
        ip = _client_ip(i)
        c = Endpoint(40000, [ip], rng=random.Random(rng.getrandbits(32)), config=ccfg)
        eps[ip] = c
        clients.append(c)
    now = 0.0
    t0 = time.perf_counter()
    for c in clients:
        c.connectx([(SERVER_IP, SPORT)], now)
    _pump(eps, clients, now)
    seconds = time.perf_counter() - t0
    up = sum(1 for a in server.associations.values() if a.state is State.ESTABLISHED)
    if up != n:
        raise RuntimeError(f"only {up} of {n} associations were established")
    while server.next_event() is not None:  # idle: the COMM_UP events taken
        pass
    result = {"seconds": seconds, "per_second": n / seconds}
    if measure_memory:
        both = tracemalloc.get_traced_memory()[0] - base
        del c
        clients.clear()
        eps.clear()
        gc.collect()
        server_only = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        result["server_bytes_per_assoc"] = server_only / n
        result["both_bytes_per_assoc"] = both / n
    return result


def cpu_per_message(messages: int = 20000, size: int = 1200) -> dict[str, float]:
    """CPU µs per message for the sending and the receiving endpoint (in memory, no loss)."""
    gc.collect()  # garbage of an earlier test would be collected on our time
    cfg = Config(nodelay=True)
    a = Endpoint(40000, ["198.18.1.1"], rng=random.Random(2), config=cfg)
    b = Endpoint(5000, ["198.18.1.2"], rng=random.Random(3), config=cfg)
    b.listen()
    peers = {"198.18.1.1": a, "198.18.1.2": b}
    now = 0.0
    aid = a.connectx([("198.18.1.2", 5000)], now)
    _pump(peers, [a], now)
    payload = bytes(size)
    cpu = {a: 0.0, b: 0.0}
    clock = time.process_time
    got = sent = 0
    give_up = time.monotonic() + 120
    while got < messages:
        if time.monotonic() > give_up:
            raise RuntimeError(f"in-memory transfer stuck at {got} of {messages} messages")
        t = clock()
        while sent < messages and sent - got < 2000:
            try:
                a.send(aid, payload, now)
            except OSError:
                break
            sent += 1
        cpu[a] += clock() - t
        for ep in (a, b):
            t = clock()
            out = ep.datagrams_to_send(now)
            cpu[ep] += clock() - t
            peer = b if ep is a else a
            t = clock()
            for data, src, dst in out:
                peer.receive(data, src, dst, now)
            cpu[peer] += clock() - t
        t = clock()
        while (ev := b.next_event()) is not None:
            if isinstance(ev, DataReceived):
                got += 1
        cpu[b] += clock() - t
        t = clock()
        while a.next_event() is not None:
            pass
        cpu[a] += clock() - t
        if not out:
            timer = min(x for x in (a.get_timer(), b.get_timer(), now + 0.2) if x is not None)
            now = max(now, timer)
            a.handle_timer(now)
            b.handle_timer(now)
    return {"send_us": cpu[a] / messages * 1e6, "recv_us": cpu[b] / messages * 1e6}


def failover_stall(pf: bool, seed: int) -> float:
    """Longest gap (virtual seconds) in new deliveries after the primary path is cut."""
    p1, p2, c1, c2 = "198.18.1.2", "198.18.2.2", "198.18.1.1", "198.18.2.1"
    net = Network(seed=seed)
    net.link(ANY, ANY, delay=0.01)
    ch = net.add_host("client", [c1, c2])
    sh = net.add_host("server", [p1, p2])
    base = Config()
    cfg = base if pf else Config(pf_retrans=base.path_max_retrans)  # PF off: PF = failed
    client = Endpoint(40000, [c1, c2], rng=net.rng("client"), config=cfg)
    server = Endpoint(5000, [p1, p2], rng=net.rng("server"))
    server.listen()
    ch.attach(40000, client)
    sh.attach(5000, server)
    delivered: list[float] = []

    def drain() -> bool:
        while client.next_event() is not None:
            pass
        got = False
        while (ev := server.next_event()) is not None:
            if isinstance(ev, DataReceived):
                delivered.append(net.now)
                got = True
        if got:
            net.poke(server)  # a window update may be due
        return False

    aid = client.connectx([(p1, 5000), (p2, 5000)], net.now)
    net.poke(client)
    if not net.run_until(lambda: drain() or client.association(aid).state is State.ESTABLISHED, 5):
        raise RuntimeError("no association in the simulator")
    total, fed = 1000, 0
    payload = bytes(1200)

    def feed() -> None:  # 20 messages every 50 ms, as the test does
        nonlocal fed
        for _ in range(20):
            client.send(aid, payload, net.now)
        fed += 20
        net.poke(client)
        if fed < total:
            net.after(0.05, feed)

    net.at(net.now, feed)
    cut = net.now + 0.5
    net.at(cut, lambda: net.blackhole(p1))
    if not net.run_until(lambda: drain() or len(delivered) >= total, 600):
        raise RuntimeError(f"only {len(delivered)} of {total} messages delivered")
    before = [t for t in delivered if t <= cut]
    after = [t for t in delivered if t > cut]
    points = [before[-1] if before else cut, *after]
    return max(b - a for a, b in itertools.pairwise(points))
