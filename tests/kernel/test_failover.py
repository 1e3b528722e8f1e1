"""Multi-homing against the kernel: a dead first address at set-up, a path cut mid-transfer.

Path A is black-holed in the VM (``path.sh cut A``: everything on ethA dropped
both ways, links up, host sends still succeed), so nothing refuses anything:
only timers and the second path can help.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import sctpx.aio
from sctpx.testing import check_capture, tshark_fields

from .support import (
    DATA,
    GUEST,
    HOST,
    INIT,
    INIT_ACK,
    UDP_PORT,
    TapCapture,
    assert_transport,
    chunk_names,
    peer_ips,
    run,
    stack_for,
    unmap,
)
from .vm import KernelPeer

A_HOST, B_HOST = HOST["ipv4"]
A_GUEST, B_GUEST = GUEST["ipv4"]
KERNEL_T1 = 3.0  # the kernel's RTO.Initial (net.sctp.rto_initial = 3000 ms): a classic T1
STAGGER = 0.25  # our default init_stagger


async def _connect(stack: sctpx.Stack, port: int) -> sctpx.aio.Association:
    """connectx to both of the VM's IPv4 addresses, A first, from both of ours."""
    return await sctpx.aio.connectx([(A_GUEST, port), (B_GUEST, port)], local=[A_HOST, B_HOST],
                                    stack=stack, timeout=10)  # fmt: skip


def test_dead_first_address_at_setup(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    srv = kernel.server(port, [A_GUEST, B_GUEST])

    async def main() -> dict[str, Any]:
        async with stack_for(kernel.transport) as stack:
            t0 = time.monotonic()
            assoc = await _connect(stack, port)
            out: dict[str, Any] = {"setup": time.monotonic() - t0}
            out["peers"] = peer_ips(assoc.peer_addresses)
            assoc.send(b"through B", stream=1, ppid=7)
            out["echo"] = await asyncio.wait_for(assoc.recv(), 10)
            assoc.send(b"STATUS")
            out["status"] = json.loads((await asyncio.wait_for(assoc.recv(), 10)).data)
            out["paths"] = {p.address: p for p in assoc.paths()}
            t1 = time.monotonic()
            await assoc.close(timeout=15)
            out["close"] = time.monotonic() - t1
            out["end"] = assoc.end_event
            return out

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        kernel.cut("A")
        out = run(main())
    print(f"set-up with path A dead: {out['setup'] * 1000:.0f} ms; close {out['close']:.2f} s")

    # well under the kernel's own T1; and not before the stagger: the INIT to A really got lost
    assert STAGGER * 0.8 <= out["setup"] < 1.0 < KERNEL_T1, out["setup"]
    assert out["peers"] == [A_GUEST, B_GUEST]  # the dead listed address stays in
    assert out["echo"].data == b"through B" and (out["echo"].stream, out["echo"].ppid) == (1, 7)
    assert sorted(unmap(ip) for ip in out["status"]["peer_addrs"]) == [A_HOST, B_HOST]
    assert out["paths"][B_GUEST].state == "ACTIVE" and out["paths"][B_GUEST].srtt is not None
    assert out["end"] is not None and out["end"].state.name == "SHUTDOWN_COMP", out["end"]
    srv.wait_for(lambda r: r.get("state") == "SHUTDOWN_COMP", what="SHUTDOWN_COMP")

    report = check_capture(pcap, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert_transport(report, kernel.transport)
    text = chunk_names(report)
    # We tried A first: its INIT is on the tap, or (when the host's neighbour entry for A had
    # expired: the VM answers no ARP on a cut path) the ARP request that holds it back is.
    tried_a = [p.time for p in report.select(INIT, dst=A_GUEST)]
    tried_a += [float(row[0]) for row in tshark_fields(
        pcap, ["frame.time_relative"], f"arp.opcode == 1 && arp.dst.proto_ipv4 == {A_GUEST}")]
    inits_b = report.select(INIT, dst=B_GUEST)
    assert tried_a and inits_b, f"no INIT (or ARP) to A, or no INIT to B:\n{text}"
    assert inits_b[0].time - min(tried_a) >= STAGGER * 0.8, text  # staggered, not at once
    assert not report.select(src=A_GUEST), f"path A was not dead:\n{text}"
    assert report.select(INIT_ACK, src=B_GUEST, dst=B_HOST), text


def test_path_cut_mid_transfer(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    count, size, interval = 200, 1000, 0.01  # ~2 s of messages, 100 a second each way
    cut_after = 50
    srv = kernel.server(port, [A_GUEST, B_GUEST])

    def body(i: int) -> bytes:
        return (f"{i:05d}".encode() * (size // 5 + 1))[:size]

    async def main() -> dict[str, Any]:
        async with stack_for(kernel.transport) as stack:
            assoc = await _connect(stack, port)
            assert assoc.primary_address == (A_GUEST, port)
            got: list[tuple[float, bytes]] = []

            async def reader() -> None:
                while len(got) < count:
                    m = await assoc.recv()
                    got.append((time.monotonic(), m.data))

            rtask = asyncio.create_task(reader())
            cut: asyncio.Future[None] | None = None
            t_cut = 0.0
            for i in range(count):
                assoc.send(body(i), stream=0, ppid=1000 + i)
                await assoc.drain()
                if i == cut_after:  # black-hole A while messages flow (the cut takes ~0.3 s)
                    t_cut = time.monotonic()
                    cut = asyncio.ensure_future(asyncio.to_thread(kernel.cut, "A"))
                await asyncio.sleep(interval)
            sent_done = time.monotonic()
            assert cut is not None
            await cut
            try:
                await asyncio.wait_for(rtask, 30)
            finally:
                rtask.cancel()
            paths = {p.address: p for p in assoc.paths()}
            await assoc.close(timeout=15)
            return {"got": got, "t_cut": t_cut, "sent_done": sent_done, "paths": paths,
                    "end": assoc.end_event}  # fmt: skip

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        out = run(main(), timeout=90)
    got = out["got"]
    times = [t for t, _ in got]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    stall = max(gaps)
    late = times[-1] - out["sent_done"]
    print(f"path A cut after message {cut_after}: longest gap between echoes {stall:.2f} s, "
          f"last echo {late:.2f} s after the last send")  # fmt: skip

    assert [data for _, data in got] == [body(i) for i in range(count)]  # all, in order, intact
    assert stall < 8.0, stall  # failover within a few RTOs (1 s minimum on both sides)
    assert out["paths"][A_GUEST].state in ("PF", "INACTIVE"), out["paths"]
    assert out["paths"][B_GUEST].state == "ACTIVE", out["paths"]
    assert out["end"] is not None and out["end"].state.name == "SHUTDOWN_COMP", out["end"]
    recs = srv.records()
    assert [r["ppid"] for r in recs if r.get("ev") == "msg"] == [1000 + i for i in range(count)]

    report = check_capture(pcap, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert_transport(report, kernel.transport)
    text = chunk_names(report)
    # data went over A first, then over B in both directions
    assert report.select(DATA, src=A_HOST, dst=A_GUEST) and report.select(DATA, src=A_GUEST), text
    assert report.select(DATA, src=B_HOST, dst=B_GUEST), f"our data never moved to B:\n{text}"
    assert report.select(DATA, src=B_GUEST, dst=B_HOST), f"the kernel's never moved to B:\n{text}"
