"""One non-blocking UDP socket per local address (RFC 6951 §5.1: one local encapsulation port).

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

from .icmp import IP_RECVERR, IPV6_RECVERR, SOL_IP, SOL_IPV6

# Receive buffer asked for: 4 MB holds a burst of thousands of datagrams while the
# loop is busy. Linux caps SO_RCVBUF at net.core.rmem_max (212992 on a default
# system) unless the process may use SO_RCVBUFFORCE (CAP_NET_ADMIN); we try both.
RCVBUF = 4 * 1024 * 1024
SNDBUF = 1024 * 1024
SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; not named by Python's socket module
SO_SNDBUFFORCE = 32
MAX_DATAGRAM = 65535


def family_of(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _grow_buffer(sock: socket.socket, opt: int, force_opt: int, size: int) -> None:
    """Ask for ``size`` bytes of buffer; use the FORCE variant if the cap got in the way."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, opt, size)
    # Linux reports twice the size asked for (the bookkeeping overhead).
    if sock.getsockopt(socket.SOL_SOCKET, opt) < size:
        with contextlib.suppress(OSError):  # EPERM without CAP_NET_ADMIN: keep the cap
            sock.setsockopt(socket.SOL_SOCKET, force_opt, size)


class UdpSocket:
    """A UDP socket bound to ``(ip, port)``, non-blocking, with ICMP errors queued."""

    __slots__ = ("error_pending", "family", "ip", "port", "sock", "users")

    def __init__(self, ip: str, port: int, rcvbuf: int = RCVBUF, sndbuf: int = SNDBUF) -> None:
        """Open and bind; the bind's OSError (EADDRNOTAVAIL, EADDRINUSE, EACCES) propagates."""
        self.ip = ip
        self.family = family_of(ip)
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if self.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.setsockopt(SOL_IPV6, IPV6_RECVERR, 1)
            else:
                sock.setsockopt(SOL_IP, IP_RECVERR, 1)
            _grow_buffer(sock, socket.SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf)
            _grow_buffer(sock, socket.SO_SNDBUF, SO_SNDBUFFORCE, sndbuf)
            try:
                sock.bind((ip, port))
            except OSError as exc:
                raise OSError(exc.errno, f"{exc.strerror}: UDP {ip} port {port}") from None
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.users = 0  # endpoints using this address
        self.error_pending = False  # a read or send reported an error: read the error queue

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def __repr__(self) -> str:
        return f"<UdpSocket {self.ip} port {self.port} users={self.users}>"


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
