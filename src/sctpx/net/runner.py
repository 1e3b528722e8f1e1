"""The stack's asyncio loop: its own on a daemon thread, or the caller's; calls from any thread.

Rules (the whole of the stack's threading):

* Everything that touches an Endpoint runs on the loop thread.
* :meth:`LoopRunner.run` runs a function there and returns its result (or
  raises its exception) to the calling thread; on the loop thread itself it
  runs inline, so a callback of the stack may call it without deadlock.
* :meth:`LoopRunner.post` schedules a function there and returns at once.
* The only lock guards the "closed" flag, the set of waiting callers and the
  lazy start; it is never held while a user function or callback runs.
* :meth:`LoopRunner.close` may be called from any thread, any number of
  times. Callers still waiting get ``OSError(EBADF)``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("sctpx.net")
JOIN_TIMEOUT = 5.0


def closed_error() -> OSError:
    return OSError(errno.EBADF, "the SCTP stack is closed")


class LoopRunner:
    """Owns (or borrows) the event loop and moves calls onto its thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None, name: str = "sctpx-stack") -> None:
        self._own = loop is None
        self._loop = loop
        self._name = name
        self._lock = threading.Lock()
        self._closed = False
        self._finished = False  # the final cleanup has run
        self._thread: threading.Thread | None = None
        self._ident: int | None = None
        self._pending: set[concurrent.futures.Future[Any]] = set()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def started(self) -> bool:
        """Whether the loop exists (an own loop is created on first use)."""
        return self._loop is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop; an own loop and its thread are started here on first use."""
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._closed:
                raise closed_error()
            if self._loop is None:
                self._start_thread()
            assert self._loop is not None
            return self._loop

    def _start_thread(self) -> None:
        """Create the loop and its daemon thread; called with the lock held."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        thread = threading.Thread(target=self._main, args=(loop, ready), name=self._name)
        thread.daemon = True
        thread.start()
        ready.wait()
        self._thread = thread
        self._loop = loop

    def _main(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        self._ident = threading.get_ident()
        ready.set()
        try:
            loop.run_forever()
        finally:
            self._fail_pending()
            loop.close()

    def on_loop_thread(self) -> bool:
        """True on the thread that runs (or, for a borrowed idle loop, may run) the loop."""
        if self._own:
            return self._ident is not None and threading.get_ident() == self._ident
        loop = self._loop
        assert loop is not None
        try:
            return asyncio.get_running_loop() is loop
        except RuntimeError:  # no loop running on this thread
            # A borrowed loop that nobody runs right now: its owner is the caller.
            return not loop.is_running()

    def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the loop thread and return its result (re-raise its exception)."""
        if self.on_loop_thread():
            if self._closed:
                raise closed_error()
            return fn()
        loop = self.loop
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def task() -> None:
            with self._lock:  # whoever takes fut out of _pending completes it
                if fut not in self._pending:
                    return
                self._pending.discard(fut)
            if not fut.set_running_or_notify_cancel():
                return
            if self._closed:
                fut.set_exception(closed_error())
                return
            try:
                result = fn()
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)

        with self._lock:
            if self._closed:
                raise closed_error()
            self._pending.add(fut)
            try:
                loop.call_soon_threadsafe(task)
            except RuntimeError:  # the loop was closed under us
                self._pending.discard(fut)
                raise closed_error() from None
        return fut.result()

    def post(self, fn: Callable[[], object]) -> None:
        """Schedule ``fn()`` on the loop thread; errors are logged; ignored once closed."""
        if self._closed:
            return
        try:
            loop = self.loop
            loop.call_soon_threadsafe(self._guarded, fn)
        except (RuntimeError, OSError):  # closed meanwhile
            return

    def _guarded(self, fn: Callable[[], object]) -> None:
        # Work posted before close() still runs (it is ahead of the final cleanup in the
        # loop's queue): a socket's last data and its SHUTDOWN are not lost.
        if self._finished:
            return
        try:
            fn()
        except Exception:
            log.exception("sctpx: error in a function given to Stack.call_soon")

    def close(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup()`` on the loop thread, stop an own loop and its thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop = self._loop
        if loop is None:  # an own loop never started: nothing runs anywhere
            cleanup()
            return
        if self.on_loop_thread():
            try:
                cleanup()
            finally:
                self._finished = True
                if self._own:
                    loop.stop()  # run_forever returns after this callback; the thread ends
            return
        done = threading.Event()

        def final() -> None:
            try:
                cleanup()
            finally:
                self._finished = True
                done.set()
                if self._own:
                    loop.stop()

        try:
            loop.call_soon_threadsafe(final)
        except RuntimeError:  # the loop is already closed
            cleanup()
            done.set()
        if self._own:
            assert self._thread is not None
            self._thread.join(JOIN_TIMEOUT)
            if self._thread.is_alive():
                log.warning("sctpx: the stack's loop thread did not stop within %s s", JOIN_TIMEOUT)
            self._fail_pending()
        elif not done.wait(JOIN_TIMEOUT):
            log.warning("sctpx: the stack's loop did not run its close within %s s", JOIN_TIMEOUT)

    def _fail_pending(self) -> None:
        """Wake callers whose function will never run now."""
        with self._lock:
            pending, self._pending = self._pending, set()
        for fut in pending:
            if fut.set_running_or_notify_cancel():
                fut.set_exception(closed_error())
