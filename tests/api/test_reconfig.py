"""RFC 6525 §6.3 socket options over real (loopback UDP) sockets: stream reset, adding
streams, the SCTP_STREAM_RESET_EVENT / SCTP_STREAM_CHANGE_EVENT notifications."""

from __future__ import annotations

import errno

import pytest

import sctpx

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
    assert [(m.data, m.ssn) for m in (data(conn), data(conn), data(conn))] == [
        (b"a", 0), (b"b", 1), (b"z", 0)
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
    assert [(m.data, m.ssn) for m in (data(conn), data(conn))] == [(b"c", 0), (b"y", 1)]
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
