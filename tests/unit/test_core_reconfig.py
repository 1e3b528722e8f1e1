"""RFC 6525 stream reconfiguration, driven by crafted RE-CONFIG chunks.

An association is set up in the simulator; then hand-made RE-CONFIG chunks are fed
to the server's association and what it sends back is decoded and checked.
"""

from __future__ import annotations

import errno

import pytest

from sctpx import wire as w
from sctpx.core import Config, Endpoint, Event, State, UsageError
from sctpx.core.association import Association
from sctpx.core.events import (
    AssocResetEvent,
    DataReceived,
    SendFailed,
    StreamChangeEvent,
    StreamResetEvent,
)
from sctpx.core.handshake import RE_CONFIG
from sctpx.sim import ANY, Network

C1, P1 = "198.18.1.1", "198.18.1.2"
CPORT, SPORT = 40000, 5000


class Two:
    def __init__(self, client_cfg: Config | None = None, server_cfg: Config | None = None):
        self.net = Network(seed=3)
        self.net.link(ANY, ANY, delay=0.01)
        ch = self.net.add_host("client", [C1])
        sh = self.net.add_host("server", [P1])
        self.client = Endpoint(CPORT, [C1], rng=self.net.rng("c"), config=client_cfg)
        self.server = Endpoint(SPORT, [P1], rng=self.net.rng("s"), config=server_cfg)
        self.server.listen()
        ch.attach(CPORT, self.client)
        sh.attach(SPORT, self.server)
        self.aid = self.client.connectx([(P1, SPORT)], self.net.now)
        self.net.poke(self.client)
        self.sevents: list[Event] = []
        self.cevents: list[Event] = []
        self.net.run_until(
            lambda: bool(self.server.associations) and self.ca.state is State.ESTABLISHED, 5
        )
        self.run(0.5)

    @property
    def ca(self) -> Association:
        return self.client.association(self.aid)

    @property
    def sa(self) -> Association:
        [a] = self.server.associations.values()
        return a

    def run(self, t: float) -> None:
        self.net.run_for(t)
        for ep, out in ((self.client, self.cevents), (self.server, self.sevents)):
            while (e := ep.next_event()) is not None:
                out.append(e)

    def feed(self, *params: w.Param) -> list[w.Param]:
        """Give the server a RE-CONFIG chunk as if from the client; what it answers."""
        before = len(self.server_reconfigs())
        sa = self.sa
        pkt = w.Packet(CPORT, SPORT, sa.local_tag, [w.ReconfigChunk(params)])
        self.server.receive(w.encode_packet(pkt), (C1, 9899), (P1, 9899), self.net.now)
        self.net.poke(self.server)
        self.run(0.001)
        return [p for c in self.server_reconfigs()[before:] for p in c.params]

    def server_reconfigs(self) -> list[w.ReconfigChunk]:
        out = []
        for r in self.net.packets(chunk=w.ReconfigChunk, src=P1):
            out += [c for c in w.decode_packet(r.data).chunks if isinstance(c, w.ReconfigChunk)]
        return out


def resets(evs: list[Event]) -> list[StreamResetEvent]:
    return [e for e in evs if isinstance(e, StreamResetEvent)]


ON = Config(stream_reset=0x05)


def test_reconfig_is_negotiated_in_init_and_init_ack() -> None:  # RFC 6525 §3.1
    t = Two(ON, ON)
    for chunk_type in (w.InitChunk, w.InitAckChunk):
        [rec] = t.net.packets(chunk=chunk_type)
        [c] = w.decode_packet(rec.data).chunks
        exts = [p for p in c.params if isinstance(p, w.SupportedExtensionsParam)]
        assert exts and RE_CONFIG in exts[0].chunk_types
    assert t.ca.peer_reconfig and t.sa.peer_reconfig


def test_no_reconfig_in_init_ack_unless_the_init_had_it() -> None:
    t = Two(Config(reconfig=False), ON)
    [rec] = t.net.packets(chunk=w.InitAckChunk)
    [c] = w.decode_packet(rec.data).chunks
    exts = [p for p in c.params if isinstance(p, w.SupportedExtensionsParam)]
    assert not exts or RE_CONFIG not in exts[0].chunk_types
    assert not t.sa.peer_reconfig and not t.ca.peer_reconfig
    with pytest.raises(UsageError) as e:  # RFC 6525 §6.3.2
        t.ca.reconfig().reset_streams((1,), False, True, t.net.now)
    assert e.value.errno == errno.EOPNOTSUPP
    # A RE-CONFIG from a peer that never announced it is not processed.
    assert t.feed(w.OutgoingSsnResetRequestParam(t.ca.local_tsn, 0, t.ca.local_tsn - 1)) == []


def _seq(t: Two) -> int:
    return t.ca.local_tsn  # §5.1.1: the client's first Request Sequence Number


def _last(t: Two) -> int:
    return t.sa.data.receiver.cum_tsn  # type: ignore[union-attr]


def test_outgoing_reset_performed_resets_the_inbound_stream() -> None:  # §5.2.2 E3
    t = Two(ON, ON)
    for i in range(3):
        t.client.send(t.aid, b"x%d" % i, t.net.now, stream=1)
    t.net.poke(t.client)
    t.run(0.5)
    assert t.sa.data.receiver.next_ssn(1) == 3  # type: ignore[union-attr]
    out = t.feed(w.OutgoingSsnResetRequestParam(_seq(t), 0, _last(t), (1,)))
    assert out == [w.ReconfigResponseParam(_seq(t), 1)]  # Success - Performed
    assert t.sa.data.receiver.next_ssn(1) == 0  # type: ignore[union-attr]
    assert resets(t.sevents) == [StreamResetEvent(t.sa.id, 0x0001, (1,))]
    # E1: the same request again gets the same answer and changes nothing more.
    assert t.feed(w.OutgoingSsnResetRequestParam(_seq(t), 0, _last(t), (1,))) == out
    assert len(resets(t.sevents)) == 1


def test_bad_sequence_number() -> None:  # §5.2.1 E1, result 5
    t = Two(ON, ON)
    out = t.feed(w.OutgoingSsnResetRequestParam(_seq(t) + 7, 0, _last(t), (1,)))
    assert out == [w.ReconfigResponseParam(_seq(t) + 7, 5)]
    assert resets(t.sevents) == []


def test_denied_when_not_enabled() -> None:  # RFC 6525 §6.3.1 default
    t = Two(ON, Config())
    out = t.feed(w.OutgoingSsnResetRequestParam(_seq(t), 0, _last(t), (1,)))
    assert out == [w.ReconfigResponseParam(_seq(t), 2)]
    assert resets(t.sevents) == []


def test_wrong_ssn_for_a_stream_that_does_not_exist() -> None:
    t = Two(ON, ON)
    n = t.sa.inbound_streams
    assert t.feed(w.OutgoingSsnResetRequestParam(_seq(t), 0, _last(t), (n,))) == [
        w.ReconfigResponseParam(_seq(t), 3)
    ]


def test_in_progress_until_the_last_assigned_tsn_arrived() -> None:  # §5.2.2 E2
    t = Two(ON, ON)
    last = (_last(t) + 1) & 0xFFFFFFFF  # a TSN the server has not had yet
    out = t.feed(w.OutgoingSsnResetRequestParam(_seq(t), 0, last, (1,)))
    assert out == [w.ReconfigResponseParam(_seq(t), 6)]  # In progress
    assert resets(t.sevents) == []
    t.client.send(t.aid, b"late", t.net.now, stream=2)  # gets TSN ``last``
    t.net.poke(t.client)
    t.run(0.1)
    assert t.sa.data.receiver.cum_tsn == last  # type: ignore[union-attr]
    out = t.feed(w.OutgoingSsnResetRequestParam(_seq(t), 0, last, (1,)))  # sent again
    assert out == [w.ReconfigResponseParam(_seq(t), 1)]
    assert resets(t.sevents) == [StreamResetEvent(t.sa.id, 0x0001, (1,))]


def test_peer_adds_outgoing_streams() -> None:  # §5.2.5
    t = Two(ON, ON)
    n = t.sa.inbound_streams
    out = t.feed(w.AddOutgoingStreamsRequestParam(_seq(t), 3))
    assert out == [w.ReconfigResponseParam(_seq(t), 1)]
    assert t.sa.inbound_streams == n + 3
    assert t.sa.data.receiver.inbound_streams == n + 3  # type: ignore[union-attr]
    ev = [e for e in t.sevents if isinstance(e, StreamChangeEvent)]
    assert ev == [StreamChangeEvent(t.sa.id, 0, n + 3, t.sa.outbound_streams)]


def test_we_add_outgoing_streams() -> None:  # §5.1.5
    t = Two(ON, ON)
    n = t.ca.outbound_streams
    t.ca.reconfig().add_streams(2, 0, t.net.now)
    t.net.poke(t.client)
    t.run(0.1)
    assert t.ca.outbound_streams == n + 2
    t.client.send(t.aid, b"on a new stream", t.net.now, stream=n + 1)
    t.net.poke(t.client)
    t.run(0.5)
    got = [e for e in t.sevents if isinstance(e, DataReceived)]
    assert [(e.stream_id, e.data) for e in got] == [(n + 1, b"on a new stream")]
    assert [e for e in t.cevents if isinstance(e, StreamChangeEvent)] == [
        StreamChangeEvent(t.aid, 0, t.ca.inbound_streams, n + 2)
    ]


def test_peer_asks_us_to_reset_our_outgoing_streams() -> None:  # §5.2.3
    t = Two(ON, ON)
    t.server.send(t.sa.id, b"a", t.net.now, stream=2)
    t.net.poke(t.server)
    t.run(0.5)
    out = t.feed(w.IncomingSsnResetRequestParam(_seq(t), (2,)))
    # The answer is our own Outgoing SSN Reset Request carrying its sequence number.
    [req] = out
    assert isinstance(req, w.OutgoingSsnResetRequestParam)
    assert (req.request_seq, req.response_seq, req.streams) == (t.sa.local_tsn, _seq(t), (2,))
    t.run(0.5)  # the client is enabled too: it performs it and answers
    assert resets(t.sevents) == [StreamResetEvent(t.sa.id, 0x0002, (2,))]
    assert t.ca.data.receiver.next_ssn(2) == 0  # type: ignore[union-attr]
    t.server.send(t.sa.id, b"b", t.net.now, stream=2)
    t.net.poke(t.server)
    t.run(0.5)
    got = [e for e in t.cevents if isinstance(e, DataReceived)]
    assert [(e.data, e.ssn) for e in got] == [(b"a", 0), (b"b", 0)]


def test_a_second_request_while_one_is_outstanding_is_einprogress() -> None:
    t = Two(ON, ON)
    t.ca.reconfig().reset_streams((1,), False, True, t.net.now)
    with pytest.raises(UsageError) as e:
        t.ca.reconfig().add_streams(1, 0, t.net.now)
    assert e.value.errno == errno.EINPROGRESS
    with pytest.raises(UsageError) as e:
        t.ca.reconfig().reset_streams((99,), False, True, t.net.now)
    assert e.value.errno == errno.EINPROGRESS


def test_held_messages_fail_when_the_association_ends() -> None:  # nothing lost silently
    t = Two(ON, ON)
    for dst in (P1,):
        t.net.link(C1, dst, blackhole=True)  # the request never arrives: the reset waits
    t.ca.reconfig().reset_streams((1,), False, True, t.net.now)
    t.client.send(t.aid, b"held", t.net.now, stream=1)
    t.client.send(t.aid, b"free", t.net.now, stream=2)
    assert [m[0] for m in t.ca.data.held] == [b"held"]  # type: ignore[union-attr]
    t.ca.abort(t.net.now)
    t.run(0.1)
    failed = [e for e in t.cevents if isinstance(e, SendFailed)]
    assert [(e.data, e.stream_id, e.sent) for e in failed if e.data == b"held"] == [
        (b"held", 1, False)
    ]


def test_in_progress_answer_waits_for_the_timer_and_is_no_failure() -> None:  # §5.1.1, §5.2.2
    t = Two(ON, ON)
    t.net.link(C1, P1, blackhole=True)  # our request is lost; the "answer" is crafted
    t.ca.reconfig().reset_streams((1,), False, True, t.net.now)
    t.net.poke(t.client)
    t.run(0.001)
    t.net.link(C1, P1, blackhole=False)
    seq = t.ca.local_tsn
    pkt = w.Packet(
        SPORT, CPORT, t.ca.local_tag, [w.ReconfigChunk((w.ReconfigResponseParam(seq, 6),))]
    )
    t.client.receive(w.encode_packet(pkt), (P1, 9899), (C1, 9899), t.net.now)
    t.net.poke(t.client)
    errors = t.ca.pm.error_count
    rto = t.ca.pm.current().rto.rto  # type: ignore[union-attr]
    t.run(rto - 0.05)
    assert len(t.net.packets(chunk=w.ReconfigChunk, src=C1)) == 1  # not at once: nothing owed
    t.run(0.5)
    reqs = t.net.packets(chunk=w.ReconfigChunk, src=C1)
    assert len(reqs) == 2  # again when the timer expired ...
    assert t.ca.pm.error_count == errors  # ... and that expiry counted as no failure
    assert resets(t.cevents) == [StreamResetEvent(t.aid, 0x0002, (1,))]


def test_a_lost_request_counts_against_the_error_counters() -> None:  # §5.1.1
    t = Two(ON, ON)
    t.net.link(C1, P1, blackhole=True)
    t.ca.reconfig().reset_streams((1,), False, True, t.net.now)
    t.net.poke(t.client)
    p = t.ca.pm.current()
    assert p is not None
    before, rto = (t.ca.pm.error_count, p.error_count), p.rto.rto
    t.run(rto + 0.001)
    assert (t.ca.pm.error_count, p.error_count) == (before[0] + 1, before[1] + 1)
    assert p.rto.rto == 2 * rto  # backed off, as T3-rtx (RFC 9260 §6.3.3)
    assert len(t.net.packets(chunk=w.ReconfigChunk, src=C1)) == 2


# ----- SSN/TSN Reset (RFC 6525 §5.1.4, §5.2.4) -----

ALL = Config(stream_reset=0x07)


def assoc_resets(evs: list[Event]) -> list[AssocResetEvent]:
    return [e for e in evs if isinstance(e, AssocResetEvent)]


def _send_and_settle(t: Two, ep: Endpoint, aid: int, *msgs: tuple[bytes, int]) -> None:
    for data, stream in msgs:
        ep.send(aid, data, t.net.now, stream=stream)
    t.net.poke(ep)
    t.run(0.5)


def test_peer_ssn_tsn_reset_performed() -> None:  # §5.2.4 G1-G6
    t = Two(ON, ALL)
    _send_and_settle(t, t.server, t.sa.id, (b"s0", 1), (b"s1", 1))
    _send_and_settle(t, t.client, t.aid, (b"c0", 1))
    s, r = t.sa.data.sender, t.sa.data.receiver  # type: ignore[union-attr]
    g2 = s.tsn(s.next_seq)  # the highest TSN the server sent, plus one
    g1 = (r.cum_tsn + 1 + (1 << 31)) & 0xFFFFFFFF  # smallest not acknowledged, plus 2**31
    out = t.feed(w.SsnTsnResetRequestParam(_seq(t)))
    assert out == [w.ReconfigResponseParam(_seq(t), 1, g2, g1)]
    assert assoc_resets(t.sevents) == [AssocResetEvent(t.sa.id, 0, g2, g1)]
    s, r = t.sa.data.sender, t.sa.data.receiver  # type: ignore[union-attr]
    assert r.cum_tsn == (g1 - 1) & 0xFFFFFFFF and s.tsn(s.next_seq) == g2
    assert r.next_ssn(1) == 0  # G5, both ways
    # E1: a retransmission gets the same answer, TSNs and all, and resets nothing again.
    assert t.feed(w.SsnTsnResetRequestParam(_seq(t))) == out
    assert len(assoc_resets(t.sevents)) == 1
    # The server's next message takes TSN G2 and SSN 0.
    t.server.send(t.sa.id, b"after", t.net.now, stream=1)
    t.net.poke(t.server)
    t.run(0.001)
    [rec] = [x for x in t.net.packets(chunk=w.DataChunk, src=P1)][-1:]
    [d] = [c for c in w.decode_packet(rec.data).chunks if isinstance(c, w.DataChunk)]
    assert (d.tsn, d.ssn, d.user_data) == (g2, 0, b"after")


def _now_tsns(t: Two) -> tuple[int, int]:
    """The server's next TSN and the next it expects of the client."""
    s, r = t.sa.data.sender, t.sa.data.receiver  # type: ignore[union-attr]
    return s.tsn(s.next_seq), (r.cum_tsn + 1) & 0xFFFFFFFF


def test_peer_ssn_tsn_reset_denied_unless_enabled() -> None:  # §6.3.1
    t = Two(ON, Config(stream_reset=0x05))
    _send_and_settle(t, t.server, t.sa.id, (b"s0", 1))
    _send_and_settle(t, t.client, t.aid, (b"c0", 1), (b"c1", 1))
    r = t.sa.data.receiver  # type: ignore[union-attr]
    cum = r.cum_tsn
    # The answer to a 15 is the 20-byte form whatever the result (module notes: usrsctp
    # and Linux want it); nothing was reset, so its TSNs are the numbering as it stands.
    out = t.feed(w.SsnTsnResetRequestParam(_seq(t)))
    assert out == [w.ReconfigResponseParam(_seq(t), 2, *_now_tsns(t))]
    assert _now_tsns(t)[1] == (cum + 1) & 0xFFFFFFFF
    assert assoc_resets(t.sevents) == [] and r.cum_tsn == cum
    raw = w.encode_chunk(w.ReconfigChunk(tuple(out)))
    assert len(raw) == 4 + 20 and raw[6:8] == b"\x00\x14"  # parameter length 20
    # E1: a retransmission is denied again, in the same form
    assert t.feed(w.SsnTsnResetRequestParam(_seq(t))) == out


def test_peer_ssn_tsn_reset_bad_sequence_number_in_the_long_form() -> None:  # §4.4, E1
    t = Two(ON, ALL)
    assert t.feed(w.SsnTsnResetRequestParam(_seq(t) + 7)) == [
        w.ReconfigResponseParam(_seq(t) + 7, 5, *_now_tsns(t))
    ]
    assert assoc_resets(t.sevents) == []


def test_peer_ssn_tsn_reset_in_progress_while_our_data_is_outstanding() -> None:  # §5.2.4
    t = Two(ON, ALL)
    t.net.link(P1, C1, blackhole=True)  # the server's data is not acknowledged yet
    t.server.send(t.sa.id, b"in flight", t.net.now, stream=1)
    t.net.poke(t.server)
    t.run(0.001)
    assert t.sa.data.sender.outstanding  # type: ignore[union-attr]
    out = t.feed(w.SsnTsnResetRequestParam(_seq(t)))
    assert out == [w.ReconfigResponseParam(_seq(t), 6, *_now_tsns(t))]  # In progress
    t.server.send(t.sa.id, b"later", t.net.now, stream=2)  # waits: no new TSNs meanwhile
    assert [m[0] for m in t.sa.data.held] == [b"later"]  # type: ignore[union-attr]
    with pytest.raises(UsageError) as e:  # and the server asks nothing of its own meanwhile
        t.sa.reconfig().add_streams(1, 0, t.net.now)
    assert e.value.errno == errno.EINPROGRESS
    t.net.link(P1, C1, blackhole=False)
    t.run(5)  # T3 sends it again, the client acknowledges it
    assert not t.sa.data.sender.outstanding  # type: ignore[union-attr]
    s = t.sa.data.sender  # type: ignore[union-attr]
    g2 = s.tsn(s.next_seq)
    [ans] = t.feed(w.SsnTsnResetRequestParam(_seq(t)))  # the request again: performed
    assert isinstance(ans, w.ReconfigResponseParam) and ans.result == 1
    assert ans.sender_next_tsn == g2
    assert t.sa.data.held == []  # type: ignore[union-attr]
    t.run(0.5)
    got = [e for e in t.cevents if isinstance(e, DataReceived)]
    assert [(e.data, e.tsn) for e in got][-1] == (b"later", g2)


def test_peer_ssn_tsn_reset_while_our_request_is_outstanding() -> None:  # result 4
    t = Two(ON, ALL)
    t.net.link(P1, C1, blackhole=True)
    t.sa.reconfig().add_streams(1, 0, t.net.now)
    t.net.poke(t.server)
    assert t.feed(w.SsnTsnResetRequestParam(_seq(t))) == [
        w.ReconfigResponseParam(_seq(t), 4, *_now_tsns(t))
    ]


def _reset_pair() -> Two:
    t = Two(ALL, ALL)
    _send_and_settle(t, t.client, t.aid, (b"a", 1), (b"b", 1))
    _send_and_settle(t, t.server, t.sa.id, (b"x", 2))
    return t


def test_we_reset_the_association() -> None:  # §5.1.4, §6.3.3
    t = _reset_pair()
    t.ca.reconfig().reset_assoc(t.net.now)
    t.client.send(t.aid, b"c", t.net.now, stream=1)  # after the call: waits for the answer
    t.net.poke(t.client)
    t.run(0.5)
    [mine] = assoc_resets(t.cevents)
    [theirs] = assoc_resets(t.sevents)
    assert mine.flags == theirs.flags == 0
    assert (mine.local_tsn, mine.remote_tsn) == (theirs.remote_tsn, theirs.local_tsn)
    got = [e for e in t.sevents if isinstance(e, DataReceived)]
    assert [(e.data, e.ssn) for e in got] == [(b"a", 0), (b"b", 1), (b"c", 0)]
    assert got[-1].tsn == mine.local_tsn  # the first TSN of the new numbering
    _send_and_settle(t, t.server, t.sa.id, (b"y", 2))
    back = [e for e in t.cevents if isinstance(e, DataReceived)]
    assert [(e.data, e.ssn, e.tsn) for e in back][-1] == (b"y", 0, mine.remote_tsn)


def test_reset_assoc_waits_for_data_in_flight() -> None:  # module decision (§5.1.4, G4)
    t = _reset_pair()
    t.client.send(t.aid, b"queued", t.net.now, stream=3)
    t.ca.reconfig().reset_assoc(t.net.now)  # no error: the request waits for it
    assert t.ca.reconfig().request is None
    t.net.poke(t.client)
    t.run(0.5)
    [ev] = assoc_resets(t.cevents)
    assert ev.flags == 0
    got = [e for e in t.sevents if isinstance(e, DataReceived)]
    assert got[-1].data == b"queued" and got[-1].tsn != ev.local_tsn  # under the old TSNs


def test_reset_assoc_denied() -> None:  # §5.1.4, §6.1.2 SCTP_ASSOC_RESET_DENIED
    t = Two(ALL, ON)
    s = t.ca.data.sender  # type: ignore[union-attr]
    before = s.tsn(s.next_seq)
    t.ca.reconfig().reset_assoc(t.net.now)
    t.client.send(t.aid, b"held", t.net.now, stream=1)
    t.net.poke(t.client)
    t.run(0.5)
    [ev] = assoc_resets(t.cevents)
    assert ev.flags == 0x0004 and ev.local_tsn == before
    assert assoc_resets(t.sevents) == []
    got = [e for e in t.sevents if isinstance(e, DataReceived)]
    assert [(e.data, e.tsn) for e in got] == [(b"held", before)]  # released, old numbering


def test_reset_assoc_errors() -> None:
    t = Two(ALL, ALL)
    r = t.ca.reconfig()
    r.reset_assoc(t.net.now)
    for call in (lambda: r.reset_assoc(t.net.now), lambda: r.add_streams(1, 0, t.net.now),
                 lambda: r.reset_streams((1,), False, True, t.net.now)):  # fmt: skip
        with pytest.raises(UsageError) as e:
            call()
        assert e.value.errno == errno.EINPROGRESS
    t.net.poke(t.client)
    t.run(0.5)
    assert len(assoc_resets(t.cevents)) == 1
    with pytest.raises(UsageError) as e:  # §5.1.4: one per 30 seconds
        r.reset_assoc(t.net.now)
    assert e.value.errno == errno.EAGAIN
    t.run(30)
    r.reset_assoc(t.net.now)
    t.net.poke(t.client)
    t.run(0.5)
    assert len(assoc_resets(t.cevents)) == 2


def test_reset_assoc_eopnotsupp_without_reconfig() -> None:  # RFC 6525 §6.3.3, module notes
    t = Two(Config(reconfig=False), ALL)
    with pytest.raises(UsageError) as e:
        t.ca.reconfig().reset_assoc(t.net.now)
    assert e.value.errno == errno.EOPNOTSUPP


# ----- Add Incoming Streams (RFC 6525 §5.1.6, §5.2.6) -----


def changes(evs: list[Event]) -> list[StreamChangeEvent]:
    return [e for e in evs if isinstance(e, StreamChangeEvent)]


def test_peer_adds_incoming_streams() -> None:  # §5.2.6, §5.1.5
    t = Two(ON, ON)
    n, i = t.sa.outbound_streams, t.sa.inbound_streams
    ci = t.ca.inbound_streams
    out = t.feed(w.AddIncomingStreamsRequestParam(_seq(t), 3))
    # "Performed", then our own Add Outgoing Streams Request for as many streams, in a
    # RE-CONFIG chunk of its own after the response (§3.1 has no such pair)
    ours = w.AddOutgoingStreamsRequestParam(t.sa.local_tsn, 3)
    assert out == [w.ReconfigResponseParam(_seq(t), 1), ours]
    assert [c.params for c in t.server_reconfigs()] == [(out[0],), (ours,)]
    # Our outbound streams grow when the peer performs our request, not before.
    assert t.sa.outbound_streams == t.sa.data.sender.outbound_streams == n  # type: ignore[union-attr]
    assert changes(t.sevents) == []
    # E1: the 18 again gets the same answer, and no second request of ours.
    assert t.feed(w.AddIncomingStreamsRequestParam(_seq(t), 3)) == [out[0]]
    t.run(0.5)  # the client (enabled) performs our 17: its inbound streams grow
    assert t.sa.outbound_streams == t.sa.data.sender.outbound_streams == n + 3  # type: ignore[union-attr]
    assert changes(t.sevents) == [StreamChangeEvent(t.sa.id, 0, i, n + 3)]
    assert changes(t.cevents) == [StreamChangeEvent(t.aid, 0, ci + 3, t.ca.outbound_streams)]
    assert t.sa.reconfig().request is None
    _send_and_settle(t, t.server, t.sa.id, (b"new stream", n + 2))
    got = [e for e in t.cevents if isinstance(e, DataReceived)]
    assert [(e.stream_id, e.ssn, e.data) for e in got] == [(n + 2, 0, b"new stream")]


def test_peer_adds_incoming_streams_while_our_request_is_outstanding() -> None:  # result 4
    t = Two(ON, ON)
    t.net.link(P1, C1, blackhole=True)
    t.sa.reconfig().reset_streams((1,), False, True, t.net.now)
    t.net.poke(t.server)
    n = t.sa.outbound_streams
    assert t.feed(w.AddIncomingStreamsRequestParam(_seq(t), 3)) == [
        w.ReconfigResponseParam(_seq(t), 4)
    ]
    assert t.sa.outbound_streams == n and changes(t.sevents) == []


def _server_asks_for_incoming(t: Two, k: int) -> None:
    """The server sends an Add Incoming Streams Request the client never gets; the tests
    answer it by hand, the way Linux or usrsctp would."""
    t.net.link(P1, C1, blackhole=True)
    t.sa.reconfig().add_streams(0, k, t.net.now)
    t.net.poke(t.server)
    t.run(0.001)


def test_our_add_incoming_answered_by_the_peers_add_outgoing() -> None:  # §5.2.6, as Linux
    t = Two(ON, Config(stream_reset=0x01))  # the peer may not ask us to add streams ...
    i = t.sa.inbound_streams
    _server_asks_for_incoming(t, 2)
    assert t.sa.data.receiver.inbound_streams == i + 2  # type: ignore[union-attr]
    # ... but this 17 is the answer to our 18: performed, and our request is done
    out = t.feed(w.AddOutgoingStreamsRequestParam(_seq(t), 2))
    assert out == [w.ReconfigResponseParam(_seq(t), 1)]
    assert t.sa.reconfig().request is None
    assert t.sa.inbound_streams == t.sa.data.receiver.inbound_streams == i + 2  # type: ignore[union-attr]
    assert changes(t.sevents) == [StreamChangeEvent(t.sa.id, 0, i + 2, t.sa.outbound_streams)]
    # Linux sends no response to an 18 it performs; one coming late changes nothing.
    assert t.feed(w.ReconfigResponseParam(t.sa.local_tsn, 1)) == []
    assert t.sa.inbound_streams == i + 2 and len(changes(t.sevents)) == 1
    sent = len(t.server_reconfigs())
    t.run(5)  # no retransmission of the request: it was answered
    assert len(t.server_reconfigs()) == sent


def test_our_add_incoming_performed_then_the_peers_add_outgoing() -> None:  # as usrsctp
    t = Two(ON, ON)
    i = t.sa.inbound_streams
    _server_asks_for_incoming(t, 2)
    assert t.feed(w.ReconfigResponseParam(t.sa.local_tsn, 1)) == []
    assert t.sa.reconfig().request is None
    assert t.sa.inbound_streams == i and changes(t.sevents) == []  # counted with the 17
    assert t.sa.data.receiver.inbound_streams == i + 2  # type: ignore[union-attr]
    assert t.feed(w.AddOutgoingStreamsRequestParam(_seq(t), 2)) == [
        w.ReconfigResponseParam(_seq(t), 1)
    ]
    assert t.sa.inbound_streams == t.sa.data.receiver.inbound_streams == i + 2  # type: ignore[union-attr]
    assert changes(t.sevents) == [StreamChangeEvent(t.sa.id, 0, i + 2, t.sa.outbound_streams)]


def test_peer_adds_incoming_streams_denied() -> None:  # §6.3.1; and beyond 65535
    t = Two(ON, Config(stream_reset=0x03))
    n = t.sa.outbound_streams
    assert t.feed(w.AddIncomingStreamsRequestParam(_seq(t), 3)) == [
        w.ReconfigResponseParam(_seq(t), 2)
    ]
    t2 = Two(ON, ON)
    big = 65536 - t2.sa.outbound_streams
    assert t2.feed(w.AddIncomingStreamsRequestParam(_seq(t2), big)) == [
        w.ReconfigResponseParam(_seq(t2), 2)
    ]
    assert t.sa.outbound_streams == n
    assert [e for e in t.sevents + t2.sevents if isinstance(e, StreamChangeEvent)] == []


def test_we_add_incoming_streams() -> None:  # §5.1.6
    t = Two(ON, ON)
    i, o = t.ca.inbound_streams, t.sa.outbound_streams
    t.ca.reconfig().add_streams(0, 2, t.net.now)
    t.net.poke(t.client)
    t.run(0.1)
    assert t.ca.inbound_streams == i + 2 and t.sa.outbound_streams == o + 2
    assert [e for e in t.cevents if isinstance(e, StreamChangeEvent)] == [
        StreamChangeEvent(t.aid, 0, i + 2, t.ca.outbound_streams)
    ]
    assert [e for e in t.sevents if isinstance(e, StreamChangeEvent)] == [
        StreamChangeEvent(t.sa.id, 0, t.sa.inbound_streams, o + 2)
    ]
    _send_and_settle(t, t.server, t.sa.id, (b"on a new stream", o + 1))
    got = [e for e in t.cevents if isinstance(e, DataReceived)]
    assert [(e.stream_id, e.data) for e in got] == [(o + 1, b"on a new stream")]


def test_we_add_incoming_streams_denied_takes_them_back() -> None:  # §5.1.6
    t = Two(ON, Config(stream_reset=0x01))
    i = t.ca.inbound_streams
    t.ca.reconfig().add_streams(0, 2, t.net.now)
    assert t.ca.data.receiver.inbound_streams == i + 2  # type: ignore[union-attr]
    t.net.poke(t.client)
    t.run(0.1)
    assert t.ca.inbound_streams == t.ca.data.receiver.inbound_streams == i  # type: ignore[union-attr]
    assert [e for e in t.cevents if isinstance(e, StreamChangeEvent)] == [
        StreamChangeEvent(t.aid, 0x0004, i, t.ca.outbound_streams)  # SCTP_STREAM_CHANGE_DENIED
    ]


def test_we_add_both_in_one_chunk() -> None:  # §3.1 (case 7)
    t = Two(ON, ON)
    i, o = t.ca.inbound_streams, t.ca.outbound_streams
    t.ca.reconfig().add_streams(1, 4, t.net.now)
    t.net.poke(t.client)
    t.run(0.1)
    rec = t.net.packets(chunk=w.ReconfigChunk, src=C1)[0]  # then its answer to the peer's 17
    [c] = [c for c in w.decode_packet(rec.data).chunks if isinstance(c, w.ReconfigChunk)]
    assert [type(p) for p in c.params] == [w.AddOutgoingStreamsRequestParam,
                                           w.AddIncomingStreamsRequestParam]  # fmt: skip
    assert (t.ca.inbound_streams, t.ca.outbound_streams) == (i + 4, o + 1)
    assert (t.sa.inbound_streams, t.sa.outbound_streams) == (o + 1, i + 4)
    assert [e for e in t.cevents if isinstance(e, StreamChangeEvent)][-1] == StreamChangeEvent(
        t.aid, 0, i + 4, o + 1
    )


def test_add_streams_argument_errors() -> None:
    t = Two(ON, ON)
    r = t.ca.reconfig()
    o, i = t.ca.outbound_streams, t.ca.inbound_streams
    for out, inc in ((0, 0), (-1, 2), (2, -1), (65536 - o, 0), (0, 65536 - i)):
        with pytest.raises(UsageError) as e:
            r.add_streams(out, inc, t.net.now)
        assert e.value.errno == errno.EINVAL
    assert r.request is None and t.ca.data.receiver.inbound_streams == i  # type: ignore[union-attr]


# ----- a reset and the user's shutdown (RFC 9260 §9.2) -----


def _closed(evs: list[Event]) -> bool:
    return any(type(e).__name__ == "AssocChange" and e.state.name == "SHUTDOWN_COMP"  # type: ignore[union-attr]
               for e in evs)  # fmt: skip


def test_shutdown_gives_up_a_reset_not_asked_yet() -> None:  # module notes
    t = Two(ON, ON)
    t.net.link(P1, C1, blackhole=True)  # "a" stays unacknowledged: the reset must wait
    t.client.send(t.aid, b"a", t.net.now, stream=1)
    t.net.poke(t.client)
    t.run(0.001)
    t.ca.reconfig().reset_streams((1,), False, True, t.net.now)
    t.client.send(t.aid, b"b", t.net.now, stream=1)  # held by the reset
    t.client.shutdown(t.aid, t.net.now)
    t.net.poke(t.client)
    t.net.link(P1, C1, blackhole=False)
    t.run(10)
    got = [e for e in t.sevents if isinstance(e, DataReceived)]
    assert [(e.data, e.ssn) for e in got] == [(b"a", 0), (b"b", 1)]  # the old numbering
    assert resets(t.cevents) == [StreamResetEvent(t.aid, 0x0002 | 0x0008, (1,))]  # FAILED
    assert not [e for e in t.cevents if isinstance(e, SendFailed)]
    assert t.server_reconfigs() == [] and _closed(t.cevents)


def test_shutdown_waits_for_messages_held_by_an_outstanding_reset() -> None:
    t = Two(ON, ON)
    t.ca.reconfig().reset_streams((1,), False, True, t.net.now)  # the request leaves now
    t.client.send(t.aid, b"held", t.net.now, stream=1)
    t.client.shutdown(t.aid, t.net.now)
    t.net.poke(t.client)
    t.run(10)
    assert not [e for e in t.cevents if isinstance(e, SendFailed)]
    got = [e for e in t.sevents if isinstance(e, DataReceived)]
    assert [(e.data, e.ssn) for e in got] == [(b"held", 0)]
    assert _closed(t.cevents)


def test_reconfig_is_answered_while_shutting_down() -> None:  # module notes
    t = Two(ON, ON)
    t.net.link(P1, C1, blackhole=True)  # the server's data stays unacknowledged ...
    t.server.send(t.sa.id, b"pending", t.net.now, stream=1)
    t.server.shutdown(t.sa.id, t.net.now)  # ... so it stays in SHUTDOWN-PENDING
    t.net.poke(t.server)
    t.run(0.001)
    assert t.sa.state is State.SHUTDOWN_PENDING
    # Once shutting down, the peer's requests are denied but an Outgoing SSN Reset, which
    # is performed (it may be what releases the peer's own held messages).
    assert t.feed(w.AddOutgoingStreamsRequestParam(_seq(t), 1)) == [
        w.ReconfigResponseParam(_seq(t), 2)
    ]
    out = t.feed(w.OutgoingSsnResetRequestParam(_seq(t) + 1, 0, _last(t), (1,)))
    assert out == [w.ReconfigResponseParam(_seq(t) + 1, 1)]
    assert resets(t.sevents) == [StreamResetEvent(t.sa.id, 0x0001, (1,))]
    t.net.link(P1, C1, blackhole=False)
    t.run(10)
    assert _closed(t.sevents)
