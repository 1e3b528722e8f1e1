"""Out-of-the-blue packets (RFC 9260 §8.4): the responder for ports with no endpoint,
the same rules inside an endpoint, and the rate limit."""

from __future__ import annotations

import errno
import random

import pytest

from sctpx import wire as w
from sctpx.core import Endpoint
from sctpx.core.ootb import OotbResponder, Verdict, classify

ME, PEER = ("198.18.1.2", 9899), ("198.18.1.1", 9899)
RAW_ME, RAW_PEER = ("198.18.1.2", 0), ("198.18.1.1", 0)
SPORT, CPORT = 5000, 40000
TAG = 0x0A0B0C0D


def packet(chunks: list[w.Chunk], vtag: int = TAG) -> bytes:
    return w.encode_packet(w.Packet(CPORT, SPORT, vtag, chunks))


def init(tag: int = TAG) -> w.InitChunk:
    return w.InitChunk(tag, 65536, 10, 10, 12345)


def answer(r: OotbResponder, data: bytes, src=PEER, dst=ME, now: float = 0.0) -> w.Packet | None:  # type: ignore[no-untyped-def]
    out = r.reply(data, src, dst, now)
    if not out:
        return None
    [(raw, frm, to)] = out
    assert frm == dst and to == src  # back where it came from, from where it arrived
    pkt = w.decode_packet(raw)  # the checksum is right
    assert (pkt.src_port, pkt.dst_port) == (SPORT, CPORT)
    return pkt


def test_init_to_a_closed_port_gets_abort_with_its_initiate_tag_and_t_bit_0() -> None:
    # §8.4 rule 3, §5.1: the tag is the INIT's Initiate Tag, not reflected (T bit 0).
    r = OotbResponder()
    pkt = answer(r, packet([init(0x11223344)], vtag=0))
    assert pkt is not None and pkt.verification_tag == 0x11223344
    assert pkt.chunks == [w.AbortChunk()] and not pkt.chunks[0].t_bit  # type: ignore[union-attr]
    assert r.replies == 1


def test_abort_is_sixteen_bytes_exactly() -> None:  # decided: no error cause, no amplification
    r = OotbResponder()
    [(raw, _f, _t)] = r.reply(packet([init(0x11223344)], vtag=0), PEER, ME, 0.0)
    assert raw[:8] == bytes.fromhex("1388 9c40 11223344".replace(" ", ""))
    assert raw[12:] == bytes.fromhex("06000004") and len(raw) == 16


def test_raw_ip_answer_goes_back_with_port_0() -> None:  # udp_port 0: SCTP over IP
    r = OotbResponder()
    [(_raw, frm, to)] = r.reply(packet([init()], vtag=0), RAW_PEER, RAW_ME, 0.0)
    assert frm == RAW_ME and to == RAW_PEER


def test_shutdown_ack_gets_reflected_shutdown_complete() -> None:  # rule 5, §8.5.1 C
    r = OotbResponder()
    pkt = answer(r, packet([w.ShutdownAckChunk()], vtag=0x5555))
    assert pkt is not None and pkt.verification_tag == 0x5555
    assert pkt.chunks == [w.ShutdownCompleteChunk(flags=w.FLAG_T)]


@pytest.mark.parametrize(
    "chunks",
    [
        [w.HeartbeatChunk(b"hb")],
        [w.DataChunk(1, 0, 0, 0, b"x")],
        [w.SackChunk(1, 1500)],
        [w.ShutdownChunk(7)],
        [w.ErrorChunk((w.InvalidStreamIdentifier(3),))],
        [w.UnknownChunk(0x7F, b"")],
        [w.CookieEchoChunk(b"c" * 40)],  # rule 4 without an endpoint: see below
    ],
)
def test_other_chunks_get_reflected_abort(chunks: list[w.Chunk]) -> None:  # rule 8
    r = OotbResponder()
    pkt = answer(r, packet(chunks, vtag=0x7777))
    if isinstance(chunks[0], w.CookieEchoChunk):
        # Rule 4 says §5.1; with no endpoint there is no secret to check the cookie
        # with, so it is an unauthenticated cookie: silently discarded (§5.1.5 step 2).
        assert pkt is None and r.discarded == 1
        return
    assert pkt is not None and pkt.verification_tag == 0x7777
    assert pkt.chunks == [w.AbortChunk(flags=w.FLAG_T)]


def test_cookie_echo_not_first_is_rule_8() -> None:
    r = OotbResponder()
    pkt = answer(r, packet([w.HeartbeatChunk(b"x"), w.CookieEchoChunk(b"c")], vtag=9))
    assert pkt is not None and pkt.chunks == [w.AbortChunk(flags=w.FLAG_T)]


@pytest.mark.parametrize(
    ("chunks", "vtag"),
    [
        ([w.AbortChunk()], TAG),  # rule 2
        ([w.AbortChunk(flags=w.FLAG_T)], TAG),
        ([w.HeartbeatChunk(b"x"), w.AbortChunk()], TAG),  # rule 2: anywhere in the packet
        ([w.ShutdownAckChunk(), w.AbortChunk()], TAG),  # rule 2 comes before rule 5
        ([w.ShutdownCompleteChunk()], TAG),  # rule 6
        ([w.ShutdownCompleteChunk(flags=w.FLAG_T)], TAG),
        ([w.CookieAckChunk()], TAG),  # rule 7
        ([w.ErrorChunk((w.StaleCookieError(100),))], TAG),
        ([w.HeartbeatChunk(b"x"), w.CookieAckChunk()], TAG),
        ([init(0)], 0),  # §3.3.2: an Initiate Tag of 0 is silently discarded
        ([init(), w.CookieAckChunk()], 0),  # §8.5.1 A: with tag 0 only an INIT alone
        ([init()], TAG),  # an INIT always has tag 0 (§8.5.1 A)
        ([w.HeartbeatChunk(b"x")], 0),  # tag 0 and no INIT: nothing to reflect
        ([w.ShutdownAckChunk()], 0),
    ],
)
def test_discarded(chunks: list[w.Chunk], vtag: int) -> None:
    r = OotbResponder()
    assert r.reply(packet(chunks, vtag), PEER, ME, 0.0) == []
    assert (r.replies, r.discarded) == (0, 1)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (("224.0.0.1", 9899), ME),
        (PEER, ("239.1.2.3", 9899)),
        (PEER, ("255.255.255.255", 9899)),
        (("0.0.0.0", 9899), ME),
        (("ff02::1", 9899), ("2001:db8::2", 9899)),
        (("2001:db8::1", 9899), ("ff05::2", 9899)),
        (("::", 0), ("2001:db8::2", 0)),
    ],
)
def test_non_unicast_is_discarded(src: tuple[str, int], dst: tuple[str, int]) -> None:  # rule 1
    r = OotbResponder()
    assert r.reply(packet([init()], vtag=0), src, dst, 0.0) == []
    assert r.reply(packet([w.HeartbeatChunk(b"x")]), src, dst, 0.0) == []
    assert r.replies == 0 and r.discarded == 2


def test_ipv6_unicast_is_answered() -> None:
    r = OotbResponder()
    src, dst = ("2001:db8::1", 9899), ("2001:db8::2", 9899)
    [(_raw, frm, to)] = r.reply(packet([init()], vtag=0), src, dst, 0.0)
    assert (frm, to) == (dst, src)


def test_bad_checksum_and_garbage_are_never_answered() -> None:  # §6.8
    r = OotbResponder()
    good = bytearray(packet([init()], vtag=0))
    good[8] ^= 0xFF
    assert r.reply(bytes(good), PEER, ME, 0.0) == []
    assert r.reply(b"\x13\x88\x9c\x40" + b"\x00" * 5, PEER, ME, 0.0) == []
    rng = random.Random(3)
    for _ in range(500):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 64)))
        assert r.reply(junk, PEER, ME, 0.0) == []
    assert r.replies == 0 and r.discarded == 502


def test_port_zero_is_discarded() -> None:  # §3.1: port 0 MUST NOT be used
    r = OotbResponder()
    data = w.encode_packet(w.Packet(0, SPORT, 0, [init()]))
    assert r.reply(data, PEER, ME, 0.0) == []


def test_rate_limit_is_a_token_bucket_in_virtual_time() -> None:
    r = OotbResponder(rate=10.0, burst=5)
    flood = packet([w.HeartbeatChunk(b"x")])
    answered = [bool(r.reply(flood, PEER, ME, 0.0)) for _ in range(100)]
    assert answered == [True] * 5 + [False] * 95  # the burst, then nothing
    assert (r.replies, r.rate_limited) == (5, 95)
    assert r.reply(flood, PEER, ME, 0.05) == []  # half a token refilled
    assert len(r.reply(flood, PEER, ME, 0.1)) == 1  # one token (0.05 s + 0.05 s)
    # A long pause refills no more than the burst.
    got = sum(len(r.reply(flood, PEER, ME, 1000.0)) for _ in range(50))
    assert got == 5
    # A sustained flood gets ``rate`` answers a second.
    got = sum(len(r.reply(flood, PEER, ME, 2000.0 + i / 1000)) for i in range(10_000))
    assert 5 + 99 <= got <= 5 + 101
    assert r.replies + r.rate_limited == 100 + 2 + 50 + 10_000


def test_rate_limit_counts_only_answers() -> None:  # discarded packets cost no token
    r = OotbResponder(rate=1.0, burst=1)
    for _ in range(10):
        assert r.reply(packet([w.AbortChunk()]), PEER, ME, 0.0) == []
    assert len(r.reply(packet([w.HeartbeatChunk(b"x")]), PEER, ME, 0.0)) == 1
    assert r.rate_limited == 0 and r.discarded == 10


def test_time_going_backwards_refills_nothing() -> None:
    r = OotbResponder(rate=10.0, burst=1)
    flood = packet([w.HeartbeatChunk(b"x")])
    assert len(r.reply(flood, PEER, ME, 5.0)) == 1
    assert r.reply(flood, PEER, ME, 1.0) == []
    assert r.reply(flood, PEER, ME, 5.05) == []  # measured from 5.0, not from 1.0
    assert len(r.reply(flood, PEER, ME, 5.1)) == 1


def test_classify_follows_the_rule_order() -> None:
    def v(chunks: list[w.Chunk], vtag: int = TAG) -> Verdict:
        return classify(w.Packet(CPORT, SPORT, vtag, chunks), PEER[0], ME[0])

    assert v([init()], 0) is Verdict.ABORT_INIT
    assert v([w.CookieEchoChunk(b"c"), w.ShutdownAckChunk()]) is Verdict.COOKIE_ECHO  # 4 < 5
    assert v([w.ShutdownAckChunk(), w.ShutdownCompleteChunk()]) is Verdict.SHUTDOWN_COMPLETE
    assert v([w.ShutdownCompleteChunk(), w.CookieAckChunk()]) is Verdict.DISCARD
    assert v([]) is Verdict.DISCARD


# ----- the same rules inside an endpoint -----


def endpoint(listen: bool) -> Endpoint:
    ep = Endpoint(SPORT, [ME[0]], rng=random.Random(1))
    ep.listen(listen)
    return ep


def test_endpoint_uses_the_responder_and_its_rate_limit() -> None:
    ep = endpoint(listen=False)
    ep.ootb = OotbResponder(rate=1.0, burst=3)
    for i in range(10):
        ep.receive(packet([init(0x100 + i)], vtag=0), PEER, ME, 0.0)
    out = ep.datagrams_to_send(0.0)
    assert [w.decode_packet(d).verification_tag for d, _s, _t in out] == [0x100, 0x101, 0x102]
    assert all(w.decode_packet(d).chunks == [w.AbortChunk()] for d, _s, _t in out)
    assert ep.ootb.rate_limited == 7 and ep.ootb.replies == 3


def test_endpoint_ootb_for_a_port_without_association() -> None:  # rules 5 and 8, 1
    ep = endpoint(listen=True)
    ep.receive(packet([w.ShutdownAckChunk()], vtag=0x42), PEER, ME, 0.0)
    ep.receive(packet([w.SackChunk(1, 1500)], vtag=0x43), PEER, ME, 0.0)
    ep.receive(packet([w.SackChunk(1, 1500)], vtag=0x44), ("224.0.0.9", 9899), ME, 0.0)
    out = [w.decode_packet(d) for d, _s, _t in ep.datagrams_to_send(0.0)]
    assert [(p.verification_tag, p.chunks) for p in out] == [
        (0x42, [w.ShutdownCompleteChunk(flags=w.FLAG_T)]),
        (0x43, [w.AbortChunk(flags=w.FLAG_T)]),
    ]
    assert ep.dropped == 3


# ----- the client whose INIT is answered with an ABORT (§8.5.1 B) -----


def client(peer: tuple[str, int] = ME) -> tuple[Endpoint, int, int]:
    ep = Endpoint(CPORT, [PEER[0]], rng=random.Random(2))
    aid = ep.connectx([(peer[0], SPORT)], 0.0, init_stagger=0)
    [(data, _s, _d)] = ep.datagrams_to_send(0.0)
    init_chunk = w.decode_packet(data).chunks[0]
    assert isinstance(init_chunk, w.InitChunk)
    return ep, aid, init_chunk.initiate_tag


def ended(ep: Endpoint) -> list[tuple[str, int]]:
    out = []
    while (e := ep.next_event()) is not None:
        out.append((e.state.name, e.error))  # type: ignore[attr-defined]
    return out


def test_connect_to_a_closed_port_is_refused_by_the_responders_abort() -> None:
    ep = Endpoint(CPORT, [PEER[0]], rng=random.Random(2))
    ep.connectx([(ME[0], SPORT)], 0.0)
    [(data, src, dst)] = ep.datagrams_to_send(0.0)
    r = OotbResponder()
    [(reply, frm, to)] = r.reply(data, src, dst, 0.001)
    ep.receive(reply, frm, to, 0.002)
    assert ended(ep) == [("CANT_STR_ASSOC", errno.ECONNREFUSED)]
    assert ep.associations == {} and ep.get_timer() is None
    assert ep.datagrams_to_send(0.002) == []  # an ABORT is never answered


def test_cookie_wait_refuses_the_t_bit_forms() -> None:  # §8.5.1 B: no peer tag known yet
    ep, aid, tag = client()
    for vtag in (0, tag, 0x99):  # e.g. a rule-8 reflector that reflected the INIT's tag 0
        ep.receive(packet_to_client([w.AbortChunk(flags=w.FLAG_T)], vtag), ME, PEER, 0.01)
    ep.receive(packet_to_client([w.AbortChunk()], tag ^ 1), ME, PEER, 0.01)
    assert ep.association(aid).state.name == "COOKIE_WAIT" and ended(ep) == []
    ep.receive(packet_to_client([w.AbortChunk()], tag), ME, PEER, 0.01)
    assert ended(ep) == [("CANT_STR_ASSOC", errno.ECONNREFUSED)]


@pytest.mark.parametrize("form", ["own tag, T bit 0", "peer's tag, T bit 1"])
def test_cookie_echoed_accepts_both_abort_forms(form: str) -> None:  # §8.5.1 B
    ep, aid, tag = client()
    peer_tag = 0x0BADF00D
    ack = w.InitAckChunk(peer_tag, 65536, 5, 5, 1, (w.StateCookieParam(b"C" * 32),))
    ep.receive(packet_to_client([ack], tag), ME, PEER, 0.01)
    assert ep.association(aid).state.name == "COOKIE_ECHOED"
    ep.datagrams_to_send(0.01)
    ended(ep)
    ep.receive(packet_to_client([w.AbortChunk(flags=w.FLAG_T)], tag), ME, PEER, 0.02)
    ep.receive(packet_to_client([w.AbortChunk()], peer_tag), ME, PEER, 0.02)
    assert ended(ep) == []  # the crossed forms are not accepted
    if form == "own tag, T bit 0":
        ep.receive(packet_to_client([w.AbortChunk()], tag), ME, PEER, 0.02)
    else:
        ep.receive(packet_to_client([w.AbortChunk(flags=w.FLAG_T)], peer_tag), ME, PEER, 0.02)
    assert ended(ep) == [("CANT_STR_ASSOC", errno.ECONNREFUSED)]


def packet_to_client(chunks: list[w.Chunk], vtag: int) -> bytes:
    return w.encode_packet(w.Packet(SPORT, CPORT, vtag, chunks))
