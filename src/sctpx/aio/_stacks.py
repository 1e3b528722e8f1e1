"""Which Stack an asyncio association or server runs on, and who closes it.

Rules (see docs/aio.md, "Stacks"):

* ``stack=`` given: the caller's stack. It must run on the running loop; the
  aio layer never closes it (``close_stack(stack)`` ends our associations on
  it and closes it when asked).
* otherwise a *default* stack of the running loop: ``udp_port`` (argument,
  else ``$SCTPX_UDP_PORT``, else 9899) picks the shared stack of that loop and
  port; ``udp_port=0`` makes a private stack on a fresh ephemeral port.
* A default stack counts its users (each client association and each server
  holds one *lease* while its core endpoint is open) and closes itself one
  loop turn after the last user is gone. ``close_stack()`` closes at once.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import weakref
from typing import TYPE_CHECKING

from ..net import DEFAULT_UDP_PORT, TRANSPORT_ENV, TRANSPORTS, UDP_PORT_ENV, Stack, transport_env

if TYPE_CHECKING:
    from ._router import Router


class _Shared:
    """A default stack and how many leases it has out."""

    __slots__ = ("key", "stack", "users")

    def __init__(
        self, stack: Stack, key: tuple[asyncio.AbstractEventLoop, str, int] | None
    ) -> None:
        self.stack = stack
        self.key = key  # None: a private stack (udp_port=0)
        self.users = 0


class Lease:
    """One user's hold on a stack; :meth:`release` once (later calls do nothing)."""

    __slots__ = ("_shared", "stack")

    def __init__(self, stack: Stack, shared: _Shared | None) -> None:
        self.stack = stack
        self._shared = shared  # None: the caller's own stack, never closed here

    def release(self) -> None:
        shared, self._shared = self._shared, None
        if shared is None:
            return
        shared.users -= 1
        if shared.users <= 0:
            # One turn later: the batch that ended the last association finishes
            # first, and a new user in the meantime keeps the stack alive.
            try:
                self.stack.loop.call_soon(_close_if_unused, shared)
            except RuntimeError:  # the loop is closed: nobody will come back
                _close_if_unused(shared)


_lock = threading.Lock()  # loops on other threads may use the registry at the same time
_shared_by_key: dict[tuple[asyncio.AbstractEventLoop, str, int], _Shared] = {}
_defaults: dict[Stack, _Shared] = {}  # every default stack, shared or private
_routers: weakref.WeakKeyDictionary[Stack, set[Router]] = weakref.WeakKeyDictionary()


def env_udp_port() -> int:
    """``$SCTPX_UDP_PORT`` if set, else 9899 (RFC 6951 §5.1, the sctp-tunneling port)."""
    raw = os.environ.get(UDP_PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_UDP_PORT
    try:
        port = int(raw)
    except ValueError:
        raise OSError(errno.EINVAL, f"{UDP_PORT_ENV}={raw!r} is not a UDP port") from None
    if not 0 <= port < 65536:
        raise OSError(errno.EINVAL, f"{UDP_PORT_ENV}={raw!r} is not a UDP port")
    return port


def env_transport() -> str:
    """``$SCTPX_TRANSPORT`` (``udp`` or ``ip``), else ``udp``; EINVAL for anything else."""
    name = transport_env()
    if name not in TRANSPORTS:
        raise OSError(errno.EINVAL, f"{TRANSPORT_ENV}={name!r}: not one of {TRANSPORTS}")
    return name


def acquire(stack: Stack | None, udp_port: int | None, transport: str | None = None) -> Lease:
    """A lease on the stack to use from the running loop (see the module rules).

    Over raw IP (``transport="ip"``) there is no UDP port: one shared stack per loop.
    """
    loop = asyncio.get_running_loop()
    if stack is not None:
        if stack.closed:
            raise OSError(errno.EBADF, "the SCTP stack is closed")
        if stack.loop is not loop:
            raise OSError(errno.EINVAL, "the stack runs on another event loop (or thread)")
        return Lease(stack, None)
    kind = env_transport() if transport is None else transport
    if kind not in TRANSPORTS:
        raise OSError(errno.EINVAL, f"transport {kind!r}: not one of {TRANSPORTS}")
    if kind == "ip":
        if udp_port:
            raise OSError(errno.EINVAL, "udp_port is for the UDP transport, not transport='ip'")
        port = 0
    else:
        port = env_udp_port() if udp_port is None else udp_port
    if not 0 <= port < 65536:
        raise OSError(errno.EINVAL, f"udp_port {port} out of range")
    _purge_dead_loops()
    with _lock:
        key = (loop, kind, port) if port or kind == "ip" else None
        shared = _shared_by_key.get(key) if key is not None else None
        if shared is None or shared.stack.closed:
            shared = _Shared(Stack(transport=kind, udp_port=port, loop=loop), key)
            _defaults[shared.stack] = shared
            if key is not None:
                _shared_by_key[key] = shared
        shared.users += 1
    return Lease(shared.stack, shared)


def _close_if_unused(shared: _Shared) -> None:
    if shared.users > 0:
        return
    _forget(shared)
    shared.stack.close()


def _forget(shared: _Shared) -> None:
    with _lock:
        _defaults.pop(shared.stack, None)
        if shared.key is not None and _shared_by_key.get(shared.key) is shared:
            del _shared_by_key[shared.key]


def _purge_dead_loops() -> None:
    """Close default stacks whose loop has been closed (their users never let go)."""
    with _lock:
        dead = [s for s in _defaults.values() if s.stack.loop.is_closed()]
    for shared in dead:
        _forget(shared)
        shared.stack.close()


def track(stack: Stack, router: Router) -> None:
    """Remember that ``router`` has an endpoint on ``stack`` (for :func:`close_stack`)."""
    _routers.setdefault(stack, set()).add(router)


def untrack(stack: Stack, router: Router) -> None:
    routers = _routers.get(stack)
    if routers is not None:
        routers.discard(router)


def default_stacks(udp_port: int | None = None) -> list[Stack]:
    """The default stacks of the running loop (those on ``udp_port`` only, if given)."""
    loop = asyncio.get_running_loop()
    with _lock:
        found = [s.stack for s in _defaults.values() if s.stack.loop is loop]
    return [s for s in found if udp_port is None or s.udp_port == udp_port]


async def close_stack(stack: Stack | None = None, *, udp_port: int | None = None) -> None:
    """Abort every aio association and server on the stack(s), then close them.

    With ``stack``: that stack (a default one or your own). Without: every
    default stack of the running loop, or only the one on ``udp_port``. Servers
    on them stop; associations end with ECONNABORTED (their peers get an ABORT).
    """
    targets = [stack] if stack is not None else default_stacks(udp_port)
    for st in targets:
        for router in list(_routers.get(st, ())):
            router.abort_all()
        shared = _defaults.get(st)
        if shared is not None:
            _forget(shared)
        st.close()
    await asyncio.sleep(0)  # let tasks waiting on those associations see the end
