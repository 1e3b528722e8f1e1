"""getsockopt / setsockopt of the kernel backend: sctpx's option objects <-> Linux's structures.

The option names are sctpx's (``sctpx.SCTP_*``, RFC 6458 §8); the values the
same dataclasses as on the userspace backend. Each is packed into the Linux
structure of ``linux.py`` and handed to the kernel; the options keyed by an
association id or an address go through libc's getsockopt with an input buffer.
"""

from __future__ import annotations

import errno
import socket as _socket
import struct
from typing import TYPE_CHECKING, Any

from .. import constants as C
from ..addresses import check_ip, err
from ..interleave import OPTIONS as _INTERLEAVE
from ..options import (
    AssocParams,
    EventSubscription,
    InitMsg,
    PeerAddrInfo,
    PeerAddrParams,
    PrimaryAddr,
    RtoInfo,
    SndInfo,
    Status,
    UdpEncaps,
)
from ..reconfig import OPTIONS as _RECONFIG
from . import linux as L

if TYPE_CHECKING:
    from .socket import KernelSocket

_ZERO_SS = bytes(L.SS_SIZE)
_INT = struct.Struct("=i")
_U32 = struct.Struct("=I")
_STREAMS = _RECONFIG | _INTERLEAVE  # streams.py's (loaded on first use: it imports this)


def _storage(sock: KernelSocket, addr: tuple[str, int] | None) -> bytes:
    if addr is None:
        return _ZERO_SS
    return L.pack_storage(check_ip(addr[0], sock.family, local=False), int(addr[1]))


def _io(sock: KernelSocket, name: int, data: bytes, size: int | None = None) -> bytes:
    try:
        return L.getsockopt_io(sock._fd, name, data, size)
    except OSError as e:
        raise err(e.errno or errno.EINVAL, f"getsockopt {name}") from None


def _set(sock: KernelSocket, name: int, data: bytes) -> None:
    sock._sock.setsockopt(L.SOL_SCTP, name, data)


def _unsupported(name: int, why: str) -> OSError:
    return OSError(errno.ENOPROTOOPT, f"Protocol not available: option {name}: {why}")


def setsockopt(sock: KernelSocket, level: int, name: int, value: Any) -> None:
    if level == C.SOL_SOCKET:
        if name == _socket.SO_LINGER and isinstance(value, tuple):
            value = struct.pack("ii", *value)
        sock._sock.setsockopt(level, name, value)
        return
    if level != C.IPPROTO_SCTP:
        raise OSError(errno.ENOPROTOOPT, f"level {level}")
    if name == C.SCTP_INITMSG and isinstance(value, InitMsg):
        v = value
        _set(sock, L.SCTP_INITMSG, L.INITMSG.pack(v.num_ostreams, v.max_instreams,
                                                  v.max_attempts, v.max_init_timeo))  # fmt: skip
    elif name == C.SCTP_RTOINFO and isinstance(value, RtoInfo):
        _set(sock, L.SCTP_RTOINFO, L.RTOINFO.pack(value.assoc_id, value.initial, value.max,
                                                  value.min))  # fmt: skip
    elif name == C.SCTP_ASSOCINFO and isinstance(value, AssocParams):
        _set(sock, L.SCTP_ASSOCINFO, L.ASSOCPARAMS.pack(value.assoc_id, value.asocmaxrxt, 0, 0,
                                                        0, value.cookie_life))  # fmt: skip
    elif name == C.SCTP_PEER_ADDR_PARAMS and isinstance(value, PeerAddrParams):
        flags = L.SPP_HB_ENABLE if value.hbinterval else 0
        _set(sock, L.SCTP_PEER_ADDR_PARAMS, L.PADDRPARAMS.pack(
            value.assoc_id, _storage(sock, value.address), value.hbinterval, value.pathmaxrxt,
            0, 0, flags, 0, 0))  # fmt: skip
    elif name == C.SCTP_PRIMARY_ADDR and isinstance(value, PrimaryAddr):
        _set(sock, L.SCTP_PRIMARY_ADDR, L.SETPRIM.pack(value.assoc_id,
                                                       _storage(sock, value.address)))  # fmt: skip
    elif name == C.SCTP_NODELAY:
        sock._sock.setsockopt(L.SOL_SCTP, L.SCTP_NODELAY, int(bool(value)))
    elif name == C.SCTP_MAXSEG:  # §8.1.16, the userspace backend's rule first
        if not isinstance(value, int) or value < 0 or (0 < value < 64):
            raise err(errno.EINVAL, "SCTP_MAXSEG is 0 or at least 64 bytes")
        _set(sock, L.SCTP_MAXSEG, L.ASSOC_VALUE.pack(0, value))
    elif name == C.SCTP_PARTIAL_DELIVERY_POINT:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFFFFFF:
            raise err(errno.EINVAL, "SCTP_PARTIAL_DELIVERY_POINT is a byte count, 0..2**32-1")
        _set(sock, L.SCTP_PARTIAL_DELIVERY_POINT, _U32.pack(value))
    elif name == C.SCTP_DEFAULT_SNDINFO and isinstance(value, SndInfo):  # §8.1.31
        if value.flags & ~(C.SCTP_UNORDERED) or not 0 <= value.sid < 65536:
            raise err(errno.EINVAL, "default flags may only be SCTP_UNORDERED; sid 0..65535")
        packed = L.SNDINFO.pack(value.sid, value.flags, L.ppid_out(value.ppid), value.context,
                                value.assoc_id)  # fmt: skip
        _set(sock, L.SCTP_DEFAULT_SNDINFO, packed)
    elif name == C.SCTP_EVENT and isinstance(value, EventSubscription):
        kind = L.event_type(value.type)
        _set(sock, L.SCTP_EVENT, L.EVENT.pack(value.assoc_id, kind, int(value.on)))
    elif name == C.SCTP_REMOTE_UDP_ENCAPS_PORT and isinstance(value, UdpEncaps):  # RFC 6951 §6.1
        if not 0 <= value.port < 65536:
            raise err(errno.EINVAL, "port")
        _set(sock, L.SCTP_REMOTE_UDP_ENCAPS_PORT, L.UDPENCAPS.pack(
            value.assoc_id, _storage(sock, value.address), _socket.htons(value.port)))  # fmt: skip
    elif name in _STREAMS:  # RFC 6525 §6.3, RFC 8260 §4.3 (streams.py)
        from . import streams

        streams.setsockopt(sock, name, value)
    elif name == C.SCTPX_INIT_STAGGER:
        raise _unsupported(name, "the kernel has no staggered INIT (it tries one address "
                           "after another, each after an RTO)")  # fmt: skip
    else:
        raise OSError(errno.ENOPROTOOPT, f"option {name} with {type(value).__name__}")


def _addr_arg(arg: Any) -> tuple[int, tuple[str, int]]:
    """``(ip, port)`` or ``(assoc_id, (ip, port))``."""
    if isinstance(arg, tuple) and len(arg) == 2 and isinstance(arg[1], tuple):
        return int(arg[0]), arg[1]
    if isinstance(arg, tuple) and len(arg) >= 2 and isinstance(arg[0], str):
        return 0, (arg[0], int(arg[1]))
    raise err(errno.EINVAL, "pass (ip, port) or (assoc_id, (ip, port))")


def _paddrinfo(buf: bytes, off: int = 0) -> PeerAddrInfo:
    aid, ss, state, cwnd, srtt, rto, mtu = L.PADDRINFO.unpack_from(buf, off)
    addr, _n = L.unpack_sockaddr(ss)
    return PeerAddrInfo(aid, addr, state, cwnd, srtt, rto, mtu)


def status(sock: KernelSocket, aid: int) -> Status:
    """SCTP_STATUS (§8.2.1), the state in RFC 6458's numbering."""
    size = L.STATUS_HEAD.size + L.PADDRINFO.size
    out = _io(sock, L.SCTP_STATUS, L.STATUS_HEAD.pack(aid, 0, 0, 0, 0, 0, 0, 0), size)
    a, state, rwnd, unack, pend, ins, outs, frag = L.STATUS_HEAD.unpack_from(out)
    prim = _paddrinfo(out, L.STATUS_HEAD.size)
    return Status(a, state - L.SSTAT_OFFSET, rwnd, unack, pend, ins, outs, frag,
                  prim if prim.address[1] else None)  # fmt: skip


def assoc_ids(sock: KernelSocket) -> list[int]:
    if sock._one_to_one:  # Linux answers EOPNOTSUPP here; the userspace backend lists its one
        st = sock._state()
        return [status(sock, 0).assoc_id] if st is not None and st != C.SCTP_CLOSED else []
    n = _U32.unpack(sock._sock.getsockopt(L.SOL_SCTP, L.SCTP_GET_ASSOC_NUMBER, 4))[0]
    out = _io(sock, L.SCTP_GET_ASSOC_ID_LIST, b"", 4 + 4 * (n + 16))
    (count,) = _U32.unpack_from(out)
    return sorted(struct.unpack_from(f"={count}i", out, 4))


def _sol_socket(sock: KernelSocket, name: int) -> Any:
    if name == _socket.SO_LINGER:
        return struct.unpack("ii", sock._sock.getsockopt(C.SOL_SOCKET, name, 8))
    return sock._sock.getsockopt(C.SOL_SOCKET, name)


def getsockopt(sock: KernelSocket, level: int, name: int, arg: Any = None) -> Any:
    if level == C.SOL_SOCKET:
        return _sol_socket(sock, name)
    if level != C.IPPROTO_SCTP:
        raise OSError(errno.ENOPROTOOPT, f"level {level}")
    aid = arg if isinstance(arg, int) else 0
    if name == C.SCTP_INITMSG:
        return InitMsg(*L.INITMSG.unpack(sock._sock.getsockopt(L.SOL_SCTP, L.SCTP_INITMSG, 8)))
    if name == C.SCTP_RTOINFO:
        return RtoInfo(*L.RTOINFO.unpack(_io(sock, L.SCTP_RTOINFO, L.RTOINFO.pack(aid, 0, 0, 0))))
    if name == C.SCTP_ASSOCINFO:
        a, rxt, dests, prwnd, lrwnd, life = L.ASSOCPARAMS.unpack(
            _io(sock, L.SCTP_ASSOCINFO, L.ASSOCPARAMS.pack(aid, 0, 0, 0, 0, 0)))
        return AssocParams(a, rxt, dests, prwnd, lrwnd, life)
    if name == C.SCTP_PEER_ADDR_PARAMS:
        addr = None
        if isinstance(arg, tuple):
            aid, addr = _addr_arg(arg)
        out = _io(sock, L.SCTP_PEER_ADDR_PARAMS,
                  L.PADDRPARAMS.pack(aid, _storage(sock, addr), 0, 0, 0, 0, 0, 0, 0))  # fmt: skip
        a, _ss, hb, rxt, mtu, _sack, _fl, _lbl, _dscp = L.PADDRPARAMS.unpack(out)
        return PeerAddrParams(a, None if addr is None else (addr[0], int(addr[1])), hb, rxt, mtu)
    if name == C.SCTP_NODELAY:
        return int(sock._sock.getsockopt(L.SOL_SCTP, L.SCTP_NODELAY))
    if name == C.SCTP_PARTIAL_DELIVERY_POINT:
        return int(_U32.unpack(sock._sock.getsockopt(L.SOL_SCTP, L.SCTP_PARTIAL_DELIVERY_POINT,
                                                     4))[0])  # fmt: skip
    if name == C.SCTP_DEFAULT_SNDINFO:
        sid, flags, ppid, ctx, a = L.SNDINFO.unpack(
            _io(sock, L.SCTP_DEFAULT_SNDINFO, L.SNDINFO.pack(0, 0, bytes(4), 0, aid)))
        return SndInfo(sid, flags, L.ppid_in(ppid), ctx, a)
    if name == C.SCTP_MAXSEG:
        return int(L.ASSOC_VALUE.unpack(_io(sock, L.SCTP_MAXSEG, L.ASSOC_VALUE.pack(aid, 0)))[1])
    if name == C.SCTP_STATUS:
        return status(sock, aid)
    if name == C.SCTP_GET_PEER_ADDR_INFO:
        a, addr = _addr_arg(arg)
        probe = L.PADDRINFO.pack(a, _storage(sock, addr), 0, 0, 0, 0, 0)
        return _paddrinfo(_io(sock, L.SCTP_GET_PEER_ADDR_INFO, probe))
    if name in (C.SCTP_GET_ASSOC_ID_LIST, C.SCTP_GET_ASSOC_NUMBER):
        ids = assoc_ids(sock)
        return ids if name == C.SCTP_GET_ASSOC_ID_LIST else len(ids)
    if name == C.SCTP_REMOTE_UDP_ENCAPS_PORT:
        addr = None
        if isinstance(arg, tuple):
            aid, addr = _addr_arg(arg)
        out = _io(sock, L.SCTP_REMOTE_UDP_ENCAPS_PORT,
                  L.UDPENCAPS.pack(aid, _storage(sock, addr), 0))  # fmt: skip
        a, _ss, port = L.UDPENCAPS.unpack(out)
        return UdpEncaps(a, addr, _socket.ntohs(port))
    if name in _STREAMS:
        from . import streams

        return streams.getsockopt(sock, name, arg)
    if name == C.SCTPX_INIT_STAGGER:
        raise _unsupported(name, "the kernel has no staggered INIT")
    raise OSError(errno.ENOPROTOOPT, f"option {name}")
