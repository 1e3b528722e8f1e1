"""A tiny set of named deadlines: how an association keeps T1, T2, T5, HEARTBEAT timers."""

from __future__ import annotations

from collections.abc import Hashable


class Timers:
    """Deadlines (absolute times) by key. Starting a running timer restarts it."""

    __slots__ = ("_at",)

    def __init__(self) -> None:
        self._at: dict[Hashable, float] = {}

    def start(self, key: Hashable, at: float) -> None:
        self._at[key] = at

    def stop(self, key: Hashable) -> None:
        self._at.pop(key, None)

    def stop_all(self, match: object = None) -> None:
        """Stop every timer, or those whose key is a tuple starting with ``match``."""
        if match is None:
            self._at.clear()
        else:
            for k in [k for k in self._at if isinstance(k, tuple) and k[0] == match]:
                del self._at[k]

    def running(self, key: Hashable) -> bool:
        return key in self._at

    def deadline(self, key: Hashable) -> float | None:
        return self._at.get(key)

    def next(self) -> float | None:
        return min(self._at.values()) if self._at else None

    def pop_due(self, now: float) -> list[Hashable]:
        """Remove and return the keys due at ``now``, earliest first."""
        due = sorted((t, i, k) for i, (k, t) in enumerate(self._at.items()) if t <= now)
        for _t, _i, k in due:
            del self._at[k]
        return [k for _t, _i, k in due]
