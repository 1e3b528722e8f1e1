"""This host's IP addresses, for endpoints bound to the wildcard (RFC 6458 §3.1.2).

Read with libc's ``getifaddrs(3)`` through ``ctypes`` (no compiler, no package):
every address of every interface that is up, in the order the kernel lists
them. Decisions:

* interfaces that are down are left out (their addresses cannot be reached);
* IPv6 link-local addresses (fe80::/10) are left out: they need a scope id that
  an SCTP address parameter cannot carry (RFC 9260 §3.3.2.1 lists plain
  addresses only);
* IPv4-mapped and unspecified addresses never appear; duplicates are dropped.

``0.0.0.0`` means every IPv4 address; ``::`` every IPv6 *and* IPv4 address, as
on Linux with ``IPV6_V6ONLY`` off (RFC 6458 §3.1.2: an AF_INET6 socket bound to
the wildcard also covers IPv4).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import ipaddress
import os
import socket

IFF_UP = 0x1


class _Sockaddr(ctypes.Structure):
    _fields_ = [("sa_family", ctypes.c_ushort), ("sa_data", ctypes.c_ubyte * 14)]


class _Ifaddrs(ctypes.Structure):
    pass


_Ifaddrs._fields_ = [
    ("ifa_next", ctypes.POINTER(_Ifaddrs)),
    ("ifa_name", ctypes.c_char_p),
    ("ifa_flags", ctypes.c_uint),
    ("ifa_addr", ctypes.POINTER(_Sockaddr)),
    ("ifa_netmask", ctypes.POINTER(_Sockaddr)),
    ("ifa_ifu", ctypes.POINTER(_Sockaddr)),
    ("ifa_data", ctypes.c_void_p),
]


def _libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    lib.getifaddrs.argtypes = [ctypes.POINTER(ctypes.POINTER(_Ifaddrs))]
    lib.getifaddrs.restype = ctypes.c_int
    lib.freeifaddrs.argtypes = [ctypes.POINTER(_Ifaddrs)]
    lib.freeifaddrs.restype = None
    return lib


_LIBC: ctypes.CDLL | None = None


def _address(sa: _Sockaddr) -> str | None:
    """The IP address in a ``struct sockaddr_in`` / ``sockaddr_in6``, if it is one."""
    if sa.sa_family == socket.AF_INET:
        raw = bytes(ctypes.cast(ctypes.pointer(sa), ctypes.POINTER(ctypes.c_ubyte * 8))[0])
        return socket.inet_ntop(socket.AF_INET, raw[4:8])  # after family and port
    if sa.sa_family == socket.AF_INET6:
        raw = bytes(ctypes.cast(ctypes.pointer(sa), ctypes.POINTER(ctypes.c_ubyte * 24))[0])
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])  # after family, port, flowinfo
    return None


def interface_addresses() -> list[tuple[str, str, bool]]:
    """``(interface, address, up)`` for every IPv4 and IPv6 address of the host."""
    global _LIBC
    if _LIBC is None:
        _LIBC = _libc()
    head = ctypes.POINTER(_Ifaddrs)()
    if _LIBC.getifaddrs(ctypes.byref(head)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"getifaddrs: {os.strerror(err)}")
    out: list[tuple[str, str, bool]] = []
    try:
        node = head
        while node:
            ifa = node.contents
            if ifa.ifa_addr:
                ip = _address(ifa.ifa_addr.contents)
                if ip is not None:
                    name = (ifa.ifa_name or b"").decode(errors="replace")
                    out.append((name, ip, bool(ifa.ifa_flags & IFF_UP)))
            node = ifa.ifa_next
    finally:
        _LIBC.freeifaddrs(head)
    return out


def host_addresses(wildcard: str) -> list[str]:
    """The addresses ``wildcard`` (``0.0.0.0`` or ``::``) stands for, as described above."""
    want6 = wildcard == "::"
    seen: list[str] = []
    for _name, ip, up in interface_addresses():
        if not up:
            continue
        a = ipaddress.ip_address(ip)
        if a.version == 6 and (not want6 or a.is_link_local or a.ipv4_mapped is not None):
            continue
        if a.is_unspecified or str(a) in seen:
            continue
        seen.append(str(a))
    return seen


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
