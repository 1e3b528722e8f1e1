"""The ``sctpx`` command line, one module per command.

Each command module has ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args, out) -> int`` (the exit status); :mod:`sctpx.__main__` builds the
argparse parser from :data:`COMMAND_MODULES` and turns :class:`CliError` and
``OSError`` into one line on stderr.
"""

from __future__ import annotations

from . import bench, connect, decode_demo, demo, listen

COMMAND_MODULES = (demo, listen, connect, bench, decode_demo)

__all__ = ["COMMAND_MODULES"]
