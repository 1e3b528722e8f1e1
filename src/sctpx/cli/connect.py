"""``sctpx connect ADDR... -p PORT``: netcat for SCTP, the client side.

One association to the peer through all of its given addresses
(sctp_connectx: the first that answers wins, the others become alternate
paths). Then stdin goes out as messages (one per read, or per line with
``--lines``) and every message received is written to stdout. At the end of
stdin the association is shut down gracefully once the peer has been quiet for
``--linger`` seconds.
"""

from __future__ import annotations

import argparse
import errno
from typing import TextIO

from ..api import constants as C
from ..api.options import UdpEncaps
from ..api.socket import socket
from .common import CliError, family_of, os_error, resolve, warn
from .session import Pump, add_common, goodbye, open_stack, port_number, subscribe

NAME = "connect"
HELP = "connect to a peer through one or more of its addresses; stdin -> SCTP -> stdout"
EPILOG = """examples:
  sctpx connect 127.0.0.2 -p 5000 --remote-udp-port 9900
  echo hello | sctpx connect 10.0.0.1 192.168.1.1 -p 5000 -v
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "addresses",
        nargs="+",
        metavar="ADDR",
        help="the peer's addresses (IP or host name), in the order to try",
    )
    parser.add_argument(
        "-p", "--port", type=port_number, required=True, help="the peer's SCTP port"
    )
    parser.add_argument(
        "-s",
        "--source",
        action="append",
        metavar="ADDR",
        help="a local address to use (repeat for several; default: "
        "the route's source for each peer address)",
    )
    parser.add_argument(
        "--udp-port",
        type=port_number,
        default=0,
        metavar="N",
        help="local UDP encapsulation port (default: any free one)",
    )
    parser.add_argument(
        "--remote-udp-port",
        type=port_number,
        default=None,
        metavar="N",
        help="the peer's UDP encapsulation port (default 9899)",
    )
    parser.add_argument(
        "-w",
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up connecting after this long (default: the protocol's "
        "own limit when nobody answers: 243 s for one address)",
    )
    parser.add_argument(
        "-q",
        "--linger",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="after the end of stdin, close once the peer has been quiet this long (default 1)",
    )
    add_common(parser)


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.port == 0:
        raise CliError("the peer's SCTP port cannot be 0", 2)
    peers = resolve(args.addresses)
    sources = resolve(args.source) if args.source else []
    stack = open_stack(args.udp_port, args.transport)
    try:
        sock = socket(family_of(peers + sources), C.SOCK_STREAM, stack=stack)
        try:
            return _session(sock, peers, sources, args, out)
        except (KeyboardInterrupt, SystemExit):
            goodbye(sock)  # interrupted: the peer hears SHUTDOWN, not silence
            raise
        finally:
            sock.close()
    finally:
        stack.close()


def _session(
    sock: socket, peers: list[str], sources: list[str], args: argparse.Namespace, out: TextIO
) -> int:
    where = f"{', '.join(peers)} port {args.port}"
    try:
        if sources:
            sock.bind((sources[0], 0))
            if sources[1:]:
                sock.bindx([(ip, 0) for ip in sources[1:]])
        if args.remote_udp_port is not None:
            sock.setsockopt(
                C.IPPROTO_SCTP, C.SCTP_REMOTE_UDP_ENCAPS_PORT, UdpEncaps(port=args.remote_udp_port)
            )
    except OSError as exc:
        raise os_error(exc, "bad address") from None
    subscribe(sock, args.verbose)
    sock.settimeout(args.wait)
    try:
        aid = sock.connectx([(ip, args.port) for ip in peers])
    except TimeoutError:
        raise CliError(f"cannot connect to {where}: timed out (no answer)") from None
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise os_error(exc, f"cannot connect to {where}").with_code(2) from None
        raise os_error(exc, f"cannot connect to {where}", detail=False) from None
    status = sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_STATUS, aid)
    if args.stream >= status.outstrms:
        raise CliError(
            f"--stream {args.stream}: the association has streams 0-{status.outstrms - 1}"
        )
    if args.verbose:
        local = ", ".join(ip for ip, _p in sock.getladdrs())
        warn(
            f"connected to {sock.getpeername()[0]} port {args.port} from {local} "
            f"(association {aid}, {status.outstrms} streams out, {status.instrms} in)"
        )
    pump = Pump(
        sock,
        out,
        stream=args.stream,
        ppid=args.ppid,
        lines=args.lines,
        verbose=args.verbose,
        close_on_eof=True,
        linger=args.linger,
    )
    if args.verbose:
        pump.print_paths()
    pump.start_input()
    return pump.run()
