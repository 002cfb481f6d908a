"""``acd simulate --fast [--days N]``: a scenario played in one process (the planner's
fast day, :mod:`acd.tools.fastday`) on ``N`` successive dates, each with its own seed,
its call records appended to ``--records-out`` as ``acd run --records-out`` writes
them: a history whose truth is the scenario, to check ``acd plan --records`` against.

Day ``n`` (0 first) starts ``n`` periods after the scenario's ``start`` (a period is
the scenario's length rounded up to whole days) and is played with seed ``seed + n``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec

from acd.config import Config
from acd.core.facts import CallTransferred
from acd.core.records import CallRecord
from acd.tools.fastday import play_day
from acd.tools.simulate.scenario import Scenario

#: the longest history one command plays
MAX_DAYS = 366


@dataclass(frozen=True)
class PlayedDay:
    """One day of the history: its scenario (start moved), seed and records."""

    scenario: Scenario
    seed: int
    records: list[CallRecord]
    #: caller channels the router hung up: must stay empty
    hung_up_by_router: list[str]
    #: the day's transfer facts (a warm transfer that never connected has no leg)
    transfers: list[CallTransferred] = field(default_factory=list)


def days_of(scenario: Scenario, days: int, seed: int | None = None) -> Iterator[
        tuple[Scenario, int]]:
    """The scenario of each day of the history and its seed."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"--days: 1 to {MAX_DAYS}")
    first = scenario.seed if seed is None else seed
    period = timedelta(days=max(1, math.ceil(scenario.duration_s / 86_400)))
    for n in range(days):
        yield (msgspec.structs.replace(scenario, start=scenario.start + n * period,
                                       seed=first + n), first + n)


def play_history(config: Config, scenario: Scenario, days: int,
                 seed: int | None = None) -> Iterator[PlayedDay]:
    """Play the days one after the other (each one's records as soon as it is over)."""
    for day, day_seed in days_of(scenario, days, seed):
        result = play_day(config, day, seed=day_seed)
        yield PlayedDay(scenario=day, seed=day_seed, records=result.records,
                        hung_up_by_router=result.hung_up_by_router,
                        transfers=result.transfers)
