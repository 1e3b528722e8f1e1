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

RFC 6525 §6.1, as measured on Linux 6.1: SCTP_STREAM_RESET_EVENT is as the RFC says.
SCTP_ASSOC_RESET_EVENT has the two TSNs the other way round: Linux puts the peer's
next TSN in ``assocreset_local_tsn`` and ours in ``_remote_tsn`` (the TSNs of the
messages that follow show it, on both ends): swapped back here, so ``local_tsn`` is
ours as RFC 6525 and the userspace backend say; a refused one carries 0 and 0 (Linux
does not say the current TSNs). SCTP_STREAM_CHANGE_EVENT carries the numbers of
streams added (or asked for, when refused), not the totals of §6.1.3: with
``totals`` (the socket's SCTP_STATUS) the event has the totals as the association
has them when the event is read.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Callable

from ...core.events import (
    AdaptationIndication,
    AssocChange,
    AssocChangeState,
    AssocResetEvent,
    Event,
    PartialDeliveryAborted,
    PeerAddrChange,
    PeerAddrState,
    RemoteError,
    SenderDry,
    SendFailed,
    ShutdownEvent,
    StreamChangeEvent,
    StreamResetEvent,
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
# RFC 6525 §6.1: struct sctp_stream_reset_event (then the u16 streams), struct
# sctp_assoc_reset_event, struct sctp_stream_change_event
_STREAM_RESET = struct.Struct("=HHIi")
_ASSOC_RESET = struct.Struct("=HHIiII")
_STREAM_CHANGE = struct.Struct("=HHIiHH")

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


def _stream_reset(buf: bytes, length: int) -> StreamResetEvent:
    _t, flags, _len, aid = _STREAM_RESET.unpack_from(buf)
    n = max(0, length - _STREAM_RESET.size) // 2
    return StreamResetEvent(aid, flags, struct.unpack_from(f"={n}H", buf, _STREAM_RESET.size))


def _assoc_reset(buf: bytes) -> AssocResetEvent:
    _t, flags, _len, aid, peers, ours = _ASSOC_RESET.unpack_from(buf)
    return AssocResetEvent(aid, flags, ours, peers)  # Linux's two the other way round


def _stream_change(buf: bytes, totals: Callable[[int], tuple[int, int]] | None
                   ) -> StreamChangeEvent:  # fmt: skip
    _t, flags, _len, aid, ins, outs = _STREAM_CHANGE.unpack_from(buf)
    if totals is not None:
        ins, outs = totals(aid)
    return StreamChangeEvent(aid, flags, ins, outs)


def parse(buf: bytes, totals: Callable[[int], tuple[int, int]] | None = None) -> Event | None:
    """One whole notification as its event; None for a kind sctpx has no object for.

    ``totals(assoc_id)``: that association's (inbound, outbound) streams now, for a
    SCTP_STREAM_CHANGE_EVENT (without it, the event has Linux's numbers, of streams added).
    """
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
    if kind == C.SCTP_STREAM_RESET_EVENT and length >= _STREAM_RESET.size:
        return _stream_reset(buf, length)
    if kind == C.SCTP_ASSOC_RESET_EVENT and length >= _ASSOC_RESET.size:
        return _assoc_reset(buf)
    if kind == C.SCTP_STREAM_CHANGE_EVENT and length >= _STREAM_CHANGE.size:
        return _stream_change(buf, totals)
    return None
