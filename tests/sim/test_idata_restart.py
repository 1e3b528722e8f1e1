"""DataPath.restart_tsns: the data path's side of an RFC 6525 SSN/TSN Reset (§5.1.4, §5.2.4).

The RE-CONFIG exchange itself is core.reconfig's; these tests call the data path directly, on
both ends of a simulated association, the way the reset's sender and receiver each do once
the request is performed.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

import pytest

from sctpx.core import Config
from sctpx.core.errors import UsageError
from sctpx.core.events import DataReceived, PartialDeliveryAborted

from .scenario import P1, Pair, established, make_pair


def _pair(interleaving: bool = False) -> tuple[Pair, int]:
    cfg = Config(num_ostreams=4, max_instreams=4, nodelay=True, interleaving=interleaving)
    p = make_pair(client_cfg=cfg, server_cfg=cfg, server_addrs=(P1,))
    aid = p.connectx([P1])
    assert p.run_until(lambda: established(p, aid) and p.up("s"), 5)
    return p, aid


def _got(events: Sequence[object]) -> list[DataReceived]:
    return [e for e in events if isinstance(e, DataReceived)]


def _exchange(p: Pair, aid: int, tag: bytes, n: int) -> None:
    sid = p.server_assoc().id
    for i in range(n):
        p.client.send(aid, tag + b"c%d" % i, p.net.now, stream=i % 2)
        p.server.send(sid, tag + b"s%d" % i, p.net.now, stream=i % 2)
    p.net.poke(p.client)
    p.net.poke(p.server)
    c_before, s_before = len(_got(p.cevents)), len(_got(p.sevents))
    assert p.run_until(
        lambda: len(_got(p.cevents)) - c_before == n and len(_got(p.sevents)) - s_before == n, 10
    )
    assert p.run_until(lambda: _idle(p, aid), 10)


def _idle(p: Pair, aid: int) -> bool:
    ca, sa = p.assoc(aid).data, p.server_assoc().data
    return ca is not None and sa is not None and ca.sender.idle and sa.sender.idle


@pytest.mark.parametrize("interleaving", [False, True])
def test_after_restart_tsns_data_flows_both_ways_with_the_new_numbering(
    interleaving: bool,
) -> None:
    p, aid = _pair(interleaving)
    _exchange(p, aid, b"old", 6)
    ca, sa = p.assoc(aid), p.server_assoc()
    assert ca.data is not None and sa.data is not None
    c_tsn, s_tsn = 0xFFFFFFFE, 77  # the client's new numbering wraps soon after
    ca.data.restart_tsns(c_tsn, s_tsn)
    sa.data.restart_tsns(s_tsn, c_tsn)
    c_seen, s_seen = len(_got(p.cevents)), len(_got(p.sevents))
    _exchange(p, aid, b"new", 6)
    at_server = _got(p.sevents)[s_seen:]
    at_client = _got(p.cevents)[c_seen:]
    assert [e.data for e in at_server] == [b"newc%d" % i for i in range(6)]
    assert [e.data for e in at_client] == [b"news%d" % i for i in range(6)]
    # TSNs start at the new values; every stream starts again at SSN 0.
    assert [e.tsn for e in at_server] == [(c_tsn + i) & 0xFFFFFFFF for i in range(6)]
    assert [e.tsn for e in at_client] == [s_tsn + i for i in range(6)]
    assert [e.ssn for e in at_server] == [0, 0, 1, 1, 2, 2]
    assert [e.ssn for e in at_client] == [0, 0, 1, 1, 2, 2]


def test_restart_with_data_outstanding_is_refused_and_changes_nothing() -> None:
    p, aid = _pair()
    ca = p.assoc(aid)
    assert ca.data is not None
    p.client.send(aid, b"x" * 100, p.net.now)
    p.client.datagrams_to_send(p.net.now)  # sent, not yet acknowledged
    s = ca.data.sender
    before = (s.initial_tsn, s.next_seq, s.cum_seq, dict(s.next_ssn))
    with pytest.raises(UsageError) as exc:
        ca.data.restart_tsns(5, 5)
    assert exc.value.errno == errno.EBUSY
    assert (s.initial_tsn, s.next_seq, s.cum_seq, dict(s.next_ssn)) == before
    assert ca.data.receiver.cum_tsn == (ca.peer_tsn - 1) & 0xFFFFFFFF


def test_restart_during_a_partial_delivery_reports_it_aborted() -> None:
    p, aid = _pair()
    sa = p.server_assoc()
    assert sa.data is not None
    rx = sa.data.receiver
    # A message larger than the buffer, partly delivered: then the reset.
    big = b"z" * (Config().a_rwnd + 50000)
    p.client.send(aid, big, p.net.now)
    p.net.poke(p.client)
    assert p.run_until(lambda: rx.stats.partial_deliveries == 1 and _got(p.sevents), 10)
    ca = p.assoc(aid)
    assert ca.data is not None
    ca.data.sender.fail_all(errno.ECONNRESET)  # the reset's sender has nothing outstanding
    sa.data.restart_tsns(1, 1)
    p.drain()
    assert any(isinstance(e, PartialDeliveryAborted) for e in p.sevents)
    rx.check_invariants()
