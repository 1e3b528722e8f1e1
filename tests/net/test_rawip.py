"""SCTP directly over IP (raw sockets) on loopback: set-up, data, ICMP, privileges, port claims.

Raw sockets need root (CI runs as root); the loopback addresses keep every packet
on this machine. The host kernel has no SCTP here, so a packet to a loopback
address with no raw socket on it is answered with ICMP protocol unreachable.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sctpx.aio
from sctpx.net import Stack, rawip
from sctpx.testing import check_capture

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")

SCTP_DATA, SCTP_INIT, SCTP_INIT_ACK = 0, 1, 2


async def echo(assoc: sctpx.aio.Association) -> None:
    async for msg in assoc:
        assoc.send(msg.data, stream=msg.stream, ppid=msg.ppid)


async def _round_trip(server_ips: list[str], peers: list[tuple[str, int]], n: int,
                      pcap: Path | None = None) -> tuple[list[bytes], list[tuple[str, str]],
                                                          Stack]:  # fmt: skip
    loop = asyncio.get_running_loop()
    ss = Stack(transport="ip", loop=loop)
    cs = Stack(transport="ip", loop=loop, pcap=pcap)
    try:
        server = await sctpx.aio.start_server(echo, server_ips, 0, stack=ss)
        port = server.port
        targets = [(ip, port if p == 0 else p) for ip, p in peers]
        async with await sctpx.aio.connectx(targets, stack=cs, timeout=5) as assoc:
            for i in range(n):
                assoc.send(i.to_bytes(2, "big") * 600, stream=i % 3, ppid=1000 + i)
            got = []
            for i in range(n):
                m = await asyncio.wait_for(assoc.recv(), 5)
                assert (m.stream, m.ppid) == (i % 3, 1000 + i)
                got.append(m.data)
            paths = [(p.address, p.state) for p in assoc.paths()]
        server.close()
        await server.wait_closed()
        return got, paths, cs
    finally:
        cs.close()
        ss.close()


def test_multihomed_association_over_raw_ipv4(tmp_path: Path) -> None:
    pcap = tmp_path / "raw.pcap"
    got, paths, cs = asyncio.run(
        _round_trip(["127.0.0.2", "127.0.0.3"], [("127.0.0.2", 0), ("127.0.0.3", 0)], 50, pcap)
    )
    assert got == [i.to_bytes(2, "big") * 600 for i in range(50)]
    assert paths == [("127.0.0.2", "ACTIVE"), ("127.0.0.3", "ACTIVE")]
    assert cs.transport == "ip" and cs.udp_port == 0 and cs.udp_sockets == {}
    report = check_capture(pcap)
    assert report.clean and report.packets
    assert all(p.sport == p.dport == 0 for p in report.packets)  # no UDP anywhere
    assert report.packets[0].has(SCTP_INIT) and report.packets[0].checksum == "good"
    assert any(p.has(SCTP_DATA) for p in report.packets)


def test_raw_ipv6_two_stacks_on_one_address() -> None:
    # Both stacks' raw sockets are bound to ::1 and both get every packet: each must
    # leave the other's packets alone (the port claims), or the association breaks.
    got, paths, _ = asyncio.run(_round_trip(["::1"], [("::1", 0)], 20))
    assert len(got) == 20 and paths == [("::1", "ACTIVE")]


def test_dead_first_address_is_refused_by_icmp_at_once() -> None:
    # 127.0.0.9 has no raw socket: the host answers protocol unreachable (ICMP-03), and
    # set-up moves on to the next address without waiting for the stagger or T1.
    async def main() -> float:
        loop = asyncio.get_running_loop()
        with Stack(transport="ip", loop=loop) as ss, Stack(transport="ip", loop=loop) as cs:
            server = await sctpx.aio.start_server(echo, ["127.0.0.2"], 0, stack=ss)
            t0 = time.monotonic()
            peers = [("127.0.0.9", server.port), ("127.0.0.2", server.port)]
            async with await sctpx.aio.connectx(peers, stack=cs, init_stagger=2.0) as assoc:
                took = time.monotonic() - t0
                assert [p.address for p in assoc.paths()] == ["127.0.0.2"]
            assert cs.stats.unreachable >= 1
            server.close()
            return took

    assert asyncio.run(main()) < 0.5


def test_every_address_refused_is_econnrefused() -> None:
    async def main() -> None:
        with Stack(transport="ip", loop=asyncio.get_running_loop()) as cs:
            with pytest.raises(OSError) as info:
                await sctpx.aio.connectx([("127.0.0.9", 5000)], stack=cs, timeout=3)
            assert info.value.errno == errno.ECONNREFUSED

    asyncio.run(main())


def test_port_claims_are_host_wide() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with Stack(transport="ip", loop=loop) as a, Stack(transport="ip", loop=loop) as b:
            server = await sctpx.aio.start_server(echo, ["127.0.0.2"], 0, stack=a)
            with pytest.raises(OSError) as info:
                await sctpx.aio.start_server(echo, ["127.0.0.2"], server.port, stack=b)
            assert info.value.errno == errno.EADDRINUSE
            assert b.endpoints == [] and b.sockets == {}  # nothing left open
            assert b._transport.served_elsewhere("127.0.0.2", server.port)
            assert not b._transport.served_elsewhere("127.0.0.2", server.port + 1)
            server.close()
            await server.wait_closed()
            # the claim goes with the endpoint: the port is free again
            again = await sctpx.aio.start_server(echo, ["127.0.0.2"], server.port, stack=b)
            again.close()
            await again.wait_closed()

    asyncio.run(main())


def test_transport_arguments() -> None:
    with pytest.raises(ValueError, match="transport 'sctp'"):
        Stack(transport="sctp")
    with pytest.raises(ValueError, match="udp_port is for the UDP transport"):
        Stack(transport="ip", udp_port=9899)
    assert Stack(transport="ip", udp_port=0).transport == "ip"


def test_environment_chooses_the_default_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCTPX_TRANSPORT", "ip")
    with Stack() as st:
        assert st.transport == "ip" and st.udp_port == 0
        assert repr(st).startswith("<Stack ip")
    monkeypatch.setenv("SCTPX_TRANSPORT", "UDP")
    with Stack(udp_port=0) as st:
        assert st.transport == "udp"
    monkeypatch.setenv("SCTPX_TRANSPORT", "quic")
    with pytest.raises(ValueError, match="quic"):
        Stack()


def test_aio_transport_argument_picks_a_shared_ip_stack() -> None:
    async def main() -> None:
        server = await sctpx.aio.start_server(echo, ["127.0.0.2"], 0, transport="ip")
        assert server.stack.transport == "ip"
        async with await sctpx.aio.connectx(
            [("127.0.0.2", server.port)], transport="ip", remote_udp_port=9899
        ) as assoc:
            assert assoc.stack is server.stack  # one IP stack per loop
            assoc.send(b"ping")
            assert (await asyncio.wait_for(assoc.recv(), 5)).data == b"ping"
        server.close()
        await server.wait_closed()
        with pytest.raises(OSError) as info:
            await sctpx.aio.connectx([("127.0.0.2", 5000)], transport="ip", udp_port=9899)
        assert info.value.errno == errno.EINVAL

    asyncio.run(main())


def test_without_cap_net_raw_a_clear_permission_error() -> None:
    code = (
        "import sctpx.net as n\n"
        "try:\n    n.Stack(transport='ip')\n"
        "except PermissionError as e:\n    print('PermissionError', e.errno, e.strerror)\n"
        "s = n.Stack(transport='udp', udp_port=0); print('udp ok', s.transport); s.close()\n"
    )
    drop = ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--"]
    out = subprocess.run([*drop, sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout  # fmt: skip
    assert f"PermissionError {errno.EPERM} SCTP over IP needs raw sockets (CAP_NET_RAW)" in out
    assert "run as root" in out and "transport='udp'" in out
    assert "udp ok udp" in out


def test_kernel_sctp_is_detected_and_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not rawip.kernel_sctp_present()  # this machine has no kernel SCTP
    fake = tmp_path / "sctp"
    assert not rawip.kernel_sctp_present((str(fake),))
    fake.mkdir()
    assert rawip.kernel_sctp_present((str(fake),))
    monkeypatch.setattr(rawip, "KERNEL_SCTP_PATHS", (str(fake),))
    with pytest.raises(OSError) as info:
        Stack(transport="ip")
    assert info.value.errno == errno.EBUSY and "kernel has SCTP" in str(info.value)
    with Stack(transport="ip", allow_kernel_sctp=True) as st:
        assert st.transport == "ip"


@pytest.mark.parametrize("transport", ["udp", "ip"])
def test_connect_to_a_closed_port_is_refused_in_one_round_trip(transport: str) -> None:
    # The host runs sctpx (an endpoint on port 5000) but nobody is on 5999: its stack
    # answers the INIT with an ABORT (RFC 9260 §8.4 rule 3), not silence.
    async def main() -> tuple[float, Stack]:
        loop = asyncio.get_running_loop()
        udp = {"udp_port": 0} if transport == "udp" else {}
        with Stack(transport=transport, loop=loop, **udp) as ss, \
                Stack(transport=transport, loop=loop, **udp) as cs:  # fmt: skip
            server = await sctpx.aio.start_server(echo, ["127.0.0.5"], 5000, stack=ss)
            t0 = time.monotonic()
            with pytest.raises(OSError) as info:
                await sctpx.aio.connectx(
                    [("127.0.0.5", 5999)], stack=cs, timeout=5, remote_udp_port=ss.udp_port
                )
            took = time.monotonic() - t0
            assert info.value.errno == errno.ECONNREFUSED
            assert ss.stats.unclaimed == 1 and ss.stats.ootb_replies == 1
            server.close()
            return took, ss

    took, _ = asyncio.run(main())
    assert took < 0.5
