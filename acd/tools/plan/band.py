"""Where a new day's figures may fall: the plan's prediction band, per interval.

The plan's figures are pooled over its seeds' days. A new day of the same traffic on
the same staffing gives others: half an hour holds a few dozen calls, and its calls
are not independent of each other (a late call delays the next ones). The band of a
figure is the range in which **a new day's figure lies, in every interval at once,
with probability** ``level`` (90 % by default); a replayed day that falls outside it
somewhere shows the plan wrong, not unlucky.

Every figure a target judges is a share of the day's counts in the interval
(:func:`share_counts`): QS 30 s is the calls answered within 30 s over those
answered; the abandon rate the abandoned over the calls (short abandons out of both);
``QUEUE_pNN <= T`` holds while the share of the legs waiting over ``T`` is what the
percentile allows. Given its count ``N``, a day's ``X`` is taken as binomial with
extra variance, ``Var(X/N) = φ p (1 - p) / N``, ``φ`` the dispersion (quasi-binomial,
McCullagh & Nelder, *Generalized Linear Models*, 4.5): Pearson's χ² of the seeds'
counts around each interval's pooled share over its degrees of freedom, pooled over
the day's intervals (five seeds tell one interval's spread badly, a day's intervals
tell φ well), never below 1.

A new day's share is predicted, not estimated: its count follows the beta-binomial
law of ``N̄/φ`` calls (``N̄`` a day's mean count) whose share is Beta with the pooled
counts over ``φ`` (plus Jeffreys' half): the new day's own draw and the seeds' few
days both in it, and its ends are shares a day can show (1 where a day answers every
call in time). One ``alpha`` serves the whole day: ``(1 - level) / m``, two-sided,
for the ``m`` figures the targets judge (Bonferroni), so the whole day lies within
with probability ``level`` at least.

A wait percentile's band, in seconds, is read on the pooled waits at the Wilson
interval of the percentile's rank for a new day, each wait standing for the share
``i / (n + 1)`` of its rank ``i``: past the longest wait the seeds saw, the band has
no end (``inf``: on a new day a leg left unanswered may be its percentile).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from acd.tools.plan.confidence import wilson_share
from acd.tools.plan.measure import IntervalCounts
from acd.tools.plan.model import Band, Target

#: the default probability that a new day lies within the band in every interval
BAND_LEVEL = 0.90
#: the figures banded whether or not a target judges them: QS 30 s and QS 60 s
SHOWN = (Target("qs30", ">=", 0.0), Target("qs60", ">=", 0.0))

#: a day's counts of one figure in one interval: ``(X, N)``, None: nothing counted
Counts = tuple[int, int] | None


def share_counts(target: Target, counts: IntervalCounts) -> Counts:
    """The counts ``(X, N)`` whose share ``X/N`` the target judges (for a wait
    target: the legs over its mark, and the legs)."""
    if target.metric in ("qs30", "qs60"):
        in_time = counts.within30 if target.metric == "qs30" else counts.within60
        return (in_time, counts.answered) if counts.answered else None
    shares = (counts.abandon_counts() if target.metric == "abandon_rate"
              else counts.legs_over(target.queue or "", target.value))
    return shares if shares[1] > 0 else None


def dispersion(days_per_interval: Sequence[Sequence[Counts]]) -> float:
    """φ: Pearson's χ² of each interval's days around its pooled share, over the
    degrees of freedom, pooled over the intervals; 1 where nothing tells it."""
    chi2, freedom = 0.0, 0
    for days in days_per_interval:
        known = _known(days)
        hits, trials = sum(x for x, _ in known), sum(n for _, n in known)
        if len(known) < 2 or hits in (0, trials):
            continue
        share = hits / trials
        chi2 += sum((x - n * share) ** 2 / (n * share * (1 - share)) for x, n in known)
        freedom += len(known) - 1
    return max(1.0, chi2 / freedom) if freedom else 1.0


def _known(days: Sequence[Counts]) -> list[tuple[int, int]]:
    """The days that counted something."""
    return [d for d in days if d is not None and d[1] > 0]


def _pooled(days: Sequence[Counts]) -> tuple[int, int, int] | None:
    """The hits and trials of the days together, and the days that counted."""
    known = _known(days)
    if not known:
        return None
    return sum(x for x, _ in known), sum(n for _, n in known), len(known)


def share_band(days: Sequence[Counts], phi: float, alpha: float) -> Band | None:
    """A new day's share in one interval (QS, abandon rate): the beta-binomial
    predictive of its count at ``alpha / 2`` each side (see the module)."""
    from scipy.stats import betabinom

    pooled = _pooled(days)
    if pooled is None:
        return None
    hits, trials, count = pooled
    calls = max(1, round(trials / count / phi))
    predictive = betabinom(calls, hits / phi + 0.5, (trials - hits) / phi + 0.5)
    low, high = predictive.ppf([alpha / 2, 1 - alpha / 2])
    return float(low) / calls, float(high) / calls


def wait_band(target: Target, days: Sequence[Counts], pooled: IntervalCounts, phi: float,
              alpha: float) -> Band | None:
    """A wait percentile's band, seconds (see the module)."""
    counted = _pooled(days)
    ranked = pooled.ranked_waits(target.queue or "")
    if counted is None or not ranked:
        return None
    _, trials, count = counted
    size = 1.0 / (phi * (count / trials + 1.0 / trials))
    z = NormalDist().inv_cdf(1.0 - alpha / 2)
    low, high = wilson_share((target.percentile or 0) / 100, size, z)

    def at(rank: int) -> float:
        return 0.0 if rank < 1 else math.inf if rank > len(ranked) else ranked[rank - 1]

    places = len(ranked) + 1
    return at(math.floor(low * places)), at(math.ceil(high * places))


def within(target: Target, figure: float | None, band: Band | None) -> bool:
    """Whether a day's figure meets ``target`` or misses it no further than the
    band's side the target looks at (a QS under the band's low is outside)."""
    if figure is None or target.met_by(figure):
        return True
    if band is None:
        return False
    return figure >= band[0] - 1e-9 if target.op == ">=" else figure <= band[1] + 1e-9


@dataclass(frozen=True)
class DayBands:
    """The bands of a plan's day: per interval, target → band; and per target, the
    dispersion ``φ`` its bands were drawn with."""

    per_interval: list[dict[Target, Band]]
    dispersion: dict[Target, float]


def day_bands(targets: Sequence[Target], shown: Sequence[Target],
              days: Sequence[Sequence[IntervalCounts]], pooled: Sequence[IntervalCounts],
              level: float = BAND_LEVEL,
              spread: Sequence[Sequence[IntervalCounts]] = ()) -> DayBands:
    """The band of each target's figure and of each ``shown`` one (a figure printed
    without a target, such as QS 60 s), from each interval's seeds' days
    (``days[k]``) and their pool; the day's ``alpha`` counts the targets' figures.
    ``spread``: more groups of days of one interval on one staffing to tell ``φ``
    (every staffing the search played: the one it kept met its targets on each of
    its days, and so looks less scattered than a new day is)."""
    counted = {t: [[share_counts(t, day) for day in days_k] for days_k in days]
               for t in (*targets, *shown)}
    judged = sum(1 for t in targets for k in range(len(pooled))
                 if share_counts(t, pooled[k]) is not None)
    alpha = (1.0 - level) / max(1, judged)
    out = DayBands([{} for _ in pooled], {})
    for target, per_interval in counted.items():
        phi = out.dispersion[target] = dispersion(
            [[share_counts(target, day) for day in group] for group in spread] or per_interval)
        for k, interval_days in enumerate(per_interval):
            band = (share_band(interval_days, phi, alpha) if target.queue is None
                    else wait_band(target, interval_days, pooled[k], phi, alpha))
            if band is not None:
                out.per_interval[k][target] = band
    return out
