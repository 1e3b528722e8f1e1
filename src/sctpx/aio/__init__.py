"""``sctpx.aio``: SCTP for asyncio, on the caller's event loop, with no background thread.

::

    import sctpx.aio

    async def echo(assoc: sctpx.aio.Association) -> None:
        async for msg in assoc:
            assoc.send(msg.data, stream=msg.stream, ppid=msg.ppid)
            await assoc.drain()

    server = await sctpx.aio.start_server(echo, ["127.0.0.2", "127.0.0.3"], 5000)
    async with await sctpx.aio.connectx([("127.0.0.2", 5000), ("127.0.0.3", 5000)]) as assoc:
        assoc.send(b"hi", ppid=46)
        print((await assoc.recv()).data)

See docs/aio.md for the whole API and its rules (stacks, flow control, ends, cancellation).
``backend="kernel"`` (or ``SCTPX_BACKEND=kernel``) runs the same API on the OS's own
SCTP (sctpx/aio/kernel.py; docs/aio.md, "Kernel backend").
"""

from __future__ import annotations

from ._stacks import close_stack, default_stacks
from .association import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_HIGH_WATER,
    Association,
    Message,
    PathInfo,
    connectx,
)
from .server import Server, start_server
from .streams import StreamReader, StreamWriter, open_connection, start_stream_server

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_HIGH_WATER",
    "Association",
    "Message",
    "PathInfo",
    "Server",
    "StreamReader",
    "StreamWriter",
    "close_stack",
    "connectx",
    "default_stacks",
    "open_connection",
    "start_server",
    "start_stream_server",
]
