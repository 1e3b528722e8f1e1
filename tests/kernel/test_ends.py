"""How associations with the kernel end: ABORT from each side, SHUTDOWN from the kernel,
and ECONNREFUSED from an ABORT at set-up, in both directions."""

from __future__ import annotations

import asyncio
import errno
import time
from pathlib import Path
from typing import Any

import pytest

import sctpx.aio
from sctpx.testing import check_capture

from .support import (
    ABORT,
    FAMILIES,
    GUEST,
    HOST,
    INIT,
    SHUTDOWN,
    UDP_PORT,
    TapCapture,
    assert_transport,
    chunk_names,
    run,
    stack_for,
)
from .vm import KernelPeer

A_HOST, B_HOST = HOST["ipv4"]
A_GUEST, B_GUEST = GUEST["ipv4"]


async def _connect(kernel: KernelPeer, stack: sctpx.Stack, port: int) -> sctpx.aio.Association:
    assoc = await sctpx.aio.connectx([(A_GUEST, port), (B_GUEST, port)], local=[A_HOST, B_HOST],
                                     stack=stack, timeout=10)  # fmt: skip
    assoc.send(b"ping", stream=2, ppid=9)
    echo = await asyncio.wait_for(assoc.recv(), 10)
    assert (echo.data, echo.stream, echo.ppid) == (b"ping", 2, 9)
    return assoc


def _capture_report(pcap: Path, transport: str) -> Any:
    report = check_capture(pcap, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert_transport(report, transport)
    return report


def test_our_abort_seen_by_kernel(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    srv = kernel.server(port, [A_GUEST, B_GUEST])

    async def main() -> Any:
        async with stack_for(kernel.transport) as stack:
            assoc = await _connect(kernel, stack, port)
            assoc.abort(b"test over")
            with pytest.raises(ConnectionAbortedError):
                await asyncio.wait_for(assoc.recv(), 5)
            return assoc.end_event

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        end = run(main())
        lost = srv.wait_for(lambda r: r.get("state") == "COMM_LOST", timeout=10, what="COMM_LOST")
    assert end.state.name == "COMM_LOST" and end.error == errno.ECONNABORTED, end
    up = srv.wait_for(lambda r: r.get("state") == "COMM_UP")
    assert lost["assoc_id"] == up["assoc_id"]
    report = _capture_report(pcap, kernel.transport)
    aborts = report.select(ABORT, src=A_HOST, dst=A_GUEST)
    assert len(aborts) == 1, chunk_names(report)
    assert not report.select(ABORT, ips=[A_GUEST, B_GUEST]), chunk_names(report)  # no answer
    assert not report.select(SHUTDOWN), chunk_names(report)


def test_kernel_abort_reaches_us(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    srv = kernel.server(port, [A_GUEST, B_GUEST])

    async def main() -> dict[str, Any]:
        async with stack_for(kernel.transport) as stack:
            assoc = await _connect(kernel, stack, port)
            events: list[Any] = []

            async def collect() -> None:
                async for ev in assoc.events():
                    events.append(ev)

            etask = asyncio.create_task(collect())
            t0 = time.monotonic()
            assoc.send(b"ABORT")  # the kernel server aborts the association (SCTP_ABORT)
            with pytest.raises(ConnectionResetError) as exc:
                await asyncio.wait_for(assoc.recv(), 5)
            took = time.monotonic() - t0
            await asyncio.wait_for(etask, 5)
            with pytest.raises(ConnectionResetError):
                assoc.send(b"too late")
            return {"exc": exc.value, "took": took, "events": events, "end": assoc.end_event}

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        out = run(main())
    print(f"kernel ABORT -> ECONNRESET in {out['took'] * 1000:.0f} ms")
    assert out["exc"].errno == errno.ECONNRESET
    assert out["took"] < 1.0
    assert out["end"].state.name == "COMM_LOST" and out["end"].error == errno.ECONNRESET
    assert out["events"] and out["events"][-1] == out["end"], out["events"]
    assert srv.wait_for(lambda r: r.get("state") == "COMM_LOST")  # the kernel's own notice
    report = _capture_report(pcap, kernel.transport)
    assert len(report.select(ABORT, src=A_GUEST, dst=A_HOST)) == 1, chunk_names(report)
    assert not report.select(ABORT, ips=[A_HOST, B_HOST]), chunk_names(report)


def test_kernel_shuts_down(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    srv = kernel.server(port, [A_GUEST, B_GUEST])

    async def main() -> dict[str, Any]:
        async with stack_for(kernel.transport) as stack:
            assoc = await _connect(kernel, stack, port)
            assoc.send(b"CLOSE")  # the kernel server shuts the association down (SCTP_EOF)
            with pytest.raises(EOFError):
                await asyncio.wait_for(assoc.recv(), 5)
            with pytest.raises(BrokenPipeError):
                assoc.send(b"after the peer's SHUTDOWN")
            await asyncio.wait_for(assoc.wait_closed(), 5)
            return {"end": assoc.end_event}

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        out = run(main())
        srv.wait_for(lambda r: r.get("state") == "SHUTDOWN_COMP", what="SHUTDOWN_COMP")
    assert out["end"].state.name == "SHUTDOWN_COMP" and out["end"].error == 0, out["end"]
    report = _capture_report(pcap, kernel.transport)
    assert report.select(SHUTDOWN, src=A_GUEST), chunk_names(report)
    assert not report.select(ABORT), chunk_names(report)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("listed", [1, 2])
def test_econnrefused_from_kernel_abort(kernel: KernelPeer, port: int, family: str, listed: int,
                                        tmp_path: Path) -> None:  # fmt: skip
    """connectx to a port where nobody listens in the VM: the kernel's ABORT, ECONNREFUSED."""
    guest, host = list(GUEST[family]), list(HOST[family])

    async def main() -> dict[str, Any]:
        async with stack_for(kernel.transport) as stack:
            t0 = time.monotonic()
            with pytest.raises(ConnectionRefusedError) as exc:
                await sctpx.aio.connectx([(ip, port) for ip in guest[:listed]],
                                         local=host[:listed], stack=stack, timeout=10)  # fmt: skip
            return {"took": time.monotonic() - t0, "exc": exc.value}

    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        out = run(main())
    print(f"ECONNREFUSED ({family}, {listed} listed) in {out['took'] * 1000:.1f} ms")
    assert out["exc"].errno == errno.ECONNREFUSED
    assert out["took"] < 0.5, out["took"]
    report = _capture_report(pcap, kernel.transport)
    text = chunk_names(report)
    inits = report.select(INIT, src=host[0], dst=guest[0])
    aborts = report.select(ABORT, src=guest[0], dst=host[0])
    assert len(inits) == 1 and len(aborts) == 1, text
    assert aborts[0].time > inits[0].time, text
    # one ABORT ends the set-up: no INIT to the second address after it
    assert not [p for p in report.select(INIT) if p.time > aborts[0].time], text


async def _never(assoc: sctpx.aio.Association) -> None:
    raise AssertionError(f"nobody should reach this server: {assoc}")


@pytest.mark.parametrize("family", FAMILIES)
def test_kernel_refused_by_us(kernel: KernelPeer, port: int, family: str) -> None:
    """The kernel's sctp_connectx to a port where nobody listens on our stack: our ABORT
    makes it ECONNREFUSED."""
    guest, host = list(GUEST[family]), list(HOST[family])

    async def main() -> dict[str, Any]:
        async with stack_for(kernel.transport) as stack:
            # something must hold our addresses on this stack; it listens on another port
            server = await sctpx.aio.start_server(_never, host, port + 500, stack=stack)
            try:
                result: dict[str, Any] = await asyncio.to_thread(
                    kernel.client, host, port, bind=guest, count=1, timeout=10)
            finally:
                server.close()
            return result

    result = run(main())
    print(f"kernel connectx refused: {result}")
    assert result.get("error", {}).get("name") == "ECONNREFUSED", result
    assert "connect_s" not in result and result["failed_after_s"] < 0.5, result  # at once
