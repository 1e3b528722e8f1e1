"""``sctpx.socket(..., backend="kernel")``: the sockets API of RFC 6458 on the OS's own SCTP.

The same class interface as the userspace backend (it is a subclass of
``sctpx.socket``, so ``isinstance`` holds and ``sctpx.sctp_connectx(fd, ...)``
finds it), the same argument rules (``api/addresses.py``, ``api/rules.py``),
the same event objects and the same errnos; where the kernel answers
differently the difference is mapped here and listed in docs/api.md.

Built on the standard library: an ``IPPROTO_SCTP`` socket of the :mod:`socket`
module, ``sendmsg``/``recvmsg`` with SCTP_SNDINFO/SCTP_PRINFO/SCTP_RCVINFO/
SCTP_NXTINFO ancillary data (RFC 6458 §5.3), and libc's getsockopt through
ctypes where an input buffer is needed (``linux.py``).

Timeouts are the kernel's: ``settimeout(None)`` is a blocking descriptor,
``settimeout(t)`` a blocking one with SO_RCVTIMEO/SO_SNDTIMEO of ``t`` (so a
blocking connectx waits in the kernel, as C's does), ``settimeout(0)`` is
O_NONBLOCK.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket as _socket
import struct
from collections.abc import Callable
from typing import Any, TypeVar

from ...core.events import DataReceived, Event
from .. import constants as C
from ..addresses import Bound, check_addr, err
from ..options import SCTP_PR_SCTP_RTX, SCTP_PR_SCTP_TTL, NxtInfo, PrInfo, RcvInfo, SndInfo
from ..rules import check_message, check_peers, check_socket_args, one_to_one_connect_state
from ..socket import _REG_LOCK, _REGISTRY, InProgress
from ..socket import socket as _BaseSocket
from . import linux as L
from . import notify
from .probe import MODPROBE

T = TypeVar("T")
_ANC = 512  # ancillary buffer: SCTP_RCVINFO + SCTP_NXTINFO with their headers fit


def _open(family: int, type: int) -> _socket.socket:
    try:
        return _socket.socket(family, type, C.IPPROTO_SCTP)
    except OSError as e:
        if e.errno in (errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT, errno.EAFNOSUPPORT,
                       errno.EPROTOTYPE):  # fmt: skip
            raise OSError(errno.EPROTONOSUPPORT, f"{os.strerror(errno.EPROTONOSUPPORT)}: "
                          f"{MODPROBE}") from None  # fmt: skip
        raise


def _rcvinfo(anc: list[tuple[int, int, bytes]]) -> tuple[RcvInfo, NxtInfo | None]:
    info, nxt = RcvInfo(), None
    for level, kind, data in anc:
        if level != C.IPPROTO_SCTP:
            continue
        if kind == L.SCTP_RCVINFO and len(data) >= L.RCVINFO.size:
            sid, ssn, flags, ppid, tsn, cum, ctx, aid = L.RCVINFO.unpack_from(data)
            info = RcvInfo(sid, ssn, flags, L.ppid_in(ppid), tsn, cum, ctx, aid)
        elif kind == L.SCTP_NXTINFO and len(data) >= L.NXTINFO.size:
            sid, flags, ppid, length, aid = L.NXTINFO.unpack_from(data)
            nxt = NxtInfo(sid, flags & C.SCTP_UNORDERED, L.ppid_in(ppid), length, aid)
    return info, nxt


class KernelSocket(_BaseSocket):
    """An SCTP socket of the operating system: SOCK_STREAM or SOCK_SEQPACKET."""

    def __new__(cls, *args: Any, **kwargs: Any) -> KernelSocket:
        return object.__new__(cls)

    def __init__(
        self,
        family: int = C.AF_INET,
        type: int = C.SOCK_STREAM,
        proto: int = C.IPPROTO_SCTP,
        *,
        stack: Any = None,
        backend: str | None = None,
        _sock: _socket.socket | None = None,
    ) -> None:
        check_socket_args(family, type, proto)
        if stack is not None:
            raise err(errno.EINVAL, "stack= is the userspace backend's; the kernel has its own")
        self.family, self.type, self.proto = family, type, C.IPPROTO_SCTP
        self._sock = _sock if _sock is not None else _open(family, type)
        self._fd = self._sock.fileno()
        self._closed = False
        self._timeout: float | None = None
        self._listening = False
        self._assoc_id = 0  # one-to-one: its association, once connectx started one
        self._bound = Bound()
        self._frag_interleave = 0  # the SCTP_FRAGMENT_INTERLEAVE level set (streams.py)
        self._assoc_reset_at: dict[int, float] = {}  # SCTP_RESET_ASSOC's 30 s (streams.py)
        # sctp_recv: the parts read of messages not yet whole, by (assoc id, stream, unordered)
        self._parts: dict[tuple[int, int, int], tuple[RcvInfo, list[bytes]]] = {}
        self._sock.setblocking(True)
        if _sock is None:  # accepted and peeled-off sockets inherit these
            self._sock.setsockopt(L.SOL_SCTP, L.SCTP_RECVRCVINFO, 1)
            self._sock.setsockopt(L.SOL_SCTP, L.SCTP_RECVNXTINFO, 1)
            # offer RE-CONFIG (RFC 6525) as the userspace stack does (Config.reconfig),
            # whatever net.sctp.reconf_enable says (streams.py)
            with contextlib.suppress(OSError):
                L.setsockopt_rc(self._fd, L.SCTP_RECONFIG_SUPPORTED, L.ASSOC_VALUE.pack(0, 1))
        with _REG_LOCK:
            _REGISTRY[self._fd] = self

    @classmethod
    def _wrap(cls, sock: _socket.socket, family: int, type: int) -> KernelSocket:
        child = cls(family, type, _sock=sock)
        child.settimeout(None)  # as a new socket starts (the kernel copied the listener's)
        return child

    # ----- plumbing -----

    def _check_open(self) -> None:
        if self._closed:
            raise err(errno.EBADF, "the socket is closed")

    def fileno(self) -> int:
        return -1 if self._closed else self._fd

    def _call(self, fn: Callable[[], T], what: str) -> T:
        """One kernel call; EAGAIN after SO_RCVTIMEO/SO_SNDTIMEO ran out is a TimeoutError."""
        self._check_open()
        try:
            return fn()
        except BlockingIOError:
            if self._timeout:
                raise TimeoutError(errno.ETIMEDOUT, f"{what} timed out") from None
            raise

    @property
    def _one_to_one(self) -> bool:
        return self.type == C.SOCK_STREAM

    # ----- addresses -----

    def bind(self, address: tuple[Any, ...]) -> None:
        self._check_open()
        self._bound.bind(address, self.family, False)  # the shared rules (wildcard included)
        self._sock.bind((self._bound.addrs[0], self._bound.port))
        self._bound.port = self.getsockname()[1]

    def bindx(self, addrs: list[tuple[Any, ...]], flags: int = C.SCTP_BINDX_ADD_ADDR) -> None:
        """RFC 6458 §9.1. Unlike the userspace stack, the kernel may change a live endpoint."""
        self._check_open()
        before = list(self._bound.addrs)
        self._bound.bindx(addrs, flags, self.family, False)
        port = self._bound.port or self._local_port()
        if flags == C.SCTP_BINDX_ADD_ADDR:
            ips = [a for a in self._bound.addrs if a not in before]
            name = L.SCTP_SOCKOPT_BINDX_ADD
        else:
            ips = [a for a in before if a not in self._bound.addrs]
            name = L.SCTP_SOCKOPT_BINDX_REM
        if not ips:
            return
        packed = b"".join(L.pack_sockaddr(ip, port) for ip in ips)
        try:
            self._sock.setsockopt(L.SOL_SCTP, name, packed)
        except OSError:
            self._bound.addrs = before
            raise
        self._bound.port = self._local_port()

    def _local_port(self) -> int:
        try:
            return int(self._sock.getsockname()[1])
        except OSError:
            return 0

    def getsockname(self) -> tuple[str, int]:
        self._check_open()
        return L.plain_addr(self._sock.getsockname())

    def getpeername(self) -> tuple[str, int]:
        """The primary peer address (as on the userspace backend: SCTP_STATUS's primary)."""
        self._check_open()
        from .options import status

        if self._one_to_one:
            with contextlib.suppress(OSError):
                prim = status(self, 0).primary
                if prim is not None:
                    return prim.address
        return L.plain_addr(self._sock.getpeername())

    def _addrs_of(self, name: int, assoc_id: int) -> list[tuple[str, int]]:
        self._check_open()
        try:
            return L.getaddrs(self._fd, name, assoc_id)
        except OSError as e:
            if e.errno == errno.EINVAL and self._one_to_one and not assoc_id:
                raise err(errno.ENOTCONN, "not connected") from None  # as the userspace backend
            raise err(e.errno or errno.EINVAL, f"no association {assoc_id}") from None

    def getpaddrs(self, assoc_id: int = 0) -> list[tuple[str, int]]:
        """RFC 6458 §9.3 (SCTP_GET_PEER_ADDRS)."""
        return self._addrs_of(L.SCTP_GET_PEER_ADDRS, assoc_id)

    def getladdrs(self, assoc_id: int = 0) -> list[tuple[str, int]]:
        """RFC 6458 §9.5 (SCTP_GET_LOCAL_ADDRS)."""
        return self._addrs_of(L.SCTP_GET_LOCAL_ADDRS, assoc_id)

    # ----- set-up -----

    def _state(self) -> int | None:
        """A one-to-one socket's association state (RFC 6458 numbering), None without one."""
        head = L.STATUS_HEAD.pack(0, 0, 0, 0, 0, 0, 0, 0)
        try:
            out = L.getsockopt_io(self._fd, L.SCTP_STATUS, head, L.STATUS_HEAD.size + 152)
        except OSError:
            return None
        return int(L.STATUS_HEAD.unpack_from(out)[1]) - L.SSTAT_OFFSET

    def _connecting(self) -> bool:
        """One-to-one: a set-up started and not ended. Linux shows an association of a
        one-to-one socket only once it is established (sctp_id2assoc); until the set-up
        ends, the descriptor is neither writable nor in error."""
        if not self._assoc_id:
            return False
        p = select.poll()
        p.register(self._fd, select.POLLOUT)
        return not p.poll(0)

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        if self._one_to_one and self._state() not in (None, C.SCTP_CLOSED):
            raise err(errno.EISCONN, "the socket is connected")
        self._sock.listen(backlog)
        self._listening = True

    def connectx(self, addrs: list[tuple[Any, ...]], **options: Any) -> int:
        """RFC 6458 §9.9 by SCTP_SOCKOPT_CONNECTX3: returns the association id.

        Blocking: the kernel waits for COMM_UP (or the socket's timeout: TimeoutError).
        Non-blocking: :class:`sctpx.InProgress` with ``assoc_id``.
        """
        self._check_open()
        if options:
            raise err(errno.EINVAL, f"connectx options {sorted(options)}: not on the kernel")
        peers = check_peers(addrs, self.family)
        if self._one_to_one:
            st = self._state()
            one_to_one_connect_state(
                listening=self._listening,
                in_progress=st is None and self._connecting(),
                established=st is not None and st >= C.SCTP_ESTABLISHED,
            )
        try:
            aid = L.connectx(self._fd, peers)
        except L.SockoptError as e:
            if e.errno != errno.EINPROGRESS:
                raise err(e.errno or errno.EINVAL, "connectx") from None
            aid = L.assoc_id_of(e.buf)
            if self._one_to_one:
                self._assoc_id = aid
            if self._timeout == 0:
                raise InProgress(aid) from None
            # SO_SNDTIMEO ran out while the kernel waited for the set-up
            raise TimeoutError(errno.ETIMEDOUT, "connect timed out") from None
        if self._one_to_one:
            self._assoc_id = aid
        return aid

    def connect(self, address: tuple[Any, ...]) -> None:
        self.connectx([address])

    def accept(self) -> tuple[KernelSocket, tuple[str, int]]:
        self._check_open()
        if not (self._listening and self._one_to_one):
            raise err(errno.EINVAL, "the socket is not a listening SOCK_STREAM socket")
        conn, addr = self._call(self._sock.accept, "accept")
        child = KernelSocket._wrap(conn, self.family, C.SOCK_STREAM)
        child._frag_interleave = self._frag_interleave
        return child, L.plain_addr(addr)

    def peeloff(self, assoc_id: int) -> KernelSocket:
        """RFC 6458 §9.2: the association on a new one-to-one socket."""
        self._check_open()
        if self._one_to_one:
            raise err(errno.EINVAL, "peeloff needs a one-to-many socket")
        try:
            fd = L.peeloff(self._fd, assoc_id)
        except OSError as e:
            raise err(e.errno or errno.EINVAL, f"no association {assoc_id}") from None
        sock = _socket.socket(self.family, C.SOCK_SEQPACKET, C.IPPROTO_SCTP, fileno=fd)
        child = KernelSocket._wrap(sock, self.family, C.SOCK_STREAM)
        child._assoc_id = assoc_id
        child._frag_interleave = self._frag_interleave
        return child

    # ----- data -----

    def _sendmsg(self, data: bytes, sid: int, flags: int, ppid: int, context: int,
                 assoc_id: int, pr: tuple[int, int] | None,
                 to: tuple[str, int] | None) -> int:  # fmt: skip
        info = L.SNDINFO.pack(sid & 0xFFFF, flags & 0xFFFF, L.ppid_out(ppid), context & 0xFFFFFFFF,
                              assoc_id)  # fmt: skip
        anc = [(C.IPPROTO_SCTP, L.SCTP_SNDINFO, info)]
        if pr is not None:
            anc.append((C.IPPROTO_SCTP, L.SCTP_PRINFO, L.PRINFO.pack(*pr)))
        if not 0 <= sid < 65536:
            raise err(errno.EINVAL, f"stream {sid}")
        args: tuple[Any, ...] = (to,) if to is not None else ()
        try:
            return self._call(lambda: self._sock.sendmsg([data], anc, 0, *args), "send")
        except OSError as e:
            if e.errno == errno.EPIPE and self._one_to_one and self._state() is None:
                raise err(errno.ENOTCONN, "not connected") from None
            raise

    def sctp_send(self, data: bytes, *, stream: int = 0, ppid: int = 0, flags: int = 0,
                  ttl: int = 0, context: int = 0, assoc_id: int = 0,
                  to: tuple[str, int] | None = None) -> int:  # fmt: skip
        """Send one message (RFC 6458 §9.7); ttl in ms (PR-SCTP); returns its length."""
        self._check_open()
        return self._send(data, stream, flags, ppid, context, assoc_id,
                          (L.PR_SCTP_TTL, ttl) if ttl > 0 else None, to)  # fmt: skip

    def _send(self, data: bytes, sid: int, flags: int, ppid: int, context: int, assoc_id: int,
              pr: tuple[int, int] | None, to: tuple[str, int] | None) -> int:  # fmt: skip
        peer = None
        if to is not None and not assoc_id:
            if self._one_to_one:
                raise err(errno.EISCONN, "a one-to-one socket sends on its own association")
            peer = check_addr(to, self.family, local=False)
        if flags & (C.SCTP_ABORT | C.SCTP_EOF):
            if self._one_to_one:  # Linux takes these flags on one-to-many sockets only
                if flags & C.SCTP_ABORT:
                    raise err(errno.EOPNOTSUPP, "SCTP_ABORT on a one-to-one kernel socket: "
                              "set SO_LINGER (1, 0) and close it")  # fmt: skip
                self.shutdown(_socket.SHUT_WR)
                return 0
            self._sendmsg(b"", sid, flags, 0, context, assoc_id, None, peer)
            return 0
        msg = check_message(data, ppid)
        self._sendmsg(msg, sid, flags, ppid, context, assoc_id, pr, peer)
        return len(msg)

    def sctp_sendv(self, data: bytes, sndinfo: SndInfo | None = None,
                   prinfo: PrInfo | None = None) -> int:  # fmt: skip
        """RFC 6458 §9.12: TTL (ms) and, on the kernel, RTX (retransmissions) policies."""
        self._check_open()
        si = sndinfo or SndInfo()
        pr = None
        if prinfo is not None and prinfo.policy == SCTP_PR_SCTP_TTL and prinfo.value > 0:
            pr = (L.PR_SCTP_TTL, prinfo.value)
        elif prinfo is not None and prinfo.policy == SCTP_PR_SCTP_RTX:
            pr = (L.PR_SCTP_RTX, prinfo.value)
        return self._send(data, si.sid, si.flags, si.ppid, si.context, si.assoc_id, pr, None)

    def send(self, data: bytes, flags: int = 0) -> int:
        """One-to-one: one message, with the SCTP_DEFAULT_SNDINFO stream, ppid and flags."""
        self._check_open()
        if not self._one_to_one:
            raise err(errno.EDESTADDRREQ, "use sctp_sendmsg with an association id")
        msg = check_message(data, 0)
        return self._call(lambda: self._sock.send(msg, flags), "send")

    def sendall(self, data: bytes, flags: int = 0) -> None:
        self.send(data, flags)

    def _recvmsg(self, bufsize: int) -> tuple[Any, list[tuple[int, int, bytes]], int, Any]:
        data, anc, mflags, addr = self._call(lambda: self._sock.recvmsg(bufsize, _ANC), "recv")
        if mflags & C.MSG_NOTIFICATION:
            while not mflags & C.MSG_EOR:  # a notification is parsed whole
                more, _a, mflags, _f = self._call(lambda: self._sock.recvmsg(4096, _ANC), "recv")
                if not more:
                    break
                data += more
            ev = notify.parse(data, self._stream_totals)
            return ev, anc, mflags, None
        if not data and not mflags & C.MSG_EOR:
            raise err(errno.ENOTCONN, "the association has ended")
        return data, anc, mflags, addr

    def _stream_totals(self, assoc_id: int) -> tuple[int, int]:
        from .streams import stream_totals

        return stream_totals(self, assoc_id)

    def _next(self, bufsize: int) -> tuple[Any, list[tuple[int, int, bytes]], int, Any]:
        """The next message part or known notification (kinds sctpx has no object for: skipped)."""
        while True:
            data, anc, mflags, addr = self._recvmsg(bufsize)
            if not (mflags & C.MSG_NOTIFICATION) or data is not None:
                return data, anc, mflags, addr

    def sctp_recvmsg(
        self, bufsize: int = 65536
    ) -> tuple[Any, tuple[str, int] | None, RcvInfo, int]:
        """RFC 6458 §9.8: ``(data, from, rcvinfo, msg_flags)``; a notification as its object.

        A message longer than ``bufsize`` comes in parts, MSG_EOR on the last (the kernel's
        partial reads; the userspace backend drops the rest of such a message).
        """
        data, anc, mflags, addr = self._next(bufsize)
        if mflags & C.MSG_NOTIFICATION:
            return data, None, RcvInfo(assoc_id=data.assoc_id), C.MSG_NOTIFICATION
        info, _nxt = _rcvinfo(anc)
        frm = L.plain_addr(addr) if addr else None
        return data, frm, info, int(mflags & C.MSG_EOR)

    def sctp_recvv(self, bufsize: int = 65536) -> tuple[Any, RcvInfo, NxtInfo | None, int]:
        """RFC 6458 §9.13: like sctp_recvmsg, plus SCTP_NXTINFO when a next message waits."""
        data, anc, mflags, _addr = self._next(bufsize)
        if mflags & C.MSG_NOTIFICATION:
            return data, RcvInfo(assoc_id=data.assoc_id), None, C.MSG_NOTIFICATION
        info, nxt = _rcvinfo(anc)
        return data, info, nxt, int(mflags & C.MSG_EOR)

    def sctp_recv(self) -> Event:
        """The next whole message (DataReceived) or notification object.

        The kernel's parts of a message are joined; parts of other messages that come
        between them (other associations', or with I-DATA and SCTP_FRAGMENT_INTERLEAVE
        other streams') are kept until their own messages are whole.
        """
        while True:
            data, anc, mflags, _addr = self._next(1 << 16)
            if mflags & C.MSG_NOTIFICATION:
                ev: Event = data
                return ev
            info, _nxt = _rcvinfo(anc)
            key = (info.assoc_id, info.sid, info.flags & C.SCTP_UNORDERED)
            first, parts = self._parts.pop(key, (info, []))
            parts.append(bytes(data))
            if not mflags & C.MSG_EOR:
                self._parts[key] = (first, parts)
                continue
            return DataReceived(first.assoc_id, first.sid, first.ppid, b"".join(parts),
                                bool(first.flags & C.SCTP_UNORDERED), first.tsn,
                                first.ssn)  # fmt: skip

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """One-to-one: the next message's bytes (notifications are skipped); b"" at the end."""
        while True:
            try:
                data, _anc, mflags, _addr = self._recvmsg(bufsize)
            except OSError as e:
                if e.errno in (errno.ENOTCONN, errno.ECONNRESET):
                    return b""
                raise
            if not mflags & C.MSG_NOTIFICATION:
                return bytes(data)

    # ----- options -----

    def settimeout(self, timeout: float | None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0 or None")
        self._check_open()
        self._timeout = timeout
        self._sock.setblocking(timeout != 0)
        t = timeout or 0.0
        tv = struct.pack("@ll", int(t), int((t - int(t)) * 1e6))
        for opt in (_socket.SO_RCVTIMEO, _socket.SO_SNDTIMEO):
            self._sock.setsockopt(_socket.SOL_SOCKET, opt, tv)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def setsockopt(self, level: int, optname: int, value: Any) -> None:
        from .options import setsockopt

        self._check_open()
        setsockopt(self, level, optname, value)

    def getsockopt(self, level: int, optname: int, arg: Any = None) -> Any:
        from .options import getsockopt

        self._check_open()
        return getsockopt(self, level, optname, arg)

    def subscribe(self, *event_types: int) -> None:
        """SCTP_EVENT on for these notification types (RFC 6458 §6.2.2)."""
        self._check_open()
        for t in event_types:
            self._sock.setsockopt(L.SOL_SCTP, L.SCTP_EVENT, L.EVENT.pack(0, L.event_type(t), 1))

    def _assoc_ids(self) -> list[int]:
        from .options import assoc_ids

        return assoc_ids(self)

    # ----- ending -----

    def shutdown(self, how: int = _socket.SHUT_RDWR) -> None:
        """Graceful SHUTDOWN (RFC 9260 §9.2); on one-to-many, of every association."""
        self._check_open()
        if self._one_to_one:
            if self._state() is None:
                raise err(errno.ENOTCONN, "not connected")
            self._sock.shutdown(how)
            return
        for aid in self._assoc_ids():
            self._sendmsg(b"", 0, C.SCTP_EOF, 0, 0, aid, None, None)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _REG_LOCK:
            if _REGISTRY.get(self._fd) is self:
                del _REGISTRY[self._fd]
        self._sock.close()

    def __enter__(self) -> KernelSocket:
        return self

    def __repr__(self) -> str:
        kind = "one-to-one" if self._one_to_one else "one-to-many"
        return f"<sctpx.socket kernel fd={self.fileno()} {kind}>"
