"""SCTP over UDP: one non-blocking UDP socket per local address (RFC 6951 §5.1: one port).

Each socket is bound to one explicit IP address and the stack's UDP
encapsulation port, never to the wildcard: a datagram then leaves from exactly
the address the core chose for its path (the source-address bugs of usrsctp,
issues #151 and #264, came from sending everything through one wildcard
socket). Sockets ask for ICMP errors on their error queue (``IP_RECVERR``,
``IPV6_RECVERR``) and get large buffers so that bursts are not dropped by the
kernel before the reader runs.
"""

from __future__ import annotations

import contextlib
import socket

from ..core.types import Addr
from .transport import AddrSocket, Sink, SocketTransport, ask_for_errors, family_of

# Receive buffer asked for: 4 MB holds a burst of thousands of datagrams while the
# loop is busy. Linux caps SO_RCVBUF at net.core.rmem_max (212992 on a default
# system) unless the process may use SO_RCVBUFFORCE (CAP_NET_ADMIN); we try both.
RCVBUF = 4 * 1024 * 1024
SNDBUF = 1024 * 1024
SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; not named by Python's socket module
SO_SNDBUFFORCE = 32


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

    def __init__(
        self, sink: Sink, udp_port: int, rcvbuf: int = RCVBUF, sndbuf: int = SNDBUF
    ) -> None:
        super().__init__(sink)
        self._port = udp_port  # RFC 6951 §5.1: one local encapsulation port for all addresses
        self._rcvbuf = rcvbuf
        self._sndbuf = sndbuf

    @property
    def port(self) -> int:
        return self._port

    def _make_socket(self, ip: str) -> AddrSocket:
        """A socket on ``(ip, udp_port)``; with udp_port 0 the first bind picks the port."""
        us = open_udp(ip, self._port, self._rcvbuf, self._sndbuf)
        if self._port == 0:
            self._port = us.port  # RFC 6951 §5.1: from now on, for every address
        return us

    def _parse(self, us: AddrSocket, data: bytes, addr: tuple[str, int]) -> tuple[bytes, Addr]:
        return data, (addr[0], addr[1])


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
