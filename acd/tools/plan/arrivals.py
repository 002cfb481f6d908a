"""Arrivals per dialled number, weekday and half-hour, and how sure each figure is.

A weekday's mean count per half-hour over its own days is unbiased but noisy: one week
of records gives one day of each weekday, and a Poisson count of 30 calls is known to
±18 % (1/√30). Each half-hour's figure is therefore read as the weekday's **volume**
(calls a day, the mean over its days: thousands of calls, known to a few percent) times
a **shape** (the share of the day's calls falling in that half-hour), and the shape is
pooled over the weekdays whose records do not show it to differ:

- start from every weekday with records in one group; a weekday leaves the group when
  a chi-square test of its half-hourly counts against the group's shape (scaled to its
  own volume; neighbouring half-hours merged until each expects 5 calls) rejects it at
  1 %; the group's shape is read again without it, until no weekday leaves;
- a weekday in the group takes the group's shape; one that left keeps its own.

Where the weekdays really differ (a Sunday's morning peak) the records show it as soon
as they hold enough calls to tell, and the weekday keeps its own shape; where they do
not, the shape is read from all of them (seven times the calls for one week of records).
This is the classic day-of-week × intraday-profile model of call-centre forecasting,
with the pooling decided by the data.

**How sure.** Each figure carries its standard error under Poisson counts: for a
pooled shape, λ = V·p with relative variance 1/N (the weekday's calls) + (1 − p)/C
(the group's calls in that half-hour); for an own shape, √count / days. Day-to-day
swings beyond Poisson (weather, epidemics, a holiday) are not in it.
:func:`upper` gives the one-sided bound a plan may be sized for instead of the mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from scipy import stats

SLOTS = 48
#: the level of the test that keeps a weekday's own shape
SHAPE_TEST_LEVEL = 0.01
#: a merged bin of the test expects at least this many calls
MIN_EXPECTED = 5.0
#: the one-sided bound :func:`upper` gives by default: 90 % (z = 1.2816)
UPPER_Z = 1.2815515655446004

PerWeekday = dict[int, tuple[float, ...]]


@dataclass(frozen=True)
class NumberArrivals:
    """One dialled number's estimate."""

    #: weekday → expected calls per half-hour (48, 00:00 first)
    mean: PerWeekday
    #: weekday → the standard error of each figure
    se: PerWeekday
    #: weekday → the weekdays whose records its shape is read from (itself alone when
    #: its records show a shape of its own)
    shape_from: dict[int, tuple[int, ...]]


def estimate_arrivals(counts: Mapping[tuple[str, date, int], int],
                      days: Mapping[int, int]) -> dict[str, NumberArrivals]:
    """number → its estimate, from calls per (number, date, half-hour) and the days
    of each weekday with records (a half-hour without calls on such a day is 0)."""
    out: dict[str, NumberArrivals] = {}
    for number in sorted({n for n, _, _ in counts}):
        sums = {wd: [0] * SLOTS for wd in days}
        for (n, d, slot), count in counts.items():
            if n == number and d.weekday() in sums:
                sums[d.weekday()][slot] += count
        out[number] = _number(sums, days)
    return out


def upper(mean: Sequence[float], se: Sequence[float], z: float = UPPER_Z
          ) -> tuple[float, ...]:
    """The one-sided bound ``mean + z·se`` of each figure."""
    return tuple(m + z * s for m, s in zip(mean, se, strict=True))


def _number(sums: Mapping[int, list[int]], days: Mapping[int, int]) -> NumberArrivals:
    group = _pooled_group(sums)
    shared = [sum(sums[wd][s] for wd in group) for s in range(SLOTS)]
    mean: PerWeekday = {}
    se: PerWeekday = {}
    shape_from: dict[int, tuple[int, ...]] = {}
    for wd in sorted(sums):
        n_days, own = days[wd], sums[wd]
        if wd in group and len(group) > 1:
            mean[wd], se[wd] = _from_shape(sum(own), n_days, shared)
            shape_from[wd] = tuple(group)
        else:
            mean[wd] = tuple(c / n_days for c in own)
            se[wd] = tuple(math.sqrt(c) / n_days for c in own)
            shape_from[wd] = (wd,)
    return NumberArrivals(mean=mean, se=se, shape_from=shape_from)


def _from_shape(calls: int, n_days: int, shared: Sequence[int]
                ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A weekday's ``calls`` over ``n_days`` spread on the group's half-hourly
    ``shared`` counts, with each figure's standard error."""
    total = sum(shared)
    volume = calls / n_days
    mean, se = [], []
    for c in shared:
        share = c / total if total else 0.0
        rate = volume * share
        relative = (1.0 / calls if calls else 0.0) + ((1.0 - share) / c if c else 0.0)
        mean.append(rate)
        se.append(rate * math.sqrt(relative))
    return tuple(mean), tuple(se)


def _pooled_group(sums: Mapping[int, list[int]]) -> list[int]:
    """The weekdays whose counts agree with the shape of them all (see the module)."""
    group = sorted(wd for wd, row in sums.items() if sum(row) > 0)
    while len(group) > 1:
        shared = [sum(sums[wd][s] for wd in group) for s in range(SLOTS)]
        keep = [wd for wd in group if not _differs(sums[wd], shared)]
        if len(keep) == len(group):
            break
        group = keep
    return group


def _differs(own: Sequence[int], shared: Sequence[int]) -> bool:
    """Whether ``own`` counts reject the shape of ``shared`` (chi-square goodness of
    fit at :data:`SHAPE_TEST_LEVEL`, neighbouring half-hours merged until each bin
    expects :data:`MIN_EXPECTED` calls)."""
    calls, total = sum(own), sum(shared)
    if not calls or not total:
        return False
    observed, expected = _bins(own, [calls * c / total for c in shared])
    if len(observed) < 2:
        return False
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    return float(stats.chi2.sf(chi2, len(observed) - 1)) < SHAPE_TEST_LEVEL


def _bins(observed: Sequence[int], expected: Sequence[float]
          ) -> tuple[list[float], list[float]]:
    """Neighbouring half-hours merged until each bin expects enough calls (a short
    last bin joins the one before)."""
    obs: list[float] = []
    exp: list[float] = []
    o_run = e_run = 0.0
    for o, e in zip(observed, expected, strict=True):
        o_run, e_run = o_run + o, e_run + e
        if e_run >= MIN_EXPECTED:
            obs.append(o_run)
            exp.append(e_run)
            o_run = e_run = 0.0
    if e_run > 0 or o_run > 0:
        if exp:
            obs[-1] += o_run
            exp[-1] += e_run
        else:
            obs.append(o_run)
            exp.append(e_run)
    return obs, exp
