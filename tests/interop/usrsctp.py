"""usrsctp's example programs (Debian libusrsctp-examples) run inside a namespace.

Their output goes to a file, never to a pipe nobody drains: tsctp prints ~10 MB/s
of ``[S]...`` debug lines (this build has SCTP_DEBUG on). :class:`Program` reads the
file incrementally, drops the debug lines, and waits for patterns with a deadline.
Most programs are run under ``stdbuf -oL`` so their printf output appears line by
line (tsctp is not: its debug output would then cost a write per line).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from sctpx.testing import Host, TestNet

USRSCTP_DIR = Path(os.environ.get("USRSCTP_DIR", "/usr/lib/usrsctp"))
PROGRAMS = ("tsctp", "client", "echo_server", "discard_server")
# tsctp's server prints this when an association ends:
# msglen, messages, recv_calls, bytes, seconds, bytes_per_sec, notifications
TSCTP_RESULT = re.compile(
    r"^(\d+), (\d+), (\d+), (\d+), ([\d.]+), ([\d.]+), (\d+)$", re.MULTILINE
)  # fmt: skip
DEBUG_PREFIXES = (b"[S][", b"[P][")
# Debug messages do not always end their line: a program's own line can follow one on the
# same line ("[S][0.297] recv_function_udp: Received 1144 bytes.Msg of length 4000 ...").
# In a debug line, what starts with one of these is the program's output.
OUTPUT_MARKERS = (
    rb"Msg of length |Notification of length |handle_notification|Association change |"
    rb"Peer address|Local addresses|Sending of |Throughput was |Connection accepted|"
    rb"\d+, \d+, \d+, \d+, [\d.]+, [\d.]+, \d+$"
)


def missing_programs() -> list[str]:
    return [p for p in PROGRAMS if not os.access(USRSCTP_DIR / p, os.X_OK)]


RECONF_SRC = Path(__file__).with_name("usrsctp_reconf.c")
USRSCTP_HEADER = Path("/usr/include/usrsctp.h")  # Debian libusrsctp-dev


def build_reconf_peer(out_dir: Path) -> Path:
    """Compile our usrsctp peer (usrsctp_reconf.c) into ``out_dir``; the executable's path.

    Needs gcc and libusrsctp-dev (``make test`` installs both as root)."""
    exe = out_dir / "usrsctp_reconf"
    if exe.exists() and exe.stat().st_mtime >= RECONF_SRC.stat().st_mtime:
        return exe
    r = subprocess.run(["gcc", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
                        str(RECONF_SRC), "-lusrsctp", "-lpthread"],
                       capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    if r.returncode != 0:
        raise RuntimeError(f"building {RECONF_SRC.name} failed:\n{r.stdout}{r.stderr}")
    return exe


class Program:
    """One running usrsctp program with its output in ``log``."""

    def __init__(self, net: TestNet, host: Host, name: str, args: list[str], log: Path, *,
                 stdin: bool = False, line_buffered: bool = True,
                 markers: bytes = b"") -> None:  # fmt: skip
        """``markers``: more regex alternatives that start output lines (see OUTPUT_MARKERS)."""
        self.name = name
        self._markers = re.compile(OUTPUT_MARKERS + (b"|" + markers if markers else b""))
        self.log = log
        argv = [str(USRSCTP_DIR / name), *args]
        if line_buffered:
            argv = ["stdbuf", "-oL", "-eL", *argv]
        self._out: IO[bytes] = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc: subprocess.Popen[Any] = net.spawn(
            host, argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=self._out, stderr=subprocess.STDOUT)  # fmt: skip
        self._offset = 0
        self._tail = b""
        self._lines: list[str] = []

    def _read(self) -> None:
        with open(self.log, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        data = self._tail + data
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        for line in data[:cut].splitlines():
            if line.startswith(DEBUG_PREFIXES):
                m = self._markers.search(line)
                if m is None:
                    continue
                line = line[m.start() :]
            self._lines.append(line.decode(errors="replace"))

    def text(self) -> str:
        """Everything it printed so far except its debug messages."""
        self._read()
        return "\n".join(self._lines)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in its output; AssertionError after ``timeout``."""
        rx = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text())
            if m:
                return m
            if time.monotonic() > deadline or self.proc.poll() is not None:
                m = rx.search(self.text())
                if m:
                    return m
                state = "exited" if self.proc.poll() is not None else "still running"
                raise AssertionError(
                    f"{self.name} ({state}) printed no {rx.pattern!r} within {timeout} s; "
                    f"its output:\n{self.text()[-3000:]}"
                )
            time.sleep(0.05)

    def wait_count(self, pattern: str | re.Pattern[str], count: int, timeout: float) -> int:
        """Wait until ``pattern`` matched ``count`` times in its output (AssertionError if not)."""
        rx = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while (n := len(rx.findall(self.text()))) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"{self.name}: {n} of {count} matches of {rx.pattern!r} "
                                     f"after {timeout} s")  # fmt: skip
            time.sleep(0.05)
        return n

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_input(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()

    def wait(self, timeout: float) -> int:
        """Its exit code; AssertionError if it still runs after ``timeout``."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout} s; its output:\n"
                                 f"{self.text()[-3000:]}") from None  # fmt: skip

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        TestNet.stop(self.proc)
        self._out.close()
