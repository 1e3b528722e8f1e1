"""SCTP directly over IP (protocol 132): one raw socket per local address.

``socket(AF_INET[6], SOCK_RAW, IPPROTO_SCTP)`` bound to one local address gets
every SCTP packet sent to that address and sends from it; the kernel builds the
IP header (no ``IP_HDRINCL``), we compute and check the CRC32c (the codec does).
An IPv4 raw socket hands up the IP header with the packet, an IPv6 one does not.
ICMP errors about what a socket sent wait on its error queue (``IP_RECVERR``,
``IPV6_RECVERR``) as for UDP, quoting the SCTP packet.

Decisions (docs/transports.md):

* **Privileges.** Raw sockets need CAP_NET_RAW. :func:`check_raw_sockets` opens
  one when the stack is made, so that a missing privilege is a ``PermissionError``
  saying what to do, not a failure at the first bind.
* **The kernel's own SCTP.** Where the host kernel has SCTP, it gets every SCTP
  packet too, knows none of our associations and ABORTs them (RFC 9260 §8.4).
  :func:`kernel_sctp_present` looks for it (``/proc/net/sctp``,
  ``/sys/module/sctp``); the stack refuses unless told ``allow_kernel_sctp=True``.
  We do not probe with ``socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)`` on Linux:
  as root that call loads ``sctp.ko``, the very thing that breaks us.
* **Other stacks on the host.** Every raw socket bound to an address gets every
  SCTP packet to it, so two stacks (two processes, or two ``Stack`` objects) on
  one address see each other's packets. SCTP ports are claimed host-wide with an
  abstract Unix socket per (address, port) (``\\0sctpx-ip/<ip>/<port>``; scoped to
  the network namespace, gone with the process): a second endpoint on a claimed
  port is EADDRINUSE, and a packet for a port that another stack claims is left
  to it, not answered as out of the blue.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path

from ..core.types import Addr
from .transport import AddrSocket, Sink, SocketTransport, ask_for_errors, family_of
from .udp import RCVBUF, SNDBUF, SO_RCVBUFFORCE, SO_SNDBUFFORCE, grow_buffer

IPPROTO_SCTP = 132
KERNEL_SCTP_PATHS = ("/proc/net/sctp", "/sys/module/sctp")
_CLAIM_PREFIX = "\0sctpx-ip/"

NO_RAW_HELP = (
    "SCTP over IP needs raw sockets (CAP_NET_RAW): run as root, grant the capability "
    "(setcap cap_net_raw+ep on the Python binary), or use SCTP over UDP, which needs no "
    "privileges (transport='udp', the default)"
)


def check_raw_sockets() -> None:
    """Raise ``PermissionError`` (with what to do) if this process may not open raw sockets."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP).close()
    except PermissionError as exc:
        raise PermissionError(exc.errno, NO_RAW_HELP) from None


def kernel_sctp_present(paths: tuple[str, ...] | None = None) -> bool:
    """Whether the host kernel runs SCTP itself (Linux: the sctp module is loaded)."""
    if Path("/proc/net").exists():
        return any(Path(p).exists() for p in (KERNEL_SCTP_PATHS if paths is None else paths))
    try:  # not Linux: asking for a socket is the only way to know (and loads nothing)
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP).close()
    except OSError:
        return False
    return True


KERNEL_SCTP_HELP = (
    "this host's kernel has SCTP (the sctp module is loaded): it would see every SCTP "
    "packet too and ABORT our associations. Use the UDP transport, unload the module "
    "(modprobe -r sctp), or pass allow_kernel_sctp=True if the kernel is told to keep "
    "out (e.g. by a firewall rule)"
)


def open_raw(ip: str, rcvbuf: int = RCVBUF, sndbuf: int = SNDBUF) -> AddrSocket:
    """A raw SCTP socket bound to ``ip``, non-blocking, with ICMP errors queued."""
    family = family_of(ip)
    try:
        sock = socket.socket(family, socket.SOCK_RAW, IPPROTO_SCTP)
    except PermissionError as exc:
        raise PermissionError(exc.errno, NO_RAW_HELP) from None
    try:
        sock.setblocking(False)
        ask_for_errors(sock, family)
        grow_buffer(sock, socket.SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf)
        grow_buffer(sock, socket.SO_SNDBUF, SO_SNDBUFFORCE, sndbuf)
        try:
            sock.bind((ip, 0))
        except OSError as exc:
            raise OSError(exc.errno, f"{exc.strerror}: raw IP {ip}") from None
    except BaseException:
        sock.close()
        raise
    return AddrSocket(ip, sock, 0)


def _claim(ip: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.bind(f"{_CLAIM_PREFIX}{ip}/{port}")
    except BaseException:
        s.close()
        raise
    return s


class IpTransport(SocketTransport):
    """SCTP directly over IP: raw sockets, one per local address (see the module notes)."""

    name = "ip"

    def __init__(self, sink: Sink) -> None:
        super().__init__(sink)
        self._elsewhere: dict[tuple[str, int], float] = {}  # until when "yes" holds

    @property
    def port(self) -> int:
        return 0

    def _make_socket(self, ip: str) -> AddrSocket:
        return open_raw(ip)

    def _parse(self, us: AddrSocket, data: bytes, addr: tuple[str, int]) -> tuple[bytes, Addr]:
        if us.family == socket.AF_INET:  # an IPv4 raw socket reads the IP header too
            ihl = (data[0] & 0x0F) * 4 if data else 0
            data = data[ihl:]
        return data, (addr[0], 0)

    def _target(self, dst: Addr) -> tuple[str, int]:
        return (dst[0], 0)  # the port field of a raw socket's address must be 0 (or 132)

    def reserve(self, port: int, ips: list[str]) -> object:
        claims: list[socket.socket] = []
        try:
            for ip in ips:
                try:
                    claims.append(_claim(ip, port))
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise
                    raise OSError(
                        errno.EADDRINUSE,
                        f"SCTP port {port} on {ip} is in use by another sctpx stack",
                    ) from None
        except BaseException:
            for s in claims:
                s.close()
            raise
        return claims

    def release(self, handle: object) -> None:
        if isinstance(handle, list):
            for s in handle:
                if isinstance(s, socket.socket):
                    s.close()

    def served_elsewhere(self, ip: str, port: int) -> bool:
        """Asked for every packet to a port of no endpoint here.

        A "yes" is kept for a second (the other stack's bulk traffic costs one check a
        second, not one a packet); a "no" is never kept, so a port another stack has
        just claimed is never answered for.
        """
        now = time.monotonic()
        until = self._elsewhere.get((ip, port))
        if until is not None and until > now:
            return True
        try:
            _claim(ip, port).close()
        except OSError:  # claimed by another stack (EADDRINUSE), or unknowable: stay quiet
            if len(self._elsewhere) >= 4096:
                self._elsewhere.clear()
            self._elsewhere[(ip, port)] = now + 1.0
            return True
        self._elsewhere.pop((ip, port), None)
        return False


def transport_env() -> str:
    """``$SCTPX_TRANSPORT`` (``udp`` or ``ip``), ``udp`` when unset."""
    return os.environ.get("SCTPX_TRANSPORT", "").strip().lower() or "udp"
