"""The calls a PBX holds at once, per interval (``acd.tools.plan.lines``), on lines
drawn by hand: the time at each count, the peak, the offered load, the percentile."""

from __future__ import annotations

import random

import pytest

from acd.tools.plan.lines import LineCounts, line_counts
from acd.tools.plan.staffing import Grid

T0 = 1_000_000.0
GRID = Grid((T0, T0 + 100, T0 + 200), 100, T0 + 300)


def test_the_time_at_each_count_covers_every_interval_and_the_peak_is_the_most_at_once(
        ) -> None:
    lines = [(T0 + 10, T0 + 50),     # alone, then with the next one
             (T0 + 40, T0 + 130),    # across the first bound
             (T0 + 120, T0 + 125),   # a third one in the second interval
             (T0 - 30, T0 + 5)]      # seized before the grid starts
    first, second, third = line_counts(lines, GRID)
    assert first.seconds_at == pytest.approx({1: 5 + 30 + 50, 0: 5, 2: 10})
    assert first.peak == 2 and first.arrivals == 2 and first.held_s == pytest.approx(130)
    assert second.seconds_at == pytest.approx({1: 25, 2: 5, 0: 70})
    assert second.peak == 2 and second.arrivals == 1 and second.held_s == pytest.approx(5)
    assert third.seconds_at == {0: 100} and third.peak == 0 and third.arrivals == 0
    for counts in (first, second, third):
        assert sum(counts.seconds_at.values()) == pytest.approx(100)


def test_a_call_released_as_another_is_seized_does_not_count_twice() -> None:
    first, *_ = line_counts([(T0 + 10, T0 + 20), (T0 + 20, T0 + 30)], GRID)
    assert first.peak == 1 and first.seconds_at == pytest.approx({0: 80, 1: 20})


def test_the_load_is_the_holding_time_of_the_arrivals_over_the_interval() -> None:
    """Little's law: arrival rate × mean holding time = held seconds / interval."""
    rng = random.Random(7)
    lines = []
    for _ in range(60):
        seized = T0 + rng.uniform(0, 100)
        lines.append((seized, seized + rng.expovariate(1 / 20)))
    first, *_ = line_counts(lines, GRID)
    arrivals = sum(1 for seized, _ in lines if seized < T0 + 100)
    mean_hold = sum(b - a for a, b in lines) / len(lines)
    assert first.load(1, 100) == pytest.approx(arrivals / 100 * mean_hold)


def test_the_percentile_is_the_fewest_lines_carrying_every_call_that_share_of_the_time(
        ) -> None:
    counts = LineCounts(seconds_at={0: 50.0, 1: 30.0, 2: 19.0, 3: 1.0})
    assert counts.percentile(0.99) == 2      # 2 lines or fewer: 99 % of the time
    assert counts.percentile(0.995) == 3
    assert counts.percentile(0.5) == 0
    assert LineCounts().percentile(0.99) is None
    pooled = LineCounts(seconds_at={0: 100.0}, peak=0)
    pooled.add(counts)
    assert pooled.seconds_at == {0: 150.0, 1: 30.0, 2: 19.0, 3: 1.0}
    assert pooled.percentile(0.99) == 2
