"""The stack's registered endpoints: their addresses, SCTP ports and the wildcard.

What :class:`~sctpx.net.stack.Stack` needs to open an endpoint, kept apart from its
loop: the address checks (and what the wildcard stands for), a free SCTP port and
the transport's claim on it, the configuration over raw IP, and the refresh of a
wildcard endpoint's addresses.
"""

from __future__ import annotations

import errno
import logging
import secrets
from collections.abc import Callable, Container
from dataclasses import replace

from ..core import Config, Endpoint
from ..core.types import normalise_ip
from . import ifaddrs
from .transport import SocketTransport

log = logging.getLogger("sctpx.net")

EPHEMERAL_PORTS = range(49152, 65536)  # RFC 6335 §6: the dynamic ports
REFRESH_EVERY = 1.0  # seconds between two reads of the host's addresses (wildcard)

OnEvents = Callable[[Endpoint], None]


class Entry:
    """One registered endpoint."""

    __slots__ = ("claims", "ep", "ips", "on_events", "refreshed", "wildcard")

    def __init__(
        self, ep: Endpoint, ips: list[str], on_events: OnEvents, claim: object,
        wildcard: str | None, now: float,
    ) -> None:  # fmt: skip
        self.ep = ep
        self.ips = ips
        self.on_events = on_events
        self.claims = [claim]  # the transport's holds on the SCTP port (raw IP: host-wide)
        self.wildcard = wildcard  # "0.0.0.0" or "::": bound to every address of the host
        self.refreshed = now  # when the host's addresses were last read


def check_addresses(addresses: list[str]) -> tuple[list[str], str | None]:
    """The endpoint's IPs, and the wildcard they stand for (``["0.0.0.0"]``, ``["::"]``)."""
    if isinstance(addresses, str) or not addresses:
        raise OSError(errno.EINVAL, "an endpoint needs a list of local IP addresses")
    ips: list[str] = []
    for a in addresses:
        try:
            ip = normalise_ip(a)
        except ValueError:
            raise OSError(errno.EINVAL, f"not an IP address: {a!r}") from None
        if ip in ("0.0.0.0", "::"):
            if len(addresses) > 1:
                raise OSError(errno.EINVAL, "the wildcard address comes alone")
            found = ifaddrs.host_addresses(ip)
            if not found:
                raise OSError(errno.EADDRNOTAVAIL, f"{ip}: this host has no address")
            return found, ip
        if ip not in ips:
            ips.append(ip)
    return ips, None


def free_port(taken: Container[int]) -> int:
    """A free SCTP port of this stack from the dynamic range, starting at a random one."""
    n = len(EPHEMERAL_PORTS)
    start = secrets.randbelow(n)
    for i in range(n):
        port = EPHEMERAL_PORTS[(start + i) % n]
        if port not in taken:
            return port
    raise OSError(errno.EADDRINUSE, "no free SCTP port left in this stack")


def claim(
    transport: SocketTransport, port: int, ips: list[str], taken: Container[int]
) -> tuple[int, object]:
    """The transport's claim on ``port`` (0: a free one; over raw IP free host-wide)."""
    if port:
        return port, transport.reserve(port, ips)
    for _ in range(64):
        port = free_port(taken)
        try:
            return port, transport.reserve(port, ips)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, "no free SCTP port found on these addresses")


def config_for(transport: SocketTransport, config: Config | None) -> Config | None:
    """Over raw IP every peer is reached without UDP (port 0, RFC 6951 does not apply)."""
    if transport.name == "ip":
        return replace(config or Config(), remote_udp_port=0, remote_udp_ports={})
    return config


def refresh(entry: Entry, transport: SocketTransport, now: float) -> None:
    """A wildcard endpoint takes the host's new addresses (RFC 6458 §3.1.2).

    Read when the endpoint opens and again at each association's set-up (a
    connectx, an INIT; at most every :data:`REFRESH_EVERY` seconds). Addresses are
    only added: one that goes away stays in the endpoint (packets from it fail,
    and its paths fail over).
    """
    if entry.wildcard is None or now - entry.refreshed < REFRESH_EVERY:
        return
    entry.refreshed = now
    new = [ip for ip in ifaddrs.host_addresses(entry.wildcard) if ip not in entry.ips]
    if not new:
        return
    port = entry.ep.port
    try:
        held = transport.reserve(port, new)
    except OSError as exc:
        log.warning("sctpx: new addresses %s of endpoint %d: %s", new, port, exc)
        return
    try:
        transport.open(new)
    except OSError as exc:
        transport.release(held)
        log.warning("sctpx: new addresses %s of endpoint %d: %s", new, port, exc)
        return
    entry.claims.append(held)
    entry.ips += new
    entry.ep.set_addresses(entry.ips)
