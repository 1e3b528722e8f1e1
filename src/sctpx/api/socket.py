"""``sctpx.socket``: the SCTP socket of RFC 6458 in Python form.

Every call runs the protocol on the stack's loop thread (``Stack.call``) and
waits here, on a condition, for what it needs (a COMM_UP, a message); no lock
is held while user code runs. Each socket has a real descriptor (the user end
of a socketpair) that is readable when a message, notification or connection
is waiting, so ``select``, ``selectors`` and ``loop.add_reader`` work on it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket as _socket
import threading
import time
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..core import (
    AssocChange,
    AssocChangeState,
    Config,
    Endpoint,
    Event,
    PeerAddrChange,
    RemoteError,
    SenderDry,
    SendFailed,
    ShutdownEvent,
    StreamChangeEvent,
    StreamResetEvent,
)
from ..core.errors import UsageError
from ..core.events import (
    AdaptationIndication,
    AssocResetEvent,
    DataReceived,
    PartialDeliveryAborted,
)
from . import constants as C
from .addresses import Bound, check_addr, check_ip
from .batch import Batch
from .hub import Hub
from .options import SCTP_PR_SCTP_TTL, NxtInfo, PrInfo, RcvInfo, SndInfo, Subscriptions
from .rules import check_socket_args
from .rules import choose_backend as _backend

if TYPE_CHECKING:
    from ..net import Stack

_REGISTRY: dict[int, socket] = {}  # by fileno(), so sctp_connectx(fd, ...) finds the socket
_REG_LOCK = threading.Lock()

_EVENT_TYPES: dict[type, int] = {
    AssocChange: C.SCTP_ASSOC_CHANGE,
    PeerAddrChange: C.SCTP_PEER_ADDR_CHANGE,
    RemoteError: C.SCTP_REMOTE_ERROR,
    SendFailed: C.SCTP_SEND_FAILED_EVENT,
    ShutdownEvent: C.SCTP_SHUTDOWN_EVENT,
    SenderDry: C.SCTP_SENDER_DRY_EVENT,
    AdaptationIndication: C.SCTP_ADAPTATION_INDICATION,
    PartialDeliveryAborted: C.SCTP_PARTIAL_DELIVERY_EVENT,
    StreamResetEvent: C.SCTP_STREAM_RESET_EVENT,  # RFC 6525 §6.1.1
    StreamChangeEvent: C.SCTP_STREAM_CHANGE_EVENT,  # RFC 6525 §6.1.3
    AssocResetEvent: C.SCTP_ASSOC_RESET_EVENT,  # RFC 6525 §6.1.2
}


def lookup(fd: int) -> socket | None:
    with _REG_LOCK:
        return _REGISTRY.get(fd)


def _err(code: int, message: str) -> OSError:
    return OSError(code, f"{os.strerror(code)}: {message}")


class InProgress(BlockingIOError):
    """A non-blocking connectx has started (EINPROGRESS); ``assoc_id`` is the new association's."""

    def __init__(self, assoc_id: int) -> None:
        super().__init__(errno.EINPROGRESS, "Operation now in progress")
        self.assoc_id = assoc_id


class socket:
    """An SCTP socket: SOCK_STREAM (one-to-one) or SOCK_SEQPACKET (one-to-many).

    ``backend="kernel"`` (or ``SCTPX_BACKEND=kernel``) gives the same interface on the
    operating system's own SCTP (api/kernel/); the default is sctpx's userspace stack.
    """

    def __new__(cls, *args: Any, stack: Stack | None = None, backend: str | None = None,
                **kwargs: Any) -> socket:  # fmt: skip
        if cls is socket and _backend(backend, stack) == "kernel":
            from .kernel.socket import KernelSocket

            return object.__new__(KernelSocket)  # Python then runs KernelSocket.__init__
        return object.__new__(cls)

    def __init__(
        self,
        family: int = C.AF_INET,
        type: int = C.SOCK_STREAM,
        proto: int = C.IPPROTO_SCTP,
        *,
        stack: Stack | None = None,
        backend: str | None = None,
    ) -> None:
        if _backend(backend, stack) == "kernel":
            raise ValueError("a subclass of sctpx.socket is the userspace backend's")
        check_socket_args(family, type, proto)
        self.family = family
        self.type = type
        self.proto = C.IPPROTO_SCTP
        self._stack_arg = stack
        self._batch_obj: Batch | None = None
        self._cond = threading.Condition()
        self._user, self._signal = _socket.socketpair()
        self._user.setblocking(False)
        self._signal.setblocking(False)
        self._signalled = False
        self._fd = self._user.fileno()
        self._closed = False
        self._timeout: float | None = None
        self._port = 0
        self._addrs: list[str] = []
        self._bound = Bound()  # what bind/bindx said (the wildcard stays there)
        self._hub: Hub | None = None
        self._assoc_id = 0  # one-to-one: its association
        self._listening = False
        self._queue: deque[Event] = deque()  # messages and subscribed notifications
        self._status: dict[int, AssocChange] = {}  # the last ASSOC_CHANGE of each association
        self._subs = Subscriptions()
        self._cfg = Config()
        self._partial: tuple[DataReceived, int] | None = None  # a message read in part
        self._linger_abort = False  # SO_LINGER on with 0 s: close() aborts
        self._writes_held = False
        self._unchecked = 0  # bytes sent since the send queue was last measured
        self._default_sndinfo = SndInfo()  # SCTP_DEFAULT_SNDINFO
        self._frag_interleave = 1  # SCTP_FRAGMENT_INTERLEAVE (api.interleave)
        with _REG_LOCK:
            _REGISTRY[self._fd] = self

    # ----- plumbing -----

    @property
    def _stack(self) -> Stack:
        if self._stack_arg is None:
            from ..net import default_stack

            self._stack_arg = default_stack()
        return self._stack_arg

    @property
    def _batch(self) -> Batch:
        """Sends and receive-window updates go to the stack's thread through this."""
        if self._batch_obj is None:
            self._batch_obj = Batch(self._stack)
        return self._batch_obj

    def _check_open(self) -> None:
        if self._closed:
            raise _err(errno.EBADF, "the socket is closed")

    def fileno(self) -> int:
        """A descriptor readable when recv/accept would not block (-1 once closed)."""
        return -1 if self._closed else self._fd

    def _wake(self) -> None:
        """Under self._cond: keep the descriptor readable while something is waiting."""
        want = bool(self._queue) or bool(self._hub and self._listening and self._hub.backlog)
        if want and not self._signalled:
            try:
                self._signal.send(b"!")
                self._signalled = True
            except OSError:
                pass
        elif not want and self._signalled:
            try:
                while self._user.recv(4096):
                    pass
            except OSError:
                pass
            self._signalled = False
        self._cond.notify_all()

    def _hold_writes(self) -> None:
        """Make the descriptor unwritable (a one-to-one connect in progress, NB-03)."""
        self._user.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, 1)
        try:
            while True:
                self._user.send(b"\0" * 4096)
        except OSError:
            pass
        self._writes_held = True

    def _release_writes(self) -> None:
        """Writable again: the set-up ended (SO_ERROR tells how)."""
        if self._writes_held:
            self._writes_held = False
            try:
                while self._signal.recv(65536):
                    pass
            except OSError:
                pass

    def _deliver(self, ev: Event) -> None:
        """Loop thread: an event of one of this socket's associations."""
        with self._cond:
            if isinstance(ev, AssocChange):
                self._status[ev.assoc_id] = ev
                if ev.assoc_id == self._assoc_id:
                    self._release_writes()
            elif isinstance(ev, StreamChangeEvent) and ev.assoc_id in self._status:  # RFC 6525
                i, o, old = ev.inbound_streams, ev.outbound_streams, self._status[ev.assoc_id]
                self._status[ev.assoc_id] = replace(old, inbound_streams=i, outbound_streams=o)
            if isinstance(ev, DataReceived) or _EVENT_TYPES.get(type(ev)) in self._subs.on:
                self._queue.append(ev)
            self._wake()

    def _accept_ready(self) -> None:
        with self._cond:
            self._wake()

    @property
    def _accepting(self) -> bool:
        return self._listening and self.type == C.SOCK_STREAM

    def _wait(self, ready: Any, what: str) -> None:
        """Block (honouring the timeout) until ``ready()`` holds; call with self._cond held."""
        if ready():
            return
        if self._timeout == 0:
            raise BlockingIOError(errno.EAGAIN, f"{what} would block")
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while not ready():
            if self._closed:
                raise _err(errno.EBADF, "the socket was closed")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(errno.ETIMEDOUT, f"{what} timed out")
            self._cond.wait(left)

    # ----- addresses -----

    def _ip(self, ip: str, *, local: bool) -> str:
        """Check one address for this socket's family (API-06, API-08, API-10)."""
        return check_ip(ip, self.family, local=local)

    def _addr(self, addr: Any, *, local: bool) -> tuple[str, int]:
        return check_addr(addr, self.family, local=local)

    def bind(self, address: tuple[Any, ...]) -> None:
        """Bind one local address (or the wildcard: every address) and the port (0: any)."""
        self._check_open()
        self._bound.bind(address, self.family, self._hub is not None)
        self._addrs, self._port = list(self._bound.addrs), self._bound.port

    def bindx(self, addrs: list[tuple[Any, ...]], flags: int = C.SCTP_BINDX_ADD_ADDR) -> None:
        """RFC 6458 §9.1: add or remove local addresses (before the endpoint is in use)."""
        self._check_open()
        self._bound.port = self._port
        self._bound.bindx(addrs, flags, self.family, self._hub is not None)
        self._addrs, self._port = list(self._bound.addrs), self._bound.port

    def _endpoint(self, peer_ips: list[str] | None = None) -> Endpoint:
        """The core endpoint, opened on first use (implicitly bound for a client, STY-05)."""
        if self._hub is not None and self._hub.ep is not None:
            return self._hub.ep
        stack = self._stack
        if not self._addrs:
            srcs = [stack.route_source(ip) for ip in (peer_ips or ["127.0.0.1"])]
            self._addrs = list(dict.fromkeys(srcs))
        hub = Hub(stack, self)
        hub.ep = stack.open_endpoint(self._port, list(self._addrs), self._cfg, hub.on_events)
        self._port = hub.ep.port
        self._addrs = hub.ep.addresses  # a wildcard bind: the host's addresses
        self._hub = hub
        return hub.ep

    def getsockname(self) -> tuple[str, int]:
        self._check_open()
        if self._bound.wildcard:
            return (self._bound.addrs[0], self._port)
        return (self._addrs[0] if self._addrs else "0.0.0.0", self._port)

    def getladdrs(self, assoc_id: int = 0) -> list[tuple[str, int]]:
        """RFC 6458 §9.5: our addresses (those of the endpoint)."""
        self._check_open()
        return [(a, self._port) for a in self._addrs]

    def getpaddrs(self, assoc_id: int = 0) -> list[tuple[str, int]]:
        """RFC 6458 §9.3: the peer's addresses in the association (API-03, NTF-08)."""
        a = self._assoc(assoc_id)
        return self._stack.call(lambda now: [(ip, a.peer_port) for ip in a.paths])

    def getpeername(self) -> tuple[str, int]:
        """The primary peer address (NTF-09)."""
        a = self._assoc(0)
        prim = self._stack.call(lambda now: a.pm.primary)
        if prim is None:
            raise _err(errno.ENOTCONN, "no primary path")
        return (prim, a.peer_port)

    def _assoc(self, assoc_id: int) -> Any:
        self._check_open()
        aid = assoc_id or self._assoc_id
        if self._hub is None or self._hub.ep is None or not aid:
            raise _err(errno.ENOTCONN if self.type == C.SOCK_STREAM else errno.EINVAL,
                       "no such association")  # fmt: skip
        ep = self._hub.ep
        a = self._stack.call(lambda now: ep.associations.get(aid))
        if a is None:
            raise _err(errno.EINVAL if assoc_id else errno.ENOTCONN, f"no association {aid}")
        return a

    # ----- set-up -----

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        if self.type == C.SOCK_STREAM and self._assoc_id:
            raise _err(errno.EISCONN, "the socket is connected")
        ep = self._endpoint()
        self._listening = True
        self._stack.call(lambda now: ep.listen())

    def connectx(self, addrs: list[tuple[Any, ...]], **options: Any) -> int:
        """RFC 6458 §9.9: one association through all of ``addrs``; returns its id.

        Blocking: returns once the association is up, or raises ECONNREFUSED /
        ETIMEDOUT / ENETUNREACH. Non-blocking: raises :class:`InProgress`
        (BlockingIOError EINPROGRESS) carrying ``assoc_id``. Argument errors send
        nothing and create nothing.
        """
        self._check_open()
        if not addrs:
            raise _err(errno.EINVAL, "no addresses given")  # ERR-01
        peers = [self._addr(a, local=False) for a in addrs]
        if len({p for _ip, p in peers}) != 1 or peers[0][1] == 0:
            raise _err(errno.EINVAL, "all addresses need one same, non-zero port")  # API-07
        if self.type == C.SOCK_STREAM:  # ERR-09
            if self._listening:
                raise _err(errno.EISCONN, "the socket is listening")
            st = self._status.get(self._assoc_id)
            if self._assoc_id and st is None:
                raise _err(errno.EALREADY, "a connect is in progress")
            if self._assoc_id and st is not None and st.state is AssocChangeState.COMM_UP:
                raise _err(errno.EISCONN, "the socket is connected")
        ep = self._endpoint([ip for ip, _p in peers])
        opts = {**self._conn_options(), **options}
        stack = self._stack

        def start(now: float) -> int:
            stack.refresh_addresses(ep)  # a wildcard bind: the host's new addresses too
            return ep.connectx(peers, now, **opts)

        try:
            aid = stack.call(start, endpoint=ep)
        except UsageError as e:
            raise _err(e.errno or errno.EINVAL, str(e.strerror)) from None
        assert self._hub is not None
        with self._cond:
            self._hub.owner[aid] = self
            if self.type == C.SOCK_STREAM:
                self._assoc_id = aid
            if self._timeout == 0:
                if self.type == C.SOCK_STREAM and aid not in self._status:
                    self._hold_writes()  # writable again when the set-up ends (NB-03)
                raise InProgress(aid)
            self._wait(lambda: aid in self._status, "connect")
            st = self._status[aid]
        if st.state is not AssocChangeState.COMM_UP:
            if self.type == C.SOCK_STREAM:
                self._assoc_id = 0
            raise _err(st.error or errno.ECONNREFUSED, f"association {aid} could not start")
        return aid

    def _conn_options(self) -> dict[str, Any]:
        return {}

    def connect(self, address: tuple[Any, ...]) -> None:
        self.connectx([address])

    def connect_ex(self, address: tuple[Any, ...]) -> int:
        try:
            self.connect(address)
        except OSError as e:
            return e.errno or errno.EIO
        return 0

    def accept(self) -> tuple[socket, tuple[str, int]]:
        """One-to-one: the next association, as a new connected socket."""
        self._check_open()
        if not self._accepting or self._hub is None:
            raise _err(errno.EINVAL, "the socket is not a listening SOCK_STREAM socket")
        hub = self._hub
        with self._cond:
            self._wait(lambda: bool(hub.backlog), "accept")
            aid = hub.backlog.popleft()
            self._wake()
        child = socket(self.family, C.SOCK_STREAM, stack=self._stack)
        child._attach(hub, aid, self._addrs, self._port)
        # The address is the one it had when it came up: the association may be over
        # already, and then recv() still returns what it delivered, then b"" (as TCP does).
        peer = hub.peers.pop(aid, None)
        return child, peer if peer is not None else ("0.0.0.0", 0)

    def _attach(self, hub: Hub, aid: int, addrs: list[str], port: int) -> None:
        """Become the owner of association ``aid`` of ``hub`` (accept, peeloff)."""
        self._hub, self._assoc_id, self._addrs, self._port = hub, aid, list(addrs), port
        self._subs = Subscriptions(set(self._subs.on))
        hub.sockets += 1

        def take(now: float) -> None:
            for ev in hub.take(aid, self):
                self._deliver(ev)

        self._stack.call(take)

    # ----- data -----

    def sctp_send(self, data: bytes, *, stream: int = 0, ppid: int = 0, flags: int = 0,
                  ttl: int = 0, context: int = 0, assoc_id: int = 0,
                  to: tuple[str, int] | None = None) -> int:  # fmt: skip
        """Send one message (ttl in ms, PR-SCTP when > 0); returns its length.

        The message is checked here (stream, size, state) and queued on the stack's
        thread without waiting; a blocking socket then waits while more than its
        send buffer is queued (flow control). One-to-many: ``to`` names the peer
        instead of ``assoc_id``; with no association to it yet, one is set up and
        the message goes once it is up (implicit set-up, RFC 6458 §3.1.6).
        """
        self._check_open()
        if to is not None and not assoc_id:
            return self._send_to(data, to, stream, ppid, flags, ttl, context)
        aid = assoc_id or self._assoc_id
        st = self._status.get(aid)
        if st is None or st.state is not AssocChangeState.COMM_UP:
            self._assoc(assoc_id)  # raises ENOTCONN / EINVAL as it should
            raise _err(errno.EPIPE if st is not None else errno.ENOTCONN, "not established")
        ep = self._hub.ep if self._hub else None
        if ep is None:
            raise _err(errno.ENOTCONN, "not connected")
        if flags & C.SCTP_ABORT:
            self._stack.call(lambda now: ep.abort(aid, now))
            return 0
        if flags & C.SCTP_EOF:
            self._stack.call(lambda now: ep.shutdown(aid, now))
            return 0
        if not 0 <= stream < st.outbound_streams:
            raise _err(errno.EINVAL, f"stream {stream} not in 0..{st.outbound_streams - 1}")
        if not data or not 0 <= ppid <= 0xFFFFFFFF:
            raise _err(errno.EINVAL, "empty message or ppid beyond 32 bits")
        msg, unordered, t = bytes(data), bool(flags & C.SCTP_UNORDERED), ttl / 1000 or None

        def queue(now: float) -> None:
            # Checked above; if the association ended meanwhile the message is handed
            # back by a SendFailed notification or simply never sent (like TCP's EPIPE).
            with contextlib.suppress(UsageError):
                ep.send(aid, msg, now, stream=stream, ppid=ppid, unordered=unordered,
                        context=context, ttl=t)  # fmt: skip

        self._batch.post(queue, ep)
        self._unchecked += len(msg)
        if self._unchecked > self._cfg.a_rwnd:
            self._unchecked = 0
            self._throttle(ep, aid)
        return len(msg)

    def _send_to(self, data: bytes, to: tuple[Any, ...], stream: int, ppid: int, flags: int,
                 ttl: int, context: int) -> int:  # fmt: skip
        if self.type != C.SOCK_SEQPACKET:
            raise _err(errno.EISCONN, "a one-to-one socket sends on its own association")
        peer = self._addr(to, local=False)
        if not data or not 0 <= ppid <= 0xFFFFFFFF:
            raise _err(errno.EINVAL, "empty message or ppid beyond 32 bits")
        ep = self._endpoint([peer[0]])
        known = self._stack.call(lambda now: ep.find(peer))
        st = self._status.get(known) if known is not None else None
        if st is not None and st.state is AssocChangeState.COMM_UP:
            return self.sctp_send(data, stream=stream, ppid=ppid, flags=flags, ttl=ttl,
                                  context=context, assoc_id=st.assoc_id)  # fmt: skip
        opts = self._conn_options()
        msg, unordered, t = bytes(data), bool(flags & C.SCTP_UNORDERED), ttl / 1000 or None

        def start(now: float) -> int:
            # Still being set up, or not there yet: the core keeps the message until
            # the association is up.
            aid = ep.find(peer)
            if aid is None:
                aid = ep.connectx([peer], now, **opts)
            ep.send(aid, msg, now, stream=stream, ppid=ppid, unordered=unordered,
                    context=context, ttl=t)  # fmt: skip
            return aid

        try:
            aid = self._stack.call(start)
        except UsageError as e:
            raise _err(e.errno or errno.EINVAL, str(e.strerror)) from None
        assert self._hub is not None
        self._hub.owner[aid] = self
        return len(msg)

    def _throttle(self, ep: Endpoint, aid: int) -> None:
        """Wait while more than the send buffer is queued (a blocking socket's flow control)."""
        limit = self._cfg.a_rwnd * 4

        def queued(now: float) -> int:
            a = ep.associations.get(aid)
            return a.data.sender.queued_bytes if a is not None and a.data is not None else 0

        while self._timeout != 0 and self._stack.call(queued) > limit:
            time.sleep(0.001)

    def send(self, data: bytes, flags: int = 0) -> int:
        """One-to-one: one message, with the SCTP_DEFAULT_SNDINFO stream, ppid and flags."""
        if self.type != C.SOCK_STREAM:
            raise _err(errno.EDESTADDRREQ, "use sctp_sendmsg with an association id")
        d = self._default_sndinfo
        return self.sctp_send(data, stream=d.sid, ppid=d.ppid, flags=d.flags, context=d.context)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        self.send(data, flags)

    def sctp_recv(self) -> Event:
        """The next message (DataReceived) or subscribed notification, whole."""
        self._check_open()
        with self._cond:
            self._wait(lambda: bool(self._queue) or self._peer_gone(), "recv")
            if not self._queue:
                raise _err(errno.ENOTCONN, "the association has ended")
            ev = self._queue.popleft()
            self._wake()
        if isinstance(ev, DataReceived) and self._hub is not None and self._hub.ep is not None:
            ep, n, aid = self._hub.ep, len(ev.data), ev.assoc_id
            self._batch.post(lambda now: ep.consumed(aid, n), ep)
        return ev

    def sctp_recvmsg(
        self, bufsize: int = 65536
    ) -> tuple[Any, tuple[str, int] | None, RcvInfo, int]:
        """RFC 6458 §9.8 in Python form: ``(data, from, rcvinfo, msg_flags)``.

        A notification comes back in place of the data (its object: AssocChange,
        PeerAddrChange, ...) with MSG_NOTIFICATION in the flags and ``from`` None.
        MSG_EOR is set when the whole message fits ``bufsize``; otherwise the rest
        is lost, as with a truncated datagram (MSG_TRUNC-like, documented).
        """
        ev = self.sctp_recv()
        if not isinstance(ev, DataReceived):
            return ev, None, RcvInfo(assoc_id=ev.assoc_id), C.MSG_NOTIFICATION
        data = ev.data[:bufsize]
        flags = C.MSG_EOR if len(ev.data) <= bufsize and ev.complete else 0
        info = RcvInfo(ev.stream_id, ev.ssn, C.SCTP_UNORDERED if ev.unordered else 0, ev.ppid,
                       ev.tsn, 0, 0, ev.assoc_id)  # fmt: skip
        return data, self._peer_of(ev.assoc_id), info, flags

    def sctp_recvv(self, bufsize: int = 65536) -> tuple[Any, RcvInfo, NxtInfo | None, int]:
        """RFC 6458 §9.13: like sctp_recvmsg, plus what the next waiting message is."""
        data, _frm, info, flags = self.sctp_recvmsg(bufsize)
        with self._cond:
            nxt = next((e for e in self._queue if isinstance(e, DataReceived)), None)
        nxt_info = None
        if nxt is not None:
            u = C.SCTP_UNORDERED if nxt.unordered else 0
            nxt_info = NxtInfo(nxt.stream_id, u, nxt.ppid, len(nxt.data), nxt.assoc_id)
        return data, info, nxt_info, flags

    def sctp_sendv(self, data: bytes, sndinfo: SndInfo | None = None,
                   prinfo: PrInfo | None = None) -> int:  # fmt: skip
        """RFC 6458 §9.12 with SndInfo / PrInfo dataclasses (TTL policy: value in ms)."""
        si = sndinfo or SndInfo()
        ttl = prinfo.value if prinfo is not None and prinfo.policy == SCTP_PR_SCTP_TTL else 0
        return self.sctp_send(data, stream=si.sid, ppid=si.ppid, flags=si.flags, ttl=ttl,
                              context=si.context, assoc_id=si.assoc_id)  # fmt: skip

    def _peer_of(self, aid: int) -> tuple[str, int] | None:
        ep = self._hub.ep if self._hub is not None else None
        if ep is None:
            return None

        def read(now: float) -> tuple[str, int] | None:
            a = ep.associations.get(aid)
            if a is None or a.pm.primary is None:
                return None
            return (a.pm.primary, a.peer_port)

        peer: tuple[str, int] | None = self._stack.call(read)
        return peer

    def peeloff(self, assoc_id: int) -> socket:
        """RFC 6458 §9.2: one association of a one-to-many socket moves to a new socket."""
        self._check_open()
        if self.type != C.SOCK_SEQPACKET or self._hub is None:
            raise _err(errno.EINVAL, "peeloff needs a one-to-many socket")
        hub = self._hub
        if not self._owns(assoc_id) or assoc_id not in self._live():
            raise _err(errno.EINVAL, f"no association {assoc_id} on this socket")
        child = socket(self.family, C.SOCK_STREAM, stack=self._stack)
        child._cfg, child._frag_interleave = self._cfg, self._frag_interleave
        with self._cond:  # its waiting messages and status go along
            mine = [e for e in self._queue if e.assoc_id == assoc_id]
            self._queue = deque(e for e in self._queue if e.assoc_id != assoc_id)
            if assoc_id in self._status:
                child._status[assoc_id] = self._status.pop(assoc_id)
            self._wake()
        child._attach(hub, assoc_id, self._addrs, self._port)
        with child._cond:
            child._queue.extendleft(reversed(mine))
            child._wake()
        return child

    def _peer_gone(self) -> bool:
        st = self._status.get(self._assoc_id)
        return (
            self.type == C.SOCK_STREAM
            and st is not None
            and st.state is not (AssocChangeState.COMM_UP)
        )

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """One-to-one: the next message's bytes (a message longer than bufsize comes in parts)."""
        if self._partial is not None:
            ev, off = self._partial
        else:
            while True:
                try:
                    got = self.sctp_recv()
                except OSError as e:
                    if e.errno == errno.ENOTCONN:
                        return b""  # like TCP: the peer shut down
                    raise
                if isinstance(got, DataReceived):
                    ev, off = got, 0
                    break
        chunk = ev.data[off : off + bufsize]
        self._partial = (ev, off + len(chunk)) if off + len(chunk) < len(ev.data) else None
        return chunk

    # ----- options -----

    def settimeout(self, timeout: float | None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0 or None")
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def setsockopt(self, level: int, optname: int, value: Any) -> None:
        """RFC 6458 §8 options with dataclass values (see docs/api.md)."""
        from .sockopts import setsockopt

        setsockopt(self, level, optname, value)

    def getsockopt(self, level: int, optname: int, arg: Any = None) -> Any:
        """RFC 6458 §8; ``arg`` is the association id (or address) C passes in the buffer."""
        from .sockopts import getsockopt

        return getsockopt(self, level, optname, arg)

    def _so_error(self) -> int:
        """SO_ERROR (NB-03): 0, or why this one-to-one socket's set-up failed; read once."""
        st = self._status.get(self._assoc_id)
        if st is None or st.state is AssocChangeState.COMM_UP:
            return 0
        err = st.error or errno.ECONNREFUSED
        self._assoc_id = 0
        self._status.pop(st.assoc_id, None)
        return err

    def _assoc_ids(self) -> list[int]:
        if self._hub is None:
            return []
        return sorted(i for i in self._live() if self._owns(i))

    def _owns(self, aid: int) -> bool:
        """Its own associations; the main socket also has those nobody took (one-to-many)."""
        hub = self._hub
        if hub is None:
            return False
        owner = hub.owner.get(aid)
        return owner is self or (owner is None and hub.main is self and aid not in hub.pending)

    def _live(self) -> set[int]:
        ep = self._hub.ep if self._hub is not None else None
        if ep is None:
            return set()
        ids: set[int] = self._stack.call(lambda now: set(ep.associations))
        return ids

    def subscribe(self, *event_types: int) -> None:
        """SCTP_EVENT on for these notification types (RFC 6458 §6.2.2)."""
        self._subs.on.update(event_types)

    # ----- ending -----

    def shutdown(self, how: int = _socket.SHUT_RDWR) -> None:
        """Graceful SHUTDOWN of the association(s) (RFC 9260 §9.2)."""
        self._check_open()
        if self._hub is None or self._hub.ep is None:
            raise _err(errno.ENOTCONN, "not connected")
        ep = self._hub.ep
        ids = [self._assoc_id] if self.type == C.SOCK_STREAM else list(self._hub.owner)

        def end(now: float) -> None:
            for i in ids:
                if i in ep.associations:
                    ep.shutdown(i, now)

        self._stack.call(end)

    def close(self) -> None:
        """Close: graceful SHUTDOWN of this socket's associations; the descriptor goes at once."""
        if self._closed:
            return
        hub = self._hub
        self._closed = True
        with _REG_LOCK:
            _REGISTRY.pop(self._fd, None)
        if hub is not None and hub.ep is not None:
            ep = hub.ep
            abort = self._linger_abort

            def end(now: float) -> None:
                # RFC 6458 §3.1.5: closing ends every association of the socket, those
                # it set up, took over, or (the main socket) accepted without an owner.
                unowned = hub.main is self
                mine = [
                    i
                    for i in list(ep.associations)
                    if hub.owner.get(i) is self
                    or (unowned and i not in hub.owner and i not in hub.pending)
                ]
                for i in mine:
                    if i in ep.associations:
                        if abort:
                            ep.abort(i, now)
                        else:
                            ep.shutdown(i, now)
                    hub.owner.pop(i, None)
                hub.sockets -= 1
                hub.release_if_idle()

            hub.stack.call_soon(end)
        with self._cond:
            self._cond.notify_all()
        self._user.close()
        self._signal.close()

    def __enter__(self) -> socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "one-to-one" if self.type == C.SOCK_STREAM else "one-to-many"
        return f"<sctpx.socket fd={self.fileno()} {kind} {self._addrs}:{self._port}>"
