"""The endpoint-level fuzzer (issue 16) with a fixed seed and a small count, in ``make test``.

Mutated real packets go into a listening endpoint, an established association that
keeps carrying data, and a client in set-up (tests/fuzz/fuzz_harness.py says how).
No exception may leave the core, what an endpoint holds stays bounded, and the
established association delivers every message intact, during and after. The long
run is ``make fuzz`` (10**6 packets, docs/fuzzing.md).

The last tests check the checks: the harness does report an exception out of the core,
and the main pair's delivery check does fail when a packet that may legitimately
change what is delivered is let through to it.
"""

from __future__ import annotations

import os
import random
import signal
import struct

import fuzz_harness as fh
import pytest

from sctpx import wire as w
from sctpx.core import State

SEED = 20261206
COUNTS = {"listener": 30_000, "established": 16_000, "client": 30_000}


def _run(name: str) -> fh.Report:
    report = fh.run(SEED, {name: COUNTS[name]})
    assert not report.found, "\n\n".join(str(f) for f in report.found[:5])
    assert report.packets[name] >= COUNTS[name] * 0.8
    return report


def test_listening_endpoint() -> None:
    r = _run("listener")
    # The mutants reached associations opened by live handshakes, not just the parser.
    assert r.stats["listener live handshakes"] > COUNTS["listener"] // 30
    assert r.stats["listener to an association"] > COUNTS["listener"] // 3
    assert r.stats["listener max associations"] >= 3


def test_established_association_keeps_delivering_intact() -> None:
    r = _run("established")
    # Every message of both ways arrived byte-identical, in order per stream (checked as
    # they arrive and at the end, by fh.Traffic); here: that there were many.
    assert r.stats["established messages A->B"] > 2000
    assert r.stats["established messages B->A"] > 2000
    assert r.stats["established to the main pair"] > COUNTS["established"] // 3
    assert r.stats["established mutants that decode"] > r.stats["established to the main pair"] // 3
    # ... and the forks took the rest: teardowns, restarts and collisions included.
    assert r.stats["established forks ended"] > 10
    assert r.stats["established collision cookies"] > 10


def test_client_in_setup() -> None:
    r = _run("client")
    assert r.stats["client packets in COOKIE_WAIT"] > COUNTS["client"] // 10
    assert r.stats["client packets in COOKIE_ECHOED"] > COUNTS["client"] // 10
    assert r.stats["client collision cookies"] > 20


@pytest.mark.parametrize("name", fh.TARGETS)
def test_memory_stays_bounded(name: str) -> None:
    """tracemalloc: what a target holds after N packets does not grow with N more."""
    first, second = fh.memory_growth(SEED + 1, name, 1500)
    assert second - first < 1_000_000, (first, second)


def test_mutants_reach_the_parsers() -> None:
    """With the CRC32c recomputed most mutants pass the checksum; many decode whole."""
    rng = random.Random(SEED)
    pool = [d for d, _ in fh.corpus()]
    decoded = bad_crc = 0
    for _ in range(3000):
        data = fh.finish(rng, fh.mutate(rng, rng.choice(pool), pool))
        try:
            w.decode_packet(data)
            decoded += 1
        except w.ChecksumError:
            bad_crc += 1
        except w.ParseError:
            pass
    assert bad_crc < 150 and decoded > 900, (bad_crc, decoded)


def test_corpus_has_every_kind_of_packet() -> None:
    kinds = {type(c) for d, _ in fh.corpus() for c in w.decode_packet(d).chunks}
    for k in (
        w.InitChunk, w.InitAckChunk, w.CookieEchoChunk, w.CookieAckChunk, w.DataChunk,
        w.SackChunk, w.HeartbeatChunk, w.HeartbeatAckChunk, w.ForwardTsnChunk, w.AbortChunk,
        w.ShutdownChunk, w.ShutdownAckChunk, w.ShutdownCompleteChunk, w.ErrorChunk,
    ):  # fmt: skip
        assert k in kinds, k
    sacks = [c for d, _ in fh.corpus() for c in w.decode_packet(d).chunks
             if isinstance(c, w.SackChunk)]  # fmt: skip
    assert any(c.gap_blocks for c in sacks) and any(c.dup_tsns for c in sacks)  # loss


def test_an_exception_out_of_the_core_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from sctpx.core import association

    def boom(self: object, *args: object) -> None:
        raise KeyError("planted")

    # SHUTDOWN: never in the main pair's real traffic; the fuzzer sends it to forks.
    monkeypatch.setitem(association._HANDLERS, w.ShutdownChunk, boom)
    report = fh.run(SEED, {"established": 400})
    assert report.found, "the planted KeyError was not reported"
    f = report.found[0]
    assert f.target == "established" and "planted" in f.error and "boom" in f.trace
    assert w.decode_packet(bytes.fromhex(f.input_hex))  # the input, to replay it


def _pair() -> fh.Pair:
    pair = fh.Pair(99)
    rng = random.Random(1)
    for _ in range(30):
        pair.send_one(rng)
        pair.wire.advance(pair.wire.now + 0.01)
        pair.events()
    return pair


def _forge(pair: fh.Pair, chunks: list[w.Chunk]) -> None:
    b = pair.assoc(pair.b)
    assert b is not None
    data = w.encode_packet(w.Packet(fh.CPORT, fh.SPORT, b.local_tag, chunks))
    pair.b.receive(data, (fh.C1, fh.UDP), (fh.S1, fh.UDP), pair.wire.now)
    pair.wire.pump()


def test_the_delivery_check_fails_on_a_forged_new_tsn() -> None:
    """Why a DATA chunk with a new TSN never goes to the main pair: it is taken as real."""
    pair = _pair()
    b = pair.assoc(pair.b)
    assert b is not None and b.data is not None
    tsn = (b.data.receiver.cum_tsn + 1) & 0xFFFFFFFF
    forged = w.DataChunk(tsn, 0, 0, 0, b"not what A sent", flags=w.FLAG_BEGIN | w.FLAG_END)
    assert fh.destructive(w.Packet(fh.CPORT, fh.SPORT, b.local_tag, [forged]), b, None)
    _forge(pair, [forged])
    with pytest.raises(fh.FuzzFailure):
        rng = random.Random(2)
        for _ in range(200):
            pair.send_one(rng)
            pair.wire.advance(pair.wire.now + 0.01)
            pair.events()
        pair.settle(60.0)
        pair.verify_complete()  # the real message of that TSN was taken for a duplicate


def test_the_delivery_check_fails_on_a_forged_abort() -> None:
    pair = _pair()
    _forge(pair, [w.AbortChunk()])
    with pytest.raises(fh.FuzzFailure, match=r"main pair: (SendFailed|AssocChange)"):
        pair.events()


def test_a_duplicate_tsn_is_not_destructive() -> None:
    pair = _pair()
    b = pair.assoc(pair.b)
    assert b is not None and b.data is not None
    old = w.DataChunk(b.data.receiver.cum_tsn, 0, 0, 0, b"old", flags=w.FLAG_BEGIN | w.FLAG_END)
    pkt = w.Packet(fh.CPORT, fh.SPORT, b.local_tag, [old, w.HeartbeatChunk(b"x" * 8)])
    assert not fh.destructive(pkt, b, None)
    _forge(pair, pkt.chunks)
    pair.settle(5.0)
    assert b.state is State.ESTABLISHED


def test_rebase_puts_tsns_where_the_receiver_is() -> None:
    pair = _pair()
    b = pair.assoc(pair.b)
    assert b is not None and b.data is not None
    data = bytearray(w.encode_packet(w.Packet(1, 2, 3, [w.DataChunk(7, 0, 0, 0, b"x")] * 3)))
    fh.rebase(random.Random(5), data, b)
    tsns = [struct.unpack_from("!I", data, off + 4)[0] for off, _ in fh.chunk_spans(data)]
    cum = b.data.receiver.cum_tsn
    assert all(abs(((t - cum + 2**31) % 2**32) - 2**31) <= 8 for t in tsns), (tsns, cum)
    assert tsns[1] == (tsns[0] + 1) & 0xFFFFFFFF and tsns[2] == (tsns[1] + 1) & 0xFFFFFFFF


def test_a_fork_is_a_copy_of_the_pair_that_leaves_the_pair_alone() -> None:
    """The fork (a child process) starts from the main pair's state; what it does stays there."""
    pair = _pair()
    b = pair.assoc(pair.b)
    assert b is not None and b.data is not None
    cum = b.data.receiver.cum_tsn

    def body() -> fh.Report:
        fb = pair.assoc(pair.b)
        assert fb is not None and fb.data is not None
        seen = fb.data.receiver.cum_tsn
        _forge(pair, [w.AbortChunk()])
        r = fh.Report()
        r.stats["cum tsn seen"] = seen
        r.stats["associations after abort"] = len(pair.b.associations)
        return r

    report = fh.join_fork(fh.start_fork(body), "established", 0, 0)
    assert report.stats["cum tsn seen"] == cum
    assert report.stats["associations after abort"] == 0  # the ABORT ended the fork's
    assert b.state is State.ESTABLISHED and pair.b.associations  # not the main pair's


def test_a_failure_in_a_fork_is_raised_and_a_dead_fork_is_a_finding() -> None:
    def fails() -> fh.Report:
        raise fh.FuzzFailure("planted in the fork")

    with pytest.raises(fh.FuzzFailure, match="planted in the fork"):
        fh.join_fork(fh.start_fork(fails), "established", 7, 3)

    def dies() -> fh.Report:
        os.kill(os.getpid(), signal.SIGKILL)
        return fh.Report()

    report = fh.join_fork(fh.start_fork(dies), "established", 7, 3)
    [f] = report.found
    assert (f.target, f.seed, f.index) == ("established", 7, 3) and "signal 9" in f.error


def test_the_chunk_kind_not_negotiated_is_destructive() -> None:
    """I-DATA on a DATA association ends it (RFC 8260 §2.2.3): only forks may take it."""
    pair = _pair()
    b = pair.assoc(pair.b)
    assert b is not None and b.data is not None and not b.interleaving
    old = b.data.receiver.cum_tsn  # a duplicate TSN: harmless as DATA, not as I-DATA
    idata = w.IDataChunk(old, 0, 0, 0, b"x", flags=w.FLAG_BEGIN | w.FLAG_END)
    assert fh.destructive(w.Packet(fh.CPORT, fh.SPORT, b.local_tag, [idata]), b, None)
    _forge(pair, [idata])
    with pytest.raises(fh.FuzzFailure, match=r"main pair: (SendFailed|AssocChange)"):
        pair.settle(5.0)
