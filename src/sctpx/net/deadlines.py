"""The next timer of every endpoint of a stack, earliest first.

A stack may hold thousands of endpoints (sctpx.aio gives each client association
its own). Asking each for its timer after every batch, or on every timer tick,
made each packet cost O(endpoints): 17 ms per connectx with 5,000 idle endpoints
in the stack. :class:`Deadlines` keeps the last deadline each endpoint reported
in a heap with lazy deletion, so the stack re-reads only the endpoints a batch
touched and finds the earliest, or the due ones, in O(log n).
"""

from __future__ import annotations

import heapq


class Deadlines:
    """``key -> when`` with the earliest ``when`` at hand."""

    def __init__(self) -> None:
        self._when: dict[int, float] = {}
        self._heap: list[tuple[float, int]] = []  # may hold stale entries: checked on the way out

    def __len__(self) -> int:
        return len(self._when)

    def set(self, key: int, when: float | None) -> None:
        """Record ``key``'s deadline (None: it has none)."""
        if when is None:
            self._when.pop(key, None)
            return
        if self._when.get(key) == when:
            return
        self._when[key] = when
        heapq.heappush(self._heap, (when, key))
        if len(self._heap) > 2 * len(self._when) + 64:  # mostly stale: rebuild
            self._heap = [(w, k) for k, w in self._when.items()]
            heapq.heapify(self._heap)

    def earliest(self) -> float | None:
        """The earliest deadline, or None."""
        heap, when = self._heap, self._when
        while heap and when.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> list[int]:
        """The keys whose deadline is ``now`` or earlier, earliest first; they are forgotten."""
        out: list[int] = []
        heap, when = self._heap, self._when
        while heap and heap[0][0] <= now:
            w, key = heapq.heappop(heap)
            if when.get(key) == w:
                del when[key]
                out.append(key)
        return out
