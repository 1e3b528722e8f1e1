"""The kernel's notifications (``union sctp_notification``, RFC 6458 §6.1) as sctpx's events.

Each layout is linux/sctp.h's; every notification starts with ``sn_type``,
``sn_flags`` and ``sn_length``. The events are the userspace backend's own
classes (core/events.py), so a program reads the same objects from both.

What the kernel does not say: ``sac_error`` is the SCTP cause code of an
ABORT (0 when it had none), not an errno. The errno is inferred where the
notification shows it (COMM_LOST with the ABORT chunk attached: the peer
aborted, ECONNRESET; our own ABORT: ECONNABORTED; no chunk: retransmissions
exhausted, ETIMEDOUT; CANT_STR_ASSOC with a cause: ECONNREFUSED) and 0 where
it does not (CANT_STR_ASSOC after a cause-less ABORT or a timeout look the
same): a blocking connectx and SO_ERROR still give the errno.
"""

from __future__ import annotations

import errno
import socket
import struct

from ...core.events import (
    AdaptationIndication,
    AssocChange,
    AssocChangeState,
    Event,
    PartialDeliveryAborted,
    PeerAddrChange,
    PeerAddrState,
    RemoteError,
    SenderDry,
    SendFailed,
    ShutdownEvent,
)
from ...wire import decode_causes
from ...wire.errors import ParseError
from .. import constants as C
from . import linux as L

_HEAD = struct.Struct("=HHI")  # sn_type, sn_flags, sn_length
_ASSOC_CHANGE = struct.Struct("=HHIHHHHi")  # §6.1.1 struct sctp_assoc_change
_PADDR_CHANGE = struct.Struct("=HHI128siii")  # §6.1.2 struct sctp_paddr_change (packed)
_REMOTE_ERROR = struct.Struct("=HHI2s2xi")  # §6.1.3 struct sctp_remote_error
_SEND_FAILED_EVENT = struct.Struct("=HHII") # §6.1.11 struct sctp_send_failed_event: head, error
# §6.1.4 (deprecated form, what Linux 6.1 sends: it has no SCTP_SEND_FAILED_EVENT) struct
# sctp_send_failed: head, ssf_error, struct sctp_sndrcvinfo (stream, ssn, flags, ppid,
# context, ttl, tsn, cumtsn, assoc id), ssf_assoc_id, then the message.
_SEND_FAILED_OLD = struct.Struct("=HHIIHHH2x4sIIIIii")
_SHUTDOWN = struct.Struct("=HHIi")  # §6.1.5 struct sctp_shutdown_event (and sender_dry §6.1.9)
_ADAPTATION = struct.Struct("=HHIIi")  # §6.1.6 struct sctp_adaptation_event
_PDAPI = struct.Struct("=HHIIiII")  # §6.1.7 struct sctp_pdapi_event

_SAC_STATES = [AssocChangeState.COMM_UP, AssocChangeState.COMM_LOST, AssocChangeState.RESTART,
               AssocChangeState.SHUTDOWN_COMP, AssocChangeState.CANT_STR_ASSOC]  # fmt: skip
_SPC_STATES = [PeerAddrState.AVAILABLE, PeerAddrState.UNREACHABLE, PeerAddrState.REMOVED,
               PeerAddrState.ADDED, PeerAddrState.MADE_PRIM, PeerAddrState.CONFIRMED,
               PeerAddrState.POTENTIALLY_FAILED]  # fmt: skip


def _assoc_change(buf: bytes) -> AssocChange:
    _t, _f, length, state, raw_error, outs, ins, aid = _ASSOC_CHANGE.unpack_from(buf)
    sac_error = socket.ntohs(raw_error)  # a cause code (__be16) stored in a __u16
    st = _SAC_STATES[state] if state < len(_SAC_STATES) else AssocChangeState.COMM_LOST
    with_chunk = length > _ASSOC_CHANGE.size  # sac_info: the ABORT (or the features list)
    code = 0
    if st is AssocChangeState.COMM_LOST:
        if sac_error == L.SCTP_ERROR_USER_ABORT and not with_chunk:
            code = errno.ECONNABORTED
        else:
            code = errno.ECONNRESET if with_chunk else errno.ETIMEDOUT
    elif st is AssocChangeState.CANT_STR_ASSOC and (sac_error or with_chunk):
        code = errno.ECONNREFUSED
    return AssocChange(aid, st, code, outs, ins)


def _paddr_change(buf: bytes) -> PeerAddrChange:
    _t, _f, _len, storage, state, spc_error, aid = _PADDR_CHANGE.unpack_from(buf)
    (ip, _port), _n = L.unpack_sockaddr(storage)
    st = _SPC_STATES[state] if 0 <= state < len(_SPC_STATES) else PeerAddrState.UNREACHABLE
    return PeerAddrChange(aid, ip, st, spc_error)


def _remote_error(buf: bytes, length: int) -> RemoteError:
    _t, _f, _len, _cause, aid = _REMOTE_ERROR.unpack_from(buf)
    try:
        causes = decode_causes(bytes(buf[_REMOTE_ERROR.size : length]))
    except ParseError:
        causes = ()
    return RemoteError(aid, causes)


def _ssf_errno(raw: int) -> int:
    """ssf_error: Linux puts the ABORT's cause code (__be16) there, or 0: as an errno."""
    cause = socket.ntohs(raw & 0xFFFF)
    if cause == L.SCTP_ERROR_USER_ABORT:
        return errno.ECONNABORTED
    return errno.ETIMEDOUT if raw == 0 else errno.ECONNRESET


def _send_failed(buf: bytes, length: int) -> SendFailed:
    _t, flags, _len, error = _SEND_FAILED_EVENT.unpack_from(buf)
    off = _SEND_FAILED_EVENT.size
    sid, _sflags, ppid, context, _id = L.SNDINFO.unpack_from(buf, off)
    (aid,) = struct.unpack_from("=i", buf, off + L.SNDINFO.size)
    data = bytes(buf[off + L.SNDINFO.size + 4 : length])
    return SendFailed(aid, data, sid, L.ppid_in(ppid), context, _ssf_errno(error),
                      bool(flags & L.SCTP_DATA_SENT))  # fmt: skip


def _send_failed_old(buf: bytes, length: int) -> SendFailed:
    _t, flags, _len, error, sid, _ssn, _f, ppid, ctx, _ttl, _tsn, _cum, _a, aid = (
        _SEND_FAILED_OLD.unpack_from(buf))  # fmt: skip
    data = bytes(buf[_SEND_FAILED_OLD.size : length])
    sent = bool(flags & L.SCTP_DATA_SENT)
    return SendFailed(aid, data, sid, L.ppid_in(ppid), ctx, _ssf_errno(error), sent)


def parse(buf: bytes) -> Event | None:
    """One whole notification as its event; None for a kind sctpx has no object for."""
    if len(buf) < _HEAD.size:
        return None
    kind, _flags, length = _HEAD.unpack_from(buf)
    length = min(length, len(buf))
    if kind == C.SCTP_ASSOC_CHANGE:
        return _assoc_change(buf)
    if kind == C.SCTP_PEER_ADDR_CHANGE:
        return _paddr_change(buf)
    if kind == C.SCTP_REMOTE_ERROR:
        return _remote_error(buf, length)
    if kind == C.SCTP_SEND_FAILED_EVENT:
        return _send_failed(buf, length)
    if kind == L.SCTP_SEND_FAILED:
        return _send_failed_old(buf, length)
    if kind == C.SCTP_SHUTDOWN_EVENT:
        return ShutdownEvent(_SHUTDOWN.unpack_from(buf)[3])
    if kind == C.SCTP_SENDER_DRY_EVENT:
        return SenderDry(_SHUTDOWN.unpack_from(buf)[3])
    if kind == C.SCTP_ADAPTATION_INDICATION:
        _t, _f, _l, ind, aid = _ADAPTATION.unpack_from(buf)
        return AdaptationIndication(aid, ind)
    if kind == C.SCTP_PARTIAL_DELIVERY_EVENT:
        _t, _f, _l, _ind, aid, stream, seq = _PDAPI.unpack_from(buf)
        return PartialDeliveryAborted(aid, stream, seq)
    return None
