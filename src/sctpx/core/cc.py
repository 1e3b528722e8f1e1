"""Congestion control per destination (RFC 9260 §7.2), behind a small interface.

Each path has its own controller. The sender tells it what happened (a SACK
acknowledged bytes, T3-rtx expired, loss was found by gap reports, the path
went idle) and asks it how much may be in flight. Other algorithms subclass
:class:`CongestionControl`; :class:`Rfc9260` is the RFC's own.
"""

from __future__ import annotations

import abc


class CongestionControl(abc.ABC):
    """What the sender needs of a congestion controller for one path."""

    cwnd: int
    ssthresh: int
    mtu: int  # the path's maximum DATA chunk size (PMDCS), the unit of cwnd accounting

    @abc.abstractmethod
    def on_ack(self, bytes_acked: int, flight_before: int, in_fast_recovery: bool) -> None:
        """A SACK newly acknowledged ``bytes_acked`` sent on this path."""

    @abc.abstractmethod
    def on_all_acked(self) -> None:
        """Nothing sent on this path is outstanding any more."""

    @abc.abstractmethod
    def on_loss(self) -> None:
        """Gap reports found a loss (entering Fast Recovery)."""

    @abc.abstractmethod
    def on_timeout(self) -> None:
        """T3-rtx expired on this path."""

    @abc.abstractmethod
    def on_idle(self) -> None:
        """No data was sent on this path for one RTO."""


class Rfc9260(CongestionControl):
    """Slow start, congestion avoidance, fast recovery and idle decay of RFC 9260 §7.2."""

    __slots__ = ("_idle_seen", "cwnd", "mtu", "partial_bytes_acked", "ssthresh")

    def __init__(self, mtu: int, peer_rwnd: int, ipv6: bool = False) -> None:
        self.mtu = mtu  # the path's maximum DATA chunk size (PMDCS) in cwnd accounting
        # §7.2.1: initial cwnd min(4 PMDCS, max(2 PMDCS, 4404 or 4344)); ssthresh high.
        self.cwnd = min(4 * mtu, max(2 * mtu, 4344 if ipv6 else 4404))
        self.ssthresh = max(peer_rwnd, 4 * mtu)
        self.partial_bytes_acked = 0
        self._idle_seen = False

    def on_ack(self, bytes_acked: int, flight_before: int, in_fast_recovery: bool) -> None:
        self._idle_seen = False
        if self.cwnd <= self.ssthresh:
            # §7.2.1 slow start: only when cwnd is fully used and not in Fast Recovery;
            # by at most min(bytes acked, L x PMDCS) with L = 1.
            if flight_before >= self.cwnd and not in_fast_recovery:
                self.cwnd += min(bytes_acked, self.mtu)
            return
        # §7.2.2 congestion avoidance with partial_bytes_acked.
        self.partial_bytes_acked += bytes_acked
        if self.partial_bytes_acked >= self.cwnd:
            if flight_before >= self.cwnd:
                self.partial_bytes_acked -= self.cwnd
                self.cwnd += self.mtu
            else:
                self.partial_bytes_acked = self.cwnd

    def on_all_acked(self) -> None:
        self.partial_bytes_acked = 0  # §7.2.2

    def on_loss(self) -> None:
        # §7.2.3 on gap-report loss.
        self.ssthresh = max(self.cwnd // 2, 4 * self.mtu)
        self.cwnd = self.ssthresh
        self.partial_bytes_acked = 0

    def on_timeout(self) -> None:
        # §7.2.3 on T3-rtx expiry: back to one packet.
        self.ssthresh = max(self.cwnd // 2, 4 * self.mtu)
        self.cwnd = self.mtu
        self.partial_bytes_acked = 0

    def on_idle(self) -> None:
        # §7.2.1: an idle path decays to max(cwnd/2, 4 PMDCS) per RTO; ssthresh = cwnd first.
        if not self._idle_seen:
            self.ssthresh = self.cwnd
            self._idle_seen = True
        self.cwnd = max(self.cwnd // 2, 4 * self.mtu)
