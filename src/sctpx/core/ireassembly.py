"""Reassembly and ordering of I-DATA chunks (RFC 8260 §2.2.3, §2.3.1), beside the DATA ones.

:class:`Receiver` keeps the TSN map, the window and the SACKs for both chunk kinds; with
I-DATA negotiated it hands each new chunk to an :class:`IDataQueue`, which puts messages
together by (stream, U flag, MID) and FSN - never by TSN: the sender interleaves messages
of different streams - and delivers ordered ones in MID order per stream (RFC 1982 serial
arithmetic on 32 bits). Complete messages go to the Receiver's ready list; the
byte counts it returns keep the Receiver's ``buffered`` right.

Partial delivery (RFC 9260 §6.9, RFC 6458 §8.1.20) follows the Receiver's rule (a message
of at least the partial delivery point, the window too small for its next fragments,
everything delivered already read), with one addition (see :meth:`partial_delivery`).
Decision: with I-DATA several messages may be in partial delivery at once, one per stream
at most, and other streams' messages are handed out between their parts (RFC 6458
fragment interleave level 2, which RFC 8260 §4.3.1 asks for): holding everything else
back behind one message could deadlock two large messages that share the buffer. A
stream's other messages wait until its message in parts is over.

Fragment numbering. RFC 8260 §2.1 counts a message's fragments from the B one: B is FSN 0
(implicit: the field holds the PPID), the next 1, 2, ... Linux (6.1) numbers them B, then
0, 1, 2, ... - two fragments "0" - and expects that numbering back. We take either, per
association: internally FSNs are the RFC's, and a non-B wire FSN n of a peer seen to use
the Linux numbering is n + 1. A non-B fragment with FSN 0 can only come from the Linux
numbering, so the first one settles it: the fragments already stored are re-keyed, and
:attr:`IDataQueue.on_linux` tells the sender (Config.idata_fsn "auto"). Until the
numbering is known a message that looks complete the RFC's way may still lack Linux's
FSN 0 fragment (lost, retransmitted last). Decision: until then no message of several
fragments is delivered and a partial delivery hands out its B fragment only; the RFC
numbering is settled, and everything then complete goes out, once a message holds its B
and FSN 1 fragments and the cumulative TSN ack point has passed both: every TSN below
them has then arrived, and a sender gives a message's fragments increasing TSNs, so
Linux's FSN 0 fragment, between them, would have shown itself. With an RFC peer that is
the first fragmented message (at once unless its first TSNs are lost), so the cost is a
little delay at the start; a peer that sends fragments in order pays nothing after.

An I-FORWARD-TSN entry (RFC 8260 §2.3.1) drops the partial messages of its stream and U
flag up to its MID (the sender gives each stream's messages TSNs one message after the
other, so those are exactly the abandoned ones) and, for ordered messages, delivers the
held ones up to it and expects the MID after. Not handled: an FSN that wraps (a message
of 2**32 fragments; the receive buffer bounds a message in reassembly far below that).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import TYPE_CHECKING

from ..wire.chunks import FLAG_BEGIN, FLAG_END, FLAG_UNORDERED, IDataChunk

if TYPE_CHECKING:
    from .receiver import ReceivedMessage, ReceiverStats
    from .tsnmap import TsnMap

MASK32 = 0xFFFFFFFF
HALF32 = 0x80000000


class _IMsg:
    """One message in reassembly: its fragments by FSN."""

    __slots__ = ("frags", "last_fsn", "mid", "nbytes", "next_fsn", "pd", "ppid", "sid", "t1",
                 "tsn", "unordered")  # fmt: skip

    def __init__(self, sid: int, unordered: bool, mid: int) -> None:
        self.sid, self.unordered, self.mid = sid, unordered, mid
        self.frags: dict[int, bytes] = {}
        self.nbytes = 0
        self.last_fsn = -1  # known once the E fragment is in
        self.ppid = -1  # known once the B fragment is in
        self.tsn = 0  # of the B fragment
        self.next_fsn = 0  # partial delivery: the FSN its next part starts at
        self.pd = False
        self.t1 = -1  # numbering unknown: the unwrapped TSN of its FSN 1 fragment, once in


class IDataQueue:
    """Reassembly by (stream, U, MID) and FSN, MID order per stream (see the module note)."""

    __slots__ = ("_held", "_msgs", "_next_mid", "_pd_wait", "_shift", "aborted", "on_linux",
                 "peer_fsn", "probes", "ready", "stats")  # fmt: skip

    def __init__(self, ready: list[ReceivedMessage], stats: ReceiverStats) -> None:
        self.ready = ready  # the Receiver's list of deliverable messages
        self.stats = stats
        self._msgs: dict[tuple[int, bool, int], _IMsg] = {}
        self._next_mid: dict[int, int] = {}  # ordered: the MID each stream delivers next
        self._held: dict[int, dict[int, ReceivedMessage]] = {}  # complete, waiting their turn
        self.aborted: list[tuple[int, int]] = []  # (stream, MID) of partial deliveries ended
        # Streams with a message in partial delivery: their other complete messages wait.
        self._pd_wait: dict[int, list[ReceivedMessage]] = {}
        # The peer's fragment numbering (see the module note): "" not known yet, "rfc" or
        # "linux"; _shift maps a non-B wire FSN to ours (1: Linux); probes, while it is
        # not known: (the TSN the cumulative point must pass, id, message) per message with
        # its B and FSN 1 fragments in, lowest first.
        self.peer_fsn = ""
        self._shift = 0
        self.probes: list[tuple[int, int, _IMsg]] = []
        self.on_linux: Callable[[], None] | None = None  # called once the Linux one is seen

    def held_bytes(self) -> int:
        """Bytes in reassembly or waiting for their turn (for the Receiver's invariants)."""
        n = sum(m.nbytes for m in self._msgs.values())
        n += sum(len(r.data) for ws in self._pd_wait.values() for r in ws)
        return n + sum(len(r.data) for h in self._held.values() for r in h.values())

    def next_mid(self, sid: int) -> int:
        return self._next_mid.get(sid, 0)

    # ----- chunks -----

    def add(self, chunk: IDataChunk, make: type[ReceivedMessage], tmap: TsnMap) -> int:
        """Take one new I-DATA chunk (its TSN already in ``tmap``); returns the bytes
        discarded (a peer error)."""
        flags = chunk.flags
        sid, mid = chunk.stream_id, chunk.mid
        unordered = flags & FLAG_UNORDERED != 0
        data = chunk.user_data
        if flags & FLAG_BEGIN and flags & FLAG_END:
            return self._complete(make(sid, mid, chunk.ppid_or_fsn, data, unordered, chunk.tsn))
        if flags & FLAG_BEGIN:
            fsn = 0
        else:
            fsn = chunk.ppid_or_fsn + self._shift
            if fsn == 0:  # FSN 0 without B: the Linux numbering (see the module note)
                if self.peer_fsn:
                    return len(data)  # the RFC one is known: FSN 0 is B's, a peer error
                self._linux_numbering()
                fsn = 1
        key = (sid, unordered, mid)
        m = self._msgs.get(key)
        if m is None:
            if not unordered and not self._ahead(sid, mid):
                return len(data)  # an MID already delivered or skipped: a peer error
            m = self._msgs[key] = _IMsg(sid, unordered, mid)
        if fsn in m.frags or fsn < m.next_fsn or (m.last_fsn >= 0 and fsn > m.last_fsn):
            return len(data)  # a second fragment with this FSN, or past the end
        if flags & FLAG_BEGIN:
            m.ppid, m.tsn = chunk.ppid_or_fsn, chunk.tsn
        if flags & FLAG_END:
            if any(k > fsn for k in m.frags):
                return len(data)  # fragments past the end: a peer error
            m.last_fsn = fsn
        m.frags[fsn] = data
        m.nbytes += len(data)
        if not self.peer_fsn:  # the Receiver calls settle next
            if fsn == 1:
                m.t1 = tmap.unwrap(chunk.tsn)
            if fsn <= 1 and m.t1 >= 0 and m.ppid >= 0:  # now it has both
                heappush(self.probes, (max(m.t1, tmap.unwrap(m.tsn)), id(m), m))
            return 0
        if m.pd:
            return self._pd_parts(m, make)
        return self._if_whole(m, make)

    def _if_whole(self, m: _IMsg, make: type[ReceivedMessage]) -> int:
        """Deliver ``m`` if it is complete; returns the bytes discarded."""
        if m.last_fsn >= 0 and m.ppid >= 0 and len(m.frags) == m.last_fsn + 1:
            del self._msgs[(m.sid, m.unordered, m.mid)]
            whole = b"".join([m.frags[i] for i in range(m.last_fsn + 1)])
            return self._complete(make(m.sid, m.mid, m.ppid, whole, m.unordered, m.tsn))
        return 0

    # ----- the peer's fragment numbering (see the module note) -----

    def settle(self, tmap: TsnMap, make: type[ReceivedMessage]) -> int:
        """Numbering unknown (:attr:`probes` not empty): the RFC one if the cumulative TSN
        ack point has passed a live message's B and FSN 1 fragments; returns the bytes
        discarded. Call it whenever the cumulative point may have moved."""
        probes, cum = self.probes, tmap.cum
        while probes and probes[0][0] <= cum:
            m = heappop(probes)[2]
            if self._msgs.get((m.sid, m.unordered, m.mid)) is m:  # not dropped meanwhile
                return self._rfc_numbering(make)
        return 0

    def _rfc_numbering(self, make: type[ReceivedMessage]) -> int:
        self.peer_fsn = "rfc"
        self.probes.clear()
        dropped = 0
        for m in list(self._msgs.values()):  # what waited for this goes out
            dropped += self._pd_parts(m, make) if m.pd else self._if_whole(m, make)
        return dropped

    def _linux_numbering(self) -> None:
        """The Linux numbering: what is stored was keyed the RFC way (B at 0, and no
        fragment without B at FSN 0 yet): the others move up by one."""
        self.peer_fsn = "linux"
        self._shift = 1
        self.probes.clear()
        for m in self._msgs.values():
            m.frags = {k + 1 if k else 0: d for k, d in m.frags.items()}
            if m.last_fsn > 0:
                m.last_fsn += 1
        if self.on_linux is not None:
            self.on_linux()

    def _ahead(self, sid: int, mid: int) -> bool:
        return (mid - self._next_mid.get(sid, 0)) & MASK32 < HALF32

    def _complete(self, msg: ReceivedMessage) -> int:
        """Unordered messages go out at once, ordered ones in MID order (ReceivedMessage.ssn
        holds the MID until the data path reports it)."""
        waiting = self._pd_wait.get(msg.stream_id)
        if waiting is not None:  # after the message in parts on its stream
            waiting.append(msg)
            return 0
        if msg.unordered:
            self.ready.append(msg)
            self.stats.messages += 1
            return 0
        sid, mid = msg.stream_id, msg.ssn
        expected = self._next_mid.get(sid, 0)
        if mid == expected:
            self.ready.append(msg)
            self.stats.messages += 1
            self._advance(sid, (mid + 1) & MASK32)
            return 0
        if not self._ahead(sid, mid):
            self.stats.discarded_messages += 1
            return len(msg.data)
        held = self._held.setdefault(sid, {})
        if mid in held:
            self.stats.discarded_messages += 1
            return len(msg.data)
        held[mid] = msg
        return 0

    def _advance(self, sid: int, expected: int) -> None:
        """Expect ``expected`` on ``sid``; deliver the held messages then in sequence."""
        held = self._held.get(sid)
        while held and (msg := held.pop(expected, None)) is not None:
            self.ready.append(msg)
            self.stats.messages += 1
            expected = (expected + 1) & MASK32
        self._next_mid[sid] = expected
        if held is not None and not held:
            del self._held[sid]

    # ----- partial delivery -----

    def partial_delivery(self, start: bool, pd_point: int, small_window: int, rwnd: int,
                         make: type[ReceivedMessage]) -> int:  # fmt: skip
        """If ``start``, begin a partial delivery for each message that qualifies (see the
        module note); parts that arrive later go out as they come (:meth:`add`).

        Decision: when none reaches the partial delivery point and none is in parts, the
        largest message that could be is handed out in parts all the same: interleaved
        messages can fill the buffer together with none of them complete and none at
        that point (found by the property test), and nothing else would ever open the
        window again. Returns the bytes discarded.
        """
        if not start:
            return 0
        busy = {m.sid for m in self._msgs.values() if m.pd}
        waiting: list[_IMsg] = []
        for m in self._msgs.values():
            if m.pd or m.sid in busy or 0 not in m.frags:
                continue
            if not m.unordered and m.mid != self._next_mid.get(m.sid, 0):
                continue
            frag = m.nbytes // len(m.frags) + 20
            if rwnd < 2 * max(frag, small_window):
                waiting.append(m)
        due = [m for m in waiting if m.nbytes >= pd_point]
        if not due and not busy and waiting:
            due = [max(waiting, key=lambda m: m.nbytes)]
        dropped = 0
        for m in due:
            if m.sid in busy:
                continue
            m.pd = True
            busy.add(m.sid)
            self._pd_wait[m.sid] = []
            self.stats.partial_deliveries += 1
            dropped += self._pd_parts(m, make)
        return dropped

    def _pd_parts(self, m: _IMsg, make: type[ReceivedMessage]) -> int:
        """Hand out what follows ``m``'s last part; returns the bytes discarded. While the
        numbering is unknown only the B fragment may go (see the module note)."""
        parts = []
        known = bool(self.peer_fsn)
        while m.next_fsn in m.frags and (known or not m.next_fsn):
            parts.append(m.frags.pop(m.next_fsn))
            m.next_fsn += 1
        if not parts:
            return 0
        data = b"".join(parts)
        m.nbytes -= len(data)
        done = m.next_fsn - 1 == m.last_fsn
        self.ready.append(make(m.sid, m.mid, m.ppid, data, m.unordered, m.tsn, done))
        if not done:
            return 0
        del self._msgs[(m.sid, m.unordered, m.mid)]
        self.stats.messages += 1
        if not m.unordered:
            self._advance(m.sid, (m.mid + 1) & MASK32)
        return self._pd_over(m.sid)

    def _pd_over(self, sid: int) -> int:
        """The partial delivery on ``sid`` ended: what waited for it goes on; returns the
        bytes discarded meanwhile."""
        dropped = 0
        for msg in self._pd_wait.pop(sid, []):
            dropped += self._complete(msg)
        return dropped

    # ----- I-FORWARD-TSN (RFC 8260 §2.3.1) -----

    def forward(self, entries: tuple[tuple[int, bool, int], ...], streams: int, tmap: TsnMap,
                make: type[ReceivedMessage]) -> int:  # fmt: skip
        """Skip each entry's stream and U flag up to its MID (the cumulative point in
        ``tmap`` has moved already); returns the bytes dropped."""
        dropped = 0
        for sid, unordered, mid in entries:
            if sid >= streams:
                continue
            for key, m in list(self._msgs.items()):
                if key[0] != sid or key[1] != unordered or (mid - key[2]) & MASK32 >= HALF32:
                    continue
                del self._msgs[key]
                dropped += m.nbytes
                self.stats.discarded_partials += 1
                if m.pd:
                    self.aborted.append((sid, m.mid))
                    dropped += self._pd_over(sid)
            if not unordered and self._ahead(sid, mid):
                expected = self._next_mid.get(sid, 0)
                held = self._held.get(sid, {})
                for k in sorted(held, key=lambda k: (k - expected) & MASK32):
                    if (k - expected) & MASK32 <= (mid - expected) & MASK32:
                        self.ready.append(held.pop(k))
                        self.stats.messages += 1
                self._advance(sid, (mid + 1) & MASK32)
        if self.probes:
            dropped += self.settle(tmap, make)  # after the drops: a dropped one says nothing
        return dropped

    # ----- resets -----

    def reset_streams(self, streams: tuple[int, ...]) -> None:
        """RFC 8260 §2.3.2 / RFC 6525 §5.2.2: the streams (none: all) expect MID 0 next."""
        for sid in streams or list(self._next_mid):
            self._next_mid.pop(sid, None)
            if sid in self._held:
                self._advance(sid, 0)

    def restart(self) -> int:
        """SSN/TSN reset: everything in reassembly or held is dropped; returns its bytes."""
        dropped = self.held_bytes()
        for m in self._msgs.values():
            self.stats.discarded_partials += 1
            if m.pd:
                self.aborted.append((m.sid, m.mid))
        self.stats.discarded_messages += sum(len(h) for h in self._held.values())
        self._msgs.clear()
        self._held.clear()
        self._next_mid.clear()
        self._pd_wait.clear()
        self.probes.clear()  # the peer's numbering stays what it was
        return dropped
