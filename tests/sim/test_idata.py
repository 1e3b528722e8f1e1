"""User message interleaving in the simulator (RFC 8260): I-DATA and I-FORWARD-TSN on the
wire, head-of-line blocking with and without them, loss and reordering, PR-SCTP, a peer
that does not offer I-DATA, and the Protocol Violation ABORT (§2.2.3)."""

from __future__ import annotations

import errno
import random

import pytest

from sctpx import wire as w
from sctpx.core import AssocChangeState, Config, State
from sctpx.core.errors import UsageError
from sctpx.core.events import DataReceived, SendFailed
from sctpx.sim import ANY

from .scenario import C1, CPORT, P1, SPORT, Pair, established, make_pair, sent
from .test_transfer import Load, check_delivery


def start(cfg: Config, server_cfg: Config | None = None, seed: int = 1) -> tuple[Pair, int]:
    p = make_pair(seed=seed, client_cfg=cfg, server_cfg=server_cfg or cfg, server_addrs=(P1,))
    aid = p.connectx([P1])
    assert p.run_until(lambda: established(p, aid) and p.up("s"), 5)
    return p, aid


def received(p: Pair) -> list[DataReceived]:
    return [e for e in p.sevents if isinstance(e, DataReceived)]


def idata_cfg(**kw: object) -> Config:
    return Config(num_ostreams=4, max_instreams=4, interleaving=True, **kw)  # type: ignore[arg-type]


def test_both_sides_offer_i_data_so_only_i_data_goes_on_the_wire() -> None:
    p, aid = start(idata_cfg())
    ca, sa = p.assoc(aid), p.server_assoc()
    assert ca.interleaving and sa.interleaving
    p.client.send(aid, b"x" * 5000, p.net.now, stream=2, ppid=99)
    p.net.poke(p.client)
    assert p.run_until(lambda: len(received(p)) == 1, 5)
    [m] = received(p)
    assert (m.stream_id, m.ppid, m.data, m.ssn) == (2, 99, b"x" * 5000, 0)
    assert sent(p.net, w.IDataChunk) and not sent(p.net, w.DataChunk)


def test_a_peer_without_i_data_keeps_the_association_on_data() -> None:
    p, aid = start(idata_cfg(), server_cfg=Config(num_ostreams=4, max_instreams=4))
    assert not p.assoc(aid).interleaving and not p.server_assoc().interleaving
    p.client.send(aid, b"y" * 3000, p.net.now, stream=1)
    p.server.send(p.server_assoc().id, b"z", p.net.now)
    p.net.poke(p.client)
    p.net.poke(p.server)
    assert p.run_until(lambda: len(received(p)) == 1, 5)
    assert sent(p.net, w.DataChunk) and not sent(p.net, w.IDataChunk)
    # and the other way round: a server that offers it, a client that does not
    p2, aid2 = start(Config(num_ostreams=4, max_instreams=4), server_cfg=idata_cfg())
    assert not p2.assoc(aid2).interleaving and not p2.server_assoc().interleaving


def _hol(interleaving: bool, scheduler: str) -> tuple[float, float]:
    """A 1 MB message on stream 0, then 20 messages of 100 bytes on stream 1 at once: where
    in the delivery order the last small one and the big one come."""
    cfg = Config(num_ostreams=2, max_instreams=2, interleaving=interleaving,
                 stream_scheduler=scheduler, a_rwnd=4 << 20)  # fmt: skip
    p, aid = start(cfg)
    t0 = p.net.now
    p.client.send(aid, random.Random(1).randbytes(1 << 20), t0, stream=0)
    for i in range(20):
        p.client.send(aid, b"%03d" % i + b"s" * 97, t0, stream=1)
    p.net.poke(p.client)
    assert p.run_until(lambda: len(received(p)) == 21, 60)
    got = received(p)
    small = max(i for i, e in enumerate(got) if e.stream_id == 1)
    big = next(i for i, e in enumerate(got) if e.stream_id == 0)
    check = [e.data[:3] for e in got if e.stream_id == 1]
    assert check == [b"%03d" % i for i in range(20)]  # in order on their stream
    return small, big


@pytest.mark.parametrize("scheduler", ["rr", "wfq", "prio"])
def test_a_large_message_does_not_hold_back_small_ones_with_i_data(scheduler: str) -> None:
    small, big = _hol(True, scheduler)
    assert small < big  # every small message came before the big one completed


@pytest.mark.parametrize("scheduler", ["rr", "fcfs"])
def test_without_i_data_the_small_messages_wait_for_the_large_one(scheduler: str) -> None:
    small, big = _hol(False, scheduler)
    assert big == 0 and small == 20  # head-of-line blocked behind the 1 MB (§6.9)


def test_hol_delay_with_and_without_i_data_in_time() -> None:
    """The same in time: the small message's delay (RFC 8260 §1.1)."""
    delays = {}
    for il in (False, True):
        cfg = Config(num_ostreams=2, max_instreams=2, interleaving=il, stream_scheduler="rr",
                     a_rwnd=4 << 20)  # fmt: skip
        p, aid = start(cfg)
        t0 = p.net.now
        p.client.send(aid, bytes(1 << 20), t0, stream=0)
        p.client.send(aid, b"s" * 100, t0, stream=1)
        p.net.poke(p.client)
        at: dict[int, float] = {}

        def seen(p: Pair = p, at: dict[int, float] = at) -> bool:
            for e in received(p):
                at.setdefault(e.stream_id, p.net.now)
            return len(at) == 2

        assert p.run_until(seen, 60)
        delays[il] = at[1] - t0
    # With DATA the small message waits for the 1 MB to leave, which slow start spreads
    # over many round trips (0.45 s measured, RTT 20 ms); with I-DATA it goes in the
    # first packet after the big one's first fragment: one 10 ms hop.
    assert delays[False] > 10 * 0.02
    assert delays[True] <= 0.011


@pytest.mark.parametrize("scheduler", ["fcfs", "rr", "rr_pkt", "prio", "wfq"])
@pytest.mark.parametrize(("loss", "dup", "reorder"), [(0.0, 0.0, 0.0), (0.03, 0.01, 0.05)])
def test_loss_and_reordering_with_i_data_every_message_intact_and_in_order(
    scheduler: str, loss: float, dup: float, reorder: float
) -> None:
    cfg = Config(num_ostreams=6, max_instreams=6, interleaving=True, stream_scheduler=scheduler)
    p, aid = start(cfg, seed=7)
    p.net.link(ANY, ANY, loss=loss, duplicate=dup, reorder=reorder, jitter=0.002)
    load = Load()
    rng = random.Random(3)
    for i, stream, unordered, data in load.make(rng, 1500, 6, 6000, 0.2):
        p.client.send(aid, data, p.net.now, stream=stream, ppid=i & 0xFF, unordered=unordered)
    p.net.poke(p.client)
    assert p.run_until(lambda: p.server_messages >= 1500, 600), p.net.stats()
    check_delivery(p, load)
    assert p.server_assoc().data.receiver.buffered == 0  # type: ignore[union-attr]
    assert not sent(p.net, w.DataChunk)


def test_pr_sctp_with_i_data_uses_i_forward_tsn() -> None:
    cfg = Config(num_ostreams=3, max_instreams=3, interleaving=True, stream_scheduler="rr")
    p, aid = start(cfg, seed=3)
    p.net.link(ANY, ANY, loss=0.2)
    msgs = {}
    rng = random.Random(9)
    for i in range(300):
        data = i.to_bytes(4, "big") + rng.randbytes(rng.randint(4, 4000))
        stream, unordered = i % 3, i % 5 == 0
        msgs[i] = (stream, unordered, data)
        p.client.send(aid, data, p.net.now, stream=stream, unordered=unordered,
                      max_retransmissions=0)  # fmt: skip
    p.net.poke(p.client)

    def settled() -> bool:
        failed = sum(isinstance(e, SendFailed) for e in p.cevents)
        return failed + p.server_messages >= 300

    assert p.run_until(settled, 120)
    p.net.link(ANY, ANY, loss=0.0)
    p.run_for(10)
    got = received(p)
    fails = [e for e in p.cevents if isinstance(e, SendFailed)]
    failed = {int.from_bytes(e.data[:4], "big") for e in fails}
    ids = [int.from_bytes(e.data[:4], "big") for e in got]
    assert len(ids) == len(set(ids))  # at most once
    assert set(ids) | failed == set(msgs)  # and every message accounted for
    # A message may be delivered and still reported failed: abandoned after it was sent,
    # its SACK lost (RFC 3758 §3.5: the sender cannot know). Never one never sent.
    assert all(e.sent for e in fails if int.from_bytes(e.data[:4], "big") in set(ids))
    assert len(failed) > len(failed & set(ids))
    last: dict[int, int] = {}
    for e, i in zip(got, ids, strict=True):
        stream, unordered, data = msgs[i]
        assert (e.stream_id, e.unordered, e.data) == (stream, unordered, data)
        if not unordered:
            assert last.get(stream, -1) < i
            last[stream] = i
    assert failed and sent(p.net, w.IForwardTsnChunk) and not sent(p.net, w.ForwardTsnChunk)
    rx = p.server_assoc().data.receiver  # type: ignore[union-attr]
    rx.check_invariants()
    assert rx.buffered == 0


def _inject(p: Pair, aid: int, chunk: w.Chunk) -> None:
    ca = p.assoc(aid)
    pkt = w.encode_packet(w.Packet(CPORT, SPORT, ca.peer_tag, [chunk]))
    p.server.receive(pkt, (C1, 9899), (P1, 9899), p.net.now)
    p.net.poke(p.server)
    p.run_for(1)


@pytest.mark.parametrize("interleaving", [True, False])
def test_the_chunk_kind_not_negotiated_is_a_protocol_violation(interleaving: bool) -> None:
    cfg = Config(num_ostreams=2, max_instreams=2, interleaving=interleaving)
    p, aid = start(cfg)
    sa = p.server_assoc()
    tsn = p.assoc(aid).local_tsn
    wrong: w.Chunk = (w.DataChunk(tsn, 0, 0, 0, b"bad") if interleaving
                      else w.IDataChunk(tsn, 0, 0, 0, b"bad"))  # fmt: skip
    _inject(p, aid, wrong)
    assert sa.state is State.CLOSED
    end = p.ended("s")
    assert end is not None and end.state is AssocChangeState.COMM_LOST
    assert _violation_abort(p)
    assert not received(p)


def _violation_abort(p: Pair) -> bool:
    """The server sent an ABORT with a Protocol Violation cause (RFC 8260 §2.2.3)."""
    for r in sent(p.net, w.AbortChunk):
        pkt = r.packet
        if r.src[0] == P1 and pkt is not None:
            for c in pkt.chunks:
                if isinstance(c, w.AbortChunk) and any(
                    isinstance(x, w.ProtocolViolation) for x in c.causes
                ):
                    return True
    return False


def test_a_forward_tsn_on_an_i_data_association_is_a_protocol_violation() -> None:
    p, aid = start(idata_cfg())
    tsn = p.assoc(aid).local_tsn
    _inject(p, aid, w.ForwardTsnChunk(tsn, ()))
    end = p.ended("s")
    assert end is not None and end.state is AssocChangeState.COMM_LOST
    assert _violation_abort(p)


def test_the_scheduler_and_stream_values_are_set_on_a_live_association() -> None:
    p, aid = start(idata_cfg())
    a = p.assoc(aid)
    a.set_stream_scheduler("prio")
    a.set_stream_value(1, 0)
    a.set_stream_value(0, 7)
    assert (a.stream_value(0), a.stream_value(1)) == (7, 0)
    for call in (lambda: a.set_stream_value(4, 1), lambda: a.set_stream_value(-1, 1),
                 lambda: a.set_stream_value(0, 70000), lambda: a.stream_value(9),
                 lambda: a.set_stream_scheduler("lottery")):  # fmt: skip
        with pytest.raises(UsageError) as exc:
            call()
        assert exc.value.errno == errno.EINVAL
    assert a.stream_value(0) == 7  # a refused call changes nothing
    p.client.send(aid, bytes(200_000), p.net.now, stream=0)
    p.client.send(aid, b"urgent", p.net.now, stream=1)
    p.net.poke(p.client)
    assert p.run_until(lambda: len(received(p)) == 2, 30)
    assert [e.stream_id for e in received(p)] == [1, 0]  # the higher priority first
    a.set_stream_scheduler("wfq")
    assert a.stream_value(0) == 1  # values start again at the new scheduler's default
    p.client.abort(aid, p.net.now)
    with pytest.raises(UsageError) as exc:
        a.set_stream_scheduler("rr")
    assert exc.value.errno == errno.ENOTCONN


def test_a_stream_reset_restarts_both_mid_counters_with_i_data() -> None:  # §2.3.2
    cfg = idata_cfg(stream_reset=0x01)
    p, aid = start(cfg)
    for u in (False, True, False):
        p.client.send(aid, b"before", p.net.now, stream=1, unordered=u)
    p.net.poke(p.client)
    assert p.run_until(lambda: len(received(p)) == 3, 5)
    p.assoc(aid).reconfig().reset_streams((1,), False, True, p.net.now)
    for u in (False, True):
        p.client.send(aid, b"after", p.net.now, stream=1, unordered=u)
    p.net.poke(p.client)
    assert p.run_until(lambda: len(received(p)) == 5, 5)
    mids = [(c.mid, bool(c.flags & w.FLAG_UNORDERED), c.user_data)
            for r in sent(p.net, w.IDataChunk) if r.packet is not None
            for c in r.packet.chunks if isinstance(c, w.IDataChunk)]  # fmt: skip
    assert sorted(set(mids)) == sorted({(0, False, b"before"), (0, True, b"before"),
                                        (1, False, b"before"), (0, False, b"after"),
                                        (0, True, b"after")})  # fmt: skip
    assert [e.data for e in received(p)][3:] == [b"after", b"after"]
