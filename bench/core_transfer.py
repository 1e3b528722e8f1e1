"""In-memory transfer through two sans-IO Endpoints: messages/s and Mbit/s.

No sockets and no simulator: datagrams go straight from one endpoint's
``datagrams_to_send`` to the other's ``receive``, with optional random loss,
and a virtual clock that jumps to the next timer when nothing moves. What it
measures is the cost of the protocol engine itself (codec, sender, receiver,
SACK processing), the ceiling for everything built on it.

Run: ``python bench/core_transfer.py`` (or ``make bench``).
"""

from __future__ import annotations

import random
import time

from sctpx.core import Config, Endpoint
from sctpx.core.events import DataReceived

A, B = "198.18.1.1", "198.18.1.2"


def run(
    messages: int, size: int, streams: int, unordered: bool, loss: float
) -> tuple[float, float]:
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
    spent = time.perf_counter() - t0
    return messages / spent, messages * size * 8 / spent / 1e6


def main() -> None:
    print(f"{'case':34} {'msgs/s':>10} {'Mbit/s':>8}")
    cases = [
        ("1200 B, 1 stream, ordered", 30000, 1200, 1, False, 0.0),
        ("1200 B, 4 streams, ordered", 30000, 1200, 4, False, 0.0),
        ("1200 B, 4 streams, unordered", 30000, 1200, 4, True, 0.0),
        ("1200 B, 1 stream, 1 % loss", 20000, 1200, 1, False, 0.01),
        ("8000 B, 1 stream, ordered", 10000, 8000, 1, False, 0.0),
    ]
    for name, n, size, streams, unordered, loss in cases:
        mps, mbps = run(n, size, streams, unordered, loss)
        print(f"{name:34} {mps:10.0f} {mbps:8.1f}")


if __name__ == "__main__":
    main()
