"""Set-up, data both ways and the graceful end, in both directions, IPv4 and IPv6.

* our ``connectx`` (both of the VM's addresses listed) to the kernel's server;
* the kernel's ``sctp_connectx`` (both of our addresses listed) to our server.

tshark checks every packet on both taps: SCTP it decodes, CRC32c good, nothing
malformed, the handshake and the end each side should have sent.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import sctpx.aio
from sctpx.testing import check_capture

from .support import (
    COOKIE_ACK,
    COOKIE_ECHO,
    DATA,
    FAMILIES,
    GUEST,
    HOST,
    INIT,
    INIT_ACK,
    SACK,
    SHUTDOWN,
    SHUTDOWN_ACK,
    SHUTDOWN_COMPLETE,
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

# (size, stream, ppid): small, one full packet, fragmented in two and in many DATA chunks;
# PPIDs whose bytes differ, so that a byte-order slip shows; two messages per stream. (No
# PPID that IANA gave a protocol: tshark would decode our bytes as it and call them malformed.)
MESSAGES = [
    (1, 0, 0), (100, 1, 0x12345678), (1200, 2, 51), (3000, 3, 0x01020304),
    (20000, 4, 0xFFFFFFFF), (7, 0, 0x00010000), (1500, 1, 0xDEADBEEF), (64, 9, 0x80000000),
    (9000, 9, 51), (400, 5, 0x7F000001),
]  # fmt: skip


def payload(i: int, size: int) -> bytes:
    return (f"msg-{i:03d}:".encode() * (size // 8 + 1))[:size]


def assert_capture(path: Path, transport: str, initiator: str, responder: str,
                   closer: str) -> None:  # fmt: skip
    """The handshake went initiator -> responder, data both ways, ``closer`` shut down."""
    report = check_capture(path, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert_transport(report, transport)
    text = chunk_names(report)
    i, r = initiator, responder
    for chunk, src, dst in [(INIT, i, r), (INIT_ACK, r, i), (COOKIE_ECHO, i, r), (COOKIE_ACK, r, i),
                            (DATA, i, r), (DATA, r, i), (SACK, i, r), (SACK, r, i)]:  # fmt: skip
        assert report.chunk_count(chunk, src=src, dst=dst), f"no {chunk} {src}->{dst}:\n{text}"
    # the end: one side's SHUTDOWN, the other's SHUTDOWN ACK, then SHUTDOWN COMPLETE
    ends = [(p.src, c) for p in report.packets for c in p.chunks
            if c in (SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE)]  # fmt: skip
    assert ends and ends[0] == (closer, SHUTDOWN), f"no graceful end from {closer}:\n{text}"
    assert any(c == SHUTDOWN_ACK and s != closer for s, c in ends), text
    assert any(c == SHUTDOWN_COMPLETE and s == closer for s, c in ends), text


@pytest.mark.parametrize("family", FAMILIES)
def test_connectx_to_kernel_server(kernel: KernelPeer, port: int, family: str,
                                   tmp_path: Path) -> None:  # fmt: skip
    guest, host = list(GUEST[family]), list(HOST[family])
    srv = kernel.server(port, guest)

    async def main() -> dict[str, Any]:
        async with stack_for(kernel.transport) as stack:
            assoc = await sctpx.aio.connectx([(ip, port) for ip in guest], local=host,
                                             stack=stack, timeout=10)  # fmt: skip
            out: dict[str, Any] = {
                "peers": peer_ips(assoc.peer_addresses), "local": peer_ips(assoc.local_addresses),
                "streams": (assoc.outbound_streams, assoc.inbound_streams),
            }  # fmt: skip
            for i, (size, stream, ppid) in enumerate(MESSAGES):
                assoc.send(payload(i, size), stream=stream, ppid=ppid)
            out["echoes"] = [await asyncio.wait_for(assoc.recv(), 10) for _ in MESSAGES]
            assoc.send(b"STATUS")  # the kernel server answers with its view of our addresses
            out["status"] = json.loads((await asyncio.wait_for(assoc.recv(), 10)).data)
            out["paths"] = assoc.paths()
            await assoc.close(timeout=10)
            out["end"] = assoc.end_event
            return out

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        out = run(main())
        shut = srv.wait_for(lambda r: r.get("state") == "SHUTDOWN_COMP", what="SHUTDOWN_COMP")

    assert out["peers"] == guest  # both listed addresses are in the association, in order
    assert sorted(out["local"]) == sorted(host)
    assert out["streams"] == (10, 10)  # we ask for 10, the kernel offers 10
    assert all(p.confirmed for p in out["paths"]), out["paths"]  # listed = confirmed
    assert sorted(unmap(ip) for ip in out["status"]["peer_addrs"]) == sorted(host)
    # every echo whole, with its stream and PPID; in order within each stream
    sent = [(payload(i, size), stream, ppid) for i, (size, stream, ppid) in enumerate(MESSAGES)]
    got = [(m.data, m.stream, m.ppid) for m in out["echoes"]]
    assert sorted(got) == sorted(sent)
    for s in {stream for _, stream, _ in MESSAGES}:
        assert [g for g in got if g[1] == s] == [x for x in sent if x[1] == s], f"stream {s}"
    assert all(m.complete and not m.unordered for m in out["echoes"])
    assert out["end"] is not None and out["end"].state.name == "SHUTDOWN_COMP", out["end"]
    # the kernel's view: one association, each message with the stream and PPID we gave
    recs = srv.records()
    ups = [r for r in recs if r.get("state") == "COMM_UP"]
    assert len(ups) == 1 and ups[0]["ostreams"] == 10 and ups[0]["istreams"] == 10, recs
    assert ups[0]["assoc_id"] == shut["assoc_id"]
    msgs = [(r["len"], r["stream"], r["ppid"]) for r in recs if r.get("ev") == "msg"]
    assert msgs[:-1] == [(size, stream, ppid) for size, stream, ppid in MESSAGES]
    assert msgs[-1] == (6, 0, 0)  # STATUS
    assert_capture(pcap, kernel.transport, host[0], guest[0], closer=host[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_kernel_connectx_to_our_server(kernel: KernelPeer, port: int, family: str,
                                       tmp_path: Path) -> None:  # fmt: skip
    guest, host = list(GUEST[family]), list(HOST[family])
    count, size, stream, ppid = 20, 2000, 3, 51  # 2000 bytes: two DATA chunks each way

    async def main() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        seen: list[dict[str, Any]] = []
        done = asyncio.Event()

        async def echo(assoc: sctpx.aio.Association) -> None:
            info: dict[str, Any] = {"peers": peer_ips(assoc.peer_addresses), "msgs": []}
            seen.append(info)
            try:
                async for m in assoc:
                    info["msgs"].append((len(m.data), m.stream, m.ppid, m.complete))
                    assoc.send(m.data, stream=m.stream, ppid=m.ppid)
                info["end"] = "eof"  # at the peer's SHUTDOWN
                await asyncio.wait_for(assoc.wait_closed(), 10)  # then SHUTDOWN_COMP
            except (OSError, TimeoutError) as e:
                info["end"] = repr(e)
            finally:
                info["end_event"] = assoc.end_event
                done.set()

        async with stack_for(kernel.transport) as stack:
            server = await sctpx.aio.start_server(echo, host, port, stack=stack)
            result = await asyncio.to_thread(kernel.client, host, port, bind=guest, count=count,
                                             size=size, stream=stream, ppid=ppid)  # fmt: skip
            await asyncio.wait_for(done.wait(), 10)
            server.close()
            await asyncio.wait_for(server.wait_closed(), 10)
        return result, seen

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        result, seen = run(main())

    assert "error" not in result, result
    assert result["assoc_id"] > 0 and result.get("closed"), result
    assert sorted(unmap(ip) for ip in result["peer_addrs"]) == sorted(host)  # our INIT ACK's
    assert result["echoes"] == [{"ok": True, "len": size, "stream": stream, "ppid": ppid}] * count
    assert len(seen) == 1, seen
    assert sorted(seen[0]["peers"]) == sorted(guest)  # from the kernel's INIT
    assert seen[0]["msgs"] == [(size, stream, ppid, True)] * count
    assert seen[0]["end"] == "eof", seen[0]  # the kernel's SHUTDOWN
    assert seen[0]["end_event"].state.name == "SHUTDOWN_COMP"
    assert_capture(pcap, kernel.transport, guest[0], host[0], closer=guest[0])
