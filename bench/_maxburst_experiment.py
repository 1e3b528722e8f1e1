"""Experiment behind docs/performance.md: how Max.Burst limits sctpx's bulk throughput.

``python bench/_maxburst_experiment.py [--size 1200] [--reps 3] [--seconds 3]``

The same transfer as compare.py's "sctpx (aio)" row, with the sender in one of
these variants (the receiver is always the unchanged worker):

- ``default``: sctpx as it is: RFC 9260 §6.1 D applied as a temporary cwnd of the
  flight *before* the SACKs handled since the last flush + Max.Burst x PMDCS
  (``Sender.burst_limit``; this experiment is what led to it);
- ``max_burst=16``: only ``Config(max_burst=16)``;
- ``rfc-cwnd``: the formula with the flight *after* the SACKs, which lets at most
  Max.Burst packets out per flush (what sctpx did before: docs/performance.md has
  the numbers of both).

``rfc-cwnd`` patches ``DataPath._send_data`` in the sender process only
(monkeypatching, for measurement: nothing in src/ changes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _procs import Proc, killing, worker

VARIANTS = ("default", "max_burst=16", "rfc-cwnd")


def patch(variant: str) -> int:
    """Apply a variant in this process; the max_burst to configure."""
    if variant == "default":
        return 4
    if variant == "max_burst=16":
        return 16
    from sctpx.core import datapath

    send_data = datapath.DataPath._send_data

    def limited(self: Any, p: Any, first: Any, now: float, retransmit: bool) -> None:
        t = self.sender.path_tx(p.ip)
        cc = t.cc
        saved = cc.cwnd
        limit = t.flight + 4 * cc.mtu
        if limit < saved:
            cc.cwnd = limit
        try:
            send_data(self, p, first, now, retransmit)
        finally:
            if cc.cwnd == limit:
                cc.cwnd = saved

    datapath.DataPath._send_data = limited  # type: ignore[method-assign]
    return 1000  # no per-flush packet count: the cwnd limit does it


async def send(variant: str, server_udp: int, size: int, seconds: float) -> None:
    import sctpx.aio
    from sctpx.core import Config

    cfg = Config(max_burst=patch(variant))
    assoc = await sctpx.aio.connectx(
        [("127.0.0.1", 5000)], udp_port=0, remote_udp_port=server_udp, timeout=5, config=cfg
    )
    payload = bytes(size)
    cpu0, t0 = time.process_time(), time.perf_counter()
    sent = 0
    while time.perf_counter() < t0 + seconds:
        for _ in range(16):
            assoc.send(payload)
            await assoc.drain()
        sent += 16
    cwnd = max(p.cwnd for p in assoc.paths())
    await assoc.close(timeout=30)
    print(json.dumps({"sent": sent, "cpu": time.process_time() - cpu0, "cwnd": cwnd}), flush=True)
    await sctpx.aio.close_stack(stack=assoc.stack)


def run(variant: str, size: int, seconds: float) -> str:
    recv = worker("sctpx-recv", "--timeout", str(seconds + 60))
    with killing(recv):
        port = recv.read_json(20)["udp_port"]
        me = os.path.abspath(__file__)
        argv = [sys.executable, me, "--send", variant, "--port", str(port), "--size", str(size)]
        snd = Proc([*argv, "--seconds", str(seconds)])
        with killing(snd):
            r = recv.read_json(seconds + 60)
            s = snd.read_json(30)
    ok = "" if r["messages"] == s["sent"] else f"  LOST {s['sent'] - r['messages']}"
    return (
        f"{r['bytes'] * 8 / r['seconds'] / 1e6:6.0f} Mbit/s  "
        f"CPU {(r['cpu'] + s['cpu']) / r['messages'] * 1e6:5.1f} µs/msg  "
        f"final cwnd {s['cwnd']:6d}{ok}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1200)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--send", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.send:
        asyncio.run(send(args.send, args.port, args.size, args.seconds))
        os._exit(0)
    print(f"{args.size}-byte messages, {args.seconds:g} s per run, sctpx.aio, two processes")
    for rep in range(args.reps):
        for v in VARIANTS:
            print(f"run {rep + 1}  {v:13} {run(v, args.size, args.seconds)}", flush=True)


if __name__ == "__main__":
    main()
