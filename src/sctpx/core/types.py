"""Small shared types of the sans-IO core.

Addresses. Inside the core a peer's or our own *transport address* is an IP
address (text form, as ``ipaddress`` prints it) plus the association's SCTP
port. What the core exchanges with the layer below is a *datagram address*,
``(ip, udp_port)``: for SCTP over UDP (RFC 6951) the UDP encapsulation port,
0 when running over raw IP. The core keeps a remote encapsulation port per
destination (RFC 6951 §5.1) and puts it in every datagram it hands down.
"""

from __future__ import annotations

import enum
import ipaddress
from functools import lru_cache
from typing import Protocol

IP = str
Addr = tuple[str, int]  # (IP address, UDP encapsulation port or 0 for raw IP)
Datagram = tuple[bytes, Addr, Addr]  # (SCTP packet, source, destination)


class UnreachableKind(enum.Enum):
    """What an ICMP (or ECONNREFUSED) signal said about a destination (RFC 9260 §10)."""

    NET = "net"  # ICMP net unreachable
    HOST = "host"  # ICMP host unreachable, or no route
    PROTOCOL = "protocol"  # ICMP protocol unreachable / ICMPv6 unrecognized next header
    PORT = "port"  # ICMP port unreachable: over UDP, nobody on the encapsulation port
    FRAG_NEEDED = "frag-needed"  # ICMP fragmentation needed / packet too big


class Driver(Protocol):
    """What a network (real or simulated) needs of an endpoint to drive it."""

    def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None: ...

    def receive_unreachable(
        self, dst: Addr, kind: UnreachableKind, quoted: bytes, now: float
    ) -> None: ...

    def datagrams_to_send(self, now: float) -> list[Datagram]: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


def normalise_ip(ip: str) -> str:
    """Canonical text of an IPv4 or IPv6 address; ValueError if it is neither.

    An IPv4-mapped IPv6 address becomes the IPv4 address it maps (INIT-04: an
    IPv4 address is never sent as a mapped IPv6 one). Scoped (``%``) addresses
    are refused too.
    """
    if not isinstance(ip, str):  # also keeps unhashable arguments away from the cache
        raise ValueError(ip)
    return _normalise(ip)


@lru_cache(maxsize=64)  # pure; every connectx and endpoint normalises the same few addresses
def _normalise(ip: str) -> str:
    a = ipaddress.ip_address(ip)
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)
    return str(a)
