"""Ending an association: ABORT (RFC 9260 §9.1) and the graceful SHUTDOWN (§9.2).

A mixin of :class:`~sctpx.core.association.Association`: it reads and changes
the association's state through the same attributes and ``_set_state``.

Timer keys: ``("t2",)`` T2-shutdown, ``("t5",)`` T5-shutdown-guard.
"""

from __future__ import annotations

import errno

from .. import wire as w
from .config import Config
from .context import EndpointContext
from .datapath import DataPath
from .events import AssocChangeState, ShutdownEvent
from .path import Path
from .pathmgr import PathManager
from .states import State
from .timers import Timers
from .types import Addr

S = State


class Teardown:
    """ABORT and SHUTDOWN for the association that inherits it."""

    # Provided by the association:
    id: int
    ctx: EndpointContext
    cfg: Config
    state: State
    timers: Timers
    pm: PathManager
    data: DataPath | None
    peer_tsn: int
    _t2_dst: str
    _shutdown_src: str  # where the latest SHUTDOWN came from: its SHUTDOWN ACK goes there
    _shutdown_requested: bool

    # A property, as the association's (it lives in its PathManager): an attribute
    # declared here would be a slot of its own in a compiled (mypyc) build.
    @property
    def peer_tag(self) -> int:
        raise NotImplementedError

    @peer_tag.setter
    def peer_tag(self, tag: int) -> None:
        raise NotImplementedError

    def _set_state(self, new: State) -> None:
        raise NotImplementedError

    def _close(
        self, state: AssocChangeState, error: int = 0, causes: tuple[w.Cause, ...] = ()
    ) -> None:
        raise NotImplementedError

    def _reply(self, chunks: list[w.Chunk], vtag: int, src: Addr, dst: Addr) -> None:
        raise NotImplementedError

    @property
    def paths(self) -> dict[str, Path]:
        raise NotImplementedError

    # ----- the user's calls -----

    def abort(self, now: float, reason: bytes = b"") -> None:
        """The user aborts: ABORT to the peer (if it may have a TCB), then CLOSED (§9.1)."""
        if self.state is S.CLOSED:
            return
        if self.state is not S.COOKIE_WAIT and self.peer_tag:
            p = self.pm.current() or next(iter(self.paths.values()), None)
            if p is not None:
                self.pm.emit([w.AbortChunk((w.UserInitiatedAbort(reason),))], p)
        self._close(AssocChangeState.COMM_LOST, errno.ECONNABORTED)

    def shutdown(self, now: float) -> None:
        """The user's graceful close (§9.2): SHUTDOWN once everything sent is acknowledged.

        Decision: in COOKIE-WAIT the peer has no TCB yet, so the set-up just stops
        (reported as SHUTDOWN_COMP); in COOKIE-ECHOED it may have one, so set-up
        completes first and the SHUTDOWN follows (as Linux does).
        """
        if self.state is S.COOKIE_WAIT:
            self._close(AssocChangeState.SHUTDOWN_COMP)
        elif self.state is S.COOKIE_ECHOED:
            self._shutdown_requested = True
        elif self.state is S.ESTABLISHED:
            self._set_state(S.SHUTDOWN_PENDING)
            self.after_data(now)

    def after_data(self, now: float) -> None:
        """§9.2: once nothing is outstanding, SHUTDOWN-PENDING and -RECEIVED move on."""
        # Messages held back by a stream reset (RFC 6525 §5.1.2) are data not yet sent.
        if self.data is not None and (not self.data.sender.idle or self.data.held):
            return
        if self.state is S.SHUTDOWN_PENDING:
            self._set_state(S.SHUTDOWN_SENT)
            self.pm.stop()  # §8.3: no more heartbeats
            self._send_shutdown(now, self.pm.current())
            self.timers.start(("t5",), now + 5 * self.cfg.rto_max)
        elif self.state is S.SHUTDOWN_RECEIVED:
            self._set_state(S.SHUTDOWN_ACK_SENT)
            self.pm.stop()
            self.timers.stop(("t2",))
            # §6.4: a reply goes where the chunk it answers came from. Our primary may
            # be dead without our knowing (a receiver sends no data, so runs no T3).
            self._send_shutdown_ack(now, self.paths.get(self._shutdown_src))
            if not self.timers.running(("t5",)):
                self.timers.start(("t5",), now + 5 * self.cfg.rto_max)

    # ----- chunks -----

    def _cum_tsn_ack(self) -> int:
        if self.data is not None:
            return self.data.receiver.cum_tsn
        return (self.peer_tsn - 1) & 0xFFFFFFFF  # nothing received yet

    def _send_shutdown(self, now: float, p: Path | None) -> None:
        if p is None:
            return
        self.pm.emit([w.ShutdownChunk(self._cum_tsn_ack())], p)
        self.timers.start(("t2",), now + p.rto.rto)
        self._t2_dst = p.ip

    def _send_shutdown_ack(self, now: float, p: Path | None = None) -> None:
        p = p or self.pm.current()
        if p is None:
            return
        self.pm.emit([w.ShutdownAckChunk()], p)
        self.timers.start(("t2",), now + p.rto.rto)
        self._t2_dst = p.ip

    def _on_shutdown(self, chunk: w.ShutdownChunk, src: Addr, dst: Addr, now: float) -> None:
        self._shutdown_src = src[0]
        if self.data is not None and self.state in (S.ESTABLISHED, S.SHUTDOWN_PENDING,
                                                    S.SHUTDOWN_RECEIVED):  # fmt: skip
            self.data.cum_ack_from_shutdown(chunk.cum_tsn_ack, now)
        if self.state in (S.ESTABLISHED, S.SHUTDOWN_PENDING):
            self.ctx.events.append(ShutdownEvent(self.id))
            self._set_state(S.SHUTDOWN_RECEIVED)
            self.after_data(now)
        elif self.state is S.SHUTDOWN_SENT:  # both closed at once: answer at once
            self.ctx.events.append(ShutdownEvent(self.id))
            self._set_state(S.SHUTDOWN_ACK_SENT)
            self.timers.stop(("t2",))
            self._send_shutdown_ack(now, self.paths.get(src[0]) or self.pm.current())
        elif self.state is S.SHUTDOWN_ACK_SENT:
            # The peer did not get our SHUTDOWN ACK (its T2 resent the SHUTDOWN): answer
            # this one at once, to its source. Decision: RFC 9260 §9.2 is silent here;
            # as for an INIT in this state, the SHUTDOWN ACK is sent again (T2 goes on).
            p = self.paths.get(src[0])
            if p is not None:
                self.pm.emit([w.ShutdownAckChunk()], p)
        # set-up states: discarded (T1-11)

    def _on_shutdown_ack(self, chunk: w.ShutdownAckChunk, src: Addr, dst: Addr, now: float) -> None:
        if self.state in (S.SHUTDOWN_SENT, S.SHUTDOWN_ACK_SENT):  # §9.2
            self._reply([w.ShutdownCompleteChunk()], self.peer_tag, src, dst)
            self._close(AssocChangeState.SHUTDOWN_COMP)

    def _on_shutdown_complete(
        self, chunk: w.ShutdownCompleteChunk, src: Addr, dst: Addr, now: float
    ) -> None:
        if self.state is S.SHUTDOWN_ACK_SENT:  # §8.5.1 C
            self._close(AssocChangeState.SHUTDOWN_COMP)

    # ----- timers -----

    def _on_t2(self, now: float) -> None:
        """§9.2: resend SHUTDOWN or SHUTDOWN ACK, to an alternate path if there is one."""
        p = self.paths.get(self._t2_dst)
        if p is not None:
            self.pm.path_timeout(p, now, count_assoc=True)
        if self.pm.lost:
            self._close(AssocChangeState.COMM_LOST, errno.ETIMEDOUT)
            return
        nxt = self.pm.alternate(p.ip if p else None) or p
        if self.state is S.SHUTDOWN_SENT:
            self._send_shutdown(now, nxt)
        elif self.state is S.SHUTDOWN_ACK_SENT:
            self._send_shutdown_ack(now, nxt)

    def _on_t5(self, now: float) -> None:
        """§9.2 T5-shutdown-guard: give up on a graceful close, ABORT."""
        p = self.pm.current()
        if p is not None:
            self.pm.emit([w.AbortChunk()], p)
        self._close(AssocChangeState.COMM_LOST, errno.ETIMEDOUT)
