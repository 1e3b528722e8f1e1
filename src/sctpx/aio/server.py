"""An SCTP server for asyncio: one listening endpoint, one handler task per association."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from ..api.rules import choose_backend as resolve_backend
from ..core import AssocChange, Config, UsageError
from ..net import Stack
from . import _stacks
from ._router import Router
from ._util import oserror
from .association import Association

log = logging.getLogger("sctpx.aio")

Handler = Callable[[Association], Awaitable[object]]


class Server:
    """Accepts associations on ``addresses`` and ``port``; made by :func:`start_server`.

    ``close()`` stops taking new associations (new INITs get an ABORT); the
    running ones go on until their handlers finish. When a handler returns or
    raises, its association is closed gracefully (aborted if it was cancelled).
    """

    def __init__(self, handler: Handler, router: Router) -> None:
        ep = router.ep
        assert ep is not None
        self._handler = handler
        self._router = router
        self._port = ep.port
        self._addresses = ep.addresses
        self._tasks: set[asyncio.Task[None]] = set()
        self._assocs: dict[int, Association] = {}
        self._serving = True
        self._closed = asyncio.get_running_loop().create_future()  # close() was called
        router.on_new = self._on_new

    # ----- the router's callback (loop thread, inside a stack batch) -----

    def _on_new(self, aid: int, ev: AssocChange) -> Association | None:
        ep = self._router.ep
        if ep is None:
            return None
        if not self._serving:  # its COOKIE ECHO was on the way when we closed
            with contextlib.suppress(UsageError):
                ep.abort(aid, self._router.stack.now())
            return None
        assoc = Association(self._router, aid, ep.association(aid))
        self._assocs[aid] = assoc
        task = asyncio.get_running_loop().create_task(self._run(assoc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return assoc

    async def _run(self, assoc: Association) -> None:
        try:
            await self._handler(assoc)
        except asyncio.CancelledError:
            assoc.abort()
            raise
        except Exception:
            log.exception("sctpx.aio: the handler of association %d failed", assoc.assoc_id)
        finally:
            self._assocs.pop(assoc.assoc_id, None)
        if not assoc.closed:
            await assoc.close()

    # ----- the public side -----

    @property
    def port(self) -> int:
        """The SCTP port (chosen by the stack when 0 was asked for)."""
        return self._port

    @property
    def addresses(self) -> list[str]:
        return list(self._addresses)

    @property
    def stack(self) -> Stack:
        """The stack; ``server.stack.udp_port`` is the UDP port clients must send to."""
        return self._router.stack

    @property
    def associations(self) -> list[Association]:
        """Associations whose handler is still running."""
        return list(self._assocs.values())

    def is_serving(self) -> bool:
        return self._serving

    def close(self) -> None:
        """Stop taking new associations. The endpoint closes when the last one has ended."""
        if not self._serving:
            return
        self._serving = False
        router = self._router
        ep = router.ep
        if ep is not None and not router.stack.closed:
            with contextlib.suppress(OSError):
                router.stack.call(lambda now: ep.listen(False), endpoint=ep)
        router.closing = True
        router.release_if_idle()
        if not self._closed.done():
            self._closed.set_result(None)

    def close_clients(self) -> None:
        """Start a graceful close of every running association (close() stays yours)."""
        for assoc in list(self._assocs.values()):
            asyncio.get_running_loop().create_task(assoc.close())

    def abort_clients(self) -> None:
        """Abort every running association."""
        for assoc in list(self._assocs.values()):
            assoc.abort()

    async def wait_closed(self) -> None:
        """Wait until close() was called and every handler task has finished."""
        await asyncio.wait({self._closed})
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def serve_forever(self) -> None:
        """Wait until the server is closed; cancelling this closes it."""
        try:
            await asyncio.wait({self._closed})
        except asyncio.CancelledError:
            self.close()
            raise

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        state = "serving" if self._serving else "closed"
        return f"<sctpx.aio.Server {self._addresses}:{self._port} {state}>"


async def start_server(
    handler: Handler,
    addrs: Sequence[str] | str,
    port: int,
    *,
    udp_port: int | None = None,
    stack: Stack | None = None,
    transport: str | None = None,
    streams: int | None = None,
    config: Config | None = None,
    backend: str | None = None,
) -> Server:
    """Listen on SCTP ``port`` (0: an ephemeral one, see ``server.port``) at ``addrs`` (IPs).

    ``handler(assoc)`` runs as a task for every new association, from its
    COMM_UP on. ``udp_port`` / ``transport`` / ``stack`` choose the stack as for connectx;
    ``streams`` is the number of outbound streams offered; ``config`` the
    endpoint defaults. Raises OSError: EINVAL, EADDRINUSE, EADDRNOTAVAIL.
    ``backend``: ``"user"`` or ``"kernel"`` (the OS's SCTP, see sctpx/aio/kernel.py);
    default ``$SCTPX_BACKEND``, else ``"user"``.
    """
    if resolve_backend(backend, stack) == "kernel":
        from . import kernel

        return await kernel.start_server(
            handler, addrs, port, streams=streams, udp_port=udp_port, stack=stack,
            transport=transport, config=config,
        )  # fmt: skip
    ips = [addrs] if isinstance(addrs, str) else list(addrs)
    if not ips:
        raise oserror(errno.EINVAL, "a server needs at least one local address")
    cfg = replace(config) if config is not None else Config()
    if streams is not None:
        cfg.num_ostreams = streams
    router = Router(_stacks.acquire(stack, udp_port, transport))
    ep = router.open(port, ips, cfg)
    server = Server(handler, router)
    router.on_closed = server.close
    router.stack.call(lambda now: ep.listen(), endpoint=ep)
    return server
