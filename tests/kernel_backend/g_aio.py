"""``sctpx.aio`` on the kernel backend, run inside the VM (plain python3 and asyncio, no pytest).

``python3 g_aio.py [NAME ...]`` runs the named scenarios (all by default) on the
guest's loopback and prints one JSON object a line, ``{"scenario": NAME, "result": {...}}``
or ``{"scenario": NAME, "error": "traceback"}``, as g_scenarios.py does. The host's
tests (test_aio_kernel.py) assert on them; this file only observes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import sctpx.aio

S1, S2 = "127.0.0.2", "127.0.0.3"
DEAD = "127.0.0.77"  # blackholed in the guest's local table (guest.py)
WAIT = 5.0
Scenario = Callable[[int], Awaitable[dict[str, Any]]]
SCENARIOS: dict[str, tuple[Scenario, int]] = {}


def scenario(port: int) -> Callable[[Scenario], Scenario]:
    def add(fn: Scenario) -> Scenario:
        SCENARIOS[fn.__name__] = (fn, port)
        return fn

    return add


def msg(m: sctpx.aio.Message) -> dict[str, Any]:
    return {"data": m.data.decode(errors="replace")[:40], "len": len(m.data), "stream": m.stream,
            "ppid": m.ppid, "unordered": m.unordered, "complete": m.complete}  # fmt: skip


def ev(e: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": type(e).__name__}
    for k in ("state", "error", "address"):
        if hasattr(e, k):
            v = getattr(e, k)
            out[k] = getattr(v, "name", v)
    return out


def error(e: BaseException) -> dict[str, Any]:
    import errno

    code = getattr(e, "errno", None)
    return {"type": type(e).__name__, "errno": errno.errorcode.get(code, code) if code else None}


async def catch(aw: Awaitable[Any]) -> dict[str, Any] | None:
    try:
        await aw
    except (OSError, EOFError, asyncio.CancelledError) as e:
        return error(e)
    return None


def catch_sync(fn: Callable[[], Any]) -> dict[str, Any] | None:
    try:
        fn()
    except (OSError, EOFError, AttributeError) as e:
        return error(e)
    return None


@scenario(7200)
async def echo_both_ways(port: int) -> dict[str, Any]:
    srv: dict[str, Any] = {"got": []}

    async def echo(assoc: sctpx.aio.Association) -> None:
        srv["type"] = type(assoc).__name__
        srv["peer"] = assoc.peer_addresses
        parts, total = 0, 0
        async for m in assoc:
            srv["got"].append(msg(m))
            if m.stream == 7:  # a big one: count its parts, answer with its size once whole
                parts, total = parts + 1, total + len(m.data)
                if m.complete:
                    assoc.send(f"{parts} {total}".encode(), stream=7, ppid=m.ppid)
                continue
            assoc.send(m.data.upper(), stream=m.stream, ppid=m.ppid + 1, unordered=m.unordered)
            await assoc.drain()
        srv["end"] = ev(assoc.end_event)
        srv["recv_after"] = await catch(assoc.recv())
        srv["send_after"] = catch_sync(lambda: assoc.send(b"x"))

    server = await sctpx.aio.start_server(echo, [S1, S2], port, backend="kernel")
    t0 = time.monotonic()
    assoc = await sctpx.aio.connectx([(S1, port), (S2, port)], backend="kernel", timeout=WAIT)
    res: dict[str, Any] = {"took": time.monotonic() - t0, "type": type(assoc).__name__,
                           "isinstance": isinstance(assoc, sctpx.aio.Association),
                           "server_type": type(server).__name__, "server_port": server.port,
                           "server_addresses": server.addresses,
                           "peer": assoc.peer_addresses, "local": assoc.local_addresses,
                           "primary": assoc.primary_address,
                           "streams": [assoc.outbound_streams, assoc.inbound_streams]}  # fmt: skip
    res["stack"] = catch_sync(lambda: assoc.stack)
    res["bad_stream"] = catch_sync(lambda: assoc.send(b"x", stream=assoc.outbound_streams))
    res["empty"] = catch_sync(lambda: assoc.send(b""))
    res["bad_ppid"] = catch_sync(lambda: assoc.send(b"x", ppid=1 << 32))
    assoc.send(b"one", stream=3, ppid=46)
    assoc.send(b"two", stream=2, ppid=0xFFFFFFF0, unordered=True)
    assoc.send(b"three", stream=0, ppid=0)
    await assoc.drain()
    res["back"] = [msg(await asyncio.wait_for(assoc.recv(), WAIT)) for _ in range(3)]
    res["too_big"] = catch_sync(lambda: assoc.send(bytes(4 << 20), stream=7))  # > SO_SNDBUF
    big = bytes(range(250)) * 800  # 200 kB: under the guest's SO_SNDBUF (208 kB)
    assoc.send(big, stream=7, ppid=9)
    res["buffered"] = assoc.get_write_buffer_size()
    await assoc.drain()
    res["big_reply"] = msg(await asyncio.wait_for(assoc.recv(), WAIT))
    res["paths"] = [[p.address, p.state, p.srtt is not None, p.rto, p.cwnd > 0, p.confirmed,
                     p.primary] for p in assoc.paths()]  # fmt: skip
    res["repr"] = repr(assoc)
    await asyncio.wait_for(assoc.close(), WAIT)
    res["closed"] = assoc.closed
    res["end"] = ev(assoc.end_event)
    res["events"] = [ev(e) async for e in assoc.events()]
    res["recv_after"] = await catch(assoc.recv())
    res["send_after"] = catch_sync(lambda: assoc.send(b"x"))
    res["close_again"] = await catch(assoc.close())
    await asyncio.sleep(0.3)
    server.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)
    res["server"] = srv
    res["server_serving"] = server.is_serving()
    res["refused_after_close"] = await catch(
        sctpx.aio.connectx([(S1, port)], backend="kernel", timeout=WAIT)
    )
    return res


@scenario(7210)
async def server_closes_first(port: int) -> dict[str, Any]:
    srv: dict[str, Any] = {}

    async def handler(assoc: sctpx.aio.Association) -> None:
        m = await assoc.recv()
        srv["got"] = msg(m)
        assoc.send(b"bye", stream=1, ppid=5)
        await assoc.close()
        srv["end"] = ev(assoc.end_event)

    async with await sctpx.aio.start_server(handler, S1, port, backend="kernel") as _server:
        async with await sctpx.aio.connectx([(S1, port)], backend="kernel") as assoc:
            assoc.send(b"hello", stream=2, ppid=4)
            last = msg(await asyncio.wait_for(assoc.recv(), WAIT))
            eof = await catch(asyncio.wait_for(assoc.recv(), WAIT))
            await asyncio.wait_for(assoc.wait_closed(), WAIT)
            res = {"last": last, "eof": eof, "end": ev(assoc.end_event),
                   "send_after": catch_sync(lambda: assoc.send(b"x")),
                   "events": [ev(e) async for e in assoc.events()]}  # fmt: skip
        await asyncio.sleep(0.2)
    res["server"] = srv
    return res


@scenario(7220)
async def client_aborts(port: int) -> dict[str, Any]:
    srv: dict[str, Any] = {}
    seen = asyncio.Event()

    async def handler(assoc: sctpx.aio.Association) -> None:
        srv["got"] = msg(await assoc.recv())
        seen.set()
        srv["recv"] = await catch(asyncio.wait_for(assoc.recv(), WAIT))
        srv["end"] = ev(assoc.end_event)
        srv["send"] = catch_sync(lambda: assoc.send(b"x"))
        srv["drain"] = await catch(assoc.drain())

    server = await sctpx.aio.start_server(handler, S1, port, backend="kernel")
    assoc = await sctpx.aio.connectx([(S1, port)], backend="kernel")
    assoc.send(b"ping")
    await asyncio.wait_for(seen.wait(), WAIT)
    assoc.abort()
    res: dict[str, Any] = {"end": ev(assoc.end_event), "closed": assoc.closed,
                           "recv": await catch(assoc.recv()),
                           "send": catch_sync(lambda: assoc.send(b"x"))}  # fmt: skip
    await asyncio.sleep(0.5)
    server.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)
    res["server"] = srv
    return res


@scenario(7230)
async def server_aborts(port: int) -> dict[str, Any]:
    async def handler(assoc: sctpx.aio.Association) -> None:
        await assoc.recv()
        assoc.abort()

    server = await sctpx.aio.start_server(handler, S1, port, backend="kernel")
    assoc = await sctpx.aio.connectx([(S1, port)], backend="kernel")
    assoc.send(b"ping")
    res = {"recv": await catch(asyncio.wait_for(assoc.recv(), WAIT)),
           "end": ev(assoc.end_event)}  # fmt: skip
    server.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)
    return res


@scenario(7240)
async def connect_errors(port: int) -> dict[str, Any]:
    res: dict[str, Any] = {}
    t0 = time.monotonic()
    res["refused"] = await catch(sctpx.aio.connectx([(S1, port)], backend="kernel", timeout=WAIT))
    res["refused_took"] = time.monotonic() - t0
    t0 = time.monotonic()
    res["timeout"] = await catch(sctpx.aio.connectx([(DEAD, port)], backend="kernel", timeout=0.5))
    res["timeout_took"] = time.monotonic() - t0
    task = asyncio.ensure_future(sctpx.aio.connectx([(DEAD, port)], backend="kernel"))
    await asyncio.sleep(0.2)
    task.cancel()
    t0 = time.monotonic()
    res["cancelled"] = await catch(task)
    res["cancel_took"] = time.monotonic() - t0
    res["no_addrs"] = await catch(sctpx.aio.connectx([], backend="kernel"))
    res["mixed_ports"] = await catch(
        sctpx.aio.connectx([(S1, port), (S2, port + 1)], backend="kernel")
    )
    for name, kw in (("init_stagger", {"init_stagger": 0.1}), ("udp_port", {"udp_port": 0}),
                     ("remote_udp_port", {"remote_udp_port": 9899})):  # fmt: skip
        res[name] = await catch(sctpx.aio.connectx([(S1, port)], backend="kernel", **kw))
    res["server_udp_port"] = await catch(
        sctpx.aio.start_server(lambda a: asyncio.sleep(0), S1, port, backend="kernel", udp_port=0)
    )
    res["no_server_addrs"] = await catch(
        sctpx.aio.start_server(lambda a: asyncio.sleep(0), [], port, backend="kernel")
    )
    return res


@scenario(7260)
async def slow_reader_holds_drain(port: int) -> dict[str, Any]:
    """2 MB in 20 kB messages to a reader that starts after 0.5 s: drain() must wait."""
    srv: dict[str, Any] = {}

    async def handler(assoc: sctpx.aio.Association) -> None:
        await asyncio.sleep(0.5)
        srv["started"] = time.monotonic()
        n = total = 0
        async for m in assoc:
            n, total = n + int(m.complete), total + len(m.data)
            if n == 100:
                assoc.send(f"{n} {total}".encode())
        srv["n"], srv["total"] = n, total

    server = await sctpx.aio.start_server(handler, S1, port, backend="kernel")
    assoc = await sctpx.aio.connectx([(S1, port)], backend="kernel")
    t0 = time.monotonic()
    for i in range(100):
        assoc.send(bytes([i]) * 20000)
    res: dict[str, Any] = {"queued": assoc.get_write_buffer_size()}
    await asyncio.wait_for(assoc.drain(), WAIT)
    res["drained_at"] = time.monotonic()
    res["after_drain"] = assoc.get_write_buffer_size()
    res["reply"] = msg(await asyncio.wait_for(assoc.recv(), WAIT))
    await assoc.close()
    server.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)
    res["drain_took"] = res["drained_at"] - t0
    res["reader_started_before_drain"] = srv["started"] <= res["drained_at"]
    res["server"] = srv
    return res


@scenario(7250)
async def env_default_and_streams(port: int) -> dict[str, Any]:
    async def handler(assoc: sctpx.aio.Association) -> None:
        async for m in assoc:
            assoc.send(m.data, stream=m.stream)

    os.environ["SCTPX_BACKEND"] = "kernel"
    try:
        server = await sctpx.aio.start_server(handler, S1, port, streams=3)
        assoc = await sctpx.aio.connectx([(S1, port)], streams=4)
    finally:
        del os.environ["SCTPX_BACKEND"]
    res = {"types": [type(server).__name__, type(assoc).__name__],
           "streams": [assoc.outbound_streams, assoc.inbound_streams]}  # fmt: skip
    assoc.send(b"s2", stream=2)
    res["echo"] = msg(await asyncio.wait_for(assoc.recv(), WAIT))
    await assoc.close()
    server.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)
    return res


async def run(names: list[str]) -> None:
    for name in names or list(SCENARIOS):
        t0 = time.monotonic()
        try:
            fn, port = SCENARIOS[name]
            rec: dict[str, Any] = {"scenario": name, "result": await asyncio.wait_for(fn(port), 60)}
        except BaseException:
            rec = {"scenario": name, "error": traceback.format_exc()}
        rec["seconds"] = round(time.monotonic() - t0, 3)
        print(json.dumps(rec, default=str), flush=True)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1:]))
    sys.exit(0)
