"""usrsctp's ``tsctp`` (Debian ``libusrsctp-examples``) as bench/compare.py drives it.

Facts it relies on (docs in /work/shared/testing-with-real-tools.md): this build
prints ~10 MB/s of debug lines, so its output goes to a file (the server's, which
holds the result line) or to /dev/null, never to an undrained pipe; client and
server on one host need crossed ``-E``/``-U`` UDP encapsulation ports; it binds
only configured addresses, so both ends use 127.0.0.1. The server prints
``msglen, messages, recv_calls, bytes, seconds, bytes_per_sec, notifications``
when an association ends and waits for the next one.

Debug off: tsctp switches usrsctp's debug output on by calling
``usrsctp_sysctl_set_sctp_debug_on()`` at start. :func:`nodebug_env` compiles
(gcc, into a temporary directory, once per run) a shared library whose only
function is a no-op of that name and gives the environment that puts it first
with ``LD_PRELOAD``: the same tsctp and libusrsctp, without the debug lines.
That is usrsctp's real speed, the baseline issue 14's targets are taken against.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _procs import free_udp_ports, kill, spawn_quiet

TSCTP = Path("/usr/lib/usrsctp/tsctp")
IP = "127.0.0.1"
RESULT = re.compile(rb"^(\d+), (\d+), (\d+), (\d+), ([\d.]+), ([\d.]+), (\d+)$", re.M)


def available() -> bool:
    return TSCTP.is_file() and os.access(TSCTP, os.X_OK)


NODEBUG_C = """\
/* sctpx bench: tsctp calls this at start to switch usrsctp's debug output on;
 * preloaded first, this no-op keeps it off. */
int usrsctp_sysctl_set_sctp_debug_on(unsigned int on) { (void)on; return 0; }
"""
_nodebug: list[str | None] = []  # [path of the built library, or None when it failed]


def nodebug_library() -> str | None:
    """Build the no-op ``usrsctp_sysctl_set_sctp_debug_on`` library once; its path or None."""
    if not _nodebug:
        path = None
        gcc = shutil.which("gcc") or shutil.which("cc")
        if gcc is not None:
            tmp = tempfile.mkdtemp(prefix="sctpx-bench-nodebug-")
            atexit.register(shutil.rmtree, tmp, True)
            src, lib = Path(tmp) / "nodebug.c", Path(tmp) / "libnodebug.so"
            src.write_text(NODEBUG_C)
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                r = subprocess.run(
                    [gcc, "-shared", "-fPIC", "-O2", "-o", str(lib), str(src)],
                    capture_output=True,
                    timeout=60,
                )
                if r.returncode == 0 and lib.is_file():
                    path = str(lib)
        _nodebug.append(path)
    return _nodebug[0]


def nodebug_env() -> dict[str, str] | None:
    """The environment for a tsctp with debug output off, or None (no C compiler)."""
    lib = nodebug_library()
    if lib is None:
        return None
    pre = os.environ.get("LD_PRELOAD")
    return {**os.environ, "LD_PRELOAD": f"{lib} {pre}" if pre else lib}


@dataclass
class Transfer:
    size: int
    messages: int
    bytes: int
    seconds: float
    cpu: float  # user + system seconds of both processes (debug printing included)


def wait_rusage(p: subprocess.Popen[bytes], timeout: float) -> float | None:
    """Reap ``p`` within ``timeout`` seconds; its CPU seconds, or None if it is still running."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return ru.ru_utime + ru.ru_stime
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def kill_rusage(p: subprocess.Popen[bytes]) -> float:
    """Kill ``p`` (a server that never ends by itself) and return its CPU seconds."""
    if p.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, 9)
        cpu = wait_rusage(p, 5)
        if cpu is not None:
            return cpu
    kill(p)
    return 0.0


def udp_bound(port: int) -> bool:
    """Whether some socket is bound to UDP ``port`` (read from /proc/net/udp)."""
    hexport = f"{port:04X}"
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            if line.split()[1].rsplit(":", 1)[1] == hexport:
                return True
    return False


def _wait_bound(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not udp_bound(port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"tsctp did not bind UDP port {port} within {timeout:g} s")
        time.sleep(0.02)


def _find_result(path: Path, timeout: float) -> re.Match[bytes]:
    """Scan the growing output file for the result line (bounded wait)."""
    deadline = time.monotonic() + timeout
    offset, tail = 0, b""
    with open(path, "rb") as f:
        while True:
            f.seek(offset)
            chunk = f.read()
            offset += len(chunk)
            buf = tail + chunk
            m = RESULT.search(buf)
            if m:
                return m
            tail = buf[buf.rfind(b"\n") + 1 :] if b"\n" in buf else buf
            if time.monotonic() > deadline:
                raise TimeoutError("tsctp server printed no result line")
            time.sleep(0.05)


def bulk(size: int, seconds: float, debug: bool = True) -> Transfer:
    """One tsctp client -> tsctp server transfer of ``size``-byte messages for ``seconds``.

    ``debug=False``: both processes with the debug output off (:func:`nodebug_env`).
    """
    env = None
    if not debug:
        env = nodebug_env()
        if env is None:
            raise RuntimeError("no C compiler for the debug-off library (apt install gcc)")
    es, ec = free_udp_ports(2)
    with tempfile.TemporaryDirectory(prefix="sctpx-bench-") as tmp:
        out = Path(tmp) / "server.out"
        with open(out, "wb") as sink:
            srv = spawn_quiet(
                [str(TSCTP), "-E", str(es), "-U", str(ec), "-L", IP, "-p", "5001"], sink, env
            )
        cli = None
        try:
            _wait_bound(es)
            cli = spawn_quiet(
                [
                    str(TSCTP),
                    "-E",
                    str(ec),
                    "-U",
                    str(es),
                    "-L",
                    IP,
                    "-p",
                    "5001",
                    "-l",
                    str(size),
                    "-T",
                    f"{seconds:g}",
                    IP,
                ],
                subprocess.DEVNULL,
                env,
            )
            cpu_cli = wait_rusage(cli, seconds + 20)
            if cpu_cli is None:
                raise TimeoutError("tsctp client did not finish")
            m = _find_result(out, 15)
            cpu_srv = kill_rusage(srv)
        finally:
            kill(srv)
            if cli is not None:
                kill(cli)
    return Transfer(
        size=int(m[1]),
        messages=int(m[2]),
        bytes=int(m[4]),
        seconds=float(m[5]),
        cpu=cpu_cli + cpu_srv,
    )


def handshake_runs(runs: int, es: int, ec: int, debug: bool = True) -> None:
    """``runs`` sequential tsctp clients sending one message each to one tsctp server.

    Only the wire shows their set-up time: run this inside a ``Sniffer({es, ec})``.
    ``debug=False``: server and clients with the debug output off.
    """
    env = None
    if not debug:
        env = nodebug_env()
        if env is None:
            raise RuntimeError("no C compiler for the debug-off library (apt install gcc)")
    srv = spawn_quiet(
        [str(TSCTP), "-E", str(es), "-U", str(ec), "-L", IP, "-p", "5001"],
        subprocess.DEVNULL,
        env,
    )
    try:
        _wait_bound(es)
        for _ in range(runs):
            cli = spawn_quiet(
                [
                    str(TSCTP),
                    "-E",
                    str(ec),
                    "-U",
                    str(es),
                    "-L",
                    IP,
                    "-p",
                    "5001",
                    "-n",
                    "1",
                    "-l",
                    "100",
                    IP,
                ],
                subprocess.DEVNULL,
                env,
            )
            try:
                if wait_rusage(cli, 15) is None:
                    raise TimeoutError("tsctp client (one message) did not finish")
            finally:
                kill(cli)
    finally:
        kill(srv)


def dead_address_inits(dead_ip: str, dead_udp: int, clients: int, wait: float) -> None:
    """Start ``clients`` tsctp clients at once towards a black-holed ``dead_ip``.

    Run inside a ``Sniffer`` on ``dead_udp``: their INIT retransmission times show
    when usrsctp would first try another address. Killed after ``wait`` seconds.
    """
    ports = free_udp_ports(clients)
    procs = []
    try:
        for ec in ports:
            procs.append(
                spawn_quiet(
                    [
                        str(TSCTP),
                        "-E",
                        str(ec),
                        "-U",
                        str(dead_udp),
                        "-L",
                        IP,
                        "-p",
                        "5001",
                        "-n",
                        "1",
                        "-l",
                        "100",
                        dead_ip,
                    ],
                    subprocess.DEVNULL,
                )
            )
        time.sleep(wait)
    finally:
        for p in procs:
            kill(p)
