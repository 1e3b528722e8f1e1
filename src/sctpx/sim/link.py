"""Links: what the simulated network does to a datagram between two IP addresses.

A *link* is the directional path from one IP address to another. Its
:class:`LinkProps` say how long a datagram takes and what may happen to it.
Properties are set as *partial overlays* on four levels, each overriding the
ones before it for the fields it names:

1. the default, ``(ANY, ANY)``;
2. everything leaving an address, ``(src, ANY)``;
3. everything arriving at an address, ``(ANY, dst)``;
4. one directed pair, ``(src, dst)``.

On top of that, an address may be black-holed as a whole (everything to or
from it is dropped). The effective properties of a pair are resolved on
demand and cached until the next change.

Properties are sampled when a datagram is *sent*: changing a link does not
affect datagrams already in flight.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from typing import Any, TypedDict

from ..core.types import UnreachableKind

ANY = "*"
"""Wildcard address for :meth:`Network.link`: every source or every destination."""


@dataclass(frozen=True, slots=True)
class LinkProps:
    """The effective behaviour of one directed link.

    * ``delay``: one-way latency in seconds.
    * ``jitter``: extra latency drawn uniformly from ``[0, jitter]`` per datagram;
      independent per datagram, so jitter larger than the spacing reorders.
    * ``loss``: probability that a datagram vanishes.
    * ``duplicate``: probability that a datagram arrives twice (the copy gets its
      own independently drawn latency).
    * ``reorder``: probability that a datagram is held back by an extra delay drawn
      uniformly from ``(0, reorder_delay]``, letting later ones overtake it.
    * ``blackhole``: drop everything silently.
    * ``unreachable``: drop everything and send that ICMP-like signal back to the
      sender, which gets it ``delay`` (+ jitter) after sending (a router on the way
      answers).
    * ``mtu``: largest IP packet (IP header + UDP header when encapsulated + SCTP
      packet) the link carries; larger ones are dropped and the sender gets
      ``UnreachableKind.FRAG_NEEDED`` after ``delay``, as from a router that
      does not fragment (DF set, or IPv6). ``None`` means no limit.

    When several apply, the order is: blackhole, unreachable, mtu, loss.
    """

    delay: float = 0.01
    jitter: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay: float = 0.02
    blackhole: bool = False
    unreachable: UnreachableKind | None = None
    mtu: int | None = 1500

    def __post_init__(self) -> None:
        for name in ("delay", "jitter", "reorder_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"link {name} must be >= 0, got {getattr(self, name)}")
        for name in ("loss", "duplicate", "reorder"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"link {name} is a probability, got {getattr(self, name)}")
        if self.mtu is not None and self.mtu < 68:
            raise ValueError(f"link mtu {self.mtu} below the IPv4 minimum of 68")
        if self.unreachable is not None and not isinstance(self.unreachable, UnreachableKind):
            raise TypeError(
                f"link unreachable must be an UnreachableKind, got {self.unreachable!r}"
            )


class LinkChanges(TypedDict, total=False):
    """Keyword arguments accepted by :meth:`Network.link`: any subset of :class:`LinkProps`."""

    delay: float
    jitter: float
    loss: float
    duplicate: float
    reorder: float
    reorder_delay: float
    blackhole: bool
    unreachable: UnreachableKind | None
    mtu: int | None


_FIELDS = frozenset(f.name for f in dataclasses.fields(LinkProps))


def normalize_ip(ip: str) -> str:
    """The canonical text of an IP address (``ipaddress`` form), or ``ANY`` unchanged."""
    if ip == ANY:
        return ip
    return ipaddress.ip_address(ip).compressed


class LinkTable:
    """All link settings of a network and the resolution of a pair's effective props."""

    def __init__(self) -> None:
        self._default = LinkProps()
        self._overlays: dict[tuple[str, str], dict[str, Any]] = {}
        self._blackholed: set[str] = set()
        self._cache: dict[tuple[str, str], LinkProps] = {}

    def set(self, src: str, dst: str, changes: LinkChanges) -> None:
        """Overlay ``changes`` on the (normalised) key ``(src, dst)``; either may be ANY."""
        unknown = set(changes) - _FIELDS
        if unknown:
            raise TypeError(f"unknown link properties: {sorted(unknown)}")
        if src == ANY and dst == ANY:
            self._default = dataclasses.replace(self._default, **changes)
        else:
            overlay = self._overlays.setdefault((src, dst), {})
            candidate = {**overlay, **changes}
            dataclasses.replace(self._default, **candidate)  # validate now, not at send time
            overlay.update(changes)
        self._cache.clear()

    def clear_field(self, name: str, src: str | None = None, dst: str | None = None) -> None:
        """Drop ``name`` from overlays that involve ``src``/``dst`` (all when both None)."""
        for (s, d), overlay in self._overlays.items():
            if (src is None or src in (s, d)) and (dst is None or dst in (s, d)):
                overlay.pop(name, None)
        self._cache.clear()

    def reset_default_field(self, name: str) -> None:
        """Put one field of the default back to its built-in value."""
        builtin = getattr(LinkProps(), name)
        self._default = dataclasses.replace(self._default, **{name: builtin})
        self._cache.clear()

    def blackhole_address(self, ip: str, on: bool) -> None:
        """Drop everything to or from ``ip`` (or stop doing so)."""
        if on:
            self._blackholed.add(ip)
        else:
            self._blackholed.discard(ip)
        self._cache.clear()

    def clear_blackholed_addresses(self) -> None:
        self._blackholed.clear()
        self._cache.clear()

    def props(self, src: str, dst: str) -> LinkProps:
        """The effective properties from ``src`` to ``dst`` (both normalised)."""
        key = (src, dst)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        merged: dict[str, Any] = {}
        for k in ((src, ANY), (ANY, dst), key):
            overlay = self._overlays.get(k)
            if overlay:
                merged.update(overlay)
        if src in self._blackholed or dst in self._blackholed:
            merged["blackhole"] = True
        props = dataclasses.replace(self._default, **merged) if merged else self._default
        self._cache[key] = props
        return props
