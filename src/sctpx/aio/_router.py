"""One core Endpoint on a stack and the aio associations that live on it.

The stack calls :meth:`Router.on_events` on the loop thread after every batch
that touched the endpoint (a datagram, a timer, an ICMP error, a call). It
hands each event to the :class:`~sctpx.aio.association.Association` named by
its id, lets a server take new associations, wakes writers waiting in
``drain()``, and closes the endpoint once nobody needs it. It never runs user
code: it only fills queues and wakes waiting coroutines.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core import AssocChange, AssocChangeState, Config, Endpoint
from . import _stacks
from ._stacks import Lease

if TYPE_CHECKING:
    from ..net import Stack
    from .association import Association

log = logging.getLogger("sctpx.aio")

# Called with a new association id (its COMM_UP in hand) on a listening endpoint;
# returns the Association that takes its events, or None to refuse it.
NewAssoc = Callable[[int, AssocChange], "Association | None"]


class Router:
    """Routes one endpoint's events; holds a lease on the stack while the endpoint is open."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.stack: Stack = lease.stack
        self.ep: Endpoint | None = None
        self.assocs: dict[int, Association] = {}
        self.draining: set[Association] = set()  # associations with a writer in drain()
        self.on_new: NewAssoc | None = None  # set by a server
        self.on_closed: Callable[[], None] | None = None  # the endpoint has been closed
        # True once no new association will come (a client after its connectx, a
        # server after close()): the endpoint closes when the last one has ended.
        self.closing = False
        self._kick_pending = False

    def open(self, port: int, addresses: list[str], config: Config) -> Endpoint:
        """Open the core endpoint (auto_consume=False: we say when the user has read)."""
        try:
            ep = self.stack.open_endpoint(port, addresses, config, self.on_events)
        except BaseException:
            self.lease.release()
            raise
        self.ep = ep
        _stacks.track(self.stack, self)
        return ep

    # ----- the stack's callback (loop thread, inside a batch) -----

    def on_events(self, ep: Endpoint) -> None:
        while (ev := ep.next_event()) is not None:
            aid = ev.assoc_id
            assoc = self.assocs.get(aid)
            if assoc is None:
                if not (
                    self.on_new is not None
                    and isinstance(ev, AssocChange)
                    and ev.state is AssocChangeState.COMM_UP
                ):
                    continue  # after its end, or one we refused: nobody listens
                assoc = self.on_new(aid, ev)
                if assoc is None:
                    continue
                self.assocs[aid] = assoc
            assoc._deliver(ev)
            if assoc.closed:
                self.assocs.pop(aid, None)
                self.draining.discard(assoc)
        for assoc in list(self.draining):
            assoc._check_drain()
        self.release_if_idle()

    # ----- helpers for the associations -----

    def kick(self) -> None:
        """Have the stack flush this endpoint and route its events at the next loop turn.

        ``send`` and ``consumed`` touch the endpoint directly (on the loop thread);
        sends of one turn then leave together, bundled, in one batch.
        """
        if not self._kick_pending and self.ep is not None and not self.stack.closed:
            self._kick_pending = True
            self.stack.call_soon(self._kicked, endpoint=self.ep)

    def _kicked(self, now: float) -> None:
        self._kick_pending = False

    def release_if_idle(self) -> None:
        """Close the endpoint once it is closing and no association is left on it."""
        ep = self.ep
        if ep is None or not self.closing or self.assocs or ep.associations:
            return
        self.ep = None
        _stacks.untrack(self.stack, self)
        self.stack.close_endpoint(ep)
        self.lease.release()
        if self.on_closed is not None:
            self.on_closed()

    def abort_all(self) -> None:
        """Abort every association on the endpoint and close it (close_stack)."""
        ep = self.ep
        if ep is None:
            return
        self.closing = True  # a server refuses new associations from now on
        if self.stack.closed:
            self._lost_stack()
            return

        def abort(now: float) -> None:
            for aid in list(ep.associations):
                with contextlib.suppress(OSError):
                    ep.abort(aid, now)

        try:
            self.stack.call(abort, endpoint=ep)  # on_events gets the events; it releases ep
        except OSError:
            self._lost_stack()
            return
        self.release_if_idle()

    def _lost_stack(self) -> None:
        """The stack was closed under us: end every association with EBADF-like silence."""
        for assoc in list(self.assocs.values()):
            assoc._stack_gone()
        self.assocs.clear()
        self.ep = None
        _stacks.untrack(self.stack, self)
        self.lease.release()
        if self.on_closed is not None:
            self.on_closed()
