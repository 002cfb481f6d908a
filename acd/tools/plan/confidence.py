"""How sure a plan is of an interval: the share of simulated days that met its targets.

Each seed plays a whole day; within one interval the days are independent draws of
the same traffic on the same staffing, so the days that met every target are a
binomial count. The share met estimates the probability that a day like these meets
them, and the **Wilson score interval** (95 %) says how far that estimate can be
trusted with so few days: 5 days out of 5 give [57 %, 100 %], 10 out of 10
[72 %, 100 %]. Wilson's interval rather than the normal one because the shares of a
plan sit at or near 1, where the normal interval collapses to a point.

A decision is **close** when one more day could plausibly change it (see
:func:`close_every_day` and :func:`close_pooled`): those intervals get more seeds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: the normal quantile of a two-sided 95 % interval
Z95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a binomial share (``(0, 1)`` without trials)."""
    if trials <= 0:
        return 0.0, 1.0
    return wilson_share(successes / trials, trials, z)


def wilson_share(share: float, trials: float, z: float) -> tuple[float, float]:
    """Wilson's score interval of ``share`` observed on ``trials`` (a size that may be
    an effective one, not a whole number)."""
    z2 = z * z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(share * (1 - share) / trials
                                              + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Confidence:
    """Of ``days`` seed-days played with the plan's staffing, ``days_met`` met every
    target in the interval; ``low``–``high`` is the 95 % Wilson interval of the
    probability that such a day meets them. ``close``: the decision was close, and
    the interval was judged on more seeds than the others."""

    days: int
    days_met: int
    low: float
    high: float
    close: bool = False

    @property
    def share(self) -> float | None:
        return self.days_met / self.days if self.days else None


def confidence(met: Sequence[bool], *, close: bool = False) -> Confidence:
    """The confidence of one interval from whether each day met its targets."""
    days, days_met = len(met), sum(met)
    low, high = wilson(days_met, days)
    return Confidence(days, days_met, low, high, close)


def close_every_day(values: Sequence[float], target: float, higher_is_better: bool
                    ) -> bool:
    """Every day met the target, but the worst of them by less than the spread of
    the days (their standard deviation): another day could well miss it."""
    if len(values) < 2:
        return False
    worst = min(values) if higher_is_better else max(values)
    margin = worst - target if higher_is_better else target - worst
    spread = statistics.stdev(values)
    return spread > 0 and 0 <= margin < spread


def close_pooled(pooled: float, values: Sequence[float], target: float) -> bool:
    """The pooled figure lies within two standard errors of the target, the standard
    error taken from the spread of the days (each day a batch)."""
    if len(values) < 2:
        return False
    error = statistics.stdev(values) / math.sqrt(len(values))
    return error > 0 and abs(pooled - target) < 2 * error
