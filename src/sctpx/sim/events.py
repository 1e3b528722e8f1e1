"""The event queue of the simulator: a heap ordered by (virtual time, insertion order).

Each entry carries a zero-argument action and a short description (for error
messages). Entries are cancelled lazily: :meth:`EventQueue.cancel` marks the
handle and :meth:`EventQueue.pop` skips it, which keeps re-arming a driver's
timer O(log n).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable


class SimulationError(RuntimeError):
    """The simulation was used wrongly, or a driver did something the network cannot carry."""


class EventLimitExceeded(SimulationError):
    """A run processed more events than its ``max_events`` allowed (a livelock, usually)."""


class Scheduled:
    """A scheduled action; keep the handle to cancel it."""

    __slots__ = ("action", "cancelled", "describe", "time")

    def __init__(self, time: float, action: Callable[[], None], describe: str) -> None:
        self.time = time
        self.action = action
        self.describe = describe
        self.cancelled = False


class EventQueue:
    """Pending events; ties in time are broken by insertion order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Scheduled]] = []
        self._seq = 0

    def push(self, time: float, action: Callable[[], None], describe: str) -> Scheduled:
        event = Scheduled(time, action, describe)
        heapq.heappush(self._heap, (time, self._seq, event))
        self._seq += 1
        return event

    @staticmethod
    def cancel(event: Scheduled) -> None:
        event.cancelled = True

    def _drop_cancelled(self) -> None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)

    def peek_time(self) -> float | None:
        """Time of the next live event, or None when nothing is pending."""
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def pop(self) -> Scheduled | None:
        """Remove and return the next live event."""
        self._drop_cancelled()
        return heapq.heappop(self._heap)[2] if self._heap else None

    def upcoming(self, n: int) -> list[Scheduled]:
        """Up to ``n`` next live events, in order, without removing them (for diagnostics)."""
        live = [e for _, _, e in heapq.nsmallest(n + 64, self._heap) if not e.cancelled]
        return live[:n]

    def __len__(self) -> int:
        return sum(1 for _, _, e in self._heap if not e.cancelled)
