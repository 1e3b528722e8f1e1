"""RFC 6525 §6.3 socket options over real (loopback UDP) sockets: stream reset, adding
streams, the SCTP_STREAM_RESET_EVENT / SCTP_STREAM_CHANGE_EVENT notifications."""

from __future__ import annotations

import errno

import pytest

import sctpx
from sctpx.core.events import AssocResetEvent

from .support import PORT, S1, Net

SOL = sctpx.IPPROTO_SCTP
ON = sctpx.AssocValue(0, sctpx.SCTP_ENABLE_RESET_STREAM_REQ | sctpx.SCTP_ENABLE_CHANGE_ASSOC_REQ)


def pair(net: Net) -> tuple[sctpx.socket, sctpx.socket, sctpx.socket]:
    srv, cli = net.server(), net.client()
    for s in (srv, cli):
        s.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, ON)
    cli.connectx([(S1, PORT)])
    conn, _ = srv.accept()
    conn.settimeout(5)
    for s in (cli, conn):
        s.subscribe(sctpx.SCTP_STREAM_RESET_EVENT)
        s.subscribe(sctpx.SCTP_STREAM_CHANGE_EVENT)
    return srv, cli, conn


def data(s: sctpx.socket) -> sctpx.DataReceived:
    m = s.sctp_recv()
    assert isinstance(m, sctpx.DataReceived), m
    return m


def test_reset_outgoing_stream(net: Net) -> None:  # RFC 6525 §6.3.2, §6.1.1
    srv, cli, conn = pair(net)
    assert cli.getsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, 0).assoc_value == ON.assoc_value
    for x in (b"a", b"b"):
        cli.sctp_send(x, stream=1)
    cli.sctp_send(b"z", stream=2)
    # Order holds within a stream, not across streams (a scheduler may interleave them).
    assert sorted((m.stream_id, m.data, m.ssn) for m in (data(conn), data(conn), data(conn))) == [
        (1, b"a", 0), (1, b"b", 1), (2, b"z", 0)
    ]  # fmt: skip
    cli.setsockopt(SOL, sctpx.SCTP_RESET_STREAMS,
                   sctpx.ResetStreams(0, sctpx.SCTP_STREAM_RESET_OUTGOING, (1,)))  # fmt: skip
    ev = cli.sctp_recv()
    assert isinstance(ev, sctpx.StreamResetEvent)
    assert (ev.flags, ev.streams) == (sctpx.SCTP_STREAM_RESET_OUTGOING_SSN, (1,))
    ev = conn.sctp_recv()
    assert isinstance(ev, sctpx.StreamResetEvent)
    assert (ev.flags, ev.streams) == (sctpx.SCTP_STREAM_RESET_INCOMING_SSN, (1,))
    cli.sctp_send(b"c", stream=1)
    cli.sctp_send(b"y", stream=2)
    assert sorted((m.data, m.ssn) for m in (data(conn), data(conn))) == [(b"c", 0), (b"y", 1)]
    for s in (conn, cli, srv):
        s.close()


def test_reset_incoming_stream_and_add_streams(net: Net) -> None:  # §6.3.2, §6.3.4, §6.1.3
    srv, cli, conn = pair(net)
    conn.sctp_send(b"a", stream=3)
    assert data(cli).ssn == 0
    cli.setsockopt(SOL, sctpx.SCTP_RESET_STREAMS,
                   sctpx.ResetStreams(0, sctpx.SCTP_STREAM_RESET_INCOMING, (3,)))  # fmt: skip
    ev = conn.sctp_recv()  # the peer reset its outgoing stream 3, as asked
    assert isinstance(ev, sctpx.StreamResetEvent)
    assert (ev.flags, ev.streams) == (sctpx.SCTP_STREAM_RESET_OUTGOING_SSN, (3,))
    ev = cli.sctp_recv()
    assert isinstance(ev, sctpx.StreamResetEvent)
    assert (ev.flags, ev.streams) == (sctpx.SCTP_STREAM_RESET_INCOMING_SSN, (3,))
    conn.sctp_send(b"b", stream=3)
    assert data(cli).ssn == 0
    n = cli.getsockopt(SOL, sctpx.SCTP_STATUS).outstrms
    cli.setsockopt(SOL, sctpx.SCTP_ADD_STREAMS, sctpx.AddStreams(0, 0, 2))
    ev = cli.sctp_recv()
    assert isinstance(ev, sctpx.StreamChangeEvent) and ev.flags == 0
    assert ev.outbound_streams == n + 2 == cli.getsockopt(SOL, sctpx.SCTP_STATUS).outstrms
    ev = conn.sctp_recv()
    assert isinstance(ev, sctpx.StreamChangeEvent) and ev.inbound_streams == n + 2
    cli.sctp_send(b"new", stream=n + 1)
    assert data(conn).stream_id == n + 1
    for s in (conn, cli, srv):
        s.close()


def test_denied_by_a_peer_that_did_not_enable_it(net: Net) -> None:  # §6.3.1 default
    srv, cli = net.server(), net.client()
    cli.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, ON)
    cli.connectx([(S1, PORT)])
    conn, _ = srv.accept()
    cli.subscribe(sctpx.SCTP_STREAM_RESET_EVENT)
    cli.setsockopt(SOL, sctpx.SCTP_RESET_STREAMS,
                   sctpx.ResetStreams(0, sctpx.SCTP_STREAM_RESET_OUTGOING, ()))  # fmt: skip
    ev = cli.sctp_recv()
    assert isinstance(ev, sctpx.StreamResetEvent)
    assert ev.flags == sctpx.SCTP_STREAM_RESET_OUTGOING_SSN | sctpx.SCTP_STREAM_RESET_DENIED
    for s in (conn, cli, srv):
        s.close()


def test_eopnotsupp_when_the_peer_does_not_support_reconfig(net: Net) -> None:  # §6.3.2
    srv, cli = net.server(), net.client()
    srv._cfg.reconfig = False  # a peer without RFC 6525: no RE-CONFIG in its INIT ACK
    cli.connectx([(S1, PORT)])
    conn, _ = srv.accept()
    for opt, value in (
        (sctpx.SCTP_RESET_STREAMS, sctpx.ResetStreams(0, sctpx.SCTP_STREAM_RESET_OUTGOING, (1,))),
        (sctpx.SCTP_ADD_STREAMS, sctpx.AddStreams(0, 0, 1)),
    ):
        with pytest.raises(OSError) as e:
            cli.setsockopt(SOL, opt, value)
        assert e.value.errno == errno.EOPNOTSUPP
    for s in (conn, cli, srv):
        s.close()


def test_argument_errors(net: Net) -> None:
    srv, cli, conn = pair(net)
    for value in (
        sctpx.ResetStreams(0, 0, (1,)),  # neither direction
        sctpx.ResetStreams(0, 0x10, (1,)),
        sctpx.ResetStreams(0, sctpx.SCTP_STREAM_RESET_OUTGOING, (9999,)),
    ):
        with pytest.raises(OSError) as e:
            cli.setsockopt(SOL, sctpx.SCTP_RESET_STREAMS, value)
        assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        cli.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, sctpx.AssocValue(0, 0x80))
    assert e.value.errno == errno.EINVAL
    for s in (conn, cli, srv):
        s.close()


ALL = sctpx.AssocValue(0, ON.assoc_value | sctpx.SCTP_ENABLE_RESET_ASSOC_REQ)


def pair_all(net: Net) -> tuple[sctpx.socket, sctpx.socket, sctpx.socket]:
    srv, cli = net.server(), net.client()
    for s in (srv, cli):
        s.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, ALL)
    cli.connectx([(S1, PORT)])
    conn, _ = srv.accept()
    conn.settimeout(5)
    cli.settimeout(5)
    for s in (cli, conn):
        s.subscribe(sctpx.SCTP_STREAM_CHANGE_EVENT)
    return srv, cli, conn


def test_reset_assoc(net: Net) -> None:  # RFC 6525 §6.3.3
    srv, cli, conn = pair_all(net)
    for x in (b"a", b"b"):
        cli.sctp_send(x, stream=1)
    before = [data(conn) for _ in range(2)]
    assert [m.ssn for m in before] == [0, 1]
    cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0)  # the association of this socket
    cli.sctp_send(b"c", stream=1)  # waits for the answer, then goes under the new TSNs
    m = data(conn)
    assert (m.data, m.ssn) == (b"c", 0)
    # §5.2.4 G1: the peer told us to jump 2**31 past what it had acknowledged.
    assert m.tsn == (before[-1].tsn + 1 + (1 << 31)) & 0xFFFFFFFF
    conn.sctp_send(b"back", stream=1)
    m = data(cli)
    assert (m.data, m.ssn) == (b"back", 0)
    with pytest.raises(OSError) as e:  # §5.1.4: one SSN/TSN reset per 30 s
        cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0)
    assert e.value.errno == errno.EAGAIN
    for s in (conn, cli, srv):
        s.close()


def test_reset_assoc_errors(net: Net) -> None:
    srv, cli = net.server(), net.client()
    srv._cfg.reconfig = False
    cli.connectx([(S1, PORT)])
    conn, _ = srv.accept()
    with pytest.raises(OSError) as e:  # the peer lacks RE-CONFIG (module decision)
        cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0)
    assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as e:  # no such association
        cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 12345)
    assert e.value.errno == errno.EINVAL
    for s in (conn, cli, srv):
        s.close()


def test_reset_assoc_denied(net: Net) -> None:  # §6.3.1 default, §6.3.3
    srv, cli = net.server(), net.client()
    cli.setsockopt(SOL, sctpx.SCTP_ENABLE_STREAM_RESET, ALL)
    cli.connectx([(S1, PORT)])
    conn, _ = srv.accept()
    conn.settimeout(5)
    cli.settimeout(5)
    conn.sctp_send(b"first", stream=1)
    before = data(cli)
    cli.sctp_send(b"one", stream=1)
    tsn = data(conn).tsn
    cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0)  # the server denies it (not enabled)
    cli.sctp_send(b"held", stream=1)  # released by the refusal, under the old numbering
    m = data(conn)
    assert (m.data, m.ssn, m.tsn) == (b"held", 1, (tsn + 1) & 0xFFFFFFFF)
    assert cli._assoc(0).reconf.assoc_reset_at is not None  # it was asked, and refused
    conn.sctp_send(b"second", stream=1)
    m = data(cli)
    assert (m.data, m.ssn, m.tsn) == (b"second", 1, (before.tsn + 1) & 0xFFFFFFFF)
    for s in (conn, cli, srv):
        s.close()


def test_add_incoming_streams(net: Net) -> None:  # RFC 6525 §6.3.4 sas_instrms, §6.1.3
    srv, cli, conn = pair_all(net)
    n = cli.getsockopt(SOL, sctpx.SCTP_STATUS).instrms
    cli.setsockopt(SOL, sctpx.SCTP_ADD_STREAMS, sctpx.AddStreams(0, 3, 0))
    ev = cli.sctp_recv()
    assert isinstance(ev, sctpx.StreamChangeEvent) and ev.flags == 0
    assert ev.inbound_streams == n + 3 == cli.getsockopt(SOL, sctpx.SCTP_STATUS).instrms
    ev = conn.sctp_recv()  # the peer performed it: its outbound streams grew
    assert isinstance(ev, sctpx.StreamChangeEvent) and ev.outbound_streams == n + 3
    assert conn.getsockopt(SOL, sctpx.SCTP_STATUS).outstrms == n + 3
    conn.sctp_send(b"new", stream=n + 2)
    assert data(cli).stream_id == n + 2
    with pytest.raises(OSError) as e:
        cli.setsockopt(SOL, sctpx.SCTP_ADD_STREAMS, sctpx.AddStreams(0, 65535, 0))
    assert e.value.errno == errno.EINVAL
    for s in (conn, cli, srv):
        s.close()


def test_assoc_reset_event(net: Net) -> None:  # RFC 6525 §6.1.2 SCTP_ASSOC_RESET_EVENT
    srv, cli, conn = pair_all(net)
    for s in (cli, conn):
        s.subscribe(sctpx.SCTP_ASSOC_RESET_EVENT)
    cli.setsockopt(SOL, sctpx.SCTP_RESET_ASSOC, 0)
    mine, theirs = cli.sctp_recv(), conn.sctp_recv()
    assert isinstance(mine, AssocResetEvent) and isinstance(theirs, AssocResetEvent)
    assert mine.flags == theirs.flags == 0
    assert (mine.local_tsn, mine.remote_tsn) == (theirs.remote_tsn, theirs.local_tsn)
    for s in (conn, cli, srv):
        s.close()
