"""In-memory transfer through two sans-IO Endpoints: messages/s and Mbit/s.

No sockets and no simulator: datagrams go straight from one endpoint's
``datagrams_to_send`` to the other's ``receive``, with optional random loss,
and a virtual clock that jumps to the next timer when nothing moves. What it
measures is the cost of the protocol engine itself (codec, sender, receiver,
SACK processing), the ceiling for everything built on it.

Figures are per CPU second of this process (``time.process_time``), best of
``--reps`` runs, the cases interleaved; wall-clock rates are printed beside them.
On a loaded VM the wall clock of a half-second run dips by up to a third while
the CPU time does not move (issue 14: "1 stream 26k msgs/s, 4 streams 44-49k" was
such a dip; the two cases make the same calls, 2,052,912 vs 2,052,754 Python
function calls for 20,000 messages under cProfile).

Run: ``python bench/core_transfer.py [--reps N]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from sctpx.core import Config, Endpoint
from sctpx.core.events import DataReceived

A, B = "198.18.1.1", "198.18.1.2"


def run(
    messages: int, size: int, streams: int, unordered: bool, loss: float
) -> tuple[float, float, float]:
    """msgs/s and Mbit/s per CPU second of this process, and msgs/s by the wall clock."""
    rng = random.Random(1)
    cfg = Config(num_ostreams=streams, max_instreams=streams, nodelay=True)
    a = Endpoint(40000, [A], rng=random.Random(2), config=cfg)
    b = Endpoint(5000, [B], rng=random.Random(3), config=cfg)
    b.listen()
    now = 0.0
    aid = a.connectx([(B, 5000)], now)
    peers = {A: a, B: b}
    got = 0
    sent = 0
    payload = b"x" * size
    t0 = time.perf_counter()
    c0 = time.process_time()
    while got < messages:
        while sent < messages and sent - got < 2000:  # keep a window's worth queued
            try:
                a.send(aid, payload, now, stream=sent % streams, unordered=unordered)
            except OSError:
                break
            sent += 1
        moved = False
        for ep in (a, b):
            for data, src, dst in ep.datagrams_to_send(now):
                moved = True
                if loss and rng.random() < loss:
                    continue
                peers[dst[0]].receive(data, src, dst, now)
        while (ev := b.next_event()) is not None:
            if isinstance(ev, DataReceived):
                got += 1
        while a.next_event() is not None:
            pass
        if not moved:
            timers = [t for t in (a.get_timer(), b.get_timer()) if t is not None]
            if not timers:
                break
            now = max(now, min(timers))
            a.handle_timer(now)
            b.handle_timer(now)
    cpu = time.process_time() - c0
    spent = time.perf_counter() - t0
    return messages / cpu, messages * size * 8 / cpu / 1e6, messages / spent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3, help="runs of every case, interleaved")
    args = p.parse_args()
    cases = [
        ("1200 B, 1 stream, ordered", 30000, 1200, 1, False, 0.0),
        ("1200 B, 4 streams, ordered", 30000, 1200, 4, False, 0.0),
        ("1200 B, 4 streams, unordered", 30000, 1200, 4, True, 0.0),
        ("1200 B, 1 stream, 1 % loss", 20000, 1200, 1, False, 0.01),
        ("8000 B, 1 stream, ordered", 10000, 8000, 1, False, 0.0),
    ]
    got: dict[str, list[tuple[float, float, float]]] = {c[0]: [] for c in cases}
    for _ in range(max(1, args.reps)):
        for name, n, size, streams, unordered, loss in cases:
            got[name].append(run(n, size, streams, unordered, loss))
    print(f"{'case':34} {'msgs/s':>10} {'Mbit/s':>8}   {'wall msgs/s (median)':>20}")
    for name, *_ in cases:
        best = max(got[name])
        wall = statistics.median(r[2] for r in got[name])
        print(f"{name:34} {best[0]:10.0f} {best[1]:8.1f}   {wall:20.0f}")
    print(f"(per CPU second, best of {max(1, args.reps)}; cases interleaved)")


if __name__ == "__main__":
    main()
