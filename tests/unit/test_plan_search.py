"""The planner's search, step by step, on figures whose answer is known.

The days are not simulated here (``tests/e2e/test_plan*.py`` play them): each
staffing the search asks for gets figures made from a known need per interval, so
that what the search does with them (take a cut back, add a person, keep a cut, stop)
can be read exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest

from acd.tools.fastday import load_day
from acd.tools.plan.evaluation import Evaluation
from acd.tools.plan.measure import IntervalCounts
from acd.tools.plan.model import Target, parse_targets
from acd.tools.plan.planner import Planner
from acd.tools.plan.staffing import Counts
from tests.support.paths import REPO

ROLE = "ARM_N1"
TARGETS = parse_targets("qs30>=0.90")
SCENARIO = REPO / "config" / "scenarios" / "sas-large-transfers-morning.toml"
SEEDS = (1, 2)


def counts(met: bool) -> IntervalCounts:
    """An interval's N1 calls of one day: all answered within 30 s, or a third late."""
    return IntervalCounts(offered=30, answered=30, within30=30 if met else 20)


class KnownNeed(Planner):
    """A planner whose days are made from ``need``: an interval meets QS 30 s on a
    day when it has at least its need of ARM_N1."""

    def __init__(self, need: Sequence[int]) -> None:
        config, scenario = load_day(SCENARIO)
        scenario = msgspec.structs.replace(scenario, duration_s=1800 * len(need))
        super().__init__(config, scenario, TARGETS, seeds=SEEDS, abandon_default=None)
        assert len(self.grid) == len(need)
        self.need = list(need)
        #: ARM_N1 per interval of each staffing played, in turn (a staffing played
        #: once is remembered, as the planner's player remembers its days)
        self.played: list[list[int]] = []
        #: the staffings asked on the extra seeds as well (probably the plan)
        self.every_seed: list[list[int]] = []

    def _ask(self, staff: Sequence[Counts], n: int) -> None:
        if n == len(self.player.seeds):
            self.every_seed.append([c.get(ROLE, 0) for c in staff])

    def evaluate(self, staff: Sequence[Counts], *, then: Sequence[Counts] | None = None
                 ) -> Evaluation:
        people = [c.get(ROLE, 0) for c in staff]
        if people not in self.played:
            self.played.append(people)
        day = [counts(n >= need) for n, need in zip(people, self.need, strict=True)]
        return Evaluation([list(day) for _ in SEEDS])


def staffing(people: Sequence[int]) -> list[Counts]:
    return [{ROLE: n} for n in people]


def arm(staff: Sequence[Counts]) -> list[int]:
    return [c[ROLE] for c in staff]


def search(planner: Planner, guess: Sequence[int], floor: Sequence[int],
           targets: Sequence[Target] = TARGETS) -> list[int]:
    return arm(planner._search(staffing(guess), staffing(floor), targets, [ROLE]))


def test_the_search_walks_down_to_the_need_one_round_of_cuts_at_a_time() -> None:
    need = [2, 5, 3, 1]
    planner = KnownNeed(need)
    assert search(planner, guess=[5, 6, 5, 1], floor=[1, 1, 1, 1]) == need
    # each round cuts every interval above its floor and is played as it is: the
    # staffing a round settles on is judged with the next round's cuts, not played
    # on its own first ([3, 5, 3, 1] and [2, 5, 3, 1] before their next round)
    assert planner.played == [
        [5, 6, 5, 1],  # the first guess meets every target
        [4, 5, 4, 1],  # every interval above its floor cut: every cut holds
        [3, 4, 3, 1],  # 08:30 misses: its cut goes back, the others hold
        [2, 5, 2, 1],  # 09:00 misses: its cut goes back
        [1, 5, 3, 1],  # 08:00 misses: its cut goes back; no cut is left
        [2, 5, 3, 1],  # the staffing played as it is: it meets, the search ends
    ]
    # only that last staffing, with no cut left, is probably the plan: its extra
    # seeds' days are asked with it (the close intervals are judged on them next)
    assert planner.every_seed == [need]


def test_a_miss_no_cut_explains_gets_one_more_person_and_the_cuts_that_held_stay(
        ) -> None:
    planner = KnownNeed([1] * 6)
    trial = staffing([4, 3, 2, 2, 2, 2])
    lower = staffing([1, 1, 2, 2, 2, 2])
    # 08:00 and 08:30 were cut; 08:30 misses on the first seed's day, and so does
    # 10:00, which was not cut, nor the two intervals before it (a cut of another
    # role, or the draw, moved it)
    day = [counts(k not in (1, 4)) for k in range(6)]
    evaluation = Evaluation([day, [counts(True)] * 6])
    settled, held = planner._settle(trial, {(0, ROLE), (1, ROLE)}, lower, evaluation,
                                    TARGETS, [ROLE])
    assert not held
    # 08:30's cut goes back and is fixed there; 10:00 gets one more person and is
    # fixed there; 08:00's cut held: kept, and free to be cut again
    assert arm(settled) == [4, 4, 2, 2, 3, 2]
    assert arm(lower) == [1, 4, 2, 2, 3, 2]
    # a round that misses nothing keeps every cut, and says so
    met = Evaluation([[counts(True)] * 6 for _ in SEEDS])
    settled, held = planner._settle(settled, {(0, ROLE)}, lower, met, TARGETS, [ROLE])
    assert held and arm(settled) == [4, 4, 2, 2, 3, 2]


@pytest.mark.parametrize("guess", [[2, 5, 3, 1], [3, 6, 4, 2]])
def test_a_first_guess_short_of_the_need_is_raised_before_any_cut(guess: list[int]
                                                                  ) -> None:
    need = [3, 6, 4, 2]
    planner = KnownNeed(need)
    assert search(planner, guess=guess, floor=[1, 1, 1, 1]) == need
    # every staffing that met every target was the need or above it, interval by
    # interval: the search never kept a cut it had not seen hold
    first_met = next(n for n, people in enumerate(planner.played)
                     if all(p >= q for p, q in zip(people, need, strict=True)))
    assert planner.played[first_met] == need
