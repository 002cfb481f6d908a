"""When more people stop helping an interval: how far it misses its targets, whether
adding people still brings it closer, and why a target is out of reach.

**Shortfall.** How far an interval's figure misses a target, 0 when it meets it:
``target − QS`` for ``qs30``/``qs60``, ``rate − target`` for ``abandon_rate``, and for
a wait target the legs over the mark beyond those the percentile allows, as a share
of the legs (a leg left unanswered counts as over any mark). Summed over the days an
interval is judged on (the pooled calls, and each seed's day with
``meet="every-day"``), it falls as people are added while people still help.

**Out of reach.** The planner adds one person at a time to an interval that misses
(:class:`Reach` follows each interval and role through additions in a row: played
one after the other, the interval missing each time). When :data:`PATIENCE` additions
in a row have not brought the shortfall :data:`GAIN` closer than before them, or the
role already has as many people as the interval and the one before have calls for it
on a day (each caller could have an agent of their own; the planner passes more
where the days with ample people do better), more people do not help: the
interval keeps the fewest people that gave its best shortfall and is reported out of
reach, with what limits it (:func:`why`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from acd.config import FRONT_OFFICE
from acd.core.model import Outcome
from acd.tools.plan.measure import IntervalCounts
from acd.tools.plan.model import Target, Unreachable

#: the reason of a target tighter than the phones' own answer time
ANSWER_FLOOR = "answer-floor"
#: additions in a row that must bring no gain before an interval is out of reach
PATIENCE = 2
#: a gain is a shortfall at least this share smaller
GAIN = 0.05


def value(target: Target, counts: IntervalCounts) -> float | None:
    """The interval's figure a target is judged on (None: nothing to measure)."""
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


def owner(target: Target) -> str:
    """The role one more person of which helps the target most directly."""
    return target.queue or FRONT_OFFICE


def shortfall(target: Target, counts: IntervalCounts) -> float:
    """How far ``counts`` miss ``target`` (0 when met)."""
    if target.queue is not None and target.percentile is not None:
        excess, legs = _excess(target, counts)
        return excess / legs if legs else 0.0
    figure = value(target, counts)
    if figure is None:
        return 0.0
    gap = target.value - figure if target.op == ">=" else figure - target.value
    return max(0.0, gap)


def _excess(target: Target, counts: IntervalCounts) -> tuple[int, int]:
    """A wait target's legs over the mark beyond those its percentile allows (a leg
    left unanswered is over any mark), and the legs."""
    pct = target.percentile or 0
    over, legs = counts.legs_over(target.queue or "", target.value)
    if not legs:
        return 0, 0
    # the percentile of acd.tools.summary: the value of this rank must be in time
    rank = max(0, min(legs - 1, round(pct / 100 * legs + 0.5) - 1))
    return max(0, over - (legs - rank - 1)), legs


def total_shortfall(targets: Sequence[Target], days: Sequence[IntervalCounts]) -> float:
    return sum(shortfall(target, day) for target in targets for day in days)


def beyond_floor(target: Target, day: IntervalCounts, floor: IntervalCounts) -> float:
    """How far ``day`` misses ``target`` beyond what ``floor``, the same day played
    with more people than any staffing needs, misses it: the part of the miss
    staffing can lift. A wait target compares the legs over the mark (more people
    may answer a call a backup would have kept, and add a leg to the queue)."""
    if target.queue is not None and target.percentile is not None:
        (excess, legs), (low, _) = _excess(target, day), _excess(target, floor)
        return max(0, excess - low) / legs if legs else 0.0
    return max(0.0, shortfall(target, day) - shortfall(target, floor))


@dataclass
class _Track:
    #: (people, shortfall) at each addition in a row, the first before any
    tried: list[tuple[int, float]]
    #: the round of additions of the last one
    round: int
    #: the people around it at the last one (see :meth:`Reach.note`)
    context: tuple[int, ...] = ()


class Reach:
    """Follows the additions to each (interval, role) that misses its targets."""

    def __init__(self) -> None:
        self._tracks: dict[tuple[int, str], _Track] = {}
        #: (interval, role) → the people it keeps, once out of reach
        self.out: dict[tuple[int, str], int] = {}
        #: (interval, role) → the most people tried, once out of reach
        self.tried: dict[tuple[int, str], int] = {}
        #: (interval, role) → the best shortfall seen, once out of reach
        self.best: dict[tuple[int, str], float] = {}

    def note(self, key: tuple[int, str], people: int, short: float, round_: int,
             calls: int, context: Sequence[int] = ()) -> int | None:
        """The interval misses with ``people`` of the role and shortfall ``short`` in
        the ``round_``-th round of additions of the search, ``calls`` being the most
        calls for the role in the interval and the one before on one day, and
        ``context`` the people around it (the interval's other roles, the interval
        before): where one of them was cut since the last addition, the additions
        start over (an AMU regulator cut while an ARM is added leaves the front
        office as it was: that addition says nothing of what people bring). The
        people to keep when it is out of reach, else None (add one)."""
        around = tuple(context)
        track = self._tracks.get(key)
        if track is None or round_ != track.round + 1 or people != track.tried[-1][0] + 1 \
                or any(now < before for now, before in zip(around, track.context,
                                                          strict=False)):
            track = self._tracks[key] = _Track([], round_)
        track.tried.append((people, short))
        track.round, track.context = round_, around
        tried = track.tried
        stalled = len(tried) > PATIENCE and (
            min(s for _, s in tried[-PATIENCE:])
            > min(s for _, s in tried[:-PATIENCE]) * (1 - GAIN) - 1e-12)
        if not stalled and people < max(calls, 1):
            return None
        best = min(s for _, s in tried)
        keep = min(p for p, s in tried if s <= best * (1 + GAIN) + 1e-12)
        self.out[key] = keep
        self.tried[key] = max(p for p, _ in tried)
        self.best[key] = best
        return keep

    def worse(self, key: tuple[int, str], short: float) -> bool:
        """An interval out of reach misses by more than at its best: a cut elsewhere
        made it worse."""
        best = self.best.get(key)
        return best is not None and short > best * (1 + GAIN) + 1e-9


def why(role: str, targets: Sequence[Target], counts: IntervalCounts, people: int,
        tried: int, where: str = "") -> Unreachable:
    """What limits an interval out of reach: the first of ``targets`` it misses on
    ``counts`` (its calls pooled over the days it is judged on, or the one day that
    misses, named by ``where``), read from how its legs were left unanswered or how
    fast its fastest answers are."""
    missed = [t for t in targets if shortfall(t, counts) > 0] or list(targets)
    target = missed[0]
    names = [str(t) for t in missed]
    if target.queue is not None:
        reason, detail = _wait_reason(target, counts)
    elif target.metric == "abandon_rate":
        rate = counts.abandon_rate or 0.0
        late = counts.abandoned - counts.short_abandoned
        reason, detail = "abandonment", (
            f"{late} of {counts.offered - counts.short_abandoned} callers hung up before "
            f"any answer ({rate:.0%}, short abandons left out) with {people} to {tried} "
            "people: callers whose patience is shorter than the time it takes to reach "
            "an agent (an offer that rings unanswered holds the caller for the ring "
            "time-out)")
    else:
        figure = value(target, counts)
        shown = "—" if figure is None else f"{figure:.0%}"
        reason, detail = ANSWER_FLOOR, (
            f"{target.metric} stays at {shown} with {people} to {tried} people: more "
            "people do not shorten these waits")
    return Unreachable(reason=reason, detail=where + detail, role=role, targets=names,
                       people=people, tried=tried)


#: why legs were left unanswered (acd.tools.plan.measure: the call's outcome, or how
#: the leg was left) → the reason reported
_CAUSES: dict[str, str] = {
    Outcome.ABANDONED: "abandonment", "partner": "partners", "moved": "transfer-target",
    "warm-cancelled": "transfer-target", Outcome.WAITING: "still-waiting",
    Outcome.FORWARDED: "forwarded", Outcome.LOST: "lost"}


def _wait_reason(target: Target, counts: IntervalCounts) -> tuple[str, str]:
    queue = target.queue or ""
    waits = counts.waits.get(queue, [])
    causes = dict(counts.unanswered_why.get(queue, {}))
    slow = sum(wait > target.value + 1e-12 for wait in waits)
    legs = len(waits) + sum(causes.values())
    if slow >= max(causes.values(), default=0):
        fastest = min(waits) if waits else 0.0
        return ANSWER_FLOOR, (
            f"{slow} of {legs} legs into {queue} were answered after {target.value:g} s; "
            f"the fastest answer took {fastest:.1f} s: the agent's phone rings before "
            "the pick-up, more people do not shorten that")
    cause = max(causes, key=lambda c: causes[c])
    count = causes[cause]
    text = {
        Outcome.ABANDONED: f"callers hung up waiting in {queue}",
        "partner": f"a partner SAS took the calls waiting in {queue}",
        "moved": f"transfers to {queue} were taken back unanswered (the transfer "
                 "fallback) or the call moved on",
        "warm-cancelled": f"warm transfers to {queue} were cancelled: nobody of {queue} "
                          "answered within warm_max_wait_s",
    }.get(cause, f"legs into {queue} ended {cause}")
    return _CAUSES.get(cause, cause), (
        f"{count} of {legs} legs into {queue} were left unanswered: {text}, "
        "however many people it had")
