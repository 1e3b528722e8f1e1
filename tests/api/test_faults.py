"""Faults on real sockets: a black-holed first address, a primary cut mid-transfer, many threads,
and a peer in another process.

Black holes are iptables DROP rules on loopback addresses and the stack's own UDP
ports only, on the INPUT chain (drops there vanish silently; on OUTPUT the sender
would get EPERM). Every rule is removed in ``finally``, also when a test fails.
CI runs as root and installs iptables (see the Makefile's SYSPKGS).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import sctpx
from sctpx.net import Stack

from .support import DEAD, PORT, S1, S2, WAIT, Net


@contextmanager
def drop(dst: str, udp_port: int) -> Iterator[None]:
    """Silently drop UDP to ``dst:udp_port`` arriving on this host, for the block's duration."""
    ipt = shutil.which("iptables")
    assert ipt, "iptables is needed (make test installs it as root)"
    rule = ["INPUT", "-d", dst, "-p", "udp", "--dport", str(udp_port), "-j", "DROP"]
    subprocess.run([ipt, "-I", *rule], check=True)
    try:
        yield
    finally:
        subprocess.run([ipt, "-D", *rule], check=True)


def test_black_holed_first_address_costs_only_the_stagger(net: Net) -> None:
    srv = net.server()
    with drop(DEAD, net.server_stack.udp_port):
        cli = net.client()
        t0 = time.monotonic()
        cli.connectx([(DEAD, PORT), (S1, PORT), (S2, PORT)])
        took = time.monotonic() - t0
    assert 0.2 <= took < 0.6, took  # the 250 ms stagger, not a 1 s T1 (usrsctp: 3 s)
    assert sorted(cli.getpaddrs()) == [(S1, PORT), (S2, PORT)]
    cli.close()
    srv.close()


def test_black_holed_first_address_classic_timer(net: Net) -> None:
    srv = net.server()
    with drop(DEAD, net.server_stack.udp_port):
        cli = net.client()
        cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTPX_INIT_STAGGER, 0)
        t0 = time.monotonic()
        cli.connectx([(DEAD, PORT), (S1, PORT)])
        took = time.monotonic() - t0
    assert 0.95 <= took < 1.5, took  # one RTO.Initial (RFC 9260: 1 s)
    cli.close()
    srv.close()


def test_primary_cut_mid_transfer_completes_over_the_other_path(net: Net) -> None:
    srv, cli, conn = net.connected((S1, S2))
    conn.settimeout(10)
    total = 4000
    payload = [i.to_bytes(4, "big") * 300 for i in range(total)]
    got: list[bytes] = []

    def reader() -> None:
        while len(got) < total:
            got.append(conn.recv(2000))

    t = threading.Thread(target=reader)
    t.start()
    try:
        with drop(S1, net.server_stack.udp_port):
            for p in payload[: total // 2]:
                cli.send(p)
            time.sleep(0.3)  # the cut is noticed (T3 = 1 s) while we keep sending
            for p in payload[total // 2 :]:
                cli.send(p)
            t.join(15)
    finally:
        t.join(15)
    assert got == payload  # every message, in order, none twice
    info = cli.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_GET_PEER_ADDR_INFO, (S1, PORT))
    assert info.state in (sctpx.SCTP_PF, sctpx.SCTP_INACTIVE)
    for s in (cli, conn, srv):
        s.close()


def test_eight_threads_send_receive_and_close_without_deadlock(net: Net) -> None:
    srv = net.server(sctpx.SOCK_SEQPACKET)
    clients = [net.client() for _ in range(4)]
    for c in clients:
        c.connectx([(S1, PORT)])
    errors: list[BaseException] = []
    stop = time.monotonic() + 2.0
    received = [0]

    def sender(c: sctpx.socket) -> None:
        try:
            while time.monotonic() < stop:
                c.send(b"x" * 500)
        except OSError:
            pass  # closed under us by the closer thread: allowed
        except BaseException as e:
            errors.append(e)

    def reader() -> None:
        srv.settimeout(0.2)
        try:
            while time.monotonic() < stop + 0.5:
                try:
                    srv.sctp_recv()
                    received[0] += 1
                except TimeoutError:
                    continue
        except OSError:
            pass
        except BaseException as e:
            errors.append(e)

    def closer() -> None:
        time.sleep(1.0)
        clients[0].close()
        clients[1].shutdown()

    threads = [threading.Thread(target=sender, args=(c,)) for c in clients]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    threads += [threading.Thread(target=closer), threading.Thread(target=lambda: [
        c.getsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_STATUS) for c in clients[2:] for _ in range(50)
    ])]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    assert not errors, errors
    assert received[0] > 100
    for c in [*clients, srv]:
        c.close()


PEER = r"""
import hashlib, sys, sctpx
stack = sctpx.Stack(udp_port=0)
kind = sctpx.SOCK_STREAM if sys.argv[1] == "stream" else sctpx.SOCK_SEQPACKET
s = sctpx.socket(sctpx.AF_INET, kind, stack=stack)
s.bind(("127.0.0.2", 5000)); s.bindx([("127.0.0.3", 5000)]); s.listen()
print(stack.udp_port, flush=True)
s.settimeout(30)
h = hashlib.sha256(); n = 0; total = int(sys.argv[2])
if kind == sctpx.SOCK_STREAM:
    c, _ = s.accept(); c.settimeout(30)
    while n < total:
        d = c.recv(65536); h.update(d); n += len(d)
else:
    while n < total:
        ev = s.sctp_recv()
        if isinstance(ev, sctpx.DataReceived):
            h.update(ev.data); n += len(ev.data)
print(h.hexdigest(), flush=True)
"""


@pytest.mark.parametrize(("kind", "size"), [("stream", 1 << 30), ("seqpacket", 4 << 20)])
def test_transfer_to_another_process(kind: str, size: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", PEER, kind, str(size)],
                             stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    stack = Stack(udp_port=0)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        style = sctpx.SOCK_STREAM if kind == "stream" else sctpx.SOCK_SEQPACKET
        cli = sctpx.socket(sctpx.AF_INET, style, stack=stack)
        cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                       sctpx.UdpEncaps(port=port))  # fmt: skip
        cli.settimeout(WAIT)
        aid = cli.connectx([(S1, PORT), (S2, PORT)])
        block = os.urandom(1 << 16)
        h = hashlib.sha256()
        t0 = time.monotonic()
        for off in range(0, size, 1200):
            piece = block[off % 60000 : off % 60000 + min(1200, size - off)]
            cli.sctp_send(piece, assoc_id=aid)
            h.update(piece)
        digest = child.stdout.readline().strip()
        spent = time.monotonic() - t0
        print(f"{size >> 20} MB to another process ({kind}): {size * 8 / spent / 1e6:.0f} Mbit/s")
        assert digest == h.hexdigest()
        cli.close()
    finally:
        child.kill()
        child.wait(5)
        stack.close()
