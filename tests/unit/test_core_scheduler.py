"""The stream schedulers of RFC 8260 §3 on controlled queues (core.scheduler, through the
Sender): the order each one gives, with DATA (switching only at message boundaries, RFC
9260 §6.9) and with I-DATA (switching after any chunk), and their settings' errors."""

from __future__ import annotations

import errno

import pytest

from sctpx import wire as w
from sctpx.core import Config
from sctpx.core.config import check_config
from sctpx.core.errors import UsageError
from sctpx.core.path import Path
from sctpx.core.scheduler import SCHEDULERS
from sctpx.core.sender import Sender

IP = "198.18.1.2"
B, E = w.FLAG_BEGIN, w.FLAG_END


def sender(scheduler: str, interleaving: bool = False, streams: int = 4) -> Sender:
    cfg = Config(stream_scheduler=scheduler)
    paths = {IP: Path(IP, 9899, cfg, confirmed=True, listed=True)}
    s = Sender(1000, streams, 1 << 24, cfg, paths, True, lambda m, e: None, interleaving)
    s.path_tx(IP).cc.cwnd = 1 << 30
    return s


def put(s: Sender, tag: bytes, stream: int, frags: int = 1, unordered: bool = False) -> None:
    """A message of ``frags`` fragments of 100 bytes, each starting with ``tag``."""
    data = b"".join(tag + bytes([i]) * 98 + b"." for i in range(frags))
    s.enqueue(data, stream, 0, unordered, 0, None, None, 0.0, 100)


def order(s: Sender, room: int = 1 << 30, calls: int = 1) -> list[str]:
    out = []
    for _ in range(calls):
        out += [c.user_data[:1].decode() for c in s.take_new(IP, room, 0.0)]
    return out


def standard(s: Sender) -> None:
    put(s, b"A", 0, frags=3)
    put(s, b"B", 0)
    put(s, b"C", 1)
    put(s, b"D", 1)
    put(s, b"E", 2)


def test_fcfs_keeps_the_users_order_whatever_the_stream() -> None:  # §3.1
    for il in (False, True):
        s = sender("fcfs", il)
        put(s, b"A", 2, frags=2)
        put(s, b"B", 0)
        put(s, b"C", 2)
        put(s, b"D", 1)
        assert order(s) == ["A", "A", "B", "C", "D"]


def test_round_robin_takes_one_message_per_turn_without_i_data() -> None:  # §3.2
    s = sender("rr")
    standard(s)
    assert order(s) == ["A", "A", "A", "C", "E", "B", "D"]


def test_round_robin_takes_one_chunk_per_turn_with_i_data() -> None:  # §3.2, RFC 8260 §2.2.2
    s = sender("rr", interleaving=True)
    standard(s)
    # A's fragments interleave with other streams' messages, never with B (same stream).
    assert order(s) == ["A", "C", "E", "A", "D", "A", "B"]


def test_without_i_data_fragments_take_consecutive_tsns_whatever_the_scheduler() -> None:
    for name in SCHEDULERS:
        s = sender(name)
        put(s, b"A", 0, frags=4)
        put(s, b"C", 1, frags=3)
        put(s, b"E", 2)
        if name in ("prio", "wfq"):
            s.pending.set_value(2, 1)  # something to prefer it for: never mid-message
        got = order(s, calls=10, room=250)
        runs = "".join(got)
        assert runs.count("AAAA") == 1 and runs.count("CCC") == 1, (name, runs)  # §6.9


def test_round_robin_per_packet_fills_a_packet_from_one_stream() -> None:  # §3.3
    s = sender("rr_pkt")
    put(s, b"A", 0)
    put(s, b"B", 0)
    put(s, b"C", 1)
    put(s, b"D", 2)
    put(s, b"F", 2)
    packets = [order(s) for _ in range(4)]
    assert sorted(map(tuple, packets)) == [(), ("A", "B"), ("C",), ("D", "F")]
    assert packets[-1] == []  # all sent in three packets, one stream each


def test_round_robin_per_packet_without_i_data_finishes_a_message_first() -> None:
    s = sender("rr_pkt")
    put(s, b"A", 0, frags=3)
    put(s, b"C", 1)
    first = order(s, room=240)  # two fragments fit
    second = order(s, room=240)  # the next packet: A's last before stream 1's turn
    assert first == ["A", "A"] and second == ["A"]
    assert order(s) == ["C"]


def test_priority_lower_value_first_equal_ones_in_turn() -> None:  # §3.4
    s = sender("prio")
    s.pending.set_value(0, 5)
    s.pending.set_value(1, 1)
    s.pending.set_value(2, 1)
    standard(s)
    put(s, b"F", 2)
    assert order(s) == ["C", "E", "D", "F", "A", "A", "A", "B"]
    assert s.pending.value(0) == 5 and s.pending.value(3) == 0


@pytest.mark.parametrize("interleaving", [False, True])
def test_priority_a_new_urgent_message_overtakes_a_large_one(interleaving: bool) -> None:
    s = sender("prio", interleaving)
    s.pending.set_value(1, 0)
    s.pending.set_value(0, 9)
    put(s, b"A", 0, frags=5)
    got = order(s, room=120)  # one fragment of A goes
    put(s, b"U", 1)  # then an urgent message on stream 1
    got += order(s, calls=10, room=120)
    # With I-DATA it goes next; without, after A's last fragment (§6.9).
    assert got == (["A", "U", "A", "A", "A", "A"] if interleaving else ["A"] * 5 + ["U"])


def test_wfq_shares_bytes_by_weight() -> None:  # §3.6
    s = sender("wfq", interleaving=True)
    s.pending.set_value(0, 1)
    s.pending.set_value(1, 3)
    for _ in range(40):
        put(s, b"L", 0)
        put(s, b"H", 1)
    first = order(s, room=120 * 40)  # 40 chunks while both streams have plenty
    assert abs(first.count("H") - 3 * first.count("L")) <= 2, first
    rest = order(s, calls=20)
    assert sorted(first + rest) == sorted(["L"] * 40 + ["H"] * 40)


def test_wfq_without_i_data_weighs_whole_messages() -> None:
    s = sender("wfq")
    s.pending.set_value(1, 2)
    put(s, b"L", 0, frags=4)  # 400 bytes at weight 1
    put(s, b"S", 1)
    put(s, b"T", 1)  # 100 bytes each at weight 2: both finish before L would
    assert order(s) == ["S", "T", "L", "L", "L", "L"]


def test_switching_scheduler_mid_message_finishes_the_message_first() -> None:
    s = sender("fcfs")
    put(s, b"A", 0, frags=3)
    put(s, b"C", 1)
    assert order(s, room=120) == ["A"]
    s.pending.set_scheduler("rr")
    assert order(s) == ["A", "A", "C"]
    s.pending.set_scheduler("fcfs")
    put(s, b"X", 3)
    put(s, b"Y", 2)
    assert order(s) == ["X", "Y"]


def test_scheduler_settings_refuse_bad_values() -> None:
    s = sender("rr")
    for bad in ("nope", "", "FCFS"):
        with pytest.raises(UsageError) as exc:
            s.pending.set_scheduler(bad)
        assert exc.value.errno == errno.EINVAL
    with pytest.raises(UsageError):
        s.pending.set_value(0, 1)  # rr has no per-stream value (RFC 8260 §4.3.3)
    s.pending.set_scheduler("prio")
    for value in (-1, 65536):
        with pytest.raises(UsageError):
            s.pending.set_value(0, value)
    s.pending.set_scheduler("wfq")
    with pytest.raises(UsageError):
        s.pending.set_value(0, 0)  # a weight of 0 would starve the stream
    assert s.pending.value(0) == 1  # wfq's default weight
    with pytest.raises(UsageError) as exc:
        check_config(Config(stream_scheduler="fair"))
    assert exc.value.errno == errno.EINVAL
    for name in SCHEDULERS:
        check_config(Config(stream_scheduler=name))


def test_abandoning_a_queued_message_keeps_the_schedule_going() -> None:
    s = sender("rr", interleaving=True)
    put(s, b"C", 1, frags=2)
    s.enqueue(b"a" * 300, 0, 0, False, 0, 0.5, None, 0.0, 100)  # expires at 0.5, unsent
    put(s, b"D", 0)
    assert order(s, room=120) == ["C"]
    out = s.take_new(IP, 1 << 20, 1.0)  # "a" is past its lifetime: dropped, never sent
    assert [c.user_data[:1] for c in out] == [b"D", b"C"]
    assert [c.mid for c in out if isinstance(c, w.IDataChunk)] == [0, 0]  # no MID hole
    assert len(s.pending) == 0 and s.queued_bytes == 0
