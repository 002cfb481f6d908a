"""An interval's floor: what it misses however many people it has.

An interval is judged on a few figures: its calls pooled over the seeds, and with
``every-day`` each seed's day too. Once more people stopped helping it, each figure
is compared with the same one played with more people than any staffing needs (its
**floor**): a figure that misses a target no more than its floor does is the
callers' doing (a patience shorter than an unanswered ring, a warm transfer whose
phones rang out), not the staffing's, and does not ask for more people. A target
the floor misses by the answers' own speed (``answer-floor``: the phones ring longer
before the pick-up than the target allows) is not excused: it asks for what no room
can give, and the site must hear it (out of reach). The rule is the same for the
pooled figure and for each day's (:func:`only_at_floor`), so a plan judged pooled
excuses what a plan judged every day excuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from acd.tools.plan.measure import IntervalCounts
from acd.tools.plan.model import Floor, Target
from acd.tools.plan.reach import ANSWER_FLOOR, beyond_floor, owner, value, why

#: a miss beyond the floor smaller than this is rounding, not a miss
EPSILON = 1e-12


def only_at_floor(target: Target, judged: Sequence[IntervalCounts],
                  floors: Sequence[IntervalCounts]) -> bool:
    """Every figure of ``judged`` that misses ``target`` misses it no more than the
    same figure of ``floors`` (played with more people than any staffing needs), and
    not because the target is tighter than the phones' answer time."""
    return all(beyond_floor(target, counts, floor) <= EPSILON
               and why(owner(target), [target], floor, 0, 0).reason != ANSWER_FLOOR
               for counts, floor in zip(judged, floors, strict=True)
               if not target.met_by(value(target, counts)))


def worst_beyond(targets: Sequence[Target], judged: Sequence[IntervalCounts],
                 floors: Sequence[IntervalCounts]) -> int:
    """The figure that tells why an interval is out of reach: the first (the pooled
    calls) when it misses beyond its floor, else the one that misses most beyond
    its floor."""
    beyond = [sum(beyond_floor(t, counts, floor) for t in targets)
              for counts, floor in zip(judged, floors, strict=True)]
    if beyond[0] > EPSILON:
        return 0
    return max(range(len(beyond)), key=beyond.__getitem__)


@dataclass(frozen=True)
class Judged:
    """What an interval is judged on, each figure with its floor and where it comes
    from: ``seeds[i]`` the seeds whose calls make figure ``i`` (all of them for the
    pooled figure, one for a day's)."""

    figures: Sequence[IntervalCounts]
    floors: Sequence[IntervalCounts]
    seeds: Sequence[Sequence[int]]

    def where(self, i: int) -> str:
        """Figure ``i`` named for a sentence."""
        seeds = self.seeds[i]
        if len(seeds) == 1:
            return f"on the day of seed {seeds[0]}: "
        return f"on the calls of seeds {', '.join(str(s) for s in seeds)} pooled: "


def floor_of(judged: Judged, targets: Sequence[Target], out_roles: set[str],
             people: dict[str, int], ceiling: dict[str, int]) -> Floor | None:
    """The figures an interval misses a target on only down to their floor, and what
    the floor shows there (None where it meets every target, or misses one that
    people could lift). ``out_roles``: its roles out of reach (the floor is asked of
    those only); ``people`` and ``ceiling``: its staffing and the floor's."""
    at_floor = [(i, t) for i, counts in enumerate(judged.figures) for t in targets
                if owner(t) in out_roles and not t.met_by(value(t, counts))]
    if not at_floor:
        return None
    if not all(only_at_floor(t, judged.figures, judged.floors) for _, t in at_floor):
        return None  # a miss staffing could lift: the interval is not met
    first, target = at_floor[0]
    role = owner(target)
    told = why(role, [t for _, t in at_floor], judged.floors[first], people.get(role, 0),
               ceiling.get(role, 0))
    return Floor(seeds=sorted({s for i, _ in at_floor for s in judged.seeds[i]}),
                 targets=sorted({str(t) for _, t in at_floor}), reason=told.reason,
                 detail=judged.where(first) + told.detail)
