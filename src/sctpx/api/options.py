"""Values of the SCTP socket options and ancillary data, as dataclasses (RFC 6458 §5.3, §8).

Times are milliseconds, as in C. ``assoc_id`` 0 is SCTP_FUTURE_ASSOC.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class InitMsg:
    """SCTP_INITMSG (§8.1.3); 0 leaves a field at its default."""

    num_ostreams: int = 0
    max_instreams: int = 0
    max_attempts: int = 0
    max_init_timeo: int = 0


@dataclass
class RtoInfo:
    """SCTP_RTOINFO (§8.1.1); 0 leaves a field unchanged on set."""

    assoc_id: int = 0
    initial: int = 0
    max: int = 0
    min: int = 0


@dataclass
class AssocParams:
    """SCTP_ASSOCINFO (§8.1.2)."""

    assoc_id: int = 0
    asocmaxrxt: int = 0
    number_peer_destinations: int = 0
    peer_rwnd: int = 0
    local_rwnd: int = 0
    cookie_life: int = 0


@dataclass
class PeerAddrParams:
    """SCTP_PEER_ADDR_PARAMS (§8.1.12); ``address`` None means every path / the default."""

    assoc_id: int = 0
    address: tuple[str, int] | None = None
    hbinterval: int = 0
    pathmaxrxt: int = 0
    pathmtu: int = 0


@dataclass
class PrimaryAddr:
    """SCTP_PRIMARY_ADDR (§8.1.8)."""

    assoc_id: int
    address: tuple[str, int]


@dataclass
class UdpEncaps:
    """SCTP_REMOTE_UDP_ENCAPS_PORT (RFC 6951 §6.1); ``address`` None: the default for all."""

    assoc_id: int = 0
    address: tuple[str, int] | None = None
    port: int = 0


@dataclass
class EventSubscription:
    """SCTP_EVENT (§6.2.2): switch one notification type on or off."""

    assoc_id: int = 0
    type: int = 0
    on: bool = True


@dataclass
class PeerAddrInfo:
    """SCTP_GET_PEER_ADDR_INFO (§8.2.2) and the primary path in SCTP_STATUS."""

    assoc_id: int
    address: tuple[str, int]
    state: int  # SCTP_ACTIVE, SCTP_INACTIVE, SCTP_UNCONFIRMED, SCTP_PF
    cwnd: int
    srtt: int  # ms, 0 until measured
    rto: int  # ms
    mtu: int


@dataclass
class Status:
    """SCTP_STATUS (§8.2.1)."""

    assoc_id: int
    state: int
    rwnd: int
    unackdata: int
    penddata: int
    instrms: int
    outstrms: int
    fragmentation_point: int
    primary: PeerAddrInfo | None


@dataclass
class SndInfo:
    """SCTP_SNDINFO (§5.3.4): how one message is sent."""

    sid: int = 0
    flags: int = 0
    ppid: int = 0  # host order: never byte-swap it yourself (pysctp issues #24/#27/#48)
    context: int = 0
    assoc_id: int = 0


@dataclass
class PrInfo:
    """SCTP_PRINFO (§5.3.7): partial reliability of one message (RFC 3758)."""

    policy: int = 0  # SCTP_PR_SCTP_NONE, _TTL (value in ms) or _RTX (value = retransmissions)
    value: int = 0


SCTP_PR_SCTP_NONE = 0
SCTP_PR_SCTP_TTL = 1
SCTP_PR_SCTP_RTX = 3


@dataclass
class RcvInfo:
    """SCTP_RCVINFO (§5.3.5): where a received message came from."""

    sid: int = 0
    ssn: int = 0
    flags: int = 0
    ppid: int = 0
    tsn: int = 0
    cumtsn: int = 0
    context: int = 0
    assoc_id: int = 0


@dataclass
class NxtInfo:
    """SCTP_NXTINFO (§5.3.6): what the next message will be, if one is waiting."""

    sid: int = 0
    flags: int = 0
    ppid: int = 0
    length: int = 0
    assoc_id: int = 0


@dataclass
class AssocValue:
    """struct sctp_assoc_value: SCTP_ENABLE_STREAM_RESET (RFC 6525 §6.3.1) and the like."""

    assoc_id: int = 0
    assoc_value: int = 0


@dataclass
class ResetStreams:
    """SCTP_RESET_STREAMS (RFC 6525 §6.3.2): srs_flags INCOMING / OUTGOING; no streams: all."""

    assoc_id: int = 0
    flags: int = 0
    streams: tuple[int, ...] = ()


@dataclass
class AddStreams:
    """SCTP_ADD_STREAMS (RFC 6525 §6.3.4): how many incoming and outgoing streams to add."""

    assoc_id: int = 0
    instrms: int = 0
    outstrms: int = 0


@dataclass
class StreamValue:
    """struct sctp_stream_value: SCTP_STREAM_SCHEDULER_VALUE (RFC 8260 §4.3.3), a stream's
    priority (SCTP_SS_PRIO: lower goes first) or weight (SCTP_SS_WFQ)."""

    assoc_id: int = 0
    stream_id: int = 0
    stream_value: int = 0


@dataclass
class Subscriptions:
    """Which notification types a socket receives (all off by default, RFC 6458 §6.2)."""

    on: set[int] = field(default_factory=set)
