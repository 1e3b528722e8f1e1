"""The simulated network: hosts, links, a virtual clock and the event loop.

The model
---------
* **Time** is virtual: ``net.now`` (seconds, from 0.0) jumps from one event to
  the next; nothing waits for the real clock. All randomness comes from one
  ``random.Random(seed)``, so the same seed and the same calls give the same
  trace, event for event.
* **Events** sit in a heap ordered by (time, insertion order): arrivals of
  datagrams, arrivals of ICMP-like signals, driver timers and callbacks
  scheduled with :meth:`Network.at`.
* **Drivers** (anything with the ``Driver`` methods of ``sctpx.core.types``:
  an ``Endpoint``, or a fake in a test) are attached to hosts by SCTP port.
  After every event that touched a driver — a delivery, a signal, its timer —
  the network *flushes* it: it sends every datagram of
  ``driver.datagrams_to_send(now)`` and re-reads ``driver.get_timer()``
  (absolute virtual time or None), moving the driver's single timer event
  earlier, later or away. A timer already in the past fires at ``now``.
  ``handle_timer(now)`` is called when the timer is due.
* **Outside calls**: a test that calls a driver directly (``connectx(...)``)
  should then :meth:`Network.poke` it so its datagrams leave at that moment.
  As a safety net every driver is also flushed at the start of each
  :meth:`run`/:meth:`step` call and after every :meth:`at` callback and
  ``on_unclaimed`` hook.
* **Sending**: a driver's datagram ``(data, src, dst)`` must come from one of
  its host's addresses (``0.0.0.0``/``::`` lets the host pick its first address
  of the destination's family) and from the host's UDP port, or with port 0
  on both sides for raw SCTP over IP; anything else raises
  :class:`SimulationError`. The link ``(src ip, dst ip)`` then decides the
  datagram's fate (see :mod:`sctpx.sim.link`), and what happens on arrival is
  described in :mod:`sctpx.sim.host`. A datagram to an address no host owns is
  lost silently (fate ``NO_HOST``).
* **Signals** (``receive_unreachable``) carry the original destination
  datagram address, the kind, and the SCTP packet as the ICMP message would
  quote it: truncated so that the ICMP error fits 576 bytes (IPv4) or 1280
  bytes (IPv6). Signals are not subject to random loss, duplication or
  reordering; a port-unreachable answer travels the reverse link (its delay and
  jitter, nothing if it is black-holed).
"""

from __future__ import annotations

import math
import os
import random
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Literal, Unpack

from ..core.types import Addr, Driver, UnreachableKind
from .events import EventLimitExceeded, EventQueue, Scheduled, SimulationError
from .host import Host
from .link import ANY, LinkChanges, LinkProps, LinkTable, normalize_ip
from .pcap import PcapWriter
from .trace import AddrFilter, Fate, TraceRecord, select

DEFAULT_MAX_EVENTS = 1_000_000
_WILDCARDS = frozenset({"0.0.0.0", "::"})


class _Slot:
    """The network's bookkeeping for one attached driver."""

    __slots__ = ("dead", "driver", "host", "label", "timer", "timer_at")

    def __init__(self, driver: Driver, host: Host) -> None:
        self.driver = driver
        self.host = host
        self.label = f"{type(driver).__name__} on {host.name}"
        self.timer: Scheduled | None = None
        self.timer_at: float | None = None
        self.dead = False


def _quote_limit(dst: Addr) -> int:
    """How many bytes of the SCTP packet an ICMP error quotes (RFC 792/1812, RFC 4443)."""
    udp = 8 if dst[1] else 0
    if ":" in dst[0]:
        return 1280 - 40 - 8 - 40 - udp
    return 576 - 20 - 8 - 20 - udp


def _ip_size(rec: TraceRecord) -> int:
    return (40 if ":" in rec.dst[0] else 20) + (8 if rec.dst[1] else 0) + len(rec.data)


class Network:
    """A deterministic, virtual-time network of hosts and links.

    >>> net = Network(seed=1)
    >>> a = net.add_host("a", ["198.18.0.1", "198.18.1.1"])
    >>> net.link_both("198.18.0.1", "198.18.0.2", delay=0.05, loss=0.01)
    >>> net.run_for(1.0)
    0
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.random = random.Random(seed)  #: the network's own randomness (loss, jitter, ...)
        self.hosts: dict[str, Host] = {}
        self.trace: list[TraceRecord] = []
        self._now = 0.0
        self._queue = EventQueue()
        self._links = LinkTable()
        self._owners: dict[str, Host] = {}
        self._slots: dict[int, _Slot] = {}  # by id(driver): drivers need not be hashable
        self._norm: dict[str, str] = {}
        self._running = False

    @property
    def now(self) -> float:
        """The virtual clock, in seconds."""
        return self._now

    def rng(self, name: str) -> random.Random:
        """A generator for a driver, derived from the seed and ``name``, independent of the
        network's own stream (so adding a driver does not change loss patterns)."""
        return random.Random(f"sctpx.sim/{self.seed}/{name}")

    # ------------------------------------------------------------------ hosts

    def add_host(self, name: str, addresses: list[str], udp_port: int = 9899) -> Host:
        """A new host owning ``addresses`` (IPv4 and/or IPv6 text) and UDP port ``udp_port``."""
        if name in self.hosts:
            raise SimulationError(f"a host named {name!r} exists already")
        host = Host(self, name, addresses, udp_port)
        self.hosts[name] = host
        return host

    def host_of(self, ip: str) -> Host | None:
        """The host owning ``ip``, if any."""
        return self._owners.get(self._ip(ip))

    def _claim_address(self, host: Host, ip: str) -> None:
        owner = self._owners.get(ip)
        if owner is not None:
            raise SimulationError(f"address {ip} belongs to host {owner.name} already")
        self._owners[ip] = host

    def _release_address(self, ip: str) -> None:
        del self._owners[ip]

    def _adopt(self, host: Host, driver: Driver) -> None:
        slot = self._slots.get(id(driver))
        if slot is None:
            slot = self._slots[id(driver)] = _Slot(driver, host)
        elif slot.host is not host:
            raise SimulationError(f"{slot.label} cannot also be attached to host {host.name}")

    def _forget(self, driver: Driver) -> None:
        slot = self._slots.pop(id(driver))
        slot.dead = True
        if slot.timer is not None:
            self._queue.cancel(slot.timer)
        slot.timer = slot.timer_at = None

    def _ip(self, ip: str) -> str:
        n = self._norm.get(ip)
        if n is None:
            try:
                n = self._norm[ip] = normalize_ip(ip)
            except ValueError as exc:
                raise SimulationError(f"not an IP address: {ip!r}") from exc
        return n

    # ------------------------------------------------------------------ links

    def link(self, src: str, dst: str, **changes: Unpack[LinkChanges]) -> None:
        """Set properties of the directed link ``src -> dst`` (either may be ``ANY``).

        Only the named properties change; see :class:`~sctpx.sim.link.LinkProps`.
        ``net.link(ANY, ANY, ...)`` changes the default of every link. Takes effect
        for datagrams sent from now on.
        """
        self._links.set(self._ip(src), self._ip(dst), changes)

    def link_both(self, a: str, b: str, **changes: Unpack[LinkChanges]) -> None:
        """:meth:`link` in both directions between ``a`` and ``b``."""
        self.link(a, b, **changes)
        self.link(b, a, **changes)

    def link_props(self, src: str, dst: str) -> LinkProps:
        """The effective properties of ``src -> dst`` now."""
        return self._links.props(self._ip(src), self._ip(dst))

    def _ips(self, x: str | Host) -> list[str]:
        return list(x.addresses) if isinstance(x, Host) else [self._ip(x)]

    def blackhole(self, ip: str | Host, on: bool = True) -> None:
        """Drop everything to or from ``ip`` (every address of a host), or stop (``on=False``)."""
        for a in self._ips(ip):
            self._links.blackhole_address(a, on)

    def cut(self, a: str | Host, b: str | Host) -> None:
        """Black-hole both directions between ``a`` and ``b`` (every address pair of hosts)."""
        for x in self._ips(a):
            for y in self._ips(b):
                self.link_both(x, y, blackhole=True)

    def heal(self, a: str | Host | None = None, b: str | Host | None = None) -> None:
        """Undo black holes.

        ``heal(a, b)`` undoes ``cut(a, b)``; ``heal(a)`` undoes ``blackhole(a)`` and
        every cut involving ``a``; ``heal()`` removes every black hole of any kind.
        """
        if a is None and b is None:
            self._links.clear_blackholed_addresses()
            self._links.clear_field("blackhole")
            self._links.reset_default_field("blackhole")
        elif a is not None and b is not None:
            for x in self._ips(a):
                for y in self._ips(b):
                    self._links.clear_field("blackhole", x, y)
        else:
            for x in self._ips(a if a is not None else b):  # type: ignore[arg-type]
                self._links.blackhole_address(x, False)
                self._links.clear_field("blackhole", x)

    # ------------------------------------------------------------- scheduling

    def at(self, t: float, callback: Callable[[], object]) -> Scheduled:
        """Call ``callback()`` at virtual time ``t``; every driver is flushed afterwards."""
        if t < self._now or math.isnan(t):
            raise ValueError(f"cannot schedule at {t}: the clock is at {self._now}")

        def fire() -> None:
            callback()
            self._flush_all()

        return self._queue.push(t, fire, f"callback {getattr(callback, '__name__', callback)}")

    def after(self, delay: float, callback: Callable[[], object]) -> Scheduled:
        """:meth:`at` ``now + delay``."""
        return self.at(self._now + delay, callback)

    def cancel(self, event: Scheduled) -> None:
        """Cancel an event returned by :meth:`at` or :meth:`after`."""
        self._queue.cancel(event)

    # ---------------------------------------------------------------- driving

    def poke(self, driver: Driver) -> None:
        """Send what ``driver`` has queued and re-read its timer (after calling it directly)."""
        slot = self._slots.get(id(driver))
        if slot is None:
            raise SimulationError(f"{type(driver).__name__} is not attached to any host")
        self._flush(slot)

    def step(self) -> bool:
        """Process the next event; False when nothing is pending."""
        self._enter()
        try:
            self._flush_all()
            event = self._queue.pop()
            if event is None:
                return False
            self._now = event.time
            event.action()
            return True
        finally:
            self._running = False

    def run(self, until: float | None = None, max_events: int = DEFAULT_MAX_EVENTS) -> int:
        """Process events up to virtual time ``until`` (inclusive) and set the clock to it.

        Without ``until``, run until nothing is pending (drivers with periodic timers
        never get there: the ``max_events`` guard then raises). Returns the number of
        events processed; raises :class:`EventLimitExceeded` beyond ``max_events``.
        """
        if until is not None and until < self._now:
            raise ValueError(f"cannot run until {until}: the clock is at {self._now}")
        return self._loop(until, max_events, None)[0]

    def run_for(self, seconds: float, max_events: int = DEFAULT_MAX_EVENTS) -> int:
        """:meth:`run` for ``seconds`` of virtual time."""
        return self.run(self._now + seconds, max_events)

    def run_until(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> bool:
        """Run until ``predicate()`` holds (checked before and after every event) or
        ``timeout`` virtual seconds have passed. Returns whether it held; on success the
        clock stays at the event that made it true."""
        return self._loop(self._now + timeout, max_events, predicate)[1]

    def _enter(self) -> None:
        if self._running:
            raise SimulationError(
                "the network is already running (run/step called from a callback)"
            )
        self._running = True

    def _loop(
        self, until: float | None, max_events: int, predicate: Callable[[], bool] | None
    ) -> tuple[int, bool]:
        self._enter()
        try:
            self._flush_all()
            queue, count = self._queue, 0
            if predicate is not None and predicate():
                return 0, True
            while True:
                t = queue.peek_time()
                if t is None or (until is not None and t > until):
                    break
                if count >= max_events:
                    raise EventLimitExceeded(self._limit_message(max_events, until))
                event = queue.pop()
                assert event is not None
                self._now = event.time
                event.action()
                count += 1
                if predicate is not None and predicate():
                    return count, True
            if until is not None:
                self._now = until
            return count, predicate() if predicate is not None else False
        finally:
            self._running = False

    def _limit_message(self, max_events: int, until: float | None) -> str:
        target = "the queue to drain" if until is None else f"t={until}"
        lines = [
            f"{max_events} events processed by virtual time {self._now:.6f} s without reaching "
            f"{target} (a livelock, or pass a larger max_events); next events:"
        ]
        lines += [f"  {e.time:.6f} {e.describe}" for e in self._queue.upcoming(5)]
        lines.append("last datagrams:")
        lines += [f"  {r.summary()}" for r in self.trace[-5:]]
        return "\n".join(lines)

    # ---------------------------------------------------------- driver traffic

    def _flush_all(self) -> None:
        for slot in list(self._slots.values()):
            self._flush(slot)

    def _flush(self, slot: _Slot) -> None:
        if slot.dead:
            return
        for data, src, dst in slot.driver.datagrams_to_send(self._now):
            self._send(slot, data, src, dst)
        self._rearm(slot)

    def _rearm(self, slot: _Slot) -> None:
        if slot.dead:
            return
        t = slot.driver.get_timer()
        if t == slot.timer_at and (t is None or slot.timer is not None):
            return
        if t is not None and math.isnan(t):
            raise SimulationError(f"{slot.label}: get_timer() returned NaN")
        if slot.timer is not None:
            self._queue.cancel(slot.timer)
            slot.timer = None
        slot.timer_at = t
        if t is not None:
            slot.timer = self._queue.push(
                max(t, self._now), lambda: self._fire_timer(slot), f"timer of {slot.label}"
            )

    def _fire_timer(self, slot: _Slot) -> None:
        slot.timer = slot.timer_at = None
        slot.driver.handle_timer(self._now)
        self._flush(slot)

    def _send(self, slot: _Slot, data: bytes, src: Addr, dst: Addr) -> None:
        host = slot.host
        sip, dip = self._ip(src[0]), self._ip(dst[0])
        if sip in _WILDCARDS:
            sip = host.source_for(dip)
        elif self._owners.get(sip) is not host:
            raise SimulationError(f"{slot.label} sent from {sip}, an address its host lacks")
        if src[1] not in (0, host.udp_port):
            raise SimulationError(
                f"{slot.label} sent from UDP port {src[1]}; host {host.name} has {host.udp_port}"
            )
        if (src[1] == 0) != (dst[1] == 0):
            raise SimulationError(f"{slot.label}: raw IP needs port 0 on both sides: {src}->{dst}")
        if (":" in sip) != (":" in dip):
            raise SimulationError(f"{slot.label}: address families differ: {sip} -> {dip}")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SimulationError(f"{slot.label} sent {type(data).__name__}, not bytes")
        rec = TraceRecord(
            len(self.trace), self._now, host.name, (sip, src[1]), (dip, dst[1]), bytes(data), False
        )
        self.trace.append(rec)
        self._transmit(rec, slot, self._links.props(sip, dip))

    def _transmit(self, rec: TraceRecord, slot: _Slot, props: LinkProps) -> None:
        """Apply the link to a datagram just sent: drop it, signal, or schedule its arrival."""
        if props.blackhole:
            rec.fate = Fate.BLACKHOLED
            return
        if props.unreachable is not None:
            rec.fate = Fate.UNREACHABLE
            self._signal(rec, slot, props.unreachable, self._signal_delay(props))
            return
        if props.mtu is not None and _ip_size(rec) > props.mtu:
            rec.fate = Fate.TOO_BIG
            self._signal(rec, slot, UnreachableKind.FRAG_NEEDED, self._signal_delay(props))
            return
        rnd = self.random
        if props.loss and rnd.random() < props.loss:
            rec.fate = Fate.LOST
            return
        duplicate = bool(props.duplicate) and rnd.random() < props.duplicate
        self._schedule_arrival(rec, slot, props)
        if duplicate:
            copy = TraceRecord(
                len(self.trace), rec.sent, rec.host, rec.src, rec.dst, rec.data, True
            )
            self.trace.append(copy)
            self._schedule_arrival(copy, slot, props)

    def _signal_delay(self, props: LinkProps) -> float:
        return props.delay + (self.random.uniform(0, props.jitter) if props.jitter else 0.0)

    def _schedule_arrival(self, rec: TraceRecord, slot: _Slot, props: LinkProps) -> None:
        rnd = self.random
        latency = props.delay
        if props.jitter:
            latency += rnd.uniform(0.0, props.jitter)
        if props.reorder and rnd.random() < props.reorder:
            latency += rnd.uniform(0.0, props.reorder_delay)
        self._queue.push(
            self._now + latency, lambda: self._arrive(rec, slot), f"arrival of #{rec.seq}"
        )

    def _arrive(self, rec: TraceRecord, sender: _Slot) -> None:
        """A datagram reaches its destination address: find host, UDP port, SCTP port."""
        rec.arrived = now = self._now
        host = self._owners.get(rec.dst[0])
        if host is None:
            rec.fate = Fate.NO_HOST
            return
        if rec.dst[1] and rec.dst[1] != host.udp_port:
            rec.fate = Fate.PORT_UNREACHABLE
            back = self._links.props(rec.dst[0], rec.src[0])
            if not back.blackhole:
                self._signal(rec, sender, UnreachableKind.PORT, self._signal_delay(back))
            return
        data = rec.data
        driver = host.driver_for(int.from_bytes(data[2:4], "big")) if len(data) >= 4 else None
        if driver is None:
            rec.fate = Fate.NO_LISTENER
            host.unclaimed += 1
            if host.on_unclaimed is not None:
                host.on_unclaimed(data, rec.src, rec.dst, now)
                self._flush_all()
            return
        rec.fate = Fate.DELIVERED
        driver.receive(data, rec.src, rec.dst, now)
        self._flush(self._slots[id(driver)])

    def _signal(self, rec: TraceRecord, slot: _Slot, kind: UnreachableKind, delay: float) -> None:
        rec.signal, rec.signal_at = kind, self._now + delay
        quoted = rec.data[: _quote_limit(rec.dst)]
        dst = rec.dst

        def deliver() -> None:
            if not slot.dead:
                slot.driver.receive_unreachable(dst, kind, quoted, self._now)
                self._flush(slot)

        self._queue.push(rec.signal_at, deliver, f"{kind.value} signal for #{rec.seq}")

    # ------------------------------------------------------------------ trace

    def packets(
        self,
        *,
        src: AddrFilter | Host = None,
        dst: AddrFilter | Host = None,
        chunk: type[Any] | int | None = None,
        fate: Fate | Iterable[Fate] | None = None,
        since: float | None = None,
        until: float | None = None,
        duplicates: bool = True,
    ) -> list[TraceRecord]:
        """Trace records matching every filter given.

        ``src``/``dst``: an IP (str), a datagram address ``(ip, port)``, several IPs,
        or a Host (any of its addresses). ``chunk``: a chunk class of
        :mod:`sctpx.wire` (e.g. ``InitChunk``) or a chunk type number; only packets
        that parse and bundle such a chunk match. ``fate``: one or several. ``since``/
        ``until``: bounds on the send time (inclusive). ``duplicates=False`` leaves out
        the extra copies of duplicated datagrams.
        """
        return select(
            self.trace,
            src=self._addr_filter(src),
            dst=self._addr_filter(dst),
            chunk=chunk,
            fate=fate,
            since=since,
            until=until,
            duplicates=duplicates,
        )

    def _addr_filter(self, flt: AddrFilter | Host) -> AddrFilter:
        if flt is None:
            return None
        if isinstance(flt, Host):
            return flt.addresses
        if isinstance(flt, str):
            return self._ip(flt)
        if isinstance(flt, tuple) and len(flt) == 2 and isinstance(flt[1], int):
            return (self._ip(flt[0]), flt[1])
        return [self._ip(ip) for ip in flt]

    def stats(self) -> Counter[Fate]:
        """How many trace records ended in each fate."""
        return Counter(r.fate for r in self.trace)

    def format_trace(self, records: Iterable[TraceRecord] | None = None) -> str:
        """The trace (or ``records``) one line per datagram, for failure messages."""
        return "\n".join(r.summary() for r in (self.trace if records is None else records))

    def write_pcap(
        self, path: str | os.PathLike[str], *, at: Literal["sent", "arrived"] = "sent"
    ) -> int:
        """Write the trace to a pcap file (raw IP, see :mod:`sctpx.sim.pcap`); returns the
        number of packets written.

        ``at="sent"``: every datagram as its sender put it on the wire, at its send time
        (duplicate copies left out: duplication happens in the network). ``at="arrived"``:
        every copy that reached its destination address, at its arrival time, in order.
        """
        if at == "sent":
            chosen = [(r.sent, r) for r in self.trace if not r.duplicate]
        elif at == "arrived":
            chosen = sorted(
                ((r.arrived, r) for r in self.trace if r.arrived is not None),
                key=lambda p: (p[0], p[1].seq),
            )
        else:
            raise ValueError(f"at must be 'sent' or 'arrived', not {at!r}")
        with open(path, "wb") as f:
            writer = PcapWriter(f)
            for t, r in chosen:
                writer.write_datagram(t, r.src, r.dst, r.data)
        return len(chosen)


__all__ = ["ANY", "DEFAULT_MAX_EVENTS", "Network"]
