"""What the Stack sends and receives SCTP packets through: a *transport*.

A transport opens sockets for the stack's local addresses, sends an SCTP packet
from a given source address to a given destination, and hands up what arrives:
SCTP packets and ICMP errors about packets it sent. It knows nothing of SCTP
beyond the common header's length. Two exist:

* :class:`~sctpx.net.udp.UdpTransport`: SCTP over UDP (RFC 6951), one UDP socket
  per local address on one encapsulation port, no privileges;
* :class:`~sctpx.net.rawip.IpTransport`: SCTP directly over IP (protocol 132), one
  raw socket per local address, CAP_NET_RAW.

Both keep one socket per local address, bound to it (never the wildcard), so a
packet leaves from exactly the address its path chose, and the kernel gives each
socket only what was sent to its address. :class:`SocketTransport` holds what the
two share: the sockets and their users, the reader callbacks (every ready packet
per wake-up, then the error queue), ``sendto`` and its errors. A subclass says how
to open a socket, how to read a received datagram, and where a packet is sent.

The stack is the transport's :class:`Sink`: it runs each wake-up as a batch,
demultiplexes what arrives, and counts in its ``stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar, Protocol

from ..core.types import Addr, UnreachableKind
from . import icmp
from .hooks import StackStats

log = logging.getLogger("sctpx.net")

# Reading stops after this many datagrams per wake-up so that other sockets and
# timers get their turn; the rest is read at the next turn of the loop.
MAX_READ_PER_WAKEUP = 1024
MAX_DATAGRAM = 65535
_LOCAL_UNREACH = {errno.ENETUNREACH: UnreachableKind.NET, errno.EHOSTUNREACH: UnreachableKind.HOST}


def family_of(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


class Sink(Protocol):
    """What a transport hands its packets to (the Stack)."""

    stats: StackStats
    _holes: set[str]

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def _batch(self) -> contextlib.AbstractContextManager[bool]: ...

    def _deliver(self, data: bytes, src: Addr, dst: Addr) -> None: ...

    def _icmp(self, dst: Addr, kind: UnreachableKind, quoted: bytes) -> None: ...

    def _local_unreachable(self, dst: Addr, kind: UnreachableKind, data: bytes) -> None: ...


class AddrSocket:
    """One non-blocking socket bound to one local address, with ICMP errors queued."""

    __slots__ = ("error_pending", "family", "gro", "gso", "ip", "port", "sock", "users")

    def __init__(self, ip: str, sock: socket.socket, port: int) -> None:
        self.ip = ip
        self.family = family_of(ip)
        self.sock = sock
        self.port = port  # the local UDP port; 0 for raw IP
        self.users = 0  # endpoints using this address
        self.error_pending = False  # a read or send reported an error: read the error queue
        self.gso = False  # UDP_SEGMENT: a run of equal packets in one sendmsg (net/udp.py)
        self.gro = False  # UDP_GRO: reads may return a run of packets (net/udp.py)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.ip} port {self.port} users={self.users}>"


def ask_for_errors(sock: socket.socket, family: socket.AddressFamily) -> None:
    """Queue ICMP errors about what ``sock`` sends (``IP_RECVERR`` / ``IPV6_RECVERR``)."""
    if family == socket.AF_INET6:
        sock.setsockopt(icmp.SOL_IPV6, icmp.IPV6_RECVERR, 1)
    else:
        sock.setsockopt(icmp.SOL_IP, icmp.IP_RECVERR, 1)


class SocketTransport(ABC):
    """Per-address sockets on the stack's loop; subclasses open and parse them."""

    name: ClassVar[str]
    plain: ClassVar[bool] = False  # a received datagram is the SCTP packet, as sent (UDP)
    runs = False  # send_run() may send runs of packets in one system call (UDP offload)

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self.socks: dict[str, AddrSocket] = {}  # by local IP
        self._warned: set[int] = set()  # errnos of sendto already logged

    # ----- what a subclass provides

    @property
    @abstractmethod
    def port(self) -> int:
        """The local UDP port (0 for SCTP directly over IP)."""

    @abstractmethod
    def _make_socket(self, ip: str) -> AddrSocket:
        """Open and bind a socket for ``ip``; OSError (EADDRNOTAVAIL ...) propagates."""

    @abstractmethod
    def _parse(self, us: AddrSocket, data: bytes, addr: tuple[str, int]) -> tuple[bytes, Addr]:
        """The SCTP packet in a received datagram and its source ``(ip, udp_port)``."""

    def reserve(self, port: int, ips: list[str]) -> object:
        """Claim SCTP ``port`` on ``ips`` beyond this stack (EADDRINUSE); a handle to release."""
        return None

    def release(self, handle: object) -> None:  # noqa: B027 - most transports claim nothing
        """Give back what :meth:`reserve` claimed."""

    def served_elsewhere(self, ip: str, port: int) -> bool:
        """Another stack serves SCTP ``port`` on ``ip`` and gets the same packets as we do."""
        return False

    # ----- the sockets

    def open(self, ips: list[str]) -> None:
        """Sockets for every address of ``ips`` not served yet, one more user for each.

        Nothing stays open when one of them fails.
        """
        opened: list[AddrSocket] = []
        try:
            for ip in ips:
                if ip not in self.socks and all(u.ip != ip for u in opened):
                    opened.append(self._make_socket(ip))
        except BaseException:
            for us in opened:
                us.close()
            raise
        for us in opened:
            self.socks[us.ip] = us
            self._sink.loop.add_reader(us.fileno(), self._on_readable, us)
        for ip in ips:
            self.socks[ip].users += 1

    def release_addresses(self, ips: list[str]) -> None:
        """One user fewer for each address; close the sockets no one uses."""
        for ip in ips:
            us = self.socks.get(ip)
            if us is None:
                continue
            us.users -= 1
            if us.users <= 0:
                self._close_socket(us)

    def close(self) -> None:
        for us in list(self.socks.values()):
            self._close_socket(us)

    def _close_socket(self, us: AddrSocket) -> None:
        self.socks.pop(us.ip, None)
        with contextlib.suppress(Exception):
            self._sink.loop.remove_reader(us.fileno())
        us.close()

    # ----- sending

    def _target(self, dst: Addr) -> tuple[str, int]:
        return (dst[0], dst[1])

    def send(self, data: bytes, src_ip: str, dst: Addr) -> str | None:
        """Send ``data`` from the socket of ``src_ip``; the source IP it left from, or None."""
        stats = self._sink.stats
        us = self.socks.get(src_ip)
        if us is None:
            us = self._fallback_socket(src_ip)
            if us is None:
                stats.no_socket += 1
                return None
            stats.wrong_source += 1
        if self._sink._holes and us.ip in self._sink._holes:
            stats.blackholed += 1  # blackhole(): the datagram vanishes
            return None
        target = self._target(dst)
        for attempt in (1, 2):
            try:
                us.sock.sendto(data, target)
                return us.ip
            except ConnectionRefusedError:
                # IP_RECVERR: an earlier ICMP error is reported by (and cleared in) this
                # call, and nothing was sent; its details wait in the error queue, which
                # the reader drains. Send once more.
                us.error_pending = True
                if attempt == 2:
                    stats.send_errors += 1
            except (BlockingIOError, InterruptedError):
                stats.send_dropped += 1  # a full send buffer is a lost packet (§6.3.3)
                return None
            except OSError as exc:
                stats.send_errors += 1
                kind = _LOCAL_UNREACH.get(exc.errno or 0)
                if kind is not None:  # no route: as good as an ICMP unreachable
                    self._sink._local_unreachable((dst[0], dst[1]), kind, data)
                elif exc.errno not in self._warned:  # e.g. EINVAL for UDP port 0: say it once
                    self._warned.add(exc.errno or 0)
                    log.warning("sctpx: sendto %s from %s failed: %s", target, us.ip, exc)
                return None
        return None

    def send_run(self, run: list[bytes], src_ip: str, dst: Addr) -> str | None:
        """Send a run of packets to one destination in one system call, if the socket can.

        Only a transport with segmentation offload does (UDP_SEGMENT, net/udp.py).
        The source IP the run left from, or None: nothing was sent, send them one by
        one (what happens whenever anything is unusual, errors included).
        """
        return None

    def _fallback_socket(self, ip: str) -> AddrSocket | None:
        """A socket of the same family when none is bound to ``ip`` (counted; shouldn't happen)."""
        fam = family_of(ip) if ip not in ("0.0.0.0", "::") else None
        for us in self.socks.values():
            if fam is None or us.family == fam:
                return us
        return None

    # ----- receiving

    def _on_readable(self, us: AddrSocket) -> None:
        """Reader callback: read every ready datagram (bounded), then the error queue."""
        if self.socks.get(us.ip) is not us:
            return
        sink = self._sink
        if sink._holes and us.ip in sink._holes:
            self._swallow(us)
            return
        with sink._batch():
            # The error queue is read when a read or send reported a pending error, or
            # when the wake-up found no datagram (epoll says EPOLLERR while the error
            # queue is not empty, so a missed entry wakes us again): one syscall saved
            # per busy wake-up.
            if self._read_datagrams(us) == 0 or us.error_pending:
                us.error_pending = False
                self._read_errors(us)

    def _swallow(self, us: AddrSocket) -> None:
        """blackhole(): read and discard what waits on ``us``, its error queue too."""
        for _ in range(MAX_READ_PER_WAKEUP):
            try:
                us.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # a pending ICMP error: its details are discarded below
            self._sink.stats.blackholed += 1
        us.error_pending = False
        for _ in _drain_errors(us):
            pass

    def _read_datagrams(self, us: AddrSocket) -> int:
        """Read until the socket is empty (at most MAX_READ_PER_WAKEUP); the count read."""
        # One datagram per loop turn (asyncio's datagram transports) loses most of
        # a burst once the receive buffer fills; read until the socket is empty.
        recvfrom = us.sock.recvfrom
        local = (us.ip, us.port)
        deliver = self._sink._deliver
        parse = None if self.plain else self._parse  # UDP: the datagram is the packet
        stats = self._sink.stats
        got = 0
        for _ in range(MAX_READ_PER_WAKEUP):
            try:
                data, addr = recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # IP_RECVERR: a pending ICMP error (ECONNREFUSED, EHOSTUNREACH ...) is
                # reported once by a read; the details are in the error queue.
                stats.read_errors += 1
                us.error_pending = True
                continue
            got += 1
            if parse is None:
                deliver(data, (addr[0], addr[1]), local)
            else:
                packet, src = parse(us, data, addr)
                deliver(packet, src, local)
        return self._count(got)

    def _count(self, got: int) -> int:
        """The reader's statistics for one wake-up that delivered ``got`` packets."""
        stats = self._sink.stats
        stats.received += got
        stats.wakeups += 1
        if got > stats.max_batch:
            stats.max_batch = got
        return got

    def _read_errors(self, us: AddrSocket) -> None:
        """Drain the socket's error queue: ICMP errors about packets it sent (RFC 6951 §5.5).

        The core checks that the quoted packet is ours (ports and verification
        tag) and never relies on these signals; they only make set-up faster.
        """
        for data, anc, addr in _drain_errors(us):
            err = icmp.parse_ancillary(anc)
            kind = icmp.unreachable_kind(err) if err is not None else None
            if kind is None or not isinstance(addr, tuple):
                self._sink.stats.icmp_ignored += 1
                continue
            self._sink._icmp(self._icmp_destination(addr), kind, data)

    def _icmp_destination(self, addr: tuple[str, int]) -> Addr:
        """The destination ``(ip, udp_port)`` of the packet an error-queue entry is about."""
        return (addr[0], addr[1])


def _drain_errors(us: AddrSocket) -> Iterator[tuple[bytes, list[tuple[int, int, bytes]], object]]:
    for _ in range(MAX_READ_PER_WAKEUP):
        try:
            data, anc, _flags, addr = us.sock.recvmsg(MAX_DATAGRAM, 512, icmp.MSG_ERRQUEUE)
        except OSError:  # BlockingIOError: empty
            return
        yield data, anc, addr
