"""The traffic of each load shape, as a call rate over time. Pure: no Locust here.

A shape describes a stretch of a SAS's traffic in *scenario* seconds (a day, the busy
hour, two hours of stress). A run plays the whole stretch in ``duration`` real
seconds, so it is compressed by ``span / duration``: a normal day played in 120 s is
compressed 720 times, and its calls arrive 720 times faster than in the room. The
ramp is not compressed: it climbs in real calls per second until the router breaks.

Rates come from the same figures as the scenarios (``config/scenarios/``): the SAS
weekday hourly profile, 885 calls a day for an average SAS (February 2023), 1,200 for
the large example site (SAS 59), ×1.55 for the winter surge of December 2022.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from acd.tools.simulate.scenario import SAS_WEEKDAY_PROFILE

#: numbers dialled and their share of the calls (the scenarios' per-day mix)
AVERAGE_MIX: tuple[tuple[str, float], ...] = (("15", 760), ("116117", 100), ("0320334455", 25))
LARGE_MIX: tuple[tuple[str, float], ...] = (("15", 1000), ("116117", 150), ("0320334455", 50))

#: calls in the busy hour of the 1,200-call SAS (the profile's highest hour)
BUSY_HOUR_CALLS = 1200 * max(SAS_WEEKDAY_PROFILE) / sum(SAS_WEEKDAY_PROFILE)

#: ramp: first rate (calls/s), factor between steps, and the cap
RAMP_START = 2.0
RAMP_FACTOR = 1.5
RAMP_CAP = 400.0
#: the ramp's breaking point: routing latency p99 above this, or one call lost
BREAK_P99_MS = 50.0


@dataclass(frozen=True)
class Shape:
    """A call rate over a run of ``duration_s`` real seconds."""

    name: str
    #: scenario seconds the shape covers (0: not compressed, the ramp)
    span_s: float
    mix: tuple[tuple[str, float], ...]
    duration_s: float
    default_duration_s: float = 120.0

    @property
    def compression(self) -> float:
        """Scenario seconds per real second."""
        return self.span_s / self.duration_s if self.span_s else 1.0

    def scenario_rate(self, scenario_t: float) -> float:
        """Calls per scenario second at scenario time ``scenario_t``."""
        raise NotImplementedError

    def rate(self, t: float) -> float:
        """Calls per real second, ``t`` real seconds into the run (0 after the end)."""
        if not 0 <= t < self.duration_s:
            return 0.0
        c = self.compression
        return self.scenario_rate(t * c) * c

    def peak_rate(self) -> float:
        return max(self.rate(self.duration_s * k / 1000) for k in range(1000))

    def expected_calls(self) -> float:
        steps = 1000
        return sum(self.rate(self.duration_s * (k + 0.5) / steps)
                   for k in range(steps)) * self.duration_s / steps


@dataclass(frozen=True)
class NormalDay(Shape):
    """A normal weekday of an average SAS (885 calls), midnight to midnight."""

    calls_per_day: float = 885.0

    def scenario_rate(self, scenario_t: float) -> float:
        hour = min(23, int(scenario_t // 3600))
        return (self.calls_per_day * SAS_WEEKDAY_PROFILE[hour]
                / sum(SAS_WEEKDAY_PROFILE) / 3600)


@dataclass(frozen=True)
class Steady(Shape):
    """A constant rate: the busy hour of the 1,200-call SAS times ``factor``."""

    factor: float = 1.0

    def scenario_rate(self, scenario_t: float) -> float:
        return BUSY_HOUR_CALLS * self.factor / 3600


@dataclass(frozen=True)
class Ramp(Shape):
    """Real calls per second, ×``RAMP_FACTOR`` each step, from ``RAMP_START`` to
    ``RAMP_CAP``: the run is cut into as many equal steps."""

    def steps(self) -> int:
        return 1 + math.ceil(math.log(RAMP_CAP / RAMP_START) / math.log(RAMP_FACTOR))

    def step_s(self) -> float:
        return self.duration_s / self.steps()

    def step_at(self, t: float) -> int:
        return min(self.steps() - 1, int(t // self.step_s()))

    def step_rate(self, step: int) -> float:
        return min(RAMP_CAP, RAMP_START * RAMP_FACTOR ** step)

    def scenario_rate(self, scenario_t: float) -> float:
        return self.step_rate(self.step_at(scenario_t))


SHAPE_NAMES = ("normal-day", "busy-hour", "winter-surge", "stress-3x", "ramp")
DEFAULT_DURATIONS = {"normal-day": 120.0, "busy-hour": 60.0, "winter-surge": 60.0,
                     "stress-3x": 120.0, "ramp": 180.0}


def make_shape(name: str, duration_s: float | None = None) -> Shape:
    """The shape called ``name`` played in ``duration_s`` real seconds."""
    if name not in SHAPE_NAMES:
        raise ValueError(f"unknown shape {name!r}; one of {', '.join(SHAPE_NAMES)}")
    duration = DEFAULT_DURATIONS[name] if duration_s is None else duration_s
    if not duration > 0:
        raise ValueError("duration must be > 0 seconds")
    if name == "normal-day":
        return NormalDay(name, 86_400.0, AVERAGE_MIX, duration)
    if name == "busy-hour":
        return Steady(name, 3_600.0, LARGE_MIX, duration)
    if name == "winter-surge":
        return Steady(name, 3_600.0, LARGE_MIX, duration, factor=1.55)
    if name == "stress-3x":
        return Steady(name, 7_200.0, LARGE_MIX, duration, factor=3.0)
    return Ramp(name, 0.0, LARGE_MIX, duration)
