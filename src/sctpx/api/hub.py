"""One core Endpoint shared by the sockets that use it, and the routing of its events.

A one-to-many socket owns its endpoint alone until it peels associations off;
a listening one-to-one socket shares its endpoint with every socket accept()
returns. The hub runs on the stack's loop thread: it drains the endpoint's
events and hands each to the socket that owns the association it names.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

from ..core import AssocChange, AssocChangeState, Endpoint, Event

if TYPE_CHECKING:
    from ..net import Stack


class Owner(Protocol):
    """What the hub needs of a socket."""

    def _deliver(self, ev: Event) -> None: ...

    def _accept_ready(self) -> None: ...

    @property
    def _accepting(self) -> bool: ...


class Hub:
    """The endpoint, its main socket, and which socket owns which association."""

    def __init__(self, stack: Stack, main: Owner) -> None:
        self.stack = stack
        self.main = main
        self.ep: Endpoint | None = None
        self.owner: dict[int, Owner] = {}
        self.backlog: deque[int] = deque()  # one-to-one: associations waiting for accept()
        self.pending: dict[int, list[Event]] = {}  # their events until then
        self.peers: dict[int, tuple[str, int]] = {}  # their primary peer address at COMM_UP
        self.sockets = 1  # how many sockets use the endpoint

    def on_events(self, ep: Endpoint) -> None:
        """Loop thread: route every event the endpoint has to its socket."""
        while (ev := ep.next_event()) is not None:
            aid = ev.assoc_id
            sock = self.owner.get(aid)
            if sock is not None:
                sock._deliver(ev)
            elif aid in self.pending:
                self.pending[aid].append(ev)
            elif (
                self.main._accepting
                and isinstance(ev, AssocChange)
                and ev.state is AssocChangeState.COMM_UP
            ):
                self.backlog.append(aid)  # a new association for accept()
                self.pending[aid] = [ev]
                a = ep.associations.get(aid)
                if a is not None and a.pm.primary is not None:
                    self.peers[aid] = (a.pm.primary, a.peer_port)
                self.main._accept_ready()
            else:
                self.main._deliver(ev)

        self.release_if_idle()

    def release_if_idle(self) -> None:
        """Loop thread: close the endpoint once no socket uses it and no association is left."""
        ep = self.ep
        if ep is not None and self.sockets <= 0 and not ep.associations:
            self.ep = None
            self.stack.close_endpoint(ep)

    def take(self, aid: int, sock: Owner) -> list[Event]:
        """Give association ``aid`` to ``sock`` (accept, peeloff); its waiting events go along."""
        self.owner[aid] = sock
        return self.pending.pop(aid, [])
