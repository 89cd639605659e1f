"""The call core's timers: one heap, read by ``get_timer`` and fired by ``handle_timer``.

Theory of operation. Every deadline of every call (the setup timer, a ring
round's no-answer timer, the resends of a 2xx and their give-up) is a
:class:`Timer` in one heap ordered by deadline. The glue arms a single
real timer for :meth:`Timers.next_deadline` and, when it fires, calls
:meth:`Timers.expire` with the time: every timer due by then runs, in
deadline order. Cancelling only marks a timer; the heap drops it when it
reaches the top, so cancelling is O(1). A cancelled timer lets go of its
action at once (the action holds its call: a setup timer cancelled at the
answer would otherwise keep the whole call alive for its 180 s), and the
heap is swept of cancelled entries now and then so it never grows with them.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

__all__ = ["Timer", "Timers"]


class Timer:
    """One deadline and what to do then."""

    __slots__ = ("action", "at", "cancelled")

    def __init__(self, at: float, action: Callable[[float], None]) -> None:
        self.at = at
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        """Call it off (harmless when it already ran); what it held is released."""
        self.cancelled = True
        self.action = _nothing


def _nothing(_now: float) -> None:
    return


_SWEEP_EVERY = 4096
"""Timers started between two sweeps of the cancelled ones out of the heap."""


class Timers:
    """Every pending deadline of the core."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._until_sweep = _SWEEP_EVERY

    def start(self, at: float, action: Callable[[float], None]) -> Timer:
        """Run ``action(now)`` once ``now >= at``."""
        timer = Timer(at, action)
        heapq.heappush(self._heap, (at, next(self._order), timer))
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep()
        return timer

    def _sweep(self) -> None:
        self._until_sweep = _SWEEP_EVERY
        live = [entry for entry in self._heap if not entry[2].cancelled]
        if len(live) < len(self._heap):
            heapq.heapify(live)
            self._heap = live

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def expire(self, now: float) -> None:
        """Run every timer due at ``now`` (timers they start run too, when due)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                timer.cancelled = True
                timer.action(now)

    def __len__(self) -> int:
        return sum(1 for entry in self._heap if not entry[2].cancelled)
