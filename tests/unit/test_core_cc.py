"""Congestion control per destination (RFC 9260 §7.2): the Rfc9260 controller on its own,
and how the Sender drives it (which SACKs count, Fast Recovery, T3-rtx).

PMDCS (the path's maximum DATA chunk size) is what the controller calls ``mtu``: for a
1500-byte IP MTU with UDP encapsulation it is 1500 - 20 - 8 - 12 = 1460 over IPv4 and
1500 - 40 - 8 - 12 = 1440 over IPv6.
"""

from __future__ import annotations

import pytest

from sctpx import wire as w
from sctpx.core.cc import Rfc9260
from sctpx.core.config import Config
from sctpx.core.path import Path
from sctpx.core.sender import Sender, chunk_size

PMDCS = 1460
IP4, IP6 = "198.18.1.2", "2001:db8::2"
ITSN = 5000


# ----- the controller alone -----


@pytest.mark.parametrize(
    ("pmdcs", "ipv6", "cwnd"),
    [
        (1460, False, 4404),  # min(5840, max(2920, 4404))
        (1440, True, 4344),  # min(5760, max(2880, 4344))
        (1452, True, 4344),  # raw IPv6 (no UDP): still the IPv6 constant
        (536, False, 2144),  # small PMTU: 4 * PMDCS is the smaller bound
        (536, True, 2144),
        (1000, False, 4000),  # 4 * PMDCS < 4404
        (8952, False, 17904),  # jumbo frames: 2 * PMDCS is the larger bound
        (8932, True, 17864),
    ],
)
def test_initial_cwnd_follows_7_2_1(pmdcs: int, ipv6: bool, cwnd: int) -> None:
    cc = Rfc9260(pmdcs, 65536, ipv6)
    assert cc.cwnd == cwnd
    assert cc.ssthresh >= 65536  # "arbitrarily high": at least the peer's window
    assert cc.partial_bytes_acked == 0


@pytest.mark.parametrize(
    ("ip", "udp_port", "mtu", "pmdcs", "cwnd"),
    [
        (IP4, 9899, 1500, 1460, 4404),
        (IP6, 9899, 1500, 1440, 4344),
        (IP4, 0, 1500, 1468, 4404),  # raw IP: no UDP header
        (IP4, 9899, 576, 536, 2144),
    ],
)
def test_sender_gives_each_path_its_own_initial_cwnd(
    ip: str, udp_port: int, mtu: int, pmdcs: int, cwnd: int
) -> None:
    cfg = Config(mtu=mtu)
    paths = {ip: Path(ip, udp_port, cfg, confirmed=True, listed=True)}
    s = Sender(ITSN, 1, 100000, cfg, paths, False, lambda m, e: None)
    cc = s.path_tx(ip).cc
    assert (cc.mtu, cc.cwnd) == (pmdcs, cwnd)  # type: ignore[attr-defined]


def ss(cwnd: int = 10 * PMDCS) -> Rfc9260:
    """A controller in slow start (cwnd <= ssthresh)."""
    cc = Rfc9260(PMDCS, 1 << 20)
    cc.cwnd = cwnd
    return cc


def ca(cwnd: int = 10 * PMDCS) -> Rfc9260:
    """A controller in congestion avoidance (cwnd > ssthresh)."""
    cc = Rfc9260(PMDCS, 1 << 20)
    cc.cwnd = cwnd
    cc.ssthresh = cwnd - 1
    return cc


@pytest.mark.parametrize(("acked", "growth"), [(100, 100), (1460, 1460), (5000, PMDCS)])
def test_slow_start_grows_by_min_of_acked_and_pmdcs(acked: int, growth: int) -> None:
    cc = ss()
    cc.on_ack(acked, flight_before=cc.cwnd, in_fast_recovery=False)
    assert cc.cwnd == 10 * PMDCS + growth


def test_slow_start_grows_only_when_cwnd_was_fully_used() -> None:
    cc = ss()
    cc.on_ack(5000, flight_before=cc.cwnd - 1, in_fast_recovery=False)
    assert cc.cwnd == 10 * PMDCS
    cc.on_ack(5000, flight_before=cc.cwnd + 3000, in_fast_recovery=False)
    assert cc.cwnd == 11 * PMDCS


def test_slow_start_does_not_grow_in_fast_recovery() -> None:
    cc = ss()
    for _ in range(10):
        cc.on_ack(PMDCS, flight_before=cc.cwnd, in_fast_recovery=True)
    assert cc.cwnd == 10 * PMDCS


def test_slow_start_applies_up_to_and_including_ssthresh() -> None:
    cc = ss()
    cc.ssthresh = cc.cwnd  # cwnd <= ssthresh: still slow start
    cc.on_ack(700, flight_before=cc.cwnd, in_fast_recovery=False)
    assert cc.cwnd == 10 * PMDCS + 700
    assert cc.partial_bytes_acked == 0


def test_congestion_avoidance_adds_one_pmdcs_per_cwnd_of_acked_data() -> None:
    cc = ca()
    start = cc.cwnd
    acked = 0
    growths = 0
    while growths < 3:
        before = cc.cwnd
        cc.on_ack(1000, flight_before=cc.cwnd, in_fast_recovery=False)
        acked += 1000
        if cc.cwnd != before:
            assert cc.cwnd == before + PMDCS  # never more than one PMDCS at a time
            growths += 1
            # the n-th increment needs the cwnds (as they were) acknowledged so far
            need = sum(start + k * PMDCS for k in range(growths))
            assert need <= acked < need + 1000
    assert cc.cwnd == start + 3 * PMDCS


def test_congestion_avoidance_partial_bytes_acked_bookkeeping() -> None:
    cc = ca(cwnd=10000)
    cc.on_ack(6000, flight_before=10000, in_fast_recovery=False)
    assert (cc.cwnd, cc.partial_bytes_acked) == (10000, 6000)
    cc.on_ack(6000, flight_before=10000, in_fast_recovery=False)
    assert (cc.cwnd, cc.partial_bytes_acked) == (10000 + PMDCS, 2000)


def test_congestion_avoidance_one_pmdcs_per_sack_however_much_it_acks() -> None:
    cc = ca()
    cc.on_ack(50 * PMDCS, flight_before=cc.cwnd, in_fast_recovery=False)
    assert cc.cwnd == 11 * PMDCS


def test_congestion_avoidance_needs_a_full_flight() -> None:
    cc = ca()
    for _ in range(50):
        cc.on_ack(PMDCS, flight_before=cc.cwnd - 1, in_fast_recovery=False)
    assert cc.cwnd == 10 * PMDCS
    # §7.2.2: partial_bytes_acked is then held at cwnd, so one full flight suffices later.
    assert cc.partial_bytes_acked == cc.cwnd
    cc.on_ack(1, flight_before=cc.cwnd, in_fast_recovery=False)
    assert cc.cwnd == 11 * PMDCS


def test_all_acked_resets_partial_bytes_acked() -> None:
    cc = ca()
    cc.on_ack(5000, flight_before=cc.cwnd, in_fast_recovery=False)
    assert cc.partial_bytes_acked == 5000
    cc.on_all_acked()
    assert cc.partial_bytes_acked == 0


@pytest.mark.parametrize(
    ("cwnd", "after"), [(40 * PMDCS, 20 * PMDCS), (8001, 5840), (5 * PMDCS, 4 * PMDCS)]
)
def test_loss_halves_cwnd_but_not_below_four_pmdcs(cwnd: int, after: int) -> None:
    cc = ca(cwnd)
    cc.partial_bytes_acked = 1234
    cc.on_loss()
    assert cc.cwnd == cc.ssthresh == max(cwnd // 2, 4 * PMDCS) == after
    assert cc.partial_bytes_acked == 0


@pytest.mark.parametrize("cwnd", [40 * PMDCS, 5 * PMDCS, 4404])
def test_t3_collapses_cwnd_to_one_pmdcs(cwnd: int) -> None:
    cc = ca(cwnd)
    cc.partial_bytes_acked = 999
    cc.on_timeout()
    assert cc.cwnd == PMDCS
    assert cc.ssthresh == max(cwnd // 2, 4 * PMDCS)
    assert cc.partial_bytes_acked == 0
    # back in slow start: the next full-window ack grows it again
    cc.on_ack(PMDCS, flight_before=PMDCS, in_fast_recovery=False)
    assert cc.cwnd == 2 * PMDCS


def test_idle_decay_halves_per_rto_down_to_four_pmdcs() -> None:
    cc = ss(cwnd=40 * PMDCS)
    cc.ssthresh = 1 << 20
    cc.on_idle()
    assert cc.ssthresh == 40 * PMDCS  # set to cwnd before the first adjustment
    assert cc.cwnd == 20 * PMDCS
    cc.on_idle()
    assert cc.cwnd == 10 * PMDCS
    assert cc.ssthresh == 40 * PMDCS  # only before the first adjustment
    for _ in range(5):
        cc.on_idle()
    assert cc.cwnd == 4 * PMDCS


def test_idle_decay_starts_over_after_data_is_acked() -> None:
    cc = ss(cwnd=40 * PMDCS)
    cc.on_idle()
    cc.on_ack(PMDCS, flight_before=cc.cwnd, in_fast_recovery=False)
    grown = cc.cwnd
    cc.on_idle()
    assert cc.ssthresh == grown  # a new idle period: ssthresh taken again
    assert cc.cwnd == grown // 2


# ----- the Sender driving the controller -----


def make_sender(n_chunks: int, cwnd: int) -> Sender:
    """A sender with ``n_chunks`` 1000-byte messages outstanding on one path."""
    cfg = Config()
    paths = {IP4: Path(IP4, 9899, cfg, confirmed=True, listed=True)}
    s = Sender(ITSN, 4, 1 << 24, cfg, paths, False, lambda m, e: None)
    for _ in range(n_chunks):
        s.enqueue(b"d" * 1000, 0, 0, False, 0, None, None, 0.0, 1444)
    cc = s.path_tx(IP4).cc
    cc.cwnd = 1 << 24
    assert len(s.take_new(IP4, 1 << 24, 0.0)) == n_chunks
    cc.cwnd = cwnd
    return s


def sack(s: Sender, cum: int, *blocks: tuple[int, int], now: float = 1.0) -> None:
    """A SACK acknowledging chunk indexes up to ``cum`` and the inclusive index ranges."""
    gaps = tuple((a - cum, b - cum) for a, b in blocks)
    res = s.on_sack(w.SackChunk((ITSN + cum) & 0xFFFFFFFF, 1 << 24, gaps), now)
    assert res is not None


SIZE = chunk_size(1000)


def test_sender_counts_gap_acked_bytes_towards_slow_start() -> None:
    s = make_sender(10, cwnd=10 * SIZE)
    sack(s, -1, (2, 2))  # one chunk, newly acked by a gap block, cwnd was full
    assert s.path_tx(IP4).cc.cwnd == 10 * SIZE + SIZE


def test_sender_halves_cwnd_once_per_fast_recovery() -> None:
    s = make_sender(30, cwnd=1 << 20)
    cc = s.path_tx(IP4).cc
    # Chunk 0 missing: three SACKs with newly acked chunks above it.
    for k in (1, 2, 3):
        sack(s, -1, (1, k))
    assert s.fast_recovery_exit is not None
    assert cc.cwnd == (1 << 20) // 2
    # A second loss (chunk 10) reaches three misses inside the same Fast Recovery.
    for k in (11, 12, 13):
        sack(s, -1, (1, 9), (11, k))
    assert s.outstanding[10].marked
    assert cc.cwnd == (1 << 20) // 2  # not halved again
    # Nor does anything acked in Fast Recovery grow it, even with the window fully used.
    cc.cwnd = s.flight()
    full = cc.cwnd
    sack(s, -1, (1, 9), (11, 20))
    assert cc.cwnd == full
    # Fast Recovery ends when the exit point (the highest TSN outstanding then) is acked.
    sack(s, 29)
    assert s.fast_recovery_exit is None


def test_sender_t3_collapses_cwnd_of_that_path_only() -> None:
    cfg = Config()
    paths = {ip: Path(ip, 9899, cfg, confirmed=True, listed=True) for ip in (IP4, "198.18.2.2")}
    s = Sender(ITSN, 4, 1 << 24, cfg, paths, False, lambda m, e: None)
    s.enqueue(b"d" * 1000, 0, 0, False, 0, None, None, 0.0, 1444)
    s.take_new(IP4, 1500, 0.0)
    other = s.path_tx("198.18.2.2").cc
    before = other.cwnd
    s.on_t3(IP4)
    assert s.path_tx(IP4).cc.cwnd == PMDCS
    assert other.cwnd == before


def test_growth_from_a_sack_is_applied_before_the_fast_retransmit_halving() -> None:
    s = make_sender(20, cwnd=1 << 20)
    cc = s.path_tx(IP4).cc
    sack(s, 0, (3, 3))  # chunk 2 missing once (and chunk 1)
    sack(s, 0, (3, 4))  # twice
    cc.cwnd = s.flight()  # the window is fully used when the third SACK arrives
    cwnd = cc.cwnd
    sack(s, 1, (3, 5))  # advances the cum ack over chunk 1, third miss for chunk 2
    assert s.outstanding[2].marked
    grown = cwnd + min(2 * SIZE, PMDCS)  # §7.2.1 first (chunks 1 and 5 newly acked) ...
    assert cc.cwnd == max(grown // 2, 4 * PMDCS)  # ... then §7.2.3
