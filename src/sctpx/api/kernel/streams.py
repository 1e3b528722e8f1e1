"""Stream reconfiguration (RFC 6525 §6.3) and interleaving (RFC 8260 §4.3, RFC 6458
§8.1.20) options on the kernel backend, for options.py.

The same option values and errno rules as the userspace backend's api/reconfig.py and
api/interleave.py (their docstrings give the decisions), packed into Linux's
structures (linux.py). The arguments are checked here first, with the userspace rules;
what Linux answers differently is mapped below or listed in docs/api.md ("The kernel
backend", "Stream reconfiguration and interleaving"). Measured on Linux 6.1.

Stream reconfiguration:

- Every socket the backend opens offers RE-CONFIG (Linux's SCTP_RECONFIG_SUPPORTED 1,
  set in socket.py), as the userspace stack does (``Config.reconfig``), so
  ``net.sctp.reconf_enable`` is not needed on this end.
- Linux sends a request only when the association's own SCTP_ENABLE_STREAM_RESET has
  the request's bit (RESET_STREAM_REQ for SCTP_RESET_STREAMS, RESET_ASSOC_REQ for
  SCTP_RESET_ASSOC, CHANGE_ASSOC_REQ for SCTP_ADD_STREAMS): its bits govern both
  directions, and the answer to an incoming-stream reset or an Add Incoming Streams
  request is the peer's own request, which the bit must let in. Not imitated: without
  the bit the request is EOPNOTSUPP, its message naming the bit. Linux's ENOPROTOOPT is
  EOPNOTSUPP, as on the userspace backend (the peer not announcing RE-CONFIG, told
  apart by Linux's SCTP_RECONFIG_SUPPORTED on the association).
- ENOTCONN (no association, or not ESTABLISHED) and EINVAL (bad flags, counts, an
  unknown assoc id) are checked here, as the userspace backend gives them; Linux says
  EINVAL for all of them and would send in the shutdown states.
- EAGAIN is kept: Linux refuses an outgoing stream reset while messages for those
  streams wait unsent, and an SSN/TSN reset while any data is queued or in flight,
  where the userspace stack holds the request until that data is acknowledged.
  sctpx's own rule, one SCTP_RESET_ASSOC per 30 s (RFC 6525 §5.1.4 SHOULD; Linux has
  none), is kept here: EAGAIN too.

Interleaving:

- SCTP_FRAGMENT_INTERLEAVE: Linux keeps a flag (any non-zero value is 1, and 0 turns
  I-DATA off); the level set (0, 1 or 2) is kept here and read back. Setting 0 or 1
  turns I-DATA off, as on the userspace backend (Linux: 0 only). The kernel's default
  is 0 (the userspace backend's 1): not changed.
- SCTP_INTERLEAVING_SUPPORTED needs ``net.sctp.intl_enable=1`` in Linux, else EPERM
  whatever the value: EOPNOTSUPP naming the sysctl for 1; 0 always works (turned off
  through SCTP_FRAGMENT_INTERLEAVE, which clears it).
- SCTP_STREAM_SCHEDULER: SCTP_SS_RR_PKT has no Linux equivalent, and Linux 6.1 has
  neither SCTP_SS_FC nor SCTP_SS_WFQ (EINVAL): EOPNOTSUPP. The default is the kernel's
  (FCFS, with I-DATA too), not the userspace backend's round robin with I-DATA.
- SCTP_STREAM_SCHEDULER_VALUE under a scheduler without per-stream values (FCFS, RR):
  EINVAL, as on the userspace backend (Linux accepts and ignores it).
"""

from __future__ import annotations

import errno
import struct
import time
from typing import TYPE_CHECKING, Any

from ...core.reconfig import MAX_STREAMS, MIN_ASSOC_RESET_INTERVAL
from .. import constants as C
from .. import interleave, reconfig
from ..addresses import err
from ..options import AddStreams, AssocValue, ResetStreams, Status, StreamValue
from . import linux as L
from .options import status

if TYPE_CHECKING:
    from .socket import KernelSocket

OPTIONS = reconfig.OPTIONS | interleave.OPTIONS  # options.py hands these here
_FUTURE = (C.SCTP_FUTURE_ASSOC, C.SCTP_CURRENT_ASSOC, C.SCTP_ALL_ASSOC)
_ENABLE_BITS = (
    C.SCTP_ENABLE_RESET_STREAM_REQ | C.SCTP_ENABLE_RESET_ASSOC_REQ | C.SCTP_ENABLE_CHANGE_ASSOC_REQ
)
_BIT_NAMES = {
    C.SCTP_ENABLE_RESET_STREAM_REQ: "SCTP_ENABLE_RESET_STREAM_REQ",
    C.SCTP_ENABLE_RESET_ASSOC_REQ: "SCTP_ENABLE_RESET_ASSOC_REQ",
    C.SCTP_ENABLE_CHANGE_ASSOC_REQ: "SCTP_ENABLE_CHANGE_ASSOC_REQ",
}
_INT = struct.Struct("=i")
# the schedulers with a per-stream value, and its range (core.scheduler's check_value)
_VALUE_RANGE = {C.SCTP_SS_PRIO: (0, 0xFFFF), C.SCTP_SS_WFQ: (1, 0xFFFF)}
_NAMES = {C.SCTP_SS_FC: "fc", **interleave.SCHEDULERS}


# ----- the kernel calls --------------------------------------------------------------


def _kset(sock: KernelSocket, name: int, data: bytes) -> None:
    L.setsockopt_rc(sock._fd, name, data)


def _kget_av(sock: KernelSocket, name: int, aid: int) -> int:
    try:
        out = L.getsockopt_io(sock._fd, name, L.ASSOC_VALUE.pack(aid, 0))
    except OSError as e:
        raise err(e.errno or errno.EINVAL, f"getsockopt {name}") from None
    return int(L.ASSOC_VALUE.unpack_from(out)[1])


# ----- associations: the userspace backend's rules (api/socket.py _assoc) -------------


def _defaults_only(sock: KernelSocket, aid: int) -> bool:
    """True when ``aid`` names the socket's defaults and no association."""
    return aid in _FUTURE and (not sock._one_to_one or sock._state() is None)


def _assoc(sock: KernelSocket, aid: int) -> Status:
    """The association ``aid`` names (SCTP_STATUS): ENOTCONN on a one-to-one socket
    without one, EINVAL for an id that is not there."""
    if not sock._one_to_one and not aid:
        raise err(errno.EINVAL, "no such association: pass its id")
    try:
        st = status(sock, aid)
    except OSError:
        if sock._one_to_one:
            raise err(errno.ENOTCONN, "not connected") from None
        raise err(errno.EINVAL, f"no association {aid}") from None
    if sock._one_to_one and aid and aid != st.assoc_id:  # Linux ignores the id there
        raise err(errno.EINVAL, f"no association {aid}")
    return st


def _established(sock: KernelSocket, aid: int) -> Status:
    st = _assoc(sock, aid)
    if st.state != C.SCTP_ESTABLISHED:
        raise err(errno.ENOTCONN, f"association {st.assoc_id} is not established")
    return st


# ----- RFC 6525 ----------------------------------------------------------------------


def _request(sock: KernelSocket, name: int, data: bytes, aid: int, bit: int) -> None:
    """Send one RE-CONFIG request; Linux's ENOPROTOOPT as EOPNOTSUPP, with the reason."""
    try:
        _kset(sock, name, data)
    except OSError as e:
        if e.errno != errno.ENOPROTOOPT:
            raise err(e.errno or errno.EINVAL, f"option {name}") from None
        try:
            peer = _kget_av(sock, L.SCTP_RECONFIG_SUPPORTED, aid)
        except OSError:
            peer = 0
        if not peer:
            raise err(errno.EOPNOTSUPP, "the peer does not support RE-CONFIG (RFC 6525)") from None
        raise err(errno.EOPNOTSUPP, f"Linux sends this request only with {_BIT_NAMES[bit]} in "
                  f"the association's SCTP_ENABLE_STREAM_RESET") from None  # fmt: skip


def _reset_streams(sock: KernelSocket, value: ResetStreams) -> None:
    f = value.flags
    if not f or f & ~(C.SCTP_STREAM_RESET_INCOMING | C.SCTP_STREAM_RESET_OUTGOING):
        raise err(errno.EINVAL, "srs_flags: SCTP_STREAM_RESET_INCOMING and/or _OUTGOING")
    streams = tuple(value.streams)
    if len(streams) > MAX_STREAMS or not all(isinstance(s, int) and 0 <= s <= 0xFFFF
                                             for s in streams):  # fmt: skip
        raise err(errno.EINVAL, "streams are 16-bit stream numbers")
    st = _established(sock, value.assoc_id)
    data = L.RESET_STREAMS_HEAD.pack(st.assoc_id, f, len(streams))
    data += struct.pack(f"={len(streams)}H", *streams)
    _request(sock, L.SCTP_RESET_STREAMS, data, st.assoc_id, C.SCTP_ENABLE_RESET_STREAM_REQ)


def _reset_assoc(sock: KernelSocket, aid: int) -> None:
    st = _established(sock, aid)
    now = time.monotonic()
    last: dict[int, float] = sock._assoc_reset_at
    for a in [a for a, t in last.items() if now - t >= MIN_ASSOC_RESET_INTERVAL]:
        del last[a]
    if st.assoc_id in last:
        raise err(errno.EAGAIN, "one SSN/TSN reset per 30 s (RFC 6525 §5.1.4)")
    _request(sock, L.SCTP_RESET_ASSOC, _INT.pack(st.assoc_id), st.assoc_id,
             C.SCTP_ENABLE_RESET_ASSOC_REQ)  # fmt: skip
    last[st.assoc_id] = now


def _add_streams(sock: KernelSocket, value: AddStreams) -> None:
    n_in, n_out = value.instrms, value.outstrms
    if not 0 <= n_in < 65536 or not 0 <= n_out < 65536:
        raise err(errno.EINVAL, "sas_instrms and sas_outstrms are 16-bit counts")
    if not n_in and not n_out:
        raise err(errno.EINVAL, "nothing to add")
    st = _established(sock, value.assoc_id)
    if st.outstrms + n_out > MAX_STREAMS or st.instrms + n_in > MAX_STREAMS:
        raise err(errno.EINVAL, f"more than {MAX_STREAMS} streams")
    _request(sock, L.SCTP_ADD_STREAMS, L.ADD_STREAMS.pack(st.assoc_id, n_in, n_out),
             st.assoc_id, C.SCTP_ENABLE_CHANGE_ASSOC_REQ)  # fmt: skip


def _enable_stream_reset(sock: KernelSocket, value: AssocValue) -> None:
    if value.assoc_value & ~_ENABLE_BITS:
        raise err(errno.EINVAL, "SCTP_ENABLE_STREAM_RESET takes SCTP_ENABLE_* bits")
    if not _defaults_only(sock, value.assoc_id):
        _assoc(sock, value.assoc_id)
    _kset(sock, L.SCTP_ENABLE_STREAM_RESET, L.ASSOC_VALUE.pack(value.assoc_id,
                                                               value.assoc_value))  # fmt: skip


# ----- RFC 8260 ----------------------------------------------------------------------


def frag_interleave(sock: KernelSocket) -> int:
    """The SCTP_FRAGMENT_INTERLEAVE level: the kernel's flag, the level set when on."""
    on = _INT.unpack(sock._sock.getsockopt(L.SOL_SCTP, L.SCTP_FRAGMENT_INTERLEAVE, 4))[0]
    return 0 if not on else (sock._frag_interleave or 1)


def _set_frag_interleave(sock: KernelSocket, value: Any) -> None:
    if isinstance(value, bool) or value not in (0, 1, 2):
        raise err(errno.EINVAL, "SCTP_FRAGMENT_INTERLEAVE is 0, 1 or 2")
    _kset(sock, L.SCTP_FRAGMENT_INTERLEAVE, _INT.pack(0))  # 0 turns Linux's I-DATA off
    if value:
        _kset(sock, L.SCTP_FRAGMENT_INTERLEAVE, _INT.pack(1))
    sock._frag_interleave = value


def _set_interleaving(sock: KernelSocket, value: AssocValue) -> None:
    if value.assoc_id not in _FUTURE:
        raise err(errno.EINVAL, "I-DATA is negotiated at set-up: set it with SCTP_FUTURE_ASSOC")
    level = frag_interleave(sock)
    if value.assoc_value and level != 2:
        raise err(errno.EINVAL, "SCTP_INTERLEAVING_SUPPORTED needs SCTP_FRAGMENT_INTERLEAVE 2 "
                  "first")  # fmt: skip
    try:
        _kset(sock, L.SCTP_INTERLEAVING_SUPPORTED, L.ASSOC_VALUE.pack(0, int(bool(
            value.assoc_value))))  # fmt: skip
    except OSError as e:
        if e.errno != errno.EPERM:
            raise err(e.errno or errno.EINVAL, "SCTP_INTERLEAVING_SUPPORTED") from None
        if value.assoc_value:
            raise err(errno.EOPNOTSUPP, "the kernel's I-DATA is off: sysctl "
                      "net.sctp.intl_enable=1") from None  # fmt: skip
        if level:  # off whatever the sysctl: Linux clears it with the flag
            _kset(sock, L.SCTP_FRAGMENT_INTERLEAVE, _INT.pack(0))
            _kset(sock, L.SCTP_FRAGMENT_INTERLEAVE, _INT.pack(1))


def _set_scheduler(sock: KernelSocket, value: AssocValue) -> None:
    n = value.assoc_value
    if n == C.SCTP_SS_RR_PKT:
        raise err(errno.EOPNOTSUPP, "Linux has no packet-based round robin (SCTP_SS_RR_PKT)")
    if n not in _NAMES:
        raise err(errno.EINVAL, f"no stream scheduler {n}")
    if not _defaults_only(sock, value.assoc_id):
        _assoc(sock, value.assoc_id)
    try:
        _kset(sock, L.SCTP_STREAM_SCHEDULER, L.ASSOC_VALUE.pack(value.assoc_id, n))
    except OSError as e:
        if e.errno == errno.EINVAL and n in (C.SCTP_SS_FC, C.SCTP_SS_WFQ):
            raise err(errno.EOPNOTSUPP, f"this kernel has no {_NAMES[n]} stream scheduler "
                      "(Linux 6.4 has)") from None  # fmt: skip
        raise err(e.errno or errno.EINVAL, "SCTP_STREAM_SCHEDULER") from None


def _stream_arg(arg: Any) -> tuple[int, int]:
    if isinstance(arg, StreamValue):
        return arg.assoc_id, arg.stream_id
    if isinstance(arg, tuple) and len(arg) == 2 and all(isinstance(x, int) for x in arg):
        return arg[0], arg[1]
    raise err(errno.EINVAL, "pass StreamValue(assoc_id, stream_id) or (assoc_id, stream_id)")


def _one(sock: KernelSocket, aid: int, sid: int) -> Status:
    """The association a per-stream value is about, with stream ``sid``."""
    if _defaults_only(sock, aid):
        raise err(errno.EINVAL, "SCTP_STREAM_SCHEDULER_VALUE is about one association's stream")
    st = _assoc(sock, aid)
    if not isinstance(sid, int) or not 0 <= sid < st.outstrms:
        raise err(errno.EINVAL, f"stream {sid} not in 0..{st.outstrms - 1}")
    return st


def _set_stream_value(sock: KernelSocket, value: StreamValue) -> None:
    st = _one(sock, value.assoc_id, value.stream_id)
    sched = _kget_av(sock, L.SCTP_STREAM_SCHEDULER, st.assoc_id)
    bounds = _VALUE_RANGE.get(sched)
    if bounds is None:
        name = _NAMES.get(sched, str(sched))
        raise err(errno.EINVAL, f"the {name} scheduler has no per-stream value")
    v = value.stream_value
    if not isinstance(v, int) or not bounds[0] <= v <= bounds[1]:
        raise err(errno.EINVAL, f"stream value {v} outside {bounds[0]}..{bounds[1]}")
    try:
        packed = L.STREAM_VALUE.pack(st.assoc_id, value.stream_id, v)
        _kset(sock, L.SCTP_STREAM_SCHEDULER_VALUE, packed)
    except OSError as e:
        raise err(e.errno or errno.EINVAL, "SCTP_STREAM_SCHEDULER_VALUE") from None


# ----- the hooks ---------------------------------------------------------------------


def setsockopt(sock: KernelSocket, name: int, value: Any) -> None:
    if name == C.SCTP_ENABLE_STREAM_RESET and isinstance(value, AssocValue):
        _enable_stream_reset(sock, value)
    elif name == C.SCTP_RESET_STREAMS and isinstance(value, ResetStreams):
        _reset_streams(sock, value)
    elif name == C.SCTP_RESET_ASSOC and isinstance(value, int) and not isinstance(value, bool):
        _reset_assoc(sock, value)
    elif name == C.SCTP_ADD_STREAMS and isinstance(value, AddStreams):
        _add_streams(sock, value)
    elif name == C.SCTP_FRAGMENT_INTERLEAVE and isinstance(value, int):
        _set_frag_interleave(sock, value)
    elif name == C.SCTP_INTERLEAVING_SUPPORTED and isinstance(value, AssocValue):
        _set_interleaving(sock, value)
    elif name == C.SCTP_STREAM_SCHEDULER and isinstance(value, AssocValue):
        _set_scheduler(sock, value)
    elif name == C.SCTP_STREAM_SCHEDULER_VALUE and isinstance(value, StreamValue):
        _set_stream_value(sock, value)
    else:
        raise OSError(errno.ENOPROTOOPT, f"option {name} with {type(value).__name__}")


def getsockopt(sock: KernelSocket, name: int, arg: Any) -> Any:
    """``arg``: the assoc id, or for SCTP_STREAM_SCHEDULER_VALUE a StreamValue (its
    assoc_id and stream_id) or ``(assoc_id, stream_id)``."""
    if name == C.SCTP_FRAGMENT_INTERLEAVE:
        return frag_interleave(sock)
    if name == C.SCTP_STREAM_SCHEDULER_VALUE:
        aid, sid = _stream_arg(arg)
        st = _one(sock, aid, sid)
        try:
            out = L.getsockopt_io(sock._fd, L.SCTP_STREAM_SCHEDULER_VALUE,
                                  L.STREAM_VALUE.pack(st.assoc_id, sid, 0))  # fmt: skip
        except OSError as e:
            raise err(e.errno or errno.EINVAL, "SCTP_STREAM_SCHEDULER_VALUE") from None
        return StreamValue(aid, sid, L.STREAM_VALUE.unpack_from(out)[2])
    kernel = {C.SCTP_ENABLE_STREAM_RESET: L.SCTP_ENABLE_STREAM_RESET,
              C.SCTP_INTERLEAVING_SUPPORTED: L.SCTP_INTERLEAVING_SUPPORTED,
              C.SCTP_STREAM_SCHEDULER: L.SCTP_STREAM_SCHEDULER}.get(name)  # fmt: skip
    if kernel is None:
        raise OSError(errno.ENOPROTOOPT, f"option {name} cannot be read")
    aid = arg if isinstance(arg, int) else 0
    # the socket's defaults: Linux takes only SCTP_FUTURE_ASSOC for them (EINVAL else)
    which = 0 if _defaults_only(sock, aid) else _assoc(sock, aid).assoc_id
    return AssocValue(aid, _kget_av(sock, kernel, which))


def stream_totals(sock: KernelSocket, aid: int) -> tuple[int, int]:
    """(inbound, outbound) streams of association ``aid`` now (SCTP_STATUS), for a
    SCTP_STREAM_CHANGE_EVENT: Linux 6.1 puts the numbers of streams added there, RFC
    6525 §6.1.3 (and the userspace backend) the new totals. (0, 0) once it has gone."""
    try:
        st = status(sock, aid)
    except OSError:
        return 0, 0
    return st.instrms, st.outstrms
