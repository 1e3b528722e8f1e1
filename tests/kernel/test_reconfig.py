"""Stream reconfiguration (RFC 6525) with Linux's SCTP in the VM: every request type, both ways.

The guest runs guest/kreconf.py: a kernel one-to-one server with RE-CONFIG on
(``net.sctp.reconf_enable=1``, SCTP_RECONFIG_SUPPORTED, SCTP_ENABLE_STREAM_RESET),
commands through a named pipe, every notification as a JSON line. Our side connects
to it with sctpx.aio and ``Config(stream_reset=...)``.

Each case, once per transport: three messages each way on stream 1, the request from
one side (ours: ``reset_streams``, ``add_streams``, ``reset_assoc``; the kernel's:
SCTP_RESET_STREAMS, SCTP_ADD_STREAMS, SCTP_RESET_ASSOC), the notification on both sides,
three messages each way after it, with the stream sequence numbers the request gives;
tshark on the taps shows the RE-CONFIG chunk (130) with the request's parameter type
one way and the response (16) with its result the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shlex
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sctpx.aio
from sctpx.core import Config
from sctpx.testing import check_capture, tshark_fields

from .support import GUEST, HOST, UDP_PORT, TapCapture, assert_transport, run, stack_for
from .vm import GUEST_DIR, GuestProcess, KernelPeer

RECONFIG = 130
OUT_REQ, IN_REQ, TSN_REQ, RESPONSE, ADD_OUT, ADD_IN = 13, 14, 15, 16, 17, 18
PERFORMED, DENIED = 1, 2
INCOMING_SSN, OUTGOING_SSN, RESET_DENIED = 0x1, 0x2, 0x4
CHANGE_DENIED = 0x4
ALL = 7  # SCTP_ENABLE_STREAM_RESET: stream resets, association resets, adding streams
STREAMS = 10  # both sides' outbound streams
SID = 1
RESET = (1, 2)  # the streams a reset names
WAIT = 10.0
# The guest sysctls these tests need (restored after each test by KernelPeer.reset)
RECONF_SYSCTLS = {"net.sctp.reconf_enable": "1"}

_FIFOS = itertools.count(1)


# ----- the kernel's side -----


class KernelReconf:
    """guest/kreconf.py in the VM: commands through its named pipe, JSON events back."""

    def __init__(self, kernel: KernelPeer, port: int, bind: list[str], enable: int = ALL,
                 extra: str = "") -> None:  # fmt: skip
        self.kernel = kernel
        self.fifo = f"/tmp/sctpx-kreconf-{port}-{next(_FIFOS)}.cmd"
        kernel.vm.run(f"rm -f {self.fifo}; mkfifo {self.fifo}", timeout=10, check=True)
        self.proc: GuestProcess = kernel.spawn(
            f"python3 {GUEST_DIR}/kreconf.py -p {port} -b {','.join(bind)} --cmd {self.fifo} "
            f"--enable {enable} {extra}")  # fmt: skip
        self.proc.wait_for(lambda r: r.get("ev") == "listening", timeout=20, what="'listening'")
        self._done = 0

    def command(self, line: str, timeout: float = WAIT) -> dict[str, Any]:
        """Send one command; the ok/err record it produced."""
        self.kernel.vm.run(f"echo {shlex.quote(line)} > {self.fifo}", timeout=10, check=True)
        want = self._done + 1
        deadline = time.monotonic() + timeout
        while True:
            done = [r for r in self.proc.records() if r.get("ev") in ("ok", "err")]
            if len(done) >= want:
                self._done = want
                return done[want - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"kreconf: no outcome of {line!r}; log:\n{self.proc.log()}")
            time.sleep(0.1)

    def wait(self, pred: Callable[[dict[str, Any]], bool], what: str,
             timeout: float = WAIT) -> dict[str, Any]:  # fmt: skip
        return self.proc.wait_for(pred, timeout=timeout, what=what)

    def messages(self, tag: str, count: int, timeout: float = WAIT) -> list[tuple[int, int]]:
        """(stream, SSN) of the ``count`` messages tagged ``tag`` it received, in order."""
        deadline = time.monotonic() + timeout
        while True:
            got = [(r["sid"], r["ssn"]) for r in self.proc.records()
                   if r.get("ev") == "msg" and r["head"].startswith(tag + "-")]  # fmt: skip
            if len(got) >= count or time.monotonic() > deadline:
                assert len(got) == count, f"{len(got)} of {count} {tag!r}:\n{self.proc.log()}"
                return got
            time.sleep(0.1)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kernel.vm.run(f"rm -f {self.fifo}", timeout=10)


# ----- our side -----


@dataclass
class Host:
    assoc: sctpx.aio.Association
    k: KernelReconf
    events: list[Any] = field(default_factory=list)
    _sig: asyncio.Event = field(default_factory=asyncio.Event)

    async def collect(self) -> None:
        async for ev in self.assoc.events():
            self.events.append(ev)
            self._sig.set()

    async def event(self, type_name: str, timeout: float = WAIT) -> Any:
        """The first notification of that type (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if type(ev).__name__ == type_name:
                    return ev
            left = deadline - time.monotonic()
            assert left > 0, f"no {type_name} here; events: {self.events}"
            self._sig.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sig.wait(), left)

    async def kcmd(self, line: str) -> dict[str, Any]:
        rec: dict[str, Any] = await asyncio.to_thread(self.k.command, line)
        return rec

    async def kwait(self, pred: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        rec: dict[str, Any] = await asyncio.to_thread(self.k.wait, pred, what)
        return rec

    async def send(self, tag: str, count: int, sid: int = SID) -> list[tuple[int, int]]:
        """We send ``count`` messages on ``sid``; (stream, SSN) of each at the kernel."""
        for i in range(count):
            self.assoc.send(f"{tag}-{i:06d}:sctpx".encode(), stream=sid)
        got: list[tuple[int, int]] = await asyncio.to_thread(self.k.messages, tag, count)
        return got

    async def receive(self, tag: str, count: int, sid: int = SID) -> list[tuple[int, int]]:
        """The kernel sends ``count`` messages on ``sid``; (stream, SSN) of each here."""
        rec = await self.kcmd(f"send {sid} {count} 60 {tag}")
        assert rec["ev"] == "ok", rec
        got = []
        for i in range(1, count + 1):
            m = await asyncio.wait_for(self.assoc.recv(), WAIT)
            assert m.data.split(b":")[0] == f"{tag}-{i:06d}".encode(), m
            got.append((m.stream, m.ssn))
        return got


@contextlib.asynccontextmanager
async def session(kernel: KernelPeer, port: int, *, host_enable: int = ALL,
                  kernel_enable: int = ALL) -> AsyncIterator[Host]:  # fmt: skip
    """The kernel's kreconf server and our association to it (IPv4, path A)."""
    for name, value in RECONF_SYSCTLS.items():
        kernel.set_sysctl(name, value)
    guest, host = GUEST["ipv4"][0], HOST["ipv4"][0]
    k = await asyncio.to_thread(KernelReconf, kernel, port, [guest], kernel_enable)
    try:
        async with stack_for(kernel.transport) as stack:
            assoc = await sctpx.aio.connectx([(guest, port)], local=[host], stack=stack,
                                             timeout=10, config=Config(stream_reset=host_enable))
            h = Host(assoc, k)
            task = asyncio.ensure_future(h.collect())
            up = await h.kwait(lambda r: r.get("ev") == "up", "COMM_UP")
            assert (up["istreams"], up["ostreams"]) == (STREAMS, STREAMS), up
            try:
                yield h
            finally:
                with contextlib.suppress(OSError, TimeoutError):
                    await assoc.close(timeout=5)
                task.cancel()
    finally:
        k.close()


def grown(direction: str) -> tuple[Callable[[dict[str, Any]], bool], str]:
    """A wait for the kernel's stream change that leaves it 5 more ``direction`` streams."""
    key = f"total_{direction}"
    return (lambda r: r.get("ev") == "stream_change" and r["flags"] == 0
            and r[key] == STREAMS + 5), f"stream_change {key}={STREAMS + 5}"  # fmt: skip


def ssns(got: list[tuple[int, int]]) -> list[int]:
    return [ssn for _sid, ssn in got]


def reconfig_sent(pcap: Path, transport: str) -> dict[str, tuple[set[int], set[int]]]:
    """Check the capture (clean, right transport); per source: (parameter types, results)
    of its RE-CONFIG chunks."""
    report = check_capture(pcap, udp_ports=[UDP_PORT])
    report.assert_clean()
    assert_transport(report, transport)
    rows = tshark_fields(pcap, ["ip.src", "sctp.parameter_type",
                                "sctp.parameter_reconfig_response_result"],
                         f"sctp.chunk_type == {RECONFIG}", (UDP_PORT,))  # fmt: skip
    out: dict[str, tuple[set[int], set[int]]] = {}
    for src, types, results in rows:
        t, r = out.setdefault(src, (set(), set()))
        t.update(int(x, 16) for x in types.split(",") if x)
        r.update(int(x) for x in results.split(",") if x)
    return out


H, K = HOST["ipv4"][0], GUEST["ipv4"][0]


def captured(kernel: KernelPeer, tmp_path: Path, coro: Any) -> dict[str, tuple[set[int], set[int]]]:
    pcap = tmp_path / "taps.pcapng"
    with TapCapture(pcap):
        run(coro, timeout=90)
    return reconfig_sent(pcap, kernel.transport)


# ----- outgoing SSN reset (RFC 6525 §5.1.2, §5.2.2) -----


def test_we_reset_our_outgoing_streams(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port) as h:
            assert ssns(await h.send("before", 3)) == [0, 1, 2]
            assert ssns(await h.receive("back1", 2)) == [0, 1]
            h.assoc.reset_streams(RESET, outgoing=True)
            ev = await h.event("StreamResetEvent")
            assert (ev.flags, ev.streams) == (OUTGOING_SSN, RESET), ev
            await h.kwait(lambda r: r.get("ev") == "stream_reset" and r["flags"] == INCOMING_SSN
                          and r["streams"] == list(RESET), "stream_reset INCOMING_SSN")
            assert ssns(await h.send("after", 3)) == [0, 1, 2]
            assert ssns(await h.receive("back2", 2)) == [2, 3]

    sent = captured(kernel, tmp_path, main())
    assert OUT_REQ in sent[H][0] and sent[K] == ({RESPONSE}, {PERFORMED}), sent


def test_kernel_resets_its_outgoing_streams(kernel: KernelPeer, port: int,
                                            tmp_path: Path) -> None:  # fmt: skip
    async def main() -> None:
        async with session(kernel, port) as h:
            assert ssns(await h.receive("before", 3)) == [0, 1, 2]
            assert ssns(await h.send("fwd1", 2)) == [0, 1]
            assert (await h.kcmd("reset out 1 2"))["ev"] == "ok"
            ev = await h.event("StreamResetEvent")
            assert (ev.flags, ev.streams) == (INCOMING_SSN, RESET), ev
            await h.kwait(lambda r: r.get("ev") == "stream_reset" and r["flags"] == OUTGOING_SSN,
                          "stream_reset OUTGOING_SSN")  # fmt: skip
            assert ssns(await h.receive("after", 3)) == [0, 1, 2]
            assert ssns(await h.send("fwd2", 2)) == [2, 3]

    sent = captured(kernel, tmp_path, main())
    assert OUT_REQ in sent[K][0] and sent[H] == ({RESPONSE}, {PERFORMED}), sent


# ----- incoming SSN reset (§5.1.3, §5.2.3) -----


def test_we_ask_the_kernel_to_reset_its_outgoing_streams(kernel: KernelPeer, port: int,
                                                         tmp_path: Path) -> None:  # fmt: skip
    async def main() -> None:
        async with session(kernel, port) as h:
            assert ssns(await h.receive("before", 3)) == [0, 1, 2]
            h.assoc.reset_streams(RESET, outgoing=False, incoming=True)
            ev = await h.event("StreamResetEvent")
            assert (ev.flags, ev.streams) == (INCOMING_SSN, RESET), ev
            await h.kwait(lambda r: r.get("ev") == "stream_reset" and r["flags"] == OUTGOING_SSN,
                          "stream_reset OUTGOING_SSN")  # fmt: skip
            assert ssns(await h.receive("after", 3)) == [0, 1, 2]
            assert ssns(await h.send("fwd", 2)) == [0, 1]

    sent = captured(kernel, tmp_path, main())
    assert IN_REQ in sent[H][0] and OUT_REQ in sent[K][0], sent
    assert RESPONSE in sent[H][0] and sent[H][1] == {PERFORMED}, sent


def test_kernel_asks_us_to_reset_our_outgoing_streams(kernel: KernelPeer, port: int,
                                                      tmp_path: Path) -> None:  # fmt: skip
    async def main() -> None:
        async with session(kernel, port) as h:
            assert ssns(await h.send("before", 3)) == [0, 1, 2]
            assert (await h.kcmd("reset in 1 2"))["ev"] == "ok"
            ev = await h.event("StreamResetEvent")
            assert (ev.flags, ev.streams) == (OUTGOING_SSN, RESET), ev
            await h.kwait(lambda r: r.get("ev") == "stream_reset" and r["flags"] == INCOMING_SSN,
                          "stream_reset INCOMING_SSN")  # fmt: skip
            assert ssns(await h.send("after", 3)) == [0, 1, 2]
            assert ssns(await h.receive("back", 2)) == [0, 1]

    sent = captured(kernel, tmp_path, main())
    assert IN_REQ in sent[K][0] and OUT_REQ in sent[H][0], sent
    assert RESPONSE in sent[K][0] and sent[K][1] == {PERFORMED}, sent


# ----- add outgoing streams (§5.1.5, §5.2.5) -----


def test_we_add_outgoing_streams(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port) as h:
            h.assoc.add_streams(5)
            ev = await h.event("StreamChangeEvent")
            assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, 10, 15), ev
            assert h.assoc.outbound_streams == STREAMS + 5
            await h.kwait(*grown("in"))
            assert await h.send("new", 3, sid=STREAMS + 4) == [(14, 0), (14, 1), (14, 2)]

    sent = captured(kernel, tmp_path, main())
    assert sent[H][0] == {ADD_OUT} and sent[K] == ({RESPONSE}, {PERFORMED}), sent


def test_kernel_adds_outgoing_streams(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port) as h:
            assert (await h.kcmd("add out 5"))["ev"] == "ok"
            ev = await h.event("StreamChangeEvent")
            assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, 15, 10), ev
            await h.kwait(*grown("out"))
            assert await h.receive("new", 3, sid=STREAMS + 4) == [(14, 0), (14, 1), (14, 2)]

    sent = captured(kernel, tmp_path, main())
    assert sent[K][0] == {ADD_OUT} and sent[H] == ({RESPONSE}, {PERFORMED}), sent


# ----- add incoming streams (§5.1.6, §5.2.6): answered with an Add Outgoing Streams Request --


def test_we_ask_the_kernel_to_add_streams(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port) as h:
            h.assoc.add_streams(0, 5)
            ev = await h.event("StreamChangeEvent")
            assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, 15, 10), ev
            await h.kwait(*grown("out"))
            assert await h.receive("new", 3, sid=STREAMS + 4) == [(14, 0), (14, 1), (14, 2)]

    sent = captured(kernel, tmp_path, main())
    assert ADD_IN in sent[H][0] and ADD_OUT in sent[K][0], sent


def test_kernel_asks_us_to_add_streams(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port) as h:
            assert (await h.kcmd("add in 5"))["ev"] == "ok"
            ev = await h.event("StreamChangeEvent")
            assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, 10, 15), ev
            await h.kwait(*grown("in"))
            assert await h.send("new", 3, sid=STREAMS + 4) == [(14, 0), (14, 1), (14, 2)]

    sent = captured(kernel, tmp_path, main())
    assert ADD_IN in sent[K][0] and ADD_OUT in sent[H][0], sent


# ----- SSN/TSN reset (§5.1.4, §5.2.4) -----


def test_we_reset_the_association(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port) as h:
            assert ssns(await h.send("before", 3)) == [0, 1, 2]
            assert ssns(await h.receive("back1", 2)) == [0, 1]
            h.assoc.reset_assoc()
            ev = await h.event("AssocResetEvent")
            assert ev.flags == 0, ev
            await h.kwait(lambda r: r.get("ev") == "assoc_reset" and r["flags"] == 0,
                          "assoc_reset")  # fmt: skip
            assert ssns(await h.send("after", 3)) == [0, 1, 2]
            assert ssns(await h.receive("back2", 2)) == [0, 1]

    sent = captured(kernel, tmp_path, main())
    assert sent[H][0] == {TSN_REQ} and sent[K][0] == {RESPONSE}, sent
    # Linux says "In progress" (6) while data of its own is unacknowledged, then "Performed"
    assert PERFORMED in sent[K][1] and sent[K][1] <= {PERFORMED, 6}, sent


def test_kernel_resets_the_association(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port) as h:
            assert ssns(await h.receive("before", 3)) == [0, 1, 2]
            assert ssns(await h.send("fwd1", 2)) == [0, 1]
            assert (await h.kcmd("assoc"))["ev"] == "ok"
            ev = await h.event("AssocResetEvent")
            assert ev.flags == 0, ev
            await h.kwait(lambda r: r.get("ev") == "assoc_reset" and r["flags"] == 0,
                          "assoc_reset")  # fmt: skip
            assert ssns(await h.receive("after", 3)) == [0, 1, 2]
            assert ssns(await h.send("fwd2", 2)) == [0, 1]

    sent = captured(kernel, tmp_path, main())
    assert sent[K][0] == {TSN_REQ} and sent[H] == ({RESPONSE}, {PERFORMED}), sent


# ----- denied when the answering side did not enable it (RFC 6525 §6.3.1) -----


def test_kernel_denies_what_it_did_not_enable(kernel: KernelPeer, port: int,
                                              tmp_path: Path) -> None:  # fmt: skip
    async def main() -> None:
        async with session(kernel, port, kernel_enable=0) as h:
            assert ssns(await h.send("before", 2)) == [0, 1]
            h.assoc.reset_streams(RESET, outgoing=True)
            ev = await h.event("StreamResetEvent")
            assert ev.flags == OUTGOING_SSN | RESET_DENIED, ev
            assert ssns(await h.send("after", 2)) == [2, 3]  # nothing was reset
            h.events.clear()
            h.assoc.add_streams(5)
            ev = await h.event("StreamChangeEvent")
            assert (ev.flags, ev.outbound_streams) == (CHANGE_DENIED, STREAMS), ev
            assert h.assoc.outbound_streams == STREAMS
            recs = h.k.proc.records()
            assert not [r for r in recs if r.get("ev") in ("stream_reset", "stream_change")], recs

    sent = captured(kernel, tmp_path, main())
    assert sent[H][0] == {OUT_REQ, ADD_OUT} and sent[K] == ({RESPONSE}, {DENIED}), sent


def test_we_deny_what_we_did_not_enable(kernel: KernelPeer, port: int, tmp_path: Path) -> None:
    async def main() -> None:
        async with session(kernel, port, host_enable=0) as h:  # the RFC 6525 default: 0
            assert ssns(await h.receive("before", 2)) == [0, 1]
            assert (await h.kcmd("reset out 1 2"))["ev"] == "ok"
            await h.kwait(lambda r: r.get("ev") == "stream_reset"
                          and r["flags"] == OUTGOING_SSN | RESET_DENIED, "denied reset")
            assert ssns(await h.receive("after", 2)) == [2, 3]
            assert (await h.kcmd("add out 5"))["ev"] == "ok"
            await h.kwait(lambda r: r.get("ev") == "stream_change"
                          and r["flags"] == CHANGE_DENIED, "denied stream change")
            assert not [e for e in h.events
                        if type(e).__name__ in ("StreamResetEvent", "StreamChangeEvent")]

    sent = captured(kernel, tmp_path, main())
    assert sent[K][0] == {OUT_REQ, ADD_OUT} and sent[H] == ({RESPONSE}, {DENIED}), sent
