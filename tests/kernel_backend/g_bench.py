"""In the VM: bulk throughput and set-up latency of sctpx.socket on both backends, one run.

``python3 g_bench.py [--mb N] [--setups N]`` prints one JSON line per backend. The
userspace stack runs over UDP on the guest's loopback (UDP port 9901: the guest
kernel holds 9899); the kernel backend is Linux's SCTP on the same loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time

import sctpx

SIZE = 1200


def pair(backend: str, port: int, **kw: object) -> tuple[sctpx.socket, sctpx.socket]:
    srv = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, backend=backend, **kw)
    srv.bind(("127.0.0.2", port))
    srv.listen()
    cli = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, backend=backend, **kw)
    cli.bind(("127.0.0.1", 0))
    encaps(cli, backend)
    return srv, cli


def encaps(cli: sctpx.socket, backend: str) -> None:
    """The userspace stack's peer is itself, on UDP 9901 (9899 is the guest kernel's)."""
    if backend == "user":
        cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                       sctpx.UdpEncaps(port=9901))  # fmt: skip


def bulk(backend: str, port: int, total: int, **kw: object) -> float:
    srv, cli = pair(backend, port, **kw)
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_NODELAY, 1)  # both: no Nagle-like waiting
    cli.connectx([("127.0.0.2", port)])
    conn, _p = srv.accept()
    got = [0]

    def sink() -> None:
        while got[0] < total:
            data = conn.recv(65536)
            if not data:
                break
            got[0] += len(data)

    t = threading.Thread(target=sink)
    msg = os.urandom(SIZE)
    t0 = time.perf_counter()
    t.start()
    for _ in range(total // SIZE):
        cli.sctp_send(msg)
    t.join(120)
    secs = time.perf_counter() - t0
    for s in (cli, conn, srv):
        s.close()
    return got[0] / secs / 1e6


def setups(backend: str, port: int, n: int, **kw: object) -> float:
    srv = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, backend=backend, **kw)
    srv.bind(("127.0.0.2", port))
    srv.listen()
    times = []
    for _ in range(n):
        cli = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, backend=backend, **kw)
        cli.bind(("127.0.0.1", 0))
        encaps(cli, backend)
        if backend == "user":
            cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTPX_INIT_STAGGER, 0)
        t0 = time.perf_counter()
        cli.connectx([("127.0.0.2", port)])
        conn, _p = srv.accept()
        times.append(time.perf_counter() - t0)
        conn.close()
        cli.close()
    srv.close()
    return statistics.median(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=float, default=4.0)
    p.add_argument("--setups", type=int, default=10)
    a = p.parse_args()
    total = int(a.mb * 1e6) // SIZE * SIZE
    for backend, port in (("kernel", 7701), ("user", 7711)):
        kw: dict[str, object] = {}
        if backend == "user":
            kw["stack"] = sctpx.Stack(udp_port=9901)
        mbs = bulk(backend, port, total, **kw)
        ms = setups(backend, port + 1, a.setups, **kw)
        print(json.dumps({"backend": backend, "bulk_MBps": round(mbs, 3),
                          "setup_ms": round(ms, 2)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
