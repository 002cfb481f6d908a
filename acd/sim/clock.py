"""Simulated time: real time × a speed factor, from a chosen starting epoch.

Everything the simulated PBX schedules (answer delays, talk times, ring time-outs,
the caller's patience) is in *simulated* seconds; :class:`SimClock` runs those timers
on the event loop, ``speed`` times faster than real time. Event ``Timestamp:``
headers carry simulated time, so a router that reads them sees simulated time in
accelerated mode.

Timers are a small discrete-event scheduler: they fire in the order of their
simulated due time (ties in the order they were set), whatever the loop's jitter,
and a callback runs with the clock *frozen* at its due time. So a scenario whose
events all come from timers (arrivals set with :meth:`SimClock.call_at`, the PBX's
own delays, a seeded behaviour) produces the same events with the same timestamps on
every run. Only what comes from outside (an AMI action from the router) is stamped
with the real clock's reading. The clock never goes backwards: a timer whose due
time is earlier than a timestamp already handed out is stamped with that later time.

A *virtual* clock (``virtual=True``) has no event loop and no real time: it stands
still until its owner runs the next timer (:meth:`SimClock.run_next`), which moves it
to that timer's due time. A whole day then plays as fast as the callbacks run
(``acd.tools.fastday``).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable


class SimTimer:
    """A scheduled callback; :meth:`cancel` is safe to call more than once."""

    __slots__ = ("cancelled", "due")

    def __init__(self, due: float) -> None:
        #: simulated epoch time at which the callback runs
        self.due = due
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class SimClock:
    """Simulated epoch time running ``speed`` times faster than the real clock."""

    def __init__(self, *, speed: float = 1.0, start_epoch: float | None = None,
                 virtual: bool = False) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        #: simulated epoch time when the clock was created
        self.start_epoch = time.time() if start_epoch is None else start_epoch
        self._real_t0 = time.monotonic()
        self._frozen: float | None = None
        self._floor = self.start_epoch
        self._heap: list[tuple[float, int, SimTimer, Callable[[], None]]] = []
        self._seq = 0
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_due: float | None = None
        #: no event loop: time moves only with :meth:`run_next`
        self.virtual = virtual

    def _running_time(self) -> float:
        if self.virtual:
            return self._floor
        return self.start_epoch + (time.monotonic() - self._real_t0) * self.speed

    def now(self) -> float:
        """Simulated epoch seconds (frozen at the due time inside a timer callback)."""
        if self._frozen is not None:
            return self._frozen
        now = self._running_time()
        if now < self._floor:
            return self._floor
        self._floor = now
        return now

    def elapsed(self) -> float:
        """Simulated seconds since the clock started."""
        return self.now() - self.start_epoch

    def real_delay(self, sim_seconds: float) -> float:
        """Real seconds that ``sim_seconds`` of simulated time take."""
        return max(sim_seconds, 0.0) / self.speed

    def call_later(self, sim_delay: float, callback: Callable[[], None]) -> SimTimer:
        """Run ``callback`` after ``sim_delay`` simulated seconds (on the running loop)."""
        return self.call_at(self.now() + max(sim_delay, 0.0), callback)

    def call_at(self, when: float, callback: Callable[[], None]) -> SimTimer:
        """Run ``callback`` at simulated epoch time ``when`` (soon, if it is past)."""
        timer = SimTimer(when)
        heapq.heappush(self._heap, (when, self._seq, timer, callback))
        self._seq += 1
        self._arm()
        return timer

    def pending(self) -> int:
        """Timers set and not yet run nor cancelled."""
        return sum(1 for _, _, timer, _ in self._heap if not timer.cancelled)

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep ``sim_seconds`` of simulated time."""
        await asyncio.sleep(self.real_delay(sim_seconds))

    def next_due(self) -> float | None:
        """Due time of the earliest live timer, or None."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_next(self, until: float) -> bool:
        """Virtual clock: run the earliest live timer if it is due by ``until`` (the
        clock moves to its due time); False, the clock moved to ``until``, otherwise."""
        if not self.virtual:
            raise RuntimeError("run_next drives a virtual clock only")
        due = self.next_due()
        if due is None or due > until:
            self._floor = max(self._floor, until)
            return False
        _, _, timer, callback = heapq.heappop(self._heap)
        timer.cancelled = True
        self._fire(timer, callback)
        return True

    def advance_to(self, when: float) -> None:
        """Virtual clock: time moves to ``when`` (never backwards); no timer runs."""
        self._floor = max(self._floor, when)

    def _arm(self) -> None:
        """Make sure the loop wakes us up for the earliest live timer."""
        if self.virtual:
            return
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        if not heap:
            if self._wakeup is not None:
                self._wakeup.cancel()
                self._wakeup = self._wakeup_due = None
            return
        due = heap[0][0]
        if self._wakeup is not None and self._wakeup_due is not None \
                and self._wakeup_due <= due:
            return
        if self._wakeup is not None:
            self._wakeup.cancel()
        loop = asyncio.get_running_loop()
        self._wakeup = loop.call_later(self.real_delay(due - self._running_time()),
                                       self._run_due)
        self._wakeup_due = due

    def _run_due(self) -> None:
        limit = max(self._running_time(), self._wakeup_due or 0.0)
        self._wakeup = self._wakeup_due = None
        heap = self._heap
        while heap and heap[0][0] <= limit:
            _, _, timer, callback = heapq.heappop(heap)
            if timer.cancelled:
                continue
            timer.cancelled = True  # ran: a later cancel() is a no-op
            try:
                self._fire(timer, callback)
            except Exception as exc:  # one failing callback must not stop the others
                asyncio.get_running_loop().call_exception_handler(
                    {"message": "SimClock timer callback failed", "exception": exc})
        self._arm()

    def _fire(self, timer: SimTimer, callback: Callable[[], None]) -> None:
        outer = self._frozen
        self._floor = max(self._floor, timer.due)
        self._frozen = self._floor
        try:
            callback()
        finally:
            self._frozen = outer
