"""The responder: stateless INIT ACKs, cookie checks, unexpected INITs, out-of-the-blue packets."""

from __future__ import annotations

import gc
import random
import tracemalloc

from sctpx import wire as w
from sctpx.core import AssocChangeState, Endpoint, State

S1, S2 = "198.18.1.2", "198.18.2.2"
C1, C2, C3 = "198.18.1.1", "198.18.2.1", "198.18.3.1"
SPORT, CPORT = 5000, 40000
CTAG = 0x51515151


class Server:
    def __init__(self, listen: bool = True, seed: int = 11) -> None:
        self.ep = Endpoint(SPORT, [S1, S2], rng=random.Random(seed))
        self.ep.listen(listen)

    def feed(
        self, chunks: list[w.Chunk], vtag: int, src: str = C1, now: float = 0.0
    ) -> list[tuple[w.Packet, tuple[str, int], tuple[str, int]]]:
        data = w.encode_packet(w.Packet(CPORT, SPORT, vtag, chunks))
        self.ep.receive(data, (src, 9899), (S1, 9899), now)
        return [(w.decode_packet(d), s, t) for d, s, t in self.ep.datagrams_to_send(now)]

    def init(self, *addrs: str, src: str = C1, tag: int = CTAG, now: float = 0.0) -> w.InitAckChunk:
        params = tuple(w.IPv4AddressParam(a) for a in addrs)
        [(pkt, s, t)] = self.feed([w.InitChunk(tag, 65536, 10, 10, 777, params)], 0, src, now)
        assert pkt.verification_tag == tag and t == (src, 9899) and s[0] == S1
        ack = pkt.chunks[0]
        assert isinstance(ack, w.InitAckChunk)
        return ack

    def cookie_echo(self, ack: w.InitAckChunk, src: str = C1, now: float = 0.01) -> list:  # type: ignore[type-arg]
        cookie = next(p.cookie for p in ack.params if isinstance(p, w.StateCookieParam))
        return self.feed([w.CookieEchoChunk(cookie)], ack.initiate_tag, src, now)


def test_init_creates_no_state_and_init_ack_lists_our_addresses() -> None:  # §5.1 B
    s = Server()
    ack = s.init(C1, C2)
    assert s.ep.associations == {} and s.ep.get_timer() is None
    addrs = [p.address for p in ack.params if isinstance(p, w.IPv4AddressParam)]
    assert addrs == [S1, S2] and ack.initiate_tag != 0


def test_valid_cookie_echo_builds_the_association() -> None:  # §5.1 D, §5.4 rule 2
    s = Server()
    ack = s.init(C1, C2, C3)
    [(pkt, _src, dst)] = s.cookie_echo(ack)
    assert pkt.chunks[0] == w.CookieAckChunk() and dst[0] == C1
    [a] = s.ep.associations.values()
    assert a.state is State.ESTABLISHED and a.peer_tag == CTAG
    assert [(ip, q.confirmed) for ip, q in a.paths.items()] == [
        (C1, True), (C2, False), (C3, False)
    ]  # fmt: skip
    ev = s.ep.next_event()
    assert ev is not None and ev.state is AssocChangeState.COMM_UP  # type: ignore[union-attr]


def test_cookie_echo_from_unconfirmed_address_gets_ack_with_probe() -> None:  # §5.4
    s = Server()
    ack = s.init(C1, C2)
    [(pkt, _src, dst)] = s.cookie_echo(ack, src=C2)
    assert dst[0] == C2
    assert [type(c) for c in pkt.chunks] == [w.CookieAckChunk, w.HeartbeatChunk]


def test_tampered_forged_and_mistagged_cookies_are_dropped() -> None:
    s = Server()
    ack = s.init(C1)
    cookie = next(p.cookie for p in ack.params if isinstance(p, w.StateCookieParam))
    bad = bytearray(cookie)
    bad[20] ^= 1
    assert s.feed([w.CookieEchoChunk(bytes(bad))], ack.initiate_tag) == []
    assert s.feed([w.CookieEchoChunk(b"x" * 200)], ack.initiate_tag) == []
    assert s.feed([w.CookieEchoChunk(cookie)], ack.initiate_tag ^ 1) == []  # §8.5.1 D
    assert s.ep.associations == {}
    other = Server(seed=12)  # another endpoint's secret: forged
    assert other.feed([w.CookieEchoChunk(cookie)], ack.initiate_tag) == []
    assert other.ep.associations == {}


def test_expired_cookie_gets_stale_cookie_error() -> None:  # §5.1.5 step 3
    s = Server()
    ack = s.init(C1, now=0.0)
    [(pkt, _s, _d)] = s.cookie_echo(ack, now=61.5)
    assert pkt.verification_tag == CTAG
    [err] = pkt.chunks
    assert isinstance(err, w.ErrorChunk)
    [cause] = err.causes
    assert isinstance(cause, w.StaleCookieError) and 1_400_000 < cause.staleness_us < 1_600_000
    assert s.ep.associations == {}


def test_not_listening_answers_init_with_abort() -> None:  # §8.4 rule 3
    s = Server(listen=False)
    [(pkt, _s, _d)] = s.feed([w.InitChunk(CTAG, 65536, 1, 1, 1)], 0)
    assert pkt.verification_tag == CTAG and pkt.chunks == [w.AbortChunk()]


def test_bad_init_answered_with_abort_and_init_not_alone_dropped() -> None:  # §3.3.2, §8.5.1 A
    s = Server()
    [(pkt, _s, _d)] = s.feed([w.InitChunk(CTAG, 65536, 0, 1, 1)], 0)
    assert isinstance(pkt.chunks[0], w.AbortChunk) and pkt.verification_tag == CTAG
    assert s.feed([w.InitChunk(CTAG, 65536, 1, 1, 1)], 5) == []  # vtag must be 0
    assert s.feed([w.InitChunk(CTAG, 65536, 1, 1, 1), w.CookieAckChunk()], 0) == []


def test_ten_thousand_random_inits_leave_no_state() -> None:  # issue: bounded memory
    s = Server()
    rng = random.Random(5)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(10_000):
        src = f"198.18.{i % 200}.{i // 200 + 1}"
        init = w.InitChunk(rng.getrandbits(32) | 1, 65536, 10, 10, rng.getrandbits(32))
        s.ep.receive(w.encode_packet(w.Packet(rng.randrange(1, 65536), SPORT, 0, [init])),
                     (src, 9899), (S1, 9899), i * 0.001)  # fmt: skip
        assert len(s.ep.datagrams_to_send(0)) == 1
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert s.ep.associations == {} and s.ep.get_timer() is None
    assert grown < 64 * 1024, grown


def established_server() -> tuple[Server, w.InitAckChunk]:
    s = Server()
    ack = s.init(C1, C2)
    s.cookie_echo(ack)
    while s.ep.next_event():
        pass
    return s, ack


def test_unexpected_init_in_established() -> None:  # COL-03, §5.2.2
    s, _ack = established_server()
    [a] = s.ep.associations.values()
    tag_before = a.local_tag
    ack2 = s.init(C1, C2, tag=0x77777777)
    assert ack2.initiate_tag not in (0, tag_before)
    assert a.local_tag == tag_before and a.state is State.ESTABLISHED  # untouched
    [(pkt, _s, _d)] = s.feed([w.InitChunk(0x88888888, 65536, 1, 1, 1,
                                          (w.IPv4AddressParam(C3),))], 0)  # fmt: skip
    assert pkt.verification_tag == 0x88888888
    [abort] = pkt.chunks
    assert isinstance(abort, w.AbortChunk)
    assert abort.causes == (w.RestartWithNewAddresses((w.IPv4AddressParam(C3),)),)


def test_restart_cookie_case_a_and_duplicate_case_d() -> None:  # §5.2.4
    s, ack = established_server()
    [a] = s.ep.associations.values()
    [(pkt, _s, _d)] = s.cookie_echo(ack, now=0.5)  # (D): retransmitted COOKIE ECHO
    assert pkt.chunks == [w.CookieAckChunk()] and s.ep.next_event() is None
    ack2 = s.init(C1, C2, tag=0x66666666)  # peer restarted: new tag, same addresses
    [(pkt, _s, _d)] = s.cookie_echo(ack2, now=1.0)
    assert pkt.chunks == [w.CookieAckChunk()] and pkt.verification_tag == 0x66666666
    ev = s.ep.next_event()
    assert ev is not None and ev.state is AssocChangeState.RESTART  # type: ignore[union-attr]
    assert a.peer_tag == 0x66666666 and list(s.ep.associations.values()) == [a]


def test_out_of_the_blue_rules() -> None:  # §8.4
    s = Server()
    [(pkt, _s, _d)] = s.feed([w.HeartbeatChunk(b"x")], 0x1234)  # rule 8
    assert pkt.verification_tag == 0x1234 and pkt.chunks == [w.AbortChunk(flags=w.FLAG_T)]
    [(pkt, _s, _d)] = s.feed([w.ShutdownAckChunk()], 0x4321)  # rule 5
    assert pkt.verification_tag == 0x4321
    assert pkt.chunks == [w.ShutdownCompleteChunk(flags=w.FLAG_T)]
    assert s.feed([w.AbortChunk()], 0x1234) == []  # rule 2
    assert s.feed([w.ShutdownCompleteChunk()], 0x1234) == []  # rule 6
    assert s.feed([w.CookieAckChunk()], 0x1234) == []  # rule 7
    assert s.feed([w.ErrorChunk((w.StaleCookieError(5),))], 0x1234) == []


def test_late_cookie_case_c_is_discarded() -> None:  # §5.2.4 C
    s = Server()
    ack1 = s.init(C1, C2)  # the peer's INIT arrived twice (a retransmission):
    ack2 = s.init(C1, C2)  # two stateless answers, two cookies for the same peer tag
    assert ack1.initiate_tag != ack2.initiate_tag
    s.cookie_echo(ack1)
    [a] = s.ep.associations.values()
    while s.ep.next_event():
        pass
    assert s.cookie_echo(ack2, now=0.5) == []  # local tag X, peer tag M, no tie-tags
    assert a.local_tag == ack1.initiate_tag and s.ep.next_event() is None


def test_adaptation_layer_of_the_init_survives_the_cookie() -> None:  # RFC 6458 §6.1.6
    from sctpx.core.events import AdaptationIndication

    s = Server()
    params = (w.AdaptationLayerIndicationParam(7),)
    [(pkt, _s, _t)] = s.feed([w.InitChunk(CTAG, 65536, 10, 10, 777, params)], 0)
    ack = pkt.chunks[0]
    assert isinstance(ack, w.InitAckChunk)
    s.cookie_echo(ack)
    evs = []
    while (e := s.ep.next_event()) is not None:
        evs.append(e)
    assert isinstance(evs[-1], AdaptationIndication) and evs[-1].indication == 7
