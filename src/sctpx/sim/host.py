"""Hosts: a set of IP addresses, one UDP encapsulation port, drivers by SCTP port.

A datagram that reaches one of a host's addresses is handled like this:

* UDP port equal to the host's ``udp_port``, or 0 (raw SCTP over IP): the two
  bytes at offset 2 of the SCTP common header (the destination port) pick the
  driver attached on that SCTP port, else the catch-all driver attached with
  ``sctp_port=None``, else nobody: the datagram is counted in ``unclaimed``
  and handed to ``on_unclaimed`` if set (an out-of-the-blue hook).
* any other UDP port: nobody listens there; the sender gets
  ``UnreachableKind.PORT`` back (ICMP port unreachable, RFC 6951 §5.5).

A driver belongs to one host (it sends from that host's addresses) but may be
attached on several SCTP ports of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.types import Addr, Driver
from .events import SimulationError
from .link import normalize_ip

if TYPE_CHECKING:
    from .network import Network

UnclaimedHook = Callable[[bytes, Addr, Addr, float], None]
"""``on_unclaimed(data, src, dst, now)``: a datagram no driver on the host claimed."""


class Host:
    """One simulated machine. Create with :meth:`Network.add_host`."""

    def __init__(self, network: Network, name: str, addresses: list[str], udp_port: int) -> None:
        if not 0 < udp_port < 65536:
            raise ValueError(f"host {name}: UDP port {udp_port} out of range 1..65535")
        self.name = name
        self.udp_port = udp_port
        self.on_unclaimed: UnclaimedHook | None = None
        self.unclaimed = 0  #: datagrams that reached the host with no driver to take them
        self._network = network
        self._addresses: list[str] = []
        self._drivers: dict[int | None, Driver] = {}
        for ip in addresses:
            self.add_address(ip)

    @property
    def addresses(self) -> tuple[str, ...]:
        """The host's IP addresses, normalised, in the order they were added."""
        return tuple(self._addresses)

    @property
    def addrs(self) -> list[Addr]:
        """The host's datagram addresses ``(ip, udp_port)``, one per IP address."""
        return [(ip, self.udp_port) for ip in self._addresses]

    def add_address(self, ip: str) -> None:
        """Give the host one more IP address (no two hosts may share one)."""
        ip = normalize_ip(ip)
        self._network._claim_address(self, ip)
        self._addresses.append(ip)

    def remove_address(self, ip: str) -> None:
        """Take an address away: datagrams to it then find no host (or a new owner)."""
        ip = normalize_ip(ip)
        self._addresses.remove(ip)
        self._network._release_address(ip)

    def attach(self, sctp_port: int | None, driver: Driver) -> None:
        """Hand datagrams for ``sctp_port`` (None: every port nobody else has) to ``driver``.

        The network flushes the driver at once: what it has queued is sent and its
        timer armed.
        """
        if sctp_port is not None and not 0 <= sctp_port < 65536:
            raise ValueError(f"SCTP port {sctp_port} out of range 0..65535")
        if sctp_port in self._drivers:
            raise SimulationError(f"host {self.name}: SCTP port {sctp_port} already attached")
        self._network._adopt(self, driver)  # refuses a driver of another host
        self._drivers[sctp_port] = driver
        self._network.poke(driver)

    def detach(self, sctp_port: int | None) -> Driver:
        """Stop delivering to the driver on ``sctp_port``; returns it.

        Once a driver has no port left on the host its timer is cancelled and the
        network forgets it (signals for datagrams it sent earlier are dropped).
        """
        driver = self._drivers.pop(sctp_port, None)
        if driver is None:
            raise SimulationError(f"host {self.name}: nothing attached on SCTP port {sctp_port}")
        if not any(d is driver for d in self._drivers.values()):
            self._network._forget(driver)
        return driver

    def driver_for(self, sctp_port: int) -> Driver | None:
        """The driver that would receive a packet for ``sctp_port``."""
        d = self._drivers.get(sctp_port)
        return d if d is not None else self._drivers.get(None)

    def source_for(self, dst_ip: str) -> str:
        """The host address a wildcard source becomes when sending to ``dst_ip``."""
        v6 = ":" in dst_ip
        for ip in self._addresses:
            if (":" in ip) == v6:
                return ip
        raise SimulationError(f"host {self.name} has no address of the family of {dst_ip}")

    def __repr__(self) -> str:
        return f"<Host {self.name} {list(self._addresses)} udp={self.udp_port}>"
