"""getsockopt / setsockopt for SCTP sockets (RFC 6458 §8), with dataclass values.

Options set with assoc_id 0 (SCTP_FUTURE_ASSOC) change the socket's defaults,
which every association created later starts from (OPT-06); with an
association's id they change that association only. Times are milliseconds.
"""

from __future__ import annotations

import errno
import socket as _socket
import struct
from typing import TYPE_CHECKING, Any

from ..core import Config, Reachability, State
from . import constants as C
from . import interleave, reconfig
from .options import (
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

if TYPE_CHECKING:
    from .socket import socket

_STATE = {
    State.CLOSED: C.SCTP_CLOSED,
    State.COOKIE_WAIT: C.SCTP_COOKIE_WAIT,
    State.COOKIE_ECHOED: C.SCTP_COOKIE_ECHOED,
    State.ESTABLISHED: C.SCTP_ESTABLISHED,
    State.SHUTDOWN_PENDING: C.SCTP_SHUTDOWN_PENDING,
    State.SHUTDOWN_SENT: C.SCTP_SHUTDOWN_SENT,
    State.SHUTDOWN_RECEIVED: C.SCTP_SHUTDOWN_RECEIVED,
    State.SHUTDOWN_ACK_SENT: C.SCTP_SHUTDOWN_ACK_SENT,
}


def _einval(msg: str) -> OSError:
    return OSError(errno.EINVAL, f"Invalid argument: {msg}")


def _ms(x: float) -> int:
    return round(x * 1000)


def _cfg_for(sock: socket, assoc_id: int) -> Config:
    """The config an option changes: the socket's defaults or one association's."""
    if assoc_id in (C.SCTP_FUTURE_ASSOC, C.SCTP_CURRENT_ASSOC, C.SCTP_ALL_ASSOC):
        return sock._cfg
    cfg: Config = sock._assoc(assoc_id).cfg
    return cfg


def setsockopt(sock: socket, level: int, name: int, value: Any) -> None:
    """Set one option (see the module docstring and docs/api.md)."""
    sock._check_open()
    if level == C.SOL_SOCKET:
        _set_socket_level(sock, name, value)
        return
    if level != C.IPPROTO_SCTP:
        raise OSError(errno.ENOPROTOOPT, f"level {level}")
    cfg = sock._cfg
    if name == C.SCTP_INITMSG and isinstance(value, InitMsg):  # OPT-01, STY-08
        if value.num_ostreams:
            cfg.num_ostreams = value.num_ostreams
        if value.max_instreams:
            cfg.max_instreams = value.max_instreams
        if value.max_attempts:
            cfg.max_init_retransmits = value.max_attempts
        if value.max_init_timeo:
            cfg.max_init_timeo = value.max_init_timeo / 1000
    elif name == C.SCTP_RTOINFO and isinstance(value, RtoInfo):  # OPT-03
        c = _cfg_for(sock, value.assoc_id)
        lo = value.min / 1000 if value.min else c.rto_min
        hi = value.max / 1000 if value.max else c.rto_max
        init = value.initial / 1000 if value.initial else c.rto_initial
        if not 0 < lo <= init <= hi:
            raise _einval("need 0 < min <= initial <= max")
        c.rto_min, c.rto_max, c.rto_initial = lo, hi, init
    elif name == C.SCTP_ASSOCINFO and isinstance(value, AssocParams):  # OPT-04
        c = _cfg_for(sock, value.assoc_id)
        if value.asocmaxrxt:
            c.assoc_max_retrans = value.asocmaxrxt
        if value.cookie_life:
            c.valid_cookie_life = value.cookie_life / 1000
    elif name == C.SCTP_PEER_ADDR_PARAMS and isinstance(value, PeerAddrParams):  # OPT-05
        if value.address is not None:
            _set_path_params(sock, value)
            return
        c = _cfg_for(sock, value.assoc_id)
        if value.hbinterval:
            c.hb_interval = value.hbinterval / 1000
        if value.pathmaxrxt:
            c.path_max_retrans = value.pathmaxrxt
    elif name == C.SCTP_MAXSEG:  # §8.1.16: 0 = as the path MTU allows
        if not isinstance(value, int) or value < 0 or (0 < value < 64):
            raise _einval("SCTP_MAXSEG is 0 or at least 64 bytes")
        cfg.max_seg = value
    elif name == C.SCTP_PRIMARY_ADDR and isinstance(value, PrimaryAddr):
        _set_primary(sock, value)
    elif name == C.SCTP_NODELAY:
        cfg.nodelay = bool(value)
    elif name == C.SCTP_PARTIAL_DELIVERY_POINT:  # §8.1.21: bytes; future associations
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFFFFFF:
            raise _einval("SCTP_PARTIAL_DELIVERY_POINT is a byte count, 0..2**32-1")
        cfg.pd_point = value
    elif name == C.SCTP_DEFAULT_SNDINFO and isinstance(value, SndInfo):  # §8.1.31
        if value.flags & ~(C.SCTP_UNORDERED) or not 0 <= value.sid < 65536:
            raise _einval("default flags may only be SCTP_UNORDERED; sid 0..65535")
        sock._default_sndinfo = SndInfo(value.sid, value.flags, value.ppid, value.context, 0)
    elif name == C.SCTP_EVENT and isinstance(value, EventSubscription):
        (sock._subs.on.add if value.on else sock._subs.on.discard)(value.type)
    elif name == C.SCTP_REMOTE_UDP_ENCAPS_PORT and isinstance(value, UdpEncaps):  # OPT-07
        if not 0 <= value.port < 65536:
            raise _einval("port")
        if sock._stack.transport != "udp":
            return  # decided: over raw IP there is no encapsulation; accepted, no effect
        if value.address is None:
            cfg.remote_udp_port = value.port
        else:
            cfg.remote_udp_ports[sock._ip(value.address[0], local=False)] = value.port
    elif name in reconfig.OPTIONS:  # RFC 6525 §6.3
        reconfig.setsockopt(sock, name, value)
    elif name in interleave.OPTIONS:  # RFC 8260 §4.3, RFC 6458 §8.1.20
        interleave.setsockopt(sock, name, value)
    elif name == C.SCTPX_INIT_STAGGER:
        if not isinstance(value, (int, float)) or value < 0:
            raise _einval("init stagger is seconds >= 0")
        cfg.init_stagger = float(value)
    else:
        raise OSError(errno.ENOPROTOOPT, f"option {name} with {type(value).__name__}")


def _set_socket_level(sock: socket, name: int, value: Any) -> None:
    if name == _socket.SO_RCVBUF:
        if not isinstance(value, int) or value < 1500:
            raise _einval("SO_RCVBUF must be >= 1500")
        sock._cfg.a_rwnd = value
    elif name == _socket.SO_LINGER:
        on, secs = struct.unpack("ii", value) if isinstance(value, bytes) else value
        sock._linger_abort = bool(on) and secs == 0
    elif name in (_socket.SO_SNDBUF, _socket.SO_REUSEADDR):
        pass  # accepted for portability; the send queue is bounded by flow control
    else:
        raise OSError(errno.ENOPROTOOPT, f"SOL_SOCKET option {name}")


def _set_path_params(sock: socket, value: PeerAddrParams) -> None:
    """SCTP_PEER_ADDR_PARAMS for one peer address of one association."""
    assert value.address is not None
    a = sock._assoc(value.assoc_id)
    ip = sock._ip(value.address[0], local=False)

    def apply(now: float) -> None:
        p = a.paths.get(ip)
        if p is None:
            raise _einval(f"{ip} is not a peer address of association {a.id}")
        if value.hbinterval:
            p.hb_interval = value.hbinterval / 1000
        if value.pathmaxrxt:
            p.max_retrans = value.pathmaxrxt

    sock._stack.call(apply)


def _set_primary(sock: socket, value: PrimaryAddr) -> None:
    a = sock._assoc(value.assoc_id)
    ip = sock._ip(value.address[0], local=False)
    ep = sock._hub.ep if sock._hub is not None else None
    assert ep is not None
    sock._stack.call(lambda now: ep.set_primary(a.id, ip))  # PV-07: EINVAL if unconfirmed


def getsockopt(sock: socket, level: int, name: int, arg: Any = None) -> Any:
    """Read one option; ``arg`` carries the assoc id or address where C passes them in."""
    sock._check_open()
    if level == C.SOL_SOCKET:
        if name == _socket.SO_ERROR:
            return sock._so_error()
        if name == _socket.SO_RCVBUF:
            return sock._cfg.a_rwnd
        raise OSError(errno.ENOPROTOOPT, f"SOL_SOCKET option {name}")
    if level != C.IPPROTO_SCTP:
        raise OSError(errno.ENOPROTOOPT, f"level {level}")
    aid = arg if isinstance(arg, int) else 0
    cfg = sock._cfg
    if name == C.SCTP_INITMSG:
        return InitMsg(cfg.num_ostreams, cfg.max_instreams, cfg.max_init_retransmits,
                       _ms(cfg.max_init_timeo))  # fmt: skip
    if name == C.SCTP_RTOINFO:
        c = _cfg_for(sock, aid)
        return RtoInfo(aid, _ms(c.rto_initial), _ms(c.rto_max), _ms(c.rto_min))
    if name == C.SCTP_ASSOCINFO:
        c = _cfg_for(sock, aid)
        n = len(sock._assoc(aid).paths) if aid > C.SCTP_ALL_ASSOC else 0
        return AssocParams(aid, c.assoc_max_retrans, n, 0, c.a_rwnd, _ms(c.valid_cookie_life))
    if name == C.SCTP_PEER_ADDR_PARAMS:
        if isinstance(arg, tuple) and isinstance(arg[-1], tuple):  # (assoc_id, (ip, port))
            return _path_params(sock, arg[0], arg[1])
        c = _cfg_for(sock, aid)
        return PeerAddrParams(aid, None, _ms(c.hb_interval), c.path_max_retrans, c.mtu)
    if name == C.SCTP_NODELAY:
        return int(cfg.nodelay)
    if name in reconfig.OPTIONS:
        return reconfig.getsockopt(sock, name, aid)
    if name in interleave.OPTIONS:
        return interleave.getsockopt(sock, name, arg)
    if name == C.SCTP_PARTIAL_DELIVERY_POINT:  # the point in effect: at most half SO_RCVBUF
        half = cfg.a_rwnd // 2
        return min(cfg.pd_point, half) if cfg.pd_point else half
    if name == C.SCTP_DEFAULT_SNDINFO:
        return SndInfo(**vars(sock._default_sndinfo))
    if name == C.SCTP_MAXSEG:  # §8.1.16: the largest user data in one DATA chunk
        if aid > C.SCTP_ALL_ASSOC:
            return _status(sock, aid).fragmentation_point
        mtu_seg = cfg.mtu - 20 - 8 - 12 - 16  # IPv4, UDP, common header, DATA header
        return min(mtu_seg, cfg.max_seg) if cfg.max_seg else mtu_seg
    if name == C.SCTPX_INIT_STAGGER:
        return cfg.init_stagger
    if name == C.SCTP_STATUS:
        return _status(sock, aid)
    if name == C.SCTP_GET_PEER_ADDR_INFO:
        if not isinstance(arg, tuple):
            raise _einval("pass (ip, port) or (assoc_id, (ip, port))")
        return _paddr_info(sock, *((arg[0], arg[1]) if isinstance(arg[1], tuple) else (0, arg)))
    if name in (C.SCTP_GET_ASSOC_ID_LIST, C.SCTP_GET_ASSOC_NUMBER):
        ids = sock._assoc_ids()
        return ids if name == C.SCTP_GET_ASSOC_ID_LIST else len(ids)
    raise OSError(errno.ENOPROTOOPT, f"option {name}")


def _path_params(sock: socket, aid: int, addr: tuple[str, int]) -> PeerAddrParams:
    a = sock._assoc(aid)
    ip = sock._ip(addr[0], local=False)

    def read(now: float) -> PeerAddrParams:
        p = a.paths.get(ip)
        if p is None:
            raise _einval(f"{ip} is not a peer address of association {a.id}")
        hb = a.cfg.hb_interval if p.hb_interval is None else p.hb_interval
        rx = a.cfg.path_max_retrans if p.max_retrans is None else p.max_retrans
        return PeerAddrParams(a.id, (ip, a.peer_port), _ms(hb), rx, a.cfg.mtu)

    params: PeerAddrParams = sock._stack.call(read)
    return params


def _path_info(a: Any, ip: str) -> PeerAddrInfo:
    p = a.paths[ip]
    if not p.confirmed:
        state = C.SCTP_UNCONFIRMED
    else:
        state = {Reachability.ACTIVE: C.SCTP_ACTIVE, Reachability.PF: C.SCTP_PF,
                 Reachability.INACTIVE: C.SCTP_INACTIVE}[p.reach]  # fmt: skip
    tx = a.data.sender.tx.get(ip) if a.data is not None else None
    cwnd = tx.cc.cwnd if tx is not None else 0
    srtt = _ms(p.rto.srtt) if p.rto.srtt is not None else 0
    return PeerAddrInfo(a.id, (ip, a.peer_port), state, cwnd, srtt, _ms(p.rto.rto), a.cfg.mtu)


def _paddr_info(sock: socket, aid: int, addr: tuple[str, int]) -> PeerAddrInfo:
    a = sock._assoc(aid)
    ip = sock._ip(addr[0], local=False)

    def read(now: float) -> PeerAddrInfo:
        if ip not in a.paths:
            raise _einval(f"{ip} is not a peer address of association {a.id}")
        return _path_info(a, ip)

    info: PeerAddrInfo = sock._stack.call(read)
    return info


def _status(sock: socket, aid: int) -> Status:
    a = sock._assoc(aid)

    def read(now: float) -> Status:
        d = a.data
        prim = _path_info(a, a.pm.primary) if a.pm.primary in a.paths else None
        unacked = len(d.sender.outstanding) if d is not None else 0
        pending = len(d.sender.pending) if d is not None else 0
        rwnd = d.sender.peer_rwnd if d is not None else a.peer_rwnd
        frag = d._payload() if d is not None else 0
        return Status(a.id, _STATE[a.state], rwnd, unacked, pending, a.inbound_streams,
                      a.outbound_streams, frag, prim)  # fmt: skip

    st: Status = sock._stack.call(read)
    return st
