"""What the kernel suite's tests share: addresses, transports, the host stack, captures.

The transports the suite runs over are listed in :data:`TRANSPORTS`, here and
nowhere else: every test that takes the ``kernel`` fixture runs once per entry.
A transport string says how the host stack is made (:func:`host_stack`), how
the guest kernel is configured (:data:`GUEST_SYSCTLS`) and what the packets on
the taps must look like (:func:`assert_transport`): ``"udp"`` is SCTP over
UDP port 9899 both ways (RFC 6951), ``"ip"`` plain SCTP over IP (protocol 132).
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import sctpx
import sctpx.aio
from sctpx.testing import CaptureReport

TRANSPORTS = ["udp", "ip"]
T = TypeVar("T")

# The kvm-peer address plan (../shared/kvm-peer/config.sh): path A and path B.
HOST = {"ipv4": ("198.18.1.1", "198.18.2.1"), "ipv6": ("fd5c:7b00:1::1", "fd5c:7b00:2::1")}
GUEST = {"ipv4": ("198.18.1.2", "198.18.2.2"), "ipv6": ("fd5c:7b00:1::2", "fd5c:7b00:2::2")}
FAMILIES = ["ipv4", "ipv6"]

# SCTP over UDP (RFC 6951): the guest kernel listens on UDP 9899 (net.sctp.udp_port) and
# sends the associations it starts to UDP 9899 on the host (net.sctp.encap_port).
UDP_PORT = 9899

# Guest sysctls per transport: for raw IP the kernel must not encapsulate what it starts.
GUEST_SYSCTLS: dict[str, dict[str, str]] = {
    "udp": {"net.sctp.udp_port": str(UDP_PORT), "net.sctp.encap_port": str(UDP_PORT)},
    "ip": {"net.sctp.encap_port": "0"},
}

# Chunk types (RFC 9260 §3.2)
DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT = 0, 1, 2, 3, 4, 5, 6
SHUTDOWN, SHUTDOWN_ACK, ERROR, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE = 7, 8, 9, 10, 11, 14


# Packet capture (linux/if_ether.h, asm-generic/socket.h) and the pcap file format
ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
_PCAP_HDR = struct.Struct("=IHHiIII")  # magic, version 2.4, thiszone, sigfigs, snaplen, linktype
_REC_HDR = struct.Struct("=IIII")  # seconds, nanoseconds, captured length, original length


def host_stack(transport: str, loop: asyncio.AbstractEventLoop) -> sctpx.Stack:
    """A fresh host stack for ``transport`` on ``loop``."""
    if transport == "udp":
        return sctpx.Stack(udp_port=UDP_PORT, loop=loop)
    if transport == "ip":
        return sctpx.Stack(transport="ip", loop=loop)
    raise ValueError(f"unknown transport {transport!r}")


@contextlib.asynccontextmanager
async def stack_for(transport: str) -> AsyncIterator[sctpx.Stack]:
    """A host stack on the running loop, closed (every association on it aborted) on exit."""
    stack = host_stack(transport, asyncio.get_running_loop())
    try:
        yield stack
    finally:
        await sctpx.aio.close_stack(stack)


def check_udp_port_free(ips: Sequence[str]) -> None:
    """AssertionError if some socket already holds UDP 9899 on one of our tap addresses.

    The host stack binds exactly these (never the wildcard); a leftover stack of
    an earlier test, or any other program, would make the tests' results
    meaningless (or the stack fail with EADDRINUSE), so say so plainly.
    """
    for ip in ips:
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            try:
                s.bind((ip, UDP_PORT))
            except OSError as e:
                raise AssertionError(f"UDP {ip}:{UDP_PORT} is taken by another socket: {e}") from e


def peer_ips(addrs: Sequence[tuple[str, int]] | Sequence[tuple[Any, ...]]) -> list[str]:
    return [a[0] for a in addrs]


def unmap(ip: str) -> str:
    """'::ffff:198.18.1.1' (how an AF_INET6 kernel socket shows IPv4) -> '198.18.1.1'."""
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


def assert_transport(report: CaptureReport, transport: str) -> None:
    """Every SCTP packet on the taps went the way ``transport`` says."""
    for p in report.packets:
        if transport == "udp":
            assert (p.sport, p.dport) == (UDP_PORT, UDP_PORT), f"not SCTP/UDP 9899<->9899: {p}"
        else:
            assert (p.sport, p.dport) == (0, 0), f"not plain SCTP over IP: {p}"


def chunk_names(report: CaptureReport) -> str:
    """The capture as text, one packet a line (for assertion messages)."""
    return "\n".join(str(p) for p in report.packets[:200])


class TapCapture:
    """Every frame on the host's tap devices (the VM's two paths) into a pcap file.

    An AF_PACKET socket per tap, read by a thread and written as classic pcap
    (Ethernet, nanosecond timestamps from the kernel) that tshark decodes. Not
    dumpcap: stopped a moment after a short exchange, dumpcap here lost the
    frames still in its last, not yet retired TPACKET_V3 block (the last packets
    of a test, or all of them). A packet socket gets each frame synchronously as
    the tap sends or receives it, and :meth:`stop` reads what is queued before
    closing, so the file holds everything that crossed the taps in between.
    Frames the VM drops on a cut path are still seen here (they left the host).
    """

    def __init__(self, path: Path, taps: Sequence[str] = ("kvmpA", "kvmpB")) -> None:
        self.path = path
        self.taps = list(taps)
        self.frames = 0
        self._socks: list[socket.socket] = []
        self._file: IO[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> TapCapture:
        try:
            for tap in self.taps:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                self._socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.bind((tap, 0))
                s.setblocking(False)
        except OSError:
            self._close()
            raise
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in stop()
        self._file.write(_PCAP_HDR.pack(0xA1B23C4D, 2, 4, 0, 0, 0xFFFF, 1))  # ns, Ethernet
        self._thread = threading.Thread(target=self._loop, name="tap-capture", daemon=True)
        self._thread.start()
        return self

    def _read_all(self, s: socket.socket) -> None:
        assert self._file is not None
        while True:
            try:
                data, anc, _flags, _addr = s.recvmsg(0xFFFF, socket.CMSG_SPACE(16))
            except BlockingIOError:
                return
            ts = time.time_ns()
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(cdata) >= 16:
                    sec, nsec = struct.unpack_from("=qq", cdata)
                    ts = sec * 1_000_000_000 + nsec
            sec, nsec = divmod(ts, 1_000_000_000)
            self._file.write(_REC_HDR.pack(sec, nsec, len(data), len(data)) + data)
            self.frames += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select(self._socks, [], [], 0.05)
            for s in ready:
                self._read_all(s)

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(10)
            self._thread = None
            for s in self._socks:
                self._read_all(s)  # what arrived since the thread's last look
        self._close()

    def _close(self) -> None:
        for s in self._socks:
            s.close()
        self._socks.clear()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> TapCapture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run a test's coroutine on a fresh loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
