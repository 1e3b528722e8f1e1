"""The sending half of the data path (RFC 9260 §6.1-§6.4, §7; PR-SCTP: RFC 3758 §3.5).

User messages are split into DATA (or, RFC 8260, I-DATA) chunks at once and wait
in ``pending``, one queue per stream with a stream scheduler between them
(:mod:`.scheduler`), until cwnd and the peer's window let them go; the TSN, the
SSN or MID are given at the first transmission (late TSN assignment, RFC 8260
§1.1). Once sent, a chunk is *outstanding* until the peer's
cumulative TSN ack passes it. Chunks are numbered internally by ``seq``, a
non-wrapping count from the Initial TSN, so ordering never needs serial-number
arithmetic except where a TSN comes in from the wire (:meth:`Sender.seq_of`).

Work per message is O(1) amortised: ``outstanding`` is a dict in TSN order
(the cum ack pops from its front), retransmissions wait in a heap, and a SACK
only visits the chunks its gap blocks name and those below the highest newly
acknowledged TSN that are still missing.
"""

from __future__ import annotations

import errno
import heapq
from collections.abc import Callable
from dataclasses import dataclass

from .. import wire as w
from .cc import CongestionControl, Rfc9260
from .config import Config
from .errors import UsageError, einval
from .path import Path
from .scheduler import SendQueue

MASK = 0xFFFFFFFF
DATA_HEADER = 16
IDATA_HEADER = 20  # RFC 8260 §2.1


def chunk_size(payload: int, header: int = DATA_HEADER) -> int:
    """Bytes a DATA (or I-DATA) chunk takes in a packet, header and padding included."""
    return (header + payload + 3) & ~3


@dataclass(slots=True, eq=False)
class OutMessage:
    """One user message and what became of it."""

    data: bytes
    stream_id: int
    ppid: int
    unordered: bool
    context: int
    ssn: int  # the SSN (DATA) or the MID (I-DATA, RFC 8260 §2.1); -1 until first sent
    expires_at: float | None  # PR-SCTP timed reliability (RFC 3758 §4.1)
    max_rtx: int | None  # PR-SCTP limited retransmissions
    chunks_left: int = 0  # fragments not yet acknowledged
    sent: bool = False
    abandoned: bool = False
    fsn_shift: int = 0  # I-DATA: wire FSN = fsn - this after B: 0 (RFC 8260 §2.1), 1 (Linux)


@dataclass(slots=True, eq=False)
class OutChunk:
    """One DATA chunk: before its first transmission (``seq`` < 0) or outstanding."""

    msg: OutMessage
    flags: int
    begin: int  # slice of msg.data
    end: int
    size: int  # on the wire
    seq: int = -1
    data: w.DataChunk | w.IDataChunk | None = None
    path: str = ""  # destination of the last transmission
    sent_at: float = 0.0
    tx_count: int = 0
    acked: bool = False  # gap-acknowledged
    in_flight: bool = False  # counted in its path's flight size
    marked: bool = False  # waiting for retransmission
    missing: int = 0  # miss indications (§7.2.4)
    seen: int = 0  # the last SACK round whose gap blocks covered it
    fast_rtx: bool = False  # already fast-retransmitted once
    fsn: int = 0  # I-DATA: its place in the message, B = 0 (RFC 8260 §2.1)


@dataclass(slots=True, eq=False)
class PathTx:
    """Per-destination sending state: congestion controller and flight size (§6.1, §7.2)."""

    cc: CongestionControl
    flight: int = 0
    last_sent: float = 0.0
    # §6.1 D: the flight before the SACKs handled since the last flush (0: none). What
    # they acknowledged may be refilled; Max.Burst bounds only the growth beyond it.
    burst_base: int = 0


class Sender:
    """Turns user messages into DATA chunks and keeps them until acknowledged."""

    def __init__(
        self,
        initial_tsn: int,
        outbound_streams: int,
        peer_rwnd: int,
        cfg: Config,
        paths: dict[str, Path],
        pr_sctp: bool,
        failed: Callable[[OutMessage, int], None],
        interleaving: bool = False,
    ) -> None:
        self.cfg = cfg
        # RFC 8260: I-DATA (and I-FORWARD-TSN) instead of DATA (and FORWARD TSN).
        self.interleaving = interleaving
        self.header = IDATA_HEADER if interleaving else DATA_HEADER
        # Config.idata_fsn: 1 numbers fragments after B from 0 (Linux), 0 from 1 (RFC 8260
        # §2.1); "auto" starts with the RFC's and may follow the peer (follow_linux_fsn).
        self.fsn_shift = 1 if cfg.idata_fsn == "linux" else 0
        self.fragmented_sent = False  # a message in several I-DATA chunks has gone
        self.initial_tsn = initial_tsn
        self.outbound_streams = outbound_streams
        self.peer_rwnd = peer_rwnd
        self.paths = paths
        self.pr_sctp = pr_sctp
        self._failed = failed
        self.next_seq = 0
        self.cum_seq = -1  # highest seq cumulatively acknowledged
        self.adv_seq = -1  # Advanced.Peer.Ack.Point, RFC 3758 §3.5
        self.pending = SendQueue(cfg.stream_scheduler, interleaving)
        self.outstanding: dict[int, OutChunk] = {}
        self.rtx_heap: list[int] = []
        self.tx: dict[str, PathTx] = {}
        self.next_ssn: dict[int, int] = {}  # streams used so far (up to 65,535 may be)
        self.next_umid: dict[int, int] = {}  # I-DATA: unordered MIDs (RFC 8260 §2.1)
        self.fast_recovery_exit: int | None = None
        self.forward_tsn_due = False
        self.abandoned_streams: dict[int, int] = {}  # stream -> highest abandoned SSN
        self.abandoned_mids: dict[tuple[int, bool], int] = {}  # I-DATA: (stream, U) -> MID
        self.queued_bytes = 0
        self.total_flight = 0
        self.advertised_rwnd = peer_rwnd  # the a_rwnd of the latest SACK
        self._round = 0
        self._highest_gap = -1  # the highest seq ever gap-acked (for reneging)

    # ----- sizes -----

    def max_packet(self, ip: str) -> int:
        """Largest SCTP packet for a destination: MTU less IP and UDP headers."""
        p = self.paths.get(ip)
        over = (40 if ":" in ip else 20) + (8 if p is None or p.udp_port else 0)
        return self.cfg.mtu - over

    def path_tx(self, ip: str) -> PathTx:
        t = self.tx.get(ip)
        if t is None:
            mtu = self.max_packet(ip) - 12
            t = self.tx[ip] = PathTx(Rfc9260(mtu, self.peer_rwnd, ":" in ip))
        return t

    def tsn(self, seq: int) -> int:
        return (self.initial_tsn + seq) & MASK

    def seq_of(self, tsn: int) -> int:
        """The seq of a TSN from the wire, read relative to the cum ack (RFC 1982)."""
        d = (tsn - self.tsn(self.cum_seq)) & MASK
        if d >= 1 << 31:
            d -= 1 << 32
        return self.cum_seq + d

    # ----- the user's messages -----

    def enqueue(
        self, data: bytes, stream_id: int, ppid: int, unordered: bool, context: int,
        ttl: float | None, max_rtx: int | None, now: float, payload: int,
    ) -> None:  # fmt: skip
        """Queue one message, fragmented to ``payload`` bytes per DATA chunk (§6.9)."""
        if not 0 <= stream_id < self.outbound_streams:
            raise einval(f"stream {stream_id} not in 0..{self.outbound_streams - 1}")  # IACK-10
        if not data:
            raise einval("an SCTP message cannot be empty (§6.2 No User Data)")
        if not 0 <= ppid <= MASK:
            raise einval("ppid must fit 32 bits")
        expires = now + ttl if ttl is not None else None
        # The SSN is taken when the first fragment is sent, so a message abandoned
        # before that leaves no hole in its stream for the receiver to wait on.
        ssn = 0 if unordered and not self.interleaving else -1
        msg = OutMessage(data, stream_id, ppid, unordered, context, ssn, expires, max_rtx)
        u = w.FLAG_UNORDERED if unordered else 0
        n = len(data)
        if n <= payload:  # one chunk carries it all: B and E set
            msg.chunks_left = 1
            size = chunk_size(n, self.header)
            self.pending.append(OutChunk(msg, u | w.FLAG_BEGIN | w.FLAG_END, 0, n, size))
        else:
            for c in self._fragments(msg, payload):
                self.pending.append(c)
        self.queued_bytes += n

    def _fragments(self, msg: OutMessage, payload: int) -> list[OutChunk]:
        """§6.9: ``msg`` cut into chunks of ``payload`` bytes; sets its chunks_left."""
        u = w.FLAG_UNORDERED if msg.unordered else 0
        n = len(msg.data)
        starts = range(0, n, payload)
        msg.chunks_left = len(starts)
        out = []
        header = self.header
        for fsn, i in enumerate(starts):
            end = min(n, i + payload)
            flags = u | (w.FLAG_BEGIN if i == 0 else 0) | (w.FLAG_END if end == n else 0)
            out.append(OutChunk(msg, flags, i, end, chunk_size(end - i, header), fsn=fsn))
        return out

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing outstanding."""
        return not self.pending and not self.outstanding

    def flight(self) -> int:
        """Bytes in flight on all paths."""
        return self.total_flight

    def _leave_flight(self, c: OutChunk) -> None:
        if c.in_flight:
            self.tx[c.path].flight -= c.size  # in flight: sent there, so it has a PathTx
            self.total_flight -= c.size
            c.in_flight = False

    # ----- choosing what to send -----

    def take_retransmissions(
        self, ip: str, room: int, now: float, ignore_cwnd: bool
    ) -> list[w.DataChunk | w.IDataChunk]:
        """Chunks marked for retransmission that fit ``room`` bytes and the cwnd of ``ip``."""
        out: list[w.DataChunk | w.IDataChunk] = []
        t = self.path_tx(ip)
        while self.rtx_heap and room > 0:
            seq = self.rtx_heap[0]
            c = self.outstanding.get(seq)
            if c is None or not c.marked or c.acked:
                heapq.heappop(self.rtx_heap)
                continue
            if self._expire(c, now):
                heapq.heappop(self.rtx_heap)
                continue
            if c.size > room or (not ignore_cwnd and t.flight >= t.cc.cwnd):
                break  # §6.1 B: may overbook cwnd by less than one chunk
            heapq.heappop(self.rtx_heap)
            c.marked = False
            self._transmit(c, ip, t, now)
            room -= c.size
            assert c.data is not None
            out.append(c.data)
        return out

    def take_new(
        self, ip: str, room: int, now: float, burst_limit: int | None = None
    ) -> list[w.DataChunk | w.IDataChunk]:
        """New chunks for ``ip`` within ``room`` (one packet), its cwnd and the peer's window
        (§6.1 A, B); ``burst_limit`` lowers cwnd for this call only (Max.Burst, §6.1 D)."""
        out: list[w.DataChunk | w.IDataChunk] = []
        t = self.path_tx(ip)
        cwnd = t.cc.cwnd if burst_limit is None else min(t.cc.cwnd, burst_limit)
        rwnd = self.peer_rwnd
        pending = self.pending
        fifo = pending.fifo  # fcfs: one FIFO, read here directly (the fast path)
        if fifo is None:
            pending.next_packet()
        while room > 0:
            if fifo is not None:
                if not fifo:
                    break
                c = fifo[0]
            else:
                h = pending.head()
                if h is None:
                    break
                c = h
            m = c.msg
            if m.abandoned:
                pending.pop()
                continue
            if m.expires_at is not None and self._expire_unsent(c, now):
                continue  # abandoning took its chunks out of the queue
            size = c.size
            if size > room:
                break
            # Rule A: the peer's window; rule B: one chunk may probe a zero window.
            if size > rwnd and self.outstanding:
                break
            if t.flight >= cwnd:
                break  # §6.1 B: below cwnd one more chunk may go (overbooking < 1 PMDCS)
            if fifo is not None:
                fifo.popleft()
            else:
                pending.pop()
            seq = c.seq = self.next_seq
            self.next_seq = seq + 1
            if self.interleaving:
                c.data = self._idata(c, m, seq)
            else:
                if m.ssn < 0:  # §6.6: the stream sequence number, at first transmission
                    m.ssn = self.next_ssn.get(m.stream_id, 0)
                    self.next_ssn[m.stream_id] = (m.ssn + 1) & 0xFFFF
                c.data = w.DataChunk(self.tsn(seq), m.stream_id, m.ssn, m.ppid,
                                     m.data[c.begin : c.end], c.flags)  # fmt: skip
            self.outstanding[seq] = c
            m.sent = True
            self.queued_bytes -= c.end - c.begin
            self._transmit(c, ip, t, now)
            room -= size
            rwnd -= size
            out.append(c.data)
        self.peer_rwnd = max(0, rwnd)  # §6.1: what we sent shrinks it until the next SACK
        return out

    def _idata(self, c: OutChunk, m: OutMessage, seq: int) -> w.IDataChunk:
        """RFC 8260 §2.1: the MID, from the stream's ordered or unordered counter at the
        message's first transmission (so one abandoned unsent leaves no hole); the PPID in
        the first fragment, the FSN in the others, numbered as was due when the message
        first went (Config.idata_fsn; a message keeps its numbering)."""
        if m.ssn < 0:
            counters = self.next_umid if m.unordered else self.next_ssn
            m.ssn = counters.get(m.stream_id, 0)
            counters[m.stream_id] = (m.ssn + 1) & MASK
            m.fsn_shift = self.fsn_shift
            if not c.flags & w.FLAG_END:
                self.fragmented_sent = True
        pf = m.ppid if c.fsn == 0 else (c.fsn - m.fsn_shift) & MASK
        return w.IDataChunk(self.tsn(seq), m.stream_id, m.ssn, pf, m.data[c.begin : c.end],
                            c.flags)  # fmt: skip

    def follow_linux_fsn(self) -> None:
        """The peer numbers its fragments the Linux way (core.ireassembly): with "auto",
        messages first sent from now on are numbered so too (Config.idata_fsn) - unless a
        fragmented message has gone already. Decision: the peer then knows our numbering
        as the RFC's (an sctpx peer on "linux" settles on it), and a change would leave it
        a message that looks whole without its second fragment; Linux itself could not
        reassemble that first message anyway, so little is lost by keeping to it."""
        if self.cfg.idata_fsn == "auto" and not self.fragmented_sent:
            self.fsn_shift = 1

    def restart(self, initial_tsn: int) -> None:
        """RFC 6525 §5.1.4 / §5.2.4 (SSN/TSN Reset): TSNs start again at ``initial_tsn`` and
        every stream at SSN 0. Nothing may be outstanding (UsageError EBUSY otherwise).

        Messages still queued go out under the new numbering. Decision: one that had begun
        (its first fragments sent and acknowledged) is sent again whole, from its first
        byte: the peer drops its reassembly state at the reset, so the rest alone could
        never complete, and sending it again delivers it exactly once.
        """
        if self.outstanding:
            raise UsageError(errno.EBUSY, "TSN reset with data outstanding")
        self.initial_tsn = initial_tsn & MASK
        self.next_seq = 0
        self.cum_seq = self.adv_seq = self._highest_gap = -1
        self.rtx_heap.clear()
        self.fast_recovery_exit = None
        self.forward_tsn_due = False
        self.abandoned_streams.clear()
        self.abandoned_mids.clear()
        self.next_ssn.clear()
        self.next_umid.clear()
        begun = [c for c in self.pending if c.msg.sent]
        for m in {id(c.msg): c.msg for c in begun}.values():
            self._refragment(m)

    def _refragment(self, m: OutMessage) -> None:
        """Put ``m`` back in the queue whole, unsent, where its rest was (restart)."""
        rest = [c for c in self.pending if c.msg is m]
        payload = max(c.end - c.begin for c in rest)
        m.sent = False
        m.ssn = 0 if m.unordered and not self.interleaving else -1
        for c in self.pending.replace_head(self._fragments(m, payload)):
            self.queued_bytes -= c.end - c.begin
        self.queued_bytes += len(m.data)

    def reset_streams(self, streams: tuple[int, ...]) -> None:
        """RFC 6525 §5.1.2: after a performed reset the streams (none: all) start at SSN 0."""
        # RFC 8260 §2.3.2: with I-DATA both MID counters (ordered, unordered) restart.
        if not streams:
            self.next_ssn.clear()
            self.next_umid.clear()
        for sid in streams:
            self.next_ssn.pop(sid, None)
            self.next_umid.pop(sid, None)

    def burst_limit(self, ip: str) -> int:
        """§6.1 D, applied by lowering cwnd for this transmission only:
        ``cwnd = flightsize + Max.Burst * PMDCS`` when that is smaller.

        The flightsize is the one *before* the SACKs handled since the last flush
        (:attr:`PathTx.burst_base`): a driver that reads a batch of datagrams handles
        several SACKs before it sends, and what they acknowledged is the ack clock's
        to refill. Taking the flight after them would let at most Max.Burst packets
        out per batch, and the flight would never reach cwnd on a fast link.
        """
        t = self.path_tx(ip)
        return max(t.burst_base, t.flight) + self.cfg.max_burst * t.cc.mtu

    def end_burst(self) -> None:
        """A flush is over: the next one counts from the flight it leaves."""
        for t in self.tx.values():
            t.burst_base = 0

    def _transmit(self, c: OutChunk, ip: str, t: PathTx, now: float) -> None:
        c.path = ip
        c.sent_at = now
        c.tx_count += 1
        c.in_flight = True
        t.flight += c.size
        self.total_flight += c.size
        t.last_sent = now

    def can_send_new(self) -> bool:
        return bool(self.pending)

    def nagle_holds(self, room: int) -> bool:
        """SCTP_NODELAY off: hold a part-filled packet while data is in flight (§6.1 note).

        The rest of a fragmented message is never held (as Linux does): only small
        whole messages wait to be bundled.
        """
        if self.cfg.nodelay or not self.flight() or not self.pending:
            return False
        head = self.pending.head()
        if head is None or head.flags & w.FLAG_BEGIN == 0:
            return False
        queued = 0
        for c in self.pending:  # stops once a packet's worth is queued (≤ room / 17 chunks)
            queued += c.size
            if queued >= room:
                return False
        return True

    # ----- acknowledgements (§6.2.1) -----

    def on_sack(self, sack: w.SackChunk, now: float) -> SackResult | None:
        """Apply a SACK; None if it is stale or impossible (it is then ignored)."""
        cum = self.seq_of(sack.cum_tsn_ack)
        if cum < self.cum_seq or cum >= self.next_seq:
            return None  # older than what we know, or acks what was never sent
        res = SackResult()
        self._round += 1
        flight_before = {ip: t.flight for ip, t in self.tx.items()}
        htna = -1
        advanced = cum > self.cum_seq
        outstanding = self.outstanding
        # Everything above the cum ack is outstanding (keyed by seq, in order): the new
        # cum ack takes it from the front.
        for seq in range(self.cum_seq + 1, cum + 1):
            c = outstanding.pop(seq, None)
            if c is not None and not c.acked:
                self._newly_acked(c, res, now)
                htna = seq
        self.cum_seq = max(self.cum_seq, cum)
        self.adv_seq = max(self.adv_seq, self.cum_seq)
        reported = cum  # the highest TSN this SACK reports received
        for start, end in sack.gap_blocks:
            # §3.3.4: blocks ascend and do not overlap; a peer that breaks this gets the
            # rest of its SACK ignored, so no SACK costs more than one pass over the window.
            lo, hi = cum + start, min(cum + end, self.next_seq - 1)
            if start > end or lo <= reported:
                break
            reported = hi
            for seq in range(lo, hi + 1):
                g = self.outstanding.get(seq)
                if g is None:
                    continue
                g.seen = self._round
                if not g.acked:
                    g.acked = True
                    self._newly_acked(g, res, now)
                    htna = max(htna, seq)
        self.peer_rwnd = max(0, sack.a_rwnd - self.flight())  # §6.2.1
        self.advertised_rwnd = sack.a_rwnd
        in_recovery = self.fast_recovery_exit is not None
        for ip, f in flight_before.items():
            t = self.tx[ip]
            if f > t.burst_base:
                t.burst_base = f  # §6.1 D, see burst_limit
        for ip, acked in res.bytes_acked.items():  # §7.2.4 note: growth before any cut
            t = self.path_tx(ip)
            t.cc.on_ack(acked, flight_before.get(ip, 0), in_recovery)
            if t.flight == 0:
                t.cc.on_all_acked()
        self._count_misses(htna, reported, advanced, res)
        if self.fast_recovery_exit is not None and self.cum_seq >= self.fast_recovery_exit:
            self.fast_recovery_exit = None
        res.cum_advanced = advanced
        self._advance_abandoned()
        if self.pr_sctp and self.adv_seq > self.cum_seq:
            self.forward_tsn_due = True  # RFC 3758 §3.5 C3: the peer is still behind
        return res

    def _newly_acked(self, c: OutChunk, res: SackResult, now: float) -> None:
        self._leave_flight(c)
        c.marked = False
        ip, sent_at = c.path, c.sent_at
        res.bytes_acked[ip] = res.bytes_acked.get(ip, 0) + c.size
        if c.tx_count == 1:
            # Only a chunk sent once says which path delivered it (Karn's ambiguity: a
            # retransmitted one may have arrived by an earlier transmission elsewhere).
            latest = res.acked_paths.get(ip, 0.0)
            res.acked_paths[ip] = sent_at if sent_at > latest else latest
            if ip not in res.rtt:  # Karn: RTT only from first transmissions
                res.rtt[ip] = now - sent_at
        c.msg.chunks_left -= 1

    def _count_misses(self, htna: int, reported: int, advanced: bool, res: SackResult) -> None:
        """§7.2.4 miss indications (HTNA rule) and §6.2.1 D iii reneging.

        Below the Highest TSN Newly Acknowledged, every missing chunk gets a miss;
        in Fast Recovery, a SACK that advances the cum ack gives one to every chunk
        it reports missing (below the highest TSN it reports). A chunk gap-acked
        before but missing from this SACK's blocks was reneged: it is outstanding
        again and gets a miss.
        """
        in_recovery = self.fast_recovery_exit is not None
        limit = reported if in_recovery and advanced else htna
        self._highest_gap = max(self._highest_gap, reported)
        stop = max(limit, self._highest_gap + 1)
        for seq, c in self.outstanding.items():
            if seq >= stop:
                break
            if c.acked:
                if c.seen != self._round and not c.msg.abandoned:
                    self._renege(c)  # it is missing now (retransmitted at T3 at least)
                    if seq >= reported:
                        continue  # beyond what this SACK reports: no miss counted
                else:
                    continue
            if seq >= limit or c.marked or c.fast_rtx:
                continue
            c.missing += 1
            if c.missing >= 3:
                c.fast_rtx = True
                self._mark(c)
                res.fast_rtx_paths.add(c.path)
        if res.fast_rtx_paths and not in_recovery:
            for ip in res.fast_rtx_paths:
                self.path_tx(ip).cc.on_loss()
            self.fast_recovery_exit = self.next_seq - 1
            res.enter_fast_recovery = True

    def _renege(self, c: OutChunk) -> None:
        """The peer dropped a chunk it had gap-acked: count it outstanding again."""
        c.acked = False
        c.msg.chunks_left += 1
        if not c.marked and not c.in_flight:
            c.in_flight = True
            self.path_tx(c.path).flight += c.size
            self.total_flight += c.size

    def idle_decay(self, ip: str, now: float, rto: float) -> None:
        """§7.2.1: a path that sent nothing for an RTO decays its cwnd, once per RTO.

        Applied lazily, when data is next sent to the path: the same cwnd is used
        as if it had decayed on time, without a timer per idle path.
        """
        t = self.path_tx(ip)
        if t.flight or not t.last_sent or now - t.last_sent < rto:
            return
        n = min(int((now - t.last_sent) / rto), 8)
        for _ in range(n):
            t.cc.on_idle()
        t.last_sent += n * rto

    def _mark(self, c: OutChunk) -> None:
        self._leave_flight(c)
        if not c.marked:
            c.marked = True
            heapq.heappush(self.rtx_heap, c.seq)

    def on_t3(self, ip: str) -> None:
        """§6.3.3 E1, E3: slow start on ``ip`` and mark everything outstanding there."""
        self.path_tx(ip).cc.on_timeout()
        self.mark_path(ip)

    def mark_path(self, ip: str) -> None:
        """Mark every chunk outstanding on ``ip`` for retransmission."""
        if self.pr_sctp and self.adv_seq > self.cum_seq:
            self.forward_tsn_due = True
        for c in self.outstanding.values():
            if c.path == ip and not c.acked:
                self._mark(c)

    def outstanding_on(self, ip: str) -> bool:
        return self.path_tx(ip).flight > 0

    def forward_tsn_pending(self) -> bool:
        """RFC 3758: the peer has not yet acknowledged up to the Advanced.Peer.Ack.Point."""
        return self.pr_sctp and self.adv_seq > self.cum_seq

    def has_rtx(self) -> bool:
        while self.rtx_heap:
            c = self.outstanding.get(self.rtx_heap[0])
            if c is not None and c.marked and not c.acked:
                return True
            heapq.heappop(self.rtx_heap)
        return False

    # ----- PR-SCTP (RFC 3758) -----

    def _expire(self, c: OutChunk, now: float) -> bool:
        """§3.5 A1-A2: abandon an outstanding chunk's message past its lifetime or tries."""
        m = c.msg
        if not self.pr_sctp or m.abandoned:
            return m.abandoned
        late = m.expires_at is not None and now >= m.expires_at
        tired = m.max_rtx is not None and c.tx_count > m.max_rtx
        if late or tired:
            self._abandon(m)
            return True
        return False

    def _expire_unsent(self, c: OutChunk, now: float) -> bool:
        m = c.msg
        if not m.sent and m.expires_at is not None and now >= m.expires_at:
            self._abandon(m)  # never sent: dropped locally (RFC 6458 timed reliability)
            return True
        return False

    def _abandon(self, m: OutMessage) -> None:
        m.abandoned = True
        for c in self.outstanding.values():
            if c.msg is m and not c.acked:
                self._leave_flight(c)
                c.marked = False
                c.acked = True  # no longer expected to be acknowledged
        for c in self.pending.remove(m):
            self.queued_bytes -= c.end - c.begin
        if self.interleaving:
            if m.ssn >= 0:  # RFC 8260 §2.3.1: ordered and unordered MIDs alike
                key = (m.stream_id, m.unordered)
                last = self.abandoned_mids.get(key)
                if last is None or ((m.ssn - last) & MASK) < 0x80000000:
                    self.abandoned_mids[key] = m.ssn
        elif not m.unordered and m.ssn >= 0:
            prev = self.abandoned_streams.get(m.stream_id)
            if prev is None or ((m.ssn - prev) & 0xFFFF) < 0x8000:
                self.abandoned_streams[m.stream_id] = m.ssn
        self._failed(m, errno.ETIMEDOUT)
        self._advance_abandoned()

    def _advance_abandoned(self) -> None:
        """§3.5 C1: move the Advanced.Peer.Ack.Point over abandoned chunks."""
        seq = self.adv_seq + 1
        moved = False
        while seq < self.next_seq:
            oc = self.outstanding.get(seq)
            if oc is None or not oc.msg.abandoned:
                break
            seq += 1
            moved = True
        if moved:
            self.adv_seq = seq - 1
            self.forward_tsn_due = True

    def forward_tsn(self) -> w.ForwardTsnChunk | w.IForwardTsnChunk | None:
        """§3.5 C2-C3: the FORWARD TSN (I-FORWARD-TSN with I-DATA, RFC 8260 §2.3.1) to send,
        if the ack point moved past abandoned data."""
        if not self.forward_tsn_due or self.adv_seq <= self.cum_seq:
            self.forward_tsn_due = False
            return None
        self.forward_tsn_due = False
        if self.interleaving:
            entries = tuple(sorted((s, u, mid) for (s, u), mid in self.abandoned_mids.items()))
            return w.IForwardTsnChunk(self.tsn(self.adv_seq), entries)
        streams = tuple(sorted(self.abandoned_streams.items()))
        return w.ForwardTsnChunk(self.tsn(self.adv_seq), streams)

    # ----- giving up -----

    def take_unsent(self) -> list[OutMessage]:
        """Remove and return, in order, the messages none of whose chunks was ever sent.

        For a set-up that starts again (a Stale Cookie error, RFC 9260 §5.2.6): they
        wait for the next data path. Messages already (partly) sent stay here.
        """
        out: list[OutMessage] = []
        seen: set[int] = set()
        for c in list(self.pending):
            m = c.msg
            if not m.sent and not m.abandoned and id(m) not in seen:
                seen.add(id(m))
                out.append(m)
        for m in out:
            for c in self.pending.remove(m):
                self.queued_bytes -= c.end - c.begin
        return out

    def fail_all(self, error: int) -> None:
        """Hand every message not yet acknowledged back to the user (COMM_LOST, abort)."""
        seen: set[int] = set()
        for c in [*self.outstanding.values(), *self.pending]:
            m = c.msg
            if id(m) in seen or m.abandoned or m.chunks_left <= 0:
                continue
            seen.add(id(m))
            m.abandoned = True
            self._failed(m, error)
        self.outstanding.clear()
        self.pending.clear()
        self.rtx_heap.clear()
        for t in self.tx.values():
            t.flight = 0
        self.total_flight = 0


@dataclass(slots=True)
class SackResult:
    """What one SACK did, for the association to act on (timers, error counters, events)."""

    bytes_acked: dict[str, int]
    acked_paths: dict[str, float]  # path -> latest send time of a chunk acked there
    rtt: dict[str, float]
    fast_rtx_paths: set[str]
    cum_advanced: bool = False
    enter_fast_recovery: bool = False

    def __init__(self) -> None:
        self.bytes_acked = {}
        self.acked_paths = {}
        self.rtt = {}
        self.fast_rtx_paths = set()
        self.cum_advanced = False
        self.enter_fast_recovery = False
