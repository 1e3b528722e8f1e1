"""One SCTP association: the RFC 9260 state machine as a conductor.

It reads chunks addressed to it and hands each to a short handler; paths,
heartbeats and failure detection live in :mod:`.pathmgr`; parameter reading
in :mod:`.handshake`; every state change goes through :meth:`_set_state`,
which checks it against :data:`.states.TRANSITIONS`.

Timer keys: ``("t1", ip)`` T1-init per destination, ``("t1c", ip)`` T1-cookie,
``("stagger",)`` sctpx's staggered INIT, ``("t2",)`` T2-shutdown, ``("t5",)``
T5-shutdown-guard, plus those of the path manager and ``("reconf",)`` (core.reconfig).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Hashable
from typing import Any

from .. import wire as w
from .config import Config
from .context import EndpointContext
from .cookie import CookieState
from .datapath import DataPath
from .errors import UsageError, einval
from .events import (
    AdaptationIndication,
    AssocChange,
    AssocChangeState,
    RemoteError,
    SendFailed,
)
from .handshake import (
    Offer,
    address_param,
    init_ack_defect,
    init_params,
    quote_is_ours,
    read_params,
    scoped,
)
from .path import Path
from .pathmgr import PathManager
from .reconfig import RECONF_STATES, Reconfig
from .replies import Replies
from .states import (
    DATA_OUT_STATES,
    SETUP_STATES,
    SHUTDOWN_STATES,
    UP_STATES,
    State,
    check_transition,
)
from .teardown import Teardown
from .timers import Timers
from .types import Addr, UnreachableKind
from .userdata import check_retrans_limits, on_data, on_forward_tsn, on_sack

S = State
log = logging.getLogger("sctpx.core")


class Association(Teardown):
    """The TCB of one association (RFC 9260 §14) and the rules that drive it."""

    def __init__(self, ctx: EndpointContext, assoc_id: int, cfg: Config, peer_port: int) -> None:
        self.ctx = ctx
        self.id = assoc_id
        self.cfg = cfg
        self.state = S.CLOSED
        self.timers = Timers()
        self.pm = PathManager(ctx, assoc_id, self.timers)
        self.pm.cfg = cfg
        self.pm.peer_port = peer_port
        self.peer_port = peer_port
        self.replies = Replies(ctx, self.pm)
        self.local_tag = 0
        self.local_tsn = 0  # our Initial TSN
        self.peer_tsn = 0  # the peer's Initial TSN
        self.peer_rwnd = 0
        self.local_tie_tag = 0
        self.peer_tie_tag = 0
        self.outbound_streams = 0
        self.inbound_streams = 0
        self.peer_pr_sctp = False
        self.peer_adaptation: int | None = None
        self.peer_reconfig = False
        self.interleaving = False  # RFC 8260: I-DATA negotiated (both announced it)
        self.reconf: Reconfig | None = None  # RFC 6525 requests, both ways
        self.listed: list[str] = []
        self.version = 0  # bumped when tags or addresses change, for the endpoint's indexes
        # Set-up (§5.1): the INIT is built once and resent byte for byte (INIT-06).
        self._init_packet = b""
        self._init_sends = 0
        self._init_retransmits = 0
        self._init_sent_at: dict[str, float] = {}
        self._cursor = 0
        self._cookie_chunks: list[w.Chunk] = []
        self._cookie_sends = 0
        self._cookie_sent_at = 0.0
        self._cookie_dst = ""
        self._preservative_ms = 0
        self._last_refusal = UnreachableKind.PORT
        self._t2_dst = self._shutdown_src = ""
        self._shutdown_requested = False
        self.data: DataPath | None = None  # user data, from the INIT ACK or cookie on
        self._early: list[tuple[bytes, int, int, bool, int, float | None, int | None]] = []
        self.now = 0.0  # the latest time the association was called with
        self._last_src: Addr = ("", 0)
        self._last_dst: Addr = ("", 0)

    # ----- small helpers -----

    @property
    def paths(self) -> dict[str, Path]:
        return self.pm.paths

    @property
    def peer_tag(self) -> int:
        return self.pm.peer_tag

    @peer_tag.setter
    def peer_tag(self, tag: int) -> None:
        self.pm.peer_tag = tag

    def _set_state(self, new: State) -> None:
        check_transition(self.state, new)
        if new is not self.state:
            log.info("association %d: %s -> %s", self.id, self.state.value, new.value)
        self.state = new
        self.version += 1

    def _comm_up(self, how: AssocChangeState) -> None:
        """COMM_UP / RESTART, then the peer's adaptation layer if it named one (RFC 6458 §6.1.6)."""
        self._event(how)
        if self.peer_adaptation is not None:
            self.ctx.events.append(AdaptationIndication(self.id, self.peer_adaptation))

    def _event(
        self, state: AssocChangeState, error: int = 0, causes: tuple[w.Cause, ...] = ()
    ) -> None:
        self.ctx.events.append(
            AssocChange(self.id, state, error, self.outbound_streams, self.inbound_streams, causes)
        )

    def _close(
        self, state: AssocChangeState, error: int = 0, causes: tuple[w.Cause, ...] = ()
    ) -> None:
        """Delete the TCB (§9.1) and tell the user how it ended."""
        self.timers.stop_all()
        if self.data is not None:  # every message not yet acknowledged goes back
            self.data.fail_all(error or errno.ETIMEDOUT)
        self._set_state(S.CLOSED)
        self._event(state, error, causes)

    def _reply(self, chunks: list[w.Chunk], vtag: int, src: Addr, dst: Addr) -> None:
        """Answer ``src`` from ``dst`` (MH-02, §5.4): bundled if a packet is being read."""
        self.replies.send(chunks, vtag, src, dst)

    def end_packet(self) -> None:
        """Send the replies collected since ``replies.open()``, bundled up to the MTU."""
        self.replies.close(self.data if self.state is not S.CLOSED else None, self.cfg.mtu)

    def is_open(self) -> bool:
        return self.state is not S.CLOSED

    def next_timer(self) -> float | None:
        return self.timers.next()

    # ----- set-up: the initiator (§5.1 A, C, E; T1-*, connectx) -----

    def connect(self, addrs: list[str], now: float) -> None:
        """Start set-up through the listed addresses, all CONFIRMED (§5.4 rule 1)."""
        cfg = self.cfg
        for ip in addrs:
            port = cfg.remote_udp_ports.get(ip, cfg.remote_udp_port)
            self.pm.add(ip, port, confirmed=True, listed=True)
        self.listed = list(addrs)
        self.local_tag = self.ctx.new_tag()
        self.local_tsn = self.ctx.rng.getrandbits(32)
        self._build_init()
        self._set_state(S.COOKIE_WAIT)
        self._send_init(addrs[0], now)

    def _build_init(self) -> None:
        cfg = self.cfg
        params = init_params(
            scoped(self.ctx.addresses, self.listed), pr_sctp=cfg.pr_sctp,
            interleaving=cfg.interleaving, reconfig=cfg.reconfig,
        )  # fmt: skip
        if self._preservative_ms:  # INIT-09, §5.2.6 option 3
            params.append(w.CookiePreservativeParam(self._preservative_ms))
        init = w.InitChunk(
            self.local_tag, cfg.a_rwnd, cfg.num_ostreams, cfg.max_instreams, self.local_tsn,
            tuple(params),
        )  # fmt: skip
        # INIT-01: Verification Tag 0, the INIT alone in its packet.
        self._init_packet = w.encode_packet(w.Packet(self.ctx.port, self.peer_port, 0, [init]))

    def _send_init(self, ip: str, now: float) -> None:
        p = self.paths[ip]
        src = self.pm.source(ip)
        self.ctx.out.append((self._init_packet, (src, self.ctx.udp_port), (ip, p.udp_port)))
        self._init_sends += 1
        self._init_sent_at[ip] = now
        self.timers.start(("t1", ip), now + p.rto.rto)  # T1-02: the destination's RTO
        self._cursor = self.listed.index(ip) + 1
        if self.cfg.init_stagger > 0 and self._untried():
            self.timers.start(("stagger",), now + self.cfg.init_stagger)
        else:
            self.timers.stop(("stagger",))

    def _untried(self) -> list[str]:
        return [
            ip for ip in self.listed
            if ip in self.paths and ip not in self._init_sent_at and not self.paths[ip].init_failed
        ]  # fmt: skip

    def _next_init_target(self) -> str | None:
        """Untried listed addresses first, then round-robin in list order (T1-05, T1-06)."""
        untried = self._untried()
        if untried:
            return untried[0]
        n = len(self.listed)
        for k in range(n):
            ip = self.listed[(self._cursor + k) % n]
            if ip in self.paths and not self.paths[ip].init_failed:
                return ip
        return None

    def _resend_init(self, now: float) -> None:
        """One more INIT, counted against Max.Init.Retransmits for the association (T1-08)."""
        self._init_retransmits += 1
        if self._init_retransmits > self.cfg.max_init_retransmits:
            self._close(AssocChangeState.CANT_STR_ASSOC, errno.ETIMEDOUT)  # T1-04
            return
        ip = self._next_init_target()
        if ip is None:
            self._fail_refused()
            return
        self._send_init(ip, now)

    def _on_t1_init(self, ip: str, now: float) -> None:
        p = self.paths.get(ip)
        if p is not None:
            p.rto.back_off(self.cfg.init_rto_cap())  # T1-03, per destination (T1-07)
        self._resend_init(now)

    def _on_stagger(self, now: float) -> None:
        """sctpx: no INIT ACK within init_stagger of the last INIT: try the next address too.

        Decision (D8 of the coverage audit): a staggered INIT is the first INIT to its
        address, not a retransmission, so it does not count against
        Max.Init.Retransmits; only T1 expiries do. Every listed address gets an INIT
        and giving up takes as many T1 rounds as without staggering.
        """
        untried = self._untried()
        if self.state is S.COOKIE_WAIT and untried:
            self._send_init(untried[0], now)

    def _fail_refused(self) -> None:
        kind = self._last_refusal
        err = {
            UnreachableKind.HOST: errno.EHOSTUNREACH,
            UnreachableKind.NET: errno.ENETUNREACH,
        }.get(kind, errno.ECONNREFUSED)
        self._close(AssocChangeState.CANT_STR_ASSOC, err)

    def _on_init_ack(self, chunk: w.InitAckChunk, src: Addr, dst: Addr, now: float) -> None:
        if self.state is not S.COOKIE_WAIT:
            return  # §5.2.3, IACK-01
        p = read_params(chunk.params, self.ctx.families())
        defect = init_ack_defect(chunk, p)
        if defect is not None:  # IACK-02: ABORT with the INIT ACK's tag, set-up fails
            self._reply([w.AbortChunk(defect)], chunk.initiate_tag, src, dst)
            self._close(AssocChangeState.CANT_STR_ASSOC, errno.EPROTO, defect)
            return
        self.peer_tag = chunk.initiate_tag
        self.peer_tsn = chunk.initial_tsn
        self.peer_rwnd = chunk.a_rwnd
        self.peer_pr_sctp = p.pr_sctp and self.cfg.pr_sctp
        self.peer_reconfig = p.reconfig and self.cfg.reconfig
        self.interleaving = p.idata and self.cfg.interleaving  # RFC 8260 §2.2.1
        self.peer_adaptation = p.adaptation
        self.outbound_streams = min(self.cfg.num_ostreams, chunk.inbound_streams)  # IACK-10
        self.inbound_streams = min(self.cfg.max_instreams, chunk.outbound_streams)
        self.pm.adopt_init_ack_addresses(list(p.addresses), src)
        self.version += 1
        self.timers.stop_all("t1")
        self.timers.stop(("stagger",))
        sent_at = self._init_sent_at.get(src[0])
        if self._init_sends == 1 and sent_at is not None:  # T1-09, Karn's rule
            self.paths[src[0]].rto.sample(now - sent_at)
        self.pm.choose_initial_primary(src[0], self._init_sent_at)
        assert p.cookie is not None
        self._cookie_chunks = [w.CookieEchoChunk(p.cookie)]
        if p.unrecognized:  # IACK-09: reported after the COOKIE ECHO, in the same packet
            body = b"".join(u.tlv() for u in p.unrecognized)
            self._cookie_chunks.append(w.ErrorChunk((w.UnrecognizedParameters(body),)))
        self._init_retransmits = 0
        self._set_state(S.COOKIE_ECHOED)
        self._make_datapath()
        assert self.pm.primary is not None
        self._send_cookie_echo(self.pm.primary, now)

    def _send_cookie_echo(self, ip: str, now: float) -> None:
        p = self.paths[ip]
        chunks = list(self._cookie_chunks)
        if not p.confirmed:
            # §5.4 (CK-02): to an UNCONFIRMED address only bundled with a nonce
            # HEARTBEAT, and only if both fit the PMTU; else to a confirmed address.
            hb = 4 + 4 + 17 + (16 if ":" in ip else 4)  # HEARTBEAT with our info
            size = 12 + sum(len(w.encode_chunk(c)) for c in chunks) + hb
            fits = size <= self.cfg.mtu - (40 if ":" in ip else 20) - (8 if p.udp_port else 0)
            alt = next((q for q in self.paths.values() if q.confirmed), None)
            if not fits and alt is None:
                self._close(AssocChangeState.CANT_STR_ASSOC, errno.EMSGSIZE)
                return
            if not fits and alt is not None:
                p, ip = alt, alt.ip
            else:
                chunks.append(self.pm.heartbeat_chunk(p, now))
        self.pm.emit(chunks, p)
        self._cookie_sends += 1
        self._cookie_sent_at = now
        self._cookie_dst = ip
        self.timers.start(("t1c", ip), now + p.rto.rto)  # T1-10

    def _on_t1_cookie(self, ip: str, now: float) -> None:
        p = self.paths.get(ip)
        if p is not None:
            p.rto.back_off(self.cfg.init_rto_cap())
        self._init_retransmits += 1
        if self._init_retransmits > self.cfg.max_init_retransmits:
            self._close(AssocChangeState.CANT_STR_ASSOC, errno.ETIMEDOUT)
            return
        nxt = self.pm.alternate(ip) or p
        if nxt is None:
            self._close(AssocChangeState.CANT_STR_ASSOC, errno.ETIMEDOUT)
            return
        self._send_cookie_echo(nxt.ip, now)

    def _on_cookie_ack(self, chunk: w.CookieAckChunk, src: Addr, dst: Addr, now: float) -> None:
        if self.state is not S.COOKIE_ECHOED:
            return  # §5.2.5
        self.timers.stop_all("t1c")
        if self._cookie_sends == 1 and src[0] == self._cookie_dst:
            self.paths[src[0]].rto.sample(now - self._cookie_sent_at)  # §8.3, Karn
        self._establish(now, AssocChangeState.COMM_UP)

    def _establish(self, now: float, how: AssocChangeState) -> None:
        self.timers.stop_all("t1")
        self.timers.stop_all("t1c")
        self.timers.stop(("stagger",))
        self._set_state(S.ESTABLISHED)
        self._comm_up(how)
        self.pm.start(now)
        check_retrans_limits(self.id, self.cfg, len(self.paths))
        if self._shutdown_requested:
            self.shutdown(now)

    # ----- set-up: the responder and collisions (§5.1 D, §5.2) -----

    def from_cookie(self, cs: CookieState, src: Addr, dst: Addr, now: float) -> None:
        """§5.1.5 step 4: build the TCB from a valid cookie and answer with COOKIE ACK."""
        self._load_cookie(cs)
        # §5.4 rule 2: only the address the INIT ACK went to is confirmed.
        for i, ip in enumerate(cs.peer_addrs):
            self.pm.add(
                ip, cs.peer_udp_port or self.cfg.remote_udp_port, confirmed=i == 0, listed=False
            )
        self.pm.primary = cs.peer_addrs[0]
        self.pm.local_ip_for[cs.peer_addrs[0]] = cs.local_ip
        self._make_datapath()
        self._learn(src, dst)
        self._set_state(S.ESTABLISHED)
        self._send_cookie_ack(src, dst, now)
        self._comm_up(AssocChangeState.COMM_UP)
        self.pm.start(now)

    def _load_cookie(self, cs: CookieState) -> None:
        self.peer_adaptation = cs.peer_adaptation
        self.local_tag = cs.local_tag
        self.peer_tag = cs.peer_tag
        self.local_tsn = cs.local_tsn
        self.peer_tsn = cs.peer_tsn
        self.peer_rwnd = cs.peer_rwnd
        self.peer_pr_sctp = cs.peer_pr_sctp and self.cfg.pr_sctp
        self.peer_reconfig = cs.peer_reconfig and self.cfg.reconfig
        self.interleaving = cs.peer_idata and self.cfg.interleaving
        self.outbound_streams = min(cs.local_os, cs.peer_mis)
        self.inbound_streams = min(cs.local_mis, cs.peer_os)
        self.version += 1

    def _send_cookie_ack(self, src: Addr, dst: Addr, now: float) -> None:
        chunks: list[w.Chunk] = [w.CookieAckChunk()]
        p = self.paths.get(src[0])
        if p is not None and not p.confirmed:  # §5.4: bundled with a nonce HEARTBEAT
            chunks.append(self.pm.heartbeat_chunk(p, now))
        self._reply(chunks, self.peer_tag, src, dst)

    def on_init(self, init: w.InitChunk, src: Addr, dst: Addr, now: float) -> Offer | None:
        """An INIT for this association (§5.2.1, §5.2.2, §9.2).

        Returns what the INIT ACK must offer (the endpoint seals it into a
        cookie and sends it), or None when the INIT was answered otherwise.
        """
        p = read_params(init.params, self.ctx.families())
        new = [a for a in [src[0], *p.addresses] if a not in self.paths]
        if self.state is S.SHUTDOWN_ACK_SENT:  # §9.2: discard, resend SHUTDOWN ACK
            self._send_shutdown_ack(now)
            return None
        if new and self.state is not S.COOKIE_WAIT:  # COL-02, COL-03
            cause = w.RestartWithNewAddresses(tuple(address_param(a) for a in new))
            self._reply([w.AbortChunk((cause,))], init.initiate_tag, src, dst)
            return None
        if self.state is S.COOKIE_WAIT:  # COL-01: our INIT's parameters, Tie-Tags 0
            # §5.2.1 rules 1-3: to an address both listed by our user and in the INIT,
            # preferably the INIT's source.
            candidates = [a for a in [src[0], *p.addresses] if a in self.listed]
            if not candidates:
                return None
            return Offer(self.local_tag, self.local_tsn, reply_to=candidates[0])
        ties = self._tie_tags()
        if self.state is S.COOKIE_ECHOED:
            return Offer(self.local_tag, self.local_tsn, *ties)
        # §5.2.2: a new Initiate Tag; the association itself is left alone.
        return Offer(self.ctx.new_tag(), self.ctx.rng.getrandbits(32), *ties)

    def _tie_tags(self) -> tuple[int, int]:
        # §5.2.2: random, non-zero, kept in the TCB to recognise the cookie later.
        if not self.local_tie_tag:
            self.local_tie_tag = self.ctx.rng.getrandbits(32) | 1
            self.peer_tie_tag = self.ctx.rng.getrandbits(32) | 1
        return self.local_tie_tag, self.peer_tie_tag

    def on_cookie_echo(self, cs: CookieState, src: Addr, dst: Addr, now: float) -> bool:
        """§5.2.4 Table 12; True if the packet's other chunks are to be processed."""
        lt = cs.local_tag == self.local_tag
        pt = cs.peer_tag == self.peer_tag
        if cs.staleness(now) > 0 and not (lt and pt):  # step 3
            us = int(cs.staleness(now) * 1e6)
            self._reply([w.ErrorChunk((w.StaleCookieError(us),))], cs.peer_tag, src, dst)
            return False
        ties = cs.local_tie_tag == self.local_tie_tag and cs.peer_tie_tag == self.peer_tie_tag
        if not lt and not pt and ties and cs.local_tie_tag:
            return self._restart(cs, src, dst, now)  # (A)
        if lt and (not pt or self.peer_tag == 0):  # (B)
            self._adopt_cookie_peer(cs)
            self._send_cookie_ack(src, dst, now)
            if self.state in SETUP_STATES:
                self._establish(now, AssocChangeState.COMM_UP)
            return True
        if lt and pt:  # (D)
            self._send_cookie_ack(src, dst, now)
            if self.state is S.COOKIE_ECHOED:
                self._establish(now, AssocChangeState.COMM_UP)
            return True
        return False  # (C) and anything else: silently discarded

    def _adopt_cookie_peer(self, cs: CookieState) -> None:
        """Case B: the peer's side of the TCB comes from the cookie (its tag, TSN, streams)."""
        setup = self.state in SETUP_STATES
        self.peer_tag = cs.peer_tag
        self.peer_tsn = cs.peer_tsn
        self.peer_rwnd = cs.peer_rwnd
        self.peer_pr_sctp = cs.peer_pr_sctp and self.cfg.pr_sctp
        self.peer_reconfig = cs.peer_reconfig and self.cfg.reconfig
        self.interleaving = cs.peer_idata and self.cfg.interleaving
        self.outbound_streams = min(cs.local_os, cs.peer_mis)  # IACK-10
        self.inbound_streams = min(cs.local_mis, cs.peer_os)
        for ip in cs.peer_addrs:
            if ip not in self.paths:  # §5.4 rule 3: addresses we did not list
                self.pm.add(ip, cs.peer_udp_port or self.cfg.remote_udp_port,
                            confirmed=False, listed=False)  # fmt: skip
        if self.pm.primary is None or self.pm.primary not in self.paths:
            self.pm.primary = next((ip for ip in self.listed if ip in self.paths), cs.peer_addrs[0])
        self.version += 1
        if setup or self.data is None:
            self._make_datapath()

    def _restart(self, cs: CookieState, src: Addr, dst: Addr, now: float) -> bool:
        """§5.2.4 action A: the peer restarted; the association starts over with new tags."""
        if self.state is S.SHUTDOWN_ACK_SENT:
            self._send_shutdown_ack(now)
            self._reply(
                [w.ErrorChunk((w.CookieReceivedWhileShuttingDown(),))], cs.peer_tag, src, dst
            )
            return False
        self.timers.stop_all()
        if self.data is not None:  # the peer lost its state: what it had not acked is lost
            self.data.fail_all(errno.ECONNRESET)
        self._load_cookie(cs)
        self._make_datapath()
        self.local_tie_tag = self.peer_tie_tag = 0
        for p in self.paths.values():
            p.error_count = 0
            p.hb_nonce = 0
            p.hb_outstanding = False
        self.pm.error_count = 0
        self._set_state(S.ESTABLISHED)
        self._send_cookie_ack(src, dst, now)
        self._event(AssocChangeState.RESTART)
        self.pm.start(now)
        return True

    # ----- receiving -----

    def receive(self, packet: w.Packet, src: Addr, dst: Addr, now: float, first: int = 0) -> None:
        """Process ``packet.chunks[first:]``, whose tag :meth:`accepts` has checked."""
        if src != self._last_src or dst != self._last_dst:  # a call saved per packet
            self._learn(src, dst)
        self.now = now
        had_data = False
        handlers = _HANDLERS
        opened = self.replies.open()
        for chunk in packet.chunks[first:] if first else packet.chunks:
            if self.state is S.CLOSED:
                break
            had_data = had_data or type(chunk) is w.DataChunk or type(chunk) is w.IDataChunk
            handler = handlers.get(type(chunk))
            if handler is not None:
                handler(self, chunk, src, dst, now)
            elif isinstance(chunk, w.UnknownChunk):
                if chunk.action.reports and self.peer_tag:  # §3.2
                    cause = w.UnrecognizedChunkType(chunk.tlv())
                    self._reply([w.ErrorChunk((cause,))], self.peer_tag, src, dst)
                if chunk.action.stops:
                    break
        if had_data and self.data is not None and self.state is not S.CLOSED:
            self.data.packet_done(now)
        if opened:
            self.end_packet()

    # ----- user data (§6) -----

    def _make_datapath(self) -> None:
        self.data = DataPath(
            self.ctx, self.id, self.cfg, self.pm, self.timers, self.local_tsn, self.peer_tsn,
            self.outbound_streams, self.inbound_streams, self.peer_rwnd, self.peer_pr_sctp,
            self.interleaving,
        )  # fmt: skip
        self.reconf = Reconfig(self, self.data) if self.peer_reconfig else None
        early, self._early = self._early, []
        for args in early:
            try:
                self.data.send(*args, now=self.now)
            except UsageError as e:  # a stream beyond what the peer allows: handed back
                data, stream, ppid, _u, context, _t, _r = args
                self.ctx.events.append(
                    SendFailed(self.id, data, stream, ppid, context, e.errno or errno.EINVAL, False)
                )

    def send(
        self, data: bytes, stream: int, ppid: int, unordered: bool, context: int,
        ttl: float | None, max_rtx: int | None, now: float,
    ) -> None:  # fmt: skip
        """Queue one user message (RFC 6458 sctp_sendv); it goes at the next flush."""
        self.now = now
        if self.state in SHUTDOWN_STATES or self._shutdown_requested:
            raise UsageError(errno.EPIPE, "the association is shutting down")
        if self.state is S.CLOSED:
            raise UsageError(errno.ENOTCONN, "the association is closed")
        if self.data is None:  # before the INIT ACK: kept until the peer's limits are known
            if not 0 <= stream < self.cfg.num_ostreams or not data:
                raise einval(f"bad stream {stream} or empty message")
            self._early.append((data, stream, ppid, unordered, context, ttl, max_rtx))
            return
        if self.reconf and self.reconf.hold((data, stream, ppid, unordered, context, ttl, max_rtx)):
            return  # RFC 6525 §5.1.2: its stream is being reset
        self.data.send(data, stream, ppid, unordered, context, ttl, max_rtx, now)

    def flush(self, now: float) -> None:
        """Send what the data path has due, then let a pending SHUTDOWN move on."""
        self.now = now
        d = self.data
        if d is None or self.state is S.CLOSED:
            return
        cause = d.abort_cause()
        if cause is not None:  # §6.2 No User Data, RFC 8260 §2.2.3 Protocol Violation
            p = self.pm.current()
            if p is not None:
                self.pm.emit([w.AbortChunk((cause,))], p)
            self._close(AssocChangeState.COMM_LOST, errno.EPROTO)
            return
        if self.reconf is not None:
            self.reconf.poll(now)
        d.flush(now, self.state in DATA_OUT_STATES)
        if self.state in (S.SHUTDOWN_PENDING, S.SHUTDOWN_RECEIVED):
            self.after_data(now)

    def consumed(self, nbytes: int) -> bool:
        """The user read ``nbytes``; True if a window update is due."""
        return self.data is not None and self.data.consumed(nbytes)

    def _on_reconfig(self, chunk: w.ReconfigChunk, src: Addr, dst: Addr, now: float) -> None:
        if self.reconf is not None and self.state in RECONF_STATES:  # else: ignored
            self.reconf.on_chunk(chunk, src[0], now)

    def reconfig(self) -> Reconfig:
        """Where RFC 6525 requests go; EOPNOTSUPP if the peer does not support them."""
        return Reconfig.of(self)

    def accepts(self, packet: w.Packet) -> bool:
        """§8.5, §8.5.1: is this packet's Verification Tag acceptable?"""
        vtag = packet.verification_tag
        first = packet.chunks[0]
        if isinstance(first, (w.AbortChunk, w.ShutdownCompleteChunk)):
            if first.t_bit:
                return vtag == self.peer_tag and self.peer_tag != 0
            return vtag == self.local_tag
        return vtag == self.local_tag

    def _learn(self, src: Addr, dst: Addr) -> None:
        """UDP-04 after the tag check: the peer's encapsulation port and our address it used."""
        if src == self._last_src and dst == self._last_dst:
            return
        self._last_src, self._last_dst = src, dst
        p = self.paths.get(src[0])
        if p is not None:
            if src[1]:
                p.udp_port = src[1]
            self.pm.local_ip_for[src[0]] = dst[0]

    def _on_heartbeat(self, chunk: w.HeartbeatChunk, src: Addr, dst: Addr, now: float) -> None:
        if self.state in UP_STATES or self.state is S.COOKIE_ECHOED:  # CK-05, §8.3
            self._reply([w.HeartbeatAckChunk(chunk.info)], self.peer_tag, src, dst)

    def _on_heartbeat_ack(
        self, chunk: w.HeartbeatAckChunk, src: Addr, dst: Addr, now: float
    ) -> None:
        if self.state in UP_STATES:
            self.pm.on_heartbeat_ack(chunk.info, now)

    def _on_abort(self, chunk: w.AbortChunk, src: Addr, dst: Addr, now: float) -> None:
        # §9.1; T1-12: in set-up an accepted ABORT fails the whole connectx.
        self.replies.void()  # §9.1: a packet with an ABORT is never answered
        if self.state in SETUP_STATES:
            self._close(AssocChangeState.CANT_STR_ASSOC, errno.ECONNREFUSED, chunk.causes)
        else:
            self._close(AssocChangeState.COMM_LOST, errno.ECONNRESET, chunk.causes)

    def _on_error(self, chunk: w.ErrorChunk, src: Addr, dst: Addr, now: float) -> None:
        stale = next((c for c in chunk.causes if isinstance(c, w.StaleCookieError)), None)
        if stale is not None:
            if self.state is S.COOKIE_ECHOED:
                self._on_stale_cookie(now)
            return  # §5.2.6: otherwise silently discarded
        if self.state is not S.COOKIE_WAIT:
            self.ctx.events.append(RemoteError(self.id, chunk.causes))

    def _on_stale_cookie(self, now: float) -> None:
        """§5.2.6 option 3, once: a new INIT asking for RTT + 1 s more cookie life (INIT-09)."""
        if self._preservative_ms:
            self._close(AssocChangeState.CANT_STR_ASSOC, errno.ETIMEDOUT)
            return
        rtt = max(0.0, now - self._cookie_sent_at)
        self._preservative_ms = int((rtt + 1.0) * 1000)
        self.timers.stop_all("t1c")
        self._keep_unsent(now)
        self._build_init()
        self._set_state(S.COOKIE_WAIT)
        self._init_sent_at.clear()
        self._init_sends = 0
        self._init_retransmits = 0
        self._send_init(self._restore_listed(), now)

    def _keep_unsent(self, now: float) -> None:
        """Messages sent in COOKIE-ECHOED wait for the next INIT ACK's data path (audit)."""
        if self.data is not None:
            self._early += self.data.take_unsent(now)
            self.data = self.reconf = None

    def _restore_listed(self) -> str:
        """The paths of a set-up restarted by a Stale Cookie error; where its INIT goes.

        Decision (issue 16, §5.2.6 option 3): the new INIT starts a new set-up, so the
        association goes back to what connectx gave it: the user's listed addresses,
        CONFIRMED (those the stale INIT ACK did not list come back; those only it
        announced go: the next INIT ACK announces them again). The INIT goes to the
        COOKIE ECHO's destination if the user listed it, else to the first listed address,
        and from there on the usual stagger and T1 rules apply. An INIT never goes to an
        address only the peer named.
        """
        self.pm.back_to_listed(self.listed)
        self.version += 1
        if self._cookie_dst in self.listed:
            return self._cookie_dst
        return self._next_init_target() or self.listed[0]

    # ----- unreachable signals (§10, ICMP-01..04) -----

    def on_unreachable(self, ip: str, kind: UnreachableKind, quoted: bytes, now: float) -> None:
        if not quote_is_ours(quoted, self.ctx.port, self.peer_port, self.local_tag, self.peer_tag):
            return  # ICMP-01
        p = self.paths.get(ip)
        if p is None or kind is UnreachableKind.FRAG_NEEDED:
            return
        if self.state is S.COOKIE_WAIT and p.listed:
            # ICMP-03 (decided): only this address fails; the INIT moves on at once.
            p.init_failed = True
            self._last_refusal = kind
            self.timers.stop(("t1", ip))
            if all(self.paths[a].init_failed for a in self.listed if a in self.paths):
                self._fail_refused()
            elif self._untried() or not any(self.timers.running(("t1", a)) for a in self.listed):
                self._resend_init(now)
        elif self.state is S.COOKIE_ECHOED and self.timers.running(("t1c", ip)):
            nxt = self.pm.alternate(ip)
            if nxt is not None and nxt.ip != ip:
                self.timers.stop(("t1c", ip))
                self._send_cookie_echo(nxt.ip, now)

    # ----- the user's view and choices -----

    def set_stream_scheduler(self, name: str) -> None:
        """RFC 8260 §4.3.2 SCTP_STREAM_SCHEDULER for this association (core.scheduler)."""
        self._data_up().set_stream_scheduler(name)

    def set_stream_value(self, stream_id: int, value: int) -> None:
        """RFC 8260 §4.3.3: a stream's priority (prio) or weight (wfq); EINVAL if bad."""
        self._data_up().set_stream_value(stream_id, value)

    def stream_value(self, stream_id: int) -> int:
        return self._data_up().stream_value(stream_id)

    def _data_up(self) -> DataPath:
        if self.data is None or self.state is S.CLOSED:
            raise UsageError(errno.ENOTCONN, "the association has no data path (yet)")
        return self.data

    def set_primary(self, ip: str) -> None:
        """RFC 6458 SCTP_PRIMARY_ADDR (§11.1.2 of RFC 9260), see PathManager.set_primary."""
        self.pm.set_primary(ip, self.id, self.state is S.CLOSED)

    # ----- teardown (§9.1, §9.2) -----

    # ----- timers -----

    def handle_timer(self, now: float) -> None:
        for key in self.timers.pop_due(now):
            if self.state is S.CLOSED:
                return
            self._dispatch_timer(key, now)
            if self.pm.lost and self.is_open():
                self._close(AssocChangeState.COMM_LOST, errno.ETIMEDOUT)  # §8.1

    def _dispatch_timer(self, key: Hashable, now: float) -> None:
        assert isinstance(key, tuple)
        name = key[0]
        if name == "t1" and self.state is S.COOKIE_WAIT:
            self._on_t1_init(key[1], now)
        elif name == "t1c" and self.state is S.COOKIE_ECHOED:
            self._on_t1_cookie(key[1], now)
        elif name == "stagger":
            self._on_stagger(now)
        elif name == "hb":
            self.pm.on_hb_timer(key[1], now)
        elif name == "hbto":
            self.pm.on_hb_timeout(key[1], now)
        elif name == "probe":
            self.pm.on_probe_timer(now)
        elif name == "t3" and self.data is not None:
            self.data.on_t3(key[1], now)
        elif name == "sack" and self.data is not None:
            self.data.on_sack_timer(now)
        elif name == "t2":
            self._on_t2(now)
        elif name == "t5":
            self._on_t5(now)
        elif name == "reconf" and self.reconf is not None:
            self.reconf.on_timer(now)


# Chunk type -> handler, one table for every association (a per-instance table of
# bound methods cost ~1.2 KiB per association).
_HANDLERS: dict[type, Callable[[Association, Any, Addr, Addr, float], None]] = {
    w.InitAckChunk: Association._on_init_ack,
    w.CookieAckChunk: Association._on_cookie_ack,
    w.HeartbeatChunk: Association._on_heartbeat,
    w.HeartbeatAckChunk: Association._on_heartbeat_ack,
    w.AbortChunk: Association._on_abort,
    w.ShutdownChunk: Association._on_shutdown,
    w.ShutdownAckChunk: Association._on_shutdown_ack,
    w.ShutdownCompleteChunk: Association._on_shutdown_complete,
    w.ErrorChunk: Association._on_error,
    w.DataChunk: on_data,
    w.IDataChunk: on_data,
    w.SackChunk: on_sack,
    w.ForwardTsnChunk: on_forward_tsn,
    w.IForwardTsnChunk: on_forward_tsn,
    w.ReconfigChunk: Association._on_reconfig,
}
