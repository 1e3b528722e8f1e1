"""RFC 8260 through asyncio: Config.interleaving, Association.interleaving, the stream
scheduler and stream values, and small messages passing a large one."""

from __future__ import annotations

import asyncio
import errno

import pytest

import sctpx.aio as aio
from sctpx.core import Config

from .support import connect, run, serve, wait

IDATA = Config(interleaving=True, num_ostreams=4, max_instreams=4)


def test_interleaving_negotiated_and_small_messages_pass_a_large_one() -> None:
    async def main() -> None:
        got: asyncio.Queue[aio.Message] = asyncio.Queue()

        async def sink(assoc: aio.Association) -> None:
            assert assoc.interleaving
            async for msg in assoc:
                await got.put(msg)

        server = await serve(sink, config=IDATA)
        assoc = await connect(server, config=IDATA)
        assert assoc.interleaving
        big = bytes(i % 253 for i in range(400_000))
        assoc.send(big, stream=0)
        small = [b"m%02d" % i for i in range(10)]
        for m in small:
            assoc.send(m, stream=1)
        parts: dict[int, bytes] = {}
        order: list[tuple[int, bytes]] = []
        while len(order) < 11:
            msg = await wait(got.get())
            buf = parts.pop(msg.stream, b"") + msg.data
            if msg.complete:
                order.append((msg.stream, buf))
            else:
                parts[msg.stream] = buf
        assert [d for s, d in order if s == 1] == small
        assert [d for s, d in order if s == 0] == [big]
        assert order.index((1, small[0])) < order.index((0, big))  # it did not wait
        await assoc.close()
        server.close()
        await server.wait_closed()

    run(main)


def test_not_negotiated_when_one_side_does_not_offer_it() -> None:
    async def main() -> None:
        async def sink(assoc: aio.Association) -> None:
            async for _ in assoc:
                pass

        server = await serve(sink, config=Config())
        assoc = await connect(server, config=IDATA)
        assert not assoc.interleaving
        await assoc.close()
        server.close()
        await server.wait_closed()

    run(main)


def test_scheduler_and_stream_values() -> None:
    async def main() -> None:
        async def sink(assoc: aio.Association) -> None:
            async for _ in assoc:
                pass

        server = await serve(sink, config=IDATA)
        assoc = await connect(server, config=IDATA)
        assoc.set_stream_scheduler("prio")
        assoc.set_stream_value(2, 9)
        assert assoc.stream_value(2) == 9
        for bad in (lambda: assoc.set_stream_scheduler("lottery"),
                    lambda: assoc.set_stream_value(4, 1)):  # fmt: skip
            with pytest.raises(OSError) as e:
                bad()
            assert e.value.errno == errno.EINVAL
        assert assoc.stream_value(2) == 9
        await assoc.close()
        with pytest.raises(OSError) as e:
            assoc.set_stream_value(2, 1)
        assert e.value.errno == errno.ENOTCONN
        server.close()
        await server.wait_closed()

    run(main)
