"""I-DATA and I-FORWARD-TSN in the sans-IO pieces (RFC 8260 §2.1, §2.2, §2.3.1): the
sender's MIDs, FSNs and PPIDs, the I-FORWARD-TSN it builds, and the receiver's reassembly
by (stream, U, MID) and FSN, ordering by MID, partial delivery and I-FORWARD-TSN."""

from __future__ import annotations

from sctpx import wire as w
from sctpx.core import Config
from sctpx.core.path import Path
from sctpx.core.receiver import DataVerdict, ReceivedMessage, Receiver
from sctpx.core.sender import Sender

IP = "198.18.1.2"
B, E, U = w.FLAG_BEGIN, w.FLAG_END, w.FLAG_UNORDERED
MASK = 0xFFFFFFFF


def sender(scheduler: str = "rr") -> Sender:
    cfg = Config(stream_scheduler=scheduler)
    paths = {IP: Path(IP, 9899, cfg, confirmed=True, listed=True)}
    s = Sender(50, 4, 1 << 24, cfg, paths, True, lambda m, e: None, True)
    s.path_tx(IP).cc.cwnd = 1 << 30
    return s


def take(s: Sender, now: float = 0.0) -> list[w.IDataChunk]:
    out = s.take_new(IP, 1 << 30, now)
    assert all(isinstance(c, w.IDataChunk) for c in out)
    return [c for c in out if isinstance(c, w.IDataChunk)]


# ----- the sender -----


def test_mids_count_per_stream_ordered_and_unordered_apart() -> None:  # §2.1
    s = sender("fcfs")
    for stream, unordered in [(0, False), (0, True), (1, False), (0, False), (0, True)]:
        s.enqueue(b"m", stream, 7, unordered, 0, None, None, 0.0, 1000)
    got = [(c.stream_id, bool(c.flags & U), c.mid) for c in take(s)]
    assert got == [(0, False, 0), (0, True, 0), (1, False, 0), (0, False, 1), (0, True, 1)]


def test_fragments_carry_the_ppid_first_then_the_fsn() -> None:  # §2.1
    s = sender()
    s.enqueue(bytes(range(250)), 2, 0xABCD, False, 0, None, None, 0.0, 100)
    chunks = take(s)
    assert [c.flags & (B | E) for c in chunks] == [B, 0, E]
    assert [c.ppid_or_fsn for c in chunks] == [0xABCD, 1, 2]
    assert {c.mid for c in chunks} == {0}
    assert [c.tsn for c in chunks] == [50, 51, 52]
    assert b"".join(c.user_data for c in chunks) == bytes(range(250))
    assert all(len(c.value()) + 4 <= 20 + 100 for c in chunks)  # a 20-byte header


def test_a_reset_restarts_both_mid_counters() -> None:  # §2.3.2
    s = sender("fcfs")
    for u in (False, True):
        s.enqueue(b"x", 1, 0, u, 0, None, None, 0.0, 1000)
    take(s)
    s.reset_streams((1,))
    for u in (False, True):
        s.enqueue(b"y", 1, 0, u, 0, None, None, 0.0, 1000)
    assert [c.mid for c in take(s)] == [0, 0]


def test_abandoned_messages_give_an_i_forward_tsn_with_their_mids() -> None:  # §2.3.1
    s = sender("fcfs")
    s.enqueue(b"a" * 300, 0, 0, False, 0, None, 0, 0.0, 100)  # ordered, 3 fragments
    s.enqueue(b"b", 0, 0, True, 0, None, 0, 0.0, 100)  # unordered
    s.enqueue(b"c", 1, 0, False, 0, None, 0, 0.0, 100)
    first = take(s)
    assert len(first) == 5
    s.on_t3(IP)  # everything marked; max_rtx 0: abandoned when due to go again
    assert s.take_retransmissions(IP, 1 << 20, 1.0, False) == []
    f = s.forward_tsn()
    assert isinstance(f, w.IForwardTsnChunk)
    assert f.new_cum_tsn == 54
    assert f.entries == ((0, False, 0), (0, True, 0), (1, False, 0))
    w.IForwardTsnChunk.from_value(0, f.value())  # encodable


# ----- the receiver -----


def idata(
    tsn: int, sid: int, mid: int, fsn_or_ppid: int, data: bytes, flags: int = B | E
) -> w.IDataChunk:
    return w.IDataChunk(tsn & MASK, sid, mid, fsn_or_ppid, data, flags)


def rx(**kw: int) -> Receiver:
    return Receiver(100, 4, interleaving=True, **kw)


def feed(r: Receiver, *chunks: w.IDataChunk) -> list[ReceivedMessage]:
    for c in chunks:
        r.on_idata(c, 0.0)
    r.on_packet_done(0.0)
    r.check_invariants()
    out = r.pop_messages()
    r.consumed(sum(len(m.data) for m in out))
    return out


def test_reassembly_by_mid_and_fsn_whatever_the_tsns() -> None:  # §2.2.3
    r = rx()
    # Two messages of two streams, their fragments interleaved and out of FSN order.
    got = feed(
        r,
        idata(101, 1, 0, 9, b"X", B),
        idata(100, 0, 0, 5, b"a", B),
        idata(103, 0, 0, 2, b"c", E),
        idata(102, 1, 0, 1, b"Y", E),
        idata(104, 0, 0, 1, b"b", 0),
    )
    assert [(m.stream_id, m.data, m.ppid, m.tsn) for m in got] == [
        (1, b"XY", 9, 101), (0, b"abc", 5, 100)
    ]  # fmt: skip
    assert r.cum_tsn == 104 and r.buffered == 0


def test_ordered_delivery_by_mid_per_stream_unordered_at_once() -> None:
    r = rx()
    got = feed(r, idata(100, 0, 1, 0, b"second"), idata(101, 0, 0, 0, b"u", B | E | U))
    assert [m.data for m in got] == [b"u"]  # MID 1 waits for MID 0
    got = feed(r, idata(102, 0, 0, 0, b"first"))
    assert [(m.data, m.ssn) for m in got] == [(b"first", 0), (b"second", 1)]
    assert r._idata is not None and r._idata.next_mid(0) == 2


def test_mids_wrap_with_serial_arithmetic() -> None:  # §2.1: RFC 1982, 32 bits
    r = rx()
    assert r._idata is not None
    r._idata._next_mid[0] = MASK
    got = feed(r, idata(100, 0, 0, 0, b"after"), idata(101, 0, MASK, 0, b"last"))
    assert [m.data for m in got] == [b"last", b"after"]
    got = feed(r, idata(102, 0, MASK - 5, 0, b"old"))  # behind: a peer error, dropped
    assert got == [] and r.buffered == 0


def test_duplicates_and_repeated_fsns_change_nothing() -> None:
    r = rx()
    assert r.on_idata(idata(100, 0, 0, 0, b"a", B), 0.0) is DataVerdict.NEW
    assert r.on_idata(idata(100, 0, 0, 0, b"a", B), 0.0) is DataVerdict.DUPLICATE
    assert r.on_idata(idata(101, 0, 0, 0, b"again", B), 0.0) is DataVerdict.NEW
    got = feed(r, idata(102, 0, 0, 1, b"b", E))
    assert [m.data for m in got] == [b"ab"]
    assert r.buffered == 0  # the repeated FSN 0 was not kept


def test_i_forward_tsn_drops_partials_skips_mids_and_delivers_what_waited() -> None:
    r = rx()
    feed(
        r,
        idata(101, 0, 0, 0, b"part", B),  # MID 0 of stream 0: its rest abandoned
        idata(103, 0, 1, 0, b"next"),  # MID 1 complete, waits for MID 0
        idata(104, 2, 3, 0, b"u-part", B | U),  # unordered MID 3 of stream 2, abandoned
    )
    fwd = w.IForwardTsnChunk(102, ((0, False, 0), (2, True, 3)))
    r.on_iforward_tsn(fwd, 0.0)
    r.check_invariants()
    got = r.pop_messages()
    assert [(m.stream_id, m.data) for m in got] == [(0, b"next")]
    assert r.cum_tsn == 104 and r.buffered == len(b"next")
    assert r.stats.discarded_partials == 2
    assert r.sack_now


def test_a_partial_delivery_ended_by_i_forward_tsn_is_reported() -> None:
    r = rx(buffer_limit=3000)
    chunks = [idata(100 + i, 1, 0, i if i else 0, bytes([65 + i]) * 400, B if i == 0 else 0)
              for i in range(6)]  # fmt: skip
    got = feed(r, *chunks)  # 2400 bytes of a message larger than the buffer: in parts
    assert got and not got[0].complete and got[0].stream_id == 1
    assert b"".join(m.data for m in got) == b"".join(c.user_data for c in chunks)
    r.on_iforward_tsn(w.IForwardTsnChunk(110, ((1, False, 0),)), 0.0)
    assert r.take_pd_aborted() == [(1, 0)]
    r.check_invariants()
    assert r.buffered == 0
    got = feed(r, idata(111, 1, 1, 0, b"next"))
    assert [m.data for m in got] == [b"next"]


def test_other_streams_are_delivered_between_the_parts_of_a_large_message() -> None:
    r = rx(buffer_limit=3000)
    big = [idata(100 + i, 1, 0, 0 if i == 0 else i, b"z" * 400, B if i == 0 else 0)
           for i in range(5)]  # fmt: skip
    parts = feed(r, *big)
    assert parts and not parts[-1].complete
    got = feed(r, idata(105, 2, 0, 0, b"small"), idata(106, 1, 0, 5, b"end", E))
    assert [(m.stream_id, m.complete) for m in got] == [(2, True), (1, True)]
    assert got[-1].data == b"end"


def test_invalid_stream_and_empty_chunks_get_their_verdicts() -> None:
    r = rx()
    assert r.on_idata(idata(100, 9, 0, 0, b"x"), 0.0) is DataVerdict.INVALID_STREAM
    assert r.on_idata(idata(101, 0, 0, 0, b""), 0.0) is DataVerdict.NO_USER_DATA
    assert r.cum_tsn == 100  # the data path answers these with ERROR and ABORT chunks
