"""The SCTP endpoint: one port, its local addresses, its associations (RFC 9260 §2.1, §5.1, §8.4).

The sans-IO contract (as aioquic drives ``QuicConnection``): feed datagrams
with :meth:`Endpoint.receive` and unreachable signals with
:meth:`Endpoint.receive_unreachable`; call :meth:`Endpoint.handle_timer` at
:meth:`Endpoint.get_timer`; send what :meth:`Endpoint.datagrams_to_send`
returns; read :meth:`Endpoint.next_event`. Time always comes in as ``now``;
randomness from the injected generator.
"""

from __future__ import annotations

import errno
import random
from collections.abc import Sequence
from typing import Any

from .. import wire as w
from .arguments import local_addresses, message, need, peer_addresses, with_options
from .association import Association
from .config import Config, check_config
from .context import EndpointContext
from .cookie import CookieJar, CookieState
from .errors import UsageError, einval
from .events import DataReceived, Event
from .handshake import InitParams, Offer, init_ack_params, init_defect, read_params, scoped
from .ootb import OotbResponder, classify
from .states import SETUP_STATES, State
from .types import Addr, Datagram, UnreachableKind
from .types import normalise_ip as _normalise

# RFC 6458 §7.1: ids 0, 1, 2 are SCTP_FUTURE_ASSOC, SCTP_CURRENT_ASSOC, SCTP_ALL_ASSOC.
FIRST_ASSOC_ID = 3
MAX_COOKIE_PRESERVATIVE = 60.0  # seconds a peer may add to a cookie's life (§5.2.6)


# Production randomness: the OS's (os.urandom), as ``secrets`` uses. One instance for
# every endpoint: SystemRandom keeps no state, and making one seeds an unused
# Mersenne Twister (~12 µs, a tenth of opening an endpoint).
_SYSTEM_RANDOM = random.SystemRandom()


class Endpoint:
    """An SCTP endpoint bound to ``port`` on ``addresses`` (its IP addresses)."""

    def __init__(
        self,
        port: int,
        addresses: Sequence[str],
        *,
        rng: random.Random | None = None,
        config: Config | None = None,
        udp_port: int = 9899,
        now: float = 0.0,
        auto_consume: bool = True,
    ) -> None:
        # Argument errors: the same in both builds (core/arguments.py says how).
        need(isinstance(port, int) and isinstance(udp_port, int), "port: int")
        need(isinstance(now, (int, float)) and isinstance(auto_consume, bool), "now, flag")
        need(config is None or isinstance(config, Config), "config: Config")
        need(rng is None or isinstance(rng, random.Random), "rng: random.Random")
        if not 0 < port < 65536:
            raise einval(f"port {port} out of range")
        addrs = local_addresses(addresses)
        cfg = config or Config()
        check_config(cfg)
        rng = rng or _SYSTEM_RANDOM
        self.ctx = EndpointContext(
            port, addrs, udp_port, cfg, rng, CookieJar(rng, cfg.cookie_secret_life, now)
        )
        self.listening = False
        # True: taking a DataReceived from next_event() frees its bytes of the receive
        # window. False: the caller says when with consumed() (a socket layer does,
        # when its user really reads), so a slow reader closes the window (§6.2).
        self.auto_consume = auto_consume
        self.associations: dict[int, Association] = {}
        self._by_peer: dict[tuple[str, int], Association] = {}
        self._by_tag: dict[int, Association] = {}
        self._indexed: dict[int, tuple[int, list[tuple[str, int]], int]] = {}
        self._next_id = FIRST_ASSOC_ID
        self._dirty: dict[int, Association] = {}  # to flush before the next send or timer
        self.dropped = 0  # malformed or unclaimed packets silently discarded
        # §8.4: answers to out-of-the-blue packets, rate-limited per endpoint.
        self.ootb = OotbResponder()

    @property
    def port(self) -> int:
        return self.ctx.port

    @property
    def addresses(self) -> list[str]:
        return list(self.ctx.addresses)

    @property
    def config(self) -> Config:
        return self.ctx.cfg

    def set_addresses(self, addresses: Sequence[str]) -> None:
        """Our addresses from now on (a wildcard bind found new ones on the host).

        Associations set up later list them; those already up keep what they have
        (telling a peer of new addresses is ASCONF's job, RFC 5061, not done here).
        """
        self.ctx.set_addresses(local_addresses(addresses))

    def listen(self, on: bool = True) -> None:
        """Accept associations (answer INITs)."""
        need(isinstance(on, bool), "on: bool")
        self.listening = on

    # ----- the user's calls -----

    def connectx(
        self, peer_addrs: Sequence[tuple[str, int]], now: float, **options: Any
    ) -> int:
        """Start one association to a peer through its listed addresses; return its id.

        Options override :class:`Config` fields for this association (e.g.
        ``init_stagger``, ``max_init_retransmits``, ``max_init_timeo``,
        ``num_ostreams``, ``max_instreams``, ``remote_udp_ports``). Argument
        errors raise :class:`UsageError` and leave no trace (ERR-06).
        """
        need(isinstance(now, (int, float)), "now: float")
        ips, peer_port = peer_addresses(peer_addrs, self.ctx.families())
        for ip in ips:  # ERR-08: one association per peer
            other = self._by_peer.get((ip, peer_port))
            if other is not None:
                code = errno.EALREADY if other.state in SETUP_STATES else errno.EISCONN
                raise UsageError(code, f"{ip} already belongs to association {other.id}")
        cfg = with_options(self.ctx.cfg, options)
        assoc = Association(self.ctx, self._new_id(), cfg, peer_port)
        assoc.connect(ips, now)
        self._register(assoc)
        return assoc.id

    def _assoc(self, assoc_id: int) -> Association:
        need(isinstance(assoc_id, int), "assoc_id: int")
        a = self.associations.get(assoc_id)
        if a is None:
            raise einval(f"no association {assoc_id}")
        return a

    def find(self, peer: Sequence[object]) -> int | None:
        """The id of the association that has ``peer`` (ip, SCTP port) as an address, if any
        (None too for what is not an address)."""
        if not isinstance(peer, (tuple, list)) or len(peer) < 2:
            return None
        ip, port = peer[0], peer[1]
        if not isinstance(ip, str) or not isinstance(port, int):
            return None
        try:
            a = self._by_peer.get((_normalise(ip), port))
        except ValueError:
            return None
        return a.id if a is not None else None

    def association(self, assoc_id: int) -> Association:
        """The association with this id (for inspection)."""
        return self._assoc(assoc_id)

    def consumed(self, assoc_id: int, nbytes: int) -> None:
        """The user has read ``nbytes`` of data delivered by ``assoc_id`` (no-op if gone)."""
        need(isinstance(assoc_id, int) and isinstance(nbytes, int), "assoc_id, nbytes: int")
        a = self.associations.get(assoc_id)
        if a is not None and a.consumed(nbytes):
            self._dirty[a.id] = a  # a window update is due (§6.2)

    def set_primary(self, assoc_id: int, ip: str) -> None:
        """Make the confirmed peer address ``ip`` the primary path (SCTP_PRIMARY_ADDR)."""
        need(isinstance(assoc_id, int) and isinstance(ip, str), "assoc_id: int, ip: str")
        try:
            ip = _normalise(ip)
        except ValueError:
            raise einval(f"not an IP address: {ip!r}") from None
        self._assoc(assoc_id).set_primary(ip)

    def send(
        self,
        assoc_id: int,
        data: bytes | bytearray | memoryview,
        now: float,
        *,
        stream: int = 0,
        ppid: int = 0,
        unordered: bool = False,
        context: int = 0,
        ttl: float | None = None,
        max_retransmissions: int | None = None,
    ) -> None:
        """Queue one user message (RFC 6458 sctp_sendv with SndInfo and PrInfo in Python form).

        ``ppid`` is a host-order integer. ``ttl`` (seconds) and ``max_retransmissions``
        ask for partial reliability (RFC 3758), used when the peer supports it.
        Errors (EINVAL bad stream or empty message, EPIPE shutting down, ENOTCONN
        closed) raise and queue nothing.
        """
        need(
            isinstance(stream, int) and isinstance(ppid, int) and isinstance(context, int)
            and isinstance(unordered, bool) and isinstance(now, (int, float))
            and (ttl is None or isinstance(ttl, (int, float)))
            and (max_retransmissions is None or isinstance(max_retransmissions, int)),
            "stream, ppid, context: int, unordered: bool, now, ttl: float",
        )  # fmt: skip
        msg = message(data)
        if (ttl is not None and ttl < 0) or (
            max_retransmissions is not None and max_retransmissions < 0
        ):
            raise einval("ttl and max_retransmissions must not be negative")
        a = self._assoc(assoc_id)
        a.send(msg, stream, ppid, unordered, context, ttl, max_retransmissions, now)
        self._dirty[a.id] = a  # sent at the next datagrams_to_send: bundled (§6.10)

    def shutdown(self, assoc_id: int, now: float) -> None:
        need(isinstance(now, (int, float)), "now: float")
        a = self._assoc(assoc_id)
        a.shutdown(now)
        self._dirty[a.id] = a
        self._reindex(a)

    def abort(
        self, assoc_id: int, now: float, reason: bytes | bytearray | memoryview = b""
    ) -> None:
        need(isinstance(now, (int, float)), "now: float")
        why = message(reason, "reason")
        a = self._assoc(assoc_id)
        a.abort(now, why)
        self._reindex(a)

    # ----- sans-IO plumbing -----

    def _flush(self) -> None:
        """Let every association touched since the last flush send what it has due."""
        while self._dirty:
            _, a = self._dirty.popitem()
            a.flush(a.now)
            self._reindex(a)

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        self._flush()
        out, self.ctx.out = self.ctx.out, []
        return out

    def next_event(self) -> Event | None:
        """The next event; taking a DataReceived frees its bytes of the receive window."""
        if not self.ctx.events:
            return None
        ev = self.ctx.events.popleft()
        if self.auto_consume and isinstance(ev, DataReceived):
            a = self.associations.get(ev.assoc_id)
            if a is not None and a.consumed(len(ev.data)):
                self._dirty[a.id] = a  # a window update is due (§6.2)
        return ev

    def get_timer(self) -> float | None:
        self._flush()
        times = [t for a in self.associations.values() if (t := a.next_timer()) is not None]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        for a in list(self.associations.values()):
            t = a.next_timer()
            if t is not None and t <= now:
                a.now = now
                a.handle_timer(now)
                self._dirty[a.id] = a
                self._reindex(a)

    def receive_unreachable(
        self, dst: Addr, kind: UnreachableKind, quoted: bytes, now: float
    ) -> None:
        """An ICMP error (or ECONNREFUSED) about a packet we sent to ``dst`` (§10)."""
        if len(quoted) < 8:
            return
        peer_port = int.from_bytes(quoted[2:4], "big")
        a = self._by_peer.get((dst[0], peer_port))
        if a is not None:
            a.on_unreachable(dst[0], kind, quoted, now)
            self._dirty[a.id] = a
            self._reindex(a)

    def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
        """One datagram from ``src`` to our ``dst``. Malformed input is dropped, never raised."""
        try:
            packet = w.decode_packet(data)
        except w.ParseError:
            self.dropped += 1
            return
        if packet.dst_port != self.ctx.port or packet.src_port == 0 or not packet.chunks:
            self.dropped += 1
            return
        first = packet.chunks[0]
        assoc = self._by_peer.get((src[0], packet.src_port))
        kind = type(first)
        if (
            assoc is not None
            and (kind is w.DataChunk or kind is w.SackChunk)
            and packet.verification_tag == assoc.local_tag
        ):  # the data path: §8.5 tag check, nothing else to decide
            assoc.receive(packet, src, dst, now)
            d = assoc.data
            if d is not None and d.receiver.sack_now and d.receiver.tsn_map.has_gaps():
                # §6.7: while a gap persists, one SACK per packet, not one per batch read
                # (the sender's fast retransmit counts them, §7.2.4).
                self._dirty.pop(assoc.id, None)
                assoc.flush(now)
            else:
                self._dirty[assoc.id] = assoc
            if assoc.state is State.CLOSED:
                self._reindex(assoc)
            return
        if isinstance(first, w.InitChunk):
            self._on_init(packet, first, assoc, src, dst, now)
            return
        if isinstance(first, w.CookieEchoChunk):
            self._on_cookie_echo(packet, first, assoc, src, dst, now)
            return
        if assoc is None and isinstance(first, w.InitAckChunk):
            # IACK-07: an INIT ACK belongs to us by its tag and ports, whatever its source.
            cand = self._by_tag.get(packet.verification_tag)
            if cand is not None and cand.peer_port == packet.src_port:
                assoc = cand
        if assoc is None or (
            isinstance(first, w.ShutdownAckChunk) and assoc.state in SETUP_STATES
        ):  # §8.5.1 E: treated as out of the blue
            self._out_of_the_blue(packet, src, dst, now)
            return
        if not assoc.accepts(packet):
            self.dropped += 1  # §8.5: silently discarded
            return
        assoc.receive(packet, src, dst, now)
        self._dirty[assoc.id] = assoc
        self._reindex(assoc)

    # ----- INIT and COOKIE ECHO without a TCB (§5.1 B, D) -----

    def _on_init(
        self, packet: w.Packet, init: w.InitChunk, assoc: Association | None,
        src: Addr, dst: Addr, now: float,
    ) -> None:  # fmt: skip
        if packet.verification_tag != 0 or len(packet.chunks) != 1 or init.initiate_tag == 0:
            self.dropped += 1  # §8.5.1 A; §3.3.2: an Initiate Tag of 0 is silently discarded
            return
        p = read_params(init.params, self.ctx.families())
        if assoc is None:
            for ip in p.addresses:  # §5.2: from an address of an existing association?
                assoc = self._by_peer.get((ip, packet.src_port))
                if assoc is not None:
                    break
        if assoc is not None:
            offer = assoc.on_init(init, src, dst, now)
            if offer is not None:
                self._send_init_ack(packet, init, p, offer, src, dst, now, assoc)
            self._reindex(assoc)
            return
        if not self.listening:  # §8.4 rule 3: ABORT, tag = Initiate Tag, T bit 0
            self._out_of_the_blue(packet, src, dst, now)
            return
        # §5.1 B: answer statelessly; nothing is kept until a valid COOKIE ECHO.
        offer = Offer(self.ctx.new_tag(), self.ctx.rng.getrandbits(32))
        self._send_init_ack(packet, init, p, offer, src, dst, now, None)

    def _send_init_ack(
        self, packet: w.Packet, init: w.InitChunk, p: InitParams, offer: Offer, src: Addr,
        dst: Addr, now: float, assoc: Association | None,
    ) -> None:  # fmt: skip
        cfg = assoc.cfg if assoc is not None else self.ctx.cfg
        defect = init_defect(init, p)
        if defect is not None:
            self._send_abort(packet.src_port, init.initiate_tag, src, dst, defect)
            return
        peer_addrs = [src[0]] + [a for a in p.addresses if a != src[0]]
        extra = min(p.preservative_ms / 1000, MAX_COOKIE_PRESERVATIVE)
        cs = CookieState(
            created=now, lifetime=cfg.valid_cookie_life + extra, local_tag=offer.local_tag,
            peer_tag=init.initiate_tag, local_tsn=offer.local_tsn, peer_tsn=init.initial_tsn,
            peer_rwnd=init.a_rwnd, local_tie_tag=offer.local_tie_tag,
            peer_tie_tag=offer.peer_tie_tag, local_os=cfg.num_ostreams,
            local_mis=cfg.max_instreams, peer_os=init.outbound_streams,
            peer_mis=init.inbound_streams, local_port=self.port, peer_port=packet.src_port,
            peer_udp_port=src[1], peer_pr_sctp=p.pr_sctp, peer_idata=p.idata,
            peer_addrs=tuple(peer_addrs), local_ip=dst[0], peer_adaptation=p.adaptation,
            peer_reconfig=p.reconfig,
        )  # fmt: skip
        params = init_ack_params(
            scoped(self.ctx.addresses, [src[0]]), p, src[0], pr_sctp=cfg.pr_sctp,
            interleaving=cfg.interleaving, reconfig=cfg.reconfig,
        )  # fmt: skip
        params.append(w.StateCookieParam(self.ctx.jar.make(cs, now)))
        params += [w.UnrecognizedParam(u.tlv()) for u in p.unrecognized]  # §3.2.1
        ack = w.InitAckChunk(
            offer.local_tag, cfg.a_rwnd, cfg.num_ostreams, cfg.max_instreams, offer.local_tsn,
            tuple(params),
        )  # fmt: skip
        # MH-02: the INIT ACK goes back where the INIT came from, from where it arrived
        # (COL-01: in a collision, to an address our user listed).
        to = src if offer.reply_to in (None, src[0]) else (offer.reply_to, src[1])
        frm = dst[0] if to is src else self.ctx.source_for(to[0])
        self.ctx.send([ack], init.initiate_tag, packet.src_port, frm, to)

    def _on_cookie_echo(
        self, packet: w.Packet, echo: w.CookieEchoChunk, assoc: Association | None,
        src: Addr, dst: Addr, now: float,
    ) -> None:  # fmt: skip
        cs = self.ctx.jar.open(echo.cookie, now)
        if cs is None or packet.verification_tag != cs.local_tag:
            self.dropped += 1  # §5.1.5 step 2: forged or tampered; §8.5.1 D
            return
        if cs.local_port != self.port or cs.peer_port != packet.src_port:
            self.dropped += 1
            return
        if assoc is None:
            assoc = self._by_tag.get(cs.local_tag) or next(
                (a for ip in cs.peer_addrs if (a := self._by_peer.get((ip, cs.peer_port)))), None
            )
        if assoc is not None:
            opened = assoc.replies.open()  # the COOKIE ACK and the other chunks' replies
            more = assoc.on_cookie_echo(cs, src, dst, now)
            self._reindex(assoc)
            if more and assoc.state is not State.CLOSED:
                assoc.receive(packet, src, dst, now, first=1)
                self._dirty[assoc.id] = assoc
                self._reindex(assoc)
            if opened:
                assoc.end_packet()
            return
        if cs.staleness(now) > 0:  # §5.1.5 step 3
            stale = w.StaleCookieError(int(cs.staleness(now) * 1e6))
            self.ctx.send([w.ErrorChunk((stale,))], cs.peer_tag, packet.src_port, dst[0], src)
            return
        if any((ip, cs.peer_port) in self._by_peer for ip in cs.peer_addrs):
            return  # would make a second association with this peer (§1.3)
        assoc = Association(self.ctx, self._new_id(), self.ctx.cfg, cs.peer_port)
        assoc.replies.open()  # §6.10: the COOKIE ACK bundled with what the packet asks for
        assoc.from_cookie(cs, src, dst, now)
        self._register(assoc)
        assoc.receive(packet, src, dst, now, first=1)
        assoc.end_packet()
        self._dirty[assoc.id] = assoc
        self._reindex(assoc)

    # ----- out of the blue (§8.4) -----

    def _out_of_the_blue(self, packet: w.Packet, src: Addr, dst: Addr, now: float) -> None:
        """§8.4 for a packet to our port that no association claims (rules in .ootb)."""
        verdict = classify(packet, src[0], dst[0])
        d = self.ootb.answer(packet, verdict, src, dst, now)
        if d is not None:
            self.ctx.out.append(d)
        self.dropped += 1

    def _send_abort(
        self, peer_port: int, vtag: int, src: Addr, dst: Addr, causes: tuple[w.Cause, ...]
    ) -> None:
        self.ctx.send([w.AbortChunk(causes)], vtag, peer_port, dst[0], src)

    # ----- the association table -----

    def _new_id(self) -> int:
        while self._next_id in self.associations or self._next_id < FIRST_ASSOC_ID:
            self._next_id = (self._next_id + 1) & 0x7FFFFFFF
        aid = self._next_id
        self._next_id += 1
        return aid

    def _register(self, a: Association) -> None:
        self.associations[a.id] = a
        self._reindex(a)

    def _reindex(self, a: Association) -> None:
        """Keep the lookup tables in step with the association's tag, paths and state."""
        if a.state is State.CLOSED:
            self._unindex(a)
            self.associations.pop(a.id, None)
            return
        old = self._indexed.get(a.id)
        if old is not None and old[0] == a.version:
            return
        self._unindex(a)
        keys = [(ip, a.peer_port) for ip in a.paths]
        for k in keys:
            self._by_peer[k] = a
        self._by_tag[a.local_tag] = a
        self.ctx.tags_in_use.add(a.local_tag)
        self._indexed[a.id] = (a.version, keys, a.local_tag)

    def _unindex(self, a: Association) -> None:
        old = self._indexed.pop(a.id, None)
        if old is None:
            return
        for k in old[1]:
            if self._by_peer.get(k) is a:
                del self._by_peer[k]
        if self._by_tag.get(old[2]) is a:
            del self._by_tag[old[2]]
        self.ctx.tags_in_use.discard(old[2])
