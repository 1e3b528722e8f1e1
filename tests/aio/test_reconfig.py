"""RFC 6525 through asyncio: Association.reset_streams and add_streams."""

from __future__ import annotations

import asyncio
import errno

import pytest

import sctpx.aio as aio
from sctpx.core import Config, Event, StreamChangeEvent, StreamResetEvent
from sctpx.core.events import AssocResetEvent

from .support import connect, run, serve, wait

ON = Config(stream_reset=0x05)  # SCTP_ENABLE_RESET_STREAM_REQ | SCTP_ENABLE_CHANGE_ASSOC_REQ


async def _next(events: object, kind: type) -> Event:
    assert hasattr(events, "__anext__")
    while True:
        ev: Event = await wait(events.__anext__())
        if isinstance(ev, kind):
            return ev


def test_reset_streams_and_add_streams() -> None:
    async def main() -> None:
        got: asyncio.Queue[aio.Message] = asyncio.Queue()

        async def sink(assoc: aio.Association) -> None:
            async for msg in assoc:
                await got.put(msg)

        server = await serve(sink, config=ON)
        assoc = await connect(server, config=ON)
        evs = assoc.events()
        for x in (b"a", b"b"):
            assoc.send(x, stream=1)
        assert [(await wait(got.get())).ssn for _ in range(2)] == [0, 1]
        assoc.reset_streams([1])
        with pytest.raises(OSError) as e:  # one request at a time
            assoc.add_streams(1)
        assert e.value.errno == errno.EINPROGRESS
        ev = await _next(evs, StreamResetEvent)
        assert isinstance(ev, StreamResetEvent) and (ev.flags, ev.streams) == (0x0002, (1,))
        assoc.send(b"c", stream=1)
        m = await wait(got.get())
        assert (m.data, m.ssn) == (b"c", 0)
        n = assoc.outbound_streams
        assoc.add_streams(3)
        ev = await _next(evs, StreamChangeEvent)
        assert isinstance(ev, StreamChangeEvent) and ev.flags == 0
        assert assoc.outbound_streams == n + 3 == ev.outbound_streams
        assoc.send(b"d", stream=n + 2)
        assert (await wait(got.get())).stream == n + 2
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_eopnotsupp_without_reconfig_at_the_peer() -> None:
    async def main() -> None:
        server = await serve(config=Config(reconfig=False))
        assoc = await connect(server)
        for call in (lambda: assoc.reset_streams([1]), lambda: assoc.add_streams(1)):
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == errno.EOPNOTSUPP
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


ALL = Config(stream_reset=0x07)  # ... | SCTP_ENABLE_RESET_ASSOC_REQ


def test_reset_assoc_and_add_incoming_streams() -> None:  # RFC 6525 §6.3.3, §6.3.4
    async def main() -> None:
        got: asyncio.Queue[aio.Message] = asyncio.Queue()
        peers: asyncio.Queue[aio.Association] = asyncio.Queue()

        async def sink(assoc: aio.Association) -> None:
            await peers.put(assoc)
            async for msg in assoc:
                await got.put(msg)

        server = await serve(sink, config=ALL)
        assoc = await connect(server, config=ALL)
        peer = await wait(peers.get())
        evs, pevs = assoc.events(), peer.events()
        for x in (b"a", b"b"):
            assoc.send(x, stream=1)
        assoc.reset_assoc()
        assoc.send(b"c", stream=1)  # waits for the answer, then goes from SSN 0
        ev = await _next(evs, AssocResetEvent)
        pev = await _next(pevs, AssocResetEvent)
        assert isinstance(ev, AssocResetEvent) and isinstance(pev, AssocResetEvent)
        assert ev.flags == pev.flags == 0
        assert (ev.local_tsn, ev.remote_tsn) == (pev.remote_tsn, pev.local_tsn)
        msgs = [await wait(got.get()) for _ in range(3)]
        assert [(m.data, m.ssn) for m in msgs] == [(b"a", 0), (b"b", 1), (b"c", 0)]
        with pytest.raises(OSError) as e:  # RFC 6525 §5.1.4: once per 30 s
            assoc.reset_assoc()
        assert e.value.errno == errno.EAGAIN
        n = assoc.inbound_streams
        assoc.add_streams(0, incoming=2)
        ev = await _next(evs, StreamChangeEvent)
        assert isinstance(ev, StreamChangeEvent) and ev.flags == 0
        assert assoc.inbound_streams == n + 2 == ev.inbound_streams
        assert peer.outbound_streams == n + 2
        with pytest.raises(OSError) as e:
            assoc.add_streams(0)
        assert e.value.errno == errno.EINVAL
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_reset_assoc_eopnotsupp_without_reconfig() -> None:
    async def main() -> None:
        server = await serve(config=Config(reconfig=False))
        assoc = await connect(server)
        with pytest.raises(OSError) as e:
            assoc.reset_assoc()
        assert e.value.errno == errno.EOPNOTSUPP
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)
