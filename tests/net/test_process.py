"""Two processes: a server child (tests/net/peer_server.py) and a client here; 5 MB checked."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sctpx.core import AssocChangeState, Config, Endpoint
from sctpx.net import Stack

from .conftest import Events

SERVER = Path(__file__).with_name("peer_server.py")
TOTAL = 5 * 1024 * 1024


def read_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> list[str]:
    """The child's next stdout line starting with ``prefix`` (split), within ``timeout``."""
    out: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(prefix):
                out.extend(line.split())
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    assert out, f"the child printed no {prefix!r} line within {timeout} s"
    return out


def messages(total: int) -> list[bytes]:
    rng = random.Random(5)
    out, n = [], 0
    while n < total:
        size = min(rng.randint(1, 4000), total - n)
        out.append(rng.randbytes(size))
        n += size
    return out


def test_5_mb_to_a_server_in_another_process(make_stack: Callable[..., Stack]) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "127.0.0.2", "5000", str(TOTAL)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        udp_port = int(read_line(proc, "READY", 10)[1])
        client = make_stack()
        events = Events()
        ep = client.open_endpoint(0, ["127.0.0.1"], Config(remote_udp_port=udp_port), events)
        aid = client.call(lambda now: ep.connectx([("127.0.0.2", 5000)], now))
        events.assoc_change(AssocChangeState.COMM_UP)
        msgs = messages(TOTAL)
        expect = hashlib.sha256(b"".join(msgs)).hexdigest()
        t0 = time.monotonic()

        def send(ep: Endpoint, now: float) -> None:
            for m in msgs:
                ep.send(aid, m, now)

        client.call(lambda now: send(ep, now))
        (reply,) = events.data(1, timeout=20)
        elapsed = time.monotonic() - t0
        assert reply.data.decode() == expect
        done = read_line(proc, "DONE", 5)
        assert done[1:] == [expect, str(TOTAL)]
        print(f"\n5 MB in {len(msgs)} messages to another process: {elapsed:.2f} s")
    finally:
        proc.kill()
        proc.wait(5)
        if proc.stdin:
            proc.stdin.close()
        if proc.stdout:
            proc.stdout.close()
