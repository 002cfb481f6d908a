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
the interval. Targets the plan adds by default: ``abandon_rate <= 0.05`` when none
bounds the abandon rate (QS 30 s counts answered calls only: a thin room whose
callers give up would look fast), and for a planned queue other than the front office
with no target of its own ``<queue>_p90 <= transfers.max_wait_s`` (the wait after
which the site's own transfer fallback starts: a transferred caller should not get
there).

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
   delay) and its tightest target, or the scenario's own staffing where that is
   fewer and already met every target on the first day (Erlang C knows nothing of
   the other roles' people who back a queue up); at least one person wherever the
   role's queue has calls in the interval or the one before.
2. *Up*: play the staffing; every interval that misses a target gets one more person
   of the role the target belongs to (front-office targets: ARM_N1), and cannot go
   below that again. Repeat until every interval meets every target, or more people
   stop bringing an interval closer (:mod:`acd.tools.plan.reach`): it is then out of
   reach, keeps the fewest people that gave its best, and the search goes on with
   the others.
3. *Down*: every interval above its floor loses one person of each planned role, all
   at once, and the cuts are played. Where an interval then misses a target, the cut
   that explains it most directly is taken back (the interval's own, else the one
   before it, whose waiting callers spill over into it, else the one before that)
   and that interval is fixed at its level; where no cut explains it (the interval
   was not cut: a cut elsewhere or the draw moved it), it gets one more person, as
   in step 2. The other cuts stay, and the next round cuts again from there: the
   staffing a round settles on is not played by itself, the next round's cuts
   judge it with them (every interval not cut is played at its level). Cutting
   every interval at once, rather than every other one, keeps neighbouring
   intervals on equal terms (no zigzag). When no cut is left, the staffing is
   played as it is (a miss goes back to step 2). Every staffing that met every
   target (a round's cuts included) is a candidate: the cheapest is kept.
4. *More seeds where it is close* (with ``extra_seeds``): an interval whose decision
   is close (:mod:`acd.tools.plan.confidence`) is judged again on the extra seeds'
   days as well, and gets one more person while it misses there.

While a staffing plays, the round that follows if it meets every target is queued
behind it (:meth:`acd.tools.plan.evaluation.Player.ask`): the answer is the same,
the workers idle less. When no cut is left, the staffing played as it is is probably
the plan: its extra seeds' days are queued behind its first ones.

The search is deterministic for its seeds. It keeps the cheapest staffing (in
staff-hours) that met every target; if none did within ``max_days`` days played,
the last one is returned with the intervals that miss marked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import msgspec

from acd.config import FRONT_OFFICE, Config
from acd.tools.plan.band import BAND_LEVEL, SHOWN, DayBands, day_bands
from acd.tools.plan.confidence import close_every_day, close_pooled, confidence
from acd.tools.plan.evaluation import DayPool, Evaluation, Player, default_jobs, executor
from acd.tools.plan.floors import Judged, floor_of, only_at_floor, worst_beyond
from acd.tools.plan.measure import IntervalCounts
from acd.tools.plan.model import (
    DEFAULT_ABANDON_RATE,
    Floor,
    IntervalPlan,
    Lines,
    Plan,
    Target,
    Unreachable,
    finite,
    needs_abandon_default,
)
from acd.tools.plan.reach import (
    Reach,
    owner,
    total_shortfall,
    value,
    why,
)
from acd.tools.plan.staffing import (
    Counts,
    grid_of,
    interval_label,
    max_counts,
    roles_of,
    scenario_counts,
    with_positions,
)
from acd.tools.simulate.scenario import Scenario

__all__ = ["EVERY_DAY", "MEET", "POOLED", "Planner", "default_jobs", "executor"]

#: how an interval meets a target: on its calls pooled over the seeds (the expected
#: figure), or on every seed's day too (each simulated day meets it)
POOLED = "pooled"
EVERY_DAY = "every-day"
MEET = (POOLED, EVERY_DAY)
#: an interval never gets more people of one role than this (a target that would
#: need more is out of reach: the plan says so rather than search for ever)
MAX_PER_ROLE = 200
#: rounds of one more person where the extra seeds' days miss
ADAPT_ROUNDS = 3

Cut = tuple[int, str]


class Planner:
    def __init__(self, config: Config, scenario: Scenario, targets: Sequence[Target], *,
                 interval_s: int = 1800, seeds: Sequence[int] = (1,), surge: float = 1.0,
                 meet: str = EVERY_DAY, pool: DayPool | None = None, max_days: int = 600,
                 on_progress: Callable[[str], None] | None = None,
                 extra_seeds: Sequence[int] = (), blocking: float = 0.01,
                 abandon_default: float | None = DEFAULT_ABANDON_RATE,
                 band_level: float = BAND_LEVEL) -> None:
        if surge != 1.0:
            scenario = msgspec.structs.replace(scenario, calls=msgspec.structs.replace(
                scenario.calls, factor=scenario.calls.factor * surge))
        self.config, self.scenario = config, scenario
        self.targets = list(targets)
        if meet not in MEET:
            raise ValueError(f"meet: {meet!r} is not one of {', '.join(MEET)}")
        if not 0.0 < blocking < 1.0:
            raise ValueError("blocking: a probability in (0, 1), e.g. 0.01")
        if not 0.0 < band_level < 1.0:
            raise ValueError("band level: a probability in (0, 1), e.g. 0.9")
        self.band_level = band_level
        self.meet = meet
        self.surge = surge
        self.seeds = list(seeds)
        self.extra_seeds = [s for s in extra_seeds if s not in self.seeds]
        self.blocking = blocking
        self.abandon_default = abandon_default
        self.grid = grid_of(scenario, config, interval_s)
        self.roles = roles_of(config)
        self.planned = scenario_counts(scenario, config, self.grid)
        self.pool = pool
        self.max_days = max_days
        self.on_progress = on_progress
        self.player = Player(config, scenario, self.grid, [*self.seeds, *self.extra_seeds],
                             pool)
        #: per interval, the seeds (first n of seeds + extra) it is judged on
        self.judged = [len(self.seeds)] * len(self.grid)
        self.reach = Reach()
        #: rounds of additions so far (the up steps of the search)
        self._rounds = 0
        #: per interval, as many people of each planned role as it has calls (set
        #: once the first day is played): the days that tell each day's floor
        self.ceiling: list[Counts] = []

    @property
    def days(self) -> int:
        """Simulated days played so far."""
        return self.player.days

    # ------------------------------------------------------------------ playing

    def evaluate(self, staff: Sequence[Counts], *, then: Sequence[Counts] | None = None
                 ) -> Evaluation:
        """``staff`` played on the seeds its intervals are judged on; ``then``, a
        staffing probably needed next, is queued behind it."""
        n = max(self.judged)
        self._ask(staff, n)
        if then is not None:
            self._ask(then, n)
        return self.player.play(staff, self.player.key(staff, self.roles), n)

    def _ask(self, staff: Sequence[Counts], n: int) -> None:
        """Queue the days of ``staff`` on the first ``n`` seeds (a play takes only the
        days it needs; the others wait for a later play)."""
        self.player.ask(staff, self.player.key(staff, self.roles), n)

    def _drop(self, staff: Sequence[Counts]) -> None:
        self.player.drop(self.player.key(staff, self.roles))

    # ------------------------------------------------------------------ judging

    def role_targets(self, traffic: set[str]) -> list[Target]:
        """The targets, plus the defaults: the abandon rate when none is given, and
        the wait target of each planned queue without one."""
        targets = list(self.targets)
        if self.abandon_default is not None and needs_abandon_default(targets):
            targets.append(Target("abandon_rate", "<=", self.abandon_default))
        have = {t.queue for t in targets if t.queue}
        for queue in sorted(traffic):
            if queue != FRONT_OFFICE and queue not in have:
                targets.append(Target(f"{queue.lower()}_p90", "<=",
                                      self.config.transfers.max_wait_s))
        return targets

    def _days(self, evaluation: Evaluation, k: int) -> list[IntervalCounts]:
        """What interval ``k`` is judged on: its calls pooled over its seeds, and
        with ``meet="every-day"`` each of those seeds' days too."""
        n = self.judged[k]
        pooled = evaluation.pooled(k, n)
        if self.meet == EVERY_DAY:
            return [pooled, *evaluation.days(k, n)]
        return [pooled]

    def misses(self, evaluation: Evaluation, targets: Sequence[Target], *,
               out_of_reach: str = "count") -> dict[int, set[str]]:
        """Interval → roles whose targets it misses. An interval out of reach for a
        role: ``"count"`` it, ``"skip"`` it, or count it only when ``"worse"`` than
        at its best (a cut elsewhere spilled into it)."""
        out: dict[int, set[str]] = {}
        for k in range(len(self.grid)):
            for target in targets:
                if self._met(evaluation, k, target):
                    continue
                role = owner(target)
                if (k, role) in self.reach.out and (out_of_reach == "skip" or (
                        out_of_reach == "worse" and not self.reach.worse(
                            (k, role), self._shortfall(evaluation, k, targets, role)))):
                    continue
                out.setdefault(k, set()).add(role)
        return out

    def _met(self, evaluation: Evaluation, k: int, target: Target) -> bool:
        """Interval ``k`` meets ``target`` on its calls pooled over its seeds and, with
        ``every-day``, on each seed's day; once more people stopped helping it, a
        figure that misses no more than with more people than any staffing needs (its
        floor: the callers' doing, :mod:`acd.tools.plan.floors`) is not a miss."""
        figures = self._days(evaluation, k)
        if all(target.met_by(value(target, counts)) for counts in figures):
            return True
        if (k, owner(target)) not in self.reach.out:
            return False  # one more person first: the floor is played only if needed
        return only_at_floor(target, figures, self._days(self.evaluate(self.ceiling), k))

    def _shortfall(self, evaluation: Evaluation, k: int, targets: Sequence[Target],
                   role: str) -> float:
        """How far interval ``k`` misses ``role``'s targets over the days it is
        judged on (pooled, and each day with ``every-day``)."""
        return total_shortfall([t for t in targets if owner(t) == role],
                               self._days(evaluation, k))

    def _judged(self, evaluation: Evaluation, k: int) -> Judged:
        """Interval ``k``'s figures (:meth:`_days`), each with its floor (the same
        played with as many people as calls, :attr:`ceiling`) and its seeds."""
        seeds = self.player.seeds[:self.judged[k]]
        return Judged(self._days(evaluation, k), self._days(self.evaluate(self.ceiling), k),
                      [seeds, *([s] for s in seeds)] if self.meet == EVERY_DAY else [seeds])

    # ------------------------------------------------------------------ search

    def plan(self) -> Plan:
        started = time.perf_counter()
        self._ask(self.planned, len(self.seeds))
        import acd.tools.plan.erlang  # noqa: F401  scipy's second, while the first days play
        first = self.evaluate(self.planned)
        traffic = self._traffic(first)
        planned_roles = [r for r in self.roles if r in traffic]
        targets = self.role_targets(traffic)
        floor = self._floors(first, planned_roles)
        staff = self._first_guess(first, planned_roles, targets, floor)
        self.ceiling = self._ceiling(first, planned_roles, staff)
        lower = [dict(f) for f in floor]
        chosen = self._search(staff, lower, targets, planned_roles)
        close: set[int] = set()
        if self.extra_seeds:
            chosen, close = self._more_seeds(chosen, lower, targets, planned_roles)
        return self._result(chosen, targets, planned_roles, close,
                            time.perf_counter() - started)

    def _search(self, staff: list[Counts], lower: list[Counts], targets: Sequence[Target],
                roles: Sequence[str]) -> list[Counts]:
        """Up until a staffing meets every target, then rounds of cuts: each round
        plays the cuts alone (not the staffing they came from, already played or
        about to be judged with them) and settles them (:meth:`_settle`); once no cut
        is left, the staffing is played as it is, and raised while it misses."""
        best: tuple[float, list[Counts]] | None = None
        ahead: list[Counts] | None = None  # the round asked for behind the last one
        while self.days < self.max_days:
            trial = self._trial(staff, lower, roles)
            if ahead is not None and (trial is None or trial[0] != ahead):
                self._drop(ahead)
            ahead = None
            if best is None or trial is None:
                if trial is None:  # probably the plan: its extra seeds' days too
                    self._ask(staff, len(self.player.seeds))
                evaluation = self.evaluate(staff, then=trial[0] if trial else None)
                missed = self._planned_misses(evaluation, targets, roles)
                if missed:
                    self._drop(trial[0] if trial is not None else staff)
                    self._progress(f"{len(missed)} intervals short: one more person there")
                    if not self._raise(staff, lower, missed, evaluation, targets):
                        break
                    continue
                best = self._cheaper(best, staff)
                if trial is None:
                    if best[1] != staff:  # a cheaper round is the plan: not these days
                        self._drop(staff)
                    break
            cuts, tries = trial
            following = self._trial(cuts, lower, roles)  # the next round if every cut holds
            ahead = following[0] if following else None
            evaluation = self.evaluate(cuts, then=ahead)
            staff, held = self._settle(cuts, tries, lower, evaluation, targets, roles)
            if held:
                best = self._cheaper(best, cuts)
        return best[1] if best is not None else staff

    def _cheaper(self, best: tuple[float, list[Counts]] | None, staff: Sequence[Counts]
                 ) -> tuple[float, list[Counts]]:
        """The cheaper (in staff-hours) of the best so far and ``staff``, which met
        every target."""
        hours = self._hours(staff)
        if best is None or hours < best[0]:
            return hours, [dict(c) for c in staff]
        return best

    def _planned_misses(self, evaluation: Evaluation, targets: Sequence[Target],
                        roles: Sequence[str]) -> dict[int, set[str]]:
        missed = {k: owners & set(roles) for k, owners in
                  self.misses(evaluation, targets, out_of_reach="skip").items()}
        return {k: owners for k, owners in missed.items() if owners}

    def _traffic(self, evaluation: Evaluation) -> set[str]:
        """Queues that receive calls: the front office, and every queue a leg entered
        (answered or not: a filière the scenario leaves empty still has callers)."""
        queues: set[str] = set()
        for k in range(len(self.grid)):
            counts = evaluation.pooled(k, len(self.seeds))
            if counts.offered:
                queues.add(FRONT_OFFICE)
            queues.update(q for q, legs in counts.entered.items() if legs)
        return queues & set(self.roles)

    def _floors(self, evaluation: Evaluation, roles: Sequence[str]) -> list[Counts]:
        """At least one person of a planned role where its queue has calls in the
        interval or the one before (a caller arriving just before the turn of an
        interval is answered in the next)."""
        pooled = [evaluation.pooled(k, len(self.seeds)) for k in range(len(self.grid))]
        busy = [{r for r in roles if (r == FRONT_OFFICE and c.offered) or
                 c.entered.get(r)} for c in pooled]
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
        for k in range(len(self.grid)):
            counts = evaluation.pooled(k, days)
            row = dict(self.planned[k])
            held = all(t.met_by(value(t, day)) for t in targets
                       for day in self._days(evaluation, k))
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
                if held:  # the scenario's own staffing already meets the targets here
                    need = max(floor[k][role], min(need, self.planned[k].get(role, 0)))
                row[role] = min(need, MAX_PER_ROLE)
            staff.append(row)
        return staff

    def _ceiling(self, evaluation: Evaluation, roles: Sequence[str],
                 guess: Sequence[Counts]) -> list[Counts]:
        """Per interval and planned role, more people than any staffing would need:
        ``a + 4·√a + 3`` for the role's offered load ``a`` (Erlangs: the busiest
        seed's calls in the interval or the one before × its handle time), where a
        caller waits for a free agent less than once in a thousand (Erlang C), and
        at least one more than the first guess."""
        handle = self._handle_times()
        out: list[Counts] = []
        for k in range(len(self.grid)):
            row = dict(self.planned[k])
            for role in roles:
                calls = max(day[j].offered if role == FRONT_OFFICE
                            else day[j].entered.get(role, 0)
                            for day in evaluation.per_seed for j in (k - 1, k) if j >= 0)
                load = calls / self.grid.interval_s * handle[role]
                ample = math.ceil(load + 4 * math.sqrt(load) + 3)
                row[role] = min(MAX_PER_ROLE, max(ample, guess[k].get(role, 0) + 1))
            out.append(row)
        return out

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

    def _raise(self, staff: list[Counts], lower: list[Counts], missed: dict[int, set[str]],
               evaluation: Evaluation, targets: Sequence[Target]) -> bool:
        """One more person where an interval misses, unless more people stopped
        helping it (then it keeps the fewest that gave its best). Whether anything
        changed."""
        self._rounds += 1
        changed = False
        for k, roles in missed.items():
            for role in roles:
                people = staff[k].get(role, 0)
                around = [staff[k].get(r, 0) for r in self.roles if r != role]
                if k:
                    around += [staff[k - 1].get(r, 0) for r in self.roles]
                keep = self.reach.note((k, role), people,
                                       self._shortfall(evaluation, k, targets, role),
                                       self._rounds,
                                       self._enough(evaluation, k, role, people, targets),
                                       around)
                if keep is not None:
                    self._progress(f"{interval_label(self.grid.starts[k], self.config):%H:%M} "
                                   f"{role}: more people do not help, out of reach")
                    staff[k][role] = lower[k][role] = keep
                    changed = True
                elif people < MAX_PER_ROLE:
                    staff[k][role] = lower[k][role] = people + 1
                    changed = True
        return changed

    def _enough(self, evaluation: Evaluation, k: int, role: str, people: int,
                targets: Sequence[Target]) -> int:
        """The people of ``role`` past which more cannot help interval ``k``: as many
        as it has calls (each caller could have an agent of their own), unless the
        same days with more people than any staffing needs do better there (an offer
        that rings unanswered holds its agent, so a caller may need two): then those
        people (:attr:`ceiling`)."""
        calls = self._calls(evaluation, k, role)
        if people < calls:
            return calls
        judged = self._judged(evaluation, k)
        if all(only_at_floor(t, judged.figures, judged.floors) for t in targets
               if owner(t) == role):
            return calls
        return max(calls, self.ceiling[k].get(role, 0))

    def _calls(self, evaluation: Evaluation, k: int, role: str) -> int:
        """The most calls for ``role`` in interval ``k`` and the one before on one
        day: with as many people, each caller could have an agent of their own."""
        most = 0
        for day in evaluation.per_seed[:self.judged[k]]:
            most = max(most, sum(day[j].offered if role == FRONT_OFFICE
                                 else day[j].entered.get(role, 0)
                                 for j in (k - 1, k) if j >= 0))
        return most

    def _trial(self, staff: Sequence[Counts], lower: Sequence[Counts],
               roles: Sequence[str]) -> tuple[list[Counts], set[Cut]] | None:
        """The cuts to try from ``staff``: every interval above its floor loses one
        person of each planned role at once (None when none is left)."""
        tries = {(k, role) for k in range(len(staff)) for role in roles
                 if staff[k].get(role, 0) > lower[k].get(role, 0)}
        if not tries:
            return None
        trial = [dict(c) for c in staff]
        for k, role in tries:
            trial[k][role] -= 1
        return trial, tries

    def _settle(self, trial: list[Counts], tries: set[Cut], lower: list[Counts],
                evaluation: Evaluation, targets: Sequence[Target], roles: Sequence[str]
                ) -> tuple[list[Counts], bool]:
        """The staffing after a round of cuts played, and whether the round met every
        target (an interval out of reach no worse than at its best is not a miss).
        Where it misses, the cut that most directly explains it is taken back and its
        interval fixed at that level (the interval's own, else the one before it,
        whose waiting callers spill over into it, else the one before that); an
        interval no cut explains (it was not cut: a cut elsewhere, or the draw, moved
        it) gets one more person, as in the up steps; the cuts that held are kept."""
        back: set[Cut] = set()
        short: dict[int, set[str]] = {}
        held = True
        for j, owners in self.misses(evaluation, targets, out_of_reach="worse").items():
            for role in owners & set(roles):
                held = False
                culprit = next(((k, role) for k in (j, j - 1, j - 2) if (k, role) in tries),
                               None)
                if culprit is not None:
                    back.add(culprit)
                elif (j, role) not in self.reach.out:
                    short.setdefault(j, set()).add(role)
        staff = [dict(c) for c in trial]
        for k, role in back:
            staff[k][role] += 1
            lower[k][role] = staff[k][role]
        self._progress(f"{len(tries) - len(back)} of {len(tries)} cuts kept"
                       + (f", {len(short)} intervals short: one more person there"
                          if short else ""))
        if short:
            self._raise(staff, lower, short, evaluation, targets)
        return staff, held

    def _more_seeds(self, staff: list[Counts], lower: list[Counts],
                    targets: Sequence[Target], roles: Sequence[str]
                    ) -> tuple[list[Counts], set[int]]:
        """Intervals whose decision is close are judged on the extra seeds' days too,
        and get one more person while they miss there."""
        evaluation = self.evaluate(staff)
        close = {k for k in range(len(self.grid)) if self._close(evaluation, k, targets)}
        if not close:
            return staff, close
        self._progress(f"{len(close)} intervals close: {len(self.extra_seeds)} more seeds")
        for k in close:
            self.judged[k] = len(self.seeds) + len(self.extra_seeds)
        for _ in range(ADAPT_ROUNDS):
            if self.days >= self.max_days:
                break
            missed = self._planned_misses(self.evaluate(staff), targets, roles)
            if not missed:
                break
            self._progress(f"{len(missed)} intervals short on more seeds: one more person")
            if not self._raise(staff, lower, missed, self.evaluate(staff), targets):
                break
        return staff, close

    def _close(self, evaluation: Evaluation, k: int, targets: Sequence[Target]) -> bool:
        """Whether one more day could plausibly change interval ``k``'s decision."""
        n = self.judged[k]
        days = evaluation.days(k, n)
        pooled = evaluation.pooled(k, n)
        for target in targets:
            values = [v for v in (value(target, d) for d in days) if v is not None
                      and not math.isinf(v)]
            figure = value(target, pooled)
            if figure is None or math.isinf(figure) or len(values) < 2:
                continue
            if self.meet == EVERY_DAY:
                if not all(target.met_by(v) for v in values):
                    continue
                if close_every_day(values, target.value, target.op == ">="):
                    return True
            elif close_pooled(figure, values, target.value):
                return True
        return False

    def _hours(self, staff: Sequence[Counts]) -> float:
        return sum(sum(c.values()) for c in staff) * self.grid.interval_s / 3600.0

    def _progress(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(f"[{self.days} days played] {text}")

    # ------------------------------------------------------------------ result

    def _result(self, staff: list[Counts], targets: Sequence[Target],
                planned_roles: Sequence[str], close: set[int], elapsed: float) -> Plan:
        evaluation = self.evaluate(staff)
        missed = self.misses(evaluation, targets)
        _, added = with_positions(self.config, max_counts(staff))
        days = [evaluation.days(k, n) for k, n in enumerate(self.judged)]
        pooled = [evaluation.pooled(k, n) for k, n in enumerate(self.judged)]
        bands = self._bands(targets, days, pooled)
        intervals = []
        for k in range(len(self.grid)):
            n = self.judged[k]
            counts, seeds = pooled[k], days[k]
            unreachable = [self._why(evaluation, k, role, targets, staff[k].get(role, 0))
                           for role in planned_roles if (k, role) in self.reach.out
                           and role in missed.get(k, set())]
            intervals.append(IntervalPlan(
                start=interval_label(self.grid.starts[k], self.config),
                staff={r: staff[k].get(r, 0) for r in self.roles},
                planned={r: self.planned[k].get(r, 0) for r in self.roles},
                offered=counts.offered / n,
                qs30=counts.qs30, qs30_band=bands.per_interval[k].get(SHOWN[0]),
                qs60=counts.qs60, qs60_band=bands.per_interval[k].get(SHOWN[1]),
                target_bands={str(t): band for t, band in bands.per_interval[k].items()
                              if t in targets},
                abandon_rate=counts.abandon_rate,
                occupancy=self._occupancy(counts, staff[k], n),
                p90_wait_s={q: finite(counts.wait_percentile(q, 90))
                            for q in sorted({*counts.waits, *counts.unanswered})},
                met=k not in missed,
                confidence=confidence([all(t.met_by(value(t, day)) for t in targets)
                                       for day in seeds], close=k in close),
                lines=self._lines(counts, n),
                unreachable=unreachable[0] if unreachable else None,
                floor=self._floor_days(evaluation, k, targets, staff[k])))
        defaults = [str(t) for t in targets if t not in self.targets]
        return Plan(scenario=self.scenario.name, site=self.config.site.name,
                    targets=list(targets), interval_s=self.grid.interval_s,
                    seeds=self.seeds, surge=self.surge, roles=list(self.roles),
                    intervals=intervals, days_played=self.days, elapsed_s=elapsed,
                    positions_added=added, meet=self.meet,
                    kept_roles=[r for r in self.roles if r not in planned_roles],
                    blocking=self.blocking, extra_seeds=list(self.extra_seeds),
                    default_targets=defaults, band_level=self.band_level,
                    band_dispersion={str(t): round(bands.dispersion[t], 3) for t in targets})

    def _bands(self, targets: Sequence[Target], days: Sequence[list[IntervalCounts]],
               pooled: Sequence[IntervalCounts]) -> DayBands:
        """Where a new day's figures lie, the dispersion told by every staffing played."""
        spread = [played.days(k, played.seeds) for played in self.player.played()
                  for k in range(len(self.grid))]
        return day_bands(targets, SHOWN, days, pooled, self.band_level, spread)

    def _lines(self, counts: IntervalCounts, days: int) -> Lines:
        """The calls the PBX held at once in an interval, and Erlang B's lines."""
        from acd.tools.plan.erlang import erlang_b_lines

        held = counts.lines
        load = held.load(days, self.grid.interval_s)
        return Lines(p99=held.percentile(0.99), max=held.peak, load=load,
                     erlang_b=erlang_b_lines(load, self.blocking) if load else 0)

    def _why(self, evaluation: Evaluation, k: int, role: str, targets: Sequence[Target],
             people: int) -> Unreachable:
        """Why interval ``k`` is out of reach for ``role``: read on its pooled calls
        where they miss beyond their floor, else on the day that misses most beyond
        its floor."""
        mine = [t for t in targets if owner(t) == role]
        judged = self._judged(evaluation, k)
        worst = worst_beyond(mine, judged.figures, judged.floors)
        return why(role, mine, judged.figures[worst], people, self.reach.tried[(k, role)],
                   judged.where(worst) if worst else "")

    def _floor_days(self, evaluation: Evaluation, k: int, targets: Sequence[Target],
                    staff: Counts) -> Floor | None:
        """The figures interval ``k`` misses a target on only down to their floor."""
        out = {role for (j, role) in self.reach.out if j == k}
        if not out or all(t.met_by(value(t, counts)) for t in targets
                          for counts in self._days(evaluation, k)):
            return None
        return floor_of(self._judged(evaluation, k), targets, out, staff, self.ceiling[k])

    def _occupancy(self, counts: IntervalCounts, staff: Counts, days: int
                   ) -> dict[str, float]:
        out: dict[str, float] = {}
        for role in self.roles:
            people = staff.get(role, 0)
            if people:
                busy = counts.busy_s.get(role, 0.0) / days
                out[role] = round(min(1.0, busy / (people * self.grid.interval_s)), 4)
        return out


def _service_target(target: Target, role: str) -> tuple[float, float] | None:
    """(share, within seconds) that Erlang C can size for, for ``role``."""
    if role == FRONT_OFFICE and target.metric in ("qs30", "qs60"):
        return target.value, 30.0 if target.metric == "qs30" else 60.0
    if target.queue == role and target.percentile is not None:
        return target.percentile / 100.0, target.value
    return None


