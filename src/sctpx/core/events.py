"""Events the core reports to its user, as frozen dataclasses (RFC 6458 §6.1 in Python form)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..wire import Cause


class AssocChangeState(enum.Enum):
    """``sac_state`` of SCTP_ASSOC_CHANGE (RFC 6458 §6.1.1)."""

    COMM_UP = "COMM_UP"
    COMM_LOST = "COMM_LOST"
    RESTART = "RESTART"
    SHUTDOWN_COMP = "SHUTDOWN_COMP"
    CANT_STR_ASSOC = "CANT_STR_ASSOC"


class PeerAddrState(enum.Enum):
    """``spc_state`` of SCTP_PEER_ADDR_CHANGE (RFC 6458 §6.1.2; POTENTIALLY_FAILED: RFC 7829)."""

    AVAILABLE = "ADDR_AVAILABLE"
    UNREACHABLE = "ADDR_UNREACHABLE"
    REMOVED = "ADDR_REMOVED"
    ADDED = "ADDR_ADDED"
    MADE_PRIM = "ADDR_MADE_PRIM"
    CONFIRMED = "ADDR_CONFIRMED"
    POTENTIALLY_FAILED = "ADDR_POTENTIALLY_FAILED"


@dataclass(frozen=True, slots=True)
class AssocChange:
    """The association came up, went down, restarted or could not be started.

    ``error`` is an errno (0 when none): ETIMEDOUT when set-up gave up on a silent
    peer, ECONNREFUSED for an ABORT or an unreachable signal from every listed
    address, ECONNRESET for an ABORT of an established association.
    """

    assoc_id: int
    state: AssocChangeState
    error: int = 0
    outbound_streams: int = 0
    inbound_streams: int = 0
    causes: tuple[Cause, ...] = ()


@dataclass(frozen=True, slots=True)
class PeerAddrChange:
    """One peer address changed state (``address`` is its IP)."""

    assoc_id: int
    address: str
    state: PeerAddrState
    error: int = 0


@dataclass(frozen=True, slots=True)
class ShutdownEvent:
    """The peer sent SHUTDOWN: no more data will be accepted from the user."""

    assoc_id: int


@dataclass(frozen=True, slots=True)
class RemoteError:
    """The peer sent an ERROR chunk with these causes."""

    assoc_id: int
    causes: tuple[Cause, ...]


@dataclass(frozen=True, slots=True)
class DataReceived:
    """One user message (RFC 6458 sctp_rcvinfo in Python form).

    ``ppid`` is a host-order integer; ``tsn`` is its first fragment's TSN. ``complete``
    is False for a part of a message too large for the receive buffer (partial
    delivery, RFC 9260 §6.9): its parts follow one another, nothing else between them,
    and the last has ``complete`` True (RFC 6458's MSG_EOR).
    """

    assoc_id: int
    stream_id: int
    ppid: int
    data: bytes
    unordered: bool
    tsn: int
    ssn: int
    complete: bool = True


@dataclass(frozen=True, slots=True)
class PartialDeliveryAborted:
    """A message handed out in parts will not be finished (RFC 6458 SCTP_PARTIAL_DELIVERY_EVENT
    with SCTP_PARTIAL_DELIVERY_ABORTED): the peer abandoned its rest (PR-SCTP)."""

    assoc_id: int
    stream_id: int
    ssn: int


@dataclass(frozen=True, slots=True)
class SendFailed:
    """A message that will never be delivered, handed back (RFC 6458 SCTP_SEND_FAILED_EVENT).

    ``sent`` tells whether any of it was ever transmitted (SCTP_DATA_SENT) or
    not (SCTP_DATA_UNSENT). ``error`` is an errno: ETIMEDOUT when the
    association was lost or a PR-SCTP lifetime ran out, ECONNABORTED after an
    abort, ECONNRESET when the peer aborted.
    """

    assoc_id: int
    data: bytes
    stream_id: int
    ppid: int
    context: int
    error: int
    sent: bool


@dataclass(frozen=True, slots=True)
class AdaptationIndication:
    """The peer announced an adaptation layer (RFC 5061 §4.2.8; SCTP_ADAPTATION_INDICATION)."""

    assoc_id: int
    indication: int


@dataclass(frozen=True, slots=True)
class SenderDry:
    """Everything the user gave has been sent and acknowledged (SCTP_SENDER_DRY_EVENT)."""

    assoc_id: int


# RFC 6525 §6.1.1 strreset_flags, §6.1.2 assocreset_flags, §6.1.3 strchange_flags.
STREAM_RESET_INCOMING_SSN = 0x0001
STREAM_RESET_OUTGOING_SSN = 0x0002
STREAM_RESET_DENIED = 0x0004
STREAM_RESET_FAILED = 0x0008
ASSOC_RESET_DENIED = 0x0004
ASSOC_RESET_FAILED = 0x0008
STREAM_CHANGE_DENIED = 0x0004
STREAM_CHANGE_FAILED = 0x0008


@dataclass(frozen=True, slots=True)
class StreamResetEvent:
    """Streams were reset, or a reset we asked for was refused (RFC 6525 §6.1.1
    SCTP_STREAM_RESET_EVENT). ``flags``: INCOMING_SSN / OUTGOING_SSN say which direction,
    DENIED / FAILED that nothing was reset. ``streams`` empty: every stream."""

    assoc_id: int
    flags: int
    streams: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StreamChangeEvent:
    """The number of streams changed, or a change we asked for was refused (RFC 6525
    §6.1.3 SCTP_STREAM_CHANGE_EVENT): the counts after it, and DENIED / FAILED flags."""

    assoc_id: int
    flags: int
    inbound_streams: int
    outbound_streams: int


@dataclass(frozen=True, slots=True)
class AssocResetEvent:
    """The association's TSNs and SSNs were reset, or a reset we asked for was refused
    (RFC 6525 §6.1.2 SCTP_ASSOC_RESET_EVENT). ``local_tsn`` is the next TSN we send,
    ``remote_tsn`` the next one we expect from the peer (after the reset; the current ones
    when ``flags`` has DENIED / FAILED and nothing was reset)."""

    assoc_id: int
    flags: int
    local_tsn: int
    remote_tsn: int


Event = (
    AssocChange
    | PeerAddrChange
    | ShutdownEvent
    | RemoteError
    | DataReceived
    | SendFailed
    | SenderDry
    | AdaptationIndication
    | PartialDeliveryAborted
    | StreamResetEvent
    | StreamChangeEvent
    | AssocResetEvent
)
