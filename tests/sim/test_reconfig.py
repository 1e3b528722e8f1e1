"""RFC 6525 stream reset between two sctpx endpoints in the simulator."""

from __future__ import annotations

from sctpx import wire as w
from sctpx.core import Config
from sctpx.core.events import DataReceived, StreamResetEvent
from sctpx.sim import Fate

from .scenario import C1, P1, P2, Pair, established, make_pair

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
