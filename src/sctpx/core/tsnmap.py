"""The data receiver's TSN map: the cumulative TSN ack point, the TSNs received above it
(reported as Gap Ack Blocks) and the duplicates to report (RFC 9260 §3.3.4, §6.2, §6.7).

TSNs are 32-bit serial numbers (RFC 1982; RFC 9260 §1.6). Inside the map every TSN is
*unwrapped* into an unbounded integer on the line of the cumulative TSN ack point, so that
comparisons and ranges are plain integer operations and never wrap. A TSN within 2**31 after
the cumulative point is "ahead", anything else "at or behind" it.

Received TSNs above the cumulative point are held as a set (duplicate detection) and as maximal
runs of consecutive TSNs, indexed by first and by last TSN (O(1) merging) with a heap of run
starts (lowest runs first, for Gap Ack Blocks and FORWARD TSN). Heap entries go stale when runs
merge or are absorbed and are skipped lazily; the heap is rebuilt when stale entries outnumber
live ones, so each received TSN costs amortised O(log n).
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush

MASK32 = 0xFFFFFFFF
HALF32 = 1 << 31
MAX_GAP_OFFSET = 0xFFFF  # Gap Ack Block offsets are 16 bits (§3.3.4)


def tsn_add(tsn: int, n: int) -> int:
    """``tsn + n`` modulo 2**32."""
    return (tsn + n) & MASK32


def tsn_lt(a: int, b: int) -> bool:
    """RFC 1982 serial ``a < b`` on 32 bits (a distance of exactly 2**31 counts as less)."""
    d = (b - a) & MASK32
    return 0 < d <= HALF32


def tsn_lte(a: int, b: int) -> bool:
    return a == b or tsn_lt(a, b)


class TsnMap:
    """What an SCTP receiver has seen of the peer's TSN space.

    ``max_gap_blocks`` bounds the Gap Ack Blocks in one SACK (the lowest ones are reported,
    §6.7); ``max_dups`` bounds the Duplicate TSNs listed in one SACK (further duplicates before
    the next SACK are counted in :attr:`dups_dropped` but not listed).
    """

    __slots__ = (
        "_cum",
        "_dups",
        "_heap",
        "_held",
        "_run_end",
        "_run_start",
        "dups_dropped",
        "max_dups",
        "max_gap_blocks",
    )

    def __init__(self, initial_tsn: int, *, max_gap_blocks: int = 64, max_dups: int = 32) -> None:
        # §3.3.4: with nothing received, the Cumulative TSN Ack is the peer's Initial TSN - 1.
        # Unwrapped values start in [2**32 - 1, 2**33 - 1) so they never go negative.
        self._cum = (1 << 32) + ((initial_tsn - 1) & MASK32)
        self._held: set[int] = set()  # received, above the cumulative point
        self._run_end: dict[int, int] = {}  # first TSN of a run -> its last TSN
        self._run_start: dict[int, int] = {}  # last TSN of a run -> its first TSN
        self._heap: list[int] = []  # run starts, some stale
        self._dups: list[int] = []
        self.dups_dropped = 0
        self.max_gap_blocks = max_gap_blocks
        self.max_dups = max_dups

    # ----- reading -----

    @property
    def cum_tsn(self) -> int:
        """The Cumulative TSN Ack as a 32-bit TSN."""
        return self._cum & MASK32

    @property
    def cum(self) -> int:
        """The cumulative point, unwrapped."""
        return self._cum

    def unwrap(self, tsn: int) -> int:
        """Place a 32-bit TSN on the unwrapped line, within 2**31 of the cumulative point."""
        cum = self._cum
        return cum + ((tsn - cum + HALF32 - 1) & MASK32) - HALF32 + 1

    def seen(self, t: int) -> bool:
        """Whether unwrapped TSN ``t`` has been received (or skipped by FORWARD TSN)."""
        return t <= self._cum or t in self._held

    def has_gaps(self) -> bool:
        """Whether anything above the cumulative point has been received."""
        return bool(self._held)

    def held_count(self) -> int:
        """How many TSNs above the cumulative point are remembered."""
        return len(self._held)

    def runs(self) -> list[tuple[int, int]]:
        """Every run of received TSNs above the cumulative point, unwrapped, sorted (for tests)."""
        return sorted(self._run_end.items())

    def gap_blocks(self) -> tuple[tuple[int, int], ...]:
        """The lowest Gap Ack Blocks as (start, end) offsets from the cumulative TSN (§3.3.4).

        §6.7: blocks go from the lowest TSN up; those that do not fit are left out. A block
        beyond offset 65535 cannot be expressed; one that straddles it is cut there.
        """
        heap, run_end, cum = self._heap, self._run_end, self._cum
        out: list[tuple[int, int]] = []
        live: list[int] = []
        while heap and len(out) < self.max_gap_blocks:
            s = heappop(heap)
            e = run_end.get(s)
            if e is None:
                continue  # stale: merged into a lower run or absorbed by the cumulative point
            live.append(s)
            lo = s - cum
            if lo > MAX_GAP_OFFSET:
                break
            out.append((lo, min(e - cum, MAX_GAP_OFFSET)))
        for s in live:
            heappush(heap, s)
        return tuple(out)

    # ----- duplicates (§6.2, §3.3.4) -----

    def add_dup(self, tsn: int) -> None:
        """Record one duplicate reception of a 32-bit TSN: each reception is listed once."""
        if len(self._dups) < self.max_dups:
            self._dups.append(tsn)
        else:
            self.dups_dropped += 1

    def take_dups(self) -> tuple[int, ...]:
        """The duplicates since the last SACK; the list starts again empty (§3.3.4)."""
        dups = tuple(self._dups)
        self._dups.clear()
        return dups

    # ----- changing -----

    def add(self, t: int) -> None:
        """Mark unwrapped TSN ``t`` (not :meth:`seen`) as received."""
        cum = self._cum
        run_end, run_start = self._run_end, self._run_start
        if t == cum + 1:
            # The cumulative point moves over t and over the run right after it, if any.
            e = run_end.pop(t + 1, None) if run_end else None
            if e is None:
                self._cum = t
            else:
                del run_start[e]
                self._held.difference_update(range(t + 1, e + 1))
                self._cum = e
            return
        self._held.add(t)
        s = run_start.pop(t - 1, None)  # a run ending just before t
        e = run_end.pop(t + 1, None)  # a run starting just after t
        lo = t if s is None else s
        if e is None:
            e = t
        else:
            del run_start[e]
        run_end[lo] = e
        run_start[e] = lo
        if s is None:
            heap = self._heap
            heappush(heap, t)
            if len(heap) > 2 * len(run_end) + 64:
                self._heap = list(run_end)
                heapify(self._heap)

    def forward(self, new_cum: int) -> None:
        """Move the cumulative point to unwrapped ``new_cum`` (ahead of it), then further over
        the TSNs received right after it (RFC 3758 §3.6); forget every TSN at or below it."""
        cum = new_cum
        heap, run_end, run_start, held = self._heap, self._run_end, self._run_start, self._held
        while heap and heap[0] <= cum + 1:
            s = heappop(heap)
            e = run_end.pop(s, None)
            if e is None:
                continue
            del run_start[e]
            held.difference_update(range(s, e + 1))
            cum = max(cum, e)
        self._cum = cum
