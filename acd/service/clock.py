"""Engine time: the router's own clock; Asterisk's timestamps checked against it.

Theory of operation
-------------------
The engine's timers (ring time-outs, wrap-up, skill expansion, overflow waits) run on
the router's own clock, which no event can move:

* :class:`OwnClock` (``acd run``): the host's wall clock read once at start, then moved
  only by the monotonic clock. A step of the host's wall clock (NTP) is noticed
  (:meth:`OwnClock.host_step`), never followed.
* :class:`SimulatorClock` (``acd run --speed``, ``acd simulate``, the tests): the router
  is told that its Asterisk is the simulator, whose simulated time runs ``speed`` times
  faster than real time. Either the simulator's own clock is handed over (one process:
  :func:`acd.testing.build_stack`), or the clock starts at the first time the simulator
  gives (its Ping's ``Timestamp`` at the first resync) and runs on the monotonic clock
  ``speed`` times faster. Only this clock, chosen by the command line, ever takes a time
  from the PBX.

Asterisk's ``Timestamp:`` tells when an event happened, which the router learns a few
milliseconds later: :class:`PbxTime` dates each event by its timestamp moved into the
router's clock (``offset``, the router's clock minus Asterisk's, measured on the first
timestamps, or 0 against a simulator, whose clock is the router's), after a sanity
check: the date must fall between ``LATE_S`` before and ``EARLY_S`` after the router's
own clock (both × speed). An event outside is dated when it is received, so one event
moves nothing by more than that. A new offset (Asterisk's clock stepped, or an initial
skew) is taken once ``CONFIRM_EVENTS`` events in a row agree on it; its events are
dated with it meanwhile. Each such episode (a step, a skew, one stray timestamp) is
counted once and logged once (``clock_skew``), as is a step of the router host's clock:
none changes a timer, a wait or a record already dated.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import msgspec

from acd.ami.events import StatusEntry

#: An event may be dated this far after the router's clock (real seconds, × speed):
#: Asterisk's threads stamp events a little out of order, and the offset was measured
#: on a timestamp read late (the Ping before a long ``Status`` list).
EARLY_S = 0.5
#: ... and this far before it (real seconds, × speed): a busy router reads them late.
LATE_S = 2.0
#: Events in a row that must agree on a new offset between the two clocks (measured on
#: the quickest of them).
CONFIRM_EVENTS = 5
#: A change of the router host's wall clock against its monotonic clock taken as a step.
HOST_STEP_S = 1.0
#: ``ACD_ARRIVED`` may be this much before the channel's age says it was created
#: (``Seconds`` is whole seconds; an older dialplan wrote whole seconds too).
ARRIVAL_SLACK_S = 2.0


class OwnClock:
    """The router's own clock: epoch seconds from the wall clock read once, then moved by
    the monotonic clock only."""

    speed = 1.0
    #: the PBX's timestamps are measured against this clock, not taken as it
    shares_pbx_clock = False

    def __init__(self, *, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._origin = wall()
        self._at = monotonic()
        self._gap = 0.0

    def __call__(self) -> float:
        return self._origin + (self._monotonic() - self._at)

    def start(self, epoch: float) -> None:
        """Never taken from the PBX."""

    def host_step(self) -> float | None:
        """How far the host's wall clock moved against this clock since last asked, if
        more than ``HOST_STEP_S`` (a step: NTP, an operator); else None."""
        gap = self._wall() - self()
        step = gap - self._gap
        if abs(step) <= HOST_STEP_S:
            return None
        self._gap = gap
        return step


class SimulatorClock:
    """Simulated time of the simulator the router runs against: ``read`` (the
    simulator's own clock, in the same process), or from :meth:`start` (the first time
    the simulator gives) on, ``speed`` times the monotonic clock."""

    #: the PBX's timestamps are on this very clock: offset 0
    shares_pbx_clock = True

    def __init__(self, speed: float = 1.0, *, read: Callable[[], float] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._read = read
        self._monotonic = monotonic
        self._origin: float | None = None
        self._at = 0.0

    @property
    def started(self) -> bool:
        return self._read is not None or self._origin is not None

    def start(self, epoch: float) -> None:
        """The simulator's time is ``epoch`` now (only the first call counts)."""
        if not self.started:
            self._origin, self._at = epoch, self._monotonic()

    def __call__(self) -> float:
        if self._read is not None:
            return self._read()
        if self._origin is None:
            return time.time()  # nothing from the simulator yet
        return self._origin + (self._monotonic() - self._at) * self.speed

    def host_step(self) -> float | None:
        return None


EngineClock = OwnClock | SimulatorClock


class PbxTime:
    """Dates Asterisk's timestamps on the engine's clock, after a sanity check; counts
    each disagreement between the two clocks once (``on_skew(step_s)``)."""

    def __init__(self, clock: EngineClock,
                 on_skew: Callable[[float], None] | None = None) -> None:
        self.clock = clock
        self.on_skew = on_skew
        #: the engine's clock minus Asterisk's; None until a timestamp was seen
        self.offset: float | None = 0.0 if clock.shares_pbx_clock else None
        #: the least lag (seen offset minus ``offset``) of an event so far: the quickest
        #: delivery, which a new offset is measured against
        self._fastest: float | None = None
        self._candidate: float | None = None
        self._agreeing = 0
        self._in_episode = False
        #: the last timestamp received
        self.latest: float | None = None

    def date(self, timestamp: float) -> float:
        """The engine time at which an event stamped ``timestamp`` happened."""
        clock = self.clock
        clock.start(timestamp)
        now = clock()
        self.latest = timestamp
        seen = now - timestamp  # offset this one event suggests (its delivery included)
        if self.offset is None:
            self.offset, self._fastest = seen, 0.0
            if abs(seen) > LATE_S * clock.speed:
                self._skew(seen)  # Asterisk's clock is not the router's: said once
            return now
        early, late = EARLY_S * clock.speed, LATE_S * clock.speed
        lag = seen - self.offset
        if -early <= lag <= late:
            self._candidate, self._agreeing, self._in_episode = None, 0, False
            self._fastest = lag if self._fastest is None else min(self._fastest, lag)
            return timestamp + self.offset  # one offset: Asterisk's durations kept exact
        fastest = self._fastest or 0.0
        if not self._in_episode:
            self._in_episode = True
            self._skew(lag)
        if self._candidate is not None and -early <= seen - self._candidate <= late:
            self._agreeing += 1
            self._candidate = min(self._candidate, seen)
            offset = self._candidate - fastest
            if self._agreeing >= CONFIRM_EVENTS:  # Asterisk's clock stepped: followed
                self.offset, self._fastest = offset, fastest
                self._candidate, self._agreeing, self._in_episode = None, 0, False
            return timestamp + offset
        self._candidate, self._agreeing = seen, 1
        return now - fastest

    def arrival(self, entry: StatusEntry, arrived_var: str, listed_at: float) -> StatusEntry:
        """``entry`` (a ``Status`` list item) with the arrival time the dialplan wrote on
        it (``ACD_ARRIVED``, Asterisk's clock; milliseconds, or whole seconds from an
        older dialplan) moved onto the engine's clock, if it is sane: not after the list,
        not before the channel existed (``Seconds``, whole seconds, so one more of
        slack). One that is not (written before Asterisk's clock stepped, garbage) is
        removed: the engine then counts from the channel's age."""
        raw = entry.variables.get(arrived_var)
        if raw is None:
            return entry
        try:
            written = float(raw)
        except ValueError:
            return entry  # "(null)", empty: the engine reads it as unset
        arrived = written + (self.offset or 0.0)
        earliest = listed_at - entry.seconds - ARRIVAL_SLACK_S * self.clock.speed
        if math.isfinite(arrived) and (entry.seconds <= 0 or arrived >= earliest):
            value = f"{min(arrived, listed_at):.6f}"
        else:
            value = ""
        if value == raw:
            return entry
        return msgspec.structs.replace(entry, variables={**entry.variables,
                                                         arrived_var: value})

    def pbx_now(self) -> float:
        """Asterisk's clock now, as its latest timestamps tell (the dialplan's heartbeat
        is compared with its ``${EPOCH}``): a step forward is followed at once."""
        now = self.clock()
        offsets = [o for o in (self.offset, self._candidate) if o is not None]
        return now - min(offsets) if offsets else now

    def _skew(self, step: float) -> None:
        if self.on_skew is not None:
            self.on_skew(step)


def engine_clock(clock: EngineClock | Callable[[], float] | None = None,
                 speed: float = 1.0) -> EngineClock:
    """The router's own clock; against a simulator (a ``speed`` other than 1), the
    simulator's time from its first timestamp on; a clock given: the simulator's (or a
    test's), read as is."""
    if isinstance(clock, (OwnClock, SimulatorClock)):
        return clock
    if clock is not None:
        return SimulatorClock(speed, read=clock)
    return OwnClock() if speed == 1.0 else SimulatorClock(speed)
