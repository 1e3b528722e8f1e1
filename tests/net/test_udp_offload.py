"""UDP segmentation offload (UDP_SEGMENT / UDP_GRO, net/udp.py): the same packets, in order.

A flush of several full-sized packets leaves in one sendmsg and may be read back
in one recvmsg; what the receiving application gets must be exactly what it got
with one sendto / recvfrom per packet, and a kernel that refuses the offload
(or a sendmsg that fails) must fall back to one packet per system call.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Any

import pytest

import sctpx.aio
from sctpx.net import udp


class _Refusing:
    """A socket whose sendmsg fails as on a device without checksum offload."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def sendmsg(self, *args: Any) -> int:
        raise OSError(errno.EIO, "no checksum offload")


def _transfer(
    offload: bool, monkeypatch: pytest.MonkeyPatch, break_sendmsg: bool = False
) -> tuple[list[bytes], list[Any]]:
    monkeypatch.setenv("SCTPX_UDP_OFFLOAD", "1" if offload else "0")

    async def main() -> tuple[list[bytes], list[Any]]:
        got: list[bytes] = []
        done = asyncio.Event()

        async def handler(assoc: sctpx.aio.Association) -> None:
            async for msg in assoc:
                got.append(msg.data)
            done.set()

        srv = await sctpx.aio.start_server(handler, ["127.0.0.1"], 5000, udp_port=0)
        a = await sctpx.aio.connectx(
            [("127.0.0.1", 5000)], udp_port=0, remote_udp_port=srv.stack.udp_port, timeout=10
        )
        socks = list(a.stack._transport.socks.values()) + list(srv.stack._transport.socks.values())
        assert all(us.gso == offload for us in socks)
        if break_sendmsg:
            for us in a.stack._transport.socks.values():
                us.sock = _Refusing(us.sock)  # type: ignore[assignment]
        for i in range(2000):
            a.send(i.to_bytes(4, "big") * 300 + bytes(i % 7))  # full-sized and shorter ones
            if i % 100 == 99:
                await a.drain()
        await a.close(timeout=30)
        await asyncio.wait_for(done.wait(), 30)
        flags = [(us.gso, us.gro) for us in socks]
        for st in (a.stack, srv.stack):
            await sctpx.aio.close_stack(stack=st)
        return got, flags

    return asyncio.run(main())


EXPECTED = [i.to_bytes(4, "big") * 300 + bytes(i % 7) for i in range(2000)]


def test_with_and_without_offload_the_same_messages_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    on, flags = _transfer(True, monkeypatch)
    off, _ = _transfer(False, monkeypatch)
    assert on == EXPECTED
    assert off == EXPECTED
    assert all(isinstance(g, bool) for f in flags for g in f)


def test_a_refused_sendmsg_falls_back_to_one_sendto_per_packet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got, flags = _transfer(True, monkeypatch, break_sendmsg=True)
    assert got == EXPECTED
    # the client's socket stopped using UDP_SEGMENT after EIO
    assert flags[0][0] is False


def test_kernel_refusing_the_options_leaves_them_off() -> None:
    us = udp.open_udp("127.0.0.1", 0)
    try:
        real = us.sock

        class NoOffload:
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def setsockopt(self, level: int, opt: int, value: int) -> None:
                if level == udp.SOL_UDP:
                    raise OSError(errno.ENOPROTOOPT, "Protocol not available")
                real.setsockopt(level, opt, value)

        us.sock = NoOffload()  # type: ignore[assignment]
        udp.enable_offload(us)
        assert (us.gso, us.gro) == (False, False)
    finally:
        real.close()


def test_offload_is_off_unless_the_environment_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCTPX_UDP_OFFLOAD", raising=False)
    assert udp.offload_wanted() is False  # off by default: captures see what is sent
    monkeypatch.setenv("SCTPX_UDP_OFFLOAD", "1")
    assert udp.offload_wanted() is True
