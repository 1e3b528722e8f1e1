"""The testing aids the CLI adds to the Stack: blackhole() and tap()."""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator

import pytest

import sctpx
from sctpx.net import Stack
from sctpx.wire import decode_packet

SERVER, CLIENT, PORT = "127.0.0.2", "127.0.0.1", 5000


@pytest.fixture
def stacks() -> Iterator[tuple[Stack, Stack]]:
    server, client = Stack(udp_port=0), Stack(udp_port=0)
    try:
        yield server, client
    finally:
        client.close()
        server.close()


def pair(server: Stack, client: Stack) -> tuple[sctpx.socket, sctpx.socket, sctpx.socket]:
    srv = sctpx.socket(stack=server)
    srv.bind((SERVER, PORT))
    srv.listen()
    srv.settimeout(5)
    cli = sctpx.socket(stack=client)
    cli.bind((CLIENT, 0))
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                   sctpx.UdpEncaps(port=server.udp_port))  # fmt: skip
    # Short timers: a retransmission follows a lifted black hole within a fraction of a second.
    cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_RTOINFO,
                   sctpx.RtoInfo(initial=200, min=100, max=200))  # fmt: skip
    cli.settimeout(5)
    cli.connectx([(SERVER, PORT)])
    conn, _ = srv.accept()
    conn.settimeout(0.5)
    return srv, cli, conn


def test_blackhole_drops_arrivals_silently_until_lifted(stacks: tuple[Stack, Stack]) -> None:
    server, client = stacks
    srv, cli, conn = pair(server, client)
    server.blackhole(SERVER)
    cli.send(b"lost for now")
    with pytest.raises(TimeoutError):
        conn.recv(100)
    assert server.stats.blackholed > 0
    assert client.stats.unreachable == 0  # silent: no ICMP, no error
    server.blackhole(SERVER, on=False)
    conn.settimeout(5)
    assert conn.recv(100) == b"lost for now"  # the retransmission gets through
    for s in (conn, cli, srv):
        s.close()


def test_blackhole_drops_what_would_leave_from_the_address(stacks: tuple[Stack, Stack]) -> None:
    server, client = stacks
    srv, cli, conn = pair(server, client)
    client.blackhole(CLIENT)
    sent_before = client.stats.sent
    cli.send(b"never leaves")
    time.sleep(0.4)  # two retransmission timeouts
    assert client.stats.sent == sent_before
    assert client.stats.blackholed >= 2
    with pytest.raises(TimeoutError):
        conn.recv(100)
    client.blackhole(CLIENT, on=False)
    conn.settimeout(5)
    assert conn.recv(100) == b"never leaves"
    for s in (conn, cli, srv):
        s.close()


def test_blackhole_wants_an_ip_address(stacks: tuple[Stack, Stack]) -> None:
    server, _client = stacks
    with pytest.raises(OSError) as info:
        server.blackhole("not-an-ip")
    assert info.value.errno == errno.EINVAL


def test_tap_sees_every_datagram_both_ways(stacks: tuple[Stack, Stack]) -> None:
    server, client = stacks
    seen: list[tuple[bool, int, str, str]] = []

    def tap(t: float, src: tuple[str, int], dst: tuple[str, int], data: bytes, out: bool) -> None:
        assert abs(t - time.time()) < 5
        seen.append((out, decode_packet(data).chunks[0].type, src[0], dst[0]))

    client.tap(tap)
    srv, cli, conn = pair(server, client)
    cli.send(b"x")
    conn.settimeout(5)
    assert conn.recv(10) == b"x"
    for s in (cli, conn, srv):
        s.close()
    time.sleep(0.2)
    client.tap(None)
    kinds = [(out, kind) for out, kind, _s, _d in seen]
    # INIT out, INIT ACK in, COOKIE ECHO out, COOKIE ACK in, DATA out, then its ack comes in
    handshake = [(True, 1), (False, 2), (True, 10), (False, 11), (True, 0)]
    assert kinds[:5] == handshake, kinds
    assert any(not out for out, _k in kinds[5:]), kinds
    assert all(src == CLIENT for out, _k, src, _d in seen if out)
    assert all(dst == CLIENT for out, _k, _s, dst in seen if not out)
    assert client.stats.callback_errors == 0


def test_a_failing_tap_is_counted_not_fatal(stacks: tuple[Stack, Stack]) -> None:
    server, client = stacks

    def tap(t: float, src: tuple[str, int], dst: tuple[str, int], data: bytes, out: bool) -> None:
        raise RuntimeError("tap bug")

    client.tap(tap)
    srv, cli, conn = pair(server, client)
    cli.send(b"still works")
    conn.settimeout(5)
    assert conn.recv(100) == b"still works"
    assert client.stats.callback_errors > 0
    for s in (conn, cli, srv):
        s.close()
