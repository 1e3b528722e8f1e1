"""The stack's counters and its testing and diagnostic aids (``blackhole``, ``tap``).

:class:`Hooks` is mixed into :class:`~sctpx.net.stack.Stack`; it keeps what only
tests, demos and diagnostics use out of the stack's own module.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..core.types import Addr, normalise_ip

if TYPE_CHECKING:
    from ..core import Endpoint

T = TypeVar("T")
log = logging.getLogger("sctpx.net")

# A tap (see Stack.tap): (wall-clock time, source, destination, SCTP packet, outgoing?).
Tap = Callable[[float, Addr, Addr, bytes, bool], None]


@dataclass
class StackStats:
    """Counters of the stack's own work (the core counts its drops in ``Endpoint.dropped``)."""

    received: int = 0  # datagrams read from our sockets
    sent: int = 0  # datagrams handed to the kernel
    unclaimed: int = 0  # no endpoint on the SCTP destination port (out of the blue, §8.4)
    ootb_replies: int = 0  # of those, answered (ABORT, SHUTDOWN COMPLETE)
    ootb_rate_limited: int = 0  # answers the rate limit held back
    malformed: int = 0  # shorter than an SCTP common header: dropped
    wrong_source: int = 0  # sent on a socket of another address of the same family
    no_socket: int = 0  # no socket of the datagram's family at all: dropped
    send_dropped: int = 0  # the kernel's send buffer was full: dropped (SCTP retransmits)
    send_errors: int = 0  # other errors of sendto (e.g. no route)
    unreachable: int = 0  # ICMP errors (and local no-route errors) given to the core
    icmp_ignored: int = 0  # error-queue entries not about one of our endpoints' packets
    read_errors: int = 0  # pending socket errors reported by recvfrom (see IP_RECVERR)
    wakeups: int = 0  # reader wake-ups
    max_batch: int = 0  # most datagrams read in one wake-up
    core_errors: int = 0  # exceptions from the core (bugs), logged and swallowed
    callback_errors: int = 0  # exceptions from on_events callbacks, logged and swallowed
    blackholed: int = 0  # datagrams dropped by Stack.blackhole (a testing aid)


class Hooks:
    """``blackhole()`` and ``tap()`` of a Stack."""

    stats: StackStats
    _holes: set[str]  # local IPs black-holed by blackhole() (testing aid)
    _tap: Tap | None  # see tap() (diagnostic aid)

    if TYPE_CHECKING:

        def call(self, fn: Callable[[float], T], *, endpoint: Endpoint | None = None) -> T: ...

    def blackhole(self, ip: str, on: bool = True) -> None:
        """Testing aid: make local address ``ip`` a black hole (``on=False`` lifts it).

        While on, every datagram this stack would send from ``ip`` and every
        datagram (and ICMP error) arriving on ``ip`` is silently discarded, as if
        a firewall dropped it: no error, no ICMP, nothing in the pcap or the tap;
        only ``stats.blackholed`` counts them. It lets a test or a demo cut one
        path of an association without privileges (no iptables). ``ip`` need not
        be bound yet. From any thread.
        """
        try:
            addr = normalise_ip(ip)
        except ValueError:
            raise OSError(errno.EINVAL, f"not an IP address: {ip!r}") from None

        def switch(now: float) -> None:
            if on:
                self._holes.add(addr)
            else:
                self._holes.discard(addr)

        self.call(switch)

    def tap(self, fn: Tap | None) -> None:
        """Diagnostic aid: call ``fn(time, src, dst, packet, outgoing)`` for every datagram.

        Called on the loop thread, after each datagram was handed to the kernel
        (``outgoing`` True) and before each received one goes to its endpoint,
        with the wall-clock time, the datagram addresses ``(ip, udp_port)`` and
        the SCTP packet: what ``pcap=`` records, live. Keep ``fn`` short, it
        delays the stack; its exceptions are logged and counted in
        ``stats.callback_errors``. ``None`` removes the tap.
        """
        self._tap = fn

    def _call_tap(self, src: Addr, dst: Addr, data: bytes, outgoing: bool) -> None:
        fn = self._tap
        if fn is None:
            return
        try:
            fn(time.time(), src, dst, data, outgoing)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("sctpx: error in the stack's tap")
