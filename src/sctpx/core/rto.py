"""Retransmission timeout per destination (RFC 9260 §6.3.1)."""

from __future__ import annotations

from .config import Config


class RtoEstimator:
    """SRTT, RTTVAR and RTO of one path, computed by rules C1-C7 and G1 of §6.3.1."""

    __slots__ = ("_cfg", "rto", "rttvar", "srtt")

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = cfg.rto_initial  # C1

    def sample(self, r: float) -> None:
        """Feed one RTT measurement ``r`` (seconds)."""
        c = self._cfg
        if self.srtt is None:  # C2
            self.srtt = r
            self.rttvar = r / 2
        else:  # C3: RTTVAR first, with the old SRTT
            self.rttvar = (1 - c.rto_beta) * self.rttvar + c.rto_beta * abs(self.srtt - r)
            self.srtt = (1 - c.rto_alpha) * self.srtt + c.rto_alpha * r
        if self.rttvar == 0:  # G1
            self.rttvar = c.clock_granularity
        rto = self.srtt + 4 * self.rttvar
        self.rto = min(max(rto, c.rto_min), c.rto_max)  # C6, C7

    def back_off(self, cap: float | None = None) -> None:
        """§6.3.3 E2: double the RTO, up to RTO.Max (or a smaller set-up cap)."""
        self.rto = min(self.rto * 2, self._cfg.rto_max if cap is None else cap)
