"""Issue 16 item 3: the audit of ``core/`` for lookups and asserts on peer-controlled input.

Each test proves one "safe because" verdict of the audit table in docs/fuzzing.md,
by feeding the input that would break the lookup if it were unguarded. The last test
reproduces the one bug the audit found (a message lost after a Stale Cookie restart);
it is in core/association.py, which this work may not edit, so the test fails until
that file is fixed (see the issue note).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from sctpx import wire as w
from sctpx.core import Endpoint, State
from sctpx.core.heartbeat import encode_info
from sctpx.core.types import UnreachableKind

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_core_handshake import P1, P2, Client, init_ack, stale_cookie

C1, S1, STRANGER = "198.18.1.1", "198.18.1.2", "203.0.113.9"


def _listener_and_cookie(
    extra: list[w.Chunk], src: str = C1
) -> tuple[Endpoint, bytes, tuple[str, int]]:
    """A listener, and a COOKIE ECHO packet of its own cookie followed by ``extra``."""
    srv = Endpoint(5000, [S1], rng=random.Random(3))
    srv.listen()
    init = w.InitChunk(0x1111, 65536, 5, 5, 100, ())
    srv.receive(w.encode_packet(w.Packet(40000, 5000, 0, [init])), (C1, 9899), (S1, 9899), 0.0)
    [(data, _s, _d)] = srv.datagrams_to_send(0.0)
    ack = w.decode_packet(data).chunks[0]
    assert isinstance(ack, w.InitAckChunk)
    cookie = next(p.cookie for p in ack.params if isinstance(p, w.StateCookieParam))
    echo = w.Packet(40000, 5000, ack.initiate_tag, [w.CookieEchoChunk(cookie), *extra])
    return srv, w.encode_packet(echo), (src, 9899)


def test_data_bundled_with_a_cookie_from_an_unknown_address_is_acked_on_a_known_path() -> None:
    # datapath._dst_for (assert p is not None or paths): DATA from an address that is
    # not a path (the COOKIE ECHO came from elsewhere than the INIT); the SACK goes to
    # the confirmed path instead of raising.
    data = w.DataChunk(100, 0, 0, 7, b"hello", flags=w.FLAG_BEGIN | w.FLAG_END)
    srv, echo, src = _listener_and_cookie([data], src=STRANGER)
    srv.receive(echo, src, (S1, 9899), 0.01)
    out = srv.datagrams_to_send(0.01)
    srv.handle_timer(0.5)  # the delayed SACK (§6.2)
    out += srv.datagrams_to_send(0.5)
    assert out, "nothing answered"
    chunks = [type(c) for d, _s, _d in out for c in w.decode_packet(d).chunks]
    assert w.CookieAckChunk in chunks and w.SackChunk in chunks
    a = next(iter(srv.associations.values()))
    assert STRANGER not in a.paths and a.state is State.ESTABLISHED
    sack_to = [dst[0] for d, _s, dst in out if any(
        isinstance(c, w.SackChunk) for c in w.decode_packet(d).chunks)]  # fmt: skip
    assert sack_to and all(ip in a.paths for ip in sack_to)


def test_icmp_with_a_short_or_foreign_quote_is_ignored() -> None:
    # endpoint.receive_unreachable: quoted[2:4] only when 8 bytes are there; the
    # association found by (address, port) checks the quote is ours (ICMP-01).
    c = Client(addrs=[P1, P2])
    for quoted in (b"", b"\x9c\x40", bytes(7), bytes(8), bytes(64)):
        for kind in UnreachableKind:
            c.ep.receive_unreachable((P1, 9899), kind, quoted, 0.01)
            c.ep.receive_unreachable((STRANGER, 9899), kind, quoted, 0.01)
    assert c.assoc.state is State.COOKIE_WAIT and c.ep.datagrams_to_send(0.01) == []


def test_heartbeat_ack_for_an_unknown_path_or_nonce_is_ignored() -> None:
    # pathmgr.on_heartbeat_ack: the path is looked up with .get and the nonce checked.
    c = Client(addrs=[P1])
    c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P2))])
    c.feed([w.CookieAckChunk()], now=0.04)
    a = c.assoc
    assert not a.paths[P2].confirmed
    for info in (encode_info(STRANGER, 0.0, 5), encode_info(P2, 0.0, 12345), b"", b"\x01" * 21):
        c.feed([w.HeartbeatAckChunk(info)], now=0.05)
    assert not a.paths[P2].confirmed and a.state is State.ESTABLISHED


def test_alternate_path_after_an_address_that_is_not_a_path() -> None:
    # pathmgr.alternate: ips.index(after) only when after is in the list.
    c = Client(addrs=[P1])
    c.feed([init_ack(w.IPv4AddressParam(P1), w.IPv4AddressParam(P2))])
    c.feed([w.CookieAckChunk()], now=0.04)
    p = c.assoc.pm.alternate(STRANGER)
    assert p is not None and p.ip in (P1, P2)


def test_init_ack_without_cookie_never_reaches_the_assert() -> None:
    # association._on_init_ack (assert p.cookie is not None): init_ack_defect refuses
    # an INIT ACK without a State Cookie first (IACK-02), with an ABORT.
    c = Client(addrs=[P1])
    [(pkt, _dst)] = c.feed([init_ack(cookie=False)])
    assert isinstance(pkt.chunks[0], w.AbortChunk) and c.ep.associations == {}


def test_init_ack_from_an_unlisted_address_without_addresses_gets_a_primary() -> None:
    # association._on_init_ack (assert self.pm.primary is not None): the INIT ACK's
    # source is always made a path, and _choose_initial_primary falls back to it.
    c = Client(addrs=[P1])
    [(pkt, dst)] = c.feed([init_ack()], src=P2)
    assert c.assoc.pm.primary == P2 and dst[0] == P2
    assert isinstance(pkt.chunks[0], w.CookieEchoChunk)


def test_a_message_sent_while_cookie_echoed_survives_a_stale_cookie_restart() -> None:
    """Found by the audit, fixed (Sender.take_unsent): the second INIT ACK makes a new DataPath.

    A message the user sends in COOKIE-ECHOED waits in the first INIT ACK's DataPath
    (DATA is not sent before ESTABLISHED). A Stale Cookie error restarts the set-up
    (§5.2.6); the next INIT ACK calls _make_datapath() again, which keeps only the
    messages of ``_early``: the waiting message is dropped, never sent and never
    reported (no SendFailed). Without the stale cookie the same message goes out with
    the COOKIE ACK (the last lines show it).
    """
    c = Client(addrs=[P1])
    c.feed([init_ack(w.IPv4AddressParam(P1))])
    c.ep.send(c.aid, b"hello", 0.03)
    stale_cookie(c, P1)
    c.feed([init_ack(w.IPv4AddressParam(P1))], now=0.1)
    out = c.feed([w.CookieAckChunk()], now=0.12)
    sent = [ch for pkt, _ in out for ch in pkt.chunks if isinstance(ch, w.DataChunk)]
    failed = [e for e in c.events() if type(e).__name__ == "SendFailed"]
    assert [ch.user_data for ch in sent] == [b"hello"] or failed, (
        "the message sent in COOKIE-ECHOED was lost without a SendFailed"
    )
