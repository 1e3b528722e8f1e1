"""Cross-tests: the kernel backend in the VM against sctpx's userspace stack on the host.

SCTP over UDP (RFC 6951) on both paths of the VM (198.18.1.0/24, 198.18.2.0/24).
The host stacks use UDP ports of their own (9931, 9932): tests/kernel's use 9899.
The guest kernel answers to the UDP port a packet came from, and sends what it
starts to the port set with SCTP_REMOTE_UDP_ENCAPS_PORT, through the kernel
backend's setsockopt.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kernel.vm import KernelVM

import sctpx
from sctpx.net import Stack

from .guest import GUEST_DIR

HOST = ("198.18.1.1", "198.18.2.1")
GUEST = ("198.18.1.2", "198.18.2.2")
SOL = sctpx.IPPROTO_SCTP


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    s = Stack(udp_port=request.param)
    yield s
    s.close()


@pytest.mark.parametrize("stack", [9931], indirect=True)
def test_kernel_client_to_userspace_server(guest: KernelVM, stack: Stack) -> None:
    guest.set_sysctl("net.sctp.udp_port", "9899")  # the guest's own UDP port: encapsulation on
    port = 7601
    srv = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, stack=stack)
    srv.bind((HOST[0], port))
    srv.bindx([(HOST[1], port)])
    srv.listen()
    srv.settimeout(30)
    proc = guest.start_process(f"env PYTHONPATH={GUEST_DIR} python3 {GUEST_DIR}/g_cross.py "
                               f"client --to {','.join(HOST)} -p {port} --encaps 9931 "
                               f"-b {','.join(GUEST)}")  # fmt: skip
    try:
        conn, _peer = srv.accept()
        conn.settimeout(30)
        data, _frm, info, _flags = conn.sctp_recvmsg()
        assert (data, info.sid, info.ppid) == (b"ping from the kernel", 2, 46)  # host order
        assert sorted(ip for ip, _p in conn.getpaddrs()) == sorted(GUEST)
        conn.sctp_send(b"pong", stream=1, ppid=0x01020304)
        done = proc.wait_for(lambda r: r.get("ev") == "done", timeout=30, what="'done'")
    finally:
        proc.stop()
    assert done["data"] == "pong" and done["ppid"] == 0x01020304 and done["sid"] == 1
    assert done["aid"] > 0 and sorted(ip for ip, _p in done["paddrs"]) == sorted(HOST)
    assert set(done["states"].values()) == {sctpx.SCTP_ACTIVE}  # both listed: confirmed
    conn.close()
    srv.close()


@pytest.mark.parametrize("stack", [9932], indirect=True)
def test_userspace_client_to_kernel_server(guest: KernelVM, stack: Stack) -> None:
    guest.set_sysctl("net.sctp.udp_port", "9899")
    port = 7602
    proc = guest.start_process(f"env PYTHONPATH={GUEST_DIR} python3 {GUEST_DIR}/g_cross.py "
                               f"server -b {','.join(GUEST)} -p {port}")  # fmt: skip
    try:
        proc.wait_for(lambda r: r.get("ev") == "listening", timeout=30, what="'listening'")
        cli = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, stack=stack)
        cli.bind((HOST[0], 0))
        cli.bindx([(HOST[1], 0)])
        cli.setsockopt(SOL, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT, sctpx.UdpEncaps(port=9899))
        cli.settimeout(30)
        aid = cli.connectx([(GUEST[0], port), (GUEST[1], port)])
        assert sorted(ip for ip, _p in cli.getpaddrs(aid)) == sorted(GUEST)
        cli.sctp_send(b"ping from userspace", stream=3, ppid=46)
        data, _frm, info, _flags = cli.sctp_recvmsg()
        assert (data, info.sid, info.ppid) == (b"pong: ping from userspace", 3, 47)
        got = proc.wait_for(lambda r: r.get("ev") == "data", timeout=10, what="'data'")
        assert got["ppid"] == 46 and got["sid"] == 3  # host order on the kernel side too
        acc = proc.wait_for(lambda r: r.get("ev") == "accepted", timeout=10, what="'accepted'")
        assert sorted(ip for ip, _p in acc["paddrs"]) == sorted(HOST)
        cli.close()
    finally:
        proc.stop()
