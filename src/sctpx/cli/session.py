"""What ``listen`` and ``connect`` share: options, the stack, and the stdin/stdout pump."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import threading
import time
from typing import BinaryIO, TextIO

from ..api import constants as C
from ..api.socket import socket
from ..core.events import (
    AssocChange,
    AssocChangeState,
    DataReceived,
    Event,
    PeerAddrChange,
    RemoteError,
    ShutdownEvent,
)
from ..net import Stack
from .common import CliError, Printer, os_error
from .paths import format_paths, read_paths

POLL = 0.2  # how often the receive loop looks up from waiting (seconds)


def port_number(text: str) -> int:
    """argparse type: an integer 0-65535 (a bad one is a usage error, exit status 2)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value


def uint32(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"{value} does not fit in 32 bits")
    return value


def stream_number(text: str) -> int:
    value = uint32(text)
    if value > 0xFFFF:
        raise argparse.ArgumentTypeError(f"stream {value} is not 0-65535")
    return value


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stream", type=stream_number, default=0, metavar="N", help="send on stream N (default 0)"
    )
    parser.add_argument(
        "--ppid",
        type=uint32,
        default=0,
        metavar="N",
        help="payload protocol identifier of what we send (default 0)",
    )
    parser.add_argument(
        "-l",
        "--lines",
        action="store_true",
        help="one message per input line (default: one per read of stdin)",
    )
    add_transport(parser)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="notifications, and the path table every second, on stderr",
    )


def add_transport(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transport",
        choices=("udp", "ip"),
        default=None,
        help="SCTP over UDP (RFC 6951, the default, no privileges) or directly over IP "
        "(raw sockets: root or CAP_NET_RAW; what kernel SCTP peers speak); "
        "default $SCTPX_TRANSPORT, else udp",
    )


def open_stack(udp_port: int | None, transport: str | None = None) -> Stack:
    try:
        return Stack(transport=transport, udp_port=udp_port)
    except ValueError as exc:  # a bad $SCTPX_UDP_PORT or $SCTPX_TRANSPORT, --udp-port with ip
        raise CliError(str(exc), 2) from None
    except OSError as exc:  # raw IP without CAP_NET_RAW, or beside the kernel's SCTP
        raise CliError(f"cannot use SCTP over IP: {exc.strerror}") from None


def describe(ev: Event) -> str:
    if isinstance(ev, AssocChange):
        err = f", {errno.errorcode.get(ev.error, ev.error)}" if ev.error else ""
        return f"association {ev.assoc_id}: {ev.state.value}{err}"
    if isinstance(ev, PeerAddrChange):
        return f"association {ev.assoc_id}: peer address {ev.address} {ev.state.value}"
    if isinstance(ev, ShutdownEvent):
        return f"association {ev.assoc_id}: the peer sent SHUTDOWN"
    if isinstance(ev, RemoteError):
        causes = ", ".join(type(c).__name__ for c in ev.causes)
        return f"association {ev.assoc_id}: the peer reported an error ({causes})"
    return f"association {ev.assoc_id}: {type(ev).__name__}"


class Pump:
    """stdin -> one association (a thread), association -> stdout (the caller's thread).

    ``close_on_eof``: once stdin ends, wait ``linger`` seconds of silence from the
    peer, then shut the association down (connect); otherwise stdin's end changes
    nothing and the peer decides when it is over (listen).
    """

    def __init__(
        self,
        sock: socket,
        out: TextIO,
        *,
        stream: int,
        ppid: int,
        lines: bool,
        verbose: bool,
        close_on_eof: bool,
        linger: float,
    ) -> None:
        self.sock = sock
        self.out = out
        self.stream, self.ppid, self.lines = stream, ppid, lines
        self.verbose = verbose
        self.close_on_eof = close_on_eof
        self.linger = linger
        self.err = Printer(sys.stderr)
        self.eof_at: float | None = None
        self.last_rx = time.monotonic()
        self.send_error: OSError | None = None
        self.ending: AssocChange | None = None
        self._binary: BinaryIO | None = getattr(out, "buffer", None)

    # ----- stdin -> association

    def start_input(self) -> None:
        threading.Thread(target=self._read_input, name="sctpx-stdin", daemon=True).start()

    def _read_input(self) -> None:
        try:
            if self.lines:
                for line in iter(sys.stdin.buffer.readline, b""):
                    self._send(line)
            else:
                fd = sys.stdin.fileno()
                while data := os.read(fd, 65536):
                    self._send(data)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ENOTCONN, errno.EBADF):
                self.send_error = exc
        finally:
            self.eof_at = time.monotonic()

    def _send(self, data: bytes) -> None:
        self.sock.sctp_send(data, stream=self.stream, ppid=self.ppid)

    # ----- association -> stdout

    def _write(self, data: bytes) -> None:
        if self._binary is not None:
            self._binary.write(data)
            self._binary.flush()
        else:
            self.out.write(data.decode(errors="replace"))
            self.out.flush()

    def run(self) -> int:
        """Until the association ends (or stdin's end and ``linger`` of silence); exit status."""
        self.sock.settimeout(POLL)
        next_table = time.monotonic() + 1.0
        while True:
            now = time.monotonic()
            if self.send_error is not None:
                raise os_error(self.send_error, "cannot send")
            if self.verbose and now >= next_table:
                next_table = now + 1.0
                self.print_paths()
            eof = self.eof_at
            if (
                self.close_on_eof
                and eof is not None
                and now - max(eof, self.last_rx) >= self.linger
            ):
                return self.close()
            try:
                ev = self.sock.sctp_recv()
            except TimeoutError:
                continue
            except OSError as exc:
                if exc.errno == errno.ENOTCONN:  # the association has ended
                    return self.ended()
                raise
            if isinstance(ev, DataReceived):
                self.last_rx = time.monotonic()
                self._write(ev.data)
                continue
            if isinstance(ev, AssocChange) and ev.state is not AssocChangeState.COMM_UP:
                self.ending = ev
            if self.verbose:
                self.err(f"sctpx: {describe(ev)}")

    def print_paths(self) -> None:
        try:
            rows, primary = read_paths(self.sock)
        except OSError:
            return
        for line in format_paths(rows, primary):
            self.err(f"sctpx: {line}")

    def ended(self) -> int:
        ev = self.ending
        if ev is not None and ev.state is AssocChangeState.COMM_LOST:
            why = errno.errorcode.get(ev.error, "") if ev.error else ""
            if ev.error == errno.ECONNRESET:
                raise CliError("the peer aborted the association")
            raise CliError(f"the association was lost{f' ({why})' if why else ''}")
        return 0

    def close(self) -> int:
        """Graceful SHUTDOWN; wait (bounded) until it completes."""
        try:
            self.sock.shutdown()
        except OSError:
            return self.ended()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                ev = self.sock.sctp_recv()
            except TimeoutError:
                continue
            except OSError:
                break
            if isinstance(ev, DataReceived):
                self._write(ev.data)
            elif self.verbose:
                self.err(f"sctpx: {describe(ev)}")
        return 0


def goodbye(sock: socket, timeout: float = 1.0) -> None:
    """Shut down every association of ``sock`` gracefully, waiting up to ``timeout`` for them.

    For an interrupted command: the peers hear SHUTDOWN rather than nothing.
    (Closing a one-to-many socket does not end the associations it accepted
    passively; here each one gets its SCTP_EOF explicitly.)
    """
    try:
        ids = sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_GET_ASSOC_ID_LIST)
        if sock.type == C.SOCK_STREAM:
            if ids:
                sock.shutdown()
        else:
            for aid in ids:
                with contextlib.suppress(OSError):
                    sock.sctp_send(b"", flags=C.SCTP_EOF, assoc_id=aid)
        deadline = time.monotonic() + timeout
        while ids and time.monotonic() < deadline:
            time.sleep(0.02)
            ids = sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_GET_ASSOC_ID_LIST)
    except OSError:
        pass  # closed or gone meanwhile: nothing left to end


def subscribe(sock: socket, verbose: bool) -> None:
    sock.subscribe(C.SCTP_ASSOC_CHANGE, C.SCTP_SHUTDOWN_EVENT)
    if verbose:
        sock.subscribe(C.SCTP_PEER_ADDR_CHANGE, C.SCTP_REMOTE_ERROR)
