"""Path management of an established association: primary path, HEARTBEATs, path
verification and failure detection (RFC 9260 §5.4, §8.1-§8.3; RFC 7829 SCTP-PF).

Timer keys used here: ``("hb", ip)`` the next HEARTBEAT to a path, ``("hbto", ip)``
the RTO within which that HEARTBEAT must be answered, ``("probe",)`` the next
path-verification probe.
"""

from __future__ import annotations

from .. import wire as w
from .context import EndpointContext
from .errors import einval
from .events import PeerAddrChange, PeerAddrState
from .heartbeat import decode_info, encode_info
from .path import Path, Reachability
from .timers import Timers
from .types import Addr


class PathManager:
    """Paths of one association and everything that watches them.

    The association owns it; ``close`` is the association's way to end itself
    when Association.Max.Retrans is exceeded (§8.1).
    """

    def __init__(self, ctx: EndpointContext, assoc_id: int, timers: Timers) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.assoc_id = assoc_id
        self.timers = timers
        self.paths: dict[str, Path] = {}
        self.primary: str | None = None
        self.error_count = 0  # association overall error counter, §8.1
        self.peer_port = 0
        self.peer_tag = 0
        self.local_ip_for: dict[str, str] = {}
        self._probe_last: str | None = None
        self.lost = False  # set when the association must end (COMM_LOST)

    # ----- adding, removing and choosing paths -----

    def add(self, ip: str, udp_port: int, *, confirmed: bool, listed: bool) -> Path:
        p = Path(ip, udp_port, self.cfg, confirmed=confirmed, listed=listed)
        self.paths[ip] = p
        return p

    def remove(self, ip: str) -> None:
        """Drop a path and every timer it has (IACK-04)."""
        self.paths.pop(ip, None)
        for key in (("hb", ip), ("hbto", ip), ("t1", ip), ("t1c", ip)):
            self.timers.stop(key)
        if self.primary == ip:
            self.primary = None

    def adopt_init_ack_addresses(self, peer: list[str], src: Addr) -> None:
        """IACK-03..06, UDP-04/05: the peer's addresses are its list plus the INIT ACK's source."""
        if src[0] not in peer:
            peer.append(src[0])
        for ip in list(self.paths):
            if ip not in peer:
                self.remove(ip)  # IACK-04: silently, no event
        for ip in peer:
            if ip not in self.paths:  # §5.4 rule 3; the remote port learned from this packet
                self.add(ip, src[1], confirmed=False, listed=False)
        if src[1]:
            self.paths[src[0]].udp_port = src[1]

    def choose_initial_primary(self, src_ip: str, init_sent_at: dict[str, float]) -> None:
        """IACK-12: the confirmed address whose INIT ACK arrived; else the listed address
        we last sent the INIT to; an unconfirmed source becomes primary only once confirmed."""
        if self.paths[src_ip].confirmed:
            self.primary = src_ip
            return
        sent = sorted((t, ip) for ip, t in init_sent_at.items() if ip in self.paths)
        confirmed = [ip for ip, q in self.paths.items() if q.confirmed]
        self.primary = sent[-1][1] if sent else (confirmed[0] if confirmed else src_ip)

    def back_to_listed(self, listed: list[str]) -> None:
        """Only the user's listed addresses again, CONFIRMED, in their order (§5.2.6 restart).

        Paths only the peer announced go; listed ones it did not announce come back.
        """
        cfg = self.cfg
        for ip in [ip for ip, p in self.paths.items() if not p.listed]:
            self.remove(ip)
        kept, self.paths = self.paths, {}
        for ip in listed:
            if ip in kept:
                self.paths[ip] = kept[ip]
            else:
                self.add(ip, cfg.remote_udp_ports.get(ip, cfg.remote_udp_port),
                         confirmed=True, listed=True)  # fmt: skip
        self.primary = None

    def source(self, ip: str) -> str:
        """The local address a packet to ``ip`` leaves from: the one the peer last reached."""
        return self.local_ip_for.get(ip) or self.ctx.source_for(ip)

    def current(self) -> Path | None:
        """Where new chunks go: the primary if usable, else one usable alternate (§6.4.1, MH-05)."""
        p = self.paths.get(self.primary) if self.primary else None
        if p is not None and p.usable and p.reach is Reachability.ACTIVE:
            return p
        best: Path | None = None
        for q in self.paths.values():
            if q.usable and (best is None or _rank(q) < _rank(best)):
                best = q
        return best if best is not None else (p if p is not None and p.confirmed else None)

    def alternate(self, after: str | None) -> Path | None:
        """A usable path other than ``after``, rotating in address order (§6.4 retransmissions).

        RFC 7829 §5.1: an ACTIVE path first; if there is none, the potentially failed
        one with the fewest errors.
        """
        usable = [p for p in self.paths.values() if p.usable]
        active = [p for p in usable if p.reach is Reachability.ACTIVE]
        if not active and usable:
            best = min(usable, key=lambda p: (p.ip == after, p.error_count))
            return best
        order = active
        if not order:
            return None
        ips = [p.ip for p in order]
        start = ips.index(after) + 1 if after in ips else 0
        for k in range(len(order)):
            q = order[(start + k) % len(order)]
            if q.ip != after or len(order) == 1:
                return q
        return None

    def set_primary(self, ip: str, assoc_id: int, closed: bool) -> None:
        """RFC 6458 SCTP_PRIMARY_ADDR (§11.1.2 of RFC 9260): new data goes to ``ip``.

        PV-07 decided: an UNCONFIRMED address may not be primary (EINVAL), since
        nothing but probes may be sent to it (§5.4).
        """
        p = self.paths.get(ip)
        if p is None:
            raise einval(f"{ip} is not a peer address of association {assoc_id}")
        if not p.confirmed:
            raise einval(f"{ip} is not confirmed yet")
        if closed:
            raise einval(f"association {assoc_id} is closed")
        if self.primary != ip:
            self.primary = ip
            self.event_addr(ip, PeerAddrState.MADE_PRIM)

    def emit(self, chunks: list[w.Chunk], path: Path, vtag: int | None = None) -> None:
        dst = (path.ip, path.udp_port)
        tag = self.peer_tag if vtag is None else vtag
        self.ctx.send(chunks, tag, self.peer_port, self.source(path.ip), dst)

    def event_addr(self, ip: str, state: PeerAddrState, error: int = 0) -> None:
        self.ctx.events.append(PeerAddrChange(self.assoc_id, ip, state, error))

    # ----- HEARTBEAT and path verification -----

    def start(self, now: float) -> None:
        """§8.3, §5.4: heartbeat confirmed paths, probe unconfirmed ones, from ESTABLISHED on."""
        for p in self.paths.values():
            if p.confirmed:
                self.timers.start(("hb", p.ip), now + self._hb_delay(p))
        if any(not p.confirmed for p in self.paths.values()):
            self.timers.start(("probe",), now)

    def stop(self) -> None:
        """§8.3: heartbeating stops once SHUTDOWN or SHUTDOWN ACK has been sent."""
        self.timers.stop_all("hb")
        self.timers.stop_all("hbto")
        self.timers.stop(("probe",))

    def _hb_delay(self, p: Path) -> float:
        # §8.3: RTO + HB.interval, with the RTO jittered by ±50 %.
        hb = self.cfg.hb_interval if p.hb_interval is None else p.hb_interval
        return p.rto.rto * self.ctx.rng.uniform(0.5, 1.5) + hb

    def heartbeat_chunk(self, p: Path, now: float) -> w.HeartbeatChunk:
        """A HEARTBEAT with a fresh 64-bit nonce (§5.4); the path awaits its ACK for one RTO."""
        nonce = self.ctx.rng.getrandbits(64) | 1
        p.hb_nonce = nonce
        p.hb_outstanding = True
        self.timers.start(("hbto", p.ip), now + p.rto.rto)
        return w.HeartbeatChunk(encode_info(p.ip, now, nonce))

    def on_hb_timer(self, ip: str, now: float) -> None:
        p = self.paths.get(ip)
        if p is None:
            return
        busy = p.data_sent_at >= 0 and now - p.data_sent_at < self.cfg.hb_interval
        if busy and p.reach is Reachability.ACTIVE and p.confirmed and not p.hb_outstanding:
            # §8.3: only idle paths are heartbeated; DATA and its SACKs watch this one.
            self.timers.start(("hb", ip), p.data_sent_at + self._hb_delay(p))
            return
        if p.hb_outstanding:  # the previous one is still unanswered: it counts first
            self.on_hb_timeout(ip, now)
        self.emit([self.heartbeat_chunk(p, now)], p)
        if p.reach is not Reachability.PF:  # a PF path's next probe follows its timeout
            self.timers.start(("hb", ip), now + self._hb_delay(p))

    def on_hb_timeout(self, ip: str, now: float) -> None:
        """No HEARTBEAT ACK within one RTO (§8.3)."""
        p = self.paths.get(ip)
        if p is None or not p.hb_outstanding:
            return
        p.hb_outstanding = False
        self.timers.stop(("hbto", ip))
        # §8.1: only the path used for data counts against the association;
        # §5.4: probes of unconfirmed paths never do.
        self.path_timeout(p, now, count_assoc=p.confirmed and self.current() is p)
        if not p.confirmed:
            return  # the probe timer paces unconfirmed paths
        if p.reach is Reachability.PF:
            self.timers.start(("hb", ip), now)  # RFC 7829: probe a PF path every RTO
        elif not self.timers.running(("hb", ip)):
            self.timers.start(("hb", ip), now + self._hb_delay(p))

    def on_probe_timer(self, now: float) -> None:
        """§5.4: at most HB.Max.Burst probes per RTO to active unconfirmed paths."""
        cands = [
            p
            for p in self.paths.values()
            if not p.confirmed and p.reach is not Reachability.INACTIVE
        ]
        for p in self.paths.values():
            inactive = not p.confirmed and p.reach is Reachability.INACTIVE
            if inactive and not self.timers.running(("hb", p.ip)):  # normal rate now
                self.timers.start(("hb", p.ip), now + self._hb_delay(p))
        if not cands:
            return
        ips = [p.ip for p in cands]
        last = self._probe_last
        start = (ips.index(last) + 1) if last in ips else 0
        burst = max(1, self.cfg.hb_max_burst)
        for k in range(min(burst, len(cands))):
            p = cands[(start + k) % len(cands)]
            self.emit([self.heartbeat_chunk(p, now)], p)
            self._probe_last = p.ip
        self.timers.start(("probe",), now + min(p.rto.rto for p in cands))

    def on_heartbeat_ack(self, info: bytes, now: float) -> None:
        decoded = decode_info(info)
        if decoded is None:
            return
        ip, sent_at, nonce = decoded
        p = self.paths.get(ip)
        if p is None or p.hb_nonce == 0 or nonce != p.hb_nonce:
            return  # §5.4: the nonce must be the one sent to that address
        p.hb_nonce = 0
        p.hb_outstanding = False
        self.timers.stop(("hbto", ip))
        if now - sent_at >= 0 and p.error_count == 0:
            p.rto.sample(now - sent_at)  # §8.3: an RTT sample; none after a backoff (Karn)
        p.error_count = 0
        self.error_count = 0  # §8.1 (S)
        if not p.confirmed:
            p.confirmed = True
            self.event_addr(ip, PeerAddrState.CONFIRMED)
            self.timers.start(("hb", ip), now + self._hb_delay(p))
        if p.reach is not Reachability.ACTIVE:
            p.reach = Reachability.ACTIVE
            self.event_addr(ip, PeerAddrState.AVAILABLE)

    def path_timeout(self, p: Path, now: float, *, count_assoc: bool) -> None:
        """One unanswered HEARTBEAT or T3-rtx expiry on ``p`` (§8.2, §8.1, RFC 7829).

        An INACTIVE path is still probed, but its counter no longer grows (FM-03).
        """
        p.rto.back_off()
        p.failed_at = now
        if p.reach is not Reachability.INACTIVE:
            p.error_count += 1
        limit = self.cfg.path_max_retrans if p.max_retrans is None else p.max_retrans
        if p.error_count > limit:
            if p.reach is not Reachability.INACTIVE:
                p.reach = Reachability.INACTIVE
                self.event_addr(p.ip, PeerAddrState.UNREACHABLE)
        elif p.error_count > self.cfg.pf_retrans and p.reach is Reachability.ACTIVE and p.confirmed:
            p.reach = Reachability.PF
            self.event_addr(p.ip, PeerAddrState.POTENTIALLY_FAILED)
        if p.ip == self.primary and p.reach is not Reachability.ACTIVE:
            self._maybe_move_primary(p)
        if count_assoc:
            self.error_count += 1
            if self.error_count > self.cfg.assoc_max_retrans:
                self.lost = True

    def _maybe_move_primary(self, failed: Path) -> None:
        """Without failback, the path that takes over becomes the primary for good."""
        if self.cfg.primary_failback:
            return  # current() returns to the primary once it is ACTIVE again
        alt = next(
            (q for q in self.paths.values()
             if q is not failed and q.usable and q.reach is Reachability.ACTIVE),
            None,
        )  # fmt: skip
        if alt is not None:
            self.primary = alt.ip
            self.event_addr(alt.ip, PeerAddrState.MADE_PRIM)


def _rank(p: Path) -> int:
    return 0 if p.reach is Reachability.ACTIVE else 1
