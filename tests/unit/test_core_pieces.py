"""Unit tests of the core's small pieces: RTO estimator, cookie jar, timers, heartbeat info."""

from __future__ import annotations

import random

import pytest

from sctpx.core.config import Config
from sctpx.core.cookie import CookieJar, CookieState
from sctpx.core.heartbeat import decode_info, encode_info
from sctpx.core.rto import RtoEstimator
from sctpx.core.states import TRANSITIONS, State, check_transition
from sctpx.core.timers import Timers


def test_rto_rules_c1_to_c7() -> None:  # PAR-03
    cfg = Config()
    r = RtoEstimator(cfg)
    assert r.rto == 1.0 and r.srtt is None  # C1
    r.sample(0.1)  # C2: SRTT=R, RTTVAR=R/2, RTO=0.1+0.2 -> rounded up to RTO.Min
    assert r.srtt == pytest.approx(0.1) and r.rttvar == pytest.approx(0.05)
    assert r.rto == 1.0  # C6
    r.sample(3.0)  # C3: RTTVAR with the old SRTT, then SRTT
    rttvar = 0.75 * 0.05 + 0.25 * abs(0.1 - 3.0)
    srtt = 0.875 * 0.1 + 0.125 * 3.0
    assert r.rttvar == pytest.approx(rttvar) and r.srtt == pytest.approx(srtt)
    assert r.rto == pytest.approx(srtt + 4 * rttvar)
    r.sample(500.0)
    assert r.rto == 60.0  # C7


def test_rto_g1_granularity_and_backoff_cap() -> None:
    cfg = Config(rto_min=0.0)
    r = RtoEstimator(cfg)
    r.sample(0.0)
    assert r.rttvar == cfg.clock_granularity  # G1
    r = RtoEstimator(cfg)
    for want in (2, 4, 8, 16, 32, 60, 60):
        r.back_off()
        assert r.rto == want
    r = RtoEstimator(cfg)
    r.back_off(cap=1.5)
    assert r.rto == 1.5  # sinit_max_init_timeo bounds only set-up (PAR-05)


def _state(now: float = 10.0, **kw: object) -> CookieState:
    base = dict(
        created=now, lifetime=60.0, local_tag=0x11111111, peer_tag=0x22222222,
        local_tsn=7, peer_tsn=9, peer_rwnd=65536, local_tie_tag=0, peer_tie_tag=0,
        local_os=10, local_mis=20, peer_os=30, peer_mis=40, local_port=5000,
        peer_port=6000, peer_udp_port=9899, peer_pr_sctp=True, peer_idata=False,
        peer_addrs=("198.18.1.1", "fd00::1"), local_ip="198.18.1.2",
    )  # fmt: skip
    base.update(kw)
    return CookieState(**base)  # type: ignore[arg-type]


def test_cookie_round_trip_and_tamper() -> None:
    jar = CookieJar(random.Random(1), secret_life=60.0)
    s = _state()
    c = jar.make(s, 10.0)
    assert jar.open(c, 11.0) == s
    for i in range(len(c)):  # any flipped bit anywhere is rejected
        bad = bytearray(c)
        bad[i] ^= 0x01
        assert jar.open(bytes(bad), 11.0) is None
    assert jar.open(c[:-1], 11.0) is None
    assert jar.open(b"", 11.0) is None
    other = CookieJar(random.Random(2), secret_life=60.0)
    assert other.open(c, 11.0) is None  # forged: another secret


def test_cookie_many_addresses_and_staleness() -> None:
    jar = CookieJar(random.Random(1), secret_life=60.0)
    addrs = tuple(f"198.18.{i // 250}.{i % 250 + 1}" for i in range(500))  # IACK-13 size
    s = _state(peer_addrs=addrs)
    got = jar.open(jar.make(s, 10.0), 10.0)
    assert got is not None and got.peer_addrs == addrs
    assert got.staleness(71.0) == pytest.approx(1.0)
    assert got.staleness(69.0) < 0


def test_cookie_secret_rotation_keeps_previous() -> None:
    jar = CookieJar(random.Random(1), secret_life=60.0, now=0.0)
    c = jar.make(_state(now=50.0), 50.0)
    assert jar.open(c, 61.0) is not None  # rotated once: previous still accepted
    assert jar.open(c, 125.0) is None  # rotated twice: gone


def test_timers_order_restart_and_stop() -> None:
    t = Timers()
    t.start(("t1", "a"), 5.0)
    t.start(("t1", "b"), 3.0)
    t.start(("t2",), 4.0)
    assert t.next() == 3.0
    t.start(("t1", "b"), 6.0)  # restart moves it
    assert t.pop_due(5.0) == [("t2",), ("t1", "a")]
    t.stop_all("t1")
    assert t.next() is None


def test_heartbeat_info_round_trip() -> None:
    for ip in ("198.18.1.1", "fd00::5"):
        info = encode_info(ip, 12.5, 0xDEADBEEFCAFEF00D)
        assert decode_info(info) == (ip, 12.5, 0xDEADBEEFCAFEF00D)
    assert decode_info(b"short") is None
    assert decode_info(b"\x02" + encode_info("198.18.1.1", 1.0, 1)[1:]) is None


def test_state_table_rejects_unlisted_transitions() -> None:
    check_transition(State.CLOSED, State.COOKIE_WAIT)
    check_transition(State.SHUTDOWN_SENT, State.CLOSED)  # always allowed
    with pytest.raises(AssertionError):
        check_transition(State.CLOSED, State.SHUTDOWN_SENT)
    assert all(isinstance(v, str) and "§" in v for v in TRANSITIONS.values())
