"""The smallest staffing, interval by interval and role by role, that meets the targets.

Every judgement is a simulated day: the production engine routing the scenario's
calls on the simulator's PBX (:func:`acd.tools.fastday.play_day`), once per seed, the
same seeds for every staffing tried (common random numbers: two staffings are compared
on the same callers, so a difference comes from the staffing, not from the draw).

**Which roles are planned.** A role (a primary skill) is planned when its own queue
receives calls in the scenario (seen on a first day played with the scenario's own
staffing); a role whose queue receives none keeps the scenario's staffing (its people
still help where their other skills let the engine place them: an AMU N2 regulator
with ARM_N1 at level 2 takes N1 calls that waited the expansion delay).

**Targets.** ``qs30``, ``qs60`` and ``abandon_rate`` are judged on the front-office
calls *arriving* in the interval; ``<queue>_pNN`` on the legs entering that queue in
the interval. A planned queue other than the front office with no target of its own
gets ``<queue>_p90 <= transfers.max_wait_s`` (the wait after which the site's own
transfer fallback starts: a transferred caller should not get there).

An interval meets a target, with ``meet="every-day"`` (the default), on the calls of
every seed's day and on them all pooled: with N seeds, the staffing held the target
in that interval on N simulated days out of N. With ``meet="pooled"`` only on the
calls pooled over the seeds: the expected figure, what staffing formulas give; a
single day then falls under the target in some intervals (within the band, lowest
and highest seed, printed beside it): thirty minutes hold a few dozen calls, and one
late call moves QS 30 s by several points.

**Search.**

1. *First guess*: per interval and planned role, Erlang C's agents for the role's
   arrival rate and handle time measured on the first day (talk + wrap-up + answer
   delay) and its tightest target; at least one person wherever the role's queue has
   calls in the interval or the one before.
2. *Up*: play the staffing; every interval that misses a target gets one more person
   of the role the target belongs to (front-office targets: ARM_N1), and cannot go
   below that again. Repeat until every interval meets every target.
3. *Down*: every interval above its floor loses one person of each planned role, all
   at once. Where an interval then misses a target, the cut that explains it most
   directly is taken back (the interval's own, else the one before it, whose waiting
   callers spill over into it, else the one before that) and that interval is fixed
   at its level; the other cuts stay. Play again (a miss there goes back to step 2),
   and repeat until no cut is left to try. Cutting every interval at once, rather
   than every other one, keeps neighbouring intervals on equal terms (no zigzag).

The search is deterministic for its seeds. It keeps the cheapest staffing (in
staff-hours) that met every target; if none did within ``max_days`` days played,
the last one is returned with the intervals that miss marked.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import msgspec

from acd.config import Config
from acd.core.constants import FRONT_OFFICE
from acd.tools.fastday import DayRequest
from acd.tools.plan.measure import IntervalCounts, measure
from acd.tools.plan.model import IntervalPlan, Plan, Target, band_of
from acd.tools.plan.staffing import (
    Counts,
    Grid,
    grid_of,
    interval_label,
    max_counts,
    roles_of,
    scenario_counts,
    steps_of,
    with_positions,
)
from acd.tools.scenario import Scenario

#: how an interval meets a target: on its calls pooled over the seeds (the expected
#: figure), or on every seed's day too (each simulated day meets it)
POOLED = "pooled"
EVERY_DAY = "every-day"
MEET = (POOLED, EVERY_DAY)
#: an interval never gets more people of one role than this (a target that would
#: need more is out of reach: the plan says so rather than search for ever)
MAX_PER_ROLE = 200


@dataclass(frozen=True)
class Evaluation:
    """A staffing played over the seeds: per interval, pooled and per-seed counts."""

    pooled: list[IntervalCounts]
    per_seed: list[list[IntervalCounts]]


@dataclass(frozen=True)
class _Job:
    day: DayRequest
    grid: Grid


def _play(job: _Job) -> list[IntervalCounts]:
    result = job.day.play()
    return measure(result.records, job.day.config, job.grid, result.transfers)


@contextmanager
def executor(jobs: int) -> Iterator[Executor | None]:
    """Worker processes for ``jobs`` > 1 (one simulated day each at a time)."""
    if jobs <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield pool


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class Planner:
    def __init__(self, config: Config, scenario: Scenario, targets: Sequence[Target], *,
                 interval_s: int = 1800, seeds: Sequence[int] = (1,), surge: float = 1.0,
                 meet: str = EVERY_DAY, pool: Executor | None = None, max_days: int = 600,
                 on_progress: Callable[[str], None] | None = None) -> None:
        if surge != 1.0:
            scenario = msgspec.structs.replace(scenario, calls=msgspec.structs.replace(
                scenario.calls, factor=scenario.calls.factor * surge))
        self.config, self.scenario = config, scenario
        self.targets = list(targets)
        if meet not in MEET:
            raise ValueError(f"meet: {meet!r} is not one of {', '.join(MEET)}")
        self.meet = meet
        self.surge = surge
        self.seeds = list(seeds)
        self.grid = grid_of(scenario, config, interval_s)
        self.roles = roles_of(config)
        self.planned = scenario_counts(scenario, config, self.grid)
        self.pool = pool
        self.max_days = max_days
        self.days = 0
        self.on_progress = on_progress
        self._cache: dict[tuple[tuple[int, ...], ...], Evaluation] = {}

    # ------------------------------------------------------------------ playing

    def evaluate(self, staff: Sequence[Counts]) -> Evaluation:
        key = tuple(tuple(counts.get(r, 0) for r in self.roles) for counts in staff)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        config, _ = with_positions(self.config, max_counts(staff))
        steps = steps_of(self.grid, staff, config)
        jobs = [_Job(DayRequest(config, self.scenario, seed, steps), self.grid)
                for seed in self.seeds]
        per_seed = list(self.pool.map(_play, jobs)) if self.pool else [_play(j) for j in jobs]
        self.days += len(jobs)
        pooled = [IntervalCounts() for _ in self.grid.starts]
        for counts in per_seed:
            for total, one in zip(pooled, counts, strict=True):
                total.add(one)
        evaluation = Evaluation(pooled, per_seed)
        self._cache[key] = evaluation
        return evaluation

    # ------------------------------------------------------------------ judging

    def role_targets(self, traffic: set[str]) -> list[Target]:
        """The targets, plus the default wait target of each planned queue without one."""
        targets = list(self.targets)
        have = {t.queue for t in targets if t.queue}
        for queue in sorted(traffic):
            if queue != FRONT_OFFICE and queue not in have:
                targets.append(Target(f"{queue.lower()}_p90", "<=",
                                      self.config.transfers.max_wait_s))
        return targets

    @staticmethod
    def value(target: Target, counts: IntervalCounts) -> float | None:
        if target.metric == "qs30":
            return counts.qs30
        if target.metric == "qs60":
            return counts.qs60
        if target.metric == "abandon_rate":
            return counts.abandon_rate
        queue, pct = target.queue, target.percentile
        if queue is None or pct is None:
            return None
        return counts.wait_percentile(queue, pct)

    @staticmethod
    def owner(target: Target) -> str:
        """The role one more person of which helps the target most directly."""
        return target.queue or FRONT_OFFICE

    def misses(self, evaluation: Evaluation, targets: Sequence[Target]
               ) -> dict[int, set[str]]:
        """Interval → roles whose targets it misses (on the pooled calls, or with
        ``meet="every-day"`` on any one seed's day as well)."""
        out: dict[int, set[str]] = {}
        days = [evaluation.pooled]
        if self.meet == EVERY_DAY:
            days += evaluation.per_seed
        for day in days:
            for k, counts in enumerate(day):
                for target in targets:
                    if not target.met_by(self.value(target, counts)):
                        out.setdefault(k, set()).add(self.owner(target))
        return out

    # ------------------------------------------------------------------ search

    def plan(self) -> Plan:
        started = time.perf_counter()
        first = self.evaluate(self.planned)
        traffic = self._traffic(first)
        planned_roles = [r for r in self.roles if r in traffic]
        targets = self.role_targets(traffic)
        floor = self._floors(first, planned_roles)
        staff = self._first_guess(first, planned_roles, targets, floor)
        lower = [dict(f) for f in floor]
        best: tuple[float, list[Counts]] | None = None
        while self.days < self.max_days:
            evaluation = self.evaluate(staff)
            missed = {k: roles & set(planned_roles)
                      for k, roles in self.misses(evaluation, targets).items()}
            missed = {k: roles for k, roles in missed.items() if roles}
            if missed:
                self._progress(f"{len(missed)} intervals short: one more person there")
                if not self._raise(staff, lower, missed):
                    break
                continue
            hours = self._hours(staff)
            if best is None or hours < best[0]:
                best = (hours, [dict(c) for c in staff])
            cut = self._cut(staff, lower, targets, planned_roles)
            if cut is None:
                break
            staff = cut
        chosen = best[1] if best is not None else staff
        return self._result(chosen, targets, planned_roles, time.perf_counter() - started)

    def _traffic(self, evaluation: Evaluation) -> set[str]:
        """Queues that receive calls: the front office, and every queue a leg entered
        (answered or not: a filière the scenario leaves empty still has callers)."""
        queues: set[str] = set()
        for counts in evaluation.pooled:
            if counts.offered:
                queues.add(FRONT_OFFICE)
            queues.update(q for q, legs in counts.entered.items() if legs)
        return queues & set(self.roles)

    def _floors(self, evaluation: Evaluation, roles: Sequence[str]) -> list[Counts]:
        """At least one person of a planned role where its queue has calls in the
        interval or the one before (a caller arriving just before the turn of an
        interval is answered in the next)."""
        busy = [{r for r in roles if (r == FRONT_OFFICE and c.offered) or
                 c.entered.get(r)} for c in evaluation.pooled]
        out: list[Counts] = []
        for k in range(len(self.grid)):
            around = busy[k] | (busy[k - 1] if k else set())
            out.append({r: int(r in around) for r in roles})
        return out

    def _first_guess(self, evaluation: Evaluation, roles: Sequence[str],
                     targets: Sequence[Target], floor: Sequence[Counts]) -> list[Counts]:
        from acd.tools.plan.erlang import erlang_c_agents  # scipy: ~1 s

        handle = self._handle_times()
        days = len(self.seeds)
        staff: list[Counts] = []
        for k, counts in enumerate(evaluation.pooled):
            row = dict(self.planned[k])
            for role in roles:
                arrivals = (counts.offered if role == FRONT_OFFICE
                            else counts.entered.get(role, 0))
                rate = arrivals / days / self.grid.interval_s
                need = floor[k][role]
                if rate > 0:
                    for target in targets:
                        share_within = _service_target(target, role)
                        if share_within is not None:
                            share, within = share_within
                            need = max(need, erlang_c_agents(rate, handle[role], share,
                                                             within))
                row[role] = min(need, MAX_PER_ROLE)
            staff.append(row)
        return staff

    def _handle_times(self) -> dict[str, float]:
        """Seconds an answered call keeps an agent of each role busy, on average:
        answer delay, talk and wrap-up as the scenario and the site give them."""
        spec = self.scenario.agents
        answer = sum(spec.answer_after_s) / 2
        out: dict[str, float] = {}
        for role in self.roles:
            low, high = spec.talk_s.get(role, spec.default_talk_s)
            out[role] = (low + high) / 2 + answer + self.config.skill(role).wrap_up_s
        return out

    def _raise(self, staff: list[Counts], lower: list[Counts],
               missed: dict[int, set[str]]) -> bool:
        raised = False
        for k, roles in missed.items():
            for role in roles:
                if staff[k].get(role, 0) < MAX_PER_ROLE:
                    staff[k][role] = staff[k].get(role, 0) + 1
                    lower[k][role] = staff[k][role]
                    raised = True
        return raised

    def _cut(self, staff: list[Counts], lower: list[Counts], targets: Sequence[Target],
             roles: Sequence[str]) -> list[Counts] | None:
        """One round of cuts: every interval above its floor loses one person of each
        planned role at once; where that breaks a target, the cut that most directly
        explains it is taken back and that interval is fixed at its level. The
        staffing to play next, or None when no cut is left to try."""
        tries = {(k, role) for k in range(len(staff)) for role in roles
                 if staff[k].get(role, 0) > lower[k].get(role, 0)}
        if not tries:
            return None
        trial = [dict(c) for c in staff]
        for k, role in tries:
            trial[k][role] -= 1
        missed = self.misses(self.evaluate(trial), targets)
        back: set[tuple[int, str]] = set()
        for j, owners in missed.items():
            for role in owners:
                # the interval's own cut, else the one before it (its callers spill
                # over into this interval), else the one before that
                culprit = next(((k, role) for k in (j, j - 1, j - 2) if (k, role) in tries),
                               None)
                if culprit is not None:
                    back.add(culprit)
        for k, role in back:
            trial[k][role] += 1
            lower[k][role] = trial[k][role]
        self._progress(f"{len(tries) - len(back)} of {len(tries)} cuts kept")
        return trial

    def _hours(self, staff: Sequence[Counts]) -> float:
        return sum(sum(c.values()) for c in staff) * self.grid.interval_s / 3600.0

    def _progress(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(f"[{self.days} days played] {text}")

    # ------------------------------------------------------------------ result

    def _result(self, staff: list[Counts], targets: Sequence[Target],
                planned_roles: Sequence[str], elapsed: float) -> Plan:
        evaluation = self.evaluate(staff)
        missed = self.misses(evaluation, targets)
        _, added = with_positions(self.config, max_counts(staff))
        intervals = []
        for k, counts in enumerate(evaluation.pooled):
            seeds = [one[k] for one in evaluation.per_seed]
            intervals.append(IntervalPlan(
                start=interval_label(self.grid.starts[k], self.config),
                staff={r: staff[k].get(r, 0) for r in self.roles},
                planned={r: self.planned[k].get(r, 0) for r in self.roles},
                offered=counts.offered / len(self.seeds),
                qs30=counts.qs30, qs30_band=band_of([s.qs30 for s in seeds]),
                qs60=counts.qs60, qs60_band=band_of([s.qs60 for s in seeds]),
                abandon_rate=counts.abandon_rate,
                occupancy=self._occupancy(counts, staff[k]),
                p90_wait_s={q: _finite(counts.wait_percentile(q, 90))
                            for q in sorted({*counts.waits, *counts.unanswered})},
                met=k not in missed))
        return Plan(scenario=self.scenario.name, site=self.config.site.name,
                    targets=list(targets), interval_s=self.grid.interval_s,
                    seeds=self.seeds, surge=self.surge, roles=list(self.roles),
                    intervals=intervals, days_played=self.days, elapsed_s=elapsed,
                    positions_added=added, meet=self.meet,
                    kept_roles=[r for r in self.roles if r not in planned_roles])

    def _occupancy(self, counts: IntervalCounts, staff: Counts) -> dict[str, float]:
        out: dict[str, float] = {}
        for role in self.roles:
            people = staff.get(role, 0)
            if people:
                busy = counts.busy_s.get(role, 0.0) / len(self.seeds)
                out[role] = round(min(1.0, busy / (people * self.grid.interval_s)), 4)
        return out


def _service_target(target: Target, role: str) -> tuple[float, float] | None:
    """(share, within seconds) that Erlang C can size for, for ``role``."""
    if role == FRONT_OFFICE and target.metric in ("qs30", "qs60"):
        return target.value, 30.0 if target.metric == "qs30" else 60.0
    if target.queue == role and target.percentile is not None:
        return target.percentile / 100.0, target.value
    return None


def _finite(value: float | None) -> float | None:
    """A wait for people: None where it is infinite (legs left unanswered)."""
    return None if value is None or math.isinf(value) else value

