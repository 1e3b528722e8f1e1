"""User message interleaving (RFC 8260, I-DATA) with Linux's SCTP in the VM, both ways.

The guest's guest/kreconf.py offers I-DATA (``net.sctp.intl_enable=1``,
SCTP_FRAGMENT_INTERLEAVE 2, SCTP_INTERLEAVING_SUPPORTED) and schedules its streams
round robin (SCTP_STREAM_SCHEDULER); our side connects with
``Config(interleaving=True, stream_scheduler="rr")``.

Each way: a 300 KB message on stream 0, then 20 small ones on stream 1. Every message
arrives whole (its SHA-256), the small ones in order; ours are interleaved with the large
one's fragments, so some reach the kernel before it is complete (Linux 6.1's schedulers
finish a message before they change streams, so its own are not interleaved). tshark on
the taps: I-DATA (64) chunks both ways, no DATA (0) chunk. And when only one side offers
I-DATA, both keep to DATA.

Fragment numbering (Config.idata_fsn, core.ireassembly): Linux 6.1 numbers a message's
fragments B, then FSN 0, 1, ... and expects that back; RFC 8260 §2.1 counts B as 0, the
next 1. We take either. What we send follows Linux ("auto", the default) once Linux has
sent a fragmented message first; where we send first the test says ``idata_fsn="linux"``:
against Linux there is no knowing before. tshark shows the FSN of the fragment after B,
per side: 0 both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sctpx.aio
from sctpx.core import Config
from sctpx.testing import check_capture, tshark_fields

from .support import (
    GUEST,
    HOST,
    UDP_PORT,
    TapCapture,
    assert_transport,
    chunk_names,
    run,
    stack_for,
)
from .test_reconfig import KernelReconf
from .vm import KernelPeer

DATA, I_DATA, FORWARD_TSN, I_FORWARD_TSN = 0, 64, 192, 194
BIG, SMALL, SMALL_COUNT = 300_000, 100, 20
AFTER = 20_000  # a fragmented message of ours after Linux's
INTL_SYSCTLS = {"net.sctp.intl_enable": "1", "net.sctp.reconf_enable": "1"}
H, K = HOST["ipv4"][0], GUEST["ipv4"][0]


def payload(tag: str, i: int, size: int) -> bytes:
    """What guest/kreconf.py's ``send`` makes: "TAG-00000i:" padded with '.' to ``size``."""
    head = f"{tag}-{i:06d}:".encode()
    return head + b"." * max(0, size - len(head))


def sha16(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@contextlib.asynccontextmanager
async def session(
    kernel: KernelPeer, port: int, *, ours: bool = True, theirs: bool = True, fsn: str = "auto"
) -> AsyncIterator[tuple[sctpx.aio.Association, KernelReconf]]:
    """kreconf.py (I-DATA offered if ``theirs``) and our association to it (I-DATA offered
    if ``ours``; ``fsn``: our Config.idata_fsn)."""
    for name, value in INTL_SYSCTLS.items():
        kernel.set_sysctl(name, value)
    extra = "--sched rr" + (" --intl" if theirs else "")
    k = await asyncio.to_thread(KernelReconf, kernel, port, [K], 7, extra)
    try:
        async with stack_for(kernel.transport) as stack:
            cfg = Config(interleaving=ours, stream_scheduler="rr", idata_fsn=fsn)
            assoc = await sctpx.aio.connectx([(K, port)], local=[H], stack=stack, timeout=10,
                                             config=cfg)  # fmt: skip
            await asyncio.to_thread(k.wait, lambda r: r.get("ev") == "up", "COMM_UP")
            try:
                yield assoc, k
            finally:
                with contextlib.suppress(OSError, TimeoutError):
                    await assoc.close(timeout=10)
    finally:
        k.close()


async def receive(assoc: sctpx.aio.Association, count: int) -> list[tuple[int, bytes]]:
    """``count`` whole messages as (stream, data), in the order each was completed (the
    parts of a large one joined; with I-DATA parts of messages on other streams may come
    between them)."""
    parts: dict[int, bytes] = {}
    done: list[tuple[int, bytes]] = []
    while len(done) < count:
        m = await asyncio.wait_for(assoc.recv(), 20)
        buf = parts.pop(m.stream, b"") + m.data
        if m.complete:
            done.append((m.stream, buf))
        else:
            parts[m.stream] = buf
    return done


def check_wire(pcap: Path, transport: str, idata: bool) -> None:
    report = check_capture(pcap, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert_transport(report, transport)
    text = chunk_names(report)
    if idata:
        assert report.chunk_count(DATA) == 0, f"DATA chunks on an I-DATA association:\n{text}"
        for src, dst in ((H, K), (K, H)):
            assert report.chunk_count(I_DATA, src=src, dst=dst), f"no I-DATA {src}->{dst}:\n{text}"
    else:
        assert report.chunk_count(I_DATA) == 0, f"I-DATA though not agreed:\n{text}"
        for src, dst in ((H, K), (K, H)):
            assert report.chunk_count(DATA, src=src, dst=dst), f"no DATA {src}->{dst}:\n{text}"


def second_fsns(pcap: Path) -> dict[str, set[int]]:
    """Per source address, the FSNs on the wire of the I-DATA fragments that follow a
    message's B fragment (the lowest FSN without B per stream and MID): {1} in RFC 8260's
    numbering, {0} in Linux's."""
    fields = ["ip.src", "sctp.data_sid", "sctp.data_mid", "sctp.data_b_bit", "sctp.data_fsn"]
    lowest: dict[tuple[str, str, str], int] = {}
    for src, sids, mids, bbits, fsns in tshark_fields(pcap, fields, "sctp.data_mid", (UDP_PORT,)):
        fsn_of_non_b = iter(fsns.split(",") if fsns else [])  # tshark shows no FSN with B
        for sid, mid, b in zip(sids.split(","), mids.split(","), bbits.split(","), strict=True):
            if b in ("1", "True"):
                continue
            key = (src.split(",")[0], sid, mid)
            lowest[key] = min(lowest.get(key, 1 << 32), int(next(fsn_of_non_b)))
    out: dict[str, set[int]] = {H: set(), K: set()}
    for (src, _sid, _mid), fsn in lowest.items():
        out.setdefault(src, set()).add(fsn)
    return out


def test_we_interleave_small_messages_with_a_large_one(kernel: KernelPeer, port: int,
                                                       tmp_path: Path) -> None:  # fmt: skip
    async def main() -> tuple[list[dict[str, Any]], list[tuple[int, bytes]]]:
        # We send a fragmented message before Linux has: only "linux" says how to number it
        # (on "auto" we would number it the RFC's way and Linux would never reassemble it).
        async with session(kernel, port, fsn="linux") as (assoc, k):
            assoc.send(payload("big", 1, BIG), stream=0)
            for i in range(1, SMALL_COUNT + 1):
                assoc.send(payload("small", i, SMALL), stream=1)
            await asyncio.to_thread(k.messages, "small", SMALL_COUNT, 30)
            await asyncio.to_thread(k.messages, "big", 1, 30)
            await asyncio.to_thread(k.command, "send 1 3 100 back")
            back = await receive(assoc, 3)
            return [r for r in k.proc.records() if r.get("ev") == "msg"], back

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        msgs, back = run(main(), timeout=120)
    assert recs_ok(msgs)
    assert back == [(1, payload("back", i, 100)) for i in (1, 2, 3)]
    check_wire(pcap, kernel.transport, idata=True)
    fsns = second_fsns(pcap)
    print(f"\nFSN after B on the wire: {fsns}")
    assert fsns == {H: {0}, K: set()}, fsns  # Linux's "back" messages are not fragmented


def recs_ok(msgs: list[dict[str, Any]]) -> bool:
    """The kernel got the large message whole, the small ones whole and in order, and at
    least one small one before the large one was complete."""
    big = [m for m in msgs if m["head"].startswith("big-")]
    small = [m for m in msgs if m["head"].startswith("small-")]
    want_big = [(0, BIG, sha16(payload("big", 1, BIG)))]
    assert [(m["sid"], m["len"], m["sha"]) for m in big] == want_big, big
    assert [(m["sid"], m["sha"]) for m in small] == [
        (1, sha16(payload("small", i, SMALL))) for i in range(1, SMALL_COUNT + 1)]  # fmt: skip
    first_small = msgs.index(small[0])
    assert first_small < msgs.index(big[0]), "no small message got ahead of the large one"
    return True


def test_kernel_interleaves_small_messages_with_a_large_one(kernel: KernelPeer, port: int,
                                                            tmp_path: Path) -> None:  # fmt: skip
    async def main() -> tuple[list[tuple[int, bytes]], list[dict[str, Any]],
                              list[dict[str, Any]]]:  # fmt: skip
        async with session(kernel, port) as (assoc, k):  # idata_fsn "auto"
            # one command, so that the small messages are queued while the large one goes
            reader = asyncio.ensure_future(receive(assoc, 1 + SMALL_COUNT))
            await asyncio.to_thread(k.command, "send 0 1 300000 big")
            await asyncio.to_thread(k.command, f"send 1 {SMALL_COUNT} {SMALL} small")
            got = await asyncio.wait_for(reader, 60)
            for i in range(1, 4):
                assoc.send(payload("fwd", i, 100), stream=1)
            recs = await asyncio.to_thread(k.messages, "fwd", 3, 20)
            # and a fragmented one: "auto" has seen Linux's numbering, so it numbers so too
            assoc.send(payload("after", 1, AFTER), stream=2)
            await asyncio.to_thread(k.messages, "after", 1, 20)
            after = [r for r in k.proc.records() if r.get("ev") == "msg"
                     and r["head"].startswith("after-")]  # fmt: skip
            return got, [{"sid": s, "ssn": n} for s, n in recs], after

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        got, fwd, after = run(main(), timeout=120)
    big = [(s, d) for s, d in got if d.startswith(b"big-")]
    small = [(s, d) for s, d in got if d.startswith(b"small-")]
    want = payload("big", 1, BIG)
    assert [(s, len(d), sha16(d)) for s, d in big] == [(0, BIG, sha16(want))], "large message"
    assert small == [(1, payload("small", i, SMALL)) for i in range(1, SMALL_COUNT + 1)]
    # No order check this way: Linux 6.1's schedulers (RR included) serve a message whole
    # before they move to another stream, so its small ones come after the large one.
    assert [r["sid"] for r in fwd] == [1, 1, 1]
    want_after = [(2, AFTER, sha16(payload("after", 1, AFTER)))]
    assert [(r["sid"], r["len"], r["sha"]) for r in after] == want_after, after
    check_wire(pcap, kernel.transport, idata=True)
    fsns = second_fsns(pcap)
    print(f"\nFSN after B on the wire: {fsns}")
    assert fsns == {K: {0}, H: {0}}, fsns


def test_only_we_offer_idata_so_data_it_is(kernel: KernelPeer, port: int,
                                           tmp_path: Path) -> None:  # fmt: skip
    async def main() -> list[tuple[int, bytes]]:
        async with session(kernel, port, ours=True, theirs=False) as (assoc, k):
            assoc.send(payload("one", 1, 3000), stream=1)
            await asyncio.to_thread(k.messages, "one", 1, 20)
            await asyncio.to_thread(k.command, "send 1 2 3000 two")
            return await receive(assoc, 2)

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        got = run(main(), timeout=60)
    assert got == [(1, payload("two", i, 3000)) for i in (1, 2)]
    check_wire(pcap, kernel.transport, idata=False)


def test_only_the_kernel_offers_idata_so_data_it_is(kernel: KernelPeer, port: int,
                                                    tmp_path: Path) -> None:  # fmt: skip
    async def main() -> list[tuple[int, bytes]]:
        async with session(kernel, port, ours=False, theirs=True) as (assoc, k):
            assoc.send(payload("one", 1, 3000), stream=1)
            await asyncio.to_thread(k.messages, "one", 1, 20)
            await asyncio.to_thread(k.command, "send 1 2 3000 two")
            return await receive(assoc, 2)

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        got = run(main(), timeout=60)
    assert got == [(1, payload("two", i, 3000)) for i in (1, 2)]
    check_wire(pcap, kernel.transport, idata=False)


def test_kernel_abandons_and_sends_i_forward_tsn(kernel: KernelPeer, port: int,
                                                 tmp_path: Path) -> None:  # fmt: skip
    # PR-SCTP (RFC 3758) with I-DATA: messages with a 10 ms lifetime, 30 % of the VM's
    # packets towards us lost; Linux abandons the lost ones it cannot resend in time and
    # moves our cumulative TSN on with I-FORWARD-TSN (194, RFC 8260 §2.3.1), never
    # FORWARD-TSN (192). We deliver what came, in order, and acknowledge past the gap.
    count = 300

    async def main() -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
        async with session(kernel, port) as (assoc, k):
            await asyncio.to_thread(kernel.degrade, "A", "loss 30%")
            await asyncio.to_thread(k.command, f"send 1 {count} 200 pr 10")
            got: list[tuple[int, bytes]] = []
            with contextlib.suppress(TimeoutError):  # what comes within 8 s
                await asyncio.wait_for(_take(assoc, got), 8)
            await asyncio.to_thread(kernel.restore, "A")
            await asyncio.to_thread(k.command, "send 2 1 100 last")
            last = await receive(assoc, 1)
            return got, last

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        got, last = run(main(), timeout=90)
    idx = [int(d.split(b":")[0].split(b"-")[1]) for _s, d in got]
    assert 0 < len(idx) < count, len(idx)
    assert idx == sorted(idx) and len(set(idx)) == len(idx), idx  # in order, no duplicates
    assert all(d == payload("pr", i, 200) for i, (_s, d) in zip(idx, got, strict=True))
    assert last == [(2, payload("last", 1, 100))]  # the association goes on
    report = check_capture(pcap, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert report.chunk_count(I_FORWARD_TSN, src=K) > 0, chunk_names(report)
    assert report.chunk_count(FORWARD_TSN) == 0 and report.chunk_count(DATA) == 0
    fields = ["ip.src", "sctp.i_forward_tsn_tsn", "sctp.sack_cumulative_tsn_ack_raw"]
    rows = tshark_fields(pcap, fields, "sctp", (UDP_PORT,))
    ftsns = [int(f.split(",")[-1]) for src, f, _c in rows if src == K and f]
    acks = [int(c.split(",")[-1]) for src, _f, c in rows if src == H and c]
    print(f"\n{len(idx)} of {count} delivered, {len(ftsns)} I-FORWARD-TSNs from the kernel")
    # we moved past them: our last cumulative TSN ack is at or after the last New Cum TSN
    assert acks and (acks[-1] - ftsns[-1]) % (1 << 32) < 1 << 31, (ftsns[-3:], acks[-3:])


async def _take(assoc: sctpx.aio.Association, into: list[tuple[int, bytes]]) -> None:
    while True:
        m = await assoc.recv()
        into.append((m.stream, m.data))
