"""``sctpx connect`` and ``sctpx listen`` as processes move 10 MB, byte for byte.

What goes into ``connect``'s stdin comes out of ``listen``'s stdout (and, in the
second test, the other way at the same time): the SHA-256 of both ends must agree.
The listener gets a free UDP port (``--udp-port 0``, read from its first stderr
line) and the client is told it with ``--remote-udp-port``. Every wait is bounded
and every process is ended in a ``finally``.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

SCTPX = [sys.executable, "-m", "sctpx"]
MB = 1 << 20
BUDGET = 30.0  # seconds for a whole test, start to finish


class Sink:
    """Reads a pipe to its end on a thread, hashing and counting what came through."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self._pipe = pipe
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while block := os.read(self._pipe.fileno(), 1 << 16):
            self.sha.update(block)
            self.size += len(block)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the pipe was still open after {timeout:.1f} s"


def end(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not go; reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def listener(*args: str, stdin: IO[bytes] | int) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A running plain ``sctpx listen ... --udp-port 0``; yields it and its UDP port."""
    proc = subprocess.Popen(
        [*SCTPX, "listen", *args, "--udp-port", "0"],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 15)
        assert ready, "the listener did not start"
        line = proc.stderr.readline().decode()
        found = re.search(r"listening on .* UDP port (\d+)", line)
        assert found, line
        yield proc, int(found.group(1))
    finally:
        end(proc)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


def payload(path: Path, size: int, seed: int) -> str:
    """Write ``size`` random bytes (incompressible, every byte value) to ``path``; their SHA-256."""
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_ten_megabytes_from_connect_stdin_to_listen_stdout(tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    digest = payload(src, 10 * MB, seed=10)
    t0 = time.monotonic()
    with listener("127.0.0.2", "127.0.0.3", "-p", "5010", stdin=subprocess.DEVNULL) as (srv, udp):
        assert srv.stdout is not None
        got = Sink(srv.stdout)
        args = ["127.0.0.2", "127.0.0.3", "-p", "5010", "--remote-udp-port", str(udp), "-q", "0.5"]
        with src.open("rb") as stdin:
            cli = subprocess.Popen(
                [*SCTPX, "connect", *args],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        try:
            out, err = cli.communicate(timeout=BUDGET - (time.monotonic() - t0))
        finally:
            end(cli)
        assert cli.returncode == 0, err.decode()
        assert out == b"" and err == b""  # the listener sent nothing; no warnings
        # connect ends with a graceful SHUTDOWN: the listener's association is over, so is it
        assert srv.wait(BUDGET - (time.monotonic() - t0)) == 0
        got.join(5)
        assert srv.stderr is not None
        assert srv.stderr.read() == b""
    took = time.monotonic() - t0
    assert got.size == 10 * MB
    assert got.sha.hexdigest() == digest
    assert took < BUDGET


def test_both_ways_at_once(tmp_path: Path) -> None:
    """10 MB up and 2 MB down on one association: the peer's stdin keeps connect around."""
    up, down = tmp_path / "up.bin", tmp_path / "down.bin"
    up_digest = payload(up, 10 * MB, seed=11)
    down_digest = payload(down, 2 * MB, seed=12)
    t0 = time.monotonic()
    listen_args = ["127.0.0.2", "-p", "5011", "--stream", "2", "--ppid", "7"]
    with down.open("rb") as down_in, listener(*listen_args, stdin=down_in) as (srv, udp):
        assert srv.stdout is not None
        at_listener = Sink(srv.stdout)
        args = ["127.0.0.2", "-p", "5011", "--remote-udp-port", str(udp), "--stream", "1"]
        with up.open("rb") as stdin:
            cli = subprocess.Popen(
                [*SCTPX, "connect", *args, "--ppid", "51", "-q", "1"],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        try:
            assert cli.stdout is not None and cli.stderr is not None
            at_client = Sink(cli.stdout)
            code = cli.wait(BUDGET - (time.monotonic() - t0))
            at_client.join(5)
            err = cli.stderr.read()
        finally:
            end(cli)
            for f in (cli.stdout, cli.stderr):
                if f is not None:
                    f.close()
        assert code == 0, err.decode()
        assert srv.wait(BUDGET - (time.monotonic() - t0)) == 0
        at_listener.join(5)
    assert (at_listener.size, at_listener.sha.hexdigest()) == (10 * MB, up_digest)
    assert (at_client.size, at_client.sha.hexdigest()) == (2 * MB, down_digest)
    assert time.monotonic() - t0 < BUDGET
