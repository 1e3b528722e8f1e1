"""Packed sockaddr lists as the C calls take them (RFC 6458 §9.9; Linux layout).

Entries are back to back, each as long as its family's sockaddr: 16 bytes for
``sockaddr_in`` and 28 for ``sockaddr_in6`` (no padding to sockaddr_storage;
API-05). The family field is in host byte order, ports in network order.
"""

from __future__ import annotations

import errno
import ipaddress
import socket as _socket
import struct

from ..core.errors import UsageError

_FAMILY = struct.Struct("=H")  # sa_family_t, host order
_IN = struct.Struct("=HH4s8x")  # family, port (we pack network order ourselves), addr
_IN6 = struct.Struct("=HHI16sI")  # family, port, flowinfo, addr, scope id
SIZES = {_socket.AF_INET: 16, _socket.AF_INET6: 28}


def pack_sockaddrs(addrs: list[tuple[str, int]]) -> bytes:
    """The packed form of ``[(ip, port), ...]`` (for callers porting C code and for tests)."""
    out = []
    for ip, port in addrs:
        a = ipaddress.ip_address(ip)
        nport = _socket.htons(port)
        if a.version == 4:
            out.append(_IN.pack(_socket.AF_INET, nport, a.packed))
        else:
            out.append(_IN6.pack(_socket.AF_INET6, nport, 0, a.packed, 0))
    return b"".join(out)


def unpack_sockaddrs(buf: bytes | bytearray | memoryview, addrcnt: int) -> list[tuple[str, int]]:
    """Read ``addrcnt`` entries; EINVAL for a bad count or family, E2BIG when they do not fit.

    ERR-03 (decided): E2BIG whenever the entries the count asks for do not fit in
    the bytes given, including a last entry cut short; EINVAL for a family that is
    neither AF_INET nor AF_INET6 (ERR-02) and for addrcnt <= 0 (ERR-01).
    """
    if not isinstance(addrcnt, int) or addrcnt <= 0:
        raise UsageError(errno.EINVAL, f"addrcnt must be positive, not {addrcnt!r}")
    data = bytes(buf)
    out: list[tuple[str, int]] = []
    off = 0
    for i in range(addrcnt):
        if len(data) - off < _FAMILY.size:
            raise UsageError(errno.E2BIG, f"addrcnt {addrcnt} but the data ends after {i}")
        (fam,) = _FAMILY.unpack_from(data, off)
        size = SIZES.get(fam)
        if size is None:
            raise UsageError(errno.EINVAL, f"entry {i} has address family {fam}")
        if len(data) - off < size:
            raise UsageError(errno.E2BIG, f"entry {i} is cut short ({len(data) - off} bytes)")
        if fam == _socket.AF_INET:
            _f, nport, raw = _IN.unpack_from(data, off)
            ip = str(ipaddress.IPv4Address(raw))
        else:
            _f, nport, _flow, raw6, _scope = _IN6.unpack_from(data, off)
            ip = str(ipaddress.IPv6Address(raw6))
        out.append((ip, _socket.ntohs(nport)))
        off += size
    return out
