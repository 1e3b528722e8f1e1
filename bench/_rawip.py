"""compare.py's raw IP rows: bulk and set-up over SCTP directly over IP beside UDP, one run.

Both transports are measured the same way in the same repetition: the receiver
(or server) on 127.0.0.2, the sender (or client) on 127.0.0.1, so that over raw
IP each process's socket gets only the packets sent to its own address. The
transport reaches the workers as ``$SCTPX_TRANSPORT``. Needs root (raw sockets).
"""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Iterator
from typing import Any

from _procs import killing, worker

SERVER_IP = "127.0.0.2"


@contextlib.contextmanager
def transport(name: str) -> Iterator[None]:
    old = os.environ.get("SCTPX_TRANSPORT")
    os.environ["SCTPX_TRANSPORT"] = name  # the workers inherit it
    try:
        yield
    finally:
        if old is None:
            del os.environ["SCTPX_TRANSPORT"]
        else:
            os.environ["SCTPX_TRANSPORT"] = old


def bulk(name: str, size: int, seconds: float) -> float:
    """Mbit/s of one sctpx.aio association over ``name`` (``udp`` or ``ip``)."""
    with transport(name):
        recv = worker("sctpx-recv", "--ip", SERVER_IP, "--timeout", str(seconds + 60))
        with killing(recv):
            port = recv.read_json(20)["udp_port"]
            send = worker("sctpx-send", "--ip", SERVER_IP, "--server-udp", str(port),
                          "--size", str(size), "--seconds", str(seconds))  # fmt: skip
            with killing(send):
                res: dict[str, Any] = recv.read_json(seconds + 60)
                snd: dict[str, Any] = send.read_json(30)
    if res["messages"] != snd["sent"]:
        raise RuntimeError(f"{name}: {snd['sent']} messages sent, {res['messages']} received")
    return float(res["bytes"] * 8 / res["seconds"] / 1e6)


def setups(name: str, reps: int) -> list[float]:
    """Milliseconds from connectx to established (API), 50 sequential set-ups per run."""
    with transport(name):
        srv = worker("setup-server", "--ip", SERVER_IP, stdin=True)
        with killing(srv):
            port = srv.read_json(20)["udp_port"]
            cli = worker("setup-client", "--server-udp", str(port), "--ip", SERVER_IP,
                         "--rounds", str(reps), "--count", "50")  # fmt: skip
            with killing(cli):
                rounds = cli.read_json(120)["rounds"]
            srv.close_stdin()
            srv.wait(5)
    return [float(x) * 1000 for r in rounds for x in r["latencies"]]


def section(table: Any, reps: int, seconds: float, progress: Any) -> None:
    case_bulk = "raw IP: bulk 1200 B, Mbit/s"
    case_setup = "raw IP: set-up latency (API)"
    if os.geteuid() != 0:
        table.add(case_bulk, "sctpx (aio), IP", [], "Mbit/s", "needs root (raw sockets)")
        return
    got: dict[str, list[float]] = {"udp": [], "ip": []}
    for rep in range(reps):
        for name in ("udp", "ip"):
            progress(f"raw IP rows: bulk over {name}, run {rep + 1}/{reps}")
            try:
                got[name].append(bulk(name, 1200, seconds))
            except Exception as exc:
                table.errors.append(f"raw IP bulk over {name}: {exc}")
    table.add(case_bulk, "sctpx (aio), UDP", got["udp"], "Mbit/s", f"to {SERVER_IP}")
    table.add(case_bulk, "sctpx (aio), IP", got["ip"], "Mbit/s", "protocol 132, raw sockets")
    pairs = zip(got["ip"], got["udp"], strict=False)
    table.ratio(case_bulk, "IP / UDP", [a / b for a, b in pairs], "per run")
    lat: dict[str, list[float]] = {}
    for name in ("udp", "ip"):
        progress(f"raw IP rows: set-up over {name}")
        try:
            lat[name] = setups(name, reps)
        except Exception as exc:
            table.errors.append(f"raw IP set-up over {name}: {exc}")
            lat[name] = []
    table.add(case_setup, "sctpx (aio), UDP", lat["udp"], "ms", "connectx -> established")
    table.add(case_setup, "sctpx (aio), IP", lat["ip"], "ms", "connectx -> established")
    if lat["udp"] and lat["ip"]:
        ratio = [statistics.median(lat["ip"]) / statistics.median(lat["udp"])]
        table.ratio(case_setup, "IP / UDP", ratio, "medians")
