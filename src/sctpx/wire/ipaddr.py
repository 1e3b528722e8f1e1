"""IP addresses between their text form and the bytes on the wire, cached.

The same few addresses (ours, our peers') are packed and unpacked in every INIT,
INIT ACK, cookie and HEARTBEAT; :mod:`ipaddress` parses each time and costs a few
microseconds a call, a tenth of an association set-up. The caches are small and
least-recently-used: our own addresses, used in every packet of a set-up, stay in;
a flood of INITs from random addresses cycles through at most ``_SIZE`` entries
each (a few KiB), and an address not in the cache is simply parsed.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

_SIZE = 64


@lru_cache(maxsize=_SIZE)
def pack_ipv4(text: str) -> bytes:
    """4 bytes; ValueError if ``text`` is not an IPv4 address."""
    return ipaddress.IPv4Address(text).packed


@lru_cache(maxsize=_SIZE)
def pack_ipv6(text: str) -> bytes:
    """16 bytes; ValueError if ``text`` is not an IPv6 address."""
    return ipaddress.IPv6Address(text).packed


def pack_ip(text: str) -> bytes:
    """4 or 16 bytes, by the address's family; ValueError if it is neither."""
    return pack_ipv6(text) if ":" in text else pack_ipv4(text)


@lru_cache(maxsize=_SIZE)
def unpack_ip(packed: bytes) -> str:
    """The canonical text of a 4- or 16-byte address; ValueError for other lengths."""
    return str(ipaddress.ip_address(packed))
