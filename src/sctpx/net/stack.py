"""The Stack: a transport's sockets under sans-IO Endpoints, driven by one asyncio loop.

What one wake-up of the loop does (a *batch*):

1. the cause: a socket became readable (read every datagram that is ready,
   up to :data:`~.transport.MAX_READ_PER_WAKEUP`, then its error queue), the timer fired,
   or a function given to :meth:`Stack.call` / :meth:`Stack.call_soon` ran;
2. *settle*: send what every endpoint has to send, each packet through the
   transport (:mod:`.transport`: UDP or raw IP) from its source address; call
   ``on_events(ep)`` for every endpoint that may have new events; repeat while
   the callbacks produced more; then re-arm the single timer to the earliest
   ``get_timer()`` of all endpoints.

Calls nested inside a batch (``call`` from ``on_events`` or from a function
given to ``call``) run inline and leave the settling to the outermost batch.
See :mod:`sctpx.net.runner` for the threading rules.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from ..core import Config, Endpoint, OotbResponder
from ..core.states import SHUTDOWN_STATES
from ..core.types import Addr, Datagram, UnreachableKind, normalise_ip
from ..pcap import PcapWriter
from . import rawip, registry, udp
from .deadlines import Deadlines
from .hooks import Hooks, StackStats, Tap
from .registry import Entry, OnEvents
from .runner import LoopRunner, closed_error
from .transport import SocketTransport
from .udp import GSO_MAX_BYTES, GSO_MAX_SEGMENTS

T = TypeVar("T")
log = logging.getLogger("sctpx.net")

DEFAULT_UDP_PORT = 9899  # RFC 6951 §5.1: the IANA port sctp-tunneling
UDP_PORT_ENV = "SCTPX_UDP_PORT"
TRANSPORT_ENV = "SCTPX_TRANSPORT"
TRANSPORTS = ("udp", "ip")
# Settle rounds (send, notify, send ...) per batch before yielding to the loop.
MAX_SETTLE_ROUNDS = 64
SCTP_COMMON_HEADER = 12


def _env_udp_port() -> int:
    raw = os.environ.get(UDP_PORT_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_UDP_PORT
    port = int(raw)
    if not 0 <= port < 65536:
        raise ValueError(f"{UDP_PORT_ENV}={raw!r} is not a UDP port")
    return port


def _log_packet(what: str, data: bytes, src: Addr, dst: Addr) -> None:
    kind = data[12] if len(data) > 12 else -1
    log.debug("%s %d bytes %s:%d -> %s:%d, first chunk type %d", what, len(data), *src, *dst, kind)


_PCAP_USES = [0]  # how many stacks of this process took $SCTPX_PCAP


def _env_pcap() -> str | None:
    """$SCTPX_PCAP, with ".1", ".2" ... added for the second and later stacks of a process."""
    path = os.environ.get("SCTPX_PCAP")
    if not path:
        return None
    n = _PCAP_USES[0]
    _PCAP_USES[0] += 1
    return path if n == 0 else f"{path}.{n}"


def _make_transport(
    stack: Stack, transport: str | None, udp_port: int | None, allow_kernel_sctp: bool
) -> SocketTransport:
    """The stack's transport: ``transport`` or ``$SCTPX_TRANSPORT``, else UDP."""
    name = rawip.transport_env() if transport is None else transport
    if name not in TRANSPORTS:
        raise ValueError(f"transport {name!r}: not one of {', '.join(TRANSPORTS)}")
    if name == "ip":
        if udp_port:
            raise ValueError("udp_port is for the UDP transport, not transport='ip'")
        rawip.check_raw_sockets()
        if not allow_kernel_sctp and rawip.kernel_sctp_present():
            raise OSError(errno.EBUSY, rawip.KERNEL_SCTP_HELP)
        return rawip.IpTransport(stack)
    port = _env_udp_port() if udp_port is None else udp_port
    if not 0 <= port < 65536:
        raise ValueError(f"udp_port {port} out of range")
    return udp.UdpTransport(stack, port)


class Stack(Hooks):
    """An SCTP stack: a transport (UDP or raw IP) with sockets per address, one loop.

    ``transport``: ``"udp"`` (SCTP over UDP, RFC 6951; the default, no privileges)
    or ``"ip"`` (SCTP directly over IP; needs CAP_NET_RAW, ``PermissionError``
    otherwise, and refuses with ``OSError(EBUSY)`` where the kernel has SCTP itself
    unless ``allow_kernel_sctp``). ``None``: ``$SCTPX_TRANSPORT``, else UDP.
    See docs/transports.md.
    """

    def __init__(
        self,
        *,
        transport: str | None = None,
        udp_port: int | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        pcap: str | os.PathLike[str] | None = None,
        allow_kernel_sctp: bool = False,
    ) -> None:
        self._runner = LoopRunner(loop)
        self._transport = _make_transport(self, transport, udp_port, allow_kernel_sctp)
        self._eps: dict[int, Entry] = {}  # by SCTP port
        self._notify: dict[int, Entry] = {}  # endpoints that may have new events
        # Endpoints a batch touched: flushed and their timers re-read when it settles
        # (with _touch_all: every endpoint, after a call that may have touched any).
        self._touched: dict[int, Entry] = {}
        self._touch_all = False
        self._deadlines = Deadlines()  # each endpoint's next timer, as last read
        self._unreach: list[tuple[Addr, UnreachableKind, bytes]] = []  # local send errors
        self._depth = 0  # > 0 while a batch runs (nested calls do not settle)
        self._ootb = OotbResponder()  # RFC 9260 §8.4 for ports with no endpoint
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when: float | None = None
        self._last_now = 0.0
        self._closed = False
        self.stats = StackStats()
        self._holes: set[str] = set()  # local IPs black-holed by blackhole() (testing aid)
        self._tap: Tap | None = None  # see tap() (diagnostic aid)
        self._pcap_file: BinaryIO | None = None
        self._pcap: PcapWriter | None = None
        if pcap is None:
            pcap = _env_pcap()  # SCTPX_PCAP=file captures any program's traffic
        if pcap is not None:
            self._pcap_file = open(pcap, "wb")  # noqa: SIM115 - closed by close()
            self._pcap = PcapWriter(self._pcap_file)
            atexit.register(self._flush_pcap)  # a program that never closes its stack

    # ------------------------------------------------------------------ public API

    @property
    def udp_port(self) -> int:
        """The local UDP encapsulation port (0 until the first bind when asked for
        ephemeral; always 0 over raw IP)."""
        return self._transport.port

    @property
    def transport(self) -> str:
        """``"udp"`` or ``"ip"``."""
        return self._transport.name

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The stack's event loop (an own loop starts here on first use)."""
        return self._runner.loop

    @property
    def closed(self) -> bool:
        return self._runner.closed

    @property
    def endpoints(self) -> list[Endpoint]:
        """The registered endpoints (a snapshot)."""
        return [e.ep for e in list(self._eps.values())]

    @property
    def sockets(self) -> dict[str, socket.socket]:
        """The transport's bound sockets by local IP (a snapshot, for diagnostics)."""
        return {ip: us.sock for ip, us in list(self._transport.socks.items())}

    @property
    def udp_sockets(self) -> dict[str, socket.socket]:
        """The bound UDP sockets by local IP (a snapshot; empty over raw IP)."""
        return self.sockets if self._transport.name == "udp" else {}

    def now(self) -> float:
        """The clock given to the core: the loop's monotonic time, in seconds."""
        return max(self._runner.loop.time(), self._last_now)

    def call(self, fn: Callable[[float], T], *, endpoint: Endpoint | None = None) -> T:
        """Run ``fn(now)`` on the loop thread, then settle; return its result or raise.

        Inline on the loop thread (also from inside ``on_events``). After a
        top-level call every endpoint is flushed and offered to its ``on_events``;
        with ``endpoint``, the caller promises that ``fn`` touches only that one,
        and only it is (cheaper when the stack holds many endpoints).
        Raises ``OSError(EBADF)`` once the stack is closed.
        """
        return self._runner.run(lambda: self._invoke(fn, notify_all=True, endpoint=endpoint))

    def call_soon(self, fn: Callable[[float], object], *, endpoint: Endpoint | None = None) -> None:
        """Like :meth:`call` without waiting; from any thread. Errors are logged."""
        self._runner.post(lambda: self._invoke(fn, notify_all=True, endpoint=endpoint))

    def open_endpoint(
        self, port: int, addresses: list[str], config: Config | None, on_events: OnEvents
    ) -> Endpoint:
        """Register a new Endpoint on SCTP ``port`` (0: a free ephemeral one) and ``addresses``.

        Opens a socket (UDP on ``(ip, udp_port)``, or raw IP) for every address not yet served.
        Errors: EADDRINUSE (SCTP port taken here, or the UDP bind), EADDRNOTAVAIL,
        EACCES, EINVAL (bad addresses or config); nothing stays open after one.
        ``on_events(ep)`` runs on the loop thread whenever ``ep`` may have events:
        after a datagram, timer or ICMP error it processed, and after every
        top-level :meth:`call` / :meth:`call_soon` (which may have touched any
        endpoint). Spurious calls are allowed; the callback drains ``ep.next_event()``.
        """
        return self._runner.run(
            lambda: self._invoke(
                lambda now: self._open(port, addresses, config, on_events, now), touches=False
            )
        )

    def close_endpoint(self, ep: Endpoint) -> None:
        """Send what ``ep`` still has queued, unregister it and close sockets no one needs."""
        if self._runner.closed:
            return
        with contextlib.suppress(OSError):  # closed meanwhile: nothing left to do
            self._runner.run(
                lambda: self._invoke(lambda now: self._close_ep(ep, now), touches=False)
            )

    @staticmethod
    def route_source(peer_ip: str) -> str:
        """The local IP the OS would use to reach ``peer_ip`` (nothing is sent)."""
        try:
            ip = normalise_ip(peer_ip)
        except ValueError:
            raise OSError(errno.EINVAL, f"not an IP address: {peer_ip!r}") from None
        return normalise_ip(udp.route_source(ip))

    # ------------------------------------------------------------------ testing aids

    def _flush_pcap(self) -> None:
        f = self._pcap_file
        if f is not None:
            with contextlib.suppress(OSError, ValueError):
                f.flush()

    def close(self, linger: float = 2.0) -> None:
        """Close every socket and stop the own loop thread; safe from any thread, idempotent.

        From another thread, graceful SHUTDOWNs under way get up to ``linger`` seconds
        to finish first, so a program that closes its sockets and then its stack (or
        exits: the default stack is closed at exit) does not leave its peers hanging.
        """
        if self._eps and not self._closed and not self._runner.on_loop_thread() and linger > 0:
            self._linger(linger)
        self._runner.close(self._shutdown)

    def _linger(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds

        def busy(now: float) -> bool:
            return any(
                a.state in SHUTDOWN_STATES for e in self._eps.values()
                for a in e.ep.associations.values()
            )  # fmt: skip

        while time.monotonic() < deadline:
            try:
                if not self.call(busy):
                    return
            except OSError:
                return
            time.sleep(0.01)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._eps)} endpoints"
        where = f"udp_port={self.udp_port}" if self.transport == "udp" else "ip"
        return f"<Stack {where} {state}>"

    # ------------------------------------------------------------------ batches

    def _clock(self) -> float:
        """``now`` for the core: the loop's time, never going backwards."""
        now = self._runner.loop.time()
        if now < self._last_now:
            return self._last_now
        self._last_now = now
        return now

    def _invoke(
        self, fn: Callable[[float], T], notify_all: bool = False,
        endpoint: Endpoint | None = None, touches: bool = True,
    ) -> T:  # fmt: skip
        """Run ``fn(now)`` as a batch (or inside the running one).

        What it may have touched: ``endpoint`` only, or every endpoint (``touches``),
        or nothing the stack must look at (``touches=False``: it says so itself).
        """
        if self._closed:
            raise closed_error()
        with self._batch() as top:
            try:
                return fn(self._clock())
            finally:
                entry = self._eps.get(endpoint.port) if endpoint is not None else None
                if entry is not None and entry.ep is endpoint:
                    self._touched[entry.ep.port] = entry
                    if top and notify_all:
                        self._notify[entry.ep.port] = entry
                elif touches:
                    self._touch_all = True
                    if top and notify_all:
                        self._notify.update(self._eps)

    @contextlib.contextmanager
    def _batch(self) -> Iterator[bool]:
        """Run the body; the outermost batch settles afterwards. Yields "outermost?"."""
        top = self._depth == 0
        self._depth += 1
        try:
            yield top
        finally:
            self._depth -= 1
            if top and not self._closed:
                self._settle()

    def _settle(self) -> None:
        """Send, notify, send again until quiet; then re-arm the timer."""
        for _ in range(MAX_SETTLE_ROUNDS):
            self._send_touched()
            if self._unreach:
                self._deliver_local_unreachable()
                continue
            if not self._notify:
                break
            pending, self._notify = self._notify, {}
            self._depth += 1  # calls from callbacks run inline without settling
            try:
                for port, entry in pending.items():
                    if self._eps.get(port) is entry:
                        self._callback(entry)
                        self._touched[port] = entry  # on_events may have used its endpoint
            finally:
                self._depth -= 1
            if self._closed:
                return
        else:  # still busy: continue at the next turn, let the loop breathe
            self._runner.loop.call_soon(self._resettle)
        self._rearm()

    def _resettle(self) -> None:
        if not self._closed:
            with self._batch():
                pass

    def _callback(self, entry: Entry) -> None:
        try:
            entry.on_events(entry.ep)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("sctpx: error in on_events of endpoint %d", entry.ep.port)

    # ------------------------------------------------------------------ endpoints

    def _open(
        self,
        port: int,
        addresses: list[str],
        config: Config | None,
        on_events: OnEvents,
        now: float,
    ) -> Endpoint:
        ips, wildcard = registry.check_addresses(addresses)
        if not 0 <= port < 65536:
            raise OSError(errno.EINVAL, f"SCTP port {port} out of range")
        if port in self._eps:
            raise OSError(errno.EADDRINUSE, f"SCTP port {port} is in use by this stack")
        port, claim = registry.claim(self._transport, port, ips, self._eps)
        try:
            self._transport.open(ips)
            try:
                cfg = registry.config_for(self._transport, config)
                ep = Endpoint(
                    port, ips, config=cfg, udp_port=self._transport.port, now=now,
                    auto_consume=False,
                )  # fmt: skip
            except BaseException:
                self._transport.release_addresses(ips)
                raise
        except BaseException:
            self._transport.release(claim)
            raise
        entry = Entry(ep, ips, on_events, claim, wildcard, now)
        self._eps[port] = self._touched[port] = entry
        return ep

    def refresh_addresses(self, ep: Endpoint) -> None:
        """A wildcard endpoint takes the host's new addresses (on the loop; see registry)."""
        entry = self._eps.get(ep.port)
        if entry is not None and entry.ep is ep:
            registry.refresh(entry, self._transport, self._clock())

    def _close_ep(self, ep: Endpoint, now: float) -> None:
        entry = self._eps.get(ep.port)
        if entry is None or entry.ep is not ep:
            return
        self._transmit(entry.ep, now)  # an ABORT or SHUTDOWN queued just before leaves
        del self._eps[ep.port]
        self._notify.pop(ep.port, None)
        self._touched.pop(ep.port, None)
        self._deadlines.set(ep.port, None)
        self._transport.release_addresses(entry.ips)
        for claim in entry.claims:
            self._transport.release(claim)

    def _shutdown(self) -> None:
        """On the loop thread (or with no loop running): send what is queued, close everything."""
        if self._closed:
            return
        if self._runner.started:
            with contextlib.suppress(Exception):
                self._touch_all = True  # best effort: queued ABORTs and SHUTDOWNs leave
                self._send_touched()
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_when = None
        self._transport.close()
        for entry in self._eps.values():
            for claim in entry.claims:
                self._transport.release(claim)
        self._eps.clear()
        self._notify.clear()
        if self._pcap_file is not None:
            with contextlib.suppress(OSError):
                self._pcap_file.close()
            self._pcap_file = self._pcap = None

    # ------------------------------------------------------------------ sending

    def _send_touched(self) -> None:
        """Flush the endpoints this batch touched (and those with events), note their timers."""
        now = self._clock()
        if self._touch_all:
            entries = list(self._eps.values())
        else:
            entries = list({**self._touched, **self._notify}.values())
        self._touch_all = False
        self._touched.clear()
        for entry in entries:
            port = entry.ep.port
            if self._eps.get(port) is not entry:
                continue  # closed meanwhile
            self._transmit(entry.ep, now)
            try:
                self._deadlines.set(port, entry.ep.get_timer())
            except Exception:
                self.stats.core_errors += 1
                log.exception("sctpx: the core failed in get_timer")

    def _transmit(self, ep: Endpoint, now: float) -> None:
        try:
            out = ep.datagrams_to_send(now)
        except Exception:
            self.stats.core_errors += 1
            log.exception("sctpx: the core failed in datagrams_to_send")
            return
        if len(out) > 1 and self._transport.runs and self._tap is None:
            self._send_runs(out)
            return
        for datagram in out:
            self._send(datagram)

    def _send_runs(self, out: list[Datagram]) -> None:
        """Send ``out`` in order, runs of same-sized packets to one destination from one
        source in one system call each where the transport can (UDP_SEGMENT)."""
        i, n = 0, len(out)
        send_run = self._transport.send_run
        while i < n:
            data, src, dst = out[i]
            size = len(data)
            j = i + 1
            total = size
            while j < n and j - i < GSO_MAX_SEGMENTS:
                d2, s2, t2 = out[j]
                if (
                    s2[0] != src[0]
                    or t2 != dst
                    or len(d2) > size
                    or total + len(d2) > GSO_MAX_BYTES
                ):
                    break
                total += len(d2)
                j += 1
                if len(d2) < size:
                    break  # a shorter packet ends a run
            if j - i < 2:
                self._send(out[i])
                i += 1
                continue
            run = out[i:j]
            ip = send_run([d for d, _s, _t in run], src[0], dst)
            if ip is None:  # not sent: one by one, with send()'s error handling
                for datagram in run:
                    self._send(datagram)
            else:
                for datagram in run:
                    self._sent(datagram[0], ip, datagram[2])
            i = j

    def _send(self, datagram: Datagram) -> None:
        """Send one packet through the transport, from its source address.

        RFC 6951 §5.3: over UDP the source port is the stack's encapsulation port
        (every socket is bound to it) and the destination port the one the core keeps
        for that destination; the kernel computes the UDP checksum.
        """
        data, src, dst = datagram
        ip = self._transport.send(data, src[0], dst)
        if ip is not None:
            self._sent(data, ip, dst)

    def _sent(self, data: bytes, ip: str, dst: Addr) -> None:
        """Bookkeeping of one packet that left from ``ip``: counts, log, pcap, tap."""
        tr = self._transport
        self.stats.sent += 1
        local = (ip, tr.port)
        if tr.port == 0:
            dst = (dst[0], 0)
        if log.isEnabledFor(logging.DEBUG):
            _log_packet("sent", data, local, dst)
        if self._pcap is not None:
            with contextlib.suppress(ValueError):
                self._pcap.write_datagram(time.time(), local, dst, data)
        if self._tap is not None:
            self._call_tap(local, dst, data, True)

    def _local_unreachable(self, dst: Addr, kind: UnreachableKind, data: bytes) -> None:
        """A send found no route: given to the core when the batch settles."""
        self._unreach.append((dst, kind, data))

    def _icmp(self, dst: Addr, kind: UnreachableKind, quoted: bytes) -> None:
        self._unreachable(dst, kind, quoted, self._clock())

    def _deliver_local_unreachable(self) -> None:
        signals, self._unreach = self._unreach, []
        now = self._clock()
        for dst, kind, data in signals:
            self._unreachable(dst, kind, data, now)

    def _unreachable(self, dst: Addr, kind: UnreachableKind, quoted: bytes, now: float) -> None:
        """Give an unreachable signal to the endpoint whose port sent the quoted packet."""
        if len(quoted) < 8:
            self.stats.icmp_ignored += 1
            return
        entry = self._eps.get(int.from_bytes(quoted[0:2], "big"))
        if entry is None:
            self.stats.icmp_ignored += 1
            return
        self.stats.unreachable += 1
        try:
            entry.ep.receive_unreachable(dst, kind, quoted, now)
        except Exception:
            self.stats.core_errors += 1
            log.exception("sctpx: the core failed in receive_unreachable")
        self._notify[entry.ep.port] = entry

    # ------------------------------------------------------------------ receiving

    def _deliver(self, data: bytes, src: Addr, dst: Addr) -> None:
        """Demultiplex one datagram by its SCTP destination port (RFC 6951 §5.4)."""
        if log.isEnabledFor(logging.DEBUG):
            _log_packet("received", data, src, dst)
        if self._pcap is not None:
            with contextlib.suppress(ValueError):
                self._pcap.write_datagram(time.time(), src, dst, data)
        if self._tap is not None:
            self._call_tap(src, dst, data, False)
        if len(data) < SCTP_COMMON_HEADER:
            self.stats.malformed += 1
            return
        port = (data[2] << 8) | data[3]
        entry = self._eps.get(port)
        if entry is None:
            self._out_of_the_blue(data, src, dst, port)
            return
        if entry.wildcard is not None and len(data) > SCTP_COMMON_HEADER and data[12] == 1:
            self.refresh_addresses(entry.ep)  # an INIT: a new association's set-up
        try:
            entry.ep.receive(data, src, dst, self._clock())
        except Exception:
            self.stats.core_errors += 1
            log.exception("sctpx: the core failed in receive")
        self._notify[entry.ep.port] = entry

    def _out_of_the_blue(self, data: bytes, src: Addr, dst: Addr, port: int) -> None:
        """No endpoint on the SCTP port: answer as RFC 9260 §8.4 says (rate-limited).

        Over raw IP another stack may serve the port on the same address (it gets the
        same packets): then the packet is its business, not out of the blue.
        """
        stats = self.stats
        stats.unclaimed += 1
        if self._transport.served_elsewhere(dst[0], port):
            return
        ootb = self._ootb
        limited = ootb.rate_limited
        for datagram in ootb.reply(data, src, dst, self._clock()):
            stats.ootb_replies += 1
            self._send(datagram)
        stats.ootb_rate_limited += ootb.rate_limited - limited

    # ------------------------------------------------------------------ the timer

    def _rearm(self) -> None:
        """One timer for the whole stack, at the earliest deadline of all endpoints."""
        if self._closed:
            return
        when = self._deadlines.earliest()
        if when == self._timer_when and (when is None or self._timer is not None):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_when = when
        self._timer = None if when is None else self._runner.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        # asyncio may fire a little before ``when`` (clock resolution): never give the
        # core a time before its deadline, or it would do nothing and we would spin.
        due = self._timer_when or 0.0
        self._timer = self._timer_when = None
        if self._closed:
            return
        if due > self._last_now:
            self._last_now = due
        with self._batch():
            now = self._clock()
            for port in self._deadlines.pop_due(now):
                entry = self._eps.get(port)
                if entry is None:
                    continue
                self._notify[port] = entry  # flushed and its timer read again when settling
                try:
                    entry.ep.handle_timer(now)
                except Exception:
                    self.stats.core_errors += 1
                    log.exception("sctpx: the core failed in handle_timer")


_default: Stack | None = None
_default_lock = threading.Lock()


def default_stack() -> Stack:
    """The process's shared Stack (UDP port from ``SCTPX_UDP_PORT`` or 9899), made on first use.

    A closed default stack is replaced by a new one.
    """
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Stack()
            atexit.register(_default.close)  # let last SHUTDOWNs finish at exit
        return _default
