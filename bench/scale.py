"""How sctpx scales with concurrent associations on one stack: compare.py's scaling rows.

Two processes, one stack each: a server (``sctpx.aio.start_server``) and a
client stack with ``N`` associations to it (1, 10, 100, 1,000), every one
sending 1200-byte messages under ``drain()`` at once. The receiver counts each
association's messages inside a common window (from 20 % to 80 % of the sending
time, when every association is up and sending) and gives:

- aggregate msgs/s of all associations, and the receiver's CPU µs per message;
- fairness: Jain's index over the per-association counts ((Σx)² / (N·Σx²), 1.0 when
  all are equal, 1/N when one takes everything) and the min / max share.

Idle memory: ``N`` associations set up and left idle, ``tracemalloc`` in both
processes: what the server stack holds per association (its one listening
endpoint) and what the client stack holds (sctpx.aio gives each client
association its own Endpoint).

Run: ``.venv/bin/python bench/scale.py [--counts 1,10,100,1000] [--seconds 4] [--reps 1]``;
compare.py runs it as its ``scale`` section.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _procs import killing, worker

COUNTS = (1, 10, 100, 1000)


def jain(xs: list[int]) -> float:
    s, q = sum(xs), sum(x * x for x in xs)
    return s * s / (len(xs) * q) if q else 0.0


def bulk(n: int, seconds: float, size: int = 1200) -> dict[str, float]:
    """``n`` associations sending at once: aggregate msgs/s, fairness, receiver CPU/msg."""
    timeout = seconds + 60 + n * 0.05
    recv = worker("scale-recv", "--count", str(n), "--seconds", str(seconds),
                  "--timeout", str(timeout))  # fmt: skip
    with killing(recv):
        port = recv.read_json(20)["udp_port"]
        send = worker("scale-send", "--server-udp", str(port), "--count", str(n),
                      "--size", str(size), "--seconds", str(seconds))  # fmt: skip
        with killing(send):
            res = recv.read_json(timeout)
            snd = send.read_json(timeout)
    per = [int(x) for x in res["per_assoc"]]
    if len(per) != n:
        raise RuntimeError(f"{n} associations: {len(per)} delivered in the window")
    total = sum(per)
    window = float(res["window"])
    return {
        "mps": total / window,
        "mbps": total * size * 8 / window / 1e6,
        "jain": jain(per),
        "min_share": min(per) * n / total if total else 0.0,  # 1.0: a fair share
        "max_share": max(per) * n / total if total else 0.0,
        "recv_cpu_us": float(res["cpu"]) / total * 1e6 if total else 0.0,
        "send_cpu": float(snd["cpu"]),
        "send_dropped": float(snd.get("stats", {}).get("send_dropped", 0)),
        "sent": float(snd.get("stats", {}).get("sent", 0)),
    }


def idle(n: int) -> dict[str, float]:
    """Bytes per idle association held by the server stack and by the client stack."""
    recv = worker("scale-recv", "--count", str(n), "--idle", "--timeout", "120")
    with killing(recv):
        port = recv.read_json(20)["udp_port"]
        send = worker("scale-send", "--server-udp", str(port), "--count", str(n), "--idle")
        with killing(send):
            srv = recv.read_json(120)
            cli = send.read_json(120)
    return {"server": float(srv["bytes_per_assoc"]), "client": float(cli["bytes_per_assoc"])}


def section(table: Any, reps: int, seconds: float, progress: Any,
            counts: tuple[int, ...] = COUNTS) -> None:  # fmt: skip
    got: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    for rep in range(reps):
        for n in counts:
            progress(f"scaling: {n} association(s) at once, run {rep + 1}/{reps}")
            try:
                got[n].append(bulk(n, seconds))
            except Exception as exc:
                table.errors.append(f"scaling, {n} associations: {exc}")
    case = "bulk 1200 B, N associations, one stack"
    for n in counts:
        table.add(case, f"sctpx (aio), N = {n:,}", [g["mps"] for g in got[n]], "msgs/s",
                  "aggregate, 2 processes")  # fmt: skip
    case = "fairness, N associations"
    for n in counts:
        if n == 1:
            continue
        vals = got[n]
        mins = statistics.median(g["min_share"] for g in vals) if vals else 0.0
        maxs = statistics.median(g["max_share"] for g in vals) if vals else 0.0
        table.add(case, f"Jain's index, N = {n:,}", [g["jain"] for g in vals], "",
                  f"min / max share {mins:.2f} / {maxs:.2f} of a fair share")  # fmt: skip
    case = "receiver CPU/msg, N associations"
    for n in counts:
        table.add(case, f"sctpx (aio), N = {n:,}", [g["recv_cpu_us"] for g in got[n]], "µs",
                  "server process only")  # fmt: skip
    n = max(counts)
    progress(f"scaling: idle memory, {n:,} associations")
    mem: list[dict[str, float]] = []
    for _ in range(reps):
        try:
            mem.append(idle(n))
        except Exception as exc:
            table.errors.append(f"idle memory, {n} associations: {exc}")
    case = "memory per idle association (stack)"
    table.add(case, "sctpx (aio), server stack", [m["server"] / 1024 for m in mem], "KiB",
              f"{n:,} associations, tracemalloc")  # fmt: skip
    table.add(case, "sctpx (aio), client stack", [m["client"] / 1024 for m in mem], "KiB",
              "one Endpoint per client association")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", default=",".join(map(str, COUNTS)))
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--reps", type=int, default=1)
    args = p.parse_args()
    import compare

    table = compare.Table()
    counts = tuple(int(x) for x in args.counts.split(","))
    section(table, args.reps, args.seconds, compare.progress, counts)
    print(table.render())
    for e in table.errors:
        print(f"error: {e}")


if __name__ == "__main__":
    main()
