"""Messages: echo round trips, order, send errors, flow control (drain) and cancel-safe recv."""

from __future__ import annotations

import asyncio
import errno

import pytest

import sctpx.aio as aio
from sctpx.core import Config

from .support import connect, run, serve, serve_into, wait


def test_echo_round_trips() -> None:
    async def main() -> None:
        server = await serve(streams=20)
        async with await connect(server, streams=20) as assoc:
            assert assoc.outbound_streams == 20
            cases = [
                (b"x", 0, 0, False),
                (b"hello", 5, 46, False),
                (b"u" * 1400, 19, 0xFFFFFFFF, True),  # unordered, one DATA chunk
            ]
            for data, stream, ppid, unordered in cases:
                assoc.send(data, stream=stream, ppid=ppid, unordered=unordered)
                await wait(assoc.drain())
                msg = await wait(assoc.recv())
                assert msg == aio.Message(data, stream, ppid, unordered, assoc.assoc_id)
        assert assoc.closed
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_large_messages_one_way() -> None:
    """Fragmented messages up to 100 KB (each fits the peer's 128 KB buffer: whole)."""
    sizes = [1445, 3000, 20000, 100_000]

    async def main() -> None:
        got: asyncio.Queue[aio.Message] = asyncio.Queue()
        server = await serve_into(got)
        async with await connect(server) as assoc:
            for i, n in enumerate(sizes):
                data = bytes([i]) * n
                assoc.send(data, stream=i, ppid=n, unordered=i % 2 == 1)
                await wait(assoc.drain())
                msg = await wait(got.get())
                assert (msg.data, msg.stream, msg.ppid, msg.unordered) == (data, i, n, i % 2 == 1)
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_a_message_larger_than_the_receive_buffer_arrives_in_parts() -> None:
    # 600 KB into a 128 KB buffer (partial delivery, RFC 9260 §6.9), then a small one.
    big = bytes(range(256)) * 2400

    async def main() -> None:
        got: asyncio.Queue[aio.Message] = asyncio.Queue()
        server = await serve_into(got)
        async with await connect(server) as assoc:
            assoc.send(big, stream=3, ppid=9)
            assoc.send(b"next", stream=4)
            parts = [await wait(got.get())]
            while not parts[-1].complete:
                parts.append(await wait(got.get()))
            assert len(parts) > 1 and b"".join(p.data for p in parts) == big
            assert {(p.stream, p.ppid) for p in parts} == {(3, 9)}
            nxt = await wait(got.get())
            assert (nxt.data, nxt.stream, nxt.complete) == (b"next", 4, True)
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_echo_of_a_fragmented_message() -> None:
    async def main() -> None:
        server = await serve()
        async with await connect(server) as assoc:
            assoc.send(b"f" * 1500)  # two fragments; the echo leaves while a SACK is due
            msg = await asyncio.wait_for(assoc.recv(), 2.0)
            assert msg.data == b"f" * 1500
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_thousand_messages_in_order() -> None:
    n = 1000

    async def main() -> None:
        got: list[int] = []
        done = asyncio.get_running_loop().create_future()

        async def collect(assoc: aio.Association) -> None:
            async for msg in assoc:
                seq = int.from_bytes(msg.data[:4], "big")
                assert msg.data == seq.to_bytes(4, "big") * (1 + seq % 50)  # intact
                assert msg.stream == seq % 3 and msg.ppid == seq
                got.append(seq)
                if len(got) == n:
                    done.set_result(None)

        server = await serve(collect)
        assoc = await connect(server)
        for i in range(n):
            assoc.send(i.to_bytes(4, "big") * (1 + i % 50), stream=i % 3, ppid=i)
            await assoc.drain()
        await wait(done)
        assert got == list(range(n))  # in order across streams too (one sender, no loss)
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_send_errors() -> None:
    async def main() -> None:
        server = await serve()
        assoc = await connect(server)
        bad: list[tuple[object, dict[str, object]]] = [
            (b"", {}),
            ("text", {}),
            (b"x", {"stream": 10}),  # 10 outbound streams: 0..9
            (b"x", {"stream": -1}),
            (b"x", {"ppid": 1 << 32}),
            (b"x", {"ttl": 0}),
        ]
        for data, kw in bad:
            with pytest.raises(OSError) as ei:
                assoc.send(data, **kw)  # type: ignore[arg-type]
            assert ei.value.errno == errno.EINVAL, (data, kw)
        assoc.send(b"ok", ttl=5.0)  # PR-SCTP lifetime: delivered in time here
        assert (await wait(assoc.recv())).data == b"ok"
        await wait(assoc.close())
        with pytest.raises(BrokenPipeError):
            assoc.send(b"late")
        with pytest.raises(EOFError):
            await wait(assoc.recv())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_slow_reader_closes_the_window_and_drain_waits() -> None:
    window = 32768
    size = 1024

    async def main() -> None:
        peer: asyncio.Future[aio.Association] = asyncio.get_running_loop().create_future()
        release = asyncio.Event()

        async def lazy(assoc: aio.Association) -> None:
            peer.set_result(assoc)
            await release.wait()
            await assoc.wait_closed()

        server = await serve(lazy, config=Config(a_rwnd=window))
        assoc = await connect(server)
        reader = await wait(peer)
        sent = 0
        while True:  # nobody reads: the window closes, the queue grows, drain blocks
            assoc.send(sent.to_bytes(4, "big") * (size // 4))
            sent += 1
            blocked = asyncio.get_running_loop().create_task(assoc.drain())
            done, _ = await asyncio.wait({blocked}, timeout=0.5)
            if not done:
                break
            assert sent * size < 10 * window, "drain never blocked"
        assert sent * size > window + aio.DEFAULT_HIGH_WATER // 2  # a window and a queue
        core = assoc._core.data
        assert core is not None and core.sender.peer_rwnd < size  # the peer's window is shut
        unsent = assoc.get_write_buffer_size()
        assert unsent > aio.DEFAULT_HIGH_WATER // 4
        assoc.set_write_buffer_limits(high=size)  # low = size // 4: a fresh drain() waits too
        second = asyncio.get_running_loop().create_task(assoc.drain())  # two writers wait
        await asyncio.sleep(0.3)
        assert not blocked.done() and not second.done()  # still closed: no reader, no progress
        assert assoc.get_write_buffer_size() >= unsent - 2 * size  # a zero-window probe at most

        for i in range(sent):  # the reader wakes up: window updates, drain resumes
            msg = await wait(reader.recv())
            assert msg.data[:4] == i.to_bytes(4, "big")
        await wait(blocked)
        await wait(second)
        assert assoc.get_write_buffer_size() == 0
        release.set()
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_cancelled_recv_loses_nothing() -> None:
    n = 300

    async def main() -> None:
        server = await serve()
        assoc = await connect(server)
        # a recv cancelled while waiting leaves the next message for the next recv
        pending = asyncio.get_running_loop().create_task(assoc.recv())
        await asyncio.sleep(0.05)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        assoc.send(b"first")
        assert (await wait(assoc.recv())).data == b"first"

        # recvs cut short by timeouts all along a stream of echoes: every message arrives once
        async def pump() -> None:
            for i in range(n):
                assoc.send(i.to_bytes(2, "big"))
                await assoc.drain()
                if i % 10 == 0:
                    await asyncio.sleep(0.001)

        sender = asyncio.get_running_loop().create_task(pump())
        got: list[int] = []
        timeouts = 0
        while len(got) < n:
            try:
                msg = await asyncio.wait_for(assoc.recv(), 0.0005)
            except TimeoutError:
                timeouts += 1
                continue
            got.append(int.from_bytes(msg.data, "big"))
        await wait(sender)
        assert got == list(range(n)) and timeouts > 0
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)
