"""connectx: fault-tolerant set-up, its errors, cancellation and timeouts; the default stacks."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Iterator

import pytest

import sctpx.aio as aio
from sctpx.net import Stack

from .support import DEAD, HOLE, HOLE2, S1, S2, connect, run, serve, wait


def test_refused_first_address_is_skipped() -> None:
    async def main() -> None:
        server = await serve()
        t0 = time.monotonic()
        assoc = await connect(server, [DEAD, S1, S2])
        took = time.monotonic() - t0
        assert took < 0.5  # the ICMP refusal moves on at once (no T1 of 1 s)
        # 127.0.0.9 is not in the INIT ACK: silently dropped from the association
        assert assoc.peer_addresses == [(S1, server.port), (S2, server.port)]
        assert assoc.primary_address == (S1, server.port)
        assert assoc.assoc_id >= 3 and assoc.outbound_streams == 10
        assert assoc.local_addresses == [("127.0.0.1", assoc.local_addresses[0][1])]
        assoc.send(b"ping")
        assert (await wait(assoc.recv())).data == b"ping"
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_every_address_refused() -> None:
    async def main() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((S1, 0))
            port = s.getsockname()[1]
        # nobody on that UDP port at either address: two ICMP refusals
        with pytest.raises(ConnectionRefusedError) as ei:
            await wait(aio.connectx([(DEAD, 5000), (S1, 5000)], udp_port=0, remote_udp_port=port))
        assert ei.value.errno == errno.ECONNREFUSED
        await asyncio.sleep(0.01)
        assert aio.default_stacks() == []  # the private stack went with its association

    run(main)


def test_server_not_listening_is_refused_by_abort() -> None:
    async def main() -> None:
        server = await serve()
        server.close()  # new INITs get an ABORT now
        with pytest.raises(ConnectionRefusedError):
            await connect(server)
        await wait(server.wait_closed())

    run(main)


@pytest.mark.parametrize(
    ("addrs", "kw"),
    [
        ([], {}),
        ("127.0.0.2", {}),
        ([("127.0.0.2",)], {}),
        ([("not-an-ip", 5000)], {"local": ["127.0.0.1"]}),
        ([(S1, 5000), (S2, 5001)], {}),  # one peer has one port
        ([(S1, 5000)], {"streams": 0}),
        ([(S1, 5000)], {"init_stagger": -1.0}),
        ([(S1, 5000)], {"local": [("127.0.0.1", 1), ("127.0.0.2", 2)]}),
        ([(S1, 5000)], {"udp_port": 70000}),
    ],
)
def test_argument_errors(addrs: object, kw: dict[str, object]) -> None:
    async def main() -> None:
        with pytest.raises(OSError) as ei:
            kw.setdefault("udp_port", 0)
            await wait(aio.connectx(addrs, **kw))  # type: ignore[arg-type]
        assert ei.value.errno == errno.EINVAL
        await asyncio.sleep(0.01)
        assert aio.default_stacks() == []  # nothing left open by a refused call

    run(main)


@pytest.fixture
def holes() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two UDP sockets that read everything and answer nothing (a silent peer)."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind((HOLE, 0))
    b.bind((HOLE2, a.getsockname()[1]))
    a.setblocking(False)
    b.setblocking(False)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _pending(s: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(s.recv(4096))
        except BlockingIOError:
            return out


def test_cancel_connectx_to_black_hole(holes: tuple[socket.socket, socket.socket]) -> None:
    hole, hole2 = holes
    port = hole.getsockname()[1]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stack = Stack(udp_port=0, loop=loop)
        try:
            task = loop.create_task(
                aio.connectx([(HOLE, 5000), (HOLE2, 5000)], stack=stack, remote_udp_port=port)
            )
            init = await wait(loop.sock_recv(hole, 4096))
            assert init[12] == 1  # an INIT chunk
            assert len(stack.endpoints) == 1 and stack.endpoints[0].associations
            task.cancel()  # well before the staggered INIT to HOLE2 (0.25 s)
            with pytest.raises(asyncio.CancelledError):
                await task
            assert stack.endpoints == []  # no association, no endpoint left
            await asyncio.sleep(1.3)  # past T1-init (1 s) and the stagger
            assert _pending(hole) == [] and _pending(hole2) == []  # no INIT after cancelling
            assert not stack.closed  # the caller's stack stays the caller's
        finally:
            stack.close()

    run(main)


def test_connectx_timeout_aborts_set_up(holes: tuple[socket.socket, socket.socket]) -> None:
    hole, _ = holes
    port = hole.getsockname()[1]

    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as ei:
            await aio.connectx([(HOLE, 5000)], udp_port=0, remote_udp_port=port, timeout=0.3)
        assert ei.value.errno == errno.ETIMEDOUT
        assert time.monotonic() - t0 < 1.0
        await asyncio.sleep(0.01)
        assert aio.default_stacks() == []
        _pending(hole)
        await asyncio.sleep(1.0)
        assert _pending(hole) == []

    run(main)


def test_default_stacks_per_port_shared_and_closed_with_last_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    monkeypatch.setenv("SCTPX_UDP_PORT", str(free))

    async def main() -> None:
        server = await serve(udp_port=None)  # from $SCTPX_UDP_PORT
        assert server.stack.udp_port == free
        # the client on the same loop and port shares the stack (and talks to itself)
        a = await connect(server, udp_port=None, remote_udp_port=free)
        assert a.stack is server.stack and aio.default_stacks() == [server.stack]
        private = await connect(server)  # udp_port=0: a stack of its own
        assert private.stack is not server.stack and len(aio.default_stacks()) == 2
        await wait(private.close())
        await asyncio.sleep(0.01)
        assert aio.default_stacks() == [server.stack] and private.stack.closed
        await wait(a.close())
        server.close()
        await wait(server.wait_closed())
        await asyncio.sleep(0.01)
        assert aio.default_stacks() == [] and server.stack.closed

    run(main)


def test_close_stack_aborts_everything() -> None:
    async def main() -> None:
        server = await serve()
        a = await connect(server)
        b = await connect(server)
        await aio.close_stack(server.stack)  # the server side goes: ABORTs to both clients
        assert server.stack.closed and not server.is_serving()
        for assoc in (a, b):
            with pytest.raises(ConnectionResetError):
                await wait(assoc.recv())
        await wait(server.wait_closed())

    run(main)


def test_stack_of_another_loop_is_refused() -> None:
    stack = Stack(udp_port=0)  # its own loop on a thread

    async def main() -> None:
        with pytest.raises(OSError) as ei:
            await aio.connectx([(S1, 5000)], stack=stack)
        assert ei.value.errno == errno.EINVAL

    try:
        run(main)
    finally:
        stack.close()
