"""Outgoing stream queues and the stream schedulers of RFC 8260 §3 (sans-IO).

The sender keeps one FIFO queue of chunks per outgoing stream (:class:`StreamQueue`) in a
:class:`SendQueue`, and asks it for the next chunk to give a TSN. A :class:`Scheduler`
chooses the stream; the SendQueue enforces the rules every scheduler obeys:

* RFC 9260 §6.9: without I-DATA, the fragments of one message take consecutive TSNs, so
  the stream is switched only at a message boundary;
* RFC 8260 §2.2.2: with I-DATA the stream may change after any chunk, but a stream's
  messages still go one after the other (its queue is FIFO), never interleaved.

The schedulers (RFC 8260 §3; names as Config.stream_scheduler takes them):

``fcfs`` (§3.1, the default with DATA; see Config.stream_scheduler)
    messages in the order the user gave them, whatever their stream.
``rr`` (§3.2, the default with I-DATA)
    round robin over the streams with data: one message per turn without I-DATA, one
    chunk per turn with it.
``rr_pkt`` (§3.3)
    round robin per packet: a packet carries chunks of one stream only; the next
    stream's turn comes with the next packet (after the message, without I-DATA).
``prio`` (§3.4)
    strict priority, value 0..65535, lower value first (RFC 8260 §4.3.2: 0, the
    default, is the highest); round robin among streams of equal priority.
``wfq`` (§3.6)
    weighted fair queueing by bytes, weight 1..65535 (default 1): a stream of weight
    2n gets twice the capacity of a stream of weight n while both have data.
    Decision: self-clocked fair queueing (each unit - a message without I-DATA, a
    chunk with it - gets a virtual finish time start + bytes / weight, where start is
    the later of the stream's last finish and the finish of the unit served last;
    the lowest finish goes first). It needs no clock and costs O(log streams) per
    unit.

Decisions: per-stream values belong to the scheduler that took them - choosing another
scheduler (at run time too) starts every stream at the new one's default, as Linux does;
schedulers without per-stream values (fcfs, rr, rr_pkt) refuse one (EINVAL, RFC 8260
§4.3.3's table says they have none). A scheduler chosen mid-message never breaks the
§6.9 rule: the message in progress finishes first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from heapq import heappop, heappush
from typing import TYPE_CHECKING, ClassVar

from ..wire.chunks import FLAG_END
from .errors import einval

if TYPE_CHECKING:
    from .sender import OutChunk, OutMessage

SCHEDULERS = ("fcfs", "rr", "rr_pkt", "prio", "wfq")


class StreamQueue:
    """The chunks queued on one outgoing stream, first to go at the left."""

    __slots__ = ("chunks", "finish", "sid", "value")

    def __init__(self, sid: int, value: int) -> None:
        self.sid = sid
        self.chunks: deque[OutChunk] = deque()
        self.value = value  # priority (prio) or weight (wfq)
        self.finish = 0.0  # wfq: virtual finish time of the unit at its head


class Scheduler:
    """Chooses the stream to send from (RFC 8260 §3). Called by SendQueue only at points
    where a switch is allowed; the base class is round robin (§3.2)."""

    name: ClassVar[str] = "rr"
    default_value: ClassVar[int] = 0
    has_values: ClassVar[bool] = False
    per_packet: ClassVar[bool] = False

    def __init__(self, interleaving: bool) -> None:
        self.interleaving = interleaving
        self.ring: deque[StreamQueue] = deque()

    def check_value(self, value: int) -> None:
        if not self.has_values:
            raise einval(f"the {self.name} scheduler has no per-stream value")
        if not 0 <= value <= 0xFFFF:
            raise einval(f"stream value {value} outside 0..65535")

    def activate(self, q: StreamQueue) -> None:
        """``q`` has data again."""
        self.ring.append(q)

    def deactivate(self, q: StreamQueue) -> None:
        """``q`` is empty now (or its head changed: activate follows)."""
        ring = self.ring
        if ring and ring[0] is q:
            ring.popleft()
        else:
            ring.remove(q)

    def pick(self) -> StreamQueue:
        """The stream whose turn it is (one is active)."""
        return self.ring[0]

    def served(self, q: StreamQueue, c: OutChunk) -> bool:
        """A unit of ``q`` (a chunk with I-DATA, a message without) went, ``c`` its last
        chunk; True if the stream is to be chosen again before the next chunk."""
        ring = self.ring
        if ring[0] is not q:
            return True  # sent out of turn (a message finished after a change): back to it
        if len(ring) > 1:
            ring.rotate(-1)
            return True
        return False

    def next_packet(self) -> bool:
        """A packet starts: True if the stream is to be chosen again (rr_pkt)."""
        return False

    def head_changed(self, q: StreamQueue) -> None:
        """Another message is at the head of active ``q`` now (one was taken out)."""


class RoundRobinPerPacket(Scheduler):
    """§3.3: one stream per packet; the turn moves on when a packet starts."""

    name: ClassVar[str] = "rr_pkt"
    per_packet: ClassVar[bool] = True

    def served(self, q: StreamQueue, c: OutChunk) -> bool:
        return False

    def next_packet(self) -> bool:
        if len(self.ring) > 1:
            self.ring.rotate(-1)
            return True
        return False


class FirstComeFirstServed(Scheduler):
    """§3.1: messages in the user's order, across streams. SendQueue keeps them in one FIFO
    of chunks then (no per-stream queues, no choice to make: the fastest path)."""

    name: ClassVar[str] = "fcfs"


class Priority(Scheduler):
    """§3.4: the lowest value first; round robin among equal values."""

    name: ClassVar[str] = "prio"
    has_values: ClassVar[bool] = True

    def __init__(self, interleaving: bool) -> None:
        super().__init__(interleaving)
        self.levels: dict[int, deque[StreamQueue]] = {}

    def activate(self, q: StreamQueue) -> None:
        self.levels.setdefault(q.value, deque()).append(q)

    def deactivate(self, q: StreamQueue) -> None:
        level = self.levels[q.value]
        if level[0] is q:
            level.popleft()
        else:
            level.remove(q)
        if not level:
            del self.levels[q.value]

    def pick(self) -> StreamQueue:
        return self.levels[min(self.levels)][0]

    def served(self, q: StreamQueue, c: OutChunk) -> bool:
        level = self.levels[q.value]
        if level[0] is not q:
            return True
        if len(level) > 1:
            level.rotate(-1)
            return True
        return len(self.levels) > 1  # alone at its level: others may be due (a newcomer)


class WeightedFairQueueing(Scheduler):
    """§3.6: bytes shared in proportion to the streams' weights (see the module note)."""

    name: ClassVar[str] = "wfq"
    default_value: ClassVar[int] = 1
    has_values: ClassVar[bool] = True

    def __init__(self, interleaving: bool) -> None:
        super().__init__(interleaving)
        self.heap: list[tuple[float, int, StreamQueue]] = []
        self.vtime = 0.0  # virtual finish time of the unit served last
        self.active: set[int] = set()
        self._n = 0  # tie-break: first come, first served

    def check_value(self, value: int) -> None:
        if not 1 <= value <= 0xFFFF:
            raise einval(f"wfq weight {value} outside 1..65535")

    def _push(self, q: StreamQueue, start: float) -> None:
        """Schedule the unit now at the head of ``q``, starting at virtual time ``start``."""
        head = q.chunks[0]
        size = head.end - head.begin if self.interleaving else len(head.msg.data) - head.begin
        q.finish = start + size / q.value
        self._n += 1
        heappush(self.heap, (q.finish, self._n, q))

    def activate(self, q: StreamQueue) -> None:
        self.active.add(q.sid)
        self._push(q, max(self.vtime, q.finish))

    def deactivate(self, q: StreamQueue) -> None:
        self.active.discard(q.sid)

    def head_changed(self, q: StreamQueue) -> None:
        self._push(q, self.vtime)  # the old entry goes stale

    def pick(self) -> StreamQueue:
        heap, active = self.heap, self.active
        while True:
            f, _, q = heap[0]
            if q.sid in active and f == q.finish:
                return q
            heappop(heap)  # stale: the stream emptied or was rescheduled

    def served(self, q: StreamQueue, c: OutChunk) -> bool:
        self.vtime = q.finish
        if q.chunks:  # its next unit, later in virtual time
            self._push(q, q.finish)
        return True


_KINDS: dict[str, type[Scheduler]] = {
    "fcfs": FirstComeFirstServed, "rr": Scheduler, "rr_pkt": RoundRobinPerPacket,
    "prio": Priority, "wfq": WeightedFairQueueing,
}  # fmt: skip


def check_scheduler(name: str) -> None:
    """EINVAL unless ``name`` is a stream scheduler's (RFC 8260 §4.3.2)."""
    if name not in _KINDS:
        raise einval(f"stream scheduler {name!r} not one of {', '.join(SCHEDULERS)}")


class SendQueue:
    """Every outgoing stream's queue and the scheduler between them (see the module note).

    Iterating gives every queued chunk (in sending order for fcfs, else stream by stream);
    ``len`` counts them. With fcfs the chunks wait in one FIFO, :attr:`fifo`, which the
    sender reads directly (the one-stream fast path); else :attr:`fifo` is None.
    """

    __slots__ = ("_cur", "_locked", "_pkt_closed", "_pkt_sent", "count", "fifo", "interleaving",
                 "last", "sched", "streams")  # fmt: skip

    def __init__(self, scheduler: str, interleaving: bool) -> None:
        scheduler = scheduler or ("rr" if interleaving else "fcfs")  # Config's "" (its note)
        check_scheduler(scheduler)
        self.sched: Scheduler = _KINDS[scheduler](interleaving)
        self.interleaving = interleaving
        self.fifo: deque[OutChunk] | None = deque() if scheduler == "fcfs" else None
        self.streams: dict[int, StreamQueue] = {}
        self.count = 0
        self.last: OutChunk | None = None  # the chunk queued last
        self._cur: StreamQueue | None = None  # the stream being sent from (non-empty)
        self._locked = False  # its message is part sent and no switch is allowed (§6.9)
        self._pkt_closed = False  # rr_pkt: the packet being filled took its stream's last
        self._pkt_sent = False  # rr_pkt: the stream in turn sent since the turn began

    # ----- the container -----

    def __len__(self) -> int:
        return self.count if self.fifo is None else len(self.fifo)

    def __bool__(self) -> bool:
        return bool(self.count if self.fifo is None else self.fifo)

    def __iter__(self) -> Iterator[OutChunk]:
        if self.fifo is not None:
            yield from self.fifo
            return
        q = self._cur
        if q is not None and self._locked:  # the message part sent goes on first
            yield from q.chunks
        for sid in sorted(self.streams):
            if self.streams[sid] is not q or not self._locked:
                yield from self.streams[sid].chunks

    def __getitem__(self, i: int) -> OutChunk:
        if i == -1 and self.last is not None:
            return self.last
        return list(self)[i]

    def _queue(self, sid: int) -> StreamQueue:
        q = self.streams.get(sid)
        if q is None:
            q = self.streams[sid] = StreamQueue(sid, self.sched.default_value)
        return q

    def append(self, c: OutChunk) -> None:
        """Queue a chunk at the end of its stream (a message's chunks one after another)."""
        self.last = c
        fifo = self.fifo
        if fifo is not None:
            fifo.append(c)
            return
        q = self._queue(c.msg.stream_id)
        q.chunks.append(c)
        self.count += 1
        if len(q.chunks) == 1:
            self._activate(q)

    def _activate(self, q: StreamQueue) -> None:
        self.sched.activate(q)
        if not self._locked:
            self._cur = None  # the newcomer may be due first (prio, wfq)

    def replace_head(self, chunks: list[OutChunk]) -> list[OutChunk]:
        """The message begun at the head of its stream starts again as ``chunks`` (sent
        again whole); returns the chunks it had left. Its stream keeps its turn."""
        m = chunks[0].msg
        old = self.fifo if self.fifo is not None else self.streams[m.stream_id].chunks
        gone = []
        while old and old[0].msg is m:
            gone.append(old.popleft())
        old.extendleft(reversed(chunks))
        if self.fifo is None:
            self.count += len(chunks) - len(gone)
            if self._cur is self.streams[m.stream_id]:
                self._locked = False
        return gone

    def remove(self, m: OutMessage) -> list[OutChunk]:
        """Take every queued chunk of ``m`` out (abandoned, failed or taken back)."""
        if self.fifo is not None:
            fifo = self.fifo
            gone = [c for c in fifo if c.msg is m]
            if gone:
                if fifo[0].msg is m:
                    for _ in gone:
                        fifo.popleft()
                else:  # in place: the sender may hold this deque
                    keep = [c for c in fifo if c.msg is not m]
                    fifo.clear()
                    fifo.extend(keep)
            return gone
        q = self.streams.get(m.stream_id)
        if q is None:
            return []
        chunks = q.chunks
        gone = [c for c in chunks if c.msg is m]
        if not gone:
            return gone
        at_head = chunks[0].msg is m
        if at_head:
            for _ in gone:
                chunks.popleft()
        else:
            keep = [c for c in chunks if c.msg is not m]
            chunks.clear()
            chunks.extend(keep)
        self.count -= len(gone)
        if self._cur is q:
            self._locked = False
            self._cur = None
        if not q.chunks:
            self.sched.deactivate(q)
        elif at_head:
            self.sched.head_changed(q)
        return gone

    def clear(self) -> None:
        if self.fifo is not None:
            self.fifo.clear()
        for q in self.streams.values():
            q.chunks.clear()
        self.last = None
        self._rebuild(self.sched.name, keep_values=True)

    # ----- choosing -----

    def head(self) -> OutChunk | None:
        """The chunk to send next, None if none (or rr_pkt's packet is done)."""
        fifo = self.fifo
        if fifo is not None:
            return fifo[0] if fifo else None
        q = self._cur
        if q is None:
            if not self.count or self._pkt_closed:
                return None
            q = self._cur = self.sched.pick()
        return q.chunks[0]

    def pop(self) -> OutChunk:
        """Take the chunk :meth:`head` returned."""
        if self.fifo is not None:
            return self.fifo.popleft()
        q = self._cur
        assert q is not None
        chunks = q.chunks
        c = chunks.popleft()
        self.count -= 1
        self._pkt_sent = True
        if self.interleaving or c.flags & FLAG_END:  # a unit ends: a switch is allowed
            self._locked = False
            if not chunks:
                self.sched.deactivate(q)  # the next stream is in turn already
                self._cur = None
                self._pkt_closed = self.sched.per_packet
                self._pkt_sent = False
            elif self.sched.served(q, c):
                self._cur = None
        else:
            self._locked = True  # §6.9: the rest of this message comes next
        return c

    def next_packet(self) -> None:
        """A new packet starts: rr_pkt's next stream (unless a message is part sent, §6.9)."""
        self._pkt_closed = False
        if self._pkt_sent and not self._locked and self.sched.next_packet():
            self._cur = None
        self._pkt_sent = False

    # ----- choices -----

    @property
    def scheduler_name(self) -> str:
        """The name (``Config.stream_scheduler``) of the scheduler in use."""
        return next(n for n, kind in _KINDS.items() if type(self.sched) is kind)

    def set_scheduler(self, name: str) -> None:
        """Another scheduler from now on (EINVAL for an unknown name); every stream's value
        starts again at the new scheduler's default."""
        check_scheduler(name)
        self._rebuild(name, keep_values=False)

    def _rebuild(self, name: str, keep_values: bool) -> None:
        """Queue everything again under scheduler ``name``: the message part sent first."""
        chunks = list(self)
        self.sched = sched = _KINDS[name](self.interleaving)
        self._cur, self._locked, self._pkt_closed = None, False, False
        self.count = 0
        for q in self.streams.values():
            q.chunks.clear()
            q.finish = 0.0
            if not keep_values:
                q.value = sched.default_value
        if name == "fcfs":
            self.fifo = deque(chunks)
            return
        self.fifo = None
        last = self.last
        for c in chunks:
            self.append(c)
        self.last = last
        if chunks and chunks[0].begin:  # a message part sent: it goes on (§6.9)
            self._cur = self.streams[chunks[0].msg.stream_id]
            self._locked = True

    def set_value(self, sid: int, value: int) -> None:
        """RFC 8260 §4.3.3: the stream's priority (prio) or weight (wfq); EINVAL if the
        scheduler has none or the value is out of its range."""
        self.sched.check_value(value)
        q = self._queue(sid)
        if q.value == value:
            return
        if q.chunks:
            self.sched.deactivate(q)
            q.value = value
            self._activate(q)
        else:
            q.value = value

    def value(self, sid: int) -> int:
        q = self.streams.get(sid)
        return q.value if q is not None else self.sched.default_value
