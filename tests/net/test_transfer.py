"""Associations over real UDP sockets: set-up, 1000 messages both ways, source addresses."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable

from sctpx.core import AssocChangeState, Endpoint
from sctpx.core.events import DataReceived
from sctpx.core.types import Datagram
from sctpx.net import Stack

from .conftest import Events, Pair, wait_until


def message(i: int) -> bytes:
    """Message ``i``: its number, then 20..1500 bytes derived from it (checkable content)."""
    body = hashlib.sha256(i.to_bytes(4, "big")).digest() * (1 + i % 47)
    return i.to_bytes(4, "big") + body[: 16 + (i * 37) % 1480]


def send_many(ep: Endpoint, aid: int, now: float, n: int) -> None:
    for _ in range(n):
        ep.send(aid, b"m" * 100, now)


def test_two_stacks_set_up_and_exchange_1000_messages(pair: Pair) -> None:
    aid = pair.establish()
    (srv_aid,) = pair.sep.associations
    n = 1000

    def send_all(ep: Endpoint, assoc: int) -> Callable[[float], None]:
        def go(now: float) -> None:
            for i in range(n):
                ep.send(assoc, message(i), now, stream=i % 3, ppid=i)

        return go

    pair.client.call(send_all(pair.cep, aid))
    got = pair.sev.data(n)
    by_stream: dict[int, list[int]] = {}
    for ev in got:
        i = int.from_bytes(ev.data[:4], "big")
        assert ev.data == message(i)
        assert (ev.stream_id, ev.ppid, ev.assoc_id) == (i % 3, i, srv_aid)
        by_stream.setdefault(ev.stream_id, []).append(i)
    assert sorted(i for ids in by_stream.values() for i in ids) == list(range(n))
    assert all(ids == sorted(ids) for ids in by_stream.values())  # ordered per stream

    pair.server.call(send_all(pair.sep, srv_aid))  # and back
    back = pair.cev.data(n)
    assert [ev.data for ev in back] == [message(i) for i in range(n)]
    for st in (pair.client.stats, pair.server.stats):
        assert st.core_errors == st.callback_errors == st.wrong_source == st.send_errors == 0


def test_graceful_shutdown_over_sockets(pair: Pair) -> None:
    aid = pair.establish()
    pair.client.call(lambda now: pair.cep.shutdown(aid, now))
    pair.cev.assoc_change(AssocChangeState.SHUTDOWN_COMP)
    pair.sev.assoc_change(AssocChangeState.SHUTDOWN_COMP)
    wait_until(lambda: not pair.client.call(lambda now: bool(pair.cep.associations)))


def test_each_datagram_leaves_from_its_source_address(make_stack: Callable[..., Stack]) -> None:
    """Datagrams the core hands down from .4 or .5 arrive from .4 or .5 (usrsctp #151, #264)."""
    stack = make_stack()
    ep = stack.open_endpoint(6000, ["127.0.0.4", "127.0.0.5"], None, Events())
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        peer.bind(("127.0.0.6", 0))
        peer.settimeout(2)
        dst = peer.getsockname()
        header = (6000).to_bytes(2, "big") + (7000).to_bytes(2, "big") + bytes(8)
        out: list[Datagram] = [
            (header + bytes([i]), (src, stack.udp_port), dst)
            for i, src in enumerate(["127.0.0.4", "127.0.0.5", "127.0.0.5", "127.0.0.4"])
        ]
        stack.call(lambda now: ep.ctx.out.extend(out))  # as if the core had sent them
        seen = {}
        for _ in out:
            data, addr = peer.recvfrom(100)
            seen[data[-1]] = addr
        assert seen == {i: (src, stack.udp_port) for i, (_, (src, _p), _d) in enumerate(out)}
        assert stack.stats.wrong_source == 0

        # No socket on the source address: sent anyway from one of the same family, counted.
        stack.call(lambda now: ep.ctx.out.append((header + b"x", ("127.0.0.99", 1), dst)))
        data, addr = peer.recvfrom(100)
        assert data.endswith(b"x") and addr[0] in ("127.0.0.4", "127.0.0.5")
        assert stack.stats.wrong_source == 1
    finally:
        peer.close()


def test_server_replies_from_the_address_the_path_uses(pair: Pair) -> None:
    """After set_primary moves the client to .3, the server's SACKs come from .3, not .2."""
    aid = pair.establish()
    seen: list[tuple[str, str]] = []  # (core's source, kernel-reported source) per packet
    demanded: dict[bytes, str] = {}
    # What the server's core demands, as its stack gets it (every datagram of
    # datagrams_to_send goes through Stack._send, or _send_runs with offload; the
    # compiled core's methods cannot be replaced on an Endpoint).
    server = pair.server
    send, send_runs = server._send, server._send_runs

    def spy(datagram: Datagram) -> None:
        demanded[datagram[0]] = datagram[1][0]
        send(datagram)

    def spy_runs(out: list[Datagram]) -> None:
        for data, src, _dst in out:
            demanded[data] = src[0]
        send_runs(out)

    server._send = spy  # type: ignore[method-assign]
    server._send_runs = spy_runs  # type: ignore[method-assign]
    deliver = pair.client._deliver

    def tap(data: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
        if data in demanded:
            seen.append((demanded[data], src[0]))
        deliver(data, src, dst)

    pair.client._deliver = tap  # type: ignore[method-assign]
    for primary in ("127.0.0.2", "127.0.0.3"):
        pair.client.call(lambda now: pair.cep.set_primary(aid, primary))  # noqa: B023
        pair.client.call(lambda now: send_many(pair.cep, aid, now, 50))
        evs = pair.sev.data(50)
        assert all(isinstance(e, DataReceived) for e in evs)
    wait_until(lambda: len({s for s, _ in seen}) == 2)  # both server addresses were used
    assert seen and all(core == kernel for core, kernel in seen)
