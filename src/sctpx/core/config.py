"""Protocol parameters (RFC 9260 §16) and sctpx's own set-up options."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import einval
from .scheduler import SCHEDULERS

IDATA_FSN = ("auto", "rfc", "linux")  # Config.idata_fsn


@dataclass(slots=True)
class Config:
    """Per-endpoint defaults; each association copies them when it is created.

    Times are seconds. Names follow RFC 9260 §16 where the RFC has one.
    """

    # RFC 9260 §16 defaults.
    rto_initial: float = 1.0
    rto_min: float = 1.0
    rto_max: float = 60.0
    rto_alpha: float = 1 / 8
    rto_beta: float = 1 / 4
    max_burst: int = 4
    valid_cookie_life: float = 60.0
    assoc_max_retrans: int = 10
    path_max_retrans: int = 5
    max_init_retransmits: int = 8
    hb_interval: float = 30.0
    hb_max_burst: int = 1
    sack_delay: float = 0.2
    clock_granularity: float = 0.001  # G in §6.3.1

    # RFC 6458 §5.3.1 SCTP_INITMSG (the socket API maps its 0 = "default" to these).
    num_ostreams: int = 10
    max_instreams: int = 65535
    max_init_timeo: float = 0.0  # bounds the set-up RTO when > 0 (PAR-05)

    # RFC 7829 SCTP-PF: a path is potentially failed after this many timeouts.
    # Set it to path_max_retrans (or more) to switch SCTP-PF off.
    pf_retrans: int = 0
    # After a failover, go back to the primary path once HEARTBEATs find it again
    # (True, as RFC 9260 §8.2 and the kernels do), or make the alternate the new
    # primary and stay there (False; SCTP_PEER_ADDR_PARAMS-style "no failback").
    primary_failback: bool = True

    # sctpx: if no INIT ACK arrived this long after the INIT went to listed
    # address k, the same INIT also goes to address k+1 (0 = classic RFC
    # behaviour). Happy-eyeballs-style fault-tolerant set-up.
    init_stagger: float = 0.25

    # Receive window we advertise (a_rwnd, RFC 9260 §3.3.2; ≥ 1500): also the bound
    # on what the receiver holds (reassembly, out of order, delivered but unread).
    a_rwnd: int = 131072
    # SCTP_PARTIAL_DELIVERY_POINT (RFC 6458 §8.1.21): a message is handed out in parts
    # only once this many of its bytes are held (0 = half of a_rwnd; larger values act
    # as half of a_rwnd, so a message larger than the buffer can always get through).
    pd_point: int = 0
    # IP MTU of every path. The default fits 1500-byte links: with IPv4 and UDP
    # encapsulation a packet carries 1472 bytes of SCTP (RFC 6951 §5.6).
    mtu: int = 1500
    # SCTP_MAXSEG (RFC 6458 §8.1.16): at most this much user data per DATA chunk,
    # 0 = as much as the path MTU allows.
    max_seg: int = 0
    # SCTP_NODELAY (RFC 6458 §8.1.5): False bundles small messages while data is in
    # flight (Nagle-like, as the kernels do by default); True sends at once.
    nodelay: bool = False
    # Announce FORWARD TSN (RFC 3758) and I-DATA (RFC 8260) in INIT/INIT ACK.
    pr_sctp: bool = True
    interleaving: bool = False
    # RFC 8260 §3 stream scheduler (core.scheduler): "fcfs", "rr", "rr_pkt", "prio", "wfq";
    # "" (the default) is round robin when the association uses I-DATA and first come,
    # first served when it uses DATA. Decision (issue 15, "round robin by default"): with
    # I-DATA, rr is what keeps a large message from holding back the other streams
    # (bench/hol.py: 50 ms instead of 1.4 s); with DATA, whole messages take turns, so a
    # stream of small messages gets one per large message of another stream (hol.py:
    # 10 small messages through in 10 s where fcfs lets 826 through), and fcfs (Linux's
    # default) serves it better. Within a stream the order never changes.
    stream_scheduler: str = ""
    # I-DATA fragment numbering we send (RFC 8260 §2.1). "rfc": the B fragment is FSN 0
    # (implicit: its field holds the PPID), the next one 1, 2, ...; "linux": B, then 0, 1,
    # ... as Linux (checked on 6.1) sends and, as a receiver, expects; "auto": RFC until
    # the peer's own fragments show the Linux numbering (a fragment without B whose FSN
    # is 0), then Linux for every message first sent from then on - if no fragmented
    # message of ours has gone yet (Sender.follow_linux_fsn says why). Whatever this
    # says, we receive either numbering (core.ireassembly). Decision (docs/interop.md,
    # I-DATA with Linux): "auto" by default - it keeps to the RFC with RFC peers (usrsctp,
    # sctpx) and follows Linux once it has shown itself; what it cannot know is a Linux
    # peer that has not sent a fragmented message first: to send large messages to Linux
    # before it does, say "linux" (nothing in the handshake tells Linux apart soundly).
    idata_fsn: str = "auto"
    # Announce RE-CONFIG (RFC 6525 §3.1): stream reset and adding streams.
    reconfig: bool = True
    # SCTP_ENABLE_STREAM_RESET (RFC 6525 §6.3.1): which of the peer's requests we accept
    # (0x01 stream resets, 0x02 association resets, 0x04 adding streams); RFC default 0.
    stream_reset: int = 0

    # Rotate the cookie secret this often; the previous secret is still accepted.
    cookie_secret_life: float = 60.0
    # Remote UDP encapsulation port for destinations with none set (RFC 6951 §5.1).
    remote_udp_port: int = 9899
    remote_udp_ports: dict[str, int] = field(default_factory=dict)

    def init_rto_cap(self) -> float:
        """The upper bound on the RTO while setting up (RFC 6458 §5.3.1, PAR-05)."""
        if self.max_init_timeo > 0:
            return min(self.max_init_timeo, self.rto_max)
        return self.rto_max


def check_config(cfg: Config) -> None:
    """EINVAL for settings that would put an invalid field on the wire (INIT-02)."""
    if not (1 <= cfg.num_ostreams <= 65535 and 1 <= cfg.max_instreams <= 65535):
        raise einval("stream counts must be 1..65535")
    if not 1500 <= cfg.a_rwnd <= 0xFFFFFFFF:
        raise einval("a_rwnd must be at least 1500 (RFC 9260 §3.3.2)")
    if cfg.init_stagger < 0 or cfg.max_init_retransmits < 0 or cfg.max_init_timeo < 0:
        raise einval("init_stagger, max_init_retransmits and max_init_timeo must be >= 0")
    if not 0 < cfg.rto_min <= cfg.rto_initial <= cfg.rto_max:
        raise einval("need 0 < rto_min <= rto_initial <= rto_max")
    if not 0 <= cfg.sack_delay <= 0.5:
        raise einval("sack_delay must be within 0..0.5 s (RFC 9260 §6.2)")
    if cfg.stream_scheduler and cfg.stream_scheduler not in SCHEDULERS:
        raise einval(f"stream_scheduler must be one of {', '.join(SCHEDULERS)}")
    if cfg.idata_fsn not in IDATA_FSN:
        raise einval(f"idata_fsn must be one of {', '.join(IDATA_FSN)}")
    if cfg.pd_point < 0:
        raise einval("pd_point must be >= 0")
    if cfg.mtu < 576 or cfg.max_burst < 1:
        raise einval("mtu must be >= 576 and max_burst >= 1")
