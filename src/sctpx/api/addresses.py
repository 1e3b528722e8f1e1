"""The socket's address checks and its bound-address bookkeeping (RFC 6458 §3.1.2, §9.1).

Written once for every backend: the argument rules and their errnos (API-06,
API-08, API-10) and what ``bind``/``bindx`` record before the endpoint opens.

Wildcard (decided, RFC 6458 §3.1.2): ``bind(("0.0.0.0", port))`` or
``bind(("::", port))`` binds every address of the host (``::`` also every IPv4
one on an AF_INET6 socket, as Linux does with ``IPV6_V6ONLY`` off). It is
``bind``'s alone: ``bindx`` with the wildcard, or adding addresses to a wildcard
bind, is EINVAL. ``getsockname()`` keeps answering the wildcard.
"""

from __future__ import annotations

import errno
import ipaddress
import os
from typing import Any

from . import constants as C

WILDCARDS = ("0.0.0.0", "::")


def err(code: int, message: str) -> OSError:
    return OSError(code, f"{os.strerror(code)}: {message}")


def check_ip(ip: str, family: int, *, local: bool, wildcard: bool = False) -> str:
    """One address for a socket of ``family`` (API-06, API-08, API-10), normalised."""
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        raise err(errno.EINVAL, f"not an IP address: {ip!r}") from None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        a = a.ipv4_mapped  # API-08
    if a.version == 6 and family == C.AF_INET:
        raise err(errno.EINVAL, f"{ip}: an IPv6 address on an AF_INET socket")
    if a.is_unspecified and local and wildcard:
        return str(a)
    if a.is_multicast or a.is_unspecified or str(a) == "255.255.255.255":
        if local and a.is_unspecified:
            raise err(errno.EINVAL, "the wildcard address is for bind() alone")
        raise err(errno.EINVAL, f"{ip}: not a unicast address")
    return str(a)


def check_addr(addr: Any, family: int, *, local: bool, wildcard: bool = False) -> tuple[str, int]:
    """An ``(ip, port)`` tuple checked as :func:`check_ip` says, the port 0..65535."""
    if not isinstance(addr, tuple) or len(addr) < 2:
        raise err(errno.EINVAL, f"an address is an (ip, port) tuple, not {addr!r}")
    ip, port = addr[0], addr[1]
    if not isinstance(ip, str) or not isinstance(port, int) or not 0 <= port < 65536:
        raise err(errno.EINVAL, f"bad address {addr!r}")
    return check_ip(ip, family, local=local, wildcard=wildcard), port


class Bound:
    """What bind/bindx said: the local addresses (or the wildcard) and the port."""

    __slots__ = ("addrs", "port")

    def __init__(self) -> None:
        self.addrs: list[str] = []
        self.port = 0

    @property
    def wildcard(self) -> bool:
        return len(self.addrs) == 1 and self.addrs[0] in WILDCARDS

    def bind(self, address: Any, family: int, live: bool) -> None:
        if self.addrs or live:
            raise err(errno.EINVAL, "the socket is already bound")
        ip, port = check_addr(address, family, local=True, wildcard=True)
        self.addrs, self.port = [ip], port

    def bindx(self, addrs: list[Any], flags: int, family: int, live: bool) -> None:
        """RFC 6458 §9.1: add or remove local addresses (before the endpoint is in use)."""
        if flags not in (C.SCTP_BINDX_ADD_ADDR, C.SCTP_BINDX_REM_ADDR) or not addrs:
            raise err(errno.EINVAL, "flags must be SCTP_BINDX_ADD_ADDR or _REM_ADDR")
        parsed = [check_addr(a, family, local=True) for a in addrs]
        ports = {p for _ip, p in parsed} - {0}
        if len(ports) > 1 or (ports and self.port and ports != {self.port}):
            raise err(errno.EINVAL, "all addresses of an endpoint share one port")
        if live:
            raise err(errno.EOPNOTSUPP, "changing addresses of a live endpoint needs ASCONF")
        if self.wildcard:
            raise err(errno.EINVAL, "the socket is bound to every address already")
        ips = [ip for ip, _p in parsed]
        if flags == C.SCTP_BINDX_ADD_ADDR:
            self.addrs += [ip for ip in ips if ip not in self.addrs]
            self.port = self.port or (ports.pop() if ports else 0)
        else:
            left = [a for a in self.addrs if a not in ips]
            if not left:
                raise err(errno.EINVAL, "cannot remove the last address")
            self.addrs = left
