"""sctpx side by side with usrsctp and aiortc, on loopback: one table of figures and ratios.

Run: ``make bench`` or ``.venv/bin/python bench/compare.py`` (as root for every
row: the set-up rows sniff ``lo`` with an AF_PACKET socket and the black-hole rows
add an iptables rule; without root those rows say "n/a"). It installs what it
needs: ``libusrsctp-examples`` with apt (root only) and ``aiortc`` into this
Python's environment with pip. Every case runs ``--reps`` times (3), the stacks of
one case one after another within each repetition so that a busy machine hurts
them alike; the table gives min / median / max, ratios are taken per repetition.
Everything stays on 127.0.0.0/8. About three minutes.

What each row measures is in docs/performance.md; in short:

- bulk: one association, two processes (sender, receiver), SCTP over UDP, path
  MTU 1500, ``--seconds`` of sending; Mbit/s and messages/s of user data as the
  receiver counts them, and CPU µs per message of both processes together.
  sctpx.aio (the headline "sctpx"), sctpx's blocking sockets API (each also with
  the opt-in UDP GSO/GRO), usrsctp's ``tsctp`` client -> server as Debian ships it
  (debug output on) and with the debug output off (an LD_PRELOAD no-op of
  ``usrsctp_sysctl_set_sctp_debug_on`` built with gcc: usrsctp's real speed, the
  baseline of issue 14's targets), and aiortc's RTCSctpTransport with a negotiated
  data channel over a plain UDP stand-in for DTLS.
- set-up: sctpx.aio connectx -> established (API), sequential and 100 at once;
  INIT -> COOKIE ACK on the wire for sctpx and for usrsctp (tsctp with one message,
  stock and debug off).
- black-holed first address (iptables DROP on INPUT for UDP to 127.0.0.2): sctpx
  with the default stagger and with stagger 0; usrsctp's example programs have no
  connectx, so its row is the time of its first INIT retransmission, the earliest
  moment the FreeBSD stack (sctp_t1init_timer) moves an INIT to another address.
- raw IP: sctpx.aio bulk (1200 B) and set-up over SCTP directly over IP beside
  the same over UDP, in one run (root: raw sockets; bench/_rawip.py).
- scaling (bench/scale.py): 1, 10, 100 and 1,000 associations at once on one
  stack (aggregate msgs/s, Jain's fairness index, receiver CPU/msg) and the idle
  memory per association a stack holds (server and client side).
- failover stall (simulator), memory per association and 10,000 set-ups (in-memory
  core endpoints), 1 ordered stream vs 4 and CPU µs per 1200-byte message (in-memory
  core, per CPU second).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _inmem
import _netns
import _rawip
import _usrsctp
import core_transfer
import scale
from _procs import Proc, free_udp_ports, killing, worker
from _sniff import Sniffer

IS_ROOT = os.geteuid() == 0
SIZES = (1200, 8000)
STACKS = (
    "sctpx",
    "sctpx-uvloop",
    "sctpx-gso",
    "sctpx-sock",
    "sctpx-sock-gso",
    "usrsctp",
    "usrsctp-nodebug",
    "aiortc",
)
LABEL = {
    "sctpx": "sctpx (aio)",
    "sctpx-uvloop": "sctpx (aio, uvloop)",
    "sctpx-gso": "sctpx (aio, UDP GSO/GRO)",
    "sctpx-sock": "sctpx (sockets API)",
    "sctpx-sock-gso": "sctpx (sockets API, GSO/GRO)",
    "usrsctp": "usrsctp tsctp",
    "usrsctp-nodebug": "usrsctp tsctp (debug off)",
    "aiortc": "aiortc (UDP, no DTLS)",
}
DEAD_IP, LIVE_IP = "127.0.0.2", "127.0.0.3"

# ----------------------------------------------------------------------- the table


@dataclass
class Row:
    case: str
    who: str
    values: list[float]
    unit: str
    note: str = ""
    ratio: bool = False  # a ratio row: shown with "x"

    def cells(self) -> tuple[str, str, str]:
        if not self.values:
            return ("", "n/a", "")
        v = sorted(self.values)
        return (
            fmt(v[0], self.ratio),
            fmt(statistics.median(v), self.ratio),
            fmt(v[-1], self.ratio),
        )


def fmt(x: float, ratio: bool = False) -> str:
    if ratio:
        return f"{x:.2f}x"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


@dataclass
class Target:
    text: str
    measured: str
    ok: bool | None  # None: not measured
    issue: str = "14"  # the issue that set it


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, case: str, who: str, values: Sequence[float], unit: str, note: str = "") -> Row:
        row = Row(case, who, list(values), unit, note)
        self.rows.append(row)
        return row

    def ratio(self, case: str, who: str, values: Sequence[float], note: str = "") -> Row:
        row = Row(case, who, list(values), "", note, ratio=True)
        self.rows.append(row)
        return row

    def render(self) -> str:
        head = ("case", "stack", "min", "median", "max", "unit", "")
        lines = [head]
        last = None
        for r in self.rows:
            lo, med, hi = r.cells()
            case = r.case if r.case != last else ""
            last = r.case
            lines.append((case, r.who, lo, med, hi, r.unit, r.note))
        w = [max(len(line[i]) for line in lines) for i in range(6)]
        out = []
        for i, line in enumerate(lines):
            if i > 1 and line[0]:
                out.append("")
            out.append(
                f"{line[0]:<{w[0]}}  {line[1]:<{w[1]}}  {line[2]:>{w[2]}}  {line[3]:>{w[3]}}  "
                f"{line[4]:>{w[4]}}  {line[5]:<{w[5]}}  {line[6]}".rstrip()
            )
            if i == 0:
                out.append("-" * len(out[-1]))
        return "\n".join(out)


# ------------------------------------------------------------------- dependencies


def ensure_deps(install: bool) -> list[str]:
    """Install libusrsctp-examples (apt, root) and aiortc (pip) when missing; notes."""
    notes = []
    if not _usrsctp.available():
        if install and IS_ROOT and shutil.which("apt-get"):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            cmd = ["apt-get", "install", "-y", "-qq", "libusrsctp-examples"]
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                if subprocess.run(cmd, env=env, capture_output=True, timeout=300).returncode:
                    subprocess.run(
                        ["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300
                    )
                    subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        if not _usrsctp.available():
            notes.append(
                "usrsctp: /usr/lib/usrsctp/tsctp missing (apt install libusrsctp-examples)"
            )
    if _usrsctp.available() and _usrsctp.nodebug_library() is None:
        notes.append(
            "usrsctp (debug off): no C compiler to build the LD_PRELOAD no-op (apt install gcc)"
        )
    for pkg in ("aiortc", "uvloop"):
        if importlib.util.find_spec(pkg) is None:
            if install:
                with contextlib.suppress(subprocess.SubprocessError, OSError):
                    subprocess.run(
                        [sys.executable, "-m", "pip", "install", "-q", pkg],
                        capture_output=True,
                        timeout=600,
                    )
                importlib.invalidate_caches()
            if importlib.util.find_spec(pkg) is None:
                notes.append(f"{pkg}: not installed (pip install {pkg})")
    return notes


# --------------------------------------------------------------------------- bulk


@dataclass
class Bulk:
    mbps: float
    mps: float
    cpu_us: float  # both processes, per message


def run_worker_pair(kind: str, size: int, seconds: float) -> Bulk:
    recv = worker(f"{kind}-recv", "--timeout", str(seconds + 60))
    with killing(recv):
        port = recv.read_json(20)["udp_port"]
        send = worker(
            f"{kind}-send",
            "--server-udp",
            str(port),
            "--size",
            str(size),
            "--seconds",
            str(seconds),
        )
        with killing(send):
            res = recv.read_json(seconds + 60)
            snd = send.read_json(30)
    if res["messages"] != snd["sent"]:
        raise RuntimeError(f"{kind}: {snd['sent']} messages sent, {res['messages']} received")
    secs = res["seconds"]
    return Bulk(
        res["bytes"] * 8 / secs / 1e6,
        res["messages"] / secs,
        (res["cpu"] + snd["cpu"]) / res["messages"] * 1e6,
    )


def run_bulk(stack: str, size: int, seconds: float) -> Bulk:
    if stack in ("usrsctp", "usrsctp-nodebug"):
        t = _usrsctp.bulk(size, seconds, debug=stack == "usrsctp")
        return Bulk(t.bytes * 8 / t.seconds / 1e6, t.messages / t.seconds, t.cpu / t.messages * 1e6)
    kind = {
        "sctpx": "sctpx",
        "sctpx-uvloop": "sctpx",
        "sctpx-gso": "sctpx",
        "sctpx-sock": "sock",
        "sctpx-sock-gso": "sock",
        "aiortc": "aiortc",
    }
    os.environ["SCTPX_BENCH_UVLOOP"] = "1" if stack == "sctpx-uvloop" else "0"  # workers inherit
    os.environ["SCTPX_UDP_OFFLOAD"] = "1" if stack.endswith("-gso") else "0"  # net/udp.py
    try:
        return run_worker_pair(kind[stack], size, seconds)
    finally:
        del os.environ["SCTPX_BENCH_UVLOOP"]
        del os.environ["SCTPX_UDP_OFFLOAD"]


def bulk_section(table: Table, stacks: list[str], reps: int, seconds: float) -> None:
    got: dict[tuple[int, str], list[Bulk | None]] = {}
    for rep in range(reps):
        for size in SIZES:
            for stack in stacks:
                progress(f"bulk {size} B, {LABEL[stack]}, run {rep + 1}/{reps}")
                try:
                    b: Bulk | None = run_bulk(stack, size, seconds)
                except Exception as exc:  # one failed run: the row shows fewer samples
                    table.errors.append(f"bulk {size} B {stack}: {exc}")
                    b = None
                got.setdefault((size, stack), []).append(b)
    for size in SIZES:
        picks: list[tuple[str, str, Callable[[Bulk], float]]] = [
            ("Mbit/s", "Mbit/s", lambda b: b.mbps),
            ("msgs/s", "msgs/s", lambda b: b.mps),
            ("CPU/msg", "µs", lambda b: b.cpu_us),
        ]
        for what, unit, pick in picks:
            case = f"bulk {size} B, {what}"
            for stack in stacks:
                vals = [pick(b) for b in got[(size, stack)] if b is not None]
                note = ""
                if what == "CPU/msg":
                    note = "both processes" + (", debug output incl." if stack == "usrsctp" else "")
                elif stack == "usrsctp-nodebug" and what == "Mbit/s":
                    note = "LD_PRELOAD: no-op usrsctp_sysctl_set_sctp_debug_on"
                elif stack == "usrsctp" and what == "Mbit/s":
                    note = "as Debian ships it: debug output on"
                elif stack == "aiortc" and what == "Mbit/s":
                    note = "1160-byte chunks, one per packet"
                table.add(case, LABEL[stack], vals, unit, note)
            if what != "Mbit/s" or "sctpx" not in stacks:
                continue
            for mine, other, who in (
                ("sctpx", "usrsctp-nodebug", "sctpx / usrsctp (debug off)"),
                ("sctpx-sock", "usrsctp-nodebug", "sctpx sockets API / usrsctp (debug off)"),
                ("sctpx-gso", "usrsctp-nodebug", "sctpx GSO/GRO / usrsctp (debug off)"),
                ("sctpx-sock-gso", "usrsctp-nodebug", "sockets API GSO/GRO / usrsctp (d. off)"),
                ("sctpx", "usrsctp", "sctpx / usrsctp (stock)"),
                ("sctpx", "aiortc", "sctpx / aiortc"),
            ):
                if mine in stacks and other in stacks:
                    pairs = zip(got[(size, mine)], got[(size, other)], strict=True)
                    r = [a.mbps / b.mbps for a, b in pairs if a is not None and b is not None]
                    table.ratio(case, who, r, "per run")
    case = "bulk 1200 B, Mbit/s"
    r12u = _ratios(table, case, "sctpx / usrsctp (debug off)")
    r12s = _ratios(table, case, "sctpx sockets API / usrsctp (debug off)")
    r12a = _ratios(table, case, "sctpx / aiortc")
    table.targets += [
        _target("bulk 1200 B, sctpx.aio >= 1.5x usrsctp (debug off)", r12u, 1.5, True, "x"),
        _target("bulk 1200 B, sockets API >= 1.2x usrsctp (debug off)", r12s, 1.2, True, "x"),
        _target(
            "bulk 1200 B CPU/msg, sctpx.aio <= 23 µs (half of 46)",
            _ratios(table, "bulk 1200 B, CPU/msg", LABEL["sctpx"]),
            23.0,
            False,
            "µs",
        ),
        _target(
            "stretch: 1 Gbit/s of 1200 B messages, one association",
            _ratios(table, case, LABEL["sctpx"]),
            1000.0,
            True,
            "Mbit/s",
        ),
        _target(
            "  the same, opt-in UDP GSO/GRO (SCTPX_UDP_OFFLOAD=1)",
            _ratios(table, case, "sctpx GSO/GRO / usrsctp (debug off)"),
            1.5,
            True,
            "x",
        ),
        _target(
            "  CPU/msg, opt-in UDP GSO/GRO <= 23 µs",
            _ratios(table, "bulk 1200 B, CPU/msg", LABEL["sctpx-gso"]),
            23.0,
            False,
            "µs",
        ),
        _target("bulk 1200 B >= 1.0x usrsctp (debug off)", r12u, 1.0, True, "x", "8"),
        _target("bulk 1200 B >= 5x aiortc", r12a, 5.0, True, "x", "8"),
    ]


def _ratios(table: Table, case: str, who: str) -> list[float]:
    for r in table.rows:
        if r.case == case and r.who == who:
            return r.values
    return []


def _target(
    text: str, values: list[float], limit: float, higher: bool, unit: str, issue: str = "14"
) -> Target:
    """Met when the median is >= ``limit`` (``higher``), else <= it; a miss says by how much."""
    if not values:
        return Target(text, "not measured", None, issue)
    m = statistics.median(values)
    shown = f"{m:.2f}{unit}" if unit == "x" else f"{fmt(m)} {unit}"
    ok = m >= limit if higher else m <= limit
    if not ok:
        if higher:
            shown += f": {(1 - m / limit) * 100:.0f} % short, needs {limit / m:.2f}x"
        else:
            shown += f": {(m / limit - 1) * 100:.0f} % over"
    return Target(text, shown, ok, issue)


# ------------------------------------------------------------------------- set-up


@contextlib.contextmanager
def setup_server(ips: str) -> Iterator[tuple[Proc, int]]:
    srv = worker("setup-server", "--ip", ips, stdin=True)
    with killing(srv):
        port = srv.read_json(20)["udp_port"]
        yield srv, port
        srv.close_stdin()
        srv.wait(5)


@dataclass
class Round:
    elapsed: float  # seconds for the whole round
    latencies: list[float]  # seconds, connectx -> established, each set-up

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed


def setup_client(port: int, ips: str, timeout: float, *extra: str) -> list[Round]:
    cli = worker("setup-client", "--server-udp", str(port), "--ip", ips, *extra)
    with killing(cli):
        rounds = cli.read_json(timeout)["rounds"]
    return [Round(float(r["elapsed"]), [float(x) for x in r["latencies"]]) for r in rounds]


def setup_section(table: Table, reps: int, with_usrsctp: bool) -> None:
    progress("set-up: sctpx, sequential")
    wire_sctpx: list[float] = []
    with setup_server("127.0.0.1") as (_srv, port):
        sniff = Sniffer({port}) if IS_ROOT else contextlib.nullcontext()
        with sniff as s:
            seq = setup_client(port, "127.0.0.1", 120, "--rounds", str(reps), "--count", "50")
            time.sleep(0.1)
        if s is not None:
            wire_sctpx = s.handshakes()
        progress("set-up: sctpx, 100 in parallel")
        par = setup_client(port, "127.0.0.1", 120, "--rounds", str(reps), "--parallel", "100")
    lat = [x * 1000 for r in seq for x in r.latencies]
    table.add(
        "set-up latency (connectx -> established)",
        "sctpx (aio), API",
        lat,
        "ms",
        f"{len(lat)} set-ups, 2 processes",
    )
    table.add(
        "set-up latency (connectx -> established)",
        "sctpx, on the wire",
        [x * 1000 for x in wire_sctpx],
        "ms",
        "INIT -> COOKIE ACK" if IS_ROOT else "needs root (AF_PACKET)",
    )
    why = "INIT -> COOKIE ACK, a new tsctp client each"
    if not with_usrsctp:
        why = "tsctp missing"
    elif not IS_ROOT:
        why = "needs root (AF_PACKET): tsctp prints no set-up time"
    wire_usr: dict[bool, list[float]] = {}
    for debug in (True, False):
        wire_usr[debug] = []
        if with_usrsctp and IS_ROOT and (debug or _usrsctp.nodebug_library()):
            progress(f"set-up: usrsctp (tsctp, one message each, debug {'on' if debug else 'off'})")
            es, ec = free_udp_ports(2)
            with Sniffer({es, ec}) as s:
                _usrsctp.handshake_runs(10 * reps, es, ec, debug)  # 30 set-ups: a steadier median
                time.sleep(0.1)
            wire_usr[debug] = s.handshakes()
        table.add(
            "set-up latency (connectx -> established)",
            "usrsctp, on the wire" + ("" if debug else " (debug off)"),
            [x * 1000 for x in wire_usr[debug]],
            "ms",
            why,
        )
    ratios: dict[bool, list[float]] = {}
    for debug in (False, True):
        ratios[debug] = []
        if wire_sctpx and wire_usr[debug]:
            ratios[debug] = [statistics.median(wire_sctpx) / statistics.median(wire_usr[debug])]
        table.ratio(
            "set-up latency (connectx -> established)",
            "sctpx / usrsctp" + (" (stock)" if debug else " (debug off)"),
            ratios[debug],
            "wire medians",
        )
    table.targets.append(
        _target(
            "set-up latency <= 0.8x usrsctp's (debug off, wire)", ratios[False], 0.8, False, "x"
        )
    )
    table.targets.append(
        _target(
            "set-up latency <= usrsctp's (debug off, wire)", ratios[False], 1.0, False, "x", "8"
        )
    )
    table.add(
        "set-ups per second",
        "sctpx (aio), sequential",
        [r.rate for r in seq],
        "/s",
        "connectx + abort, 50 per run",
    )
    table.add(
        "set-ups per second",
        "sctpx (aio), 100 at once",
        [r.rate for r in par],
        "/s",
        "one client stack",
    )


@contextlib.contextmanager
def blackhole(ip: str, udp_port: int) -> Iterator[None]:
    """iptables: drop UDP to ``ip``:``udp_port`` on INPUT; removed however the block ends."""
    spec = [
        "INPUT",
        "-p",
        "udp",
        "-d",
        ip,
        "--dport",
        str(udp_port),
        "-m",
        "comment",
        "--comment",
        "sctpx-bench",
        "-j",
        "DROP",
    ]
    subprocess.run(
        ["iptables", "-w", "10", "-I", *spec], check=True, capture_output=True, timeout=30
    )
    try:
        yield
    finally:
        subprocess.run(["iptables", "-w", "10", "-D", *spec], capture_output=True, timeout=30)


def dead_address_section(table: Table, reps: int, with_usrsctp: bool) -> None:
    case = "set-up, first address black-holed"
    if not IS_ROOT or not shutil.which("iptables"):
        table.add(case, "sctpx", [], "s", "needs root and iptables")
        table.targets.append(
            Target("dead-first-address set-up <= 0.3 s", "not measured", None, "8")
        )
        return
    ips = f"{DEAD_IP},{LIVE_IP}"
    got: dict[str, list[float]] = {}
    with setup_server(ips) as (_srv, port), blackhole(DEAD_IP, port):
        for label, stagger, count in (("default", None, max(reps, 5)), ("0", "0", reps)):
            progress(f"set-up, dead first address, stagger {label}")
            extra = ["--rounds", "1", "--count", str(count), "--warmup", "0"]
            if stagger is not None:
                extra += ["--stagger", stagger]
            rounds = setup_client(port, ips, 60, *extra)
            got[label] = rounds[0].latencies
    table.add(
        case,
        "sctpx, stagger 0.25 s (default)",
        got["default"],
        "s",
        f"connectx([{DEAD_IP}, {LIVE_IP}])",
    )
    table.add(case, "sctpx, stagger 0 (RFC timing)", got["0"], "s", "RTO.Initial 1 s")
    gaps: list[float] = []
    if with_usrsctp:
        progress("usrsctp: INIT retransmission towards a black hole")
        (dead_udp,) = free_udp_ports(1)
        with Sniffer({dead_udp}) as s, blackhole(DEAD_IP, dead_udp):
            _usrsctp.dead_address_inits(DEAD_IP, dead_udp, reps, 4.0)
        gaps = s.init_retransmission_gaps()
    table.add(
        case,
        "usrsctp, first INIT retransmission",
        gaps,
        "s",
        ">= this: no connectx in its programs" if with_usrsctp else "tsctp missing",
    )
    if gaps:
        pairs = zip(sorted(got["default"]), sorted(gaps), strict=False)
        table.ratio(
            case, "sctpx default / usrsctp", [a / b for a, b in pairs], "usrsctp: a lower bound"
        )
    table.targets.append(
        _target(
            "dead-first-address set-up <= 0.3 s (default stagger)",
            got["default"],
            0.3,
            False,
            "s",
            "8",
        )
    )


# -------------------------------------------------------------------- in memory


def failover_section(table: Table, reps: int) -> None:
    """The failover stall on real sockets between two namespaces (root), see _netns.py."""
    from sctpx.testing import require_root_tools

    why = require_root_tools("iptables")
    vals: list[float] = []
    if why is None:
        for rep in range(reps):
            progress(f"failover stall (namespaces), run {rep + 1}/{reps}")
            try:
                vals.append(_netns.failover_stall())
            except Exception as exc:
                table.errors.append(f"failover stall (namespaces): {exc}")
    table.add(
        "failover stall, no new delivery",
        "sctpx, namespaces (SCTP-PF on)",
        vals,
        "s",
        why or "2 veth links, 100 msgs/s, link 1 black-holed",
    )


def inmem_section(table: Table, reps: int) -> None:
    progress("failover stall (simulator)")
    for pf in (True, False):
        vals = [_inmem.failover_stall(pf, seed) for seed in range(1, reps + 1)]
        who = "sctpx, SCTP-PF on (default)" if pf else "sctpx, SCTP-PF off"
        table.add(
            "failover stall, no new delivery (sim)",
            who,
            vals,
            "s",
            "2 paths, 10 ms, primary black-holed",
        )
    progress("memory per idle association (tracemalloc, 1000)")
    mem = [_inmem.setups(1000, measure_memory=True) for _ in range(reps)]
    server = [m["server_bytes_per_assoc"] / 1024 for m in mem]
    table.add(
        "memory per idle association",
        "sctpx core, one endpoint",
        server,
        "KiB",
        "1000 on one endpoint, tracemalloc",
    )
    table.add(
        "memory per idle association",
        "sctpx core, both ends",
        [m["both_bytes_per_assoc"] / 1024 for m in mem],
        "KiB",
        "incl. one client Endpoint each",
    )
    wide = [_inmem.setups(100, measure_memory=True, peer_streams=65535) for _ in range(reps)]
    table.add(
        "memory per idle association",
        "sctpx core, peer with 65535 streams",
        [m["server_bytes_per_assoc"] / 1024 for m in wide],
        "KiB",
        "100 on one endpoint; aiortc asks 65535",
    )
    progress("10,000 set-ups on one endpoint (in memory)")
    big = []
    for _ in range(reps):
        try:
            big.append(_inmem.setups(10000, measure_memory=False))
        except RuntimeError as exc:
            table.errors.append(f"10,000 set-ups: {exc}")
    table.add(
        "10,000 set-ups on one endpoint",
        "sctpx core, in memory",
        [b["seconds"] for b in big],
        "s",
        "handshakes only, no sockets",
    )
    table.add(
        "10,000 set-ups on one endpoint", "sctpx core, rate", [b["per_second"] for b in big], "/s"
    )
    ok = len(big) == reps and bool(server) and statistics.median(server) <= 10.0
    table.targets.append(
        Target(
            ">= 10,000 associations per process at <= 10 KiB each",
            (
                f"{10000 if big else 0:,} up; {statistics.median(server):.2f} KiB each"
                if server
                else "not measured"
            ),
            ok if server else None,
            "8",
        )
    )
    progress("in-memory transfer, 1 ordered stream vs 4")
    one: list[float] = []
    four: list[float] = []
    for _ in range(reps):  # interleaved, per CPU second: the wall clock dips on a busy VM
        one.append(core_transfer.run(20000, 1200, 1, False, 0.0)[0])
        four.append(core_transfer.run(20000, 1200, 4, False, 0.0)[0])
    case = "in-memory transfer, 1200 B"
    table.add(
        case, "sctpx core, 1 stream, ordered", one, "msgs/s", "per CPU second, core_transfer.py"
    )
    table.add(case, "sctpx core, 4 streams, ordered", four, "msgs/s")
    r = [a / b for a, b in zip(one, four, strict=True)]
    table.ratio(case, "1 stream / 4 streams", r, "per run")
    table.targets.append(_target("in memory: 1 ordered stream >= 4 streams", r, 1.0, True, "x"))
    progress("CPU per 1200-byte message (in memory)")
    cpu = [_inmem.cpu_per_message() for _ in range(reps)]
    table.add(
        "CPU per 1200-byte message",
        "sctpx core, sending",
        [c["send_us"] for c in cpu],
        "µs",
        "in memory, no syscalls",
    )
    table.add(
        "CPU per 1200-byte message", "sctpx core, receiving", [c["recv_us"] for c in cpu], "µs"
    )
    table.add(
        "CPU per 1200-byte message",
        "sctpx core, both",
        [c["send_us"] + c["recv_us"] for c in cpu],
        "µs",
    )


# --------------------------------------------------------------------------- main


def progress(msg: str) -> None:
    sys.stderr.write(f"  ... {msg}\n")
    sys.stderr.flush()


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3, help="repetitions of every case (>= 3)")
    p.add_argument("--seconds", type=float, default=3.0, help="sending time of each bulk run")
    p.add_argument("--no-install", action="store_true", help="do not apt/pip install anything")
    p.add_argument(
        "--only",
        choices=("bulk", "setup", "dead", "failover", "inmem", "rawip", "scale"),
        action="append",
        help="run only these sections (repeatable)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    if args.reps < 1 or args.seconds <= 0:
        p.error("--reps must be >= 1 and --seconds > 0")
    # SIGTERM unwinds like Ctrl-C, so the finally blocks kill children and drop iptables rules
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sections = set(args.only or ("bulk", "setup", "dead", "failover", "inmem", "rawip", "scale"))
    t0 = time.monotonic()
    notes = ensure_deps(not args.no_install)
    have_usr = _usrsctp.available()
    have_aiortc = importlib.util.find_spec("aiortc") is not None
    have = {
        "usrsctp": have_usr,
        "usrsctp-nodebug": have_usr and _usrsctp.nodebug_library() is not None,
        "aiortc": have_aiortc,
        "sctpx-uvloop": importlib.util.find_spec("uvloop") is not None,
    }
    stacks = [s for s in STACKS if have.get(s, True)]
    started = machine()
    table = Table()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("bulk", lambda: bulk_section(table, stacks, args.reps, args.seconds)),
        ("setup", lambda: setup_section(table, args.reps, have_usr)),
        ("dead", lambda: dead_address_section(table, args.reps, have_usr)),
        ("failover", lambda: failover_section(table, args.reps)),
        ("inmem", lambda: inmem_section(table, args.reps)),
        ("rawip", lambda: _rawip.section(table, args.reps, args.seconds, progress)),
        ("scale", lambda: scale.section(table, 1, max(args.seconds, 3.0), progress)),
    ]
    for name, step in steps:
        if name in sections:
            try:
                step()
            except Exception as exc:
                table.errors.append(f"{name}: {type(exc).__name__}: {exc}")
    print(f"sctpx compare: {time.strftime('%Y-%m-%d %H:%M')}, {started}")
    print(f"loopback only; {args.reps} runs per case; bulk runs send for {args.seconds:g} s\n")
    print(table.render())
    if table.targets:
        print("\ntargets, medians of this run (ratios per run; against usrsctp with debug off):")
        for t in sorted(table.targets, key=lambda t: t.issue != "14"):
            verdict = {True: "PASS", False: "MISS", None: "n/a "}[t.ok]
            print(f"  {verdict}  issue {t.issue:>2}  {t.text:56} measured {t.measured}")
    for n in notes:
        print(f"note: {n}")
    for e in table.errors:
        print(f"error: {e}")
    print(f"\n({time.monotonic() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f})")
    if table.errors:
        return 1
    return 1 if args.strict and any(t.ok is False for t in table.targets) else 0


if __name__ == "__main__":
    sys.exit(main())
