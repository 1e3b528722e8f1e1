"""sctpx.socket on real UDP sockets over loopback: set-up, data, notifications, options.

Each test makes its own two Stacks (server and client, ephemeral UDP ports) and
closes everything in fixtures. Addresses are loopback only: 127.0.0.0/8 is all
routed to ``lo`` on Linux, so 127.0.0.2 and 127.0.0.3 need no configuration.
"""

from __future__ import annotations

import errno
import hashlib
import os
import selectors
import time

import pytest

import sctpx

from .support import DEAD, PORT, S1, S2, WAIT, Net


def test_connectx_refused_first_address_then_two_paths(net: Net) -> None:  # quick index 1
    srv = net.server()
    cli = net.client()
    t0 = time.monotonic()
    aid = cli.connectx([(DEAD, PORT), (S1, PORT), (S2, PORT)])
    took = time.monotonic() - t0
    assert aid not in (0, 1, 2)
    assert took < 0.5, took  # refused at once (ICMP port unreachable), not after T1
    assert sorted(cli.getpaddrs()) == [(S1, PORT), (S2, PORT)]
    for ip in (S1, S2):  # listed: ACTIVE at once, never UNCONFIRMED (PV-01)
        info = cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_PEER_ADDR_INFO, (ip, PORT))
        assert info.state == sctpx.SCTP_ACTIVE
    conn, _peer = srv.accept()
    cli.sendall(b"ping")
    conn.settimeout(WAIT)
    assert conn.recv(100) == b"ping"
    conn.send(b"pong")
    assert cli.recv(100) == b"pong"
    st = cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_STATUS)
    assert st.state == sctpx.SCTP_ESTABLISHED and st.assoc_id == aid
    cli.close()
    assert conn.recv(100) == b""  # the peer's SHUTDOWN ends it like TCP's FIN
    conn.close()
    srv.close()


def test_one_to_many_connectx_and_notifications(net: Net) -> None:  # API-01, NTF-01
    srv = net.server(sctpx.SOCK_SEQPACKET)
    srv.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    cli = net.client(sctpx.SOCK_SEQPACKET)
    cli.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    aid = cli.connectx([(S1, PORT), (S2, PORT)])
    assert cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_ASSOC_NUMBER) == 1
    assert cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_ASSOC_ID_LIST) == [aid]
    up = cli.sctp_recv()
    assert isinstance(up, sctpx.AssocChange) and up.state is sctpx.AssocChangeState.COMM_UP
    assert up.assoc_id == aid
    cli.sctp_send(b"to the server", assoc_id=aid, stream=3, ppid=46)
    srv_up = srv.sctp_recv()
    assert isinstance(srv_up, sctpx.AssocChange)
    msg = srv.sctp_recv()
    assert isinstance(msg, sctpx.DataReceived)
    assert (msg.data, msg.stream_id, msg.ppid) == (b"to the server", 3, 46)  # ppid host order
    assert msg.assoc_id == srv_up.assoc_id
    for s in (cli, srv):
        s.close()


def test_peer_announced_address_is_confirmed_with_a_notification(net: Net) -> None:  # PV-02
    srv = net.server()
    cli = net.client()
    cli.subscribe(sctpx.SCTP_PEER_ADDR_CHANGE)
    cli.connectx([(S1, PORT)])
    info = cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_PEER_ADDR_INFO, (S2, PORT))
    assert info.state in (sctpx.SCTP_UNCONFIRMED, sctpx.SCTP_ACTIVE)
    ev = cli.sctp_recv()
    assert isinstance(ev, sctpx.PeerAddrChange)
    assert (ev.address, ev.state) == (S2, sctpx.PeerAddrState.CONFIRMED)
    info = cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_PEER_ADDR_INFO, (S2, PORT))
    assert info.state == sctpx.SCTP_ACTIVE
    cli.close()
    srv.close()


def test_listed_address_the_server_lacks_is_silently_dropped(net: Net) -> None:  # IACK-04
    srv = net.server(addrs=(S1,))
    cli = net.client()
    cli.connectx([(S1, PORT), ("127.0.0.4", PORT)])
    assert cli.getpaddrs() == [(S1, PORT)]
    cli.close()
    srv.close()


def test_all_refused_is_econnrefused_quickly(net: Net) -> None:  # ERR-11, ICMP-03
    cli = net.client()
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        cli.connectx([(DEAD, PORT), ("127.0.0.8", PORT)])
    assert ei.value.errno == errno.ECONNREFUSED
    assert time.monotonic() - t0 < 0.5
    with pytest.raises(OSError) as ei:  # a one-to-one socket may try again
        cli.connectx([("127.0.0.7", PORT)])
    assert ei.value.errno == errno.ECONNREFUSED
    cli.close()


def test_state_errors_eisconn_and_ealready(net: Net) -> None:  # ERR-08, ERR-09
    srv = net.server()
    cli = net.client()
    cli.connectx([(S1, PORT)])
    with pytest.raises(OSError) as ei:
        cli.connectx([(S2, PORT)])
    assert ei.value.errno == errno.EISCONN
    with pytest.raises(OSError) as ei:
        srv.connectx([(S1, PORT)])
    assert ei.value.errno == errno.EISCONN  # listening
    many = net.client(sctpx.SOCK_SEQPACKET)
    many.connectx([(S1, PORT)])
    with pytest.raises(OSError) as ei:
        many.connectx([("127.0.0.5", PORT), (S1, PORT)])
    assert ei.value.errno == errno.EISCONN
    for s in (cli, srv, many):
        s.close()


def test_non_blocking_connectx_with_selectors(net: Net) -> None:  # NB-02, NB-03
    srv = net.server()
    cli = net.client()
    cli.setblocking(False)
    with pytest.raises(BlockingIOError) as ei:
        cli.connectx([(S1, PORT), (S2, PORT)])
    assert ei.value.errno == errno.EINPROGRESS
    aid = ei.value.assoc_id  # type: ignore[attr-defined]
    assert aid not in (0, 1, 2)
    with selectors.DefaultSelector() as sel:
        sel.register(cli.fileno(), selectors.EVENT_WRITE)
        assert sel.select(WAIT), "the descriptor must become writable when set-up ends"
    assert cli.getsockopt(sctpx.SOL_SOCKET, __import__("socket").SO_ERROR) == 0
    cli.setblocking(True)
    cli.settimeout(WAIT)
    cli.send(b"x")
    conn, _ = srv.accept()
    with selectors.DefaultSelector() as sel:  # readable when a message waits
        sel.register(conn.fileno(), selectors.EVENT_READ)
        assert sel.select(WAIT)
    conn.settimeout(WAIT)
    assert conn.recv(10) == b"x"
    for s in (conn, cli, srv):
        s.close()


def test_non_blocking_failure_shows_in_so_error(net: Net) -> None:  # NB-03
    cli = net.client()
    cli.setblocking(False)
    with pytest.raises(BlockingIOError):
        cli.connectx([(DEAD, PORT)])
    with selectors.DefaultSelector() as sel:
        sel.register(cli.fileno(), selectors.EVENT_WRITE)
        assert sel.select(WAIT)
    assert cli.getsockopt(sctpx.SOL_SOCKET, __import__("socket").SO_ERROR) == errno.ECONNREFUSED
    cli.close()


def test_bulk_transfer_with_checksum(net: Net) -> None:
    srv, cli, conn = net.connected((S1, S2))
    total = 20 * 1024 * 1024
    block = os.urandom(64 * 1024)
    sent = hashlib.sha256()
    import threading

    def sender() -> None:
        n = 0
        while n < total:
            off = n % 60000
            piece = block[off : off + min(1200, total - n)]
            cli.send(piece)
            sent.update(piece)
            n += len(piece)

    t = threading.Thread(target=sender)
    t0 = time.monotonic()
    t.start()
    got = hashlib.sha256()
    n = 0
    while n < total:
        piece = conn.recv(65536)
        assert piece
        got.update(piece)
        n += len(piece)
    t.join(WAIT)
    spent = time.monotonic() - t0
    print(f"20 MB over real UDP sockets in {spent:.2f} s: {total * 8 / spent / 1e6:.0f} Mbit/s")
    assert got.digest() == sent.digest()
    for s in (cli, conn, srv):
        s.close()


def test_recvmsg_recvv_sendv_and_peeloff(net: Net) -> None:  # RFC 6458 §9.2, §9.8, §9.12
    srv = net.server(sctpx.SOCK_SEQPACKET)
    srv.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    cli = net.client()
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_NODELAY, 1)  # no Nagle wait for "two"
    cli.connectx([(S1, PORT)])
    cli.sctp_sendv(b"one", sctpx.SndInfo(sid=2, ppid=7))
    cli.sctp_sendv(b"two", sctpx.SndInfo(sid=1, ppid=8, flags=sctpx.SCTP_UNORDERED))
    note, frm, info, flags = srv.sctp_recvmsg()
    assert flags & sctpx.MSG_NOTIFICATION and frm is None
    assert isinstance(note, sctpx.AssocChange)
    time.sleep(0.2)  # both messages are in by now (loopback), so NxtInfo has one to show
    data, info, nxt, flags = srv.sctp_recvv()
    assert (data, info.sid, info.ppid, flags & sctpx.MSG_EOR) == (b"one", 2, 7, sctpx.MSG_EOR)
    assert nxt is not None and (nxt.sid, nxt.ppid, nxt.length) == (1, 8, 3)
    child = srv.peeloff(info.assoc_id)  # "two" waits on the association: it moves along
    assert child.type == sctpx.SOCK_STREAM
    child.settimeout(WAIT)
    assert child.recv(100) == b"two"
    child.send(b"three")
    assert cli.recv(100) == b"three"
    assert srv.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_ASSOC_NUMBER) == 0
    for s in (child, cli, srv):
        s.close()


def test_a_message_larger_than_the_receive_buffer_comes_in_parts_with_msg_eor(net: Net) -> None:
    # RFC 6458 §9.8 / RFC 9260 §6.9: 500 KB into a 128 KB buffer; MSG_EOR on the last part.
    srv, cli, conn = net.connected()
    big = os.urandom(500_000)
    cli.sctp_send(big, stream=1, ppid=5)
    cli.sctp_send(b"tail", stream=1, ppid=6)
    parts, flags = [], 0
    while not flags & sctpx.MSG_EOR:
        data, _frm, info, flags = conn.sctp_recvmsg(1 << 20)
        assert (info.sid, info.ppid) == (1, 5)
        parts.append(data)
    assert len(parts) > 1 and b"".join(parts) == big
    data, _frm, info, flags = conn.sctp_recvmsg(1 << 20)
    assert (data, info.ppid, flags & sctpx.MSG_EOR) == (b"tail", 6, sctpx.MSG_EOR)
    for s in (conn, cli, srv):
        s.close()


def test_options_round_trip(net: Net) -> None:  # OPT-01, OPT-03, PAR-01
    s = net.client()
    init = s.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_INITMSG)
    assert (init.max_attempts, init.num_ostreams) == (8, 10)
    rto = s.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_RTOINFO)
    assert (rto.initial, rto.max, rto.min) == (1000, 60000, 1000)  # RFC 9260 §16
    s.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_INITMSG, sctpx.InitMsg(num_ostreams=5))
    s.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_RTOINFO, sctpx.RtoInfo(initial=500, min=200))
    assert s.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_INITMSG).num_ostreams == 5
    rto = s.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_RTOINFO)
    assert (rto.initial, rto.min) == (500, 200)
    with pytest.raises(OSError) as ei:
        s.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_RTOINFO, sctpx.RtoInfo(initial=100, min=200))
    assert ei.value.errno == errno.EINVAL
    with pytest.raises(OSError) as ei:
        s.getsockopt(sctpx.IPPROTO_SCTP, 9999)
    assert ei.value.errno == errno.ENOPROTOOPT
    s.close()


def test_default_sndinfo_and_maxseg(net: Net) -> None:  # RFC 6458 §8.1.31, §8.1.16
    srv = net.server()
    cli = net.client()
    assert cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_MAXSEG) == 1444
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_DEFAULT_SNDINFO, sctpx.SndInfo(sid=4, ppid=51))
    with pytest.raises(OSError) as ei:
        cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_DEFAULT_SNDINFO,
                       sctpx.SndInfo(flags=sctpx.SCTP_ABORT))  # fmt: skip
    assert ei.value.errno == errno.EINVAL
    aid = cli.connectx([(S1, PORT)])
    assert cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_MAXSEG, aid) == 1444
    conn, _ = srv.accept()
    conn.settimeout(WAIT)
    cli.send(b"defaults")
    data, _frm, info, _flags = conn.sctp_recvmsg()
    assert (data, info.sid, info.ppid) == (b"defaults", 4, 51)
    for s in (conn, cli, srv):
        s.close()


def test_argument_errors_send_no_packet(net: Net) -> None:  # ERR-06 with a packet counter
    srv = net.server()
    cli = net.client()
    many = net.client(sctpx.SOCK_SEQPACKET)
    cli.connectx([(S1, PORT)])  # the endpoints exist: now count what they send
    many.connectx([(S1, PORT)])
    time.sleep(0.5)  # the probe of the unlisted S2 and its answer are done by now
    before = net.client_stack.stats.sent
    for bad in ([], [(S1, 0)], [("::1", PORT)], [(S2, PORT), (S1, PORT + 1)], [("0.0.0.0", PORT)]):
        with pytest.raises(OSError):
            cli.connectx(bad)
        with pytest.raises(OSError):
            many.connectx(bad)
    with pytest.raises(OSError) as ei:
        many.connectx([(S2, PORT), (S1, PORT)])  # S2 and S1 belong to one association
    assert ei.value.errno == errno.EISCONN
    assert net.client_stack.stats.sent == before  # not one packet
    assert many.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_ASSOC_NUMBER) == 1
    for s in (cli, many, srv):
        s.close()


def test_closing_a_one_to_many_server_ends_its_accepted_associations(net: Net) -> None:
    srv = net.server(sctpx.SOCK_SEQPACKET)  # RFC 6458 §3.1.5
    cli = net.client()
    cli.connectx([(S1, PORT)])
    cli.send(b"hello")
    assert isinstance(srv.sctp_recv(), sctpx.DataReceived)
    srv.close()
    assert cli.recv(10) == b""  # the server's SHUTDOWN ends the association
    again = net.server(sctpx.SOCK_SEQPACKET)  # the port is free again once it is over
    again.close()
    cli.close()


def test_ipv6_sockets_and_mapped_addresses(net: Net) -> None:  # API-06, API-08
    srv = sctpx.socket(sctpx.AF_INET6, sctpx.SOCK_STREAM, stack=net.server_stack)
    srv.bind(("::1", PORT))
    srv.listen()
    srv.settimeout(WAIT)
    cli = sctpx.socket(sctpx.AF_INET6, sctpx.SOCK_STREAM, stack=net.client_stack)
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                   sctpx.UdpEncaps(port=net.server_stack.udp_port))  # fmt: skip
    cli.settimeout(WAIT)
    cli.connectx([("::1", PORT)])
    conn, peer = srv.accept()
    assert peer[0] == "::1"
    cli.send(b"six")
    conn.settimeout(WAIT)
    assert conn.recv(10) == b"six"
    v4 = sctpx.socket(sctpx.AF_INET6, sctpx.SOCK_STREAM, stack=net.client_stack)
    v4srv = net.server(addrs=(S1,), port=PORT + 1)
    v4.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                  sctpx.UdpEncaps(port=net.server_stack.udp_port))  # fmt: skip
    v4.settimeout(WAIT)
    v4.connectx([("::ffff:127.0.0.2", PORT + 1)])  # an IPv4-mapped address is IPv4
    assert v4.getpaddrs() == [(S1, PORT + 1)]
    for s in (conn, cli, srv, v4, v4srv):
        s.close()


def test_so_linger_zero_aborts_on_close(net: Net) -> None:
    import socket as pysocket
    import struct

    srv = net.server()
    cli = net.client()
    cli.connectx([(S1, PORT)])
    conn, _ = srv.accept()
    conn.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    cli.setsockopt(sctpx.SOL_SOCKET, pysocket.SO_LINGER, struct.pack("ii", 1, 0))
    cli.close()
    conn.settimeout(WAIT)
    ev = conn.sctp_recv()
    assert isinstance(ev, sctpx.AssocChange)
    assert (ev.state, ev.error) == (sctpx.AssocChangeState.COMM_LOST, errno.ECONNRESET)
    conn.close()
    srv.close()


def test_one_to_many_send_to_an_address_sets_the_association_up(net: Net) -> None:
    srv = net.server(sctpx.SOCK_SEQPACKET)  # RFC 6458 §3.1.6 implicit set-up
    cli = net.client(sctpx.SOCK_SEQPACKET)
    cli.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    assert sctpx.sctp_sendmsg(cli, b"first", ppid=3, to=(S1, PORT)) == 5
    cli.sctp_send(b"second", to=(S1, PORT))  # the same association, now known
    up = cli.sctp_recv()
    assert isinstance(up, sctpx.AssocChange) and up.state is sctpx.AssocChangeState.COMM_UP
    got = [srv.sctp_recv(), srv.sctp_recv()]
    assert [(m.data, m.ppid) for m in got] == [(b"first", 3), (b"second", 0)]  # type: ignore[union-attr]
    assert cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_ASSOC_NUMBER) == 1
    for s in (cli, srv):
        s.close()


def test_maxseg_and_per_address_peer_params(net: Net) -> None:  # §8.1.16, §8.1.12
    srv = net.server()
    cli = net.client()
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_MAXSEG, 500)
    assert cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_MAXSEG) == 500
    aid = cli.connectx([(S1, PORT), (S2, PORT)])
    assert cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_MAXSEG, aid) == 500
    conn, _ = srv.accept()
    conn.settimeout(WAIT)
    cli.send(b"m" * 1200)  # three fragments of at most 500 bytes
    assert conn.recv(2000) == b"m" * 1200
    params = sctpx.PeerAddrParams(aid, (S2, PORT), hbinterval=5000, pathmaxrxt=2)
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_PEER_ADDR_PARAMS, params)
    got = cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_PEER_ADDR_PARAMS, (aid, (S2, PORT)))
    assert (got.hbinterval, got.pathmaxrxt) == (5000, 2)
    other = cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_PEER_ADDR_PARAMS, (aid, (S1, PORT)))
    assert (other.hbinterval, other.pathmaxrxt) == (30000, 5)  # the association's
    with pytest.raises(OSError) as ei:
        cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_PEER_ADDR_PARAMS,
                       sctpx.PeerAddrParams(aid, ("127.0.0.7", PORT), pathmaxrxt=1))  # fmt: skip
    assert ei.value.errno == errno.EINVAL
    for s in (conn, cli, srv):
        s.close()


def test_accept_after_the_association_already_ended(net: Net) -> None:
    srv = net.server()
    cli = net.client()
    cli.connectx([(S1, PORT)])
    cli.send(b"before the end")
    cli.close()  # SHUTDOWN goes out before the server accepts
    time.sleep(0.3)
    conn, peer = srv.accept()  # like TCP: the socket, then the data, then EOF
    assert peer[1] > 0
    conn.settimeout(WAIT)
    assert conn.recv(100) == b"before the end"
    assert conn.recv(100) == b""
    conn.close()
    srv.close()


def test_close_then_stack_close_still_delivers_and_shuts_down(net: Net) -> None:
    srv, cli, conn = net.connected()
    cli.sendall(b"last words")
    cli.close()
    net.client_stack.close()  # right away: the queued send and the SHUTDOWN still go
    assert conn.recv(100) == b"last words"
    assert conn.recv(100) == b""  # and the SHUTDOWN completed before the stack stopped
    conn.close()
    srv.close()


def test_partial_delivery_point_option(net: Net) -> None:  # RFC 6458 §8.1.21
    s = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, stack=net.client_stack)
    opt = sctpx.SCTP_PARTIAL_DELIVERY_POINT
    assert s.getsockopt(sctpx.IPPROTO_SCTP, opt) == 131072 // 2  # half SO_RCVBUF
    s.setsockopt(sctpx.IPPROTO_SCTP, opt, 10_000)
    assert s.getsockopt(sctpx.IPPROTO_SCTP, opt) == 10_000
    s.setsockopt(sctpx.IPPROTO_SCTP, opt, 1 << 30)  # beyond half the buffer: capped
    assert s.getsockopt(sctpx.IPPROTO_SCTP, opt) == 131072 // 2
    for bad in (-1, "x", 1 << 32):
        with pytest.raises(OSError) as exc:
            s.setsockopt(sctpx.IPPROTO_SCTP, opt, bad)
        assert exc.value.errno == errno.EINVAL
    s.close()
