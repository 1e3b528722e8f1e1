"""The ``sctpx`` command line: ``python -m sctpx <command>`` and the ``sctpx`` script.

Commands live in :mod:`sctpx.cli`, one module each (``demo``, ``listen``,
``connect``, ``bench``, ``decode-demo``); see docs/cli.md. Exit status: 0 on
success, 1 for a failure at run time (refused, timed out, port in use ...),
2 for a wrong command line, 130 after Ctrl-C. Errors are one line on stderr;
the library's own log warnings are shown with ``-v`` only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from . import __version__
from .cli import COMMAND_MODULES
from .cli.common import EXIT_ERROR, EXIT_INTERRUPTED, CliError, warn
from .cli.decode_demo import USRSCTP_INIT_HEX

Command = Callable[[argparse.Namespace, TextIO], int]
COMMANDS: dict[str, tuple[Command, str]] = {m.NAME: (m.run, m.HELP) for m in COMMAND_MODULES}

__all__ = ["COMMANDS", "USRSCTP_INIT_HEX", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sctpx", description="sctpx: userspace SCTP for Python (RFC 9260 over UDP)"
    )
    parser.add_argument("--version", action="version", version=f"sctpx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for module in COMMAND_MODULES:
        cmd = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP,
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(func=module.run)
    return parser


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """SIGTERM raises SystemExit in the main thread, so every ``finally`` runs (iptables!)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"sctpx: {record.levelname.lower()}: {super().format(record)}"


@contextlib.contextmanager
def _library_logging(verbose: bool) -> Iterator[None]:
    """The library's log records as ``sctpx: warning: ...`` lines: errors always, warnings with -v.

    Without this, Python's last-resort handler would print every warning of the
    core and the stack, bare, on stderr.
    """
    logger = logging.getLogger("sctpx")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if verbose else logging.ERROR)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``python -m sctpx`` and of the ``sctpx`` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        with _sigterm_exits(), _library_logging(getattr(args, "verbose", False)):
            return func(args, out if out is not None else sys.stdout)
    except CliError as exc:
        warn(exc.message)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout went away (``sctpx ... | head``): no traceback, no complaint at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:
        warn(f"{args.command}: {exc.strerror or exc}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
