"""Head-of-line blocking: latency of small messages behind large ones, DATA vs I-DATA.

Two sans-IO Endpoints joined by a simulated link of a set bandwidth and one-way delay
(each direction a drop-tail FIFO of ``--queue`` packets: a datagram waits for the ones
before it to be serialised, then flies for the delay), in virtual time. Stream 0 always
has 1 MB messages queued; every 10 ms the sender puts a 100-byte message on stream 1.
The figure is the delay of those small messages, from ``send`` to their delivery (median
and 99th percentile, ms), for DATA (RFC 9260) and I-DATA (RFC 8260) under the FCFS,
round-robin and WFQ schedulers.

Without I-DATA a message's fragments take consecutive TSNs (§6.9), so a small message
waits for the 1 MB ahead of it whatever the scheduler; with I-DATA and a scheduler that
switches streams it goes within a packet or two. FCFS keeps the user's order either way.

Run: ``python bench/hol.py [--mbit 10] [--delay-ms 10] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics

from sctpx.core import Config, Endpoint
from sctpx.core.events import DataReceived

A, B = "198.18.1.1", "198.18.1.2"
BIG = 1 << 20


def run(interleaving: bool, scheduler: str, mbit: float, delay: float, seconds: float,
        queue: int) -> list[float]:  # fmt: skip
    """Delays (s) of the small messages of one run."""
    cfg = Config(num_ostreams=2, max_instreams=2, nodelay=True, interleaving=interleaving,
                 stream_scheduler=scheduler, a_rwnd=1 << 20)  # fmt: skip
    a = Endpoint(40000, [A], rng=random.Random(2), config=cfg)
    b = Endpoint(5000, [B], rng=random.Random(3), config=cfg)
    b.listen()
    peers = {A: a, B: b}
    bps = mbit * 1e6
    free = {A: 0.0, B: 0.0}  # when each direction's link is next idle
    waiting: dict[str, list[float]] = {A: [], B: []}  # departure times still ahead
    flying: list[tuple[float, int, bytes, tuple[str, int], tuple[str, int]]] = []
    seq = 0
    now = 0.0
    aid = a.connectx([(B, 5000)], now)
    big = bytes(BIG)
    sent_at: dict[int, float] = {}
    delays: list[float] = []
    next_small = 0.5  # after set-up
    smalls = 0
    queued_big = done_big = 0

    def pump(t: float) -> None:
        nonlocal seq
        for ep in (a, b):
            for data, src, dst in ep.datagrams_to_send(t):
                w = waiting[src[0]]
                while w and w[0] <= t:
                    heapq.heappop(w)
                if len(w) >= queue:
                    continue  # the bottleneck's buffer is full: dropped
                start = max(t, free[src[0]])
                free[src[0]] = start + (len(data) + 48) * 8 / bps  # + IP, UDP, link framing
                heapq.heappush(w, free[src[0]])
                seq += 1
                heapq.heappush(flying, (free[src[0]] + delay, seq, data, src, dst))

    pump(now)
    while now < seconds:
        if now >= 0.5:
            while queued_big < done_big + 2:  # stream 0 never idle
                a.send(aid, big, now, stream=0)
                queued_big += 1
            while next_small <= now:
                sent_at[smalls] = now
                a.send(aid, smalls.to_bytes(4, "big") + bytes(96), now, stream=1)
                smalls += 1
                next_small += 0.01
        pump(now)
        while (ev := b.next_event()) is not None:
            if isinstance(ev, DataReceived) and ev.stream_id == 1:
                delays.append(now - sent_at[int.from_bytes(ev.data[:4], "big")])
            elif isinstance(ev, DataReceived) and ev.complete:
                done_big += 1
        while a.next_event() is not None:
            pass
        pump(now)
        times = [t for t in (a.get_timer(), b.get_timer()) if t is not None]
        if flying:
            times.append(flying[0][0])
        times.append(max(next_small, now))
        nxt = min(times) if times else seconds
        now = max(now, nxt)
        while flying and flying[0][0] <= now:
            _, _, data, src, dst = heapq.heappop(flying)
            peers[dst[0]].receive(data, src, dst, now)
        a.handle_timer(now)
        b.handle_timer(now)
    return delays


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mbit", type=float, default=10.0, help="link bandwidth, Mbit/s")
    p.add_argument("--delay-ms", type=float, default=10.0, help="one-way delay, ms")
    p.add_argument("--seconds", type=float, default=10.0, help="virtual seconds per case")
    p.add_argument("--queue", type=int, default=50, help="bottleneck buffer, packets")
    args = p.parse_args()
    cases = [("DATA", False, "fcfs"), ("DATA", False, "rr"), ("I-DATA", True, "fcfs"),
             ("I-DATA", True, "rr"), ("I-DATA", True, "wfq")]  # fmt: skip
    print(f"{args.mbit:g} Mbit/s, {args.delay_ms:g} ms one way, {args.queue} packets of "
          f"buffer; stream 0: 1 MB messages, stream 1: 100 B every 10 ms")  # fmt: skip
    print(f"{'chunks':8} {'scheduler':10} {'small msgs':>10} {'median ms':>10} {'p99 ms':>10}")
    for name, il, sched in cases:
        d = run(il, sched, args.mbit, args.delay_ms / 1000, args.seconds, args.queue)
        if not d:
            print(f"{name:8} {sched:10} {0:10d} {'-':>10} {'-':>10}")
            continue
        d.sort()
        p99 = d[min(len(d) - 1, int(len(d) * 0.99))]
        print(f"{name:8} {sched:10} {len(d):10d} {statistics.median(d) * 1000:10.1f} "
              f"{p99 * 1000:10.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
