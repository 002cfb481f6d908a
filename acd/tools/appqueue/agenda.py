"""The model's clock: steps run in the order of their time, ties in the order they
were set (as the simulated PBX's timers), so a day plays the same for a seed."""

from __future__ import annotations

import heapq
from collections.abc import Callable


class Timer:
    """A scheduled step; cancelling it is safe more than once."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Agenda:
    """Virtual time: it moves only to the next step due."""

    def __init__(self, start: float) -> None:
        #: epoch seconds of the step running (or of the last one run)
        self.now = start
        self._heap: list[tuple[float, int, Timer, Callable[[], None]]] = []
        self._seq = 0

    def at(self, when: float, step: Callable[[], None]) -> Timer:
        """Run ``step`` at ``when`` (at once after the current step if it is past)."""
        timer = Timer()
        heapq.heappush(self._heap, (max(when, self.now), self._seq, timer, step))
        self._seq += 1
        return timer

    def run(self, until: float) -> None:
        """Run every step due by ``until``; the clock ends at ``until``."""
        heap = self._heap
        while heap and heap[0][0] <= until:
            when, _, timer, step = heapq.heappop(heap)
            if timer.cancelled:
                continue
            timer.cancelled = True
            self.now = when
            step()
        self.now = max(self.now, until)
