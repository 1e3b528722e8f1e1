"""RFC 6525 stream reset between two sctpx endpoints in the simulator."""

from __future__ import annotations

from sctpx import wire as w
from sctpx.core import Config, Event
from sctpx.core.events import AssocResetEvent, DataReceived, StreamChangeEvent, StreamResetEvent
from sctpx.sim import Fate

from .scenario import C1, C2, P1, P2, P3, Pair, established, make_pair

ON = Config(stream_reset=0x01)


def start() -> tuple[Pair, int]:
    p = make_pair(client_cfg=ON, server_cfg=ON)
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: established(p, aid) and p.up("s"), 5)
    return p, aid


def got(p: Pair) -> list[tuple[int, bytes, int]]:
    return [(e.stream_id, e.data, e.ssn) for e in p.sevents if isinstance(e, DataReceived)]


def requests(p: Pair) -> list[tuple[float, Fate | None, w.OutgoingSsnResetRequestParam]]:
    out = []
    for r in p.net.packets(chunk=w.ReconfigChunk):
        if r.host != "client":
            continue
        for c in w.decode_packet(r.data).chunks:
            if isinstance(c, w.ReconfigChunk):
                out += [(r.sent, r.fate, q) for q in c.params
                        if isinstance(q, w.OutgoingSsnResetRequestParam)]  # fmt: skip
    return out


def test_reset_with_data_in_flight_completes_after_it_is_acked() -> None:  # §5.1.2, §5.2.2
    p, aid = start()
    for i in range(3):
        p.client.send(aid, b"m%d" % i, p.net.now, stream=1)
        p.client.send(aid, b"o%d" % i, p.net.now, stream=2)
    p.net.poke(p.client)
    p.net.run_for(0.001)  # on the wire, not acknowledged yet
    sender = p.assoc(aid).data.sender  # type: ignore[union-attr]
    assert sender.outstanding
    last_data_tsn = sender.tsn(sender.next_seq - 1)
    p.assoc(aid).reconfig().reset_streams((1,), False, True, p.net.now)
    for i in range(2):  # queued after the call: held until the reset is done
        p.client.send(aid, b"n%d" % i, p.net.now, stream=1)
    p.client.send(aid, b"o3", p.net.now, stream=2)
    p.net.poke(p.client)
    assert p.run_until(lambda: len(got(p)) == 9, 5)
    [(sent_at, _, req)] = requests(p)
    assert req.last_tsn == last_data_tsn and req.streams == (1,)
    # The request left only after the SACK for the data in flight on stream 1.
    sacks = [r.arrived for r in p.net.packets(chunk=w.SackChunk, dst=C1) if r.arrived]
    assert sacks and min(sacks) <= sent_at
    r = got(p)
    assert [x for x in r if x[0] == 1] == [
        (1, b"m0", 0), (1, b"m1", 1), (1, b"m2", 2), (1, b"n0", 0), (1, b"n1", 1)
    ]  # fmt: skip
    assert [x for x in r if x[0] == 2] == [(2, b"o%d" % i, i) for i in range(4)]  # unaffected
    assert [e for e in p.cevents if isinstance(e, StreamResetEvent)] == [
        StreamResetEvent(aid, 0x0002, (1,))  # SCTP_STREAM_RESET_OUTGOING_SSN
    ]
    sid = p.server_assoc().id
    assert [e for e in p.sevents if isinstance(e, StreamResetEvent)] == [
        StreamResetEvent(sid, 0x0001, (1,))  # SCTP_STREAM_RESET_INCOMING_SSN
    ]
    assert p.server_assoc().data.receiver.next_ssn(1) == 2  # type: ignore[union-attr]


def test_a_lost_reset_request_is_retransmitted() -> None:  # §5.1.1
    p, aid = start()
    a = p.assoc(aid)
    for dst in (P1, P2):
        p.net.link(C1, dst, blackhole=True)
    a.reconfig().reset_streams((1,), False, True, p.net.now)
    p.net.poke(p.client)
    p.net.run_for(0.005)
    for dst in (P1, P2):
        p.net.link(C1, dst, blackhole=False)
    assert p.run_until(lambda: any(isinstance(e, StreamResetEvent) for e in p.cevents), 10)
    reqs = requests(p)
    assert [f for _, f, _ in reqs] == [Fate.BLACKHOLED, Fate.DELIVERED]
    assert reqs[0][2] == reqs[1][2]  # the same request, the same sequence number
    assert reqs[1][0] - reqs[0][0] >= a.cfg.rto_min  # on its timer (the path's RTO)
    assert p.net.packets(chunk=w.ReconfigChunk)[1].dst[0] == P2  # to the alternate path
    assert [e for e in p.cevents if isinstance(e, StreamResetEvent)] == [
        StreamResetEvent(aid, 0x0002, (1,))
    ]
    p.client.send(aid, b"after", p.net.now, stream=1)
    p.net.poke(p.client)
    assert p.run_until(lambda: got(p) == [(1, b"after", 0)], 5)


# ----- SSN/TSN Reset (RFC 6525 §5.1.4, §5.2.4) -----

ALL = Config(stream_reset=0x07)
CLIENT, SERVER = (C1, C2), (P1, P2, P3)


def start_all() -> tuple[Pair, int]:
    p = make_pair(client_cfg=ALL, server_cfg=ALL)
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: established(p, aid) and p.up("s"), 5)
    return p, aid


def cut(p: Pair, src: tuple[str, ...], dst: tuple[str, ...], on: bool) -> None:
    for a in src:
        for b in dst:
            p.net.link(a, b, blackhole=on)


def resets_of(evs: list[Event]) -> list[AssocResetEvent]:
    return [e for e in evs if isinstance(e, AssocResetEvent)]


def received(evs: list[Event]) -> list[DataReceived]:
    return [e for e in evs if isinstance(e, DataReceived)]


def tsn_requests(p: Pair) -> list[tuple[Fate | None, int]]:
    out = []
    for r in p.net.packets(chunk=w.ReconfigChunk):
        for c in w.decode_packet(r.data).chunks:
            if isinstance(c, w.ReconfigChunk):
                out += [(r.fate, q.request_seq) for q in c.params
                        if isinstance(q, w.SsnTsnResetRequestParam)]  # fmt: skip
    return out


def test_assoc_reset_with_data_queued_both_ways() -> None:  # §5.1.4, §5.2.4 (both perform)
    p, aid = start_all()
    sid = p.server_assoc().id
    big = b"x" * 1200
    for i in range(40):  # more than one window's worth: some is still queued at the call
        p.client.send(aid, big + b"%d" % i, p.net.now, stream=i % 3)
        p.server.send(sid, b"s%d" % i, p.net.now, stream=1)
    p.net.poke(p.client)
    p.net.poke(p.server)
    p.net.run_for(0.001)
    assert p.assoc(aid).data.sender.pending  # type: ignore[union-attr]
    p.assoc(aid).reconfig().reset_assoc(p.net.now)
    for i in range(5):  # after the call: they wait for the answer, then go from SSN 0
        p.client.send(aid, b"new%d" % i, p.net.now, stream=0)
    p.net.poke(p.client)
    assert p.run_until(lambda: len(received(p.sevents)) == 45 and len(received(p.cevents)) == 40,
                       10)  # fmt: skip
    [mine], [theirs] = resets_of(p.cevents), resets_of(p.sevents)
    assert mine.flags == theirs.flags == 0
    assert (mine.local_tsn, mine.remote_tsn) == (theirs.remote_tsn, theirs.local_tsn)
    got = received(p.sevents)
    assert [e.data for e in got[:40]] == [big + b"%d" % i for i in range(40)]  # old ones whole
    after = got[40:]
    assert [(e.data, e.stream_id, e.ssn) for e in after] == [
        (b"new%d" % i, 0, i) for i in range(5)
    ]  # in order, SSNs from 0
    assert [e.tsn for e in after] == [(mine.local_tsn + i) & 0xFFFFFFFF for i in range(5)]
    assert [e.data for e in received(p.cevents)] == [b"s%d" % i for i in range(40)]
    # The request left only once the client's data before the call was all acknowledged.
    [(fate, _)] = tsn_requests(p)
    assert fate is Fate.DELIVERED
    # Afterwards the server's data flows under the new numbering too.
    p.server.send(sid, b"back", p.net.now, stream=1)
    p.net.poke(p.server)
    assert p.run_until(lambda: len(received(p.cevents)) == 41, 5)
    last = received(p.cevents)[-1]
    assert (last.data, last.ssn, last.tsn) == (b"back", 0, mine.remote_tsn)


def test_assoc_reset_request_lost_is_retransmitted() -> None:  # §5.1.1
    p, aid = start_all()
    a = p.assoc(aid)
    cut(p, CLIENT, SERVER, True)
    a.reconfig().reset_assoc(p.net.now)
    p.client.send(aid, b"held", p.net.now, stream=2)
    p.net.poke(p.client)
    p.net.run_for(0.005)
    cut(p, CLIENT, SERVER, False)
    assert p.run_until(lambda: bool(received(p.sevents)), 10)
    reqs = tsn_requests(p)
    assert [f for f, _ in reqs] == [Fate.BLACKHOLED, Fate.DELIVERED]
    assert reqs[0][1] == reqs[1][1]  # the same request, the same sequence number
    [mine], [theirs] = resets_of(p.cevents), resets_of(p.sevents)
    assert mine.local_tsn == theirs.remote_tsn
    [m] = received(p.sevents)
    assert (m.data, m.ssn, m.tsn) == (b"held", 0, mine.local_tsn)


def test_assoc_reset_response_lost_gets_the_same_answer() -> None:  # §5.2.4, E1
    p, aid = start_all()
    cut(p, SERVER, CLIENT, True)  # the answer is lost: the server has performed it
    p.assoc(aid).reconfig().reset_assoc(p.net.now)
    p.net.poke(p.client)
    assert p.run_until(lambda: bool(resets_of(p.sevents)), 5)
    assert resets_of(p.cevents) == []
    cut(p, SERVER, CLIENT, False)
    assert p.run_until(lambda: bool(resets_of(p.cevents)), 10)
    assert len(tsn_requests(p)) == 2
    [mine], [theirs] = resets_of(p.cevents), resets_of(p.sevents)  # performed once each
    assert (mine.local_tsn, mine.remote_tsn) == (theirs.remote_tsn, theirs.local_tsn)
    answers = []
    for r in p.net.packets(chunk=w.ReconfigChunk, src=P1) + p.net.packets(
        chunk=w.ReconfigChunk, src=P2
    ):
        for c in w.decode_packet(r.data).chunks:
            if isinstance(c, w.ReconfigChunk):
                answers += list(c.params)
    assert len(answers) == 2 and answers[0] == answers[1]  # the same TSNs both times
    for i in range(3):
        p.client.send(aid, b"c%d" % i, p.net.now, stream=1)
        p.server.send(p.server_assoc().id, b"s%d" % i, p.net.now, stream=1)
    p.net.poke(p.client)
    p.net.poke(p.server)
    assert p.run_until(lambda: len(received(p.sevents)) == len(received(p.cevents)) == 3, 5)
    assert [e.tsn for e in received(p.sevents)] == [
        (mine.local_tsn + i) & 0xFFFFFFFF for i in range(3)
    ]
    assert [e.tsn for e in received(p.cevents)] == [
        (mine.remote_tsn + i) & 0xFFFFFFFF for i in range(3)
    ]


def test_add_incoming_and_outgoing_streams() -> None:  # §5.1.5, §5.1.6, §6.1.3
    p, aid = start_all()
    a, s = p.assoc(aid), p.server_assoc()
    i, o = a.inbound_streams, a.outbound_streams
    a.reconfig().add_streams(2, 3, p.net.now)
    p.net.poke(p.client)

    def changes(evs: list[Event]) -> list[StreamChangeEvent]:
        return [e for e in evs if isinstance(e, StreamChangeEvent)]

    # Each side's two: the client's when its 17 is answered and when the server's own 17
    # (its answer to the 18, RFC 6525 §5.2.6) arrives; the server's when it performs the
    # client's 17 and when the client answers its 17 (only then may it send on them).
    assert p.run_until(lambda: len(changes(p.cevents)) == len(changes(p.sevents)) == 2, 5)
    assert [e.flags for e in changes(p.cevents) + changes(p.sevents)] == [0, 0, 0, 0]
    assert (a.inbound_streams, a.outbound_streams) == (i + 3, o + 2)
    assert (s.inbound_streams, s.outbound_streams) == (o + 2, i + 3)
    p.server.send(s.id, b"down", p.net.now, stream=i + 2)
    p.client.send(aid, b"up", p.net.now, stream=o + 1)
    p.net.poke(p.client)
    p.net.poke(p.server)
    assert p.run_until(lambda: bool(received(p.cevents)) and bool(received(p.sevents)), 5)
    assert [(e.stream_id, e.data) for e in received(p.cevents)] == [(i + 2, b"down")]
    assert [(e.stream_id, e.data) for e in received(p.sevents)] == [(o + 1, b"up")]
