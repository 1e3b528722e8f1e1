"""The processes bench/compare.py starts: one side of a transfer or of a set-up test.

``python bench/_workers.py ROLE [options]``. Each worker prints JSON lines on
stdout: ``{"ready": ..., "udp_port": N}`` once it listens (servers), then one
result object, and exits. Everything runs on loopback.

Roles:

- ``sctpx-recv`` / ``sctpx-send``: one association over sctpx.aio (two stacks,
  one per process); the sender sends ``--size``-byte messages for ``--seconds``
  under ``drain()`` flow control, then closes gracefully.
- ``sock-recv`` / ``sock-send``: the same over the blocking sockets API.
- ``aiortc-recv`` / ``aiortc-send``: aiortc's ``RTCSctpTransport`` with one
  negotiated data channel, over :class:`UdpDtlsStandIn`, a plain UDP socket in
  place of DTLS.
- ``setup-server`` / ``setup-client``: sctpx.aio set-up latency and rate
  (sequential connectx, or many at once), optionally to several addresses.
- ``scale-recv`` / ``scale-send``: ``--count`` concurrent associations from one
  client stack to one server stack, each sending ``--size``-byte messages under
  ``drain()`` for ``--seconds`` (bench/scale.py); the receiver gives every
  association's messages inside a common window. With ``--idle`` nothing is sent:
  both sides give the memory (``tracemalloc``) their stack holds per association.
- ``paced-recv`` / ``paced-send``: a multi-homed association (``--ip`` lists the
  server's addresses) carrying ``--rate`` messages a second; the receiver gives the
  ``time.monotonic()`` of every arrival (bench/_netns.py runs them in namespaces).

The receivers time from the first to the last message they get and count the
CPU time (``time.process_time``) from the first message to the end of the
transfer (the association's end, a few packets later). The CPU clock is read
twice per transfer, not per message: ``process_time`` is a system call (~1.5 µs
of the receiver's CPU per message when it was read at every message).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

PORT = 5000  # SCTP port of every server (each process has its own UDP port)
END = b"E"  # aiortc: the one-byte message that ends a transfer


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Meter:
    """Counts received messages; first/last arrival, CPU time from the first to :meth:`end`."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.t_first = self.t_last = 0.0
        self.cpu_first = self.cpu_last = 0.0

    def add(self, n: int) -> None:
        if self.messages == 0:
            self.t_first = time.perf_counter()
            self.cpu_first = time.process_time()
        self.messages += 1
        self.bytes += n

    def stop(self) -> None:
        self.t_last = time.perf_counter()

    def end(self) -> None:
        """The transfer is over (read once, not per message: process_time is a syscall)."""
        if not self.cpu_last and self.messages:
            self.cpu_last = time.process_time()

    def result(self) -> dict[str, Any]:
        self.end()
        return {
            "messages": self.messages,
            "bytes": self.bytes,
            "seconds": self.t_last - self.t_first,
            "cpu": self.cpu_last - self.cpu_first,
        }


# ----------------------------------------------------------------- sctpx, aio


async def sctpx_recv(args: argparse.Namespace) -> None:
    import sctpx.aio

    meter = Meter()
    done = asyncio.Event()

    async def handler(assoc: sctpx.aio.Association) -> None:
        try:
            async for msg in assoc:
                meter.add(len(msg.data))
                meter.stop()
        finally:
            meter.end()
            done.set()

    server = await sctpx.aio.start_server(handler, [args.ip], PORT, udp_port=0)
    emit({"ready": True, "udp_port": server.stack.udp_port})
    await asyncio.wait_for(done.wait(), args.timeout)
    emit(meter.result())
    server.close()
    await sctpx.aio.close_stack(stack=server.stack)


async def sctpx_send(args: argparse.Namespace) -> None:
    import sctpx.aio

    config = None
    if args.max_burst is not None:  # an experiment knob (docs/performance.md), not the default
        from sctpx.core import Config

        config = Config(max_burst=args.max_burst)
    assoc = await sctpx.aio.connectx(
        [(args.ip, PORT)], udp_port=0, remote_udp_port=args.server_udp, timeout=5, config=config
    )
    payload = bytes(args.size)
    cpu0, t0 = time.process_time(), time.perf_counter()
    deadline = t0 + args.seconds
    sent = 0
    while time.perf_counter() < deadline:
        for _ in range(16):
            assoc.send(payload)
            await assoc.drain()
        sent += 16
    await assoc.close(timeout=30)
    emit({"sent": sent, "cpu": time.process_time() - cpu0, "seconds": time.perf_counter() - t0})
    await sctpx.aio.close_stack(stack=assoc.stack)


# ------------------------------------------------------- sctpx, blocking sockets


def sock_recv(args: argparse.Namespace) -> None:
    import sctpx
    from sctpx.core.events import DataReceived

    stack = sctpx.Stack(udp_port=0)
    try:
        srv = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, stack=stack)
        srv.bind((args.ip, PORT))
        srv.listen()
        srv.settimeout(args.timeout)
        emit({"ready": True, "udp_port": stack.udp_port})
        conn, _peer = srv.accept()
        conn.settimeout(args.timeout)
        meter = Meter()
        end = ""
        try:
            while True:
                ev = conn.sctp_recv()
                if isinstance(ev, DataReceived):
                    meter.add(len(ev.data))
                    meter.stop()
        except (EOFError, OSError) as exc:  # the end: graceful (ENOTCONN) or not
            end = repr(exc)
        meter.end()
        emit({**meter.result(), "end": end})
        conn.close()
        srv.close()
    finally:
        stack.close()


def sock_send(args: argparse.Namespace) -> None:
    import sctpx
    from sctpx.api.options import UdpEncaps

    stack = sctpx.Stack(udp_port=0)
    try:
        cli = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM, stack=stack)
        cli.bind((args.ip, 0))
        cli.setsockopt(
            sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT, UdpEncaps(port=args.server_udp)
        )
        cli.settimeout(30)
        cli.connectx([(args.ip, PORT)])
        payload = bytes(args.size)
        send = cli.sctp_send
        cpu0, t0 = time.process_time(), time.perf_counter()
        deadline = t0 + args.seconds
        sent = 0
        while time.perf_counter() < deadline:
            for _ in range(16):
                send(payload)
            sent += 16
        # close() would return at once (as the kernel's does) and the process end
        # would then take the queued data with it: shut down, and wait for the end.
        cli.shutdown()
        with contextlib.suppress(OSError):
            while True:
                cli.sctp_recv()  # ENOTCONN once the association has ended
        cli.close()
        emit({"sent": sent, "cpu": time.process_time() - cpu0, "seconds": time.perf_counter() - t0})
    finally:
        stack.close()


# ------------------------------------------------------------------------ aiortc


class UdpDtlsStandIn(asyncio.DatagramProtocol):
    """The part of ``RTCDtlsTransport`` that ``RTCSctpTransport`` uses, over plain UDP.

    ``state``, ``_role``, ``_register_data_receiver`` / ``_unregister_data_receiver``
    and ``_send_data``; received datagrams go to the receiver's ``_handle_data``
    one at a time, in order, as ``RTCDtlsTransport``'s receive loop does after
    decryption. No encryption, so aiortc is measured without DTLS's cost.
    """

    def __init__(self, role: str) -> None:
        self.state = "connected"
        self._role = role
        self._receiver: Any = None
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._udp: asyncio.DatagramTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self.peer: tuple[str, int] | None = None

    # asyncio.DatagramProtocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._udp = transport  # type: ignore[assignment]  # a datagram transport
        self._task = asyncio.get_running_loop().create_task(self._run())

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.peer is None:
            self.peer = (addr[0], addr[1])
        self._queue.put_nowait(data)

    async def _run(self) -> None:
        while True:
            data = await self._queue.get()
            if self._receiver is not None:
                await self._receiver._handle_data(data)

    # what RTCSctpTransport calls
    def _register_data_receiver(self, receiver: Any) -> None:
        self._receiver = receiver

    def _unregister_data_receiver(self, receiver: Any) -> None:
        if self._receiver is receiver:
            self._receiver = None

    async def _send_data(self, data: bytes) -> None:
        if self._udp is not None and self.peer is not None:
            self._udp.sendto(data, self.peer)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._udp is not None:
            self._udp.close()


async def _aiortc_pair(
    role: str, local: tuple[str, int], peer: tuple[str, int] | None
) -> tuple[UdpDtlsStandIn, Any, Any]:
    from aiortc import RTCDataChannel, RTCDataChannelParameters, RTCSctpTransport

    loop = asyncio.get_running_loop()
    _t, dtls = await loop.create_datagram_endpoint(lambda: UdpDtlsStandIn(role), local_addr=local)
    dtls.peer = peer
    sctp = RTCSctpTransport(dtls)  # type: ignore[arg-type]
    channel = RTCDataChannel(sctp, RTCDataChannelParameters(label="bench", negotiated=True, id=1))
    return dtls, sctp, channel


async def aiortc_recv(args: argparse.Namespace) -> None:
    dtls, sctp, channel = await _aiortc_pair("server", (args.ip, 0), None)
    meter = Meter()
    done = asyncio.Event()

    def on_message(data: bytes) -> None:
        if data == END:
            meter.end()
            done.set()
            return
        meter.add(len(data))
        meter.stop()

    channel.on("message", on_message)
    assert dtls._udp is not None
    emit({"ready": True, "udp_port": dtls._udp.get_extra_info("sockname")[1]})
    deadline = time.monotonic() + args.timeout
    while dtls.peer is None:  # the peer's first datagram tells us where it is
        if time.monotonic() > deadline:
            raise TimeoutError("no datagram from the aiortc sender")
        await asyncio.sleep(0.005)
    await sctp.start(sctp.getCapabilities(), 5000)
    await asyncio.wait_for(done.wait(), args.timeout)
    emit(meter.result())
    await sctp.stop()
    dtls.close()


async def aiortc_send(args: argparse.Namespace) -> None:
    dtls, sctp, channel = await _aiortc_pair("client", (args.ip, 0), (args.ip, args.server_udp))
    opened = asyncio.Event()
    low = asyncio.Event()
    channel.on("open", opened.set)
    channel.on("bufferedamountlow", low.set)
    high = 1 << 20
    channel.bufferedAmountLowThreshold = high // 4
    await sctp.start(sctp.getCapabilities(), 5000)
    await asyncio.wait_for(opened.wait(), 10)
    payload = bytes(args.size)
    cpu0, t0 = time.process_time(), time.perf_counter()
    deadline = t0 + args.seconds
    sent = 0
    while time.perf_counter() < deadline:
        for _ in range(16):
            channel.send(payload)
        sent += 16
        if channel.bufferedAmount > high:
            low.clear()
            await asyncio.wait_for(low.wait(), 30)
        else:
            await asyncio.sleep(0)
    channel.send(END)
    # wait until everything is acknowledged (aiortc has no graceful close)
    end = time.perf_counter() + 30
    while (channel.bufferedAmount or sctp._outbound_queue or sctp._sent_queue) and (
        time.perf_counter() < end
    ):
        await asyncio.sleep(0.005)
    emit({"sent": sent, "cpu": time.process_time() - cpu0, "seconds": time.perf_counter() - t0})
    await sctp.stop()
    dtls.close()


# ------------------------------------------------------------------------ set-up


async def setup_server(args: argparse.Namespace) -> None:
    import sctpx.aio

    async def handler(assoc: sctpx.aio.Association) -> None:
        await assoc.wait_closed()

    server = await sctpx.aio.start_server(handler, args.ip.split(","), PORT, udp_port=0)
    emit({"ready": True, "udp_port": server.stack.udp_port})
    # serve until our parent closes our stdin (or kills us)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await sctpx.aio.close_stack(stack=server.stack)


async def setup_client(args: argparse.Namespace) -> None:
    import sctpx
    import sctpx.aio

    loop = asyncio.get_running_loop()
    stack = sctpx.Stack(udp_port=0, loop=loop)
    addrs = [(ip, PORT) for ip in args.ip.split(",")]
    opts: dict[str, Any] = {"stack": stack, "remote_udp_port": args.server_udp, "timeout": 10}
    if args.stagger is not None:
        opts["init_stagger"] = args.stagger

    async def one() -> float:
        t0 = time.perf_counter()
        assoc = await sctpx.aio.connectx(addrs, **opts)
        t = time.perf_counter() - t0
        assoc.abort()
        return t

    try:
        for _ in range(args.warmup):
            await one()
        rounds = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            if args.parallel > 1:
                lat = list(await asyncio.gather(*(one() for _ in range(args.parallel))))
            else:
                lat = [await one() for _ in range(args.count)]
            rounds.append({"elapsed": time.perf_counter() - t0, "latencies": lat})
            await asyncio.sleep(0.05)  # let the aborts settle between rounds
        emit({"rounds": rounds})
    finally:
        await sctpx.aio.close_stack(stack=stack)


# ------------------------------------------------------------------------- main

# ------------------------------------------------------- paced, multi-homed (failover)


async def paced_recv(args: argparse.Namespace) -> None:
    import sctpx.aio

    times: list[float] = []
    done = asyncio.Event()

    async def handler(assoc: sctpx.aio.Association) -> None:
        try:
            async for _msg in assoc:
                times.append(time.monotonic())
        except Exception as exc:
            print(f"paced-recv: {exc!r}", file=sys.stderr)
            raise
        finally:
            done.set()

    server = await sctpx.aio.start_server(handler, args.ip.split(","), PORT)
    emit({"ready": True})
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.timeout)
    emit({"times": times})
    server.close()
    await sctpx.aio.close_stack(stack=server.stack)


async def paced_send(args: argparse.Namespace) -> None:
    import sctpx.aio

    assoc = await sctpx.aio.connectx([(ip, PORT) for ip in args.ip.split(",")], timeout=10)
    emit({"up": True, "paths": [p.address for p in assoc.paths()]})
    payload = bytes(args.size)
    t0 = time.monotonic()
    n = int(args.seconds * args.rate)
    for i in range(n):  # on a fixed schedule, whatever the association does
        await asyncio.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
        assoc.send(payload)
    await assoc.close(timeout=60)
    emit({"sent": n})
    await sctpx.aio.close_stack(stack=assoc.stack)


# ------------------------------------------------------------ many associations


def _traced() -> int:
    import gc
    import tracemalloc

    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def scale_recv(args: argparse.Namespace) -> None:
    import tracemalloc

    import sctpx.aio

    if args.idle:
        tracemalloc.start()
    counts: dict[int, int] = {}
    up = asyncio.Event()
    ended = 0
    all_ended = asyncio.Event()

    async def handler(assoc: sctpx.aio.Association) -> None:
        nonlocal ended
        key = assoc.assoc_id
        counts[key] = 0
        if len(counts) >= args.count:
            up.set()
        try:
            async for _msg in assoc:
                counts[key] += 1
        finally:
            ended += 1
            if ended >= args.count:
                all_ended.set()

    server = await sctpx.aio.start_server(handler, [args.ip], PORT, udp_port=0)
    base = _traced() if args.idle else 0
    emit({"ready": True, "udp_port": server.stack.udp_port})
    await asyncio.wait_for(up.wait(), args.timeout)
    if args.idle:
        await asyncio.sleep(0.5)  # the COOKIE ACKs and first SACKs settled: idle
        emit({"bytes_per_assoc": (_traced() - base) / args.count, "associations": len(counts)})
        await asyncio.wait_for(all_ended.wait(), args.timeout)
    else:
        # a common window, after every association is up and sending: per-association counts
        await asyncio.sleep(args.seconds * 0.2)
        snap0, t0, c0 = dict(counts), time.perf_counter(), time.process_time()
        await asyncio.sleep(args.seconds * 0.6)
        snap1, t1, c1 = dict(counts), time.perf_counter(), time.process_time()
        emit(
            {
                "window": t1 - t0,
                "cpu": c1 - c0,
                "per_assoc": [snap1[k] - snap0.get(k, 0) for k in snap1],
                "stats": vars(server.stack.stats),
            }
        )
        await asyncio.wait_for(all_ended.wait(), args.timeout)
    server.close()
    await sctpx.aio.close_stack(stack=server.stack)


async def scale_send(args: argparse.Namespace) -> None:
    import tracemalloc

    import sctpx
    import sctpx.aio

    if args.idle:
        tracemalloc.start()
    loop = asyncio.get_running_loop()
    stack = sctpx.Stack(udp_port=0, loop=loop)
    base = _traced() if args.idle else 0
    opts: dict[str, Any] = {"stack": stack, "remote_udp_port": args.server_udp, "timeout": 30}
    sem = asyncio.Semaphore(100)  # set-ups in flight at once

    async def connect() -> sctpx.aio.Association:
        async with sem:
            return await sctpx.aio.connectx([(args.ip, PORT)], **opts)

    try:
        assocs = list(await asyncio.gather(*(connect() for _ in range(args.count))))
        if args.idle:
            await asyncio.sleep(0.5)
            emit({"bytes_per_assoc": (_traced() - base) / args.count})
        else:
            payload = bytes(args.size)
            deadline = time.perf_counter() + args.seconds

            async def pump(a: sctpx.aio.Association) -> None:
                while time.perf_counter() < deadline:
                    for _ in range(4):
                        a.send(payload)
                    await a.drain()

            c0 = time.process_time()
            await asyncio.gather(*(pump(a) for a in assocs))
            emit({"cpu": time.process_time() - c0, "stats": vars(stack.stats)})
        await asyncio.gather(*(a.close(timeout=30) for a in assocs))
    finally:
        await sctpx.aio.close_stack(stack=stack)


ROLES = {
    "scale-recv": scale_recv,
    "scale-send": scale_send,
    "paced-recv": paced_recv,
    "paced-send": paced_send,
    "sctpx-recv": sctpx_recv,
    "sctpx-send": sctpx_send,
    "sock-recv": sock_recv,
    "sock-send": sock_send,
    "aiortc-recv": aiortc_recv,
    "aiortc-send": aiortc_send,
    "setup-server": setup_server,
    "setup-client": setup_client,
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=sorted(ROLES))
    p.add_argument("--ip", default="127.0.0.1", help="IP(s), comma-separated for set-up tests")
    p.add_argument("--server-udp", type=int, default=0)
    p.add_argument("--size", type=int, default=1200)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--stagger", type=float, default=None)
    p.add_argument("--max-burst", type=int, default=None, help="sctpx-send: Config.max_burst")
    p.add_argument("--idle", action="store_true", help="scale-*: idle memory, no data")
    p.add_argument("--rate", type=float, default=100.0, help="paced-send: messages a second")
    args = p.parse_args()
    fn = ROLES[args.role]
    profile = os.environ.get("SCTPX_BENCH_PROFILE")  # a directory: cProfile each worker there
    prof = None
    if profile is not None:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    if os.environ.get("SCTPX_BENCH_LOG"):  # e.g. INFO: sctpx's log on stderr
        import logging

        logging.basicConfig(level=os.environ["SCTPX_BENCH_LOG"], stream=sys.stderr)
    if os.environ.get("SCTPX_BENCH_UVLOOP") == "1":  # compare.py's "uvloop" rows
        import uvloop

        uvloop.install()
    try:
        if asyncio.iscoroutinefunction(fn):
            asyncio.run(fn(args))
        else:
            fn(args)
    finally:
        if prof is not None and profile is not None:
            prof.disable()
            prof.dump_stats(os.path.join(profile, f"{args.role}-{os.getpid()}.prof"))
    sys.stdout.flush()
    os._exit(0)  # no lingering threads keep a finished worker alive


if __name__ == "__main__":
    main()
