"""The stream reconfiguration socket options (RFC 6525 §6.3), for api.sockopts.

SCTP_ENABLE_STREAM_RESET says which of the peer's requests the association accepts
(the rest are denied); SCTP_RESET_STREAMS, SCTP_RESET_ASSOC and SCTP_ADD_STREAMS send
a request and return at once: the outcome comes as SCTP_STREAM_RESET_EVENT,
SCTP_ASSOC_RESET_EVENT, SCTP_STREAM_CHANGE_EVENT.

SCTP_RESET_ASSOC takes what C gives it, an association id (``int``; on a one-to-one
socket 0 is its association). SCTP_ADD_STREAMS takes :class:`AddStreams` with
``instrms`` (Add Incoming Streams, §5.1.6) and/or ``outstrms`` (Add Outgoing, §5.1.5).

Errors: EOPNOTSUPP when the peer did not announce RE-CONFIG. Decision: RFC 6525 §6.3
names no errno; FreeBSD (the RFC authors' stack) says EOPNOTSUPP, Linux ENOPROTOOPT,
which elsewhere means "no such option" and would hide that the option exists and the
peer is what lacks it. EINPROGRESS while an earlier request is still outstanding (as
Linux); EAGAIN for a second SCTP_RESET_ASSOC within 30 s (RFC 6525 §5.1.4); EINVAL for
a stream outside the association's, bad flags or counts; ENOTCONN when the association
is not ESTABLISHED. SCTP_RESET_ASSOC with data queued or in flight is no error: the
request waits until that data is acknowledged (core.reconfig; Linux says EAGAIN).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from ..core.association import Association
from ..core.events import AssocResetEvent
from ..core.reconfig import Reconfig
from . import constants as C
from .options import AddStreams, AssocValue, ResetStreams

if TYPE_CHECKING:
    from .socket import socket

OPTIONS = frozenset(
    {C.SCTP_ENABLE_STREAM_RESET, C.SCTP_RESET_STREAMS, C.SCTP_RESET_ASSOC, C.SCTP_ADD_STREAMS}
)
# Notifications of RFC 6525 §6.1 beyond those api.socket maps itself (its _EVENT_TYPES
# takes these in too).
EVENT_TYPES: dict[type, int] = {AssocResetEvent: C.SCTP_ASSOC_RESET_EVENT}
_ENABLE_BITS = (
    C.SCTP_ENABLE_RESET_STREAM_REQ | C.SCTP_ENABLE_RESET_ASSOC_REQ | C.SCTP_ENABLE_CHANGE_ASSOC_REQ
)
_FUTURE = (C.SCTP_FUTURE_ASSOC, C.SCTP_CURRENT_ASSOC, C.SCTP_ALL_ASSOC)


def _einval(msg: str) -> OSError:
    return OSError(errno.EINVAL, f"Invalid argument: {msg}")


def setsockopt(sock: socket, name: int, value: Any) -> None:
    if name == C.SCTP_ENABLE_STREAM_RESET and isinstance(value, AssocValue):
        if value.assoc_value & ~_ENABLE_BITS:
            raise _einval("SCTP_ENABLE_STREAM_RESET takes SCTP_ENABLE_* bits")
        if value.assoc_id in _FUTURE and (sock.type == C.SOCK_SEQPACKET or not sock._assoc_id):
            sock._cfg.stream_reset = value.assoc_value  # associations made from now on
        else:
            a: Association = sock._assoc(value.assoc_id)
            a.cfg.stream_reset = value.assoc_value
            if value.assoc_id in _FUTURE:
                sock._cfg.stream_reset = value.assoc_value
    elif name == C.SCTP_RESET_STREAMS and isinstance(value, ResetStreams):
        f = value.flags
        if not f or f & ~(C.SCTP_STREAM_RESET_INCOMING | C.SCTP_STREAM_RESET_OUTGOING):
            raise _einval("srs_flags: SCTP_STREAM_RESET_INCOMING and/or _OUTGOING")
        streams = tuple(value.streams)
        inc, out = bool(f & C.SCTP_STREAM_RESET_INCOMING), bool(f & C.SCTP_STREAM_RESET_OUTGOING)
        _call(sock, value.assoc_id, lambda r, now: r.reset_streams(streams, inc, out, now))
    elif name == C.SCTP_RESET_ASSOC and isinstance(value, int) and not isinstance(value, bool):
        _call(sock, value, lambda r, now: r.reset_assoc(now))  # RFC 6525 §6.3.3
    elif name == C.SCTP_ADD_STREAMS and isinstance(value, AddStreams):
        if not 0 <= value.instrms < 65536 or not 0 <= value.outstrms < 65536:
            raise _einval("sas_instrms and sas_outstrms are 16-bit counts")
        if not value.instrms and not value.outstrms:
            raise _einval("nothing to add")
        n_in, n_out = value.instrms, value.outstrms
        _call(sock, value.assoc_id, lambda r, now: r.add_streams(n_out, n_in, now))
    else:
        raise OSError(errno.ENOPROTOOPT, f"option {name} with {type(value).__name__}")


def getsockopt(sock: socket, name: int, aid: int) -> Any:
    if name != C.SCTP_ENABLE_STREAM_RESET:
        raise OSError(errno.ENOPROTOOPT, f"option {name} cannot be read")
    if aid in _FUTURE and (sock.type == C.SOCK_SEQPACKET or not sock._assoc_id):
        return AssocValue(aid, sock._cfg.stream_reset)
    a: Association = sock._assoc(aid)
    return AssocValue(aid, a.cfg.stream_reset)


def _call(sock: socket, aid: int, fn: Any) -> None:
    a: Association = sock._assoc(aid)
    sock._stack.call(lambda now: fn(Reconfig.of(a), now))
