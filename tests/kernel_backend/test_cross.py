"""Cross-tests: the kernel backend in the VM against sctpx's userspace stack on the host.

SCTP over UDP (RFC 6951) and directly over IP, on both paths of the VM
(198.18.1.0/24, 198.18.2.0/24). Over UDP the host stacks use UDP ports of their
own (9931, 9932): tests/kernel's use 9899. Over IP the guest encapsulates nothing
(net.sctp.encap_port 0, SCTP_REMOTE_UDP_ENCAPS_PORT 0).
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
def stack(request: pytest.FixtureRequest, guest: KernelVM) -> Iterator[Stack]:
    transport, udp_port = request.param
    guest.set_sysctl("net.sctp.udp_port", "9899")  # the guest's own UDP port: encapsulation on
    guest.set_sysctl("net.sctp.encap_port", "9899" if transport == "udp" else "0")
    s = Stack(udp_port=udp_port) if transport == "udp" else Stack(transport="ip")
    yield s
    s.close()


def encaps(stack: Stack, udp: int) -> int:
    return udp if stack.transport == "udp" else 0  # 0: plain SCTP over IP


@pytest.mark.parametrize("stack", [("udp", 9931), ("ip", 0)], indirect=True, ids=["udp", "ip"])
def test_kernel_client_to_userspace_server(guest: KernelVM, stack: Stack) -> None:
    port = 7601
    srv = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, stack=stack)
    srv.bind((HOST[0], port))
    srv.bindx([(HOST[1], port)])
    srv.listen()
    srv.settimeout(30)
    udp = encaps(stack, 9931)
    proc = guest.start_process(f"env PYTHONPATH={GUEST_DIR} python3 {GUEST_DIR}/g_cross.py "
                               f"client --to {','.join(HOST)} -p {port} --encaps {udp} "
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


@pytest.mark.parametrize("stack", [("udp", 9932), ("ip", 0)], indirect=True, ids=["udp", "ip"])
def test_userspace_client_to_kernel_server(guest: KernelVM, stack: Stack) -> None:
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
