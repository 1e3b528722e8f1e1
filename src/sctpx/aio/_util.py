"""Small helpers of the asyncio layer: a wake-up signal and errno-shaped errors."""

from __future__ import annotations

import asyncio
import errno
import os

from ..core.errors import UsageError


class Signal:
    """Wakes every coroutine waiting in :meth:`wait` when :meth:`fire` is called.

    Waiters re-check their own condition after waking, so spurious wake-ups are
    harmless; a cancelled waiter leaves nothing behind.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def waiting(self) -> bool:
        return bool(self._waiters)

    async def wait(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)

    def fire(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


def oserror(code: int, message: str) -> OSError:
    """``OSError(code, ...)``: Python picks the subclass (ConnectionResetError ...)."""
    return OSError(code, f"{os.strerror(code)}: {message}")


def from_usage(e: UsageError) -> OSError:
    """The core's UsageError as the plain OSError subclass its errno stands for."""
    return oserror(e.errno or errno.EINVAL, str(e.strerror))
