"""User data over an established association: the glue between sender, receiver and paths.

It takes DATA, SACK and FORWARD TSN chunks from the association, builds the
packets that carry data, SACKs and retransmissions (bundled up to the path
MTU, §6.10), runs T3-rtx per destination (§6.3) and the delayed-SACK timer
(§6.2), and moves traffic off a failed path (§6.4.1, RFC 7829).

Timer keys: ``("t3", ip)`` T3-rtx per destination, ``("sack",)`` delayed SACK.
"""

from __future__ import annotations

import errno

from .. import wire as w
from .config import Config
from .context import EndpointContext
from .errors import einval
from .events import DataReceived, PartialDeliveryAborted, PeerAddrState, SenderDry, SendFailed
from .path import Path, Reachability
from .pathmgr import PathManager
from .receiver import DataVerdict, Receiver
from .replies import pack
from .sender import OutMessage, Sender
from .timers import Timers


class DataPath:
    """Sender, receiver and the rules that join them to the paths of one association."""

    def __init__(
        self, ctx: EndpointContext, assoc_id: int, cfg: Config, pm: PathManager, timers: Timers,
        local_tsn: int, peer_tsn: int, outbound: int, inbound: int, peer_rwnd: int,
        pr_sctp: bool, interleaving: bool = False,
    ) -> None:  # fmt: skip
        self.ctx = ctx
        self.assoc_id = assoc_id
        self.cfg = cfg
        self.pm = pm
        self.timers = timers
        self.sender = Sender(local_tsn, outbound, peer_rwnd, cfg, pm.paths, pr_sctp, self._failed,
                             interleaving)  # fmt: skip
        self.interleaving = interleaving  # RFC 8260: I-DATA and I-FORWARD-TSN
        self.receiver = Receiver(peer_tsn, inbound, buffer_limit=cfg.a_rwnd,
                                 sack_delay=cfg.sack_delay, pd_point=cfg.pd_point,
                                 interleaving=interleaving)  # fmt: skip
        if interleaving and cfg.idata_fsn == "auto":  # the peer's numbering is ours then
            self.receiver.on_peer_linux_fsn(self.sender.follow_linux_fsn)
        self.pr_sctp = pr_sctp
        self.last_data_from: str | None = None
        self._rtx_dst: str | None = None
        self._fast_rtx_now = False
        self._was_busy = False
        self._replies: list[tuple[w.Chunk, str]] = []
        self.no_user_data: int | None = None  # TSN of a DATA without data: ABORT (§6.2)
        self.violation = b""  # a chunk kind not negotiated (RFC 8260 §2.2.3): ABORT
        self._payload_key = -1
        self._payload_size = 0
        # Messages on streams being reset (RFC 6525 §5.1.2), kept by core.reconfig: in
        # Association.send's argument order, without ``now``.
        self.held: list[tuple[bytes, int, int, bool, int, float | None, int | None]] = []

    # ----- events -----

    def _failed(self, m: OutMessage, error: int) -> None:
        self.ctx.events.append(
            SendFailed(self.assoc_id, m.data, m.stream_id, m.ppid, m.context, error, m.sent)
        )

    def deliver(self) -> None:
        aid, events = self.assoc_id, self.ctx.events
        # RFC 8260 §4.1: with I-DATA the MID's low 16 bits stand for the SSN.
        mask = 0xFFFF if self.interleaving else -1
        for m in self.receiver.pop_messages():
            events.append(DataReceived(aid, m.stream_id, m.ppid, m.data, m.unordered, m.tsn,
                                       m.ssn & mask, m.complete))  # fmt: skip
        for sid, ssn in self.receiver.take_pd_aborted():
            events.append(PartialDeliveryAborted(aid, sid, ssn))

    # ----- the user's side -----

    def send(
        self, data: bytes, stream: int, ppid: int, unordered: bool, context: int,
        ttl: float | None, max_rtx: int | None, now: float,
    ) -> None:  # fmt: skip
        self.sender.enqueue(data, stream, ppid, unordered, context, ttl, max_rtx, now,
                            self._payload())  # fmt: skip
        self._was_busy = True

    def _payload(self) -> int:
        """User data per DATA chunk: fragments fit the smallest path MTU (§6.9), so a
        retransmission can go to any path without refragmenting."""
        key = len(self.pm.paths)
        if key != self._payload_key:
            self._payload_key = key
            size = min(self.sender.max_packet(ip) for ip in self.pm.paths) - 12 - self.sender.header
            self._payload_size = min(size, self.cfg.max_seg) if self.cfg.max_seg else size
        return self._payload_size

    def consumed(self, nbytes: int) -> bool:
        """The user read ``nbytes``; True if a window update SACK is due (§6.2)."""
        return self.receiver.consumed(nbytes)

    # ----- chunks from the peer -----

    def abort_cause(self) -> w.Cause | None:
        """Why the peer's chunks end the association, once (§6.2 No User Data, RFC 8260
        §2.2.3 and §2.3.1 Protocol Violation), else None."""
        if self.no_user_data is not None:
            tsn, self.no_user_data = self.no_user_data, None
            return w.NoUserData(tsn)
        if self.violation:
            info, self.violation = self.violation, b""
            return w.ProtocolViolation(info)
        return None

    def on_data(self, chunk: w.DataChunk | w.IDataChunk, src: str, now: float) -> None:
        if self.violation:
            return
        if type(chunk) is w.DataChunk:
            if self.interleaving:  # RFC 8260 §2.2.3: I-DATA was negotiated
                self.violation = b"DATA chunk on an association using I-DATA"
                return
            verdict = self.receiver.on_data(chunk, now)
        elif not self.interleaving:
            self.violation = b"I-DATA chunk on an association without I-DATA"
            return
        else:
            assert isinstance(chunk, w.IDataChunk)
            verdict = self.receiver.on_idata(chunk, now)
        self.last_data_from = src
        if verdict is DataVerdict.INVALID_STREAM:  # §6.5
            self._replies.append((w.ErrorChunk((w.InvalidStreamIdentifier(chunk.stream_id),)), src))
        elif verdict is DataVerdict.NO_USER_DATA:
            self.no_user_data = chunk.tsn

    def packet_done(self, now: float) -> None:
        """After every chunk of a packet that carried DATA: delayed-SACK rules, delivery."""
        self.receiver.on_packet_done(now)
        self.deliver()

    def on_sack(self, sack: w.SackChunk, now: float) -> None:
        res = self.sender.on_sack(sack, now)
        if res is None:
            return  # stale, or acknowledges what was never sent: ignored
        for ip, sent_at in res.acked_paths.items():
            p = self.pm.paths.get(ip)
            if p is None:
                continue
            if ip in res.rtt:
                p.rto.sample(res.rtt[ip])  # §6.3.1 C5: first transmissions only
            if sent_at < p.failed_at:
                continue  # sent before the path failed: says nothing of it now (RFC 7829)
            p.error_count = 0  # §8.2: an acknowledgement clears the path's counter
            if p.reach is not Reachability.ACTIVE:
                p.reach = Reachability.ACTIVE
                self.pm.event_addr(ip, PeerAddrState.AVAILABLE)
        if res.acked_paths:
            self.pm.error_count = 0  # §8.1
        for ip in list(self.sender.tx):
            key = ("t3", ip)
            if not self.sender.outstanding_on(ip) and not self.sender.forward_tsn_pending():
                self.timers.stop(key)  # §6.3.2 R2
            elif (ip in res.acked_paths and res.cum_advanced) or not self.timers.running(key):
                # R3; and R1 for chunks a SACK put back in flight (reneged, §6.2.1 D iii),
                # which else would wait for a T3 no one started.
                self.timers.start(key, now + self._rto(ip))
        if res.enter_fast_recovery:
            self._fast_rtx_now = True
            self._rtx_dst = None

    def on_forward_tsn(self, chunk: w.ForwardTsnChunk | w.IForwardTsnChunk, now: float) -> None:
        if not self.pr_sctp or self.violation:  # RFC 3758 §3.6: only if both announced it
            return
        if (type(chunk) is w.IForwardTsnChunk) != self.interleaving:  # RFC 8260 §2.3.1
            self.violation = b"FORWARD TSN kind not the one negotiated"
        elif isinstance(chunk, w.IForwardTsnChunk):
            self.receiver.on_iforward_tsn(chunk, now)
        else:
            self.receiver.on_forward_tsn(chunk, now)
        self.deliver()

    def cum_ack_from_shutdown(self, cum_tsn: int, now: float) -> None:
        """§9.2: a SHUTDOWN's Cumulative TSN Ack acknowledges like a SACK's."""
        self.on_sack(w.SackChunk(cum_tsn, self.sender.peer_rwnd + self.sender.flight()), now)

    # ----- timers -----

    def _rto(self, ip: str) -> float:
        p = self.pm.paths.get(ip)
        return p.rto.rto if p is not None else self.cfg.rto_initial

    def on_t3(self, ip: str, now: float) -> None:
        """§6.3.3: back off, slow start, mark for retransmission, move to another path."""
        if not self.sender.outstanding_on(ip) and not self.sender.forward_tsn_pending():
            return
        p = self.pm.paths.get(ip)
        if self.sender.advertised_rwnd == 0 and p is not None:
            # §6.1 A: an unanswered zero-window probe is not a path failure, and it
            # does not collapse cwnd; the probe just goes again, later (backed off).
            self.sender.mark_path(ip)
            p.rto.back_off()
            return
        self.sender.on_t3(ip)
        if p is not None:
            self.pm.path_timeout(p, now, count_assoc=True)  # E2, §8.1, §8.2
            if p.reach is Reachability.PF and not p.hb_outstanding:
                self.timers.start(("hb", ip), now)  # RFC 7829: probe it now, then every RTO
        alt = self.pm.alternate(ip)
        self._rtx_dst = alt.ip if alt is not None else ip  # §6.4.1 E3

    def on_sack_timer(self, now: float) -> None:
        self.receiver.sack_now = True

    # ----- building packets (§6.1, §6.10) -----

    def take_control(self, ip: str, src_ip: str) -> list[w.Chunk]:
        """The SACK owed (due now or delayed, §6.2) and the ERRORs queued, if they would go
        to ``ip`` from ``src_ip``: taken now, to lead a packet of replies (core.replies)."""
        r = self.receiver
        owed = r.sack_now or r.sack_deadline is not None
        if not (owed or self._replies) or self.pm.source(ip) != src_ip:
            return []
        out: list[w.Chunk] = []
        if owed and self._dst_for(self.last_data_from).ip == ip:
            self.timers.stop(("sack",))
            out.append(r.make_sack())  # MH-06: where the DATA came from
        keep = []
        for chunk, dip in self._replies:
            if self._dst_for(dip).ip == ip:
                out.append(chunk)
            else:
                keep.append((chunk, dip))
        self._replies = keep
        return out

    def wants_flush(self) -> bool:
        r = self.receiver
        return bool(r.sack_now or self._replies or self.sender.pending or self.sender.has_rtx()
                    or self.sender.forward_tsn_due)  # fmt: skip

    def flush(self, now: float, data_allowed: bool) -> None:
        """Send what is due: SACK, FORWARD TSN, retransmissions, then new data."""
        s = self.sender
        if not (self._replies or self.receiver.sack_now or s.pending or s.rtx_heap
                or s.forward_tsn_due):  # fmt: skip
            self._after_flush()
            return
        control: dict[str, list[w.Chunk]] = {}
        for chunk, ip in self._replies:
            control.setdefault(self._dst_for(ip).ip, []).append(chunk)
        self._replies.clear()
        if (
            not self.receiver.sack_now
            and self.receiver.sack_deadline is not None
            and (s.pending or s.rtx_heap)
        ):
            self.receiver.sack_now = True  # §6.1: a pending SACK rides on outgoing DATA
        if self.receiver.sack_now:
            self.timers.stop(("sack",))
            dst = self._dst_for(self.last_data_from)
            control.setdefault(dst.ip, []).insert(0, self.receiver.make_sack())  # MH-06
        cur = self.pm.current()
        if data_allowed and cur is not None:
            self._forward_tsn(cur, control, now)
            if self.sender.has_rtx():
                rip = self._rtx_dst or cur.ip
                rp = self.pm.paths.get(rip)
                if rp is None or not rp.usable:
                    rp = cur
                self._send_data(rp, control.pop(rp.ip, []), now, retransmit=True)
            self._send_data(cur, control.pop(cur.ip, []), now, retransmit=False)
            # A chunk marked for retransmission may have expired just now, when it was to
            # go (RFC 3758 §3.5 A): its FORWARD TSN leaves in this flush too. Marking took
            # it out of the flight, so T3 may be off, and nothing else would send it.
            self._forward_tsn(cur, control, now)
        for ip, chunks in control.items():
            p = self.pm.paths.get(ip)
            if p is not None and chunks:
                for packet in pack([[c] for c in chunks], self.sender.max_packet(ip) - 12):
                    self.pm.emit(packet, p)  # §6.10: within the MTU
        self._after_flush()

    def _forward_tsn(self, cur: Path, control: dict[str, list[w.Chunk]], now: float) -> None:
        """RFC 3758 §3.5 C2-C3: queue the due FORWARD TSN for ``cur``, guarded by T3 like DATA."""
        if not (self.pr_sctp and self.sender.forward_tsn_due):
            return
        fwd = self.sender.forward_tsn()
        if fwd is not None:  # a lost one is sent again when T3 expires
            control.setdefault(cur.ip, []).append(fwd)
            if not self.timers.running(("t3", cur.ip)):
                self.timers.start(("t3", cur.ip), now + cur.rto.rto)

    def _after_flush(self) -> None:
        self.sender.end_burst()
        if self.receiver.sack_deadline is not None:
            self.timers.start(("sack",), self.receiver.sack_deadline)
        if self._was_busy and self.sender.idle:
            self._was_busy = False
            self.ctx.events.append(SenderDry(self.assoc_id))

    def _dst_for(self, ip: str | None) -> Path:
        p = self.pm.paths.get(ip) if ip is not None else None
        if p is not None and p.confirmed:
            return p
        cur = self.pm.current()
        if cur is not None:
            return cur
        assert p is not None or self.pm.paths
        return p if p is not None else next(iter(self.pm.paths.values()))

    def _send_data(self, p: Path, first: list[w.Chunk], now: float, retransmit: bool) -> None:
        """Packets to ``p`` as cwnd, rwnd and Max.Burst allow, the first one led by ``first``
        (control chunks). Max.Burst is applied to the bytes (Sender.burst_limit), not as a
        count of packets per flush; every pass of the loop takes data or ends it."""
        s = self.sender
        limit = s.max_packet(p.ip) - 12
        if first and sum([_size(c) for c in first]) > limit:  # more control than one packet
            *full, first = pack([[c] for c in first], limit)
            for packet in full:
                self.pm.emit(packet, p)
        room = limit - sum([_size(c) for c in first])
        t3 = ("t3", p.ip)
        nagle = not self.cfg.nodelay  # SCTP_NODELAY off: a part-filled packet may wait
        burst = 0
        if not retransmit:
            s.idle_decay(p.ip, now, p.rto.rto)
            burst = s.burst_limit(p.ip)  # §6.1 D
        while True:
            if retransmit:
                fast = self._fast_rtx_now  # §7.2.4 step 3: ignores cwnd
                chunks: list[w.Chunk] = list(s.take_retransmissions(p.ip, room, now, fast))
                self._fast_rtx_now = False
            elif not s.pending or (nagle and not first and s.nagle_holds(room)):
                chunks = []
            else:
                chunks = list(s.take_new(p.ip, room, now, burst))
            if not chunks:
                if first and room < limit:
                    # The control chunks left too little room for a full chunk: they go
                    # alone and the data gets a packet of its own (§6.10 bundling is a MAY).
                    self.pm.emit(first, p)
                    first, room = [], limit
                    continue
                break
            self.pm.emit(first + chunks if first else chunks, p)
            first = []
            room = limit
            p.data_sent_at = now
            if not self.timers.running(t3):
                self.timers.start(t3, now + p.rto.rto)  # §6.3.2 R1
        if first:
            self.pm.emit(first, p)

    def restart_tsns(self, local_tsn: int, peer_tsn: int) -> None:
        """RFC 6525 §5.1.4 / §5.2.4 (SSN/TSN Reset): our next TSN is ``local_tsn``, the peer's
        numbering starts again at ``peer_tsn`` (our cumulative TSN ack point becomes
        ``peer_tsn - 1``) and every stream restarts at SSN 0 both ways. The caller makes
        sure nothing is outstanding (UsageError EBUSY otherwise, and nothing changes)."""
        self.sender.restart(local_tsn)
        self.receiver.restart(peer_tsn)
        self._rtx_dst = None
        self._fast_rtx_now = False
        self.deliver()  # a partial delivery it ended is reported now

    # ----- stream scheduling (RFC 8260 §3, §4.3.2, §4.3.3) -----

    def set_stream_scheduler(self, name: str) -> None:
        self.sender.pending.set_scheduler(name)

    def stream_scheduler(self) -> str:
        return self.sender.pending.scheduler_name

    def set_stream_value(self, stream_id: int, value: int) -> None:
        self._check_stream(stream_id)
        self.sender.pending.set_value(stream_id, value)

    def stream_value(self, stream_id: int) -> int:
        self._check_stream(stream_id)
        return self.sender.pending.value(stream_id)

    def _check_stream(self, stream_id: int) -> None:
        if not 0 <= stream_id < self.sender.outbound_streams:
            raise einval(f"stream {stream_id} not in 0..{self.sender.outbound_streams - 1}")

    # ----- the end -----

    def fail_all(self, error: int) -> None:
        self.sender.fail_all(error)
        held, self.held = self.held, []
        for data, stream, ppid, _u, context, _t, _r in held:
            self.ctx.events.append(SendFailed(self.assoc_id, data, stream, ppid, context, error,
                                              False))  # fmt: skip

    def take_unsent(
        self, now: float
    ) -> list[tuple[bytes, int, int, bool, int, float | None, int | None]]:
        """The messages never sent, as Association.send's arguments; the rest fails."""
        out = []
        for m in self.sender.take_unsent():
            ttl = None if m.expires_at is None else max(0.0, m.expires_at - now)
            out.append((m.data, m.stream_id, m.ppid, m.unordered, m.context, ttl, m.max_rtx))
        self.sender.fail_all(errno.ECONNRESET)  # anything already on its way (none expected)
        out += self.held  # queued after those (RFC 6525 §5.1.2)
        self.held = []
        return out


def _size(c: w.Chunk) -> int:
    return (4 + len(c.value()) + 3) & ~3
