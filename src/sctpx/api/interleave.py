"""The user message interleaving socket options (RFC 8260 §4.3, RFC 6458 §8.1.20), for
api.sockopts.

SCTP_FRAGMENT_INTERLEAVE (an int, the socket's): 0 and 1 as RFC 6458 §8.1.20 (the
userspace stack delivers each association's messages by itself, so 0 behaves as 1);
2 lets the parts of messages of different streams of one association interleave in
what a read returns; the ``stream_id`` of each part (sinfo_stream) says which message
it continues. Default 1, as RFC 6458 says (Linux starts at 0).

SCTP_INTERLEAVING_SUPPORTED (AssocValue): offer I-DATA (RFC 8260 §2.1) to associations
made from now on. Setting it to 1 needs SCTP_FRAGMENT_INTERLEAVE 2 first, else EINVAL
(RFC 8260 §4.3.1; Linux says EPERM); lowering SCTP_FRAGMENT_INTERLEAVE below 2 turns it
off again (as Linux does), since I-DATA parts of several streams could then not be told
apart. Read with an association's id it says whether that association uses I-DATA; an
association's id to set it is EINVAL: it is negotiated at set-up.

SCTP_STREAM_SCHEDULER (AssocValue with SCTP_SS_*): which stream's message is sent next
(core.scheduler). With SCTP_FUTURE_ASSOC (0) the socket's default, with an
association's id that association, on a connected one-to-one socket both. The default
(core.config's note) is SCTP_SS_RR on an association that uses I-DATA and
SCTP_SS_FCFS on one that uses DATA; read on the socket it says which of the two a new
association would get given SCTP_INTERLEAVING_SUPPORTED (the peer may decline I-DATA).
SCTP_STREAM_SCHEDULER_VALUE (StreamValue): a stream's priority or weight on one
association; EINVAL without one, or for a stream it does not have.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from ..core.association import Association
from . import constants as C
from .options import AssocValue, StreamValue

if TYPE_CHECKING:
    from .socket import socket

OPTIONS = frozenset((
    C.SCTP_FRAGMENT_INTERLEAVE,
    C.SCTP_INTERLEAVING_SUPPORTED,
    C.SCTP_STREAM_SCHEDULER,
    C.SCTP_STREAM_SCHEDULER_VALUE,
))
SCHEDULERS = {
    C.SCTP_SS_FCFS: "fcfs",
    C.SCTP_SS_RR: "rr",
    C.SCTP_SS_RR_PKT: "rr_pkt",
    C.SCTP_SS_PRIO: "prio",
    C.SCTP_SS_WFQ: "wfq",
}
_NUMBERS = {name: number for number, name in SCHEDULERS.items()}
_FUTURE = (C.SCTP_FUTURE_ASSOC, C.SCTP_CURRENT_ASSOC, C.SCTP_ALL_ASSOC)


def _einval(msg: str) -> OSError:
    return OSError(errno.EINVAL, f"Invalid argument: {msg}")


def _defaults_only(sock: socket, aid: int) -> bool:
    """True when ``aid`` names the socket's defaults and no association."""
    return aid in _FUTURE and (sock.type == C.SOCK_SEQPACKET or not sock._assoc_id)


def setsockopt(sock: socket, name: int, value: Any) -> None:
    if name == C.SCTP_FRAGMENT_INTERLEAVE and isinstance(value, int):
        if isinstance(value, bool) or value not in (0, 1, 2):
            raise _einval("SCTP_FRAGMENT_INTERLEAVE is 0, 1 or 2")
        sock._frag_interleave = value
        if value < 2:
            sock._cfg.interleaving = False
    elif name == C.SCTP_INTERLEAVING_SUPPORTED and isinstance(value, AssocValue):
        if value.assoc_id not in _FUTURE:
            raise _einval("I-DATA is negotiated at set-up: set it with SCTP_FUTURE_ASSOC")
        if value.assoc_value and sock._frag_interleave != 2:
            raise _einval("SCTP_INTERLEAVING_SUPPORTED needs SCTP_FRAGMENT_INTERLEAVE 2 first")
        sock._cfg.interleaving = bool(value.assoc_value)
    elif name == C.SCTP_STREAM_SCHEDULER and isinstance(value, AssocValue):
        if value.assoc_value == C.SCTP_SS_FC:
            raise OSError(errno.EOPNOTSUPP, "SCTP_SS_FC (fair capacity) is not implemented")
        sched = SCHEDULERS.get(value.assoc_value)
        if sched is None:
            raise _einval(f"no stream scheduler {value.assoc_value}")
        if value.assoc_id in _FUTURE:
            sock._cfg.stream_scheduler = sched
        if not _defaults_only(sock, value.assoc_id):
            a: Association = sock._assoc(value.assoc_id)
            sock._stack.call(lambda now: a.set_stream_scheduler(sched))
    elif name == C.SCTP_STREAM_SCHEDULER_VALUE and isinstance(value, StreamValue):
        b = _one(sock, value.assoc_id)
        sid, v = value.stream_id, value.stream_value
        sock._stack.call(lambda now: b.set_stream_value(sid, v))
    else:
        raise OSError(errno.ENOPROTOOPT, f"option {name} with {type(value).__name__}")


def getsockopt(sock: socket, name: int, arg: Any) -> Any:
    """``arg``: the assoc id, or for SCTP_STREAM_SCHEDULER_VALUE a StreamValue
    (its assoc_id and stream_id) or ``(assoc_id, stream_id)``."""
    if name == C.SCTP_FRAGMENT_INTERLEAVE:
        return sock._frag_interleave
    if name == C.SCTP_STREAM_SCHEDULER_VALUE:
        aid, sid = _stream_arg(arg)
        a = _one(sock, aid)
        return StreamValue(aid, sid, sock._stack.call(lambda now: a.stream_value(sid)))
    aid = arg if isinstance(arg, int) else 0
    if name == C.SCTP_INTERLEAVING_SUPPORTED:
        if _defaults_only(sock, aid):
            return AssocValue(aid, int(sock._cfg.interleaving))
        b: Association = sock._assoc(aid)
        return AssocValue(aid, int(sock._stack.call(lambda now: b.interleaving)))
    if _defaults_only(sock, aid):
        cfg = sock._cfg
        sched = cfg.stream_scheduler or ("rr" if cfg.interleaving else "fcfs")
        return AssocValue(aid, _NUMBERS[sched])
    c: Association = sock._assoc(aid)
    return AssocValue(aid, _NUMBERS[sock._stack.call(lambda now: c._data_up().stream_scheduler())])


def _stream_arg(arg: Any) -> tuple[int, int]:
    if isinstance(arg, StreamValue):
        return arg.assoc_id, arg.stream_id
    if isinstance(arg, tuple) and len(arg) == 2 and all(isinstance(x, int) for x in arg):
        return arg[0], arg[1]
    raise _einval("pass StreamValue(assoc_id, stream_id) or (assoc_id, stream_id)")


def _one(sock: socket, aid: int) -> Association:
    """The association a per-stream value is about; EINVAL for the socket's defaults."""
    if _defaults_only(sock, aid):
        raise _einval("SCTP_STREAM_SCHEDULER_VALUE is about one association's stream")
    a: Association = sock._assoc(aid)
    return a
