"""The receiving half of the data path (RFC 9260 §6.2, §6.5–§6.7, §6.9; RFC 3758 §3.6).

:class:`Receiver` is sans-IO: the association hands it each DATA and FORWARD TSN chunk, calls
:meth:`Receiver.on_packet_done` after each packet that carried DATA, and then asks it whether a
SACK is due (:attr:`~Receiver.sack_now`, :attr:`~Receiver.sack_deadline`), for the SACK
itself (:meth:`~Receiver.make_sack`) and for the messages now deliverable
(:meth:`~Receiver.pop_messages`). The user's reads come back through :meth:`Receiver.consumed`.

Bounds, whatever the peer sends:

* user data held (fragments, complete messages waiting for their turn, delivered but not yet
  consumed) stays within ``buffer_limit`` plus at most one DATA chunk: a chunk that does not fit
  is dropped (NO_ROOM, not acked; §6.2), except the one at the cumulative TSN ack point + 1
  while some window is still open, which is taken so that a hole that stalls the cumulative
  point can always be filled (a zero window probe, §6.1 A) - it may overshoot by one chunk;
* a TSN more than ``max_tsn_span`` (default ``buffer_limit + 1``: every DATA chunk carries at
  least one byte, so a sender honouring our window is never further ahead) past the cumulative
  point is dropped (NO_ROOM), which bounds the TSN map;
* Gap Ack Blocks per SACK: ``max_gap_blocks`` (default 64, the lowest ones, §6.7); Duplicate
  TSNs per SACK: ``max_dups`` (default 32). A SACK is then at most 16 + 4 * (64 + 32) = 400
  bytes and leaves room for DATA in a 1200-byte packet. As §3.3.4 says, every duplicate
  reception is listed (a TSN received three times is listed twice).

A FORWARD TSN always makes a SACK due at once (:attr:`~Receiver.sack_now`), stricter than RFC
3758 §3.6's "same delayed-SACK rules as DATA"; so does a packet with a duplicate, a dropped
chunk, the I bit, or one that leaves, fills or changes a gap (§6.2, §6.7).

Partial delivery (§6.9, RFC 6458 §8.1.20): a message too large for the receive buffer is
handed out in parts, ``complete`` False on all but the last. Decision: only when it must
be - the window is too small for two of the sender's next fragments, the user has read
everything delivered, and the lowest message in reassembly has its first fragment, is next
in order on its stream and holds at least half the buffer (a partial delivery point of
buffer / 2, as RFC 6458's SCTP_PARTIAL_DELIVERY_POINT). A message up to half the buffer
therefore always arrives whole, and one that fits the buffer almost always. While a
partial delivery runs, nothing else is handed out (with DATA chunks its parts could not be
told apart from other messages); what completes meanwhile follows its last part. A FORWARD
TSN that abandons the rest of it ends it: :meth:`Receiver.take_pd_aborted` reports it.

I-DATA (RFC 8260): with ``interleaving`` the chunks come through :meth:`Receiver.on_idata`
and :meth:`Receiver.on_iforward_tsn`; the TSN map, window and SACK rules are these, the
reassembly and ordering by MID are :mod:`.ireassembly`'s.

Not done here: reneging (§6.2's "SHOULD drop the largest TSN held").
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heapify, heappop, heappush
from typing import NamedTuple

from ..wire.chunks import (
    FLAG_BEGIN,
    FLAG_END,
    FLAG_IMMEDIATE,
    FLAG_UNORDERED,
    DataChunk,
    ForwardTsnChunk,
    IDataChunk,
    IForwardTsnChunk,
    SackChunk,
)
from .errors import einval
from .ireassembly import IDataQueue
from .tsnmap import MASK32, TsnMap

SSN_MASK = 0xFFFF
SSN_HALF = 0x8000
_BE = FLAG_BEGIN | FLAG_END


class ReceivedMessage(NamedTuple):
    """One complete user message, ready for the user.

    Immutable, and a tuple because one is made per message: a frozen dataclass costs
    three times as much to build.
    """

    stream_id: int
    ssn: int
    ppid: int  # host order integer (the codec already converts)
    data: bytes
    unordered: bool
    tsn: int  # TSN of the first fragment
    complete: bool = True  # False: a part of a message in partial delivery, more follows


class DataVerdict(enum.Enum):
    """What :meth:`Receiver.on_data` did with a DATA chunk."""

    NEW = "new"  # accepted (counts toward a_rwnd)
    DUPLICATE = "duplicate"  # already had it (reported in the SACK's duplicate TSNs, §6.2)
    NO_ROOM = "no-room"  # dropped: receive buffer full or TSN absurdly far ahead (not acked)
    INVALID_STREAM = "invalid-stream"  # §6.5: acked, data discarded; caller sends ERROR
    NO_USER_DATA = "no-user-data"  # §6.2: caller must ABORT with No User Data


@dataclass(slots=True)
class ReceiverStats:
    """Counters for tests and monitoring."""

    chunks: int = 0  # DATA chunks given to on_data
    duplicates: int = 0
    no_room: int = 0
    invalid_stream: int = 0
    messages: int = 0  # complete messages made deliverable
    discarded_messages: int = 0  # complete messages thrown away (stale or repeated SSN)
    discarded_partials: int = 0  # partial messages dropped by FORWARD TSN
    partial_deliveries: int = 0  # messages too large for the buffer, handed out in parts
    forward_tsn_ignored: int = 0  # FORWARD TSNs at/behind the cum point or absurdly far ahead


class _Partial:
    """A run of fragments with consecutive TSNs that may belong to one message (§6.9)."""

    __slots__ = ("begins", "ends", "first", "last", "nbytes", "ppid", "sid", "ssn", "unordered")

    def __init__(
        self, t: int, sid: int, ssn: int, unordered: bool, ppid: int, flags: int, n: int
    ) -> None:
        self.first = t  # unwrapped TSNs
        self.last = t
        self.sid = sid
        self.ssn = ssn
        self.unordered = unordered
        self.ppid = ppid
        self.begins = bool(flags & FLAG_BEGIN)
        self.ends = bool(flags & FLAG_END)
        self.nbytes = n

    def joins(self, sid: int, ssn: int, unordered: bool) -> bool:
        """Whether a fragment with these fields can be the same message (§6.9): same stream,
        same U flag, and for ordered messages the same SSN (ignored when unordered, §6.6)."""
        if self.sid != sid or self.unordered != unordered:
            return False
        return unordered or self.ssn == ssn


class _PartialDelivery:
    """The message being handed out in parts: who it is and the TSN its next part starts at."""

    __slots__ = ("first", "next", "ppid", "sid", "ssn", "tsn", "unordered")

    def __init__(self, run: _Partial) -> None:
        self.sid, self.ssn, self.unordered, self.ppid = run.sid, run.ssn, run.unordered, run.ppid
        self.tsn = run.first & MASK32
        self.first = self.next = run.first  # unwrapped


class Receiver:
    """TSN map, reassembly, per-stream ordering, receive window and delayed SACKs."""

    __slots__ = (
        "_by_first",
        "_by_last",
        "_first_heap",
        "_first_unacked",
        "_frag_data",
        "_held_ssn",
        "_idata",
        "_last_rwnd",
        "_map",
        "_next_ssn",
        "_pd",
        "_pd_aborted",
        "_pd_parts",
        "_pkt_data",
        "_pkt_gaps_before",
        "_pkt_urgent",
        "_ready",
        "_unacked_packets",
        "_unconsumed",
        "buffer_limit",
        "buffered",
        "inbound_streams",
        "max_tsn_span",
        "mtu",
        "pd_point",
        "sack_deadline",
        "sack_delay",
        "sack_freq",
        "sack_now",
        "stats",
    )

    def __init__(
        self,
        peer_initial_tsn: int,
        inbound_streams: int,
        *,
        buffer_limit: int = 131072,
        sack_delay: float = 0.2,
        sack_freq: int = 2,
        mtu: int = 1200,
        max_tsn_span: int | None = None,
        max_gap_blocks: int = 64,
        max_dups: int = 32,
        pd_point: int = 0,
        interleaving: bool = False,
    ) -> None:
        if not 1 <= inbound_streams <= 65535:
            raise einval(f"inbound_streams {inbound_streams} outside 1..65535")
        if not 1 <= buffer_limit <= MASK32:
            raise einval(f"buffer_limit {buffer_limit} outside 1..2**32-1")
        if not 0.0 <= sack_delay <= 0.5:  # §6.2: SACK.Delay MUST NOT exceed 500 ms
            raise einval(f"sack_delay {sack_delay} outside 0..0.5 s")
        if sack_freq < 1 or mtu < 1 or max_gap_blocks < 0 or max_dups < 0:
            raise einval("sack_freq and mtu must be ≥ 1, the SACK bounds ≥ 0")
        self._map = TsnMap(peer_initial_tsn, max_gap_blocks=max_gap_blocks, max_dups=max_dups)
        self.inbound_streams = inbound_streams
        self.buffer_limit = buffer_limit
        self.sack_delay = sack_delay
        self.sack_freq = sack_freq
        self.mtu = mtu  # for the window-update rule; the association may update it with PMTU
        self.max_tsn_span = buffer_limit + 1 if max_tsn_span is None else max_tsn_span
        # Partial delivery point (RFC 6458 §8.1.21): at most half the buffer, so that a
        # message larger than the buffer can always be handed out in parts.
        half = buffer_limit // 2
        self.pd_point = min(pd_point, half) if pd_point > 0 else half
        self.buffered = 0  # bytes held: reassembly + waiting for order + not yet consumed
        self._unconsumed = 0  # bytes handed out by pop_messages and not yet consumed
        self._last_rwnd = buffer_limit  # what the peer last heard (INIT / INIT ACK, then SACKs)
        # Reassembly (§6.9): runs of fragments by first and last unwrapped TSN, their data by
        # TSN, and a lazy heap of run starts for FORWARD TSN.
        self._by_first: dict[int, _Partial] = {}
        self._by_last: dict[int, _Partial] = {}
        self._frag_data: dict[int, bytes] = {}
        self._first_heap: list[int] = []
        # Ordering (§6.6): next expected SSN per inbound stream; complete messages held.
        # Only streams that carried ordered data have an entry (a peer may announce
        # 65,535 streams: a list would cost 512 KiB per association).
        self._next_ssn: dict[int, int] = {}
        self._held_ssn: dict[int, dict[int, ReceivedMessage]] = {}
        self._ready: list[ReceivedMessage] = []
        # Partial delivery (§6.9): the message in parts, its parts not yet handed out, and
        # the (stream, SSN) of those a FORWARD TSN cut short.
        self._pd: _PartialDelivery | None = None
        self._pd_parts: list[ReceivedMessage] = []
        self._pd_aborted: list[tuple[int, int]] = []
        # Delayed SACK (§6.2).
        self.sack_now = False
        self.sack_deadline: float | None = None
        self._first_unacked: float | None = None  # arrival of the first DATA not yet acked
        self._unacked_packets = 0
        self._pkt_data = False  # the current packet has carried DATA
        self._pkt_gaps_before = False
        self._pkt_urgent = False  # the current packet asks for an immediate SACK
        self.stats = ReceiverStats()
        # RFC 8260: I-DATA reassembly and ordering, when negotiated.
        self._idata = IDataQueue(self._ready, self.stats) if interleaving else None

    # ----- reading -----

    @property
    def cum_tsn(self) -> int:
        """The Cumulative TSN Ack (§3.3.4), 32 bits."""
        return self._map.cum_tsn

    @property
    def a_rwnd(self) -> int:
        """The window to advertise: ``buffer_limit`` minus bytes held, never negative (§6.2)."""
        return max(0, self.buffer_limit - self.buffered)

    @property
    def reassembly_bytes(self) -> int:
        """Bytes in fragments of messages not yet complete."""
        return sum(p.nbytes for p in self._by_first.values())

    @property
    def tsn_map(self) -> TsnMap:
        return self._map

    def next_ssn(self, stream_id: int) -> int:
        """The SSN the given inbound stream delivers next."""
        return self._next_ssn.get(stream_id, 0)

    def check_invariants(self) -> None:
        """Raise AssertionError if the byte count or the reassembly indexes disagree (tests)."""
        runs = self._by_first.values()
        reasm = sum(p.nbytes for p in runs)
        held = sum(len(m.data) for h in self._held_ssn.values() for m in h.values())
        ready = sum(len(m.data) for m in self._ready) + sum(len(m.data) for m in self._pd_parts)
        if self._idata is not None:
            held += self._idata.held_bytes()
        if self.buffered != reasm + held + ready + self._unconsumed:
            raise AssertionError(f"buffered {self.buffered} != {reasm}+{held}+{ready}+...")
        if len(self._by_last) != len(self._by_first) or any(
            self._by_last.get(p.last) is not p for p in runs
        ):
            raise AssertionError("reassembly indexes disagree")
        if len(self._frag_data) != sum(p.last - p.first + 1 for p in runs):
            raise AssertionError("fragment data outside the runs")
        if sum(len(d) for d in self._frag_data.values()) != reasm:
            raise AssertionError("fragment bytes disagree with the runs")

    # ----- DATA (§6.2, §6.5, §6.9) -----

    def on_data(self, chunk: DataChunk, now: float) -> DataVerdict:
        """Take one DATA chunk. Call :meth:`on_packet_done` after the packet's last chunk."""
        data = chunk.user_data
        n = len(data)
        if not n:
            return DataVerdict.NO_USER_DATA  # §6.2: the caller ABORTs with "No User Data"
        self.stats.chunks += 1
        tmap = self._map
        if not self._pkt_data:
            self._pkt_data = True
            self._pkt_gaps_before = tmap.has_gaps()
        if self._first_unacked is None:
            self._first_unacked = now
        flags = chunk.flags
        if flags & FLAG_IMMEDIATE:
            self._pkt_urgent = True  # RFC 7053: the I bit asks for a SACK without delay
        t = tmap.unwrap(chunk.tsn)
        if tmap.seen(t):
            # §6.2: report each duplicate reception; a packet with one is SACKed at once.
            tmap.add_dup(chunk.tsn)
            self._pkt_urgent = True
            self.stats.duplicates += 1
            return DataVerdict.DUPLICATE
        cum = tmap.cum
        if t - cum > self.max_tsn_span:
            return self._no_room()
        sid = chunk.stream_id
        if sid >= self.inbound_streams:
            tmap.add(t)  # §6.5: acknowledged as usual, data discarded
            self.stats.invalid_stream += 1
            return DataVerdict.INVALID_STREAM
        buffered = self.buffered
        if buffered + n > self.buffer_limit and (t != cum + 1 or buffered >= self.buffer_limit):
            return self._no_room()
        tmap.add(t)
        self.buffered = buffered + n
        unordered = flags & FLAG_UNORDERED != 0
        if flags & _BE == _BE:
            msg = ReceivedMessage(sid, chunk.ssn, chunk.ppid, data, unordered, chunk.tsn)
            self._complete(msg)
        else:
            self._add_fragment(t, chunk, unordered)
        return DataVerdict.NEW

    def on_idata(self, chunk: IDataChunk, now: float) -> DataVerdict:
        """Take one I-DATA chunk (RFC 8260 §2.2.3): the TSN and window rules of DATA, then
        reassembly by MID and FSN (:mod:`.ireassembly`)."""
        q = self._idata
        assert q is not None  # the association sends I-DATA here only if negotiated
        verdict = self._admit(chunk.tsn, chunk.stream_id, len(chunk.user_data), chunk.flags, now)
        if verdict is DataVerdict.NEW:
            self.buffered -= q.add(chunk, ReceivedMessage, self._map)
        if q.probes:  # the peer's fragment numbering is not known yet: known now?
            self.buffered -= q.settle(self._map, ReceivedMessage)
        return verdict

    def on_peer_linux_fsn(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the peer's I-DATA fragments show the Linux numbering."""
        if self._idata is not None:
            self._idata.on_linux = callback

    def _admit(self, tsn: int, sid: int, n: int, flags: int, now: float) -> DataVerdict:
        """The TSN map and window rules of on_data, for I-DATA; NEW: taken (counted)."""
        if not n:
            return DataVerdict.NO_USER_DATA
        self.stats.chunks += 1
        tmap = self._map
        if not self._pkt_data:
            self._pkt_data = True
            self._pkt_gaps_before = tmap.has_gaps()
        if self._first_unacked is None:
            self._first_unacked = now
        if flags & FLAG_IMMEDIATE:
            self._pkt_urgent = True
        t = tmap.unwrap(tsn)
        if tmap.seen(t):
            tmap.add_dup(tsn)
            self._pkt_urgent = True
            self.stats.duplicates += 1
            return DataVerdict.DUPLICATE
        cum = tmap.cum
        if t - cum > self.max_tsn_span:
            return self._no_room()
        if sid >= self.inbound_streams:
            tmap.add(t)
            self.stats.invalid_stream += 1
            return DataVerdict.INVALID_STREAM
        buffered = self.buffered
        if buffered + n > self.buffer_limit and (t != cum + 1 or buffered >= self.buffer_limit):
            return self._no_room()
        tmap.add(t)
        self.buffered = buffered + n
        return DataVerdict.NEW

    def _no_room(self) -> DataVerdict:
        # §6.2: a dropped chunk is not acked, and a SACK goes back at once.
        self._pkt_urgent = True
        self.stats.no_room += 1
        return DataVerdict.NO_ROOM

    def _add_fragment(self, t: int, chunk: DataChunk, unordered: bool) -> None:
        """§6.9: join the fragment to the runs that end just before / start just after it;
        when a run holds B...E, the message is complete. O(1) per fragment, plus the final
        join of the data."""
        sid, ssn, flags = chunk.stream_id, chunk.ssn, chunk.flags
        n = len(chunk.user_data)
        by_first, by_last = self._by_first, self._by_last
        self._frag_data[t] = chunk.user_data
        run = None
        if not flags & FLAG_BEGIN:
            prev = by_last.get(t - 1)
            if prev is not None and not prev.ends and prev.joins(sid, ssn, unordered):
                del by_last[t - 1]
                prev.last = t
                prev.ends = bool(flags & FLAG_END)
                prev.nbytes += n
                run = prev
        if run is None:
            run = _Partial(t, sid, ssn, unordered, chunk.ppid, flags, n)
            by_first[t] = run
            heap = self._first_heap
            heappush(heap, t)
            if len(heap) > 2 * len(by_first) + 64:
                self._first_heap = list(by_first)
                heapify(self._first_heap)
        if not run.ends:
            nxt = by_first.get(t + 1)
            if nxt is not None and not nxt.begins and nxt.joins(sid, ssn, unordered):
                del by_first[t + 1]
                del by_last[nxt.last]
                run.last = nxt.last
                run.ends = nxt.ends
                run.nbytes += nxt.nbytes
        if run.begins and run.ends:
            del by_first[run.first]
            frags = self._frag_data
            data = b"".join([frags.pop(x) for x in range(run.first, run.last + 1)])
            tsn = run.first & MASK32
            self._complete(ReceivedMessage(run.sid, run.ssn, run.ppid, data, run.unordered, tsn))
        else:
            by_last[run.last] = run

    def _complete(self, msg: ReceivedMessage) -> None:
        """§6.6: unordered messages go out at once, ordered ones in SSN order per stream."""
        if msg.unordered:
            self._ready.append(msg)
            self.stats.messages += 1
            return
        sid, ssn = msg.stream_id, msg.ssn
        expected = self._next_ssn.get(sid, 0)
        if ssn == expected:
            self._ready.append(msg)
            self.stats.messages += 1
            self._delivered_in_order(sid, ssn)
        elif (ssn - expected) & SSN_MASK < SSN_HALF:
            held = self._held_ssn.setdefault(sid, {})
            if ssn in held:
                self._discard(msg)  # a second message with this SSN: a peer error
            else:
                held[ssn] = msg
        else:
            self._discard(msg)  # an SSN already delivered or skipped: a peer error

    def reset_streams(self, streams: tuple[int, ...]) -> None:
        """RFC 6525 §5.2.2 E3: the inbound streams (none: all) expect SSN 0 next. Messages
        held for them already use the new numbering (the old was all delivered: E2)."""
        if self._idata is not None:
            self._idata.reset_streams(streams)
        for sid in streams or list(self._next_ssn):
            self._next_ssn.pop(sid, None)
            if sid in self._held_ssn:
                self._release(sid)

    def restart(self, peer_initial_tsn: int) -> None:
        """RFC 6525 §5.2.4 (SSN/TSN Reset): behave as if the cumulative TSN ack point were
        ``peer_initial_tsn - 1``, with every inbound stream at SSN 0. Fragments and messages
        held for their turn are dropped; complete messages already due still go out, and a
        partial delivery in progress ends (reported as aborted)."""
        tmap = self._map
        self._map = TsnMap(peer_initial_tsn, max_gap_blocks=tmap.max_gap_blocks,
                           max_dups=tmap.max_dups)  # fmt: skip
        dropped = self.reassembly_bytes
        self.stats.discarded_partials += len(self._by_first)
        for held in self._held_ssn.values():
            for m in held.values():
                dropped += len(m.data)
                self.stats.discarded_messages += 1
        self.buffered -= dropped
        self._by_first.clear()
        self._by_last.clear()
        self._frag_data.clear()
        self._first_heap.clear()
        self._next_ssn.clear()
        self._held_ssn.clear()
        if self._idata is not None:
            self.buffered -= self._idata.restart()
        pd = self._pd
        if pd is not None:
            self._pd = None
            self._pd_aborted.append((pd.sid, pd.ssn))

    def _delivered_in_order(self, sid: int, ssn: int) -> None:
        """§6.6: ``ssn`` of ``sid`` went out; expect the next, release what is then in order."""
        self._next_ssn[sid] = (ssn + 1) & SSN_MASK
        if sid in self._held_ssn:
            self._release(sid)

    def _release(self, sid: int) -> None:
        """Deliver the held messages of a stream that are now in sequence."""
        held = self._held_ssn[sid]
        expected = self._next_ssn.get(sid, 0)
        ready = self._ready
        while (msg := held.pop(expected, None)) is not None:
            ready.append(msg)
            self.stats.messages += 1
            expected = (expected + 1) & SSN_MASK
        self._next_ssn[sid] = expected
        if not held:
            del self._held_ssn[sid]

    def _discard(self, msg: ReceivedMessage) -> None:
        self.buffered -= len(msg.data)
        self.stats.discarded_messages += 1

    # ----- delayed SACK (§6.2, §6.7) -----

    def on_packet_done(self, now: float) -> None:
        """Apply the delayed-SACK rules once the packet's chunks are all in."""
        if not self._pkt_data:
            return
        if self._pd is not None or self._half_full():
            self._partial_delivery()
        urgent = self._pkt_urgent
        self._pkt_data = self._pkt_urgent = False
        if self._first_unacked is None:
            return  # a SACK was made since this packet's DATA arrived
        self._unacked_packets += 1
        # §6.2: ack at least every second packet with DATA, at once on a duplicate or the
        # I bit (RFC 7053) or a dropped chunk; §6.7: at once while there are gaps, and for
        # the packet that fills (or changes) them.
        if (
            urgent
            or self._unacked_packets >= self.sack_freq
            or self._pkt_gaps_before
            or self._map.has_gaps()
        ):
            self.sack_now = True
        elif self.sack_deadline is None:
            # §6.2: within SACK.Delay of the arrival of the first unacknowledged DATA.
            self.sack_deadline = self._first_unacked + self.sack_delay

    def make_sack(self) -> SackChunk:
        """The SACK to send now (§3.3.4, §6.2 D); resets the delayed-SACK state and the
        duplicate list."""
        tmap = self._map
        rwnd = self.a_rwnd
        sack = SackChunk(tmap.cum_tsn, rwnd, tmap.gap_blocks(), tmap.take_dups())
        self._last_rwnd = rwnd
        self.sack_now = False
        self.sack_deadline = None
        self._first_unacked = None
        self._unacked_packets = 0
        return sack

    # ----- the user's side -----

    def pop_messages(self) -> list[ReceivedMessage]:
        """The messages (and parts, see partial delivery) deliverable now, in order."""
        if self._pd_parts:
            ready, self._pd_parts = self._pd_parts, []
            if self._pd is None:  # its last part: what completed meanwhile follows
                ready += self._ready
                self._ready = []
        elif self._pd is not None:
            return []  # waiting for its next part: nothing else goes out meanwhile
        else:
            ready = self._ready
            if not ready:
                return []
            self._ready = []
            if self._idata is not None:
                self._idata.ready = self._ready  # it appends to the Receiver's list
        n = 0
        for m in ready:
            n += len(m.data)
        self._unconsumed += n
        return ready

    def consumed(self, nbytes: int) -> bool:
        """The user has read ``nbytes`` of delivered data: free them (§6.2 C). True when the
        window opened enough for a window-update SACK (then :attr:`sack_now` is set too).

        SWS avoidance (§6.2, RFC 1122 §4.2.3.3): an update is due when the window grew by a
        quarter of the buffer (at least ``small``) since the last advertised a_rwnd, or when
        the last advertised window was under ``small`` = min(mtu, buffer_limit / 2) - too
        small for the sender to use - and now reaches it.
        """
        if not 0 <= nbytes <= self._unconsumed:
            raise einval(f"consumed {nbytes} bytes, {self._unconsumed} delivered and unread")
        self._unconsumed -= nbytes
        self.buffered -= nbytes
        if self._pd is None and not self._unconsumed and self._half_full():
            self._partial_delivery()  # everything read and still no room: parts are due
        rwnd, last = self.a_rwnd, self._last_rwnd
        small = min(self.mtu, self.buffer_limit // 2)
        step = max(small, self.buffer_limit // 4)
        if rwnd - last >= step or last < small <= rwnd:
            self.sack_now = True
            return True
        return False

    # ----- partial delivery (§6.9) -----

    def _partial_delivery(self) -> None:
        """Start a partial delivery if one is due (see the module's note), then hand out
        every part of it that has arrived in sequence."""
        if self._idata is not None:
            start = not (self._ready or self._unconsumed) and self._half_full()
            self.buffered -= self._idata.partial_delivery(start, self.pd_point, self.mtu,
                                                          self.a_rwnd, ReceivedMessage)  # fmt: skip
            return
        if self._pd is None:
            if self._ready or self._unconsumed or self._pd_parts:
                return  # the user has data to read first: reading opens the window
            run = self._lowest_run()
            if run is None or not run.begins or run.first > self._map.cum:
                return
            if run.nbytes < self.pd_point:
                return  # small: it completes once its next fragment finds room
            # The window must be too small for the sender's next fragments. Decision: twice
            # the larger of this message's fragment size and the MTU, not "full": a sender
            # that avoids silly windows (usrsctp) sends nothing into a window smaller than
            # its fragments, so a buffer never fills to the byte (found in interop).
            frag = run.nbytes // (run.last - run.first + 1) + 16
            if self.a_rwnd >= 2 * max(frag, self.mtu):
                return
            if not run.unordered and run.ssn != self._next_ssn.get(run.sid, 0):
                return
            self._pd = _PartialDelivery(run)
            self.stats.partial_deliveries += 1
        pd: _PartialDelivery | None = self._pd
        while pd is not None:
            run = self._by_first.get(pd.next)
            if run is None or not run.joins(pd.sid, pd.ssn, pd.unordered):
                break
            if run.begins != (pd.next == pd.first):
                break  # only the first part has the B bit: this is another message
            del self._by_first[run.first]
            del self._by_last[run.last]
            frags = self._frag_data
            data = b"".join([frags.pop(x) for x in range(run.first, run.last + 1)])
            self._pd_parts.append(
                ReceivedMessage(pd.sid, pd.ssn, pd.ppid, data, pd.unordered, pd.tsn, run.ends)
            )
            pd.next = run.last + 1
            if run.ends:
                self._pd = pd = None
                self.stats.messages += 1
                if not run.unordered:
                    self._delivered_in_order(run.sid, run.ssn)

    def _half_full(self) -> bool:
        """More than half the buffer held: only then can a message reach the partial delivery
        point (at most half); the exact test is in _partial_delivery."""
        return self.buffered * 2 > self.buffer_limit

    def _lowest_run(self) -> _Partial | None:
        heap, by_first = self._first_heap, self._by_first
        while heap and heap[0] not in by_first:
            heappop(heap)
        return by_first[heap[0]] if heap else None

    def take_pd_aborted(self) -> list[tuple[int, int]]:
        """``(stream, SSN)`` of partial deliveries a FORWARD TSN ended (RFC 6458 §6.1.7)."""
        out, self._pd_aborted = self._pd_aborted, []
        if self._idata is not None and self._idata.aborted:
            out += [(sid, mid & SSN_MASK) for sid, mid in self._idata.aborted]  # RFC 8260 §4.1
            self._idata.aborted = []
        return out

    # ----- FORWARD TSN (RFC 3758 §3.6) -----

    def on_forward_tsn(self, chunk: ForwardTsnChunk, now: float) -> None:
        """Move the cumulative point to the new cumulative TSN (if ahead), drop partial
        messages missing a TSN at or below it, skip the listed streams past their SSN and
        deliver what is then in order. A SACK is due in every case."""
        self.sack_now = True  # §3.6: out-of-date FORWARD TSNs too (the last SACK may be lost)
        tmap = self._map
        new_cum = tmap.unwrap(chunk.new_cum_tsn)
        if new_cum <= tmap.cum or new_cum - tmap.cum > self.max_tsn_span:
            self.stats.forward_tsn_ignored += 1
            return
        tmap.forward(new_cum)
        pd = self._pd
        if pd is not None and pd.next <= tmap.cum:  # its next part was abandoned
            self._pd = None
            self._pd_aborted.append((pd.sid, pd.ssn))
        self._drop_partials(tmap.cum)
        for sid, ssn in chunk.streams:
            if sid < self.inbound_streams:
                self._skip_stream(sid, ssn)

    def on_iforward_tsn(self, chunk: IForwardTsnChunk, now: float) -> None:
        """RFC 8260 §2.3.1: as FORWARD TSN, with (stream, U, MID) entries."""
        q = self._idata
        assert q is not None
        self.sack_now = True
        tmap = self._map
        new_cum = tmap.unwrap(chunk.new_cum_tsn)
        if new_cum <= tmap.cum or new_cum - tmap.cum > self.max_tsn_span:
            self.stats.forward_tsn_ignored += 1
            return
        tmap.forward(new_cum)
        self.buffered -= q.forward(chunk.entries, self.inbound_streams, tmap, ReceivedMessage)

    def _drop_partials(self, cum: int) -> None:
        """§3.6: remove every partial message still missing a TSN at or below ``cum``.

        A run starting at or below ``cum`` lies wholly at or below it (the TSN after it is
        missing), so it can only still complete if it has its B fragment and ends at ``cum``.
        """
        heap, by_first, by_last, frags = (
            self._first_heap,
            self._by_first,
            self._by_last,
            self._frag_data,
        )
        keep: list[int] = []
        while heap and heap[0] <= cum:
            s = heappop(heap)
            run = by_first.get(s)
            if run is None:
                continue
            if run.begins and run.last == cum:
                keep.append(s)
                continue
            del by_first[s]
            del by_last[run.last]
            for x in range(run.first, run.last + 1):
                del frags[x]
            self.buffered -= run.nbytes
            self.stats.discarded_partials += 1
        for s in keep:
            heappush(heap, s)

    def _skip_stream(self, sid: int, ssn: int) -> None:
        """§3.6: deliver held messages of ``sid`` up to ``ssn``, then expect ``ssn`` + 1."""
        expected = self._next_ssn.get(sid, 0)
        span = (ssn - expected) & SSN_MASK
        if span >= SSN_HALF:
            return  # already past that SSN
        held = self._held_ssn.get(sid)
        if held:
            # Held SSNs are all ahead of `expected`: those within `span` are due, in order.
            if len(held) <= span:
                due = sorted(
                    (k for k in held if (k - expected) & SSN_MASK <= span),
                    key=lambda k: (k - expected) & SSN_MASK,
                )
            else:
                due = [k for k in ((expected + i) & SSN_MASK for i in range(span + 1)) if k in held]
            for k in due:
                self._ready.append(held.pop(k))
                self.stats.messages += 1
        self._next_ssn[sid] = (ssn + 1) & SSN_MASK
        if sid in self._held_ssn:
            self._release(sid)
