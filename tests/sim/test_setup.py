"""connectx set-up in the simulator: the quick-index scenarios of connectx-requirements.md."""

from __future__ import annotations

import errno
import itertools

import pytest

from sctpx import wire as w
from sctpx.core import AssocChangeState, Config, PeerAddrChange, PeerAddrState, State
from sctpx.core.types import UnreachableKind

from .scenario import C1, C2, DEAD, DELAY, P1, P2, P3, established, make_pair, sent

RTT = 2 * DELAY


def test_happy_path_three_listed_no_nonce_heartbeats() -> None:  # scenario 1, API-01, PV-01
    p = make_pair()
    aid = p.connectx([P1, P2, P3])
    assert p.run_until(lambda: p.up() and p.up("s"), 5)
    assert p.up_time() == pytest.approx(2 * RTT)
    a = p.assoc(aid)
    assert set(a.paths) == {P1, P2, P3}
    assert all(q.confirmed for q in a.paths.values())
    assert a.pm.primary == P1
    up = p.up()
    assert up is not None and up.assoc_id == aid
    assert (up.outbound_streams, up.inbound_streams) == (10, 10)
    # PV-01: within the first HB.interval nothing but set-up goes to listed addresses.
    p.run_for(29)
    to_server = p.net.packets(src=p.net.hosts["client"], dst=p.net.hosts["server"])
    kinds = [type(c).__name__ for r in to_server for c in r.chunks]
    # Only the answer to the server's probe of C2 (unconfirmed for the server) joins them.
    assert kinds == ["InitChunk", "CookieEchoChunk", "HeartbeatAckChunk"]


def test_dead_first_address_classic_timer() -> None:  # scenario 2, T1-05, IACK-12
    p = make_pair()
    aid = p.connectx([DEAD, P1, P2], init_stagger=0)
    assert p.run_until(lambda: established(p, aid), 5)
    inits = sent(p.net, w.InitChunk)
    assert [(r.sent, r.dst[0]) for r in inits] == [(0.0, DEAD), (1.0, P1)]
    assert p.up_time() == pytest.approx(1.0 + 2 * RTT)
    a = p.assoc(aid)
    assert a.pm.primary == P1
    assert DEAD not in a.paths  # IACK-04: the peer did not list it


def test_dead_first_address_staggered() -> None:  # sctpx: init_stagger default 250 ms
    p = make_pair()
    aid = p.connectx([DEAD, P1, P2])
    assert p.run_until(lambda: established(p, aid), 5)
    inits = sent(p.net, w.InitChunk)
    assert [(r.sent, r.dst[0]) for r in inits] == [(0.0, DEAD), (0.25, P1)]
    assert p.up_time() == pytest.approx(0.25 + 2 * RTT)
    assert p.assoc(aid).pm.primary == P1
    # The same INIT both times (INIT-06), and no INIT after set-up (IACK-14).
    assert inits[0].data == inits[1].data
    p.run_for(60)
    assert len(sent(p.net, w.InitChunk)) == 2


@pytest.mark.parametrize("kind", [UnreachableKind.PORT, UnreachableKind.PROTOCOL,
                                  UnreachableKind.HOST])  # fmt: skip
def test_refused_first_address_moves_on_at_once(kind: UnreachableKind) -> None:  # ICMP-02/03
    p = make_pair()
    p.net.link(C1, DEAD, unreachable=kind)
    aid = p.connectx([DEAD, P1], init_stagger=0)
    assert p.run_until(lambda: established(p, aid), 5)
    inits = sent(p.net, w.InitChunk)
    assert [(r.sent, r.dst[0]) for r in inits] == [(0.0, DEAD), (DELAY, P1)]
    assert p.up_time() == pytest.approx(DELAY + 2 * RTT)


def test_every_address_refused_fails_with_econnrefused() -> None:  # ICMP-03
    p = make_pair(server_udp=19899)  # nobody on 9899 at the server: port unreachable
    aid = p.connectx([P1, P2], init_stagger=0)
    assert p.run_until(lambda: p.ended(), 5)
    end = p.ended()
    assert end is not None and end.assoc_id == aid
    assert (end.state, end.error) == (AssocChangeState.CANT_STR_ASSOC, errno.ECONNREFUSED)
    assert [r.dst[0] for r in sent(p.net, w.InitChunk)] == [P1, P2]
    assert aid not in p.client.associations


def test_remote_udp_port_per_address() -> None:  # UDP-01, UDP-03
    p = make_pair(server_udp=19899)
    aid = p.connectx([P1, P2], init_stagger=0, remote_udp_ports={P2: 19899})
    assert p.run_until(lambda: established(p, aid), 5)
    assert [r.dst for r in sent(p.net, w.InitChunk)] == [(P1, 9899), (P2, 19899)]


def test_peer_announced_address_port_learned_from_init_ack() -> None:  # UDP-04, UDP-05
    p = make_pair(server_udp=19899)
    aid = p.connectx([P1], remote_udp_ports={P1: 19899})
    assert p.run_until(lambda: established(p, aid), 5)
    paths = p.assoc(aid).paths
    assert paths[P2].udp_port == 19899 and paths[P3].udp_port == 19899


def test_single_address_all_dead_nine_inits_at_rfc_times() -> None:  # scenario 3, PAR-06
    p = make_pair()
    aid = p.connectx([DEAD])
    assert p.run_until(lambda: p.ended(), 300)
    times = [r.sent for r in sent(p.net, w.InitChunk)]
    assert times == [0, 1, 3, 7, 15, 31, 63, 123, 183]
    end = p.ended()
    assert end is not None and end.assoc_id == aid
    assert (end.state, end.error) == (AssocChangeState.CANT_STR_ASSOC, errno.ETIMEDOUT)
    assert p.net.now == pytest.approx(243)


def test_three_addresses_all_dead_per_destination_backoff() -> None:  # T1-07, T1-08, PAR-06
    p = make_pair()
    p.net.blackhole(P1)
    p.net.blackhole(P2)
    p.connectx([DEAD, P1, P2], init_stagger=0)
    assert p.run_until(lambda: p.ended(), 60)
    inits = sent(p.net, w.InitChunk)
    assert [r.sent for r in inits] == [0, 1, 2, 3, 5, 7, 9, 13, 17]
    assert [r.dst[0] for r in inits] == [DEAD, P1, P2] * 3
    assert p.net.now == pytest.approx(21)
    end = p.ended()
    assert end is not None and end.error == errno.ETIMEDOUT


def test_max_attempts_and_max_init_timeo() -> None:  # OPT-01 in the core, PAR-05
    p = make_pair()
    p.connectx([DEAD], max_init_retransmits=3, max_init_timeo=1.5)
    assert p.run_until(lambda: p.ended(), 60)
    assert [r.sent for r in sent(p.net, w.InitChunk)] == [0, 1, 2.5, 4]
    assert p.net.now == pytest.approx(5.5)


def test_listed_address_missing_from_init_ack_is_dropped_silently() -> None:  # scenario 4
    p = make_pair(server_addrs=(P1, P2))
    aid = p.connectx([P1, P2, "198.18.1.77"], init_stagger=0)
    assert p.run_until(lambda: established(p, aid), 5)
    assert set(p.assoc(aid).paths) == {P1, P2}
    p.run_for(200)
    assert p.net.packets(dst="198.18.1.77") == []
    assert not [e for e in p.cevents if isinstance(e, PeerAddrChange)]


def test_peer_announced_address_is_verified_before_use() -> None:  # scenario 5, PV-02..05
    p = make_pair()
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: established(p, aid), 5)
    a = p.assoc(aid)
    assert not a.paths[P3].confirmed
    assert p.run_until(lambda: a.paths[P3].confirmed, 5)
    to_p3 = p.net.packets(src=p.net.hosts["client"], dst=P3)
    assert [type(c).__name__ for r in to_p3 for c in r.chunks] == ["HeartbeatChunk"]
    hb = to_p3[0].chunks[0]
    assert isinstance(hb, w.HeartbeatChunk) and len(hb.info) >= 8
    confirmed = [e for e in p.cevents if isinstance(e, PeerAddrChange)]
    assert [(e.address, e.state) for e in confirmed] == [(P3, PeerAddrState.CONFIRMED)]


def test_unconfirmed_path_probe_failures_never_end_association() -> None:  # PV-03, PV-04
    p = make_pair()
    p.net.blackhole(P3)
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: established(p, aid), 5)
    p.run_for(300)
    a = p.assoc(aid)
    assert a.state is State.ESTABLISHED and not a.paths[P3].confirmed
    states = [e.state for e in p.cevents if isinstance(e, PeerAddrChange) and e.address == P3]
    assert states == [PeerAddrState.UNREACHABLE]
    probes = [r.sent for r in p.net.packets(dst=P3, chunk=w.HeartbeatChunk)]
    # At most one probe per RTO (which backs off): the gaps never shrink below 1 s.
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(probes))


def test_idle_path_failure_and_recovery() -> None:  # FM-02, FM-03
    p = make_pair(server_addrs=(P1, P2))
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: established(p, aid), 5)
    p.net.cut(p.net.hosts["client"], P2)
    a = p.assoc(aid)
    assert p.run_until(lambda: a.paths[P2].reach.value == "INACTIVE", 600)
    hbs = p.net.packets(dst=P2, chunk=w.HeartbeatChunk, src=p.net.hosts["client"])
    assert len(hbs) == Config().path_max_retrans + 1
    p.net.heal()
    assert p.run_until(lambda: a.paths[P2].reach.value == "ACTIVE", 200)
    states = [e.state for e in p.cevents if isinstance(e, PeerAddrChange) and e.address == P2]
    assert states == [PeerAddrState.POTENTIALLY_FAILED, PeerAddrState.UNREACHABLE,
                      PeerAddrState.AVAILABLE]  # fmt: skip
    assert a.state is State.ESTABLISHED


def test_abort_in_cookie_wait_fails_whole_connectx() -> None:  # scenario 8, T1-12
    p = make_pair(listen=False)
    aid = p.connectx([P1, P2], init_stagger=0)
    assert p.run_until(lambda: p.ended(), 5)
    end = p.ended()
    assert end is not None and end.assoc_id == aid
    assert (end.state, end.error) == (AssocChangeState.CANT_STR_ASSOC, errno.ECONNREFUSED)
    assert [r.dst[0] for r in sent(p.net, w.InitChunk)] == [P1]  # no INIT to P2
    p.run_for(10)
    assert sent(p.net, w.AbortChunk) and len(p.net.trace) == 2  # nothing answers the ABORT


def test_cookie_echo_lost_nine_times_then_etimedout() -> None:  # T1-10
    p = make_pair(server_addrs=(P1,))
    p.net.link(C1, P1, loss=0.0)
    aid = p.connectx([P1])

    def drop_cookie_echoes() -> None:
        p.net.link(C1, P1, blackhole=True)

    p.net.at(1.5 * DELAY, drop_cookie_echoes)  # after the INIT got through
    assert p.run_until(lambda: p.ended(), 400)
    echoes = sent(p.net, w.CookieEchoChunk)
    assert len(echoes) == 9 and len({r.data for r in echoes}) == 1
    end = p.ended()
    assert end is not None and end.assoc_id == aid and end.error == errno.ETIMEDOUT
    assert p.server.associations == {}


@pytest.mark.parametrize("closer", ["c", "s"])
def test_shutdown_from_client_and_from_server(closer: str) -> None:  # §9.2
    p = make_pair()
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: p.up() and p.up("s"), 5)
    if closer == "c":
        p.client.shutdown(aid, p.net.now)
        p.net.poke(p.client)
    else:
        p.server.shutdown(p.server_assoc().id, p.net.now)
        p.net.poke(p.server)
    assert p.run_until(lambda: p.ended() and p.ended("s"), 5)
    for side in ("c", "s"):
        end = p.ended(side)
        assert end is not None and end.state is AssocChangeState.SHUTDOWN_COMP
    assert p.client.associations == {} and p.server.associations == {}
    kinds = [type(c).__name__ for r in p.net.trace for c in r.chunks]
    assert [k for k in kinds if k.startswith("Shutdown")] == [
        "ShutdownChunk", "ShutdownAckChunk", "ShutdownCompleteChunk"
    ]  # fmt: skip


def test_user_abort_reaches_peer() -> None:  # §9.1
    p = make_pair()
    aid = p.connectx([P1])
    assert p.run_until(lambda: p.up("s") is not None, 5)
    p.client.abort(aid, p.net.now, b"bye")
    p.net.poke(p.client)
    assert p.run_until(lambda: p.ended("s"), 5)
    end = p.ended("s")
    assert end is not None and end.state is AssocChangeState.COMM_LOST
    assert end.error == errno.ECONNRESET and end.causes == (w.UserInitiatedAbort(b"bye"),)


def test_simultaneous_open_makes_one_association() -> None:  # scenario 7, COL-01, COL-04
    p = make_pair(server_addrs=(P1, P2), listen=False)
    aid_c = p.connectx([P1, P2])
    aid_s = p.server.connectx([(C1, 40000), (C2, 40000)], p.net.now)
    p.net.poke(p.server)
    assert p.run_until(lambda: p.up() and p.up("s"), 10)
    p.run_for(5)
    assert list(p.client.associations) == [aid_c] and list(p.server.associations) == [aid_s]
    ca, sa = p.assoc(aid_c), p.assoc(aid_s, "s")
    assert ca.peer_tag == sa.local_tag and sa.peer_tag == ca.local_tag
    ups = [e for e in p.changes() + p.changes("s") if e.state is AssocChangeState.COMM_UP]
    assert len(ups) == 2


def test_peer_restart_is_detected() -> None:  # COL-05, §5.2.4 A
    p = make_pair(server_addrs=(P1,))
    p.connectx([P1])
    assert p.run_until(lambda: p.up("s") is not None, 5)
    old = p.server_assoc()
    old_peer_tag = old.peer_tag
    # The client "crashes": a new endpoint on the same host, port and addresses.
    from sctpx.core import Endpoint

    host = p.net.hosts["client"]
    host.detach(40000)
    p.client = Endpoint(40000, [C1, C2], rng=p.net.rng("client2"))
    host.attach(40000, p.client)
    p.cevents.clear()
    aid = p.connectx([P1])
    assert p.run_until(lambda: p.up() is not None, 5)
    restarts = [e for e in p.changes("s") if e.state is AssocChangeState.RESTART]
    assert len(restarts) == 1 and restarts[0].assoc_id == old.id
    assert list(p.server.associations) == [old.id] and old.peer_tag != old_peer_tag
    assert old.peer_tag == p.assoc(aid).local_tag


def test_stale_cookie_retried_with_preservative() -> None:  # CK-04, INIT-09, §5.2.6
    slow = Config(valid_cookie_life=0.015)
    p = make_pair(server_cfg=slow)
    aid = p.connectx([P1])
    assert p.run_until(lambda: established(p, aid) or p.ended(), 10)
    assert established(p, aid)
    inits = [r.chunks[0] for r in sent(p.net, w.InitChunk)]
    assert len(inits) == 2
    pres = [q for q in inits[1].params if isinstance(q, w.CookiePreservativeParam)]  # type: ignore[union-attr]
    assert len(pres) == 1 and 1000 < pres[0].increment_ms <= 1000 + 2 * RTT * 1000 + 1
    assert [q for q in inits[0].params if isinstance(q, w.CookiePreservativeParam)] == []  # type: ignore[union-attr]


def test_shutdown_during_cookie_echoed_completes_setup_first() -> None:
    p = make_pair()
    aid = p.connectx([P1])
    assert p.run_until(lambda: p.assoc(aid).state is State.COOKIE_ECHOED, 5)
    p.client.shutdown(aid, p.net.now)
    p.net.poke(p.client)
    assert p.run_until(lambda: p.ended() and p.ended("s"), 5)
    assert [e.state for e in p.changes()] == [AssocChangeState.COMM_UP,
                                              AssocChangeState.SHUTDOWN_COMP]  # fmt: skip
    assert p.ended("s").state is AssocChangeState.SHUTDOWN_COMP  # type: ignore[union-attr]


def test_staggered_inits_do_not_count_as_retransmissions() -> None:  # D8 decided, T1-04
    p = make_pair()
    p.net.blackhole(P1)
    p.net.blackhole(P2)
    p.connectx([DEAD, P1, P2])
    assert p.run_until(lambda: p.ended(), 60)
    inits = sent(p.net, w.InitChunk)
    assert [(r.sent, r.dst[0]) for r in inits[:3]] == [(0, DEAD), (0.25, P1), (0.5, P2)]
    assert len(inits) == 3 + Config().max_init_retransmits


def test_every_one_of_ten_listed_addresses_gets_an_init() -> None:
    p = make_pair()
    dead = [f"198.18.9.{i}" for i in range(1, 10)]
    aid = p.connectx([*dead, P1])
    assert p.run_until(lambda: established(p, aid), 10)
    assert [r.dst[0] for r in sent(p.net, w.InitChunk)] == [*dead, P1]
    # T1 expiries (from 1 s on) also move to untried addresses, so it is faster than 9 staggers.
    assert p.up_time() <= 9 * 0.25 + 2 * RTT
