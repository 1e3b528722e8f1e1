"""SCTP directly over IP between namespaces: sctpx with sctpx and with usrsctp; wildcard binds.

usrsctp runs over raw IP when its UDP encapsulation ports are 0 (as root it opens
raw sockets). Every packet on the wire must then be plain SCTP (no UDP).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from .lab import A1, A2, A6, B1, B2, B6, ECHO_PORT, WAIT, Lab
from .remote import SRC, RemoteSocket
from .test_data import ECHOED, client_lines, echo_round, messages, peer_addresses, wait_shutdown

DATA = 0


def all_raw(lab: Lab) -> None:
    assert lab.reports is not None
    pkts = lab.reports.wire.packets
    assert pkts and all(p.sport == p.dport == 0 for p in pkts), "a packet went over UDP"


def wait_raw_socket(lab: Lab, timeout: float = 5.0) -> None:
    """Until a raw SCTP socket (protocol 132 = 0x84) is open in host b."""
    deadline = time.monotonic() + timeout
    while ":0084 " not in lab.net.run(lab.b, ["cat", "/proc/net/raw", "/proc/net/raw6"]).stdout:
        assert time.monotonic() < deadline, "no raw SCTP socket in host b"
        time.sleep(0.02)
    time.sleep(0.15)  # usrsctp opens its sockets before the program's bind and listen


def raw_server(lab: Lab, port: int, addrs: tuple[str, ...] = (B1, B2),
               family: int = 4) -> RemoteSocket:  # fmt: skip
    peer = lab.sctpx("server", transport="ip", host=lab.b)
    return lab.server(peer, port, family=family, addrs=addrs)


def test_sctpx_to_sctpx_over_ip_fails_over(lab: Lab) -> None:
    srv = raw_server(lab, 5000)
    acc = srv.background("accept")
    cli = lab.client(lab.sctpx("client", transport="ip"))
    cli.connectx([(B1, 5000), (B2, 5000)])
    conn, _ = acc.join(WAIT)
    echo = conn.job("echo")
    echo_round(cli, messages(21, 50, (10, 1000, 3000)))
    lab.net.cut(lab.link1)  # black hole: both directions of link 1
    t0 = time.monotonic()
    echo_round(cli, messages(22, 50, (10, 1000, 3000)))  # moved to link 2 by T3 (RTO 1 s)
    took = time.monotonic() - t0
    lab.net.restore(lab.link1)
    wait_shutdown(cli)
    assert echo.join(WAIT).messages == 100
    rep = lab.finish()
    all_raw(lab)
    assert rep.wire.chunk_count(DATA, src=A2, dst=B2) > 0  # after the cut
    assert took < 5.0, f"failover took {took:.1f} s"


def test_usrsctp_client_over_ip_to_sctpx_echo(lab: Lab) -> None:
    peer = lab.sctpx(transport="ip")
    srv = lab.server(peer, ECHO_PORT)
    acc = srv.background("accept")
    cli = lab.usrsctp("client", A1, str(ECHO_PORT), "0", "0", "0", stdin=True, markers=ECHOED)
    conn, _ = acc.join(WAIT)
    echo = conn.job("echo")
    lines = client_lines(100, 7)
    for line in lines:
        cli.write(line)
    cli.wait_for(lines[-1].decode().strip().replace(" ", "\\ "), WAIT)
    cli.close_input()
    assert cli.wait(WAIT) == 0
    assert echo.join(WAIT).messages == len(lines)
    out = cli.text()
    assert peer_addresses(out) == {A1, A2} and "SCTP_SHUTDOWN_COMP" in out
    lab.finish()
    all_raw(lab)


def test_sctpx_over_ip_to_usrsctp_echo_server(lab: Lab) -> None:
    lab.usrsctp("echo_server", "0", "0")
    wait_raw_socket(lab)
    s = lab.client(lab.sctpx(transport="ip"))
    s.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    assert sorted(s.getpaddrs()) == [(B1, ECHO_PORT), (B2, ECHO_PORT)]
    echo_round(s, messages(23, 100, (1, 100, 1200, 4000)))
    wait_shutdown(s)
    rep = lab.finish()
    all_raw(lab)
    assert rep.wire.chunk_count(DATA, src=A1) + rep.wire.chunk_count(DATA, src=A2) >= 100


def _wildcard(lab: Lab, transport: str, family: int) -> tuple[list[tuple[str, int]], list[str]]:
    peer = lab.sctpx("server", transport=transport, host=lab.b)
    s = peer.socket(family)
    wildcard = "0.0.0.0" if family == 4 else "::"
    s.bind((wildcard, 5004))
    s.udp_encaps(19899)  # sctpx on host a (SX_UDP); no effect over IP
    s.listen()
    s.settimeout(WAIT)
    acc = s.background("accept")
    client = lab.sctpx("client", transport=transport)
    bind = (A1, A2) if family == 4 else (A6, A1, A2)
    cli = lab.client(client, family=family, bind=bind)
    cli.udp_encaps(19899)  # the server's stack runs on the lab's sctpx port too
    cli.connectx([(B1 if family == 4 else B6, 5004)])
    conn, _ = acc.join(WAIT)
    assert s.getsockname() == (wildcard, 5004)
    echo = conn.job("echo")
    echo_round(cli, messages(24, 10, (10, 100)))
    paddrs = sorted(cli.getpaddrs())
    laddrs = [ip for ip, _p in conn.getladdrs()]
    wait_shutdown(cli)
    assert echo.join(WAIT).messages == 10
    lab.finish()
    return paddrs, laddrs


def test_wildcard_bind_lists_every_address_but_loopback(lab: Lab) -> None:
    paddrs, laddrs = _wildcard(lab, "udp", 4)
    assert paddrs == [(B1, 5004), (B2, 5004)]  # both from the INIT ACK; no 127.0.0.1
    assert "127.0.0.1" in laddrs  # the endpoint has it, but never told a non-loopback peer


def test_wildcard_ipv6_bind_over_ip_covers_both_families(lab: Lab) -> None:
    paddrs, _ = _wildcard(lab, "ip", 6)
    assert {ip for ip, _p in paddrs} == {B6, B1, B2}  # all of host b's, no ::1, no 127.0.0.1
    all_raw(lab)


def test_cli_listen_on_the_wildcard_over_ip(lab: Lab) -> None:
    """`sctpx listen 0.0.0.0 --echo --transport ip` in host b; `sctpx connect` from host a."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    log = (lab.dir / "listen.log").open("wb")
    srv = lab.net.spawn(lab.b, [sys.executable, "-m", "sctpx", "listen", "0.0.0.0", "-p", "5007",
                                "--echo", "--transport", "ip"], stderr=log, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while b"listening on" not in (lab.dir / "listen.log").read_bytes():
            assert srv.poll() is None and time.monotonic() < deadline, "listen did not start"
            time.sleep(0.05)
        said = (lab.dir / "listen.log").read_bytes()
        assert b"listening on 0.0.0.0 port 5007, over IP (echo)" in said
        done = subprocess.run(
            lab.net.argv(lab.a, [sys.executable, "-m", "sctpx", "connect", B2, "-p", "5007",
                                 "--transport", "ip", "-v"]),
            input=b"over the wildcard\n", capture_output=True, timeout=30, env=env,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == b"over the wildcard\n"
        assert b"COMM_UP" in done.stderr and B1.encode() in done.stderr  # both of b's paths
        assert b"127.0.0.1" not in done.stderr
    finally:
        lab.net.stop(srv)
        log.close()
    lab.finish()
    all_raw(lab)
