"""Calls from a user's thread onto the stack's loop, many per wake-up.

A blocking socket's ``sctp_send`` and ``sctp_recv`` each have work for the stack's
thread (queue the message; free the bytes read from the receive window). Posting
each on its own costs a wake-up of the loop (a write to its self-pipe), a switch of
threads and a flush of every endpoint per message: the sockets API then spent more
than twice the CPU per message of the asyncio API (bench/compare.py). A
:class:`Batch` queues the calls and posts one runner while none is pending; the
runner takes everything queued by the time it runs, in order, and the stack flushes
once after it (so the packets of a batch are bundled and sent together).

Order: calls of one Batch run in the order they were posted. A later blocking
``Stack.call`` from the same thread runs after them (the runner was posted first,
or is running and drains the queue before the loop takes the next callback).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from ..core import Endpoint
from ..net import Stack

log = logging.getLogger("sctpx.api")


class Batch:
    """An ordered queue of ``fn(now)`` calls for the stack's thread, posted lazily."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._calls: deque[Callable[[float], object]] = deque()
        self._posted = False
        # The one endpoint every call touches, so the stack settles only it; None once
        # calls named different ones (then the stack looks at all of them).
        self._endpoint: Endpoint | None = None
        self._mixed = False

    def post(self, fn: Callable[[float], object], endpoint: Endpoint | None = None) -> None:
        """Queue ``fn(now)``, which touches ``endpoint`` only (None: any); returns at once.

        Errors it raises are logged, not lost silently.
        """
        if not self._mixed and endpoint is not self._endpoint:
            if self._endpoint is None and endpoint is not None and not self._calls:
                self._endpoint = endpoint
            else:
                # From now on every runner settles all endpoints; post one now too, in
                # case a runner bound to the first endpoint takes this call.
                self._mixed, self._endpoint, self._posted = True, None, False
        self._calls.append(fn)  # deque appends and pops are atomic: no lock needed
        if not self._posted:
            self._posted = True
            self._stack.call_soon(self._run, endpoint=self._endpoint)

    def _run(self, now: float) -> None:
        # Reset first: a call queued from now on either is taken by the loop below or
        # sees the flag down and posts a runner of its own (never neither).
        self._posted = False
        calls = self._calls
        while calls:
            fn = calls.popleft()
            try:
                fn(now)
            except Exception:
                log.exception("sctpx: error in a queued socket call")
