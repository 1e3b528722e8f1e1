"""``sctpx listen ADDR... -p PORT``: netcat for SCTP, the server side.

Binds every given address (bind, then sctp_bindx for the others: the server is
multi-homed) and listens. Plain mode takes one association: what arrives goes
to stdout, stdin goes out as messages, and the command ends with the
association. ``--echo`` and ``--discard`` serve any number of associations at
once (a one-to-many socket) until interrupted: every message is sent back on
its stream with its PPID, or dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
from collections.abc import Iterator
from typing import TextIO

from ..api import constants as C
from ..api.socket import socket
from ..core.events import DataReceived
from ..net import Stack
from .common import CliError, Printer, family_of, os_error, resolve
from .session import Pump, add_common, describe, goodbye, open_stack, port_number, subscribe

NAME = "listen"
HELP = "listen on one or more local addresses; SCTP -> stdout, stdin -> SCTP (or --echo)"
EPILOG = """examples:
  sctpx listen 127.0.0.2 127.0.0.3 -p 5000 --echo
  sctpx listen 0.0.0.0 ...   is refused: give the addresses explicitly
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "addresses",
        nargs="+",
        metavar="ADDR",
        help="local addresses to listen on (IP or host name)",
    )
    parser.add_argument(
        "-p",
        "--port",
        type=port_number,
        required=True,
        help="SCTP port (0: any free one, printed at start)",
    )
    parser.add_argument(
        "--udp-port",
        type=port_number,
        default=None,
        metavar="N",
        help="local UDP encapsulation port (default 9899 or $SCTPX_UDP_PORT; "
        "0: any free one, printed at start)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--echo", action="store_true", help="send every message back (any number of associations)"
    )
    mode.add_argument(
        "--discard",
        action="store_true",
        help="read and drop every message (any number of associations)",
    )
    add_common(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    ips = resolve(args.addresses, wildcard=True)
    stack = open_stack(args.udp_port, args.transport)
    try:
        serving = args.echo or args.discard
        kind = C.SOCK_SEQPACKET if serving else C.SOCK_STREAM
        sock = socket(family_of(ips), kind, stack=stack)
        try:
            _listen(sock, stack, ips, args)
            if serving:
                return _serve(sock, args)
            return _one(sock, args, out)
        except (KeyboardInterrupt, SystemExit):
            goodbye(sock)  # interrupted: the peers hear SHUTDOWN, not silence
            raise
        finally:
            sock.close()
    finally:
        stack.close()


def _listen(sock: socket, stack: Stack, ips: list[str], args: argparse.Namespace) -> None:
    where = f"{', '.join(ips)} port {args.port}"
    try:
        sock.bind((ips[0], args.port))
        if ips[1:]:
            sock.bindx([(ip, args.port) for ip in ips[1:]])
        subscribe(sock, args.verbose)
        sock.listen()
    except OSError as exc:
        raise os_error(exc, f"cannot listen on {where}") from None
    port = sock.getsockname()[1]
    mode = "echo" if args.echo else "discard" if args.discard else "one association"
    over = f"UDP port {stack.udp_port}" if stack.transport == "udp" else "over IP"
    Printer(sys.stderr)(f"sctpx: listening on {', '.join(ips)} port {port}, {over} ({mode})")


def _serve(sock: socket, args: argparse.Namespace) -> int:
    """--echo / --discard: every association of the one-to-many socket, until interrupted."""
    err = Printer(sys.stderr)
    while True:
        try:
            ev = sock.sctp_recv()
        except TimeoutError:
            continue
        if isinstance(ev, DataReceived):
            if args.echo:
                _echo(sock, ev)
            continue
        if args.verbose:
            err(f"sctpx: {describe(ev)}")


def _echo(sock: socket, ev: DataReceived) -> None:
    for stream in (ev.stream_id, 0):  # stream 0 if ours has fewer streams than the peer's
        try:
            sock.sctp_send(ev.data, stream=stream, ppid=ev.ppid, assoc_id=ev.assoc_id)
            return
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                return  # the association ended meanwhile: nothing to answer
    return


@contextlib.contextmanager
def _ending(conn: socket) -> Iterator[None]:
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        goodbye(conn)
        raise


def _one(sock: socket, args: argparse.Namespace, out: TextIO) -> int:
    """Plain mode: one association, stdin <-> stdout, until the peer ends it."""
    conn, peer = sock.accept()
    with contextlib.closing(conn), _ending(conn):
        subscribe(conn, args.verbose)
        if args.verbose:
            Printer(sys.stderr)(f"sctpx: association from {peer[0]} port {peer[1]}")
        status = conn.getsockopt(C.IPPROTO_SCTP, C.SCTP_STATUS)
        if args.stream >= status.outstrms:
            raise CliError(
                f"--stream {args.stream}: the association has streams 0-{status.outstrms - 1}"
            )
        pump = Pump(
            conn,
            out,
            stream=args.stream,
            ppid=args.ppid,
            lines=args.lines,
            verbose=args.verbose,
            close_on_eof=False,
            linger=0.0,
        )
        pump.start_input()
        return pump.run()
