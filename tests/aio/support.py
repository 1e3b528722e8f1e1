"""Shared pieces of the asyncio tests: run a coroutine with a bound, an echo server, a client.

pytest-asyncio is not used: each test calls :func:`run`, which runs its coroutine
with ``asyncio.run`` under ``asyncio.wait_for`` and closes the loop's default stacks
afterwards. Everything stays on loopback: servers on 127.0.0.2 and 127.0.0.3; 127.0.0.9
has nobody on the UDP port, so the kernel refuses it with ICMP port unreachable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import sctpx.aio as aio

T = TypeVar("T")
S1, S2, DEAD, HOLE, HOLE2 = "127.0.0.2", "127.0.0.3", "127.0.0.9", "127.0.0.5", "127.0.0.6"
WAIT = 5.0  # the longest any single wait may take


def run(main: Callable[[], Coroutine[Any, Any, T]], timeout: float = 15.0) -> T:
    """Run ``main()`` on a fresh loop, bounded by ``timeout``; close its default stacks."""

    async def bounded() -> T:
        try:
            return await asyncio.wait_for(main(), timeout)
        finally:
            await aio.close_stack()

    return asyncio.run(bounded())


async def wait(aw: Any, timeout: float = WAIT) -> Any:
    return await asyncio.wait_for(aw, timeout)


async def echo(assoc: aio.Association) -> None:
    """Send every message back on its stream, with its ppid and unordered flag."""
    async for msg in assoc:
        assoc.send(msg.data, stream=msg.stream, ppid=msg.ppid, unordered=msg.unordered)
        await assoc.drain()


async def serve(handler: aio.server.Handler = echo, **kw: Any) -> aio.Server:
    """A server on S1 and S2, ephemeral SCTP port, its own stack on an ephemeral UDP port."""
    kw.setdefault("udp_port", 0)
    return await aio.start_server(handler, kw.pop("addrs", [S1, S2]), 0, **kw)


async def serve_into(got: asyncio.Queue[aio.Message], **kw: Any) -> aio.Server:
    """A server (as :func:`serve`) whose handler puts every message it reads into ``got``."""

    async def sink(assoc: aio.Association) -> None:
        async for msg in assoc:
            await got.put(msg)

    return await serve(sink, **kw)


async def connect(server: aio.Server, ips: list[str] | None = None, **kw: Any) -> aio.Association:
    """connectx to ``server`` at ``ips`` (S1, S2 by default) from a stack of its own."""
    kw.setdefault("udp_port", 0)
    kw.setdefault("remote_udp_port", server.stack.udp_port)
    addrs = [(ip, server.port) for ip in (ips or [S1, S2])]
    assoc: aio.Association = await wait(aio.connectx(addrs, **kw))
    return assoc
