"""``sctpx.aio`` on the OS's own SCTP: ``connectx(..., backend="kernel")``, ``start_server(...)``.

One association per one-to-one (SOCK_STREAM) :class:`~sctpx.api.kernel.KernelSocket`,
non-blocking, driven by ``loop.add_reader``/``add_writer`` on its descriptor: a
client socket set up by a non-blocking connectx, a server's listening socket whose
accepted sockets are its associations. The classes are subclasses of the userspace
:class:`~sctpx.aio.Association` and :class:`~sctpx.aio.Server` with the same public
interface; what the kernel cannot do is refused (EINVAL) or listed in docs/aio.md
("Kernel backend"), never imitated.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket as _socket
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..api import constants as C
from ..core import AssocChange, AssocChangeState, Event, PeerAddrChange, ShutdownEvent
from ..core.events import StreamChangeEvent
from ._util import Signal, oserror
from .association import (
    _ENDS,
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_HIGH_WATER,
    MAX_PENDING_EVENTS,
    Association,
    Message,
    PathInfo,
    _check_peers,
)
from .server import Server

if TYPE_CHECKING:
    from ..api.kernel.socket import KernelSocket
    from ..net import Stack

log = logging.getLogger("sctpx.aio")

RECV_BUFSIZE = 1 << 18  # one recvmsg; a longer message comes in parts (Message.complete)
RECV_QUEUE_LIMIT = 1 << 18  # bytes read and not yet taken by recv() before reading pauses
_EVENTS = (C.SCTP_ASSOC_CHANGE, C.SCTP_PEER_ADDR_CHANGE, C.SCTP_REMOTE_ERROR,
           C.SCTP_SEND_FAILED_EVENT, C.SCTP_SHUTDOWN_EVENT, C.SCTP_STREAM_RESET_EVENT,
           C.SCTP_ASSOC_RESET_EVENT, C.SCTP_STREAM_CHANGE_EVENT)  # fmt: skip
_STATES = {C.SCTP_ACTIVE: "ACTIVE", C.SCTP_PF: "PF", C.SCTP_INACTIVE: "INACTIVE",
           C.SCTP_UNCONFIRMED: "UNCONFIRMED"}  # fmt: skip


def _refuse(**userspace_only: object) -> None:
    """EINVAL for arguments that only the userspace stack has (nothing was opened yet)."""
    given = sorted(k for k, v in userspace_only.items() if v is not None)
    if given:
        raise oserror(errno.EINVAL, f"{', '.join(given)}: not on the kernel backend "
                      "(the kernel's SCTP has no UDP encapsulation stack, staggered INIT "
                      "or sctpx Config; see docs/aio.md)")  # fmt: skip


def _family(ips: Sequence[str]) -> int:
    return C.AF_INET6 if any(":" in ip for ip in ips) else C.AF_INET


def _new_socket(family: int) -> KernelSocket:
    from ..api.kernel.socket import KernelSocket  # ctypes and libc: loaded on first use

    sock = KernelSocket(family, C.SOCK_STREAM)  # EPROTONOSUPPORT where the OS has no SCTP
    try:
        sock.subscribe(*_EVENTS)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind(sock: KernelSocket, ips: list[str], port: int) -> None:
    sock.bind((ips[0], port))
    if ips[1:]:
        sock.bindx([(ip, sock.getsockname()[1]) for ip in ips[1:]])


def _set_streams(sock: KernelSocket, streams: int | None) -> None:
    if streams is None:
        return
    if not isinstance(streams, int) or not 1 <= streams <= 65535:
        raise oserror(errno.EINVAL, f"streams {streams!r} not in 1..65535")
    from ..api.options import InitMsg

    sock.setsockopt(C.IPPROTO_SCTP, C.SCTP_INITMSG, InitMsg(num_ostreams=streams))


class KernelAssociation(Association):
    """One association on its own non-blocking one-to-one kernel socket.

    The public interface is :class:`sctpx.aio.Association`'s; ``stack`` is not there
    (the kernel has no :class:`sctpx.Stack`): reading it raises AttributeError.
    """

    def __init__(self, sock: KernelSocket) -> None:
        from ..api.kernel.options import status

        loop = asyncio.get_running_loop()
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        sock.settimeout(0)
        st = status(sock, 0)
        self._aid = st.assoc_id
        self._ostreams, self._istreams = st.outstrms, st.instrms
        self._local = self._addrs(sock.getladdrs)
        self._peers = self._addrs(sock.getpaddrs)
        self._primary = st.primary.address if st.primary is not None else None
        self._up: asyncio.Future[AssocChange] = loop.create_future()
        self._done: asyncio.Future[None] = loop.create_future()
        self._messages: deque[Message] = deque()  # type: ignore[assignment]
        self._queued_in = 0  # bytes in _messages
        self._events: deque[Event] = deque(maxlen=MAX_PENDING_EVENTS)
        self._end: AssocChange | None = None
        self._error = 0
        self._peer_shutdown = False
        self._closing = False
        self._data_sig = Signal()
        self._event_sig = Signal()
        self._drain_sig = Signal()
        self._high = DEFAULT_HIGH_WATER
        self._low = DEFAULT_HIGH_WATER // 4
        self._sendq: deque[tuple[bytes, int, int, int, int]] = deque()
        self._queued_out = 0  # bytes in _sendq: not yet taken by the kernel
        self._send_error: OSError | None = None
        self._sndbuf = int(sock.getsockopt(C.SOL_SOCKET, _socket.SO_SNDBUF))  # the largest message
        self._reading = False
        self._writing = False
        self._resume_reading()

    @staticmethod
    def _addrs(fn: Callable[[], list[tuple[str, int]]]) -> list[tuple[str, int]]:
        try:
            return [(ip, int(port)) for ip, port in fn()]
        except OSError:
            return []

    # ----- the descriptor -----

    def _resume_reading(self) -> None:
        if not self._reading and self._end is None:
            self._loop.add_reader(self._fd, self._on_readable)
            self._reading = True

    def _pause_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _on_readable(self) -> None:
        sock = self._sock
        for _ in range(64):  # then let the loop breathe; the reader stays registered
            if self._end is not None:
                return
            if self._queued_in > RECV_QUEUE_LIMIT and not self._closing:
                self._pause_reading()  # recv() resumes: the kernel's window closes meanwhile
                return
            try:
                data, _frm, info, flags = sock.sctp_recvmsg(RECV_BUFSIZE)
            except BlockingIOError:
                return
            except OSError as e:  # ENOTCONN: the kernel said EOF (read 0 bytes)
                if e.errno == errno.ENOTCONN:
                    self._finish(AssocChange(self._aid, AssocChangeState.SHUTDOWN_COMP, 0,
                                             self._ostreams, self._istreams))  # fmt: skip
                else:
                    self._lost(e.errno or errno.ECONNRESET)
                return
            if flags & C.MSG_NOTIFICATION:
                self._notified(data)
                continue
            msg = Message(bytes(data), info.sid, info.ppid, bool(info.flags & C.SCTP_UNORDERED),
                          info.assoc_id or self._aid, bool(flags & C.MSG_EOR))  # fmt: skip
            self._messages.append(msg)
            self._queued_in += len(msg.data)
            self._data_sig.fire()

    def _notified(self, ev: Event) -> None:
        self._events.append(ev)
        self._event_sig.fire()
        if isinstance(ev, AssocChange):
            if ev.state in _ENDS:
                self._finish(ev)
            elif ev.outbound_streams:
                self._ostreams, self._istreams = ev.outbound_streams, ev.inbound_streams
        elif isinstance(ev, ShutdownEvent):
            self._peer_shutdown = True
            self._data_sig.fire()
        elif isinstance(ev, PeerAddrChange):
            self._peers = self._addrs(self._sock.getpaddrs) or self._peers
        elif isinstance(ev, StreamChangeEvent) and ev.outbound_streams:  # RFC 6525: added
            self._ostreams, self._istreams = ev.outbound_streams, ev.inbound_streams

    def _lost(self, code: int) -> None:
        ev = AssocChange(self._aid, AssocChangeState.COMM_LOST, code, self._ostreams,
                         self._istreams)  # fmt: skip
        self._events.append(ev)
        self._finish(ev)

    def _finish(self, ev: AssocChange) -> None:
        if self._end is not None:
            return
        self._peers = self._addrs(self._sock.getpaddrs) or self._peers
        self._end = ev
        if ev.state is not AssocChangeState.SHUTDOWN_COMP:
            self._error = ev.error or errno.ECONNRESET
        self._pause_reading()
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        self._sendq.clear()
        self._queued_out = 0
        self._sock.close()
        if not self._up.done():
            self._up.set_result(ev)
        self._done.set_result(None)
        for sig in (self._data_sig, self._event_sig, self._drain_sig):
            sig.fire()

    def _flush(self) -> None:
        """Hand queued messages to the kernel until its send buffer is full (EAGAIN)."""
        while self._sendq and self._end is None:
            data, sid, ppid, flags, ttl = self._sendq[0]
            try:
                self._sock.sctp_send(data, stream=sid, ppid=ppid, flags=flags, ttl=ttl)
            except BlockingIOError:
                if not self._writing:
                    self._loop.add_writer(self._fd, self._flush)
                    self._writing = True
                return
            except OSError as e:  # the end (EPIPE, ECONNRESET) comes through the reader
                self._send_error = self._send_error or e
                self._sendq.clear()
                self._queued_out = 0
                break
            self._sendq.popleft()
            self._queued_out -= len(data)
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        self._check_drain()

    def _check_drain(self) -> None:
        if self._drain_sig.waiting and (
            self._end is not None or self._queued_out <= self._low or not self._sendq
        ):
            self._drain_sig.fire()

    # ----- identity -----

    @property
    def stack(self) -> Stack:
        raise AttributeError("an association of the kernel backend has no sctpx.Stack")

    @property
    def local_addresses(self) -> list[tuple[str, int]]:
        """Our addresses in the association (SCTP_GET_LOCAL_ADDRS at its start)."""
        return list(self._local)

    @property
    def peer_addresses(self) -> list[tuple[str, int]]:
        """The peer's addresses (SCTP_GET_PEER_ADDRS; as they were at the end, once ended)."""
        if self._end is None:
            self._peers = self._addrs(self._sock.getpaddrs) or self._peers
        return list(self._peers)

    @property
    def primary_address(self) -> tuple[str, int] | None:
        if self._end is None:
            from ..api.kernel.options import status

            with contextlib.suppress(OSError):
                prim = status(self._sock, 0).primary
                self._primary = prim.address if prim is not None else None
        return self._primary

    def paths(self) -> list[PathInfo]:
        """SCTP_GET_PEER_ADDR_INFO of every peer address (empty once ended).

        ``srtt`` is the kernel's smoothed RTT in seconds at millisecond resolution,
        0.0 before the first measurement (the kernel does not tell "not measured").
        """
        if self._end is not None:
            return []
        from ..api.kernel.options import getsockopt

        prim = self.primary_address
        out: list[PathInfo] = []
        for addr in self.peer_addresses:
            try:
                pi = getsockopt(self._sock, C.IPPROTO_SCTP, C.SCTP_GET_PEER_ADDR_INFO, addr)
            except OSError:
                continue  # gone meanwhile
            state = _STATES.get(pi.state, "INACTIVE")
            primary = prim is not None and prim[0] == addr[0]
            out.append(PathInfo(addr[0], state, pi.srtt / 1000, pi.rto / 1000, pi.cwnd,
                                state != "UNCONFIRMED", primary))  # fmt: skip
        return out

    def set_primary(self, ip: str) -> None:
        """SCTP_PRIMARY_ADDR: new data goes to ``ip`` (EINVAL if it is not a peer address)."""
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        from ..api.options import PrimaryAddr

        port = self._peers[0][1] if self._peers else 0
        try:
            self._sock.setsockopt(C.IPPROTO_SCTP, C.SCTP_PRIMARY_ADDR, PrimaryAddr(0, (ip, port)))
        except OSError as e:
            raise oserror(e.errno or errno.EINVAL, f"set_primary {ip}") from None

    # ----- streams: RFC 6525 reconfiguration, RFC 8260 schedulers (api/kernel/streams.py) --

    def _option(self, name: int, value: Any) -> None:
        """setsockopt on the association's socket: its errors are the socket API's."""
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        self._sock.setsockopt(C.IPPROTO_SCTP, name, value)

    def _ask(self, bit: int) -> None:
        """Linux sends a RE-CONFIG request only with its bit in the association's
        SCTP_ENABLE_STREAM_RESET, which also lets the peer's requests of that kind in (and
        must: the answer to an incoming-stream reset or to Add Incoming Streams is the
        peer's own request). Set here, as the kernel association has no Config."""
        from ..api.options import AssocValue

        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        with contextlib.suppress(OSError):  # the request then says why
            have = self._sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_ENABLE_STREAM_RESET, 0)
            if not have.assoc_value & bit:
                self._option(C.SCTP_ENABLE_STREAM_RESET, AssocValue(0, have.assoc_value | bit))

    def reset_streams(
        self, streams: Sequence[int] = (), *, outgoing: bool = True, incoming: bool = False
    ) -> None:
        """SCTP_RESET_STREAMS (RFC 6525 §6.3.2), as on the userspace backend; the outcome is
        a StreamResetEvent in :meth:`events`. The kernel's differences: EAGAIN while
        messages for those streams wait unsent (the userspace stack holds the request), and
        asking enables the peer's stream resets on this association too (see ``_ask``)."""
        from ..api.options import ResetStreams

        flags = (C.SCTP_STREAM_RESET_OUTGOING if outgoing else 0) | (
            C.SCTP_STREAM_RESET_INCOMING if incoming else 0)  # fmt: skip
        if not flags:
            raise oserror(errno.EINVAL, "neither incoming nor outgoing streams to reset")
        self._ask(C.SCTP_ENABLE_RESET_STREAM_REQ)
        self._option(C.SCTP_RESET_STREAMS, ResetStreams(0, flags, tuple(streams)))

    def add_streams(self, outgoing: int, incoming: int = 0) -> None:
        """SCTP_ADD_STREAMS (RFC 6525 §6.3.4): one StreamChangeEvent per kind; the
        association's stream counts follow it. Asking enables the peer's additions too."""
        from ..api.options import AddStreams

        if outgoing < 0 or incoming < 0 or not (outgoing or incoming):
            raise oserror(errno.EINVAL, f"cannot add {outgoing} outgoing, {incoming} incoming "
                          "streams")  # fmt: skip
        self._ask(C.SCTP_ENABLE_CHANGE_ASSOC_REQ)
        self._option(C.SCTP_ADD_STREAMS, AddStreams(0, incoming, outgoing))

    def reset_assoc(self) -> None:
        """SCTP_RESET_ASSOC (RFC 6525 §6.3.3): an AssocResetEvent. EAGAIN within 30 s of the
        previous one, and (the kernel's) while any data is queued or in flight. Asking
        enables the peer's SSN/TSN resets too."""
        self._ask(C.SCTP_ENABLE_RESET_ASSOC_REQ)
        self._option(C.SCTP_RESET_ASSOC, 0)

    @property
    def interleaving(self) -> bool:
        """True if it uses I-DATA (RFC 8260; the kernel backend's aio does not offer it)."""
        if self._end is not None:
            return False
        try:
            v = self._sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_INTERLEAVING_SUPPORTED, 0)
        except OSError:
            return False
        return bool(v.assoc_value)

    def set_stream_scheduler(self, name: str) -> None:
        """SCTP_STREAM_SCHEDULER: "fcfs", "prio" or "rr" on Linux 6.1 ("wfq" from Linux 6.4;
        "rr_pkt" EOPNOTSUPP); EINVAL for another name. The kernel's default is fcfs."""
        from ..api.interleave import SCHEDULERS
        from ..api.options import AssocValue

        number = {n: k for k, n in SCHEDULERS.items()}.get(name)
        if number is None:
            raise oserror(errno.EINVAL, f"stream scheduler {name!r} not one of "
                          f"{', '.join(SCHEDULERS.values())}")  # fmt: skip
        self._option(C.SCTP_STREAM_SCHEDULER, AssocValue(0, number))

    def set_stream_value(self, stream: int, value: int) -> None:
        """SCTP_STREAM_SCHEDULER_VALUE: a stream's priority ("prio": lower first)."""
        from ..api.options import StreamValue

        self._option(C.SCTP_STREAM_SCHEDULER_VALUE, StreamValue(0, stream, value))

    def stream_value(self, stream: int) -> int:
        if self._end is not None:
            raise oserror(errno.ENOTCONN, f"association {self._aid} has ended")
        v = self._sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_STREAM_SCHEDULER_VALUE, (0, stream))
        return int(v.stream_value)

    # ----- sending -----

    def _check_carrier(self) -> None:
        """The kernel socket is ours until the association ends: nothing more to check."""

    def send(
        self,
        data: bytes | bytearray | memoryview,
        *,
        stream: int = 0,
        ppid: int = 0,
        unordered: bool = False,
        ttl: float | None = None,
    ) -> None:
        """Queue one message for the kernel (handed over at once while its buffer has room).

        The same checks and errors as the userspace association, and EMSGSIZE for a
        message larger than the kernel's send buffer (SO_SNDBUF), which the kernel
        refuses; ``ttl`` becomes the kernel's PR-SCTP TTL policy in milliseconds.
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
        if len(data) > self._sndbuf:  # the kernel takes no message larger than its buffer
            raise oserror(errno.EMSGSIZE, f"{len(data)} bytes > the kernel's SO_SNDBUF "
                          f"({self._sndbuf})")  # fmt: skip
        msg = bytes(data)
        ms = max(1, round(ttl * 1000)) if ttl is not None else 0
        self._sendq.append((msg, stream, ppid, C.SCTP_UNORDERED if unordered else 0, ms))
        self._queued_out += len(msg)
        if not self._writing:
            self._flush()

    def get_write_buffer_size(self) -> int:
        """Bytes queued here and not yet taken by the kernel's send buffer."""
        return self._queued_out

    async def drain(self) -> None:
        """Wait while more than the high-water mark is queued, until at most the low one.

        The queue empties into the kernel's send buffer (SO_SNDBUF) as fast as the
        kernel takes it. Raises the error that ended the association, or the one a
        kernel send gave after ``send()`` had returned.
        """
        if self._end is None and self._queued_out > self._high:
            while self._end is None and self._queued_out > self._low:
                await self._drain_sig.wait()
        if (err := self._end_error()) is not None:
            raise err
        if self._send_error is not None:
            e, self._send_error = self._send_error, None
            raise e

    # ----- receiving -----

    async def recv(self) -> Message:
        """The next message, then EOFError / the end's OSError as on the userspace backend."""
        while not self._messages:
            self._raise_end()
            await self._data_sig.wait()
        msg = self._messages.popleft()
        self._queued_in -= len(msg.data)
        if self._queued_in <= RECV_QUEUE_LIMIT // 2:
            self._resume_reading()
        return msg

    # ----- control -----

    def abort(self, reason: bytes = b"") -> None:
        """ABORT now (SO_LINGER 0 and close, RFC 6458 §8.1.4; RFC 9260 §9.1); queued data
        is dropped. Idempotent.

        ``reason`` is not sent: the kernel's ABORT on close carries no user cause.
        """
        if self._end is not None:
            return
        with contextlib.suppress(OSError):
            self._sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_LINGER, (1, 0))
        self._lost(errno.ECONNABORTED)  # closes the socket: the kernel sends the ABORT

    async def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT) -> None:
        """Graceful SHUTDOWN (RFC 9260 §9.2, RFC 6458 §4.1.7): our queue goes to the kernel,
        which delivers it, then ``shutdown(SHUT_WR)``; returns at the end. Aborts after
        ``timeout`` or if cancelled."""
        if self._end is not None:
            return
        first = not self._closing
        self._closing = True
        self._resume_reading()  # the end must be read even with a full message queue
        try:
            async with asyncio.timeout(timeout):
                if first:
                    while self._sendq and self._end is None:
                        await self._drain_sig.wait()
                    if self._end is None:
                        with contextlib.suppress(OSError):  # ended meanwhile
                            self._sock.shutdown(_socket.SHUT_WR)
                await asyncio.wait({self._done})
        except TimeoutError:
            self.abort()
        except asyncio.CancelledError:
            self.abort()
            raise

    def __repr__(self) -> str:
        state = "ended" if self._end else ("closing" if self.is_closing() else "up")
        return f"<sctpx.aio.Association kernel {self._aid} {state} peer={self._peers}>"


# ----- connectx -----


async def connectx(
    addrs: Sequence[tuple[str, int]],
    *,
    local: Sequence[str | tuple[str, int]] | str | None = None,
    streams: int | None = None,
    timeout: float | None = None,
    **userspace_only: Any,
) -> KernelAssociation:
    """sctp_connectx on a non-blocking one-to-one kernel socket; returns at COMM_UP.

    ``local``: IPs (or ``(ip, port)``) bound first; without it the kernel's own
    choice (every address of the host, the wildcard). Errors are the kernel's
    (SO_ERROR): ECONNREFUSED, ETIMEDOUT ...; ``timeout`` and cancellation abort.
    """
    _refuse(**userspace_only)
    peers = _check_peers(addrs)
    ips: list[str] = []
    port = 0
    if local is not None:
        for entry in [local] if isinstance(local, str) else list(local):
            if isinstance(entry, str):
                ips.append(entry)
            elif isinstance(entry, tuple) and len(entry) >= 2 and isinstance(entry[1], int):
                ips.append(entry[0])
                port = port or entry[1]
            else:
                raise oserror(errno.EINVAL, f"a local address is an IP or (ip, port): {entry!r}")
    sock = _new_socket(_family([ip for ip, _p in peers] + ips))
    loop = asyncio.get_running_loop()
    fd = sock.fileno()
    watching = False
    try:
        _set_streams(sock, streams)
        if ips:
            _bind(sock, ips, port)
        sock.settimeout(0)
        try:
            sock.connectx(peers)
        except BlockingIOError:  # InProgress: wait until the descriptor is writable
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_writer(fd, lambda: None if ready.done() else ready.set_result(None))
            watching = True
            async with asyncio.timeout(timeout):
                await ready
            loop.remove_writer(fd)
            watching = False
        code = sock.getsockopt(C.SOL_SOCKET, _socket.SO_ERROR)
        if code:
            raise oserror(code, "connectx")
        return KernelAssociation(sock)
    except BaseException as e:
        if watching:
            loop.remove_writer(fd)
        if isinstance(e, (asyncio.CancelledError, TimeoutError)):
            with contextlib.suppress(OSError):  # a set-up nobody waits for: ABORT
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_LINGER, (1, 0))
        sock.close()
        if isinstance(e, TimeoutError) and e.errno is None:
            raise oserror(errno.ETIMEDOUT, f"connectx did not complete in {timeout} s") from None
        raise


# ----- servers -----

KernelHandler = Callable[[KernelAssociation], Awaitable[object]]


class KernelServer(Server):
    """A listening one-to-one kernel socket; each accepted socket is an association.

    ``close()`` closes the listening socket: the kernel then answers new INITs with
    an ABORT. ``stack`` is not there (AttributeError).
    """

    def __init__(self, handler: KernelHandler, sock: KernelSocket) -> None:
        self._handler = handler  # type: ignore[assignment]
        self._listener = sock
        self._fd = sock.fileno()
        self._addresses = list(sock._bound.addrs)
        self._port = sock.getsockname()[1]
        self._tasks: set[asyncio.Task[None]] = set()
        self._assocs: dict[int, Association] = {}
        self._serving = True
        self._loop = asyncio.get_running_loop()
        self._closed = self._loop.create_future()
        self._loop.add_reader(self._fd, self._on_accept)

    def _on_accept(self) -> None:
        for _ in range(64):
            if not self._serving:
                return
            try:
                child, _addr = self._listener.accept()
            except BlockingIOError:
                return
            except OSError as e:  # ECONNABORTED: gone before we took it
                log.debug("sctpx.aio: kernel accept: %s", e)
                continue
            try:
                assoc = KernelAssociation(child)
            except OSError as e:  # ended between accept and status
                log.debug("sctpx.aio: accepted association gone: %s", e)
                child.close()
                continue
            self._assocs[assoc.assoc_id] = assoc
            task = self._loop.create_task(self._run(assoc))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def stack(self) -> Stack:
        raise AttributeError("a server of the kernel backend has no sctpx.Stack")

    def close(self) -> None:
        """Stop taking associations: the listening socket is closed (new INITs: ABORT)."""
        if not self._serving:
            return
        self._serving = False
        self._loop.remove_reader(self._fd)
        self._listener.close()
        if not self._closed.done():
            self._closed.set_result(None)

    def __repr__(self) -> str:
        state = "serving" if self._serving else "closed"
        return f"<sctpx.aio.Server kernel {self._addresses}:{self._port} {state}>"


async def start_server(
    handler: KernelHandler,
    addrs: Sequence[str] | str,
    port: int,
    *,
    streams: int | None = None,
    backlog: int = 128,
    **userspace_only: Any,
) -> KernelServer:
    """Listen on a one-to-one kernel socket bound to ``addrs`` (bindx) and ``port``."""
    _refuse(**userspace_only)
    ips = [addrs] if isinstance(addrs, str) else list(addrs)
    if not ips:
        raise oserror(errno.EINVAL, "a server needs at least one local address")
    sock = _new_socket(_family(ips))
    try:
        _set_streams(sock, streams)
        _bind(sock, ips, port)
        sock.settimeout(0)
        sock.listen(backlog)
        return KernelServer(handler, sock)
    except BaseException:
        sock.close()
        raise
