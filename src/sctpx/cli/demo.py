"""``sctpx demo``: sctp_connectx and multi-homing at work, told as it happens.

Two stacks in this process talk SCTP over UDP on loopback. The server listens on
127.0.0.2, 127.0.0.3 and 127.0.0.4; the client connectx()es to 127.0.0.9 (dead),
127.0.0.2 and 127.0.0.3. The story, read live from a tap on the client's stack
(:meth:`sctpx.net.Stack.tap`) and from the socket's notifications:

1. the INIT to the dead address, the same INIT to the next one after the 250 ms
   stagger, the INIT ACK, COOKIE ECHO and COOKIE ACK;
2. the paths: the listed ones confirmed, 127.0.0.4 (announced by the server
   only) confirmed by a HEARTBEAT with a nonce, 127.0.0.9 dropped;
3. 4 MB of messages, with the server's primary address black-holed a third of
   the way through (:meth:`sctpx.net.Stack.blackhole`): the failover to
   127.0.0.3, POTENTIALLY_FAILED then UNREACHABLE, and a SHA-256 match;
4. a graceful SHUTDOWN, and nothing left behind.

The dead address is an iptables DROP rule when running as root with iptables
(removed in ``finally``), else a UDP socket bound there that never reads (the
same silence, no privileges), or with ``--dead refuse`` nothing at all, so the
kernel answers ICMP port unreachable and the INIT moves on at once.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import os
import shutil
import socket as _socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from ..api import constants as C
from ..api.options import PeerAddrParams, RtoInfo, UdpEncaps
from ..api.socket import socket
from ..core.events import (
    AssocChange,
    AssocChangeState,
    DataReceived,
    Event,
    PeerAddrChange,
    PeerAddrState,
)
from ..net import Stack
from .common import CliError, human_bytes
from .paths import format_paths, read_paths
from .trace import Tracer

NAME = "demo"
HELP = "multi-homing live: a dead first address, path confirmation, failover mid-transfer"

CLIENT = "127.0.0.1"
SERVER = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
DEAD = "127.0.0.9"
LISTED = (DEAD, SERVER[0], SERVER[1])  # what the client gives connectx
UNLISTED = SERVER[2]  # the server has it, the client does not list it
PORT = 5000
MESSAGES = 4000
MESSAGE_SIZE = 1000
CUT_AFTER = MESSAGES // 3  # messages sent before the primary address goes dark
# Client timers, shortened so that the whole failover fits in a few seconds.
RTO_MIN_MS, RTO_MAX_MS, PATH_MAX_RETRANS = 500, 1000, 2
WAIT = 5.0  # bound on every single wait of the demo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pcap",
        metavar="FILE",
        help="save every packet the client's stack sends and receives (Wireshark: "
        "decode the printed UDP port as SCTP)",
    )
    parser.add_argument(
        "--dead",
        choices=("auto", "iptables", "silent", "refuse"),
        default="auto",
        help="how 127.0.0.9 is dead: an iptables DROP rule (needs root), a UDP socket "
        "that never reads, or nothing there (ICMP port unreachable); auto: iptables "
        "when root, else silent",
    )


# ---------------------------------------------------------------- the dead address


def _iptables(action: str, rule: list[str]) -> str | None:
    """Run ``iptables -w <action> <rule>``; None on success, else why not."""
    ipt = shutil.which("iptables")
    if ipt is None:
        return "iptables is not installed"
    if os.geteuid() != 0:
        return "not running as root"
    try:
        done = subprocess.run(
            [ipt, "-w", action, *rule], capture_output=True, text=True, timeout=15
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return None


@contextlib.contextmanager
def dead_address(mode: str, ip: str, udp_port: int) -> Iterator[str]:
    """Make ``ip`` silent (or refusing) for the stack on ``udp_port``; yields how, in words."""
    note = ""
    if mode in ("auto", "iptables"):
        rule = ["INPUT", "-d", ip, "-p", "udp", "--dport", str(udp_port), "-j", "DROP"]
        why = _iptables("-I", rule)
        if why is None:
            try:
                yield f"a black hole: iptables -I {' '.join(rule)} (removed at the end)"
            finally:
                failed = _iptables("-D", rule)
                if failed is not None:
                    raise CliError(
                        f"could not remove the iptables rule ({failed}); "
                        f"remove it yourself: iptables -D {' '.join(rule)}"
                    )
            return
        if mode == "iptables":
            raise CliError(f"cannot add the iptables rule: {why}")
        note = f" (no iptables rule: {why})"
    if mode in ("auto", "silent"):
        hole = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        try:
            hole.bind((ip, udp_port))
        except OSError as exc:
            hole.close()
            raise CliError(f"cannot bind a silent socket on {ip}: {exc.strerror}") from None
        try:
            yield f"a black hole: a UDP socket bound there that never reads{note}"
        finally:
            hole.close()
        return
    yield "refusing: nothing is bound there, so the kernel answers ICMP port unreachable"


# ---------------------------------------------------------------- telling


class Story:
    """Timestamped lines (seconds since the start) from any thread."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.t0 = time.time()
        self._lock = threading.Lock()

    def __call__(self, text: str = "") -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def at(self, t: float, text: str) -> None:
        self(f"  {t - self.t0:7.3f}s  {text}")

    def now(self, text: str) -> None:
        self.at(time.time(), text)


def describe(ev: Event) -> str:
    if isinstance(ev, AssocChange):
        text = f"ASSOC_CHANGE {ev.state.value} (association {ev.assoc_id}"
        if ev.state is AssocChangeState.COMM_UP:
            text += f", {ev.outbound_streams} out / {ev.inbound_streams} in streams"
        if ev.error:
            text += f", {errno.errorcode.get(ev.error, ev.error)}"
        return text + ")"
    if isinstance(ev, PeerAddrChange):
        return f"PEER_ADDR_CHANGE {ev.address} {ev.state.value}"
    return type(ev).__name__


class Notifications:
    """Reads the client socket's notifications on a thread, tells them and keeps them."""

    def __init__(self, sock: socket, story: Story) -> None:
        self._sock = sock
        self._story = story
        self._cond = threading.Condition()
        self.events: list[tuple[float, Event]] = []
        self._thread = threading.Thread(target=self._run, name="sctpx-demo-notes", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                ev = self._sock.sctp_recv()
            except TimeoutError:
                continue
            except OSError:
                return  # closed, or the association has ended
            if isinstance(ev, DataReceived):
                continue
            t = time.time()
            self._story.at(t, f"{'notification':>22} {describe(ev)}")
            with self._cond:
                self.events.append((t, ev))
                self._cond.notify_all()

    def wait(self, match: Callable[[Event], bool], timeout: float) -> float | None:
        """The time of the first event that matches, waiting up to ``timeout`` for it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                t = next((t for t, ev in self.events if match(ev)), None)
                left = deadline - time.monotonic()
                if t is not None or left <= 0:
                    return t
                self._cond.wait(left)


def addr_change(ip: str, state: PeerAddrState) -> Callable[[Event], bool]:
    return lambda ev: isinstance(ev, PeerAddrChange) and ev.address == ip and ev.state is state


def assoc_change(state: AssocChangeState) -> Callable[[Event], bool]:
    return lambda ev: isinstance(ev, AssocChange) and ev.state is state


class Receiver:
    """The server side of the transfer: reads messages on a thread, hashes and counts them."""

    def __init__(self, conn: socket, total: int) -> None:
        self.conn = conn
        self.total = total
        self.received = 0
        self.messages = 0
        self.done_at: float | None = None
        self.error: str | None = None
        self.sha = hashlib.sha256()
        self._thread = threading.Thread(target=self._run, name="sctpx-demo-recv", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while self.received < self.total:
                ev = self.conn.sctp_recv()
                if isinstance(ev, DataReceived):
                    self.sha.update(ev.data)
                    self.received += len(ev.data)
                    self.messages += 1
            self.done_at = time.time()
        except OSError as exc:
            self.error = str(exc)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def shortfall(self) -> str:
        why = f" ({self.error})" if self.error else ""
        return f"only {self.received:,} of {self.total:,} bytes arrived{why}"


class Ticker:
    """A progress line every ``period`` seconds while the transfer runs."""

    def __init__(self, story: Story, tracer: Tracer, receiver: Receiver, period: float) -> None:
        self._story, self._tracer, self._receiver = story, tracer, receiver
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sctpx-demo-tick", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self.tell()

    def tell(self) -> None:
        data_to, _sacks, rtx = self._tracer.snapshot()
        paths = "  ".join(f"{ip}: {n}" for ip, n in sorted(data_to.items()))
        self._story.now(
            f"{'progress':>22} {self._receiver.received / 1e6:5.2f} MB delivered;"
            f" DATA chunks sent to {paths or '-'}; retransmitted {rtx}"
        )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT)


# ---------------------------------------------------------------- the demo


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the demo; 0 when every step happened as it should."""
    with contextlib.ExitStack() as cleanup:
        return Demo(Story(out), cleanup, args.pcap, args.dead).run()


class Demo:
    """The scenario, one method per part of the story; ``cleanup`` closes what it opens."""

    def __init__(
        self, story: Story, cleanup: contextlib.ExitStack, pcap: str | None, dead_mode: str
    ) -> None:
        self.say = story
        self.cleanup = cleanup
        self.pcap = pcap
        self.dead_mode = dead_mode
        self.problems: list[str] = []
        self.timings: list[tuple[str, str]] = []
        self.first_table: list[str] = []  # the path table when the COOKIE ACK arrived
        self.t_cut = 0.0

    def check(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
            self.say(f"  !! {problem}")
        return ok

    def timing(self, what: str, t: float | None, since: float, unit: str = "s") -> None:
        if t is not None:
            self.timings.append((what, f"{t - since:.2f} s after the {unit}"))

    def run(self) -> int:
        self.open()
        self.introduce()
        if self.set_up():
            self.paths()
            self.transfer()
            self.give_up()
            self.close()
        return self.finish()

    # ----- the scene

    def open(self) -> None:
        """Two stacks, the listening server, the dead address, the client and its tap."""
        cleanup = self.cleanup
        self.server_stack = Stack(udp_port=0)
        cleanup.callback(self.server_stack.close)
        try:
            self.client_stack = Stack(udp_port=0, pcap=self.pcap)
        except OSError as exc:
            raise CliError(f"cannot write the pcap file {self.pcap}: {exc.strerror}") from None
        cleanup.callback(self.client_stack.close)

        self.srv = srv = socket(C.AF_INET, C.SOCK_STREAM, stack=self.server_stack)
        cleanup.callback(srv.close)
        srv.bind((SERVER[0], PORT))
        srv.bindx([(ip, PORT) for ip in SERVER[1:]])
        srv.listen()
        srv.settimeout(WAIT)
        sport = self.server_stack.udp_port
        self.how_dead = cleanup.enter_context(dead_address(self.dead_mode, DEAD, sport))

        self.cli = cli = socket(C.AF_INET, C.SOCK_STREAM, stack=self.client_stack)
        cleanup.callback(cli.close)
        cli.bind((CLIENT, 0))
        cli.setsockopt(C.IPPROTO_SCTP, C.SCTP_REMOTE_UDP_ENCAPS_PORT, UdpEncaps(port=sport))
        cli.setsockopt(C.IPPROTO_SCTP, C.SCTP_RTOINFO, RtoInfo(min=RTO_MIN_MS, max=RTO_MAX_MS))
        cli.setsockopt(
            C.IPPROTO_SCTP,
            C.SCTP_PEER_ADDR_PARAMS,
            PeerAddrParams(pathmaxrxt=PATH_MAX_RETRANS),
        )
        cli.subscribe(C.SCTP_ASSOC_CHANGE, C.SCTP_PEER_ADDR_CHANGE)
        cli.settimeout(WAIT)

        self.tracer = Tracer(self.say.at, [CLIENT])
        self.tracer.listed = list(LISTED)
        self.tracer.before["COOKIE ACK"] = self._snapshot
        self.client_stack.tap(self.tracer)
        self.notes = Notifications(cli, self.say)  # its thread ends when the socket closes

    def _snapshot(self) -> None:
        """On the loop thread, before the COOKIE ACK is processed: the paths as set up."""
        notes = {SERVER[0]: "answered the INIT", UNLISTED: "announced by the server only"}
        with contextlib.suppress(OSError):
            rows, primary = read_paths(self.cli)
            self.first_table = format_paths(rows, primary, notes)

    def introduce(self) -> None:
        say = self.say
        say("sctpx demo: one SCTP association through a list of addresses whose first is dead,")
        say("then the primary path dies in the middle of a transfer. Two stacks in this")
        say("process, SCTP over UDP (RFC 6951) on loopback; times are seconds since the start.")
        say()
        sport = self.server_stack.udp_port
        say(f"  server   {', '.join(SERVER)}   SCTP port {PORT}, UDP port {sport}")
        say(f"  client   {CLIENT}   any free SCTP and UDP port")
        say(f"  dead     {DEAD}: {self.how_dead}")
        say(
            f"  timers   client RTO.Min {RTO_MIN_MS} ms, RTO.Max {RTO_MAX_MS} ms, "
            f"Path.Max.Retrans {PATH_MAX_RETRANS}"
        )
        say("           (RFC 9260: 1 s, 60 s, 5; shortened so that the failover fits in seconds)")
        if self.pcap:
            say(f"  pcap     {self.pcap}: every packet the client's stack sends and receives")
        say()

    # ----- the story

    def set_up(self) -> bool:
        say = self.say
        say(f"1. connectx([{', '.join(LISTED)}], port {PORT})")
        say(f"   ({UNLISTED} is the server's too, but the client does not list it)")
        t0 = time.time()
        try:
            aid = self.cli.connectx([(ip, PORT) for ip in LISTED])
        except OSError as exc:
            return self.check(False, f"connectx failed: {exc}")
        took = time.time() - t0
        self.notes.wait(assoc_change(AssocChangeState.COMM_UP), WAIT)  # it came first: told first
        say.now(f"{'connectx returned':>22} after {took:.3f} s: association {aid}")
        answered = self.tracer.init_ack_from
        self.check(answered == SERVER[0], f"the INIT ACK came from {answered}, not {SERVER[0]}")
        if self.how_dead.startswith("refusing"):
            cost = f"{DEAD} refused at once, the INIT moved on without waiting"
        else:
            cost = f"{DEAD} cost one 250 ms stagger, not a 1 s T1-init timeout"
        say(f"   {answered} answered the INIT; {cost}")
        self.timings.append(("set-up, first address dead", f"{took:.3f} s ({cost})"))
        self.conn, _peer = self.srv.accept()
        self.cleanup.callback(self.conn.close)
        self.conn.settimeout(WAIT)
        self.notes.wait(addr_change(UNLISTED, PeerAddrState.CONFIRMED), WAIT)  # the probe's end
        say()
        return True

    def paths(self) -> None:
        say = self.say
        say("2. The paths connectx made of the listed and the announced addresses")
        say(f"   {DEAD}: listed by us, not in the INIT ACK: dropped, silently")
        say(f"   {SERVER[0]}, {SERVER[1]}: listed by us and by the server: confirmed at once")
        say(
            f"   {UNLISTED}: announced by the server only: unconfirmed (nothing is sent to it)"
            " until a HEARTBEAT's nonce comes back"
        )
        t_up = self.notes.wait(assoc_change(AssocChangeState.COMM_UP), WAIT)
        t_conf = self.notes.wait(addr_change(UNLISTED, PeerAddrState.CONFIRMED), WAIT)
        if self.check(t_conf is not None, f"no ADDR_CONFIRMED for {UNLISTED}") and t_up:
            assert t_conf is not None
            self.timings.append(
                (f"{UNLISTED} confirmed", f"{(t_conf - t_up) * 1000:.1f} ms after COMM_UP")
            )
        peers = sorted(ip for ip, _p in self.cli.getpaddrs())
        self.check(peers == sorted(SERVER), f"the peer addresses are {peers}, not {SERVER}")
        say("   the path table when the COOKIE ACK arrived (SCTP_GET_PEER_ADDR_INFO):")
        for line in self.first_table:
            say(f"     {line}")
        self.check(
            any(UNLISTED in line and "UNCONFIRMED" in line for line in self.first_table),
            f"{UNLISTED} was not UNCONFIRMED at first",
        )
        say()

    def transfer(self) -> None:
        say, tracer = self.say, self.tracer
        total = MESSAGES * MESSAGE_SIZE
        say(
            f"3. {human_bytes(total)} from client to server in {MESSAGES} messages of "
            f"{MESSAGE_SIZE} bytes; after {CUT_AFTER} messages the server's {SERVER[0]} goes dark"
        )
        blob = os.urandom(total)
        receiver = Receiver(self.conn, total)
        ticker = Ticker(say, tracer, receiver, 0.25)
        t_start = time.time()
        try:
            for i in range(MESSAGES):
                if i == CUT_AFTER:
                    self.cut(i * MESSAGE_SIZE)
                self.cli.sctp_send(blob[i * MESSAGE_SIZE : (i + 1) * MESSAGE_SIZE])
            finished = receiver.join(3 * WAIT)
        finally:
            ticker.stop()
        ticker.tell()
        if self.check(finished and receiver.done_at is not None, receiver.shortfall()):
            assert receiver.done_at is not None
            spent = receiver.done_at - t_start
            say.at(
                receiver.done_at,
                f"{'delivered':>22} {receiver.received:,} bytes in {receiver.messages:,} "
                f"messages, {spent:.2f} s",
            )
            rate = total * 8 / spent / 1e6
            self.timings.append(
                (f"transfer of {human_bytes(total)}", f"{spent:.2f} s ({rate:.1f} Mbit/s)")
            )
        sent_sha, got_sha = hashlib.sha256(blob).hexdigest(), receiver.sha.hexdigest()
        say(f"   SHA-256 sent     {sent_sha}")
        say(f"   SHA-256 received {got_sha}")
        match = sent_sha == got_sha
        say("   checksum match: every byte arrived, in order" if match else "   checksum MISMATCH")
        self.check(match, "the SHA-256 of what arrived differs from what was sent")
        first_alt = tracer.first.get(("DATA", SERVER[1]))
        self.check(first_alt is not None, f"no DATA was ever sent to {SERVER[1]}")
        self.timing(f"failover: first DATA to {SERVER[1]}", first_alt, self.t_cut, "cut")
        pf = self.notes.wait(addr_change(SERVER[0], PeerAddrState.POTENTIALLY_FAILED), WAIT)
        self.check(pf is not None, f"no ADDR_POTENTIALLY_FAILED for {SERVER[0]}")
        self.timing(f"{SERVER[0]} POTENTIALLY_FAILED", pf, self.t_cut, "cut")
        say()

    def cut(self, sent: int) -> None:
        self.server_stack.blackhole(SERVER[0])
        self.tracer.suspect.add(SERVER[0])
        self.t_cut = time.time()
        self.say.at(
            self.t_cut,
            f"{'CUT':>22} server_stack.blackhole({SERVER[0]!r}): the primary path is dead "
            f"({human_bytes(sent)} sent)",
        )

    def give_up(self) -> None:
        say = self.say
        say(
            f"4. {SERVER[0]} is probed with HEARTBEATs every RTO; once it has missed more than "
            f"Path.Max.Retrans ({PATH_MAX_RETRANS}) times it is UNREACHABLE"
        )
        t = self.notes.wait(addr_change(SERVER[0], PeerAddrState.UNREACHABLE), 3 * WAIT)
        self.check(t is not None, f"no ADDR_UNREACHABLE for {SERVER[0]}")
        self.timing(f"{SERVER[0]} UNREACHABLE", t, self.t_cut, "cut")
        say("   the path table now:")
        try:
            rows, primary = read_paths(self.cli)
        except OSError as exc:
            say(f"   (no path table: {exc})")
        else:
            notes = {SERVER[0]: "black-holed", UNLISTED: "confirmed by HEARTBEAT"}
            for line in format_paths(rows, primary, notes):
                say(f"     {line}")
        say()

    def close(self) -> None:
        say = self.say
        say("5. Graceful SHUTDOWN, then everything is closed")
        self.cli.shutdown()
        t = self.notes.wait(assoc_change(AssocChangeState.SHUTDOWN_COMP), 2 * WAIT)
        self.check(t is not None, "the SHUTDOWN did not complete")
        self.cleanup.close()  # sockets, stacks, the dead address (and its iptables rule)
        say(f"   closed: sockets, both stacks, the dead address ({self.how_dead.split(':')[0]})")

    def finish(self) -> int:
        say = self.say
        say()
        say("Timings")
        width = max((len(k) for k, _v in self.timings), default=0)
        for key, value in self.timings:
            say(f"  {key:<{width}}  {value}")
        say(f"  {'total':<{width}}  {time.time() - say.t0:.2f} s")
        if self.problems:
            say()
            say(f"demo incomplete: {'; '.join(self.problems)}")
            return 1
        return 0
