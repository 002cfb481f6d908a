"""The plan's prediction band: where a new day's figures lie, checked against days
drawn from a known law (binomial, and beta-binomial for scattered days)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acd.tools.plan.band import (
    day_bands,
    dispersion,
    share_band,
    share_counts,
    wait_band,
    within,
)
from acd.tools.plan.measure import IntervalCounts
from acd.tools.plan.model import Target

QS30 = Target("qs30", ">=", 0.9)
ABANDON = Target("abandon_rate", "<=", 0.05)
AMU_P90 = Target("amu_n2_p90", "<=", 120.0)


def days_of(rng: np.random.Generator, share: float, calls: int, days: int, *,
            phi: float = 1.0) -> list[tuple[int, int]]:
    """Days of ``calls`` calls whose hits are binomial (``phi`` 1) or beta-binomial
    with that dispersion (the day's own share drawn first)."""
    out = []
    for _ in range(days):
        p = share
        if phi > 1:
            # beta-binomial: Var = p(1-p)/n * (1 + (n-1)rho), rho = 1/(a+b+1)
            rho = (phi - 1) / (calls - 1)
            total = 1 / rho - 1
            p = rng.beta(share * total, (1 - share) * total)
        out.append((int(rng.binomial(calls, p)), calls))
    return out


def test_dispersion_is_one_for_binomial_days_and_finds_scattered_ones() -> None:
    rng = np.random.default_rng(7)
    binomial = [days_of(rng, 0.8, 40, 6) for _ in range(300)]
    scattered = [days_of(rng, 0.8, 40, 6, phi=2.5) for _ in range(300)]
    assert dispersion(binomial) == pytest.approx(1.0, abs=0.12)
    assert dispersion(scattered) == pytest.approx(2.5, rel=0.15)
    # nothing to tell it: every day at 100 %, or a single day
    assert dispersion([[(10, 10), (12, 12)], [(3, 5)]]) == 1.0


@pytest.mark.parametrize("phi", [1.0, 2.0])
def test_a_new_day_falls_within_the_band_as_often_as_it_says(phi: float) -> None:
    rng = np.random.default_rng(11)
    inside, trials, alpha = 0, 1500, 0.1
    for _ in range(trials):
        seeds = days_of(rng, 0.92, 45, 6, phi=phi)
        band = share_band(seeds, phi, alpha)
        assert band is not None
        hits, calls = days_of(rng, 0.92, 45, 1, phi=phi)[0]
        inside += band[0] - 1e-9 <= hits / calls <= band[1] + 1e-9
    # at least the level asked (a count's band ends on a share a day can take)
    assert 1 - alpha <= inside / trials <= 0.99


def test_a_share_met_on_every_seed_still_has_a_band_below_it() -> None:
    band = share_band([(30, 30)] * 5, 1.0, 0.01)
    assert band is not None
    low, high = band
    assert high == 1.0 and 0.8 < low < 1.0
    # scattered days widen it
    wider = share_band([(30, 30)] * 5, 3.0, 0.01)
    assert wider is not None and wider[0] < low
    assert share_band([None, (0, 0)], 1.0, 0.01) is None


def test_the_day_level_counts_every_figure_a_target_judges() -> None:
    one = IntervalCounts(offered=40, answered=38, within30=36, within60=38)
    day = [one]
    narrow = day_bands([QS30], [], [day], [one], level=0.9)
    wide = day_bands([QS30], [], [day] * 48, [one] * 48, level=0.9)
    assert wide.per_interval[0][QS30][0] < narrow.per_interval[0][QS30][0]
    assert narrow.dispersion[QS30] == 1.0


def test_a_wait_band_ends_past_the_longest_wait_the_seeds_saw() -> None:
    pooled = IntervalCounts(waits={"AMU_N2": [float(w) for w in range(1, 11)]})
    days = [share_counts(AMU_P90, IntervalCounts(waits={"AMU_N2": [1.0, 2.0, 3.0, 4.0, 5.0]})),
            share_counts(AMU_P90, IntervalCounts(waits={"AMU_N2": [6.0, 7.0, 8.0, 9.0,
                                                                    10.0]}))]
    band = wait_band(AMU_P90, days, pooled, 1.0, 0.1)
    assert band is not None
    low, high = band
    assert 0.0 <= low < 9.0 and math.isinf(high)  # five legs a day: p90 is its longest
    many = IntervalCounts(waits={"AMU_N2": [float(w % 100) for w in range(2000)]})
    busy = [share_counts(AMU_P90, many)] * 4
    narrow = wait_band(AMU_P90, busy, many, 1.0, 0.1)
    assert narrow is not None and 80 <= narrow[0] <= 90 <= narrow[1] < 99


def test_within_looks_at_the_side_a_target_misses_on() -> None:
    assert within(QS30, 0.95, None)  # met
    assert within(QS30, 0.85, (0.8, 1.0)) and not within(QS30, 0.75, (0.8, 1.0))
    assert within(ABANDON, 0.08, (0.0, 0.1)) and not within(ABANDON, 0.12, (0.0, 0.1))
    assert within(AMU_P90, math.inf, (10.0, math.inf))
    assert not within(AMU_P90, math.inf, (10.0, 60.0))
    assert not within(QS30, 0.5, None)  # missed, and no band promised
    assert within(QS30, None, None)  # nothing to measure


def test_share_counts_follow_the_targets_definitions() -> None:
    counts = IntervalCounts(offered=20, answered=15, within30=12, within60=14, abandoned=5,
                            short_abandoned=2, waits={"AMU_N2": [10.0, 200.0]},
                            unanswered={"AMU_N2": 1})
    assert share_counts(QS30, counts) == (12, 15)
    assert share_counts(Target("qs60", ">=", 0.9), counts) == (14, 15)
    assert share_counts(ABANDON, counts) == (3, 18)  # short abandons out of both
    assert share_counts(AMU_P90, counts) == (2, 3)  # over the mark, unanswered included
    assert share_counts(QS30, IntervalCounts()) is None
