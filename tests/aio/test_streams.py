"""open_connection / start_stream_server: a byte stream on one SCTP stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import sctpx.aio as aio

from .support import S1, S2, run, wait


async def _upper_lines(reader: aio.StreamReader, writer: aio.StreamWriter) -> None:
    """Answer each line in upper case; b"size N\\n" is answered by N bytes; stop at b"quit"."""
    async for line in reader:
        if line.startswith(b"size "):
            n = int(line.split()[1])
            writer.write(bytes(i % 256 for i in range(n)))
        elif line.strip() == b"quit":
            break
        else:
            writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def _stream_server(
    cb: aio.streams.ClientConnected = _upper_lines, **kw: object
) -> aio.Server:
    return await aio.start_stream_server(cb, [S1, S2], 0, udp_port=0, **kw)  # type: ignore[arg-type]


async def _open(server: aio.Server, **kw: Any) -> tuple[aio.StreamReader, aio.StreamWriter]:
    return await wait(  # type: ignore[no-any-return]
        aio.open_connection(
            [S1, S2], server.port, udp_port=0, remote_udp_port=server.stack.udp_port, **kw
        )
    )


def test_line_protocol_round_trip() -> None:
    async def main() -> None:
        server = await _stream_server()
        reader, writer = await _open(server)
        writer.write(b"hello\nwor")
        writer.write(b"ld\n")  # a line split over two messages
        assert await wait(reader.readline()) == b"HELLO\n"
        assert await wait(reader.readline()) == b"WORLD\n"
        writer.writelines([b"a", b"b", b"\n"])
        assert await wait(reader.readexactly(3)) == b"AB\n"
        writer.write(b"size 1400\n")
        await writer.drain()
        assert await wait(reader.readexactly(1400)) == bytes(i % 256 for i in range(1400))
        writer.write(b"partial\n")
        assert await wait(reader.read(3)) == b"PAR"
        assert await wait(reader.readuntil(b"\n")) == b"TIAL\n"
        assert writer.get_extra_info("peername") == (S1, server.port)
        assert writer.get_extra_info("association") is writer.association
        assert not writer.can_write_eof()
        writer.write(b"quit\n")  # the server closes: EOF here
        assert await wait(reader.read()) == b""
        assert reader.at_eof()
        assert await wait(reader.readline()) == b""
        with pytest.raises(asyncio.IncompleteReadError):
            await wait(reader.readexactly(1))
        await wait(writer.wait_closed())
        assert writer.is_closing()
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_client_close_and_read_to_eof() -> None:
    async def main() -> None:
        got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def slurp(reader: aio.StreamReader, writer: aio.StreamWriter) -> None:
            got.set_result(await reader.read())  # everything until the client closes

        server = await _stream_server(slurp, stream=12)
        _, writer = await _open(server, stream=12)  # stream 12: 13 streams asked for
        assert writer.association.outbound_streams == 13
        payload = b"".join(b"%06d," % i for i in range(20_000))  # 140 KB
        writer.write(payload)
        writer.close()
        with pytest.raises(BrokenPipeError):
            writer.write(b"late")
        await wait(writer.wait_closed())
        assert await wait(got) == payload
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_readline_limit_and_other_streams_dropped() -> None:
    async def main() -> None:
        async def noisy(reader: aio.StreamReader, writer: aio.StreamWriter) -> None:
            assoc = writer.association
            assoc.send(b"elsewhere\n", stream=3)  # not our stream: dropped by the reader
            writer.write(b"x" * 200 + b"\nshort\n")
            await writer.drain()
            await reader.read()

        server = await _stream_server(noisy)
        reader, writer = await _open(server, limit=100)
        with pytest.raises(ValueError):
            await wait(reader.readline())  # 201 bytes > limit: the line is dropped
        assert await wait(reader.readline()) == b"short\n"
        assert reader.dropped == 1
        writer.close()
        await wait(writer.wait_closed())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_plain_function_callback() -> None:
    async def main() -> None:
        writers: list[aio.StreamWriter] = []

        def keep(reader: aio.StreamReader, writer: aio.StreamWriter) -> None:
            writers.append(writer)  # the association lives on after this returns
            writer.write(b"hi\n" + bytes(i % 251 for i in range(100_000)))  # 16 KB messages

        server = await _stream_server(keep)
        reader, writer = await _open(server)
        assert await wait(reader.readline()) == b"hi\n"
        assert await wait(reader.readexactly(100_000)) == bytes(i % 251 for i in range(100_000))
        await asyncio.sleep(0.05)
        assert not writers[0].is_closing()
        writers[0].write(b"still open\n")
        assert await wait(reader.readline()) == b"still open\n"
        writer.close()
        await wait(writer.wait_closed())
        server.close()
        await wait(server.wait_closed())

    run(main)
