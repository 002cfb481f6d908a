"""Playing a staffing: one simulated day per seed, in worker processes, remembered.

:class:`Player` plays a staffing (per interval and role) on the first ``n`` seeds of
the plan and keeps what each seed's day gave, interval by interval
(:class:`Evaluation`); played again on more seeds, it plays only the new ones. The
search may **ask ahead** (:meth:`Player.ask`): the days of a staffing it will
probably need next are queued behind the ones it waits for, so that a worker never
idles while the last day of a staffing plays (five seeds on two processes leave one
idle for a whole day otherwise); what turns out not to be needed is cancelled
(:meth:`Player.drop`): a day not started is never played, and a day already playing
in a worker of a :class:`DayPool` stops at the next input its engine handles (its
worker is free for the next day within milliseconds, where a plain process pool
would finish the day for nothing: 53 of the 208 days a records plan played). The
results do not depend on it: a day is the same whoever plays it and when.
"""

from __future__ import annotations

import ctypes
import itertools
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import RawArray
from typing import Any

from acd.config import Config
from acd.core.effects import Output
from acd.core.engine import Engine
from acd.tools.fastday import DayRequest
from acd.tools.plan.measure import IntervalCounts, measure
from acd.tools.plan.staffing import Counts, Grid, max_counts, steps_of, with_positions
from acd.tools.simulate.scenario import Scenario

Key = tuple[tuple[int, ...], ...]


#: the stop flags a :class:`DayPool` shares with its workers, one per ticket modulo
#: this (a plan asks for a few hundred days: a ticket's slot is not reused while
#: its day could still be playing)
TICKETS = 4096


@dataclass(frozen=True)
class _Job:
    day: DayRequest
    grid: Grid
    #: the job's number, whose stop flag the worker reads (:class:`DayPool`)
    ticket: int = 0


class _Dropped(Exception):
    """The day's ticket was stopped: nobody wants its result any more."""


#: in a worker process of a :class:`DayPool`, the pool's stop flags
_stops: Any = None


def _adopt(stops: Any) -> None:
    global _stops
    _stops = stops


def _play(job: _Job) -> list[IntervalCounts] | None:
    """The day's counts, or None when it was stopped while playing."""
    stops, slot = _stops, job.ticket % TICKETS

    def stop_if_dropped(engine: Engine, item: object, out: Output) -> None:
        if stops[slot]:
            raise _Dropped

    try:
        result = job.day.play(observer=stop_if_dropped if stops is not None else None)
    except _Dropped:
        return None
    return measure(result.records, job.day.config, job.grid, result.transfers,
                   result.lines)


class DayPool(ProcessPoolExecutor):
    """Worker processes that play days, and can be told to stop one they play."""

    def __init__(self, jobs: int) -> None:
        self.stops: Any = RawArray(ctypes.c_bool, TICKETS)
        super().__init__(max_workers=jobs, initializer=_adopt, initargs=(self.stops,))

    def stop(self, ticket: int) -> None:
        self.stops[ticket % TICKETS] = True

    def arm(self, ticket: int) -> None:
        """The slot of a new ticket: not stopped (a ticket long gone may have used it)."""
        self.stops[ticket % TICKETS] = False


@contextmanager
def executor(jobs: int) -> Iterator[DayPool | None]:
    """Worker processes for ``jobs`` > 1 (one simulated day each at a time)."""
    if jobs <= 1:
        yield None
        return
    with DayPool(jobs) as pool:
        yield pool


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass
class Evaluation:
    """A staffing played on the plan's first ``len(per_seed)`` seeds: per seed, the
    counts of each interval."""

    per_seed: list[list[IntervalCounts]]
    _pooled: dict[tuple[int, int], IntervalCounts] = field(default_factory=dict)

    @property
    def seeds(self) -> int:
        return len(self.per_seed)

    def extend(self, days: Sequence[list[IntervalCounts]]) -> None:
        """The next seeds' days."""
        self.per_seed.extend(days)
        self._pooled.clear()

    def days(self, k: int, n: int) -> list[IntervalCounts]:
        """Interval ``k`` of each of the first ``n`` seeds' days."""
        return [day[k] for day in self.per_seed[:n]]

    def pooled(self, k: int, n: int) -> IntervalCounts:
        """Interval ``k``'s calls of the first ``n`` seeds together."""
        cached = self._pooled.get((k, n))
        if cached is None:
            cached = IntervalCounts()
            for day in self.per_seed[:n]:
                cached.add(day[k])
            self._pooled[(k, n)] = cached
        return cached


class Player:
    """Plays staffings of one scenario on its seeds, once each (see the module)."""

    def __init__(self, config: Config, scenario: Scenario, grid: Grid, seeds: Sequence[int],
                 pool: DayPool | None) -> None:
        self.config, self.scenario, self.grid = config, scenario, grid
        self.seeds = list(seeds)
        self.pool = pool
        #: simulated days whose results were used
        self.days = 0
        self._done: dict[Key, Evaluation] = {}
        self._asked: dict[Key, list[tuple[Future[list[IntervalCounts] | None], int]]] = {}
        self._tickets = itertools.count(1)

    def key(self, staff: Sequence[Counts], roles: Sequence[str]) -> Key:
        return tuple(tuple(counts.get(r, 0) for r in roles) for counts in staff)

    def ask(self, staff: Sequence[Counts], key: Key, n: int) -> None:
        """Queue the days of ``staff`` on the first ``n`` seeds not yet played or
        queued (nothing without worker processes: played when needed)."""
        if self.pool is None:
            return
        have = self._have(key)
        if have >= n:
            return
        asked = self._asked.setdefault(key, [])
        for job in self._jobs(staff, have, n):
            self.pool.arm(job.ticket)
            asked.append((self.pool.submit(_play, job), job.ticket))

    def drop(self, key: Key) -> None:
        """The days queued for ``key`` are not needed: cancel those not started, stop
        those playing."""
        for future, ticket in self._asked.pop(key, []):
            if not future.cancel() and self.pool is not None:
                self.pool.stop(ticket)

    def queued(self, key: Key) -> list[Future[list[IntervalCounts] | None]]:
        """The days asked for ``key`` and not yet taken by :meth:`play`, in seed order."""
        return [future for future, _ in self._asked.get(key, [])]

    def play(self, staff: Sequence[Counts], key: Key, n: int) -> Evaluation:
        """``staff`` played on the first ``n`` seeds (those already played reused;
        days asked on further seeds stay queued for a later play)."""
        self.ask(staff, key, n)
        evaluation = self._done.setdefault(key, Evaluation([]))
        asked = self._asked.pop(key, [])
        wanted = max(0, n - evaluation.seeds)
        if later := asked[wanted:]:  # asked on more seeds than this play needs
            self._asked[key] = later
        days = [_played(future.result()) for future, _ in asked[:wanted]]
        if evaluation.seeds + len(days) < n:
            days += [_played(_play(job))
                     for job in self._jobs(staff, evaluation.seeds + len(days), n)]
        if days:
            evaluation.extend(days)
            self.days += len(days)
        return evaluation

    def played(self) -> list[Evaluation]:
        """Every staffing played so far, with its days."""
        return [evaluation for evaluation in self._done.values() if evaluation.seeds]

    def _have(self, key: Key) -> int:
        done = self._done.get(key)
        return (done.seeds if done else 0) + len(self._asked.get(key, []))

    def _jobs(self, staff: Sequence[Counts], first: int, n: int) -> list[_Job]:
        config, _ = with_positions(self.config, max_counts(staff))
        steps = steps_of(self.grid, staff, config)
        return [_Job(DayRequest(config, self.scenario, seed, steps), self.grid,
                     next(self._tickets)) for seed in self.seeds[first:n]]


def _played(day: list[IntervalCounts] | None) -> list[IntervalCounts]:
    """A day the search waits for: never one it dropped (only those are stopped)."""
    if day is None:
        raise RuntimeError("a day still wanted was stopped")
    return day
