"""I-DATA fragment numbering (Config.idata_fsn, core.ireassembly's module note): RFC 8260
§2.1 counts from the B fragment (B = 0, then 1, 2, ...), Linux 6.1 sends B, then 0, 1, ...
The sender numbers per the setting; the receiver takes either, whatever the order the
fragments arrive in, and never delivers a message short of the fragment Linux numbers 0."""

from __future__ import annotations

import errno
import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sctpx import wire as w
from sctpx.core import Config
from sctpx.core.config import check_config
from sctpx.core.errors import UsageError
from sctpx.core.path import Path
from sctpx.core.receiver import DataVerdict, ReceivedMessage, Receiver
from sctpx.core.sender import Sender

IP = "198.18.1.2"
B, E, U = w.FLAG_BEGIN, w.FLAG_END, w.FLAG_UNORDERED
MASK = 0xFFFFFFFF
PPID = 0xABCD


# ----- the setting -----


def test_idata_fsn_takes_auto_rfc_or_linux_else_einval() -> None:
    assert Config().idata_fsn == "auto"
    for ok in ("auto", "rfc", "linux"):
        check_config(Config(idata_fsn=ok))
    with pytest.raises(UsageError) as e:
        check_config(Config(idata_fsn="bsd"))
    assert e.value.errno == errno.EINVAL


# ----- the sender -----


def sender(fsn: str) -> Sender:
    cfg = Config(stream_scheduler="fcfs", idata_fsn=fsn)
    paths = {IP: Path(IP, 9899, cfg, confirmed=True, listed=True)}
    s = Sender(50, 4, 1 << 24, cfg, paths, True, lambda m, e: None, True)
    s.path_tx(IP).cc.cwnd = 1 << 30
    return s


def take(s: Sender, room: int = 1 << 30) -> list[w.IDataChunk]:
    out = s.take_new(IP, room, 0.0)
    return [c for c in out if isinstance(c, w.IDataChunk)]


def fields(chunks: list[w.IDataChunk]) -> list[int]:
    return [c.ppid_or_fsn for c in chunks]


@pytest.mark.parametrize(("mode", "want"), [("rfc", [PPID, 1, 2, 3]), ("auto", [PPID, 1, 2, 3]),
                                            ("linux", [PPID, 0, 1, 2])])  # fmt: skip
def test_the_sender_numbers_fragments_per_the_setting(mode: str, want: list[int]) -> None:
    s = sender(mode)
    s.enqueue(bytes(400), 1, PPID, False, 0, None, None, 0.0, 100)
    chunks = take(s)
    assert [c.flags & (B | E) for c in chunks] == [B, 0, 0, E]
    assert fields(chunks) == want


def test_auto_follows_linux_for_messages_first_sent_after_it_is_seen() -> None:
    s = sender("auto")
    s.enqueue(b"small", 0, PPID, False, 0, None, None, 0.0, 100)  # one chunk: no FSN
    s.enqueue(bytes(300), 1, PPID, False, 0, None, None, 0.0, 100)  # queued, not yet sent
    assert fields(take(s, room=40)) == [PPID]
    s.follow_linux_fsn()
    s.enqueue(bytes(300), 2, PPID, True, 0, None, None, 0.0, 100)  # queued after
    assert [(c.stream_id, c.ppid_or_fsn) for c in take(s)] == [
        (1, PPID), (1, 0), (1, 1),
        (2, PPID), (2, 0), (2, 1),
    ]  # fmt: skip


def test_auto_keeps_the_rfc_numbering_once_a_fragmented_message_went() -> None:
    s = sender("auto")
    s.enqueue(bytes(300), 0, PPID, False, 0, None, None, 0.0, 100)
    assert fields(take(s, room=2 * 120)) == [PPID, 1]  # begun: the peer has seen FSN 1
    s.follow_linux_fsn()
    s.enqueue(bytes(300), 1, PPID, False, 0, None, None, 0.0, 100)
    assert [(c.stream_id, c.ppid_or_fsn) for c in take(s)] == [
        (0, 2), (1, PPID), (1, 1), (1, 2)
    ]  # fmt: skip


def test_rfc_and_linux_do_not_follow_the_peer() -> None:
    for mode, want in (("rfc", [PPID, 1]), ("linux", [PPID, 0])):
        s = sender(mode)
        s.follow_linux_fsn()
        s.enqueue(bytes(200), 0, PPID, False, 0, None, None, 0.0, 100)
        assert fields(take(s)) == want


# ----- the receiver -----


def frags(tsn: int, sid: int, mid: int, data: bytes, n: int, linux: bool,
          flags: int = 0) -> list[w.IDataChunk]:  # fmt: skip
    """``data`` in ``n`` fragments with consecutive TSNs, numbered the RFC or Linux way."""
    size = -(-len(data) // n)
    out = []
    for i in range(n):
        f = flags | (B if i == 0 else 0) | (E if i == n - 1 else 0)
        pf = PPID if i == 0 else (i - 1 if linux else i)
        out.append(w.IDataChunk((tsn + i) & MASK, sid, mid, pf, data[i * size : (i + 1) * size], f))
    return out


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


def numbering(r: Receiver) -> str:
    assert r._idata is not None
    return r._idata.peer_fsn


DATA = bytes(range(256)) * 4  # 1 KB, every fragment different


@pytest.mark.parametrize("linux", [False, True])
def test_either_numbering_in_order_whole_and_recognised(linux: bool) -> None:
    r = rx()
    got = feed(r, *frags(100, 1, 0, DATA, 4, linux))
    assert [(m.stream_id, m.ppid, m.data, m.tsn) for m in got] == [(1, PPID, DATA, 100)]
    assert numbering(r) == ("linux" if linux else "rfc")
    assert r.buffered == 0
    # and the next message, numbered the same way, straight through
    assert [m.data for m in feed(r, *frags(104, 1, 1, DATA[:500], 3, linux))] == [DATA[:500]]


@pytest.mark.parametrize("linux", [False, True])
def test_either_numbering_in_any_order(linux: bool) -> None:
    chunks = frags(100, 0, 0, DATA, 4, linux)
    for order in itertools.permutations(chunks):
        r = rx()
        got = [m for c in order for m in feed(r, c)]
        assert [m.data for m in got] == [DATA], [c.tsn for c in order]
        assert numbering(r) == ("linux" if linux else "rfc")


def test_linux_fsn_0_lost_and_retransmitted_last_the_message_waits_for_it() -> None:
    r = rx()
    b, f0, f1, f2 = frags(100, 0, 0, DATA, 4, linux=True)
    # B, 1, 2 (E) alone look like a whole message the RFC's way: it must not go out.
    assert feed(r, b, f1, f2) == []
    assert numbering(r) == ""
    got = feed(r, f0)  # the retransmission
    assert [m.data for m in got] == [DATA]
    assert numbering(r) == "linux"


def test_linux_fsn_0_lost_several_messages_interleaved() -> None:
    r = rx()
    m0 = frags(100, 0, 0, DATA, 3, linux=True)  # TSNs 100-102
    m1 = frags(103, 1, 0, DATA[::-1], 3, linux=True)  # 103-105
    order = [m0[0], m1[0], m0[2], m1[2], m1[1]]  # m0's FSN 0 (TSN 101) lost
    got = [m for c in order for m in feed(r, c)]
    assert [(m.stream_id, m.data) for m in got] == [(1, DATA[::-1])]  # m1 has its FSN 0
    assert [(m.stream_id, m.data) for m in feed(r, m0[1])] == [(0, DATA)]


def test_rfc_waits_while_a_tsn_between_b_and_fsn_1_is_missing_then_goes() -> None:
    r = rx()
    big = frags(100, 0, 0, DATA, 3, linux=False)
    small = w.IDataChunk(101, 1, 0, 7, b"small", B | E)
    b, f1, f2 = big
    f1 = w.IDataChunk(102, 0, 0, 1, f1.user_data, f1.flags)
    f2 = w.IDataChunk(103, 0, 0, 2, f2.user_data, f2.flags)
    # TSN 101 (another stream's) missing: it could be Linux's FSN 0, so no delivery yet
    assert feed(r, b, f1, f2) == []
    got = feed(r, small)
    assert [(m.stream_id, m.data) for m in got] == [(1, b"small"), (0, DATA)]
    assert numbering(r) == "rfc"


def test_once_rfc_is_known_a_fragment_numbered_0_is_a_peer_error() -> None:
    r = rx()
    feed(r, *frags(100, 0, 0, DATA, 2, linux=False))
    assert numbering(r) == "rfc"
    b = w.IDataChunk(102, 0, 1, PPID, b"a", B)
    assert r.on_idata(w.IDataChunk(103, 0, 1, 0, b"x", 0), 0.0) is DataVerdict.NEW
    got = feed(r, b, w.IDataChunk(104, 0, 1, 1, b"b", E))
    assert [m.data for m in got] == [b"ab"]
    assert r.buffered == 0 and numbering(r) == "rfc"


def test_the_linux_numbering_is_reported_once() -> None:
    r = rx()
    seen: list[int] = []
    r.on_peer_linux_fsn(lambda: seen.append(1))
    feed(r, *frags(100, 0, 0, DATA, 3, linux=True))
    feed(r, *frags(103, 0, 1, DATA, 3, linux=True))
    assert seen == [1]


def test_i_forward_tsn_over_the_gap_settles_the_numbering() -> None:
    r = rx()
    b, f1, f2 = frags(100, 0, 0, DATA, 3, linux=False)
    f1 = w.IDataChunk(102, 0, 0, 1, f1.user_data, f1.flags)
    f2 = w.IDataChunk(103, 0, 0, 2, f2.user_data, f2.flags)
    assert feed(r, b, f1, f2) == []  # TSN 101: stream 1's MID 0, abandoned by the peer
    r.on_iforward_tsn(w.IForwardTsnChunk(101, ((1, False, 0),)), 0.0)
    r.check_invariants()
    assert [m.data for m in r.pop_messages()] == [DATA]
    assert numbering(r) == "rfc"


def test_an_abandoned_message_does_not_settle_the_numbering() -> None:
    r = rx()
    m0 = frags(100, 0, 0, DATA, 3, linux=True)  # its FSN 0 (101) lost, then abandoned
    feed(r, m0[0], m0[2])
    r.on_iforward_tsn(w.IForwardTsnChunk(102, ((0, False, 0),)), 0.0)
    assert numbering(r) == "" and r.buffered == 0
    got = feed(r, *frags(103, 0, 1, DATA, 3, linux=True))
    assert [m.data for m in got] == [DATA] and numbering(r) == "linux"


@pytest.mark.parametrize("linux", [False, True])
def test_partial_delivery_with_either_numbering(linux: bool) -> None:
    r = rx(buffer_limit=3000)
    data = random.Random(1).randbytes(4000)
    chunks = frags(100, 1, 0, data, 10, linux)
    got = [m for c in chunks for m in feed(r, c)]
    assert len(got) > 1 and not got[0].complete and got[-1].complete
    assert b"".join(m.data for m in got) == data
    assert r.stats.partial_deliveries == 1


def test_partial_delivery_hands_out_only_b_while_the_numbering_is_unknown() -> None:
    r = rx(buffer_limit=3000)
    data = random.Random(2).randbytes(4000)
    chunks = frags(100, 1, 0, data, 10, linux=True)
    f0 = chunks.pop(1)  # Linux's FSN 0, lost
    got = feed(r, *chunks[:6])  # B and FSNs 1-5: more than half the buffer, in parts
    assert [m.data for m in got] == [chunks[0].user_data]  # B alone: the rest may be wrong
    assert not got[0].complete
    got += feed(r, f0)
    got += feed(r, *chunks[6:])
    assert got[-1].complete and b"".join(m.data for m in got) == data


# ----- a property: any arrival order, duplicates, a small buffer -----


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.integers(1, 8)), max_size=12),
    linux=st.booleans(),
    buffer=st.sampled_from([1500, 3000, 6000, 131072]),
)
def test_any_order_any_numbering_every_message_once_and_whole(
    seed: int, sizes: list[tuple[int, bool, int]], linux: bool, buffer: int
) -> None:
    """Messages (stream, U, fragments) whose chunks interleave in TSN order across
    streams, sent as the window allows (what is in flight, not yet received, counts
    against it) and arriving in random order with duplicates; what the receiver drops for
    want of room stays in flight and comes again, as a retransmission would.

    In the two smallest buffers only two streams: with four, fragments of four messages
    can fill 1,500 or 3,000 bytes with none complete and none at the partial delivery
    point, and the receiver stalls whatever the numbering (it did before the numbering
    was handled too; see IDataQueue.partial_delivery)."""
    rng = random.Random(seed)
    if buffer < 6000:
        sizes = [(sid % 2, u, n) for sid, u, n in sizes]
    mids: dict[tuple[int, bool], int] = {}
    queues: dict[int, list[w.IDataChunk]] = {}
    want = {}
    for i, (sid, unordered, n) in enumerate(sizes):
        mid = mids.get((sid, unordered), 0)
        mids[sid, unordered] = mid + 1
        data = i.to_bytes(2, "big") + rng.randbytes(n * 200 - 2)
        want[i] = (sid, data)
        queues.setdefault(sid, []).extend(frags(0, sid, mid, data, n, linux,
                                                U if unordered else 0))  # fmt: skip
    # TSNs given in a round robin of the streams, each sending its messages one after the
    # other (RFC 8260 §2.1: one message in fragments per stream at a time)
    chunks = []
    while any(queues.values()):
        for q in queues.values():
            if q:
                c = q.pop(0)
                chunks.append(w.IDataChunk(100 + len(chunks), c.stream_id, c.mid, c.ppid_or_fsn,
                                           c.user_data, c.flags))  # fmt: skip
    r = rx(buffer_limit=buffer)
    parts: dict[int, bytes] = {}
    got = []
    sent = 0
    for _ in range(500):
        flight = [c for c in chunks[:sent] if not r.tsn_map.seen(r.tsn_map.unwrap(c.tsn))]
        room = r.a_rwnd - sum(len(c.user_data) for c in flight)
        while sent < len(chunks) and (len(chunks[sent].user_data) <= room or not flight):
            room -= len(chunks[sent].user_data)
            flight.append(chunks[sent])
            sent += 1
        if not flight:
            break
        batch = rng.sample(flight, rng.randint(1, len(flight)))
        batch += rng.sample(chunks[:sent], min(sent, rng.randint(0, 2)))  # duplicates
        for m in feed(r, *batch):
            buf = parts.pop(m.stream_id, b"") + m.data
            if m.complete:
                got.append((m.stream_id, buf))
            else:
                parts[m.stream_id] = buf
    assert not parts
    assert sorted(got) == sorted(want.values())
    fragmented = any(n > 1 for _s, _u, n in sizes)
    assert numbering(r) == ("" if not fragmented else "linux" if linux else "rfc")
    assert r.buffered == 0
