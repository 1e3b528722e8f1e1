"""Child processes for bench/compare.py: bounded waits, always killed, JSON lines read back."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
WORKERS = BENCH / "_workers.py"


class Proc:
    """A child process whose stdout carries JSON lines (our workers)."""

    def __init__(self, argv: list[str], stdin: bool = False) -> None:
        self.argv = argv
        self.p = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: killed as one
        )
        self._buf = b""
        self.lines: list[str] = []

    def read_json(self, timeout: float) -> dict[str, Any]:
        """The next JSON line on stdout, waiting at most ``timeout`` seconds."""
        assert self.p.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError(f"{self.name}: no result within {timeout:g} s{self.tail()}")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(f"{self.name}: exited without a result{self.tail()}")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return " ".join(Path(a).name for a in self.argv[1:3])

    def tail(self) -> str:
        """The end of its stderr, if it has already exited (for error messages)."""
        if self.p.poll() is None or self.p.stderr is None:
            return ""
        err = self.p.stderr.read().decode(errors="replace").strip().splitlines()
        return (":\n    " + "\n    ".join(err[-8:])) if err else ""

    def close_stdin(self) -> None:
        if self.p.stdin is not None:
            with contextlib.suppress(OSError):
                self.p.stdin.close()

    def wait(self, timeout: float) -> int | None:
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self, grace: float = 0.0) -> None:
        """Kill it, after up to ``grace`` seconds for it to exit by itself."""
        if grace > 0:
            self.wait(grace)
        kill(self.p)


def kill(p: subprocess.Popen[Any]) -> None:
    """Kill a child we started (its process group), and reap it."""
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            p.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        p.wait(5)
    for f in (p.stdin, p.stdout, p.stderr):
        if f is not None:
            with contextlib.suppress(OSError):
                f.close()


def worker(role: str, *args: str, stdin: bool = False) -> Proc:
    return Proc([sys.executable, str(WORKERS), role, *args], stdin=stdin)


@contextlib.contextmanager
def killing(*procs: Proc | subprocess.Popen[Any], grace: float = 5.0) -> Iterator[None]:
    """Kill every process given when the block is left, however it is left.

    On a normal exit each gets ``grace`` seconds to end by itself first (a worker
    exits once it has printed its result; a profiled one writes its profile).
    """
    ok = False
    try:
        yield
        ok = True
    finally:
        for p in procs:
            if isinstance(p, Proc):
                p.kill(grace if ok else 0.0)
            else:
                kill(p)


def free_udp_ports(n: int, ip: str = "127.0.0.1") -> list[int]:
    """``n`` distinct UDP ports that are free right now (bound, noted, released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def spawn_quiet(
    argv: list[str], out: IO[bytes] | int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A program whose (debug) output goes to ``out``, in its own process group."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
