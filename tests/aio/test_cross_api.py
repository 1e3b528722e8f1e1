"""The two APIs talk to each other: ``sctpx.aio`` on one side, ``sctpx.socket`` on the other.

Each side has a stack of its own on a free UDP port, as two hosts would: the aio
side's runs on the test's loop, the sockets side's on its own loop thread. The
blocking socket calls run in a worker thread (``asyncio.to_thread``) so that the
loop goes on serving the aio side meanwhile. Every wait is bounded: the sockets
have timeouts, the aio awaits go through ``wait``, and ``run`` bounds the test.

(Cancelling a pending aio connectx is tested in test_connect.py.)
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sctpx
import sctpx.aio as aio
from sctpx.net import Stack

from .support import DEAD, S1, S2, WAIT, run, wait

# (data, stream, ppid, unordered): one DATA chunk, fragmented (100 KB fits the peer's
# 128 KB window), the largest ppid, the last of 10 streams
CASES = [
    (b"x", 0, 0, False),
    (b"hello", 3, 46, False),
    (bytes(range(256)) * 6, 9, 0xFFFFFFFF, True),
    (random.Random(1).randbytes(100_000), 5, 1234, False),
]
BULK = [random.Random(2).randbytes(2000) for _ in range(500)]  # 1 MB in 500 messages


def digest(chunks: list[bytes]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


@contextmanager
def socket_server(kind: int = sctpx.SOCK_STREAM) -> Iterator[tuple[sctpx.socket, Stack]]:
    """A sockets-API server on S1 and S2, an ephemeral SCTP port, a stack of its own."""
    stack = Stack(udp_port=0)
    srv = sctpx.socket(sctpx.AF_INET, kind, stack=stack)
    try:
        srv.bind((S1, 0))
        srv.bindx([(S2, 0)])
        srv.listen()
        srv.settimeout(WAIT)
        yield srv, stack
    finally:
        srv.close()
        stack.close()


def echo_one(srv: sctpx.socket) -> list[tuple[bytes, int, int, bool]]:
    """Worker thread: accept one association, greet, echo every message until it ends."""
    conn, _peer = srv.accept()
    got: list[tuple[bytes, int, int, bool]] = []
    with conn:
        conn.settimeout(WAIT)
        conn.sctp_send(b"welcome", stream=1, ppid=99)
        while True:
            try:
                data, _frm, info, flags = conn.sctp_recvmsg(1 << 20)
            except OSError as e:
                assert e.errno == errno.ENOTCONN, e  # the association has ended
                return got
            assert flags & sctpx.MSG_EOR and not flags & sctpx.MSG_NOTIFICATION
            unordered = bool(info.flags & sctpx.SCTP_UNORDERED)
            got.append((data, info.sid, info.ppid, unordered))
            conn.sctp_send(data, stream=info.sid, ppid=info.ppid, flags=info.flags)


async def exchange(assoc: aio.Association) -> None:
    """The aio side of the conversation with a peer that greets and echoes."""
    first = await wait(assoc.recv())
    assert first == aio.Message(b"welcome", 1, 99, False, assoc.assoc_id)
    for data, stream, ppid, unordered in CASES:
        assoc.send(data, stream=stream, ppid=ppid, unordered=unordered)
        await wait(assoc.drain())
        msg = await wait(assoc.recv())
        assert (msg.data, msg.stream, msg.ppid, msg.unordered) == (data, stream, ppid, unordered)
    back: list[bytes] = []

    async def reader() -> None:
        while len(back) < len(BULK):
            back.append((await assoc.recv()).data)

    task = asyncio.create_task(reader())
    for data in BULK:  # writes and echoes overlap: flow control in both directions
        assoc.send(data, stream=2, ppid=7)
        await wait(assoc.drain())
    await wait(task, 15)
    assert digest(back) == digest(BULK)


def test_aio_client_with_a_sockets_server() -> None:
    async def main() -> None:
        with socket_server() as (srv, stack):
            port = srv.getsockname()[1]
            served = asyncio.create_task(asyncio.to_thread(echo_one, srv))
            assoc = await wait(
                aio.connectx(
                    [(DEAD, port), (S1, port), (S2, port)],  # DEAD: refused, skipped at once
                    udp_port=0,
                    remote_udp_port=stack.udp_port,
                )
            )
            events = assoc.events()
            up = await wait(anext(events))
            assert isinstance(up, sctpx.AssocChange)
            assert up.state is sctpx.AssocChangeState.COMM_UP and up.outbound_streams == 10
            assert assoc.peer_addresses == [(S1, port), (S2, port)]
            assert assoc.primary_address == (S1, port)
            await exchange(assoc)
            await wait(assoc.close())  # graceful: the server's recvmsg then sees ENOTCONN
            assert assoc.end_event is not None
            assert assoc.end_event.state is sctpx.AssocChangeState.SHUTDOWN_COMP
            got = await wait(served, 15)
        assert got[: len(CASES)] == CASES
        assert [g[1:] for g in got[len(CASES) :]] == [(2, 7, False)] * len(BULK)
        assert digest([g[0] for g in got[len(CASES) :]]) == digest(BULK)

    run(main, timeout=30)


def test_aio_clients_with_a_one_to_many_sockets_server() -> None:
    """Two aio associations at once on one SOCK_SEQPACKET socket, told apart by assoc_id."""

    def serve(srv: sctpx.socket, messages: int) -> dict[int, list[bytes]]:
        srv.subscribe(sctpx.SCTP_ASSOC_CHANGE)
        seen: dict[int, list[bytes]] = {}
        ended = 0
        while ended < 2 or sum(map(len, seen.values())) < messages:
            data, _frm, info, flags = srv.sctp_recvmsg()
            if flags & sctpx.MSG_NOTIFICATION:
                assert isinstance(data, sctpx.AssocChange)
                ended += data.state is sctpx.AssocChangeState.SHUTDOWN_COMP
                continue
            seen.setdefault(info.assoc_id, []).append(data)
            srv.sctp_send(data.upper(), stream=info.sid, ppid=info.ppid, assoc_id=info.assoc_id)
        return seen

    async def client(name: bytes, port: int, udp: int) -> tuple[int, list[bytes]]:
        async with await wait(
            aio.connectx([(S2, port), (S1, port)], udp_port=0, remote_udp_port=udp)
        ) as assoc:
            sent = [name + b" %d" % i for i in range(50)]
            for i, m in enumerate(sent):
                assoc.send(m, stream=i % 10, ppid=i)
                reply = await wait(assoc.recv())
                assert (reply.data, reply.stream, reply.ppid) == (m.upper(), i % 10, i)
            return assoc.assoc_id, sent

    async def main() -> None:
        with socket_server(sctpx.SOCK_SEQPACKET) as (srv, stack):
            port = srv.getsockname()[1]
            served = asyncio.create_task(asyncio.to_thread(serve, srv, 100))
            results = await asyncio.gather(
                client(b"alpha", port, stack.udp_port), client(b"beta", port, stack.udp_port)
            )
            seen = await wait(served, 15)
        assert len(seen) == 2  # two associations, each with its own id on the server
        assert sorted(seen.values()) == sorted(sent for _aid, sent in results)

    run(main, timeout=30)


async def greet_and_echo(assoc: aio.Association) -> None:
    """aio server handler: a greeting, then every message back as it came."""
    assoc.send(b"welcome", stream=1, ppid=99)
    async for msg in assoc:
        assoc.send(msg.data, stream=msg.stream, ppid=msg.ppid, unordered=msg.unordered)
        await assoc.drain()


def sockets_client(port: int, udp: int) -> tuple[int, list[tuple[str, int]]]:
    """Worker thread: the sockets-API side of the conversation; returns its id and paths."""
    with Stack(udp_port=0) as stack, sctpx.socket(stack=stack) as cli:
        cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                       sctpx.UdpEncaps(port=udp))  # fmt: skip
        cli.settimeout(WAIT)
        cli.subscribe(sctpx.SCTP_ASSOC_CHANGE)
        aid = cli.connectx([(DEAD, port), (S1, port), (S2, port)])
        up, _frm, _info, flags = cli.sctp_recvmsg()
        assert flags & sctpx.MSG_NOTIFICATION and up.state is sctpx.AssocChangeState.COMM_UP
        paths = cli.getpaddrs()
        data, frm, info, flags = cli.sctp_recvmsg()
        assert (data, info.sid, info.ppid, info.assoc_id) == (b"welcome", 1, 99, aid)
        assert frm == (S1, port) and flags & sctpx.MSG_EOR
        for data, stream, ppid, unordered in CASES:
            cli.sctp_send(data, stream=stream, ppid=ppid,
                          flags=sctpx.SCTP_UNORDERED if unordered else 0)  # fmt: skip
            back, _frm, info, _flags = cli.sctp_recvmsg(1 << 20)
            got_unordered = bool(info.flags & sctpx.SCTP_UNORDERED)
            assert (back, info.sid, info.ppid, got_unordered) == (data, stream, ppid, unordered)
        # Echoes are read on a thread of their own while this one writes: a writer that
        # never reads would fill both windows and both send queues, and wait forever.
        back_bulk: list[bytes] = []
        reader = threading.Thread(
            target=lambda: back_bulk.extend(cli.sctp_recvmsg()[0] for _ in BULK), daemon=True
        )
        reader.start()
        for data in BULK:  # a blocking socket waits while its send queue is full
            cli.sctp_send(data, stream=2, ppid=7)
        reader.join(15)
        assert digest(back_bulk) == digest(BULK)
        cli.shutdown()  # graceful SHUTDOWN, then wait for its end
        end, _frm, _info, flags = cli.sctp_recvmsg()
        assert flags & sctpx.MSG_NOTIFICATION
        assert end.state is sctpx.AssocChangeState.SHUTDOWN_COMP
        return aid, paths


def test_sockets_client_with_an_aio_server() -> None:
    async def main() -> None:
        ended: list[sctpx.AssocChange | None] = []

        async def handler(assoc: aio.Association) -> None:
            await greet_and_echo(assoc)  # returns when the client's SHUTDOWN arrives
            await wait(assoc.wait_closed())
            ended.append(assoc.end_event)

        server = await aio.start_server(handler, [S1, S2], 0, udp_port=0)
        aid, paths = await wait(
            asyncio.to_thread(sockets_client, server.port, server.stack.udp_port), 25
        )
        assert aid not in (0, 1, 2)
        assert paths == [(S1, server.port), (S2, server.port)]  # DEAD dropped
        server.close()
        await wait(server.wait_closed())  # the handler has finished
        assert len(ended) == 1 and ended[0] is not None
        assert ended[0].state is sctpx.AssocChangeState.SHUTDOWN_COMP

    run(main, timeout=30)


def test_sockets_client_with_an_aio_stream_server() -> None:
    """Lines over SCTP messages: the aio stream reader joins them, however they were cut."""
    text = b"".join(b"line %d %s\n" % (i, b"z" * (i * 37 % 3000)) for i in range(200))

    async def upper(reader: aio.StreamReader, writer: aio.StreamWriter) -> None:
        async for line in reader:
            writer.write(line.upper())
            await writer.drain()

    def client(port: int, udp: int) -> bytes:
        with Stack(udp_port=0) as stack, sctpx.socket(stack=stack) as cli:
            cli.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                           sctpx.UdpEncaps(port=udp))  # fmt: skip
            cli.settimeout(WAIT)
            cli.connectx([(S1, port)])
            rng = random.Random(3)
            pos = 0
            while pos < len(text):  # cut anywhere, also inside lines
                n = rng.randint(1, 9000)
                cli.sendall(text[pos : pos + n])
                pos += n
            got = b""
            while len(got) < len(text):
                got += cli.recv(1 << 16)
            cli.shutdown()  # graceful: the server's reader sees EOF, its handler returns
            assert cli.recv(1) == b""  # the SHUTDOWN exchange is over
            return got

    async def main() -> None:
        server = await aio.start_stream_server(upper, [S1], 0, udp_port=0)
        got = await wait(asyncio.to_thread(client, server.port, server.stack.udp_port), 20)
        assert got == text.upper()
        server.close()
        await wait(server.wait_closed())  # the handler has returned

    run(main, timeout=30)
