"""Ending associations: graceful close from either side, abort, close timeouts, servers."""

from __future__ import annotations

import asyncio
import errno

import pytest

import sctpx.aio as aio
from sctpx.core import AssocChange, AssocChangeState, Config

from .support import connect, run, serve, wait


async def _peer_of(server: aio.Server) -> aio.Association:
    while not server.associations:
        await asyncio.sleep(0.001)
    return server.associations[0]


def test_client_close_is_graceful_on_both_sides() -> None:
    total = 300_000

    async def main() -> None:
        received = bytearray()
        ended: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

        async def sink(assoc: aio.Association) -> None:
            try:
                while True:
                    received.extend((await assoc.recv()).data)
            except BaseException as e:
                ended.set_result(e)
                raise

        server = await serve(sink)
        assoc = await connect(server)
        for i in range(0, total, 10_000):  # queued, then close(): all of it arrives first
            assoc.send(bytes([i % 251]) * 10_000)
        await wait(assoc.close())
        assert assoc.closed and assoc.end_event is not None
        assert assoc.end_event.state is AssocChangeState.SHUTDOWN_COMP
        assert isinstance(await wait(ended), EOFError)  # the peer reads to the end, then EOF
        assert len(received) == total
        with pytest.raises(EOFError):
            await wait(assoc.recv())
        with pytest.raises(BrokenPipeError):
            assoc.send(b"more")
        await wait(assoc.drain())  # nothing to wait for
        await wait(assoc.close())  # again: returns at once
        assoc.abort()  # after the end: nothing happens
        server.close()
        await wait(server.wait_closed())
        await asyncio.sleep(0.01)
        assert aio.default_stacks() == []  # both private stacks went with their users

    run(main)


def test_server_side_close_reaches_the_client() -> None:
    async def main() -> None:
        async def greet_and_go(assoc: aio.Association) -> None:
            assoc.send(b"hello")
            assoc.send(b"bye")
            # returning closes the association gracefully

        server = await serve(greet_and_go)
        assoc = await connect(server)
        assert [m.data async for m in assoc] == [b"hello", b"bye"]  # then EOF ends the loop
        await wait(assoc.wait_closed())
        assert assoc.end_event is not None
        assert assoc.end_event.state is AssocChangeState.SHUTDOWN_COMP
        assert assoc.is_closing()
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_abort_gives_the_peer_a_reset() -> None:
    async def main() -> None:
        ended: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

        async def handler(assoc: aio.Association) -> None:
            try:
                await assoc.recv()
                await assoc.recv()
            except BaseException as e:
                ended.set_result(e)
                raise

        server = await serve(handler)
        assoc = await connect(server)
        peer = await wait(_peer_of(server))
        events = peer.events()
        assoc.send(b"one")
        await asyncio.sleep(0.01)
        assoc.abort(b"going away")
        err = await wait(ended)
        assert isinstance(err, ConnectionResetError) and err.errno == errno.ECONNRESET
        with pytest.raises(ConnectionResetError):
            await wait(peer.recv())
        with pytest.raises(ConnectionResetError):
            peer.send(b"x")
        with pytest.raises(ConnectionResetError):
            await wait(peer.drain())
        evs = [ev async for ev in events]
        end = evs[-1]
        assert isinstance(end, AssocChange) and end.state is AssocChangeState.COMM_LOST
        assert end.error == errno.ECONNRESET
        with pytest.raises(ConnectionAbortedError):  # our own side: we aborted
            await wait(assoc.recv())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_close_times_out_into_abort() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def stall(assoc: aio.Association) -> None:
            await gate.wait()

        server = await serve(stall, config=Config(a_rwnd=4096))
        assoc = await connect(server)
        for _ in range(20):  # more than the peer's window: it is never all acknowledged
            assoc.send(b"z" * 1000)
        await asyncio.sleep(0.05)
        await wait(assoc.close(timeout=0.3))  # SHUTDOWN-PENDING forever: ABORT after 0.3 s
        assert assoc.end_event is not None and assoc.end_event.error == errno.ECONNABORTED
        peer = await wait(_peer_of(server))
        await wait(peer.wait_closed())
        assert peer.end_event is not None and peer.end_event.error == errno.ECONNRESET
        gate.set()
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_cancelled_close_aborts() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def stall(assoc: aio.Association) -> None:
            await gate.wait()
            await assoc.wait_closed()

        server = await serve(stall)
        assoc = await connect(server)
        for _ in range(20):  # beyond the peer's window (nobody reads): close() must wait
            assoc.send(b"x" * 10_000)
        task = asyncio.get_running_loop().create_task(assoc.close())
        await asyncio.sleep(0.05)
        assert not task.done() and assoc.is_closing()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert assoc.closed and assoc.end_event is not None
        assert assoc.end_event.error == errno.ECONNABORTED
        peer = await wait(_peer_of(server))
        await wait(peer.wait_closed())  # the ABORT reached it
        assert peer.end_event is not None and peer.end_event.error == errno.ECONNRESET
        gate.set()
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_server_lifecycle() -> None:
    async def main() -> None:
        started = asyncio.Event()

        async def forever(assoc: aio.Association) -> None:
            started.set()
            await assoc.wait_closed()

        async with await serve(forever) as server:
            assert server.is_serving() and server.port > 0
            assert server.addresses == ["127.0.0.2", "127.0.0.3"]
            a = await connect(server)
            b = await connect(server)
            await wait(started.wait())
            while len(server.associations) < 2:
                await asyncio.sleep(0.001)
            server.close()  # no new associations; these two go on
            assert not server.is_serving()
            with pytest.raises(ConnectionRefusedError):
                await connect(server)
            a.send(b"still here")
            waiter = asyncio.get_running_loop().create_task(server.wait_closed())
            await asyncio.sleep(0.05)
            assert not waiter.done()  # two handlers still run
            server.close_clients()  # graceful close of both from the server side
            await wait(waiter)
            await wait(a.wait_closed())
            await wait(b.wait_closed())
            assert a.end_event is not None and b.end_event is not None
            assert a.end_event.state is AssocChangeState.SHUTDOWN_COMP
        assert server.stack.closed

    run(main)


def test_serve_forever_cancelled_closes() -> None:
    async def main() -> None:
        server = await serve()
        task = asyncio.get_running_loop().create_task(server.serve_forever())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not server.is_serving()
        await wait(server.wait_closed())

    run(main)
