"""Destination transport addresses of an association (RFC 9260 §5.4, §8.1-§8.3; RFC 7829)."""

from __future__ import annotations

import enum

from .config import Config
from .rto import RtoEstimator


class Reachability(enum.Enum):
    """Reachability of a path (``spinfo_state`` less UNCONFIRMED, which is separate)."""

    ACTIVE = "ACTIVE"
    PF = "PF"  # potentially failed, RFC 7829
    INACTIVE = "INACTIVE"


class Path:
    """One peer IP address of an association, with its RTO, error counter and probing state."""

    __slots__ = (
        "confirmed",
        "data_sent_at",
        "error_count",
        "failed_at",
        "hb_interval",
        "hb_nonce",
        "hb_outstanding",
        "init_failed",
        "ip",
        "listed",
        "max_retrans",
        "reach",
        "rto",
        "udp_port",
    )

    def __init__(
        self, ip: str, udp_port: int, cfg: Config, *, confirmed: bool, listed: bool
    ) -> None:
        self.ip = ip
        self.udp_port = udp_port  # remote UDP encapsulation port, RFC 6951 §5.1
        self.confirmed = confirmed  # RFC 9260 §5.4
        self.listed = listed  # passed to connectx by the user
        self.reach = Reachability.ACTIVE
        self.rto = RtoEstimator(cfg)
        self.error_count = 0  # §8.2
        self.hb_nonce = 0  # nonce of the HEARTBEAT in flight, 0 if none
        self.hb_outstanding = False
        self.init_failed = False  # an unreachable signal refused set-up through it
        self.failed_at = -1.0  # time of the latest timeout (T3 or HEARTBEAT) on this path
        self.data_sent_at = -1.0  # time DATA last went to this path (idle test, §8.3)
        # Per-address SCTP_PEER_ADDR_PARAMS; None: the association's HB.interval and
        # Path.Max.Retrans.
        self.hb_interval: float | None = None
        self.max_retrans: int | None = None

    @property
    def usable(self) -> bool:
        """May carry chunks other than a nonce HEARTBEAT (§5.4) and is not known dead."""
        return self.confirmed and self.reach is not Reachability.INACTIVE

    def __repr__(self) -> str:
        c = "confirmed" if self.confirmed else "unconfirmed"
        return f"Path({self.ip}:{self.udp_port} {c} {self.reach.value} err={self.error_count})"
