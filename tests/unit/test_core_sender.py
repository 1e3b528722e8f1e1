"""The sending half of the data path: fragmentation, SSNs, SACK processing, fast retransmit,
Karn's rule, PR-SCTP abandonment and giving up (RFC 9260 §6.1-§6.2.1, §6.6, §6.9, §7.2.4;
RFC 3758 §3.5).

Most tests drive :class:`Sender` directly with hand-made SACKs; a few go through the
public :class:`Endpoint` API with crafted packets (an association set up by hand, the way
``test_core_handshake.py`` does it) to see what reaches the wire.
"""

from __future__ import annotations

import errno
import random
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sctpx import wire as w
from sctpx.core import Config, Endpoint, Event, State
from sctpx.core.events import DataReceived, SenderDry, SendFailed
from sctpx.core.path import Path
from sctpx.core.sender import OutMessage, SackResult, Sender, chunk_size

MASK = 0xFFFFFFFF
IP, IP2 = "198.18.1.2", "198.18.2.2"
ITSN = 1000
PAYLOAD = 1444  # what the data path uses for IPv4 + UDP at MTU 1500: 1500-20-8-12-16
B, E, U = w.FLAG_BEGIN, w.FLAG_END, w.FLAG_UNORDERED


# ----- helpers: a Sender on its own -----


class Harness:
    def __init__(
        self,
        streams: int = 4,
        rwnd: int = 1 << 20,
        pr: bool = True,
        paths: tuple[str, ...] = (IP,),
        initial_tsn: int = ITSN,
        cfg: Config | None = None,
    ) -> None:
        # fcfs: these tests pin TSNs in the order messages were queued, whatever their
        # stream; tests/unit/test_core_scheduler.py has the order of every scheduler.
        self.cfg = cfg or Config(stream_scheduler="fcfs")
        self.paths = {ip: Path(ip, 9899, self.cfg, confirmed=True, listed=True) for ip in paths}
        self.failed: list[tuple[OutMessage, int]] = []
        self.itsn = initial_tsn
        self.msgs: list[OutMessage] = []
        self.s = Sender(
            initial_tsn,
            streams,
            rwnd,
            self.cfg,
            self.paths,
            pr,
            lambda m, e: self.failed.append((m, e)),
        )

    def put(
        self,
        data: bytes,
        stream: int = 0,
        unordered: bool = False,
        ttl: float | None = None,
        max_rtx: int | None = None,
        now: float = 0.0,
        payload: int = PAYLOAD,
        ppid: int = 0,
        context: int = 0,
    ) -> None:
        self.s.enqueue(data, stream, ppid, unordered, context, ttl, max_rtx, now, payload)
        self.msgs.append(self.s.pending[-1].msg)

    def open_cwnd(self, *ips: str) -> None:
        for ip in ips or tuple(self.paths):
            self.s.path_tx(ip).cc.cwnd = 1 << 30

    def send(self, ip: str = IP, now: float = 0.0, room: int = 1 << 30) -> list[w.DataChunk]:
        return self.s.take_new(ip, room, now)

    def tsn(self, index: int) -> int:
        return (self.itsn + index) & MASK

    def sack(
        self, cum: int, *blocks: tuple[int, int], rwnd: int = 1 << 20, now: float = 1.0
    ) -> SackResult | None:
        """A SACK acking chunk indexes up to ``cum`` and the inclusive index ranges."""
        gaps = tuple((a - cum, b - cum) for a, b in blocks)
        return self.s.on_sack(w.SackChunk(self.tsn(cum), rwnd, gaps), now)

    def raw_sack(
        self, cum_tsn: int, gaps: tuple[tuple[int, int], ...] = (), rwnd: int = 1 << 20,
        now: float = 1.0,
    ) -> SackResult | None:  # fmt: skip
        return self.s.on_sack(w.SackChunk(cum_tsn & MASK, rwnd, gaps), now)


def check_invariants(s: Sender) -> None:
    """What must hold whatever the peer sent."""
    out = s.outstanding
    for ip, t in s.tx.items():
        mine = sum(c.size for c in out.values() if c.in_flight and c.path == ip)
        assert t.flight == mine >= 0, (ip, t.flight, mine)
        assert t.cc.cwnd > 0 and t.cc.ssthresh > 0
    assert s.total_flight == sum(t.flight for t in s.tx.values()) >= 0
    assert s.flight() == s.total_flight
    assert s.peer_rwnd >= 0
    assert -1 <= s.cum_seq < s.next_seq
    assert s.adv_seq >= s.cum_seq
    for seq, c in out.items():
        assert s.cum_seq < seq < s.next_seq, (seq, s.cum_seq, s.next_seq)
        assert c.seq == seq and c.tx_count >= 1
        assert not (c.in_flight and (c.acked or c.marked))
        assert c.msg.chunks_left >= 0
    assert list(out) == sorted(out)
    assert s.queued_bytes == sum(c.end - c.begin for c in s.pending if not c.msg.abandoned)


# ----- fragmentation and SSNs (§6.9, §6.6) -----


@pytest.mark.parametrize(
    ("size", "payload", "pieces"),
    [
        (1, 1444, [1]),
        (1444, 1444, [1444]),
        (1445, 1444, [1444, 1]),
        (5000, 1444, [1444, 1444, 1444, 668]),
        (1000, 100, [100] * 10),
    ],
)
def test_fragments_get_consecutive_tsns_and_b_e_flags(
    size: int, payload: int, pieces: list[int]
) -> None:
    h = Harness()
    h.open_cwnd()
    data = bytes(random.Random(size).randbytes(size))
    h.put(data, stream=2, payload=payload, ppid=77)
    h.put(b"next", stream=2)
    chunks = h.send()
    frags, nxt = chunks[:-1], chunks[-1]
    assert [len(c.user_data) for c in frags] == pieces
    assert b"".join(c.user_data for c in frags) == data
    assert [c.tsn for c in chunks] == [h.tsn(i) for i in range(len(pieces) + 1)]
    assert {(c.stream_id, c.ssn, c.ppid) for c in frags} == {(2, 0, 77)}
    for i, c in enumerate(frags):
        assert c.beginning == (i == 0) and c.ending == (i == len(frags) - 1)
        assert not c.unordered
    assert (nxt.ssn, nxt.flags & (B | E)) == (1, B | E)
    assert [o.size for o in h.s.outstanding.values()] == [chunk_size(n) for n in [*pieces, 4]]


def test_unordered_fragments_all_carry_the_u_flag() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"u" * 300, stream=1, unordered=True, payload=100)
    chunks = h.send()
    assert [c.flags for c in chunks] == [U | B, U, U | E]


def test_ssn_per_stream_in_order_of_first_transmission() -> None:
    h = Harness(streams=3)
    h.open_cwnd()
    h.put(b"a0", stream=0)
    h.put(b"b0", stream=1)
    h.put(b"u", stream=0, unordered=True)  # unordered: takes no SSN
    h.put(b"a1" * 200, stream=0, payload=100)  # fragments share one SSN
    h.put(b"a2", stream=0)
    h.put(b"b1", stream=1)
    h.put(b"c0", stream=2)
    got = [(c.stream_id, c.ssn, c.unordered) for c in h.send() if c.beginning]
    assert got == [(0, 0, False), (1, 0, False), (0, 0, True), (0, 1, False), (0, 2, False),
                   (1, 1, False), (2, 0, False)]  # fmt: skip
    assert {c.msg.ssn for c in h.s.outstanding.values() if c.msg.data == b"a1" * 200} == {1}


def test_ssn_is_taken_at_first_transmission_not_at_enqueue() -> None:
    h = Harness(streams=2)
    h.put(b"first", stream=0)
    h.put(b"second", stream=0)
    assert all(c.msg.ssn < 0 for c in h.s.pending)  # nothing assigned while queued
    [c1] = h.send(room=chunk_size(5))
    [c2] = h.send()
    assert (c1.ssn, c2.ssn) == (0, 1)


def test_ssn_wraps_after_65535() -> None:
    h = Harness()
    h.open_cwnd()
    h.s.next_ssn[1] = 0xFFFF
    h.put(b"x", stream=1)
    h.put(b"y", stream=1)
    assert [c.ssn for c in h.send()] == [0xFFFF, 0]


@pytest.mark.parametrize("stream", [4, 5, 65535, -1])
def test_stream_out_of_range_is_einval_and_queues_nothing(stream: int) -> None:
    h = Harness(streams=4)
    with pytest.raises(OSError) as exc:
        h.put(b"data", stream=stream)
    assert exc.value.errno == errno.EINVAL
    assert h.s.idle and h.s.queued_bytes == 0 and not h.s.pending
    h.put(b"ok", stream=3)
    [c] = h.send()
    assert (c.tsn, c.ssn) == (ITSN, 0)  # no TSN or SSN was used up


def test_empty_message_is_einval() -> None:
    h = Harness()
    with pytest.raises(OSError) as exc:
        h.put(b"")
    assert exc.value.errno == errno.EINVAL
    assert h.s.idle and h.s.queued_bytes == 0


# ----- SACK processing (§6.2.1) -----


def sent_harness(n: int, size: int = 1000, **kw: Any) -> Harness:
    h = Harness(**kw)
    h.open_cwnd()
    for i in range(n):
        h.put(i.to_bytes(2, "big") * (size // 2))
    assert len(h.send()) == n
    return h


def test_cum_ack_frees_chunks_and_flight() -> None:
    h = sent_harness(5)
    size = chunk_size(1000)
    assert h.s.flight() == 5 * size
    res = h.sack(2)
    assert res is not None and res.cum_advanced
    assert res.bytes_acked == {IP: 3 * size}
    assert list(h.s.outstanding) == [3, 4]
    assert h.s.flight() == 2 * size and h.s.cum_seq == 2
    assert h.s.peer_rwnd == (1 << 20) - 2 * size  # §6.2.1 D ii: a_rwnd less what is in flight
    check_invariants(h.s)


def test_gap_blocks_mark_chunks_acked_without_moving_cum() -> None:
    h = sent_harness(8)
    size = chunk_size(1000)
    res = h.sack(0, (2, 3), (6, 6))
    assert res is not None
    assert res.bytes_acked == {IP: 4 * size}  # chunk 0 by cum, 2, 3 and 6 by gaps
    assert [seq for seq, c in h.s.outstanding.items() if c.acked] == [2, 3, 6]
    assert h.s.cum_seq == 0 and h.s.flight() == 4 * size
    res = h.sack(0, (2, 3), (5, 6))  # the same cum ack, one more chunk by a gap block
    assert res is not None and not res.cum_advanced and res.bytes_acked == {IP: size}
    assert h.s.cum_seq == 0 and h.s.flight() == 3 * size
    # When the cum ack later covers them they are not counted a second time.
    res = h.sack(3)
    assert res is not None and res.bytes_acked == {IP: size}  # only chunk 1 is new
    check_invariants(h.s)


def test_duplicate_sack_is_harmless() -> None:
    h = sent_harness(8)
    first = h.sack(1, (4, 5))
    assert first is not None
    snapshot = (h.s.flight(), h.s.cum_seq, h.s.path_tx(IP).cc.cwnd,
                [(c.acked, c.missing, c.marked) for c in h.s.outstanding.values()])  # fmt: skip
    again = h.sack(1, (4, 5))
    assert again is not None and again.bytes_acked == {} and not again.cum_advanced
    assert not again.fast_rtx_paths
    after = (h.s.flight(), h.s.cum_seq, h.s.path_tx(IP).cc.cwnd,
             [(c.acked, c.missing, c.marked) for c in h.s.outstanding.values()])  # fmt: skip
    assert after == snapshot  # in particular no extra miss indications (HTNA)


def test_stale_sack_is_ignored_entirely() -> None:
    h = sent_harness(10)
    assert h.sack(5, rwnd=50000) is not None
    rwnd = h.s.peer_rwnd
    assert h.sack(3, (6, 8), rwnd=999999) is None  # §6.2.1 D i: older cum ack
    assert h.s.cum_seq == 5 and h.s.peer_rwnd == rwnd
    assert not any(c.acked for c in h.s.outstanding.values())
    check_invariants(h.s)


# ----- hostile SACKs: ignored or clipped, never a crash or a corrupt state -----


def finish(h: Harness) -> None:
    """An honest SACK for everything still works afterwards."""
    check_invariants(h.s)
    res = h.sack(h.s.next_seq - 1)
    assert res is not None or h.s.cum_seq == h.s.next_seq - 1
    assert not h.s.outstanding and h.s.flight() == 0
    check_invariants(h.s)


@pytest.mark.parametrize("beyond", [1, 2, 1000, 1 << 30, (1 << 31) - 10])
def test_sack_acking_beyond_what_was_sent_is_ignored(beyond: int) -> None:
    h = sent_harness(5)
    assert h.raw_sack(h.tsn(4 + beyond)) is None
    assert h.s.cum_seq == -1 and len(h.s.outstanding) == 5 and h.s.flight() == 5 * 1016
    finish(h)


@pytest.mark.parametrize("behind", [2, 100, (1 << 31) - 1, 1 << 31, (1 << 31) + 1])
def test_sack_far_behind_or_half_the_space_away_is_ignored(behind: int) -> None:
    h = sent_harness(5)
    h.sack(1)
    assert h.raw_sack(h.tsn(1) - behind) is None
    assert h.s.cum_seq == 1
    finish(h)


@pytest.mark.parametrize(
    "gaps",
    [
        ((10, 20),),  # entirely beyond what was sent
        ((3, 500),),  # runs past it
        ((4, 2),),  # reversed
        ((0, 2),),  # starts at the cum ack itself
        ((2, 4), (3, 5)),  # overlapping
        ((5, 6), (2, 3)),  # descending
        ((2, 2), (2, 2)),  # repeated
        ((1, 65535),),
        ((65535, 65535),),
        ((65535, 0),),
        ((1, 1), (65535, 65535), (2, 2)),
    ],
)
def test_malformed_gap_blocks_ack_nothing_that_was_not_sent(
    gaps: tuple[tuple[int, int], ...],
) -> None:
    h = sent_harness(6)
    res = h.raw_sack(h.tsn(-1), gaps)
    check_invariants(h.s)
    assert res is not None
    acked = {seq for seq, c in h.s.outstanding.items() if c.acked}
    assert acked <= set(range(6))
    # whatever it acked lies within its first (valid) block
    start, end = gaps[0]
    assert acked <= set(range(start - 1, end))
    finish(h)


def test_many_gap_blocks_cost_at_most_a_pass_over_the_window() -> None:
    h = sent_harness(40)
    gaps = tuple((i, i) for i in range(2, 32000, 2))  # 15999 blocks, almost all beyond
    t = time.perf_counter()
    res = h.raw_sack(h.tsn(-1), gaps)
    took = time.perf_counter() - t
    assert res is not None
    assert [seq for seq, c in h.s.outstanding.items() if c.acked] == list(range(1, 40, 2))
    assert took < 0.5, took
    finish(h)


@pytest.mark.parametrize("a_rwnd", [0, 1, MASK])
def test_extreme_a_rwnd(a_rwnd: int) -> None:
    h = sent_harness(3)
    h.put(b"z" * 1000)
    assert h.sack(0, rwnd=a_rwnd) is not None
    assert h.s.peer_rwnd == max(0, a_rwnd - h.s.flight())
    new = h.send(now=1.0)
    if a_rwnd == MASK:
        assert len(new) == 1  # window wide open: only cwnd limits
    else:
        assert new == []  # §6.1 A: data outstanding, window closed: no probe yet
    finish(h)
    # window closed, nothing outstanding: exactly one chunk may probe it (§6.1 A)
    h.put(b"p" * 1000)
    h.put(b"q" * 1000)
    h.s.peer_rwnd = 0
    assert len(h.send(now=2.0)) == 1


def test_a_rwnd_zero_allows_exactly_one_probe_chunk() -> None:
    h = sent_harness(1)
    for _ in range(3):
        h.put(b"w" * 1000)
    assert h.sack(0, rwnd=0) is not None
    assert h.s.peer_rwnd == 0
    probe = h.send(now=1.0)
    assert len(probe) == 1
    assert h.send(now=1.1) == []  # no second probe while the first is outstanding


sack_blocks = st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 65535)), max_size=6).map(
    tuple
)
ops = st.one_of(
    st.tuples(st.just("sack"), st.integers(-4, 40), sack_blocks, st.integers(0, MASK)),
    st.tuples(st.just("raw"), st.integers(0, MASK), sack_blocks, st.sampled_from([0, MASK])),
    st.tuples(st.just("honest"), st.integers(-1, 40), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("t3"), st.sampled_from([IP, IP2]), st.just(()), st.just(0)),
    st.tuples(st.just("rtx"), st.sampled_from([IP, IP2]), st.booleans(), st.just(0)),
    st.tuples(st.just("new"), st.sampled_from([IP, IP2]), st.integers(0, 5000), st.just(0)),
    st.tuples(st.just("put"), st.integers(1, 3000), st.booleans(), st.just(0)),
    st.tuples(st.just("fwd"), st.just(0), st.just(()), st.just(0)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    itsn=st.sampled_from([0, ITSN, 0x7FFFFFF0, MASK - 5]),
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=15),
    script=st.lists(ops, max_size=40),
)
def test_random_sacks_never_crash_or_corrupt(
    itsn: int, sizes: list[int], script: list[tuple[Any, ...]]
) -> None:
    h = Harness(paths=(IP, IP2), initial_tsn=itsn)
    for i, n in enumerate(sizes):
        h.put(bytes([i]) * n, stream=i % 4, unordered=i % 3 == 0, payload=500,
              ttl=2.0 if i % 5 == 0 else None)  # fmt: skip
    h.send(IP, room=3000)
    h.send(IP2, room=3000)
    now = 0.0
    prev_cum = h.s.cum_seq
    for kind, a, b, c in script:
        now += 0.1
        if kind == "sack":
            h.sack(a, now=now, rwnd=c) if not b else h.raw_sack(h.tsn(a), b, c, now)
        elif kind == "raw":
            h.raw_sack(a, b, c, now)
        elif kind == "honest":  # a consistent SACK: cum somewhere sent, a block above it
            cum = max(min(a, h.s.next_seq - 1), h.s.cum_seq)
            hi = min(cum + 1 + b, h.s.next_seq - 1)
            gaps = ((2, hi - cum),) if hi - cum >= 2 else ()
            h.raw_sack(h.tsn(cum), gaps, 1 << 16, now)
        elif kind == "t3":
            h.s.on_t3(a)
        elif kind == "rtx":
            h.s.take_retransmissions(a, 1460, now, b)
        elif kind == "new":
            h.s.take_new(a, b, now)
        elif kind == "put":
            h.put(b"n" * a, unordered=b, payload=500, now=now)
        elif kind == "fwd":
            f = h.s.forward_tsn()
            if f is not None:
                assert ((f.new_cum_tsn - h.tsn(h.s.cum_seq)) & MASK) < (1 << 31)
        check_invariants(h.s)
        assert h.s.cum_seq >= prev_cum  # the cum ack point never moves back
        prev_cum = h.s.cum_seq
    finish(h)
    # every message is accounted for: acknowledged, or handed back exactly once, or
    # (part of it) still waiting to be sent
    failed = [id(m) for m, _ in h.failed]
    assert len(set(failed)) == len(failed)
    for m in h.msgs:
        queued = any(c.msg is m for c in h.s.pending)
        if m.abandoned:
            assert id(m) in failed
        else:
            assert id(m) not in failed
            assert m.chunks_left == 0 or queued


# ----- fast retransmit (§7.2.4) -----


def test_fast_retransmit_after_exactly_three_miss_indications_htna() -> None:
    h = sent_harness(10)
    s = h.s
    r = h.sack(-1, (5, 5))  # chunks 0-4 missing once; 6-9 are above the HTNA
    assert r is not None and not r.fast_rtx_paths
    assert [c.missing for c in s.outstanding.values()] == [1] * 5 + [0] * 5
    h.sack(-1, (5, 5))  # the same SACK again: nothing newly acked, no miss counted
    assert [s.outstanding[i].missing for i in range(5)] == [1] * 5
    h.sack(-1, (5, 6))
    assert not any(c.marked for c in s.outstanding.values())  # two are not enough
    r = h.sack(-1, (5, 7))
    assert r is not None and r.fast_rtx_paths == {IP} and r.enter_fast_recovery
    assert [i for i, c in s.outstanding.items() if c.marked] == [0, 1, 2, 3, 4]
    assert s.fast_recovery_exit == 9
    # one packet, cwnd ignored (§7.2.4 step 3), lowest TSNs first
    s.path_tx(IP).cc.cwnd = 1
    again = s.take_retransmissions(IP, 1460, 1.0, ignore_cwnd=True)
    assert [c.tsn for c in again] == [h.tsn(0)]
    rest = s.take_retransmissions(IP, 1 << 20, 1.0, ignore_cwnd=True)
    assert [c.tsn for c in rest] == [h.tsn(i) for i in (1, 2, 3, 4)]
    check_invariants(s)


def test_a_chunk_is_fast_retransmitted_only_once() -> None:
    h = sent_harness(20)
    s = h.s
    for k in (1, 2, 3):
        h.sack(-1, (1, k))
    assert s.outstanding[0].marked
    assert len(s.take_retransmissions(IP, 1460, 1.0, ignore_cwnd=True)) == 1
    for k in range(4, 19):  # many more miss indications for the retransmitted chunk 0
        r = h.sack(-1, (1, k))
        assert r is not None and not r.fast_rtx_paths
    assert not s.outstanding[0].marked and not s.has_rtx()
    assert s.outstanding[0].tx_count == 2


def test_miss_indications_only_below_the_highest_newly_acked_tsn() -> None:
    h = sent_harness(10)
    h.sack(-1, (2, 2), (7, 7))  # HTNA 7: 0, 1, 3-6 missing; 8, 9 not reported
    assert [h.s.outstanding[i].missing for i in range(10) if i not in (2, 7)] == [
        1, 1, 1, 1, 1, 1, 0, 0]  # fmt: skip
    h.sack(-1, (2, 3), (7, 7))  # HTNA 3: only 0 and 1 below it
    assert [h.s.outstanding[i].missing for i in (0, 1, 4, 5, 6, 8)] == [2, 2, 1, 1, 1, 0]


def test_fast_recovery_counts_misses_only_for_tsns_reported_missing() -> None:
    h = sent_harness(20)
    s = h.s
    for k in (1, 2, 3):
        h.sack(-1, (1, k))
    assert s.fast_recovery_exit == 19
    s.take_retransmissions(IP, 1460, 1.0, ignore_cwnd=True)
    # The retransmission arrives; then the cum ack advances one chunk at a time, and no
    # SACK reports anything missing (no gap blocks): 5-19 are simply still in flight.
    for cum in (4, 5, 6):
        r = h.sack(cum)
        assert r is not None
        assert not r.fast_rtx_paths
    assert not any(c.marked for c in s.outstanding.values())


def test_reneged_chunks_are_retransmitted_after_t3() -> None:
    h = sent_harness(5)
    h.sack(-1, (1, 2))  # chunks 1 and 2 acknowledged by a gap block
    h.sack(-1)  # ... and no longer: the receiver dropped them
    h.s.on_t3(IP)
    rtx = h.s.take_retransmissions(IP, 1 << 20, 2.0, ignore_cwnd=True)
    assert [c.tsn for c in rtx] == [h.tsn(i) for i in range(5)]


# ----- Karn's rule (§6.3.1 C5) -----


def test_rtt_is_measured_from_first_transmissions_only() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"a" * 100)
    h.put(b"b" * 100)
    h.send(now=0.0)
    h.s.on_t3(IP)
    assert len(h.s.take_retransmissions(IP, 1460, 1.0, ignore_cwnd=False)) == 2
    r = h.sack(1, now=1.4)
    # both were retransmitted: ambiguous, so no RTT sample and no credit for the path
    # (an earlier transmission may be the one that arrived), but the bytes count for cwnd
    assert r is not None and r.acked_paths == {} and r.bytes_acked == {IP: 2 * 116}
    assert r.rtt == {}
    h.put(b"c" * 100)
    h.send(now=2.0)
    r = h.sack(2, now=2.25)
    assert r is not None and r.rtt == {IP: pytest.approx(0.25)}


def test_rtt_sample_comes_from_the_fresh_chunk_when_a_sack_acks_both() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"a" * 100)
    h.send(now=0.0)
    h.s.on_t3(IP)
    h.s.take_retransmissions(IP, 1460, 1.0, ignore_cwnd=False)
    h.put(b"b" * 100)
    h.send(now=1.2)
    r = h.sack(1, now=1.5)
    assert r is not None and r.rtt == {IP: pytest.approx(0.3)}


# ----- PR-SCTP (RFC 3758 §3.5) -----


def test_ttl_expiry_abandons_an_outstanding_message() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"late" * 10, stream=1, ttl=1.0)
    h.send(now=0.0)
    h.s.on_t3(IP)
    assert len(h.s.take_retransmissions(IP, 1460, 0.5, False)) == 1  # alive: retransmitted
    h.s.on_t3(IP)
    assert h.s.take_retransmissions(IP, 1460, 1.5, False) == []  # expired: abandoned
    [(m, err)] = h.failed
    assert (m.data, err, m.sent) == (b"late" * 10, errno.ETIMEDOUT, True)
    assert h.s.flight() == 0 and not h.s.has_rtx()
    f = h.s.forward_tsn()
    assert f == w.ForwardTsnChunk(h.tsn(0), ((1, 0),))
    # the peer follows the FORWARD TSN: its SACK ends the matter
    assert h.sack(0) is not None
    assert h.s.idle and not h.s.forward_tsn_pending()
    check_invariants(h.s)


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_max_retransmissions_limit_abandons(limit: int) -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"r" * 50, max_rtx=limit)
    h.send(now=0.0)
    retransmissions = 0
    for k in range(1, 10):
        h.s.on_t3(IP)
        retransmissions += len(h.s.take_retransmissions(IP, 1460, float(k), False))
    assert retransmissions == limit
    [(m, err)] = h.failed
    assert err == errno.ETIMEDOUT and m.abandoned
    assert h.s.forward_tsn() == w.ForwardTsnChunk(h.tsn(0), ((0, 0),))


def test_forward_tsn_reports_highest_abandoned_ssn_per_ordered_stream() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"A", stream=0, ttl=1.0)
    h.put(b"B", stream=0, ttl=1.0)
    h.put(b"C", stream=2, ttl=1.0)
    h.put(b"D", stream=3, ttl=1.0, unordered=True)
    h.put(b"E", stream=0)  # reliable: the ack point stops before it
    h.put(b"F", stream=1, ttl=1.0)
    h.send(now=0.0)
    h.s.on_t3(IP)
    rtx = h.s.take_retransmissions(IP, 1460, 2.0, False)
    assert [c.user_data for c in rtx] == [b"E"]
    assert sorted(m.data for m, _ in h.failed) == [b"A", b"B", b"C", b"D", b"F"]
    f = h.s.forward_tsn()
    # new cum TSN: D's (E is not abandoned); streams: the highest SSN per ordered stream
    # among the abandoned messages, unordered D left out (F lies beyond E but is listed)
    assert f is not None and f.new_cum_tsn == h.tsn(3)
    assert dict(f.streams)[0] == 1 and dict(f.streams)[2] == 0
    assert 3 not in dict(f.streams)
    # once E is acknowledged the point moves over F as well (C1, C2)
    assert h.sack(4) is not None
    f = h.s.forward_tsn()
    assert f is not None and f.new_cum_tsn == h.tsn(5) and dict(f.streams)[1] == 0


def test_abandoning_one_fragment_abandons_the_whole_message() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"m" * 500, stream=0, ttl=1.0, payload=100)  # five fragments
    h.put(b"after", stream=0)
    sent = h.send(now=0.0, room=2 * chunk_size(100))
    assert len(sent) == 2
    h.s.on_t3(IP)
    assert h.s.take_retransmissions(IP, 1460, 1.5, False) == []
    assert len(h.failed) == 1  # one message, reported once
    assert h.s.queued_bytes == len(b"after")
    rest = h.send(now=1.5)
    assert [(c.user_data, c.ssn, c.tsn) for c in rest] == [(b"after", 1, h.tsn(2))]
    f = h.s.forward_tsn()
    assert f == w.ForwardTsnChunk(h.tsn(1), ((0, 0),))
    check_invariants(h.s)


def test_expired_unsent_message_takes_no_ssn_and_no_tsn() -> None:
    h = Harness()
    h.put(b"stale", stream=0, ttl=0.5, context=9)
    h.put(b"fresh", stream=0)
    [c] = h.send(now=1.0)
    assert (c.user_data, c.ssn, c.tsn) == (b"fresh", 0, h.tsn(0))
    [(m, err)] = h.failed
    assert (m.data, err, m.sent, m.context) == (b"stale", errno.ETIMEDOUT, False, 9)
    assert h.s.forward_tsn() is None  # nothing on the wire to skip
    assert h.s.queued_bytes == 0


def test_without_pr_sctp_an_outstanding_message_is_never_abandoned() -> None:
    h = Harness(pr=False)
    h.open_cwnd()
    h.put(b"keep", ttl=0.1, max_rtx=0)
    h.send(now=0.0)
    for k in range(1, 4):
        h.s.on_t3(IP)
        assert len(h.s.take_retransmissions(IP, 1460, float(k), False)) == 1
    assert h.failed == [] and h.s.forward_tsn() is None


# ----- giving up -----


def test_fail_all_hands_back_every_unacked_message_exactly_once() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"expires", ttl=0.1, context=6)  # idx 0
    h.put(b"acked", context=0)  # idx 1
    h.put(b"p" * 300, payload=100, context=1)  # idx 2-4, the first fragment gets acked
    h.put(b"outstanding", context=3)  # idx 5
    h.put(b"q" * 300, payload=100, context=4)  # idx 6 sent, 7-8 queued
    h.put(b"queued", context=5)
    room = sum(c.size for c in list(h.s.pending)[:7])
    assert len(h.send(now=0.0, room=room)) == 7
    h.s.on_t3(IP)
    h.s.take_retransmissions(IP, 1 << 20, 1.0, False)  # "expires" is abandoned here
    assert [(m.context, e) for m, e in h.failed] == [(6, errno.ETIMEDOUT)]
    assert h.sack(2) is not None
    h.failed.clear()
    h.s.fail_all(errno.ECONNRESET)
    got = sorted((m.context, e, m.sent) for m, e in h.failed)
    assert got == [(1, errno.ECONNRESET, True), (3, errno.ECONNRESET, True),
                   (4, errno.ECONNRESET, True), (5, errno.ECONNRESET, False)]  # fmt: skip
    assert h.s.idle and h.s.flight() == 0 and all(t.flight == 0 for t in h.s.tx.values())
    h.s.fail_all(errno.ECONNRESET)
    assert len(h.failed) == 4  # a second call hands back nothing more


# ----- through the Endpoint: crafted packets -----

L1 = "198.18.1.1"
CPORT, SPORT = 40000, 5000
PEER_TAG = 0x0BADCAFE
PEER_TSN = 7000


class Peer:
    """A client Endpoint whose association is set up by hand-made INIT ACK and COOKIE ACK."""

    def __init__(
        self, mis: int = 5, rwnd: int = 1 << 20, send_early: bool = False, nodelay: bool = False
    ) -> None:
        cfg = Config(init_stagger=0, nodelay=nodelay)
        self.ep = Endpoint(CPORT, [L1], rng=random.Random(7), config=cfg)
        self.aid = self.ep.connectx([(IP, SPORT)], 0.0)
        [(data, _s, _d)] = self.ep.datagrams_to_send(0.0)
        init = w.decode_packet(data).chunks[0]
        assert isinstance(init, w.InitChunk)
        self.tag, self.itsn = init.initiate_tag, init.initial_tsn
        if send_early:
            self.ep.send(self.aid, b"early", 0.001, stream=7)  # ok for our 10 streams
        ack = w.InitAckChunk(PEER_TAG, rwnd, 5, mis, PEER_TSN, (w.StateCookieParam(b"C" * 40),))
        self.feed([ack], now=0.02)
        self.feed([w.CookieAckChunk()], now=0.04)
        assert self.ep.association(self.aid).state is State.ESTABLISHED
        self.setup_events = self.events()

    def feed(self, chunks: list[w.Chunk], now: float) -> list[w.Packet]:
        data = w.encode_packet(w.Packet(SPORT, CPORT, self.tag, chunks))
        self.ep.receive(data, (IP, 9899), (L1, 9899), now)
        return self.out(now)

    def out(self, now: float) -> list[w.Packet]:
        return [w.decode_packet(d) for d, _s, _dst in self.ep.datagrams_to_send(now)]

    def events(self) -> list[Event]:
        out = []
        while (e := self.ep.next_event()) is not None:
            out.append(e)
        return out


def data_chunks(packets: list[w.Packet]) -> list[w.DataChunk]:
    return [c for p in packets for c in p.chunks if isinstance(c, w.DataChunk)]


def test_endpoint_fragments_to_the_path_mtu() -> None:
    p = Peer()
    msg = random.Random(1).randbytes(5000)
    p.ep.send(p.aid, msg, 0.1, stream=3, ppid=9)
    pkts = p.out(0.1)
    while len(data_chunks(pkts)) < 4:  # the initial cwnd holds three full chunks
        last = data_chunks(pkts)[-1].tsn
        pkts += p.feed([w.SackChunk(last, 1 << 20)], now=0.2)
    chunks = data_chunks(pkts)
    assert [len(c.user_data) for c in chunks] == [1444, 1444, 1444, 668]
    assert [c.tsn for c in chunks] == [(p.itsn + i) & MASK for i in range(4)]
    assert [(c.beginning, c.ending) for c in chunks] == [(True, False), (False, False),
                                                         (False, False), (False, True)]  # fmt: skip
    assert {(c.stream_id, c.ssn, c.ppid) for c in chunks} == {(3, 0, 9)}
    assert all(len(w.encode_packet(pk)) <= 1472 for pk in pkts)  # 1500 - IPv4 - UDP


def test_endpoint_send_rejects_bad_streams_and_empty_messages() -> None:
    p = Peer(mis=5)  # outbound streams: min(10 of ours, 5 of the peer's)
    for stream, data in ((5, b"x"), (65535, b"x"), (-1, b"x"), (0, b"")):
        with pytest.raises(OSError) as exc:
            p.ep.send(p.aid, data, 0.1, stream=stream)
        assert exc.value.errno == errno.EINVAL
    assert p.out(0.1) == []
    p.ep.send(p.aid, b"fine", 0.1, stream=4)
    [c] = data_chunks(p.out(0.1))
    assert (c.stream_id, c.ssn, c.tsn) == (4, 0, p.itsn)


def test_message_queued_before_setup_on_a_stream_the_peer_refuses_is_handed_back() -> None:
    p = Peer(mis=5, send_early=True)  # stream 7, fine for our 10, beyond the peer's 5
    evs = [e for e in p.setup_events + p.events() if isinstance(e, SendFailed)]
    assert [e.data for e in evs] == [b"early"]


def test_endpoint_survives_hostile_sacks_and_recovers() -> None:
    p = Peer(nodelay=True)
    for i in range(3):
        p.ep.send(p.aid, bytes([i]) * 1000, 0.1)
    assert len(data_chunks(p.out(0.1))) == 3
    t = p.itsn
    hostile = [
        w.SackChunk((t + 100) & MASK, 1 << 20),  # beyond what was sent
        w.SackChunk((t + (1 << 31)) & MASK, MASK),
        w.SackChunk((t - 1) & MASK, 0, ((3, 1), (2, 2), (65535, 65535))),
        w.SackChunk((t - 1) & MASK, 0, tuple((i, i) for i in range(1, 16000))),
        w.SackChunk((t - 1) & MASK, MASK, ((1, 65535),), tuple(range(200))),
        w.SackChunk((t - 5) & MASK, 0),
    ]
    now = 0.15
    for sack in hostile:
        now += 0.01
        p.feed([sack], now)
        assert p.ep.association(p.aid).state is State.ESTABLISHED
        check_invariants(p.ep.association(p.aid).data.sender)  # type: ignore[union-attr]
    p.feed([w.SackChunk((t + 2) & MASK, 1 << 20)], now + 0.01)
    evs = p.events()
    assert any(isinstance(e, SenderDry) for e in evs)
    assert not any(isinstance(e, (SendFailed, DataReceived)) for e in evs)
