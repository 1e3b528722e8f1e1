"""``sctpx bench``: throughput between two sctpx endpoints in this process.

Two stacks (each with its own UDP socket and loop thread) on loopback: a client
on 127.0.0.1 sends messages of ``--size`` bytes over one association to a
server on 127.0.0.2, for ``--seconds`` or ``--count`` messages; a thread reads
them. A progress line while it runs, then a table: messages, bytes, seconds,
Mbit/s and messages per second, counted when the server has read them.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import TextIO

from ..api import constants as C
from ..api.options import UdpEncaps
from ..api.socket import socket
from ..core.events import DataReceived
from ..net import Stack
from .common import CliError, human_bytes

NAME = "bench"
HELP = "throughput between two sctpx stacks in this process, over loopback"
CLIENT, SERVER, PORT = "127.0.0.1", "127.0.0.2", 5000
MAX_SIZE = 1 << 20
DRAIN = 20.0  # seconds to wait, after the last send, for the last message to be read


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size", type=int, default=1200, metavar="BYTES", help="message size (default 1200)"
    )
    parser.add_argument(
        "--count", type=int, default=None, metavar="N", help="send N messages (default: by time)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        metavar="S",
        help="send for S seconds (default 3, unless --count is given)",
    )
    parser.add_argument(
        "--unordered", action="store_true", help="send unordered messages (SCTP_UNORDERED)"
    )


class Counter:
    """The server side: reads messages on a thread and counts them."""

    def __init__(self, conn: socket) -> None:
        self.conn = conn
        self.messages = 0
        self.bytes = 0
        self.last = 0.0
        self.error: str | None = None
        self._target: int | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="sctpx-bench-recv", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = self.conn
        try:
            while True:
                ev = conn.sctp_recv()
                if isinstance(ev, DataReceived):
                    with self._cond:
                        self.messages += 1
                        self.bytes += len(ev.data)
                        self.last = time.monotonic()
                        if self._target is not None and self.messages >= self._target:
                            self._cond.notify_all()
        except OSError as exc:
            self.error = str(exc)
            with self._cond:
                self._cond.notify_all()

    def wait_for(self, messages: int, timeout: float) -> bool:
        with self._cond:
            self._target = messages
            return self._cond.wait_for(
                lambda: self.messages >= messages or self.error is not None, timeout
            )


class Progress:
    """A progress line: rewritten in place on a terminal, a line a second otherwise."""

    def __init__(self, out: TextIO, counter: Counter, t0: float) -> None:
        self.out, self.counter, self.t0 = out, counter, t0
        self.tty = out.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sctpx-bench-tick", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_t, last_b = self.t0, 0
        while not self._stop.wait(0.5 if self.tty else 1.0):
            now, got = time.monotonic(), self.counter.bytes
            rate = (got - last_b) * 8 / max(now - last_t, 1e-9) / 1e6
            last_t, last_b = now, got
            line = (
                f"  {now - self.t0:5.1f} s  {human_bytes(got):>10} received  "
                f"{rate:8.1f} Mbit/s now  {self.counter.messages:>10,} messages"
            )
            if self.tty:
                self.out.write("\r" + line)
            else:
                self.out.write(line + "\n")
            self.out.flush()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def run(args: argparse.Namespace, out: TextIO) -> int:
    if not 1 <= args.size <= MAX_SIZE:
        raise CliError(f"--size must be 1-{MAX_SIZE} bytes", 2)
    if args.count is not None and args.count < 1:
        raise CliError("--count must be at least 1", 2)
    if args.seconds is not None and args.seconds <= 0:
        raise CliError("--seconds must be more than 0", 2)
    seconds = args.seconds if args.seconds is not None else (None if args.count else 3.0)
    server_stack, client_stack = Stack(udp_port=0), Stack(udp_port=0)
    try:
        srv = socket(C.AF_INET, C.SOCK_STREAM, stack=server_stack)
        cli = socket(C.AF_INET, C.SOCK_STREAM, stack=client_stack)
        try:
            srv.bind((SERVER, PORT))
            srv.listen()
            srv.settimeout(5)
            cli.bind((CLIENT, 0))
            cli.setsockopt(
                C.IPPROTO_SCTP,
                C.SCTP_REMOTE_UDP_ENCAPS_PORT,
                UdpEncaps(port=server_stack.udp_port),
            )
            cli.settimeout(5)
            cli.connectx([(SERVER, PORT)])
            conn, _peer = srv.accept()
            try:
                return _bench(cli, conn, client_stack, args, seconds, out)
            finally:
                conn.close()
        finally:
            cli.close()
            srv.close()
    finally:
        client_stack.close()
        server_stack.close()


def _bench(
    cli: socket,
    conn: socket,
    stack: Stack,
    args: argparse.Namespace,
    seconds: float | None,
    out: TextIO,
) -> int:
    size, count = args.size, args.count
    how = f"{count:,} messages" if count else ""
    if seconds:
        how = f"{how} or {seconds:g} s" if how else f"{seconds:g} s"
    order = "unordered" if args.unordered else "ordered"
    out.write(
        f"sctpx bench: {size}-byte {order} messages for {how}, one association "
        f"{CLIENT} -> {SERVER} (SCTP over UDP, two stacks in this process)\n"
    )
    out.flush()
    counter = Counter(conn)
    payload = bytes(size)
    flags = C.SCTP_UNORDERED if args.unordered else 0
    t0 = time.monotonic()
    progress = Progress(out, counter, t0)
    sent = 0
    try:
        deadline = t0 + seconds if seconds else None
        send = cli.sctp_send
        while (count is None or sent < count) and (
            deadline is None or (sent & 63) or time.monotonic() < deadline
        ):
            send(payload, flags=flags)
            sent += 1
        send_time = time.monotonic() - t0
        complete = counter.wait_for(sent, DRAIN)
    finally:
        progress.stop()
    spent = (counter.last or time.monotonic()) - t0
    mbits = counter.bytes * 8 / spent / 1e6 if spent > 0 else 0.0
    rate = counter.messages / spent if spent > 0 else 0.0
    rows = [
        ("messages", "bytes", "seconds", "Mbit/s", "msgs/s"),
        (
            f"{counter.messages:,}",
            human_bytes(counter.bytes),
            f"{spent:.2f}",
            f"{mbits:.1f}",
            f"{rate:,.0f}",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out.write("\n")
    for r in rows:
        out.write("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + "\n")
    st = stack.stats
    out.write(
        f"\n  sending took {send_time:.2f} s; the client stack sent {st.sent:,} datagrams "
        f"and received {st.received:,}\n"
    )
    out.flush()
    if not complete:
        why = f": {counter.error}" if counter.error else ""
        raise CliError(f"only {counter.messages:,} of {sent:,} messages arrived{why}")
    return 0
