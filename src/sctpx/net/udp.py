"""SCTP over UDP: one non-blocking UDP socket per local address (RFC 6951 §5.1: one port).

Each socket is bound to one explicit IP address and the stack's UDP
encapsulation port, never to the wildcard: a datagram then leaves from exactly
the address the core chose for its path (the source-address bugs of usrsctp,
issues #151 and #264, came from sending everything through one wildcard
socket). Sockets ask for ICMP errors on their error queue (``IP_RECVERR``,
``IPV6_RECVERR``) and get large buffers so that bursts are not dropped by the
kernel before the reader runs.

Segmentation offload (Linux >= 4.18 for sending, 5.0 for receiving): a flush of
several full-sized packets to one destination leaves in one ``sendmsg`` with a
``UDP_SEGMENT`` control message (the kernel cuts the buffer into the very same
datagrams, each with its own UDP header); a socket with ``UDP_GRO`` on may read
such a run of datagrams in one ``recvmsg``, told the segment size in a control
message, and :meth:`UdpTransport._read_datagrams` cuts it back into the packets.
What goes on the wire is unchanged. Where the kernel refuses either option, or a
``sendmsg`` fails in any unusual way, the packets go one ``sendto`` each, as before.

Off unless asked for (``SCTPX_UDP_OFFLOAD=1``, or ``UdpTransport(offload=True)``):
a packet capture on the sending host sees the run before the kernel cuts it (one
frame of up to 64 KiB, which tshark calls malformed SCTP), and with UDP_GRO on, the
receiving device may coalesce the flow before the capture point too. The interop
tests check every captured frame, and a user debugging with tcpdump would see the
same; docs/performance.md has the decision and what it gains.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket

from ..core.types import Addr
from .transport import (
    MAX_READ_PER_WAKEUP,
    AddrSocket,
    Sink,
    SocketTransport,
    ask_for_errors,
    family_of,
)

# Receive buffer asked for: 4 MB holds a burst of thousands of datagrams while the
# loop is busy. Linux caps SO_RCVBUF at net.core.rmem_max (212992 on a default
# system) unless the process may use SO_RCVBUFFORCE (CAP_NET_ADMIN); we try both.
RCVBUF = 4 * 1024 * 1024
SNDBUF = 1024 * 1024
SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; not named by Python's socket module
SO_SNDBUFFORCE = 32
SOL_UDP = 17  # <netinet/udp.h>: the options below are not named by Python's socket module
UDP_SEGMENT = 103
UDP_GRO = 104
GSO_MAX_SEGMENTS = 64  # UDP_MAX_SEGMENTS of Linux 4.18 (128 since 6.x): the older limit
GSO_MAX_BYTES = 65000  # payload of one sendmsg: below 65,535 minus the IP and UDP headers
GRO_BUFFER = 65536  # a GRO read: at most 64 KiB (the kernel's GRO limit), headers included
_GRO_ANC = socket.CMSG_SPACE(4)  # room for the UDP_GRO control message (an int)
# errnos after which a socket stops using UDP_SEGMENT (the device or path cannot offload)
_GSO_OFF = {errno.EIO, errno.EOPNOTSUPP, errno.ENOPROTOOPT, errno.EPROTONOSUPPORT}


def offload_wanted() -> bool:
    """Whether ``$SCTPX_UDP_OFFLOAD`` asks for segmentation offload (off by default)."""
    return os.environ.get("SCTPX_UDP_OFFLOAD", "0") == "1"


def grow_buffer(sock: socket.socket, opt: int, force_opt: int, size: int) -> None:
    """Ask for ``size`` bytes of buffer; use the FORCE variant if the cap got in the way."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, opt, size)
    # Linux reports twice the size asked for (the bookkeeping overhead).
    if sock.getsockopt(socket.SOL_SOCKET, opt) < size:
        with contextlib.suppress(OSError):  # EPERM without CAP_NET_ADMIN: keep the cap
            sock.setsockopt(socket.SOL_SOCKET, force_opt, size)


class UdpTransport(SocketTransport):
    """SCTP over UDP (RFC 6951): one UDP socket per local address, on one encapsulation port."""

    name = "udp"
    plain = True

    def __init__(
        self,
        sink: Sink,
        udp_port: int,
        rcvbuf: int = RCVBUF,
        sndbuf: int = SNDBUF,
        offload: bool | None = None,
    ) -> None:
        super().__init__(sink)
        self._port = udp_port  # RFC 6951 §5.1: one local encapsulation port for all addresses
        self._rcvbuf = rcvbuf
        self._sndbuf = sndbuf
        self._offload = offload_wanted() if offload is None else offload
        self.runs = self._offload

    @property
    def port(self) -> int:
        return self._port

    def _make_socket(self, ip: str) -> AddrSocket:
        """A socket on ``(ip, udp_port)``; with udp_port 0 the first bind picks the port."""
        us = open_udp(ip, self._port, self._rcvbuf, self._sndbuf)
        if self._port == 0:
            self._port = us.port  # RFC 6951 §5.1: from now on, for every address
        if self._offload:
            enable_offload(us)
        return us

    def _parse(self, us: AddrSocket, data: bytes, addr: tuple[str, int]) -> tuple[bytes, Addr]:
        return data, (addr[0], addr[1])

    # ----- segmentation offload

    def send_run(self, run: list[bytes], src_ip: str, dst: Addr) -> str | None:
        """One ``sendmsg`` with UDP_SEGMENT for ``run``: packets of one size, the last may
        be shorter (the caller groups them so). None: nothing sent, send them one by one."""
        sink = self._sink
        us = self.socks.get(src_ip)
        if us is None or not us.gso or (sink._holes and us.ip in sink._holes):
            return None
        seg = len(run[0])
        anc = [(SOL_UDP, UDP_SEGMENT, seg.to_bytes(2, "little"))]  # a host-order u16
        target = (dst[0], dst[1])
        for attempt in (1, 2):
            try:
                us.sock.sendmsg(run, anc, 0, target)
                return us.ip
            except ConnectionRefusedError:
                us.error_pending = True  # as in send(): reported, nothing sent; once more
                if attempt == 2:
                    return None
            except OSError as exc:  # a full buffer, no route, a refusal: one by one
                if exc.errno in _GSO_OFF:
                    us.gso = False
                return None
        return None

    def _read_datagrams(self, us: AddrSocket) -> int:
        if not us.gro:
            return super()._read_datagrams(us)
        # UDP_GRO: one read may hold several datagrams of ``size`` bytes (the last
        # shorter), told by a control message; without it the read is one datagram.
        recvmsg = us.sock.recvmsg
        local = (us.ip, us.port)
        deliver = self._sink._deliver
        stats = self._sink.stats
        got = reads = 0
        while reads < MAX_READ_PER_WAKEUP:
            try:
                data, anc, _flags, addr = recvmsg(GRO_BUFFER, _GRO_ANC)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                stats.read_errors += 1  # a pending ICMP error, as in the plain reader
                us.error_pending = True
                reads += 1
                continue
            reads += 1
            src = (addr[0], addr[1])
            if anc:
                size = 0
                for level, kind, value in anc:
                    if level == SOL_UDP and kind == UDP_GRO and len(value) >= 4:
                        size = int.from_bytes(value[:4], "little")
                if 0 < size < len(data):
                    for off in range(0, len(data), size):
                        got += 1
                        deliver(data[off : off + size], src, local)
                    continue
            got += 1
            deliver(data, src, local)
        return self._count(got)


def enable_offload(us: AddrSocket) -> None:
    """Ask for UDP_SEGMENT (sending) and UDP_GRO (receiving); either may be refused."""
    try:
        us.sock.setsockopt(SOL_UDP, UDP_SEGMENT, 0)  # 0: a per-call size (the cmsg)
        us.gso = True
    except OSError:
        us.gso = False
    try:
        us.sock.setsockopt(SOL_UDP, UDP_GRO, 1)
        us.gro = True
    except OSError:
        us.gro = False


def open_udp(ip: str, port: int, rcvbuf: int = RCVBUF, sndbuf: int = SNDBUF) -> AddrSocket:
    """A UDP socket bound to ``(ip, port)``, non-blocking, with ICMP errors queued.

    The bind's OSError (EADDRNOTAVAIL, EADDRINUSE, EACCES) propagates.
    """
    family = family_of(ip)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        ask_for_errors(sock, family)
        grow_buffer(sock, socket.SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf)
        grow_buffer(sock, socket.SO_SNDBUF, SO_SNDBUFFORCE, sndbuf)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            raise OSError(exc.errno, f"{exc.strerror}: UDP {ip} port {port}") from None
    except BaseException:
        sock.close()
        raise
    return AddrSocket(ip, sock, sock.getsockname()[1])


def route_source(ip: str) -> str:
    """The local address the OS would use to reach ``ip``; OSError if it has no route.

    A UDP connect() only asks the routing table (nothing is sent). Decision: a new
    socket for every lookup. A kept socket would be cheaper (~10 µs), but Linux fixes
    a UDP socket's source address at its first connect and keeps it through later
    ones, so every later lookup would give the first answer (found by the failover
    benchmark in namespaces: a two-link client became single-homed).
    """
    with socket.socket(family_of(ip), socket.SOCK_DGRAM) as s:
        s.connect((ip, 9))
        return str(s.getsockname()[0])
