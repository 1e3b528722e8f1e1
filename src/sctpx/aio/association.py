"""An SCTP association for asyncio: ``await connectx(...)``, ``send``/``drain``, ``recv``, events.

Everything runs on the caller's event loop, on the loop's thread: the stack
feeds the core from ``loop.add_reader`` callbacks and one ``call_at`` timer,
and this module only moves messages between the core and coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..api.rules import choose_backend as resolve_backend
from ..core import (
    AssocChange,
    AssocChangeState,
    Config,
    DataReceived,
    Endpoint,
    Event,
    ShutdownEvent,
    StreamChangeEvent,
    UsageError,
)
from ..core.reconfig import Reconfig
from ..net import Stack
from . import _stacks
from ._router import Router
from ._util import Signal, from_usage, oserror

if TYPE_CHECKING:
    from ..core.association import Association as CoreAssociation

DEFAULT_HIGH_WATER = 64 * 1024  # drain() waits while more than this is unsent ...
DEFAULT_CLOSE_TIMEOUT = 30.0  # close(): seconds for the SHUTDOWN exchange before ABORT
MAX_PENDING_EVENTS = 4096  # notifications kept for events(); the oldest go first

_ENDS = (
    AssocChangeState.COMM_LOST,
    AssocChangeState.SHUTDOWN_COMP,
    AssocChangeState.CANT_STR_ASSOC,
)


@dataclass(frozen=True, slots=True)
class Message:
    """One user message as :meth:`Association.recv` returns it (``ppid`` in host order).

    ``complete`` is False for a part of a message too large for our receive buffer
    (partial delivery): its parts come in order, the last with ``complete`` True; with
    DATA nothing else comes between them, with I-DATA (:attr:`Association.interleaving`)
    parts and messages of other streams may (``stream`` says which message a part
    continues). A message up to half the buffer is always whole.
    ``ssn`` is its stream sequence number (0 for unordered ones; it starts again at 0
    after a stream reset, RFC 6525).
    """

    data: bytes
    stream: int
    ppid: int
    unordered: bool
    assoc_id: int
    complete: bool = True
    ssn: int = 0


@dataclass(frozen=True, slots=True)
class PathInfo:
    """One peer address of an association, as :meth:`Association.paths` reports it.

    ``state`` is ``"ACTIVE"``, ``"PF"`` (potentially failed, RFC 7829),
    ``"INACTIVE"`` or ``"UNCONFIRMED"`` (not yet verified, RFC 9260 §5.4).
    ``srtt`` and ``rto`` are seconds (``srtt`` None until measured); ``cwnd``
    is bytes, 0 until data has been sent to the path.
    """

    address: str
    state: str
    srtt: float | None
    rto: float
    cwnd: int
    confirmed: bool
    primary: bool


class Association:
    """One SCTP association on the running loop; made by :func:`connectx` or a server."""

    def __init__(self, router: Router, assoc_id: int, core: CoreAssociation) -> None:
        ep = router.ep
        assert ep is not None
        self._router = router
        self._stack = router.stack
        self._ep: Endpoint = ep
        self._aid = assoc_id
        self._core = core  # read for paths and queue sizes; changed only through the endpoint
        self._local = [(ip, ep.port) for ip in ep.addresses]
        loop = asyncio.get_running_loop()
        self._up: asyncio.Future[AssocChange] = loop.create_future()
        self._done: asyncio.Future[None] = loop.create_future()
        self._messages: deque[DataReceived] = deque()
        self._events: deque[Event] = deque(maxlen=MAX_PENDING_EVENTS)
        self._end: AssocChange | None = None
        self._error = 0  # the errno that ended it, 0 if it ended gracefully (or lives)
        self._peer_shutdown = False  # the peer sent SHUTDOWN: nothing more will come
        self._closing = False  # close() was called
        self._data_sig = Signal()
        self._event_sig = Signal()
        self._drain_sig = Signal()
        self._high = DEFAULT_HIGH_WATER
        self._low = DEFAULT_HIGH_WATER // 4
        self._ostreams = 0
        self._istreams = 0

    # ----- events from the router (loop thread, inside a stack batch) -----

    def _deliver(self, ev: Event) -> None:
        if type(ev) is DataReceived:
            self._messages.append(ev)
            self._data_sig.fire()
            return
        self._events.append(ev)
        self._event_sig.fire()
        if isinstance(ev, AssocChange):
            if ev.state in _ENDS:
                self._finish(ev)
            else:  # COMM_UP, RESTART
                self._ostreams, self._istreams = ev.outbound_streams, ev.inbound_streams
                if not self._up.done():
                    self._up.set_result(ev)
        elif isinstance(ev, ShutdownEvent):
            self._peer_shutdown = True
            self._data_sig.fire()
        elif isinstance(ev, StreamChangeEvent):  # RFC 6525: streams were added
            self._ostreams, self._istreams = ev.outbound_streams, ev.inbound_streams

    def _finish(self, ev: AssocChange) -> None:
        if self._end is not None:
            return
        self._end = ev
        if ev.state is not AssocChangeState.SHUTDOWN_COMP:
            self._error = ev.error or errno.ECONNRESET
        if not self._up.done():
            self._up.set_result(ev)
        self._done.set_result(None)
        for sig in (self._data_sig, self._event_sig, self._drain_sig):
            sig.fire()

    def _end_error(self) -> OSError | None:
        """A fresh exception for the error that ended it (None: a graceful end, or alive)."""
        return oserror(self._error, f"association {self._aid} ended") if self._error else None

    def _check_drain(self) -> None:
        if self._drain_sig.waiting and (self._end is not None or self._unsent() <= self._low):
            self._drain_sig.fire()

    def _stack_gone(self, code: int = errno.EBADF) -> None:
        """The stack was closed under the association: it ends here, without a word on the wire."""
        ev = AssocChange(self._aid, AssocChangeState.COMM_LOST, code)
        self._events.append(ev)
        self._finish(ev)

    # ----- identity -----

    @property
    def assoc_id(self) -> int:
        return self._aid

    @property
    def stack(self) -> Stack:
        return self._stack

    @property
    def local_addresses(self) -> list[tuple[str, int]]:
        """Our addresses: ``(ip, sctp_port)`` of the endpoint."""
        return list(self._local)

    @property
    def peer_addresses(self) -> list[tuple[str, int]]:
        """The peer's addresses, ``(ip, sctp_port)`` (as they were at the end, once ended)."""
        port = self._core.peer_port
        return [(ip, port) for ip in self._core.paths]

    @property
    def primary_address(self) -> tuple[str, int] | None:
        prim = self._core.pm.primary
        return None if prim is None else (prim, self._core.peer_port)

    @property
    def outbound_streams(self) -> int:
        return self._ostreams

    @property
    def inbound_streams(self) -> int:
        return self._istreams

    @property
    def interleaving(self) -> bool:
        """True if it uses I-DATA (RFC 8260): both ends offered it (``Config.interleaving``)."""
        return self._core.interleaving

    @property
    def closed(self) -> bool:
        """True once the association has ended (SHUTDOWN_COMP, COMM_LOST ...)."""
        return self._end is not None

    def is_closing(self) -> bool:
        """True once it has ended, ``close()`` was called, or the peer shut down."""
        return self._end is not None or self._closing or self._peer_shutdown

    @property
    def end_event(self) -> AssocChange | None:
        """The AssocChange that ended it (None while it lives)."""
        return self._end

    def paths(self) -> list[PathInfo]:
        """Every peer address with its state, SRTT, RTO, cwnd and primary flag."""
        a = self._core
        sender = a.data.sender if a.data is not None else None
        out: list[PathInfo] = []
        for ip, p in list(a.paths.items()):
            state = p.reach.value if p.confirmed else "UNCONFIRMED"
            tx = sender.tx.get(ip) if sender is not None else None
            cwnd = tx.cc.cwnd if tx is not None else 0
            out.append(
                PathInfo(ip, state, p.rto.srtt, p.rto.rto, cwnd, p.confirmed, ip == a.pm.primary)
            )
        return out

    # ----- sending -----

    def _check_sendable(self) -> None:
        if self._end is not None:
            raise self._end_error() or oserror(errno.EPIPE, "the association has been shut down")
        if self._closing or self._peer_shutdown:
            raise oserror(errno.EPIPE, "the association is shutting down")
        self._check_carrier()

    def _check_carrier(self) -> None:
        """What carries the association is still there (the userspace stack)."""
        if self._stack.closed:
            raise oserror(errno.EBADF, "the SCTP stack is closed")

    def send(
        self,
        data: bytes | bytearray | memoryview,
        *,
        stream: int = 0,
        ppid: int = 0,
        unordered: bool = False,
        ttl: float | None = None,
    ) -> None:
        """Queue one message; it leaves at the next loop turn. Never blocks: pair with drain().

        ``ttl`` (seconds, > 0) asks for partial reliability (RFC 3758): the message
        is abandoned if not sent and acknowledged in time. Errors queue nothing:
        EINVAL (empty message, bad stream or ppid, ttl <= 0), EPIPE (shutting down or
        shut down), or the error that ended the association (ECONNRESET ...).
        """
        self._check_sendable()
        if not isinstance(data, (bytes, bytearray, memoryview)) or not len(data):
            raise oserror(errno.EINVAL, "a message is non-empty bytes")
        if not 0 <= stream < self._ostreams:
            raise oserror(errno.EINVAL, f"stream {stream} not in 0..{self._ostreams - 1}")
        if not 0 <= ppid <= 0xFFFFFFFF:
            raise oserror(errno.EINVAL, "ppid must fit 32 bits")
        if ttl is not None and not ttl > 0:
            raise oserror(errno.EINVAL, "ttl must be None or > 0 seconds")
        try:
            self._ep.send(
                self._aid,
                bytes(data),
                self._stack.now(),
                stream=stream,
                ppid=ppid,
                unordered=unordered,
                ttl=ttl,
            )
        except UsageError as e:
            raise from_usage(e) from None
        self._router.kick()

    def _unsent(self) -> int:
        d = self._core.data
        return d.sender.queued_bytes if d is not None else 0

    def get_write_buffer_size(self) -> int:
        """Bytes queued and not yet sent once (what drain() measures)."""
        return self._unsent()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """drain() waits while more than ``high`` bytes are unsent, until at most ``low``."""
        high = DEFAULT_HIGH_WATER if high is None else high
        low = high // 4 if low is None else low
        if not 0 <= low <= high:
            raise ValueError(f"need 0 <= low ({low}) <= high ({high})")
        self._high, self._low = high, low
        self._check_drain()

    async def drain(self) -> None:
        """Wait until the unsent queue is at or below the high-water mark (flow control).

        Once over the mark it waits until the queue is down to the low-water mark.
        A closed peer window (a slow reader) keeps it waiting. Raises the error that
        ended the association, if one did.
        """
        if self._end is None and self._unsent() <= self._high:
            return
        draining = self._router.draining
        try:
            while self._end is None and self._unsent() > self._low:
                draining.add(self)  # the router checks the queue after every batch
                await self._drain_sig.wait()
        finally:
            if not self._drain_sig.waiting:
                draining.discard(self)
        if (err := self._end_error()) is not None:
            raise err

    # ----- receiving -----

    def _consume(self, nbytes: int) -> None:
        """The user took ``nbytes``: free them in the receive window (§6.2)."""
        if self._end is None:
            with contextlib.suppress(UsageError):  # after a RESTART the old bytes are gone
                self._ep.consumed(self._aid, nbytes)
            self._router.kick()

    def _raise_end(self) -> None:
        if (err := self._end_error()) is not None:
            raise err
        if self._end is not None or self._peer_shutdown:
            raise EOFError(f"association {self._aid} was shut down")

    async def recv(self) -> Message:
        """The next message. Cancelling the wait loses nothing.

        Messages that arrived before the end are returned first; then EOFError
        after a graceful end (the peer or we shut down), or the OSError of the end:
        ConnectionResetError (the peer aborted), ConnectionAbortedError (we
        aborted), TimeoutError (the peer stopped answering).
        """
        while not self._messages:
            self._raise_end()
            await self._data_sig.wait()
        ev = self._messages.popleft()
        self._consume(len(ev.data))
        return Message(ev.data, ev.stream_id, ev.ppid, ev.unordered, ev.assoc_id, ev.complete,
                       ev.ssn)  # fmt: skip

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iter_messages()

    async def _iter_messages(self) -> AsyncIterator[Message]:
        """``async for msg in assoc``: messages until the graceful end (errors raise)."""
        while True:
            try:
                msg = await self.recv()
            except EOFError:
                return
            yield msg

    async def events(self) -> AsyncIterator[Event]:
        """Notifications (everything but data), ending after the AssocChange that ends it.

        The first is the COMM_UP. Events wait in a bounded queue until taken; one
        consumer at a time.
        """
        while True:
            while self._events:
                yield self._events.popleft()
            if self._end is not None:
                return
            await self._event_sig.wait()

    # ----- control -----

    def _call(self, fn: Callable[[float], object]) -> None:
        """Run ``fn(now)`` through the stack; a closed stack ends the association."""
        try:
            self._stack.call(fn, endpoint=self._ep)
        except UsageError as e:
            raise from_usage(e) from None
        except OSError as e:
            if e.errno != errno.EBADF or not self._stack.closed:
                raise
            self._stack_gone()

    def set_stream_scheduler(self, name: str) -> None:
        """Which stream sends next (RFC 8260 §3): "fcfs", "rr", "rr_pkt", "prio" or
        "wfq"; every stream's value starts again at the scheduler's default. EINVAL for
        another name. The default: rr with I-DATA, fcfs without (``Config.stream_scheduler``)."""
        self._live()
        self._call(lambda now: self._core.set_stream_scheduler(name))

    def set_stream_value(self, stream: int, value: int) -> None:
        """A stream's priority ("prio": lower first) or weight ("wfq"), RFC 8260 §4.3.3."""
        self._live()
        self._call(lambda now: self._core.set_stream_value(stream, value))

    def stream_value(self, stream: int) -> int:
        self._live()
        try:
            return int(self._stack.call(lambda now: self._core.stream_value(stream),
                                        endpoint=self._ep))  # fmt: skip
        except UsageError as e:
            raise from_usage(e) from None

    def _live(self) -> None:
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")

    def set_primary(self, ip: str) -> None:
        """Send new data to the confirmed peer address ``ip`` (EINVAL if unknown/unconfirmed)."""
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        self._call(lambda now: self._ep.set_primary(self._aid, ip))

    def reset_streams(
        self, streams: Sequence[int] = (), *, outgoing: bool = True, incoming: bool = False
    ) -> None:
        """RFC 6525 stream reset (SCTP_RESET_STREAMS) of ``streams`` (none: all); returns at
        once, the outcome is a :class:`StreamResetEvent` in :meth:`events`. Messages sent
        meanwhile on an outgoing stream being reset wait, then start at SSN 0. EOPNOTSUPP
        if the peer does not support RE-CONFIG, EINPROGRESS while a request is outstanding.
        The peer performs it only if it enabled it (``Config.stream_reset``)."""
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        s = tuple(streams)
        self._call(lambda now: Reconfig.of(self._core).reset_streams(s, incoming, outgoing, now))

    def add_streams(self, outgoing: int, incoming: int = 0) -> None:
        """RFC 6525 Add Outgoing / Add Incoming Streams (SCTP_ADD_STREAMS): ``outgoing``
        more streams of ours, ``incoming`` more of the peer's. The outcome is one
        :class:`StreamChangeEvent` per kind asked for; :attr:`outbound_streams` and
        :attr:`inbound_streams` grow when the peer has performed it."""
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        self._call(lambda now: Reconfig.of(self._core).add_streams(outgoing, incoming, now))

    def reset_assoc(self) -> None:
        """RFC 6525 SSN/TSN reset (SCTP_RESET_ASSOC): the TSNs and every stream's SSNs of
        both directions start over; the outcome is an :class:`AssocResetEvent`. Data sent
        before it goes first; data sent after it waits for the answer. EAGAIN within 30 s
        of the previous one (RFC 6525 §5.1.4); the peer performs it only if it enabled it
        (``Config.stream_reset`` with SCTP_ENABLE_RESET_ASSOC_REQ)."""
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        self._call(lambda now: Reconfig.of(self._core).reset_assoc(now))

    def abort(self, reason: bytes = b"") -> None:
        """End at once with an ABORT (RFC 9260 §9.1); queued data is dropped. Idempotent."""
        if self._end is not None:
            return

        def do(now: float) -> None:
            with contextlib.suppress(UsageError):  # ended meanwhile
                self._ep.abort(self._aid, now, reason)

        self._call(do)
        if self._end is None:  # its event was not routed (should not happen): end here
            self._stack_gone(errno.ECONNABORTED)

    async def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT) -> None:
        """Graceful SHUTDOWN (§9.2): queued data is delivered first. Aborts after ``timeout``.

        Returns when the association has ended. Cancelling close() aborts.
        """
        if self._end is None and not self._closing:
            self._closing = True

            def do(now: float) -> None:
                with contextlib.suppress(UsageError):  # ended meanwhile
                    self._ep.shutdown(self._aid, now)

            self._call(do)
        if self._end is not None:
            return
        try:
            done, _ = await asyncio.wait({self._done}, timeout=timeout)
        except asyncio.CancelledError:
            self.abort()
            raise
        if not done:
            self.abort()

    async def wait_closed(self) -> None:
        """Wait until the association has ended, however it ends."""
        await asyncio.wait({self._done})

    async def __aenter__(self) -> Association:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "ended" if self._end else ("closing" if self.is_closing() else "up")
        return f"<sctpx.aio.Association {self._aid} {state} peer={self.peer_addresses}>"


# ----- connectx -----


def _check_peers(addrs: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    if isinstance(addrs, (str, bytes)) or not addrs:
        raise oserror(errno.EINVAL, "connectx needs a list of (ip, port) addresses")
    peers: list[tuple[str, int]] = []
    for a in addrs:
        if not isinstance(a, tuple) or len(a) < 2:
            raise oserror(errno.EINVAL, f"an address is an (ip, port) tuple, not {a!r}")
        if not isinstance(a[0], str) or not isinstance(a[1], int):
            raise oserror(errno.EINVAL, f"bad address {a!r}")
        peers.append((a[0], a[1]))
    return peers


def _local(
    local: Sequence[str | tuple[str, int]] | str | None, peers: list[tuple[str, int]]
) -> tuple[list[str], int]:
    """Local IPs and SCTP port (0: ephemeral); by default the routes' sources to the peers."""
    if local is None:
        ips: list[str] = []
        first_error: OSError | None = None
        for ip, _port in peers:  # an unroutable listed address must not spoil the rest
            try:
                src = Stack.route_source(ip)
            except OSError as e:
                first_error = first_error or e
                continue
            if src not in ips:
                ips.append(src)
        if not ips:
            assert first_error is not None
            raise first_error
        return ips, 0
    entries = [local] if isinstance(local, str) else list(local)
    ips, ports = [], set()
    for entry in entries:
        if isinstance(entry, str):
            ips.append(entry)
        elif isinstance(entry, tuple) and len(entry) >= 2 and isinstance(entry[1], int):
            ips.append(entry[0])
            ports.add(entry[1])
        else:
            raise oserror(errno.EINVAL, f"a local address is an IP or (ip, port), not {entry!r}")
    ports.discard(0)
    if len(ports) > 1:
        raise oserror(errno.EINVAL, "local addresses of one endpoint share one port")
    return ips, ports.pop() if ports else 0


def _start(router: Router, peers: list[tuple[str, int]], opts: dict[str, Any]) -> Association:
    """Open the association (INIT leaves in this call's batch) and register it."""
    ep = router.ep
    assert ep is not None

    def start(now: float) -> Association:
        aid = ep.connectx(peers, now, **opts)
        assoc = Association(router, aid, ep.association(aid))
        router.assocs[aid] = assoc
        return assoc

    try:
        return router.stack.call(start, endpoint=ep)
    except UsageError as e:
        raise from_usage(e) from None
    finally:
        router.closing = True  # one association per client endpoint
        router.release_if_idle()  # (only if it did not start)


async def connectx(
    addrs: Sequence[tuple[str, int]],
    *,
    local: Sequence[str | tuple[str, int]] | str | None = None,
    streams: int | None = None,
    init_stagger: float | None = None,
    udp_port: int | None = None,
    remote_udp_port: int | None = None,
    stack: Stack | None = None,
    transport: str | None = None,
    timeout: float | None = None,
    config: Config | None = None,
    backend: str | None = None,
) -> Association:
    """Set up one association to a peer through its listed addresses (sctp_connectx).

    ``addrs``: ``(ip, port)`` of the peer, tried in order (a refused or silent
    address costs little: see docs/core.md). ``local``: our IPs (or
    ``(ip, port)``), by default the route's source to each peer address.
    ``streams``: outbound streams asked for. ``init_stagger``: seconds before the
    INIT also goes to the next address (0: the RFC's timing). ``udp_port``: our
    UDP encapsulation port (selects the default stack), ``remote_udp_port``: the
    peer's (default 9899). ``transport``: ``"udp"`` or ``"ip"`` (SCTP directly over
    IP, CAP_NET_RAW; default ``$SCTPX_TRANSPORT``, else UDP) for the default
    stack, whose UDP ports then do not apply. ``stack``: run on this stack instead. ``timeout``:
    give up (abort, TimeoutError) after this many seconds; the core itself gives
    up after Max.Init.Retransmits. ``config``: endpoint defaults.

    Raises OSError: EINVAL (arguments), ECONNREFUSED (ABORT or every address
    refused), ETIMEDOUT, ENETUNREACH/EHOSTUNREACH, EADDRINUSE (UDP port taken).
    Cancelling it aborts the set-up: nothing more is sent.

    ``backend``: ``"user"`` (this stack) or ``"kernel"`` (the OS's SCTP, see
    sctpx/aio/kernel.py); default ``$SCTPX_BACKEND``, else ``"user"``.
    """
    if resolve_backend(backend, stack) == "kernel":
        from . import kernel

        return await kernel.connectx(
            addrs, local=local, streams=streams, timeout=timeout, init_stagger=init_stagger,
            udp_port=udp_port, remote_udp_port=remote_udp_port, stack=stack,
            transport=transport, config=config,
        )  # fmt: skip
    peers = _check_peers(addrs)
    opts: dict[str, Any] = {}
    if streams is not None:
        opts["num_ostreams"] = streams
    if init_stagger is not None:
        opts["init_stagger"] = init_stagger
    ips, port = _local(local, peers)
    router = Router(_stacks.acquire(stack, udp_port, transport))
    if remote_udp_port is not None and router.stack.transport == "udp":
        opts["remote_udp_port"] = remote_udp_port
    router.open(port, ips, replace(config) if config is not None else Config())
    assoc = _start(router, peers, opts)
    try:
        done, _ = await asyncio.wait({assoc._up}, timeout=timeout)
    except asyncio.CancelledError:
        assoc.abort()
        raise
    if not done:
        assoc.abort()
        raise oserror(errno.ETIMEDOUT, f"connectx did not complete within {timeout} s")
    ev = assoc._up.result()
    if ev.state is not AssocChangeState.COMM_UP and ev.state is not AssocChangeState.RESTART:
        raise oserror(ev.error or errno.ECONNREFUSED, f"association {ev.assoc_id} could not start")
    return assoc
