"""Set-up and verification-tag rules driven by hand-made packets (no simulator needed).

The client endpoint is fed crafted INIT ACKs, ABORTs, ICMP signals and so on;
what it sends back is decoded and checked.
"""

from __future__ import annotations

import errno
import random

import pytest

from sctpx import wire as w
from sctpx.core import AssocChange, AssocChangeState, Endpoint, PeerAddrChange, State
from sctpx.core.types import UnreachableKind

L1 = "198.18.1.1"
P1, P2, P3 = "198.18.1.2", "198.18.2.2", "198.18.3.2"
CPORT, SPORT = 40000, 5000
PEER_TAG = 0x0BADCAFE


class Client:
    def __init__(self, addrs: list[str] | None = None, **options: object) -> None:
        options.setdefault("init_stagger", 0)  # classic timers: T1 is the only timer
        self.ep = Endpoint(CPORT, [L1], rng=random.Random(7))
        self.aid = self.ep.connectx([(a, SPORT) for a in (addrs or [P1, P2])], 0.0, **options)
        [(data, _s, _d)] = self.ep.datagrams_to_send(0.0)
        init = w.decode_packet(data).chunks[0]
        assert isinstance(init, w.InitChunk)
        self.tag = init.initiate_tag

    @property
    def assoc(self):  # type: ignore[no-untyped-def]
        return self.ep.association(self.aid)

    def feed(
        self, chunks: list[w.Chunk], vtag: int | None = None, src: str = P1,
        now: float = 0.02, sport: int = SPORT,
    ) -> list[tuple[w.Packet, tuple[str, int]]]:  # fmt: skip
        data = w.encode_packet(w.Packet(sport, CPORT, self.tag if vtag is None else vtag, chunks))
        self.ep.receive(data, (src, 9899), (L1, 9899), now)
        return [(w.decode_packet(d), dst) for d, _s, dst in self.ep.datagrams_to_send(now)]

    def events(self) -> list[object]:
        out = []
        while (e := self.ep.next_event()) is not None:
            out.append(e)
        return out


def init_ack(*params: w.Param, tag: int = PEER_TAG, os_: int = 5, mis: int = 5,
             rwnd: int = 65536, cookie: bool = True) -> w.InitAckChunk:  # fmt: skip
    ps = list(params) + ([w.StateCookieParam(b"C" * 40)] if cookie else [])
    return w.InitAckChunk(tag, rwnd, os_, mis, 1000, tuple(ps))


def test_init_ack_leads_to_cookie_echo_at_once() -> None:  # IACK-11, CK-01
    c = Client()
    out = c.feed([init_ack()])
    [(pkt, dst)] = out
    assert dst == (P1, 9899) and pkt.verification_tag == PEER_TAG
    assert pkt.chunks == [w.CookieEchoChunk(b"C" * 40)]
    assert c.assoc.state is State.COOKIE_ECHOED
    assert (c.assoc.outbound_streams, c.assoc.inbound_streams) == (5, 5)  # IACK-10


@pytest.mark.parametrize(
    "ack",
    [
        init_ack(tag=0),
        init_ack(os_=0),
        init_ack(mis=0),
        init_ack(rwnd=1499),
        init_ack(w.HostNameAddressParam(b"example.test\x00")),
        init_ack(cookie=False),
    ],
)
def test_bad_init_ack_is_aborted_and_setup_fails(ack: w.InitAckChunk) -> None:  # IACK-02
    c = Client()
    [(pkt, dst)] = c.feed([ack])
    assert dst[0] == P1 and pkt.verification_tag == ack.initiate_tag
    assert isinstance(pkt.chunks[0], w.AbortChunk) and not pkt.chunks[0].t_bit
    [ev] = c.events()
    assert isinstance(ev, AssocChange) and ev.state is AssocChangeState.CANT_STR_ASSOC
    assert ev.error == errno.EPROTO and ev.causes == pkt.chunks[0].causes
    assert c.ep.associations == {}


def test_init_ack_with_wrong_tag_or_late_is_ignored() -> None:  # IACK-01
    c = Client()
    assert c.feed([init_ack()], vtag=c.tag ^ 1) == []
    assert c.assoc.state is State.COOKIE_WAIT and c.ep.get_timer() == 1.0
    c.feed([init_ack()])
    assert c.feed([init_ack(tag=1234)]) == []  # a second INIT ACK in COOKIE-ECHOED
    assert c.assoc.peer_tag == PEER_TAG


def test_init_ack_from_unlisted_source_is_accepted_unconfirmed() -> None:  # IACK-06, IACK-07
    c = Client(addrs=[P1])
    [(pkt, dst)] = c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P2))], src=P2)
    a = c.assoc
    assert a.paths[P1].confirmed and not a.paths[P2].confirmed
    assert a.pm.primary == P1 and dst[0] == P1
    assert pkt.chunks == [w.CookieEchoChunk(b"C" * 40)]


def test_init_ack_addresses_define_the_peer() -> None:  # IACK-03, IACK-04, IACK-08
    c = Client(addrs=[P1, P2, "198.18.7.7"])
    c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv6AddressParam("fd00::2"),
                     w.IPv4AddressParam(P3))], src=P2)  # fmt: skip
    assert list(c.assoc.paths) == [P1, P2, P3]
    assert [c.assoc.paths[x].confirmed for x in (P1, P2, P3)] == [True, True, False]
    assert c.events() == []  # no event for the dropped address, no error for IPv6


def test_init_ack_without_addresses_has_only_its_source() -> None:  # IACK-03
    c = Client(addrs=[P1, P2])
    c.feed([init_ack()], src=P1)
    assert list(c.assoc.paths) == [P1]


@pytest.mark.parametrize(
    ("ptype", "reported"),
    [(0xC123, True), (0x8123, False), (0x4123, True), (0x0123, False)],
)
def test_unknown_init_ack_parameters_by_action_bits(ptype: int, reported: bool) -> None:
    c = Client()  # IACK-09: COOKIE ECHO always sent; reports bundled after it
    unknown = w.UnknownParam(ptype, b"xyz")
    [(pkt, _dst)] = c.feed([init_ack(unknown, w.IPv4AddressParam(P3))])
    assert isinstance(pkt.chunks[0], w.CookieEchoChunk)
    if reported:
        assert pkt.chunks[1:] == [w.ErrorChunk((w.UnrecognizedParameters(unknown.tlv()),))]
    else:
        assert pkt.chunks[1:] == []
    stops = ptype >> 14 in (0, 1)
    assert (P3 in c.assoc.paths) is not stops  # parameters after a "stop" are not read


def test_abort_in_cookie_wait_by_tag() -> None:  # T1-12, §8.5.1 B
    c = Client()
    assert c.feed([w.AbortChunk()], vtag=c.tag ^ 1) == []
    assert c.feed([w.AbortChunk(flags=w.FLAG_T)], vtag=c.tag) == []  # T set: needs peer tag
    assert c.assoc.state is State.COOKIE_WAIT
    assert c.feed([w.AbortChunk()]) == []  # never answered
    [ev] = c.events()
    assert isinstance(ev, AssocChange) and ev.error == errno.ECONNREFUSED
    assert c.ep.associations == {}


def test_shutdown_ack_in_cookie_wait_gets_reflected_complete() -> None:  # T1-11
    c = Client()
    [(pkt, dst)] = c.feed([w.ShutdownAckChunk()], vtag=0x12345678)
    assert dst[0] == P1 and pkt.verification_tag == 0x12345678
    assert pkt.chunks == [w.ShutdownCompleteChunk(flags=w.FLAG_T)]
    assert c.assoc.state is State.COOKIE_WAIT and c.ep.get_timer() == 1.0
    assert c.feed([w.ShutdownChunk(5)]) == []  # a SHUTDOWN is discarded


def test_heartbeat_answered_in_cookie_echoed() -> None:  # CK-05
    c = Client()
    c.feed([init_ack()])
    [(pkt, dst)] = c.feed([w.HeartbeatChunk(b"peer-info")])
    assert pkt.chunks == [w.HeartbeatAckChunk(b"peer-info")] and dst[0] == P1


def test_icmp_must_quote_our_init() -> None:  # ICMP-01
    c = Client(init_stagger=0)
    hdr = CPORT.to_bytes(2, "big") + SPORT.to_bytes(2, "big")
    other_init = w.encode_packet(w.Packet(CPORT, SPORT, 0, [w.InitChunk(c.tag ^ 1, 1500, 1, 1, 1)]))
    c.ep.receive_unreachable((P1, 9899), UnreachableKind.PROTOCOL, other_init, 0.01)
    c.ep.receive_unreachable((P1, 9899), UnreachableKind.PROTOCOL, hdr + b"\0\0\0\x05", 0.01)
    assert c.ep.datagrams_to_send(0.01) == [] and c.assoc.state is State.COOKIE_WAIT
    ours = w.encode_packet(w.Packet(CPORT, SPORT, 0, [w.InitChunk(c.tag, 1500, 1, 1, 1)]))
    c.ep.receive_unreachable((P1, 9899), UnreachableKind.PROTOCOL, ours[:28], 0.01)
    [(_d, _s, dst)] = c.ep.datagrams_to_send(0.01)
    assert dst[0] == P2  # ICMP-03 decided: on to the next listed address at once


def established_client() -> Client:
    c = Client()
    c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P3))])
    c.feed([w.CookieAckChunk()], now=0.04)
    c.events()
    assert c.assoc.state is State.ESTABLISHED
    return c


def test_forged_heartbeat_ack_does_not_confirm() -> None:  # PV-02
    c = established_client()
    c.ep.handle_timer(0.04)
    probes = [w.decode_packet(d) for d, _s, dst in c.ep.datagrams_to_send(0.04) if dst[0] == P3]
    [hb] = [ch for pkt in probes for ch in pkt.chunks if isinstance(ch, w.HeartbeatChunk)]
    forged = bytearray(hb.info)
    forged[9] ^= 0xFF  # the nonce
    c.feed([w.HeartbeatAckChunk(bytes(forged))], vtag=c.tag, src=P3, now=0.05)
    assert not c.assoc.paths[P3].confirmed and c.events() == []
    c.feed([w.HeartbeatAckChunk(hb.info)], vtag=c.tag, src=P3, now=0.05)
    assert c.assoc.paths[P3].confirmed
    assert [type(e) for e in c.events()] == [PeerAddrChange]


def test_established_tag_rules() -> None:  # §8.5, §8.5.1 B, C
    c = established_client()
    assert c.feed([w.AbortChunk()], vtag=PEER_TAG) == []  # own tag needed without T
    assert c.feed([w.ShutdownCompleteChunk()]) == []  # not in SHUTDOWN-ACK-SENT: ignored
    assert c.feed([w.HeartbeatChunk(b"x")], vtag=123) == []  # wrong tag: silently dropped
    assert c.assoc.state is State.ESTABLISHED
    c.feed([w.AbortChunk(flags=w.FLAG_T)], vtag=PEER_TAG)  # reflected peer tag: accepted
    [ev] = c.events()
    assert isinstance(ev, AssocChange) and ev.state is AssocChangeState.COMM_LOST


def test_unrecognized_chunks_by_action_bits() -> None:  # §3.2
    c = established_client()
    hb = w.HeartbeatChunk(b"x")
    out = c.feed([w.UnknownChunk(0x7F, b"ab"), hb])  # 01: stop, report
    assert [type(ch) for p, _ in out for ch in p.chunks] == [w.ErrorChunk]
    out = c.feed([w.UnknownChunk(0xFF, b"ab"), hb])  # 11: skip, report
    assert [type(ch) for p, _ in out for ch in p.chunks] == [w.ErrorChunk, w.HeartbeatAckChunk]
    out = c.feed([w.UnknownChunk(0xBF, b"ab"), hb])  # 10: skip silently
    assert [type(ch) for p, _ in out for ch in p.chunks] == [w.HeartbeatAckChunk]
    assert c.feed([w.UnknownChunk(0x3F, b"ab"), hb]) == []  # 00: stop silently
    err = c.feed([w.UnknownChunk(0x7F, b"ab")])[0][0].chunks[0]
    assert err == w.ErrorChunk((w.UnrecognizedChunkType(w.UnknownChunk(0x7F, b"ab").tlv()),))


def test_malformed_and_foreign_packets_never_raise() -> None:
    c = established_client()
    rng = random.Random(3)
    good = w.encode_packet(w.Packet(SPORT, CPORT, c.tag, [w.HeartbeatChunk(b"abc")]))
    for _ in range(3000):
        data = bytearray(good if rng.random() < 0.7 else rng.randbytes(rng.randrange(40)))
        for _ in range(rng.randrange(4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        c.ep.receive(bytes(data), (P1, 9899), (L1, 9899), 0.1)
        c.ep.receive(bytes(data), (P1, 9899), (L1, 9899), 0.1)  # with a good CRC
    assert c.assoc.state is State.ESTABLISHED


def test_init_collision_in_cookie_wait_and_cookie_echoed() -> None:  # COL-01, COL-02
    c = Client(addrs=[P1, P2])
    their = w.InitChunk(0x5EED5EED, 65536, 4, 4, 99)
    [(pkt, dst)] = c.feed([their], vtag=0, src=P2)
    ack = pkt.chunks[0]
    assert isinstance(ack, w.InitAckChunk) and dst[0] == P2
    assert (ack.initiate_tag, pkt.verification_tag) == (c.tag, 0x5EED5EED)  # our own tag
    assert c.assoc.state is State.COOKIE_WAIT and c.ep.get_timer() == 1.0  # T1 untouched
    # Not a listed address, so not this association (§5.2.1 rule 1): a new peer, and
    # we are not listening, so it gets the ABORT of §8.4 rule 3; our set-up goes on.
    [(pkt, _dst)] = c.feed([their], vtag=0, src="198.18.8.8")
    assert pkt.chunks == [w.AbortChunk()] and pkt.verification_tag == 0x5EED5EED
    c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P2))])
    assert c.assoc.state is State.COOKIE_ECHOED
    [(pkt, _dst)] = c.feed([their], vtag=0, src=P1)  # no new address: INIT ACK again
    again = pkt.chunks[0]
    assert isinstance(again, w.InitAckChunk) and again.initiate_tag == c.tag
    extra = w.InitChunk(0x5EED5EED, 65536, 4, 4, 99, (w.IPv4AddressParam(P3),))
    [(pkt, _dst)] = c.feed([extra], vtag=0, src=P1)  # a new address: ABORT, no change
    assert pkt.verification_tag == 0x5EED5EED
    assert pkt.chunks == [w.AbortChunk((w.RestartWithNewAddresses((w.IPv4AddressParam(P3),)),))]
    assert c.assoc.state is State.COOKIE_ECHOED and P3 not in c.assoc.paths


def test_set_primary_rules() -> None:  # PV-07, NTF MADE_PRIM
    c = Client(addrs=[P1, P2])
    c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P2), w.IPv4AddressParam(P3))])
    c.feed([w.CookieAckChunk()], now=0.04)
    c.events()
    with pytest.raises(OSError) as ei:
        c.ep.set_primary(c.aid, P3)  # unconfirmed
    assert ei.value.errno == errno.EINVAL
    with pytest.raises(OSError):
        c.ep.set_primary(c.aid, "198.18.9.9")
    with pytest.raises(OSError):
        c.ep.set_primary(c.aid, "nonsense")
    c.ep.set_primary(c.aid, P2)
    assert c.assoc.pm.primary == P2
    [ev] = c.events()
    assert isinstance(ev, PeerAddrChange) and (ev.address, ev.state.value) == (P2, "ADDR_MADE_PRIM")


def test_cookie_echo_case_b_in_cookie_wait_takes_the_peer_from_the_cookie() -> None:  # COL-04 B
    c = Client(addrs=[P1, P2])
    their = w.InitChunk(0x5EED5EED, 65536, 4, 3, 99, (w.IPv4AddressParam(P3),))
    [(pkt, _dst)] = c.feed([their], vtag=0, src=P1)  # our INIT ACK to their INIT...
    ack = pkt.chunks[0]
    assert isinstance(ack, w.InitAckChunk)
    cookie = next(q.cookie for q in ack.params if isinstance(q, w.StateCookieParam))
    # ...whose cookie comes back before any INIT ACK of theirs reached us.
    [(pkt, _dst)] = c.feed([w.CookieEchoChunk(cookie)], vtag=c.tag, src=P1)
    assert pkt.chunks == [w.CookieAckChunk()] and pkt.verification_tag == 0x5EED5EED
    a = c.assoc
    assert a.state is State.ESTABLISHED and a.peer_tag == 0x5EED5EED
    [ev] = c.events()
    assert isinstance(ev, AssocChange) and ev.state is AssocChangeState.COMM_UP
    assert (ev.outbound_streams, ev.inbound_streams) == (3, 4)  # min(ours, theirs)
    assert P3 in a.paths and not a.paths[P3].confirmed and a.data is not None


def test_init_in_cookie_wait_from_unlisted_source_naming_a_listed_address() -> None:  # COL-01
    c = Client(addrs=[P1, P2])
    their = w.InitChunk(0x5EED5EED, 65536, 4, 4, 99, (w.IPv4AddressParam(P2),))
    [(pkt, dst)] = c.feed([their], vtag=0, src=P3)
    assert isinstance(pkt.chunks[0], w.InitAckChunk) and dst[0] == P2  # rules 1 and 2


def test_replies_never_go_to_unconfirmed_addresses() -> None:  # PV-05
    c = established_client()  # P3 is unconfirmed
    out = c.feed([w.UnknownChunk(0x7F, b"ab")], src=P3)
    assert [(type(pk.chunks[0]), d[0]) for pk, d in out] == [(w.ErrorChunk, P1)]
    out = c.feed([w.HeartbeatChunk(b"hb")], src=P3)  # a HEARTBEAT ACK may go there
    assert [(type(pk.chunks[0]), d[0]) for pk, d in out] == [(w.HeartbeatAckChunk, P3)]


@pytest.mark.parametrize(
    "option",
    [
        {"num_ostreams": 0},
        {"max_instreams": 0},
        {"max_instreams": 70000},
        {"a_rwnd": 1499},
        {"max_init_timeo": -1},
        {"sack_delay": 0.6},
    ],
)
def test_options_that_would_break_the_init_are_einval(option: dict[str, object]) -> None:
    ep = Endpoint(CPORT, [L1], rng=random.Random(1))
    with pytest.raises(OSError) as ei:
        ep.connectx([(P1, SPORT)], 0.0, **option)
    assert ei.value.errno == errno.EINVAL and ep.datagrams_to_send(0.0) == []


def test_mapped_ipv4_addresses_are_plain_ipv4() -> None:  # INIT-04
    ep = Endpoint(CPORT, ["::ffff:198.18.1.1", "198.18.2.1"], rng=random.Random(1))
    assert ep.addresses == ["198.18.1.1", "198.18.2.1"]
    ep.connectx([("::ffff:198.18.1.2", SPORT)], 0.0)
    [(data, _s, dst)] = ep.datagrams_to_send(0.0)
    init = w.decode_packet(data).chunks[0]
    assert dst[0] == P1 and isinstance(init, w.InitChunk)
    assert not [q for q in init.params if isinstance(q, w.IPv6AddressParam)]


def test_init_with_tag_zero_is_silently_dropped() -> None:  # §3.3.2
    ep = Endpoint(SPORT, [P1], rng=random.Random(1))
    ep.listen()
    data = w.encode_packet(w.Packet(CPORT, SPORT, 0, [w.InitChunk(0, 65536, 1, 1, 1)]))
    ep.receive(data, (L1, 9899), (P1, 9899), 0.0)
    assert ep.datagrams_to_send(0.0) == []


@pytest.mark.parametrize(("resent", "measured"), [(False, True), (True, False)])
def test_karn_rule_on_the_init(resent: bool, measured: bool) -> None:  # T1-09
    c = Client(addrs=[P1])
    if resent:
        c.ep.handle_timer(1.0)
        c.ep.datagrams_to_send(1.0)
    c.feed([init_ack()], now=1.3 if resent else 0.3)
    rto = c.assoc.paths[P1].rto
    assert (rto.srtt is not None) is measured


def test_cookie_echo_to_an_unconfirmed_address_only_with_a_probe_within_the_pmtu() -> None:
    c = Client(addrs=[P1])  # CK-02, §5.4: the INIT ACK comes from P2 and lists only P2
    [(pkt, dst)] = c.feed([init_ack(w.IPv4AddressParam(P2))], src=P2)
    assert dst[0] == P2 and [type(x) for x in pkt.chunks] == [w.CookieEchoChunk, w.HeartbeatChunk]
    c = Client(addrs=[P1])  # the same with a cookie too big to bundle: no way to send it
    big = w.InitAckChunk(PEER_TAG, 65536, 5, 5, 1000,
                         (w.IPv4AddressParam(P2), w.StateCookieParam(b"C" * 1440)))  # fmt: skip
    assert c.feed([big], src=P2) == []
    [ev] = c.events()
    assert isinstance(ev, AssocChange) and ev.error == errno.EMSGSIZE


def test_retrans_limit_warning(caplog: pytest.LogCaptureFixture) -> None:  # FM-04
    c = Client(addrs=[P1, P2], assoc_max_retrans=11)  # two paths: 5 + 5 < 11
    c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P2))])
    with caplog.at_level("WARNING", logger="sctpx.core"):
        c.feed([w.CookieAckChunk()], now=0.04)
    assert "exceeds the sum" in caplog.text
    quiet = Client(addrs=[P1, P2])  # the defaults: 10 <= 5 + 5
    quiet.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P2))])
    caplog.clear()
    with caplog.at_level("WARNING", logger="sctpx.core"):
        quiet.feed([w.CookieAckChunk()], now=0.04)
    assert "exceeds the sum" not in caplog.text


def test_peer_adaptation_layer_is_reported_after_comm_up() -> None:  # RFC 6458 §6.1.6
    from sctpx.core.events import AdaptationIndication

    c = Client()
    c.feed([init_ack(w.AdaptationLayerIndicationParam(0x1234))])
    c.feed([w.CookieAckChunk()], now=0.04)
    evs = c.events()
    assert [type(e) for e in evs] == [AssocChange, AdaptationIndication]
    assert evs[1] == AdaptationIndication(c.aid, 0x1234)


def stale_cookie(c: Client, src: str, now: float = 0.05) -> list[tuple[w.Packet, tuple[str, int]]]:
    return c.feed([w.ErrorChunk((w.StaleCookieError(1000),))], src=src, now=now)


def test_stale_cookie_after_an_init_ack_from_an_unlisted_address() -> None:  # issue 16
    # The fuzzer's find: S1 listed, the INIT ACK from S2 with no addresses (S1 dropped,
    # S2 primary, the COOKIE ECHO to S2), then a Stale Cookie error from S2.
    c = Client(addrs=[P1])
    [(_echo, dst)] = c.feed([init_ack()], src=P2)
    assert dst[0] == P2 and list(c.assoc.paths) == [P2]
    out = stale_cookie(c, P2)  # raised ValueError out of receive() before the fix
    [(pkt, dst)] = out
    [init] = pkt.chunks
    assert isinstance(init, w.InitChunk) and pkt.verification_tag == 0
    assert any(isinstance(p, w.CookiePreservativeParam) for p in init.params)  # §5.2.6
    assert dst[0] == P1  # the user's list again: never an INIT to an address only the peer named
    a = c.assoc
    assert a.state is State.COOKIE_WAIT and list(a.paths) == [P1] and a.paths[P1].confirmed
    assert c.events() == []
    # ... and the restarted set-up completes through S1.
    [(pkt, dst)] = c.feed([init_ack(w.IPv4AddressParam(P1))], src=P1, now=0.1)
    assert dst[0] == P1 and isinstance(pkt.chunks[0], w.CookieEchoChunk)
    c.feed([w.CookieAckChunk()], src=P1, now=0.12)
    assert a.state is State.ESTABLISHED
    [ev] = [e for e in c.events() if isinstance(e, AssocChange)]
    assert ev.state is AssocChangeState.COMM_UP


def test_stale_cookie_restart_goes_to_the_listed_cookie_destination() -> None:  # §5.2.6
    c = Client(addrs=[P1, P2])
    c.feed([init_ack(w.IPv4AddressParam(P2))], src=P2)  # P1 dropped, COOKIE ECHO to P2
    [(pkt, dst)] = stale_cookie(c, P2)
    assert dst[0] == P2 and isinstance(pkt.chunks[0], w.InitChunk)
    assert list(c.assoc.paths) == [P1, P2]  # both listed addresses back, confirmed
    assert all(p.confirmed and p.listed for p in c.assoc.paths.values())
    # A second Stale Cookie ends the set-up with ETIMEDOUT (option 3 once).
    c.feed([init_ack(w.IPv4AddressParam(P2))], src=P2, now=0.1)
    stale_cookie(c, P2, now=0.2)
    [ev] = [e for e in c.events() if isinstance(e, AssocChange)]
    assert ev.state is AssocChangeState.CANT_STR_ASSOC and ev.error == errno.ETIMEDOUT
