"""The clock of the simulated Asterisk's host: what Asterisk writes the time with.

Asterisk dates everything it writes with its host's wall clock: each event's
``Timestamp:``, a Ping's ``Timestamp:``, ``${EPOCH}`` and ``STRFTIME()`` in the dialplan
(``ACD_ARRIVED``, the fail-open check). In the simulator that is simulated time
(:class:`~acd.sim.clock.SimClock`), unless a fault says otherwise:

* :meth:`HostClock.step` — from a simulated moment on, the host's clock reads some
  seconds more (or less): an NTP step, an operator setting the date;
* :attr:`HostClock.jitter_s` — each event is stamped up to that long before it is sent,
  as Asterisk's threads stamp an event when they build it and then queue it for the AMI
  in turn: two events may carry timestamps a few milliseconds out of order (seeded).

Timers, patience, talk times: every duration of the simulation stays on simulated
time; only what Asterisk writes moves.
"""

from __future__ import annotations

import random

from acd.sim.clock import SimClock


class HostClock:
    """Simulated time as the PBX host's (possibly stepped) wall clock reads it."""

    def __init__(self, clock: SimClock, *, seed: int = 0) -> None:
        self.clock = clock
        #: events are stamped up to this long (simulated seconds) before they are sent
        self.jitter_s = 0.0
        self._steps: list[tuple[float, float]] = []
        self._rng = random.Random(f"{seed}:host-clock")

    def step(self, seconds: float, at: float | None = None) -> None:
        """From simulated time ``at`` (now by default) on, the host's clock reads
        ``seconds`` more (less, if negative)."""
        self._steps.append((self.clock.now() if at is None else at, seconds))

    def read(self, sim_time: float) -> float:
        """What the host's clock reads at simulated time ``sim_time``."""
        if not self._steps:
            return sim_time
        return sim_time + sum(seconds for at, seconds in self._steps if sim_time >= at)

    def now(self) -> float:
        """What the host's clock reads now (``${EPOCH}``, ``STRFTIME()``, a Ping)."""
        return self.read(self.clock.now())

    def stamp(self) -> float:
        """An event's ``Timestamp:``: now, less a seeded share of :attr:`jitter_s`
        (simulated time itself, read at once, while no fault moves the clock: one
        call for each event sent)."""
        if not self._steps and self.jitter_s <= 0:
            return self.clock.now()
        now = self.now()
        return now - self._rng.uniform(0.0, self.jitter_s) if self.jitter_s > 0 else now

    def strftime_ms(self) -> str:
        """``${STRFTIME(,,%s.%3q)}``: seconds and milliseconds, the microseconds of the
        host's time of day cut (not rounded) as Asterisk's ``%3q`` does."""
        return f"{self.now():.6f}"[:-3]
