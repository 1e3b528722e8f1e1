"""Failures after set-up begins: COOKIE ECHO rotation, whole-peer loss, lost SHUTDOWNs."""

from __future__ import annotations

import errno

from sctpx import wire as w
from sctpx.core import AssocChangeState, Config, State
from sctpx.sim import ANY

from .scenario import C1, C2, P1, P2, established, make_pair, sent


def test_cookie_echo_retransmission_moves_to_next_confirmed_address() -> None:  # T1-05, T1-10
    p = make_pair(server_addrs=(P1, P2))
    aid = p.connectx([P1, P2])
    p.net.at(0.015, lambda: p.net.link(ANY, P1, blackhole=True))  # after the INIT got in
    assert p.run_until(lambda: established(p, aid), 10)
    echoes = sent(p.net, w.CookieEchoChunk)
    assert [(r.sent, r.dst[0]) for r in echoes] == [(0.02, P1), (1.02, P2)]
    assert echoes[0].data[12:] == echoes[1].data[12:]  # the same COOKIE ECHO


def test_peer_gone_after_setup_ends_in_comm_lost() -> None:  # FM-01, FM-02
    p = make_pair(server_addrs=(P1, P2))
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: established(p, aid), 5)
    p.net.blackhole(p.net.hosts["server"])
    assert p.run_until(lambda: p.ended() is not None, 3000)
    end = p.ended()
    assert end is not None and (end.state, end.error) == (AssocChangeState.COMM_LOST,
                                                          errno.ETIMEDOUT)  # fmt: skip
    hbs = p.net.packets(dst=p.net.hosts["server"], chunk=w.HeartbeatChunk,
                        src=p.net.hosts["client"])  # fmt: skip
    # §8.1: it took more than Association.Max.Retrans (10) unanswered HEARTBEATs on the
    # path in use for data (which moves from P1 to P2 when P1 becomes PF).
    assert len(hbs) > Config().assoc_max_retrans
    assert p.net.now < 1200
    assert aid not in p.client.associations


def test_lost_shutdown_goes_to_the_alternate_path() -> None:  # §9.2 T2-shutdown
    p = make_pair(server_addrs=(P1, P2))
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: p.up() and p.up("s"), 5)
    p.net.link(ANY, P1, blackhole=True)
    p.client.shutdown(aid, p.net.now)
    p.net.poke(p.client)
    assert p.run_until(lambda: p.ended() and p.ended("s"), 10)
    shut = sent(p.net, w.ShutdownChunk)
    assert [r.dst[0] for r in shut] == [P1, P2]
    assert shut[1].sent - shut[0].sent == 1.0  # T2 = RTO
    assert p.ended("s").state is AssocChangeState.SHUTDOWN_COMP  # type: ignore[union-attr]


def test_shutdown_ack_goes_back_where_the_shutdown_came_from() -> None:  # §6.4 replies
    # Link 1 fails as a router makes it fail: nothing reaches C1 any more, and C1 -> P1
    # is dead too. The server has not noticed (it sends no data: no T3 of its own) and
    # its primary is still C1. A SHUTDOWN ACK sent to the primary would be lost every
    # time; it must go where the SHUTDOWN came from (found by bench/_netns.py).
    p = make_pair(server_addrs=(P1, P2))
    aid = p.connectx([P1, P2])
    assert p.run_until(lambda: p.up() and p.up("s"), 5)
    assert p.server_assoc().pm.primary == C1
    p.net.link(ANY, C1, blackhole=True)
    p.net.link(C1, P1, blackhole=True)
    t0 = p.net.now
    p.client.shutdown(aid, t0)
    p.net.poke(p.client)
    assert p.run_until(lambda: p.ended() and p.ended("s"), 30)
    for side in ("c", "s"):
        assert p.ended(side).state is AssocChangeState.SHUTDOWN_COMP  # type: ignore[union-attr]
    [shut_in] = [r for r in sent(p.net, w.ShutdownChunk) if r.dst[0] == P2]
    ack = sent(p.net, w.ShutdownAckChunk)[0]
    assert ack.dst[0] == shut_in.src[0] == C2
    assert p.net.now - t0 < 1.5  # one T2 of the client (1 s), then a round trip


def test_shutdown_guard_aborts_a_silent_peer() -> None:  # §9.2 T5-shutdown-guard
    p = make_pair(server_addrs=(P1,))
    aid = p.connectx([P1])
    assert p.run_until(lambda: p.up() and p.up("s"), 5)
    p.net.link(ANY, P1, blackhole=True)
    t0 = p.net.now
    p.client.shutdown(aid, t0)
    p.net.poke(p.client)
    assert p.run_until(lambda: p.ended() is not None, 1000)
    assert p.net.now - t0 == 5 * 60  # T5 = 5 x RTO.Max, before T2 runs out of retries
    end = p.ended()
    assert end is not None and (end.state, end.error) == (AssocChangeState.COMM_LOST,
                                                          errno.ETIMEDOUT)  # fmt: skip
    assert aid not in p.client.associations
    assert sent(p.net, w.AbortChunk)[-1].sent == p.net.now  # the guard's ABORT
    assert p.server_assoc().state is State.ESTABLISHED  # it never heard a thing
