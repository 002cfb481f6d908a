"""Callers' patience from their waits: Kaplan–Meier where the records show it, a
fitted parametric tail beyond.

A caller who hung up after ``w`` s shows their patience; one answered (or sent to a
partner, or forwarded) after ``w`` s only shows that it was longer: right-censored.
Patience runs on the wait's axis, from joining the queue. A caller who hung up during
the announcement, before the queue, spent their patience before the wait started: an
abandon at 0 s (``before_queue``), a mass at the start of the distribution, in
Kaplan–Meier but not in the tail's fit, which is the hang-up rate of callers waiting in
the queue. For a patience ``T`` counted from the caller's arrival and an announcement
of ``A`` s this is exactly ``T − A`` (``P(T < A)`` at 0 s).
Kaplan–Meier (``scipy.stats.ecdf`` on ``scipy.stats.CensoredData``) estimates the
survival function without assuming a shape, but only as far as callers were still
waiting: where nobody waits longer (answered quickly, or overflowed to a partner after
90 s) the data stop. Beyond that point (``observed_until_s``: the last abandon with at
least :data:`MIN_AT_RISK` callers still waiting) the survival function is a
parametric tail fitted to *all* the censored data by maximum likelihood and joined to
Kaplan–Meier there (``S(t) = S_KM(t0) · S_fit(t) / S_fit(t0)``), never a point mass.

The family: **exponential** (a constant hang-up rate, Erlang A's assumption; one
parameter, so the many short waits of a well-staffed room still estimate it), unless
the data reject a constant rate against a **Weibull** (rate rising or falling with the
wait; exponential is its shape 1) by a likelihood-ratio test at 1 %: then the Weibull.
A Weibull fitted where the data stop early extrapolates its shape far beyond them (on
a generated week whose waits stop at 90 s, its 90th percentile came out 14 % short
where the exponential was within 2 %): it is used only when the data say so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import integrate, stats

FloatArray = npt.NDArray[np.float64]
#: Kaplan–Meier is read up to the last abandon with at least this many callers waiting
MIN_AT_RISK = 100
#: the likelihood-ratio test's level for a Weibull rather than an exponential tail
WEIBULL_LEVEL = 0.01
TailFamily = Literal["exponential", "weibull"]


@dataclass(frozen=True)
class Tail:
    """A fitted distribution of patience: ``S(t) = exp(-(t / scale_s) ** shape)``."""

    family: TailFamily
    shape: float
    scale_s: float
    #: the likelihood-ratio statistic of Weibull against exponential (χ², 1 df)
    lr_statistic: float = 0.0

    def sf(self, t: float) -> float:
        return math.exp(-((max(t, 0.0) / self.scale_s) ** self.shape))

    def spliced_quantile(self, t0: float, s0: float, p: float) -> float:
        """The ``p`` quantile of a distribution that is Kaplan–Meier up to ``t0`` (with
        survival ``s0`` there) and this tail beyond."""
        ratio = (1.0 - p) / s0
        if ratio >= 1.0:
            return t0
        return float(self.scale_s * ((t0 / self.scale_s) ** self.shape - math.log(ratio))
                     ** (1.0 / self.shape))

    def mean_after(self, t0: float) -> float:
        """E[T − t0 | T > t0]: the area under the tail beyond ``t0`` over S(t0)."""
        area, _ = integrate.quad(self.sf, t0, math.inf)
        return area / self.sf(t0) if self.sf(t0) > 0 else 0.0


@dataclass(frozen=True)
class Patience:
    """The estimate: Kaplan–Meier up to ``observed_until_s``, ``tail`` beyond."""

    events: int
    censored: int
    times: FloatArray
    surv: FloatArray
    observed_until_s: float
    #: Kaplan–Meier's survival at ``observed_until_s``
    surv_until: float
    tail: Tail
    #: of the ``events``, the callers who hung up before the queue (at 0 s)
    before_queue: int = 0

    def quantile(self, p: float) -> float:
        if 1.0 - p >= self.surv_until - 1e-12:
            below = np.nonzero(self.surv <= 1.0 - p + 1e-12)[0]
            if len(below):
                return float(self.times[below[0]])
        return self.tail.spliced_quantile(self.observed_until_s, self.surv_until, p)

    def mean(self) -> float:
        inside = self.times <= self.observed_until_s
        edges = np.concatenate(([0.0], self.times[inside], [self.observed_until_s]))
        levels = np.concatenate(([1.0], self.surv[inside]))
        head = float(np.sum(levels * np.diff(edges)))
        return head + self.surv_until * self.tail.mean_after(self.observed_until_s)

    def points(self, step: float = 0.05) -> list[tuple[float, float]]:
        """[share, seconds] every ``step`` as far as Kaplan–Meier is read, then the
        point where it stops (the tail carries on from there)."""
        reach = 1.0 - self.surv_until
        out = [(round(float(p), 2), round(self.quantile(float(p)), 1))
               for p in np.arange(step, 1.0, step) if p <= reach + 1e-9]
        if reach > (out[-1][0] if out else 0.0) + 1e-3:
            out.append((round(reach, 4), round(self.observed_until_s, 1)))
        return out


def estimate_patience(events: Sequence[float], censored: Sequence[float],
                      before_queue: int = 0) -> Patience:
    """Kaplan–Meier and the fitted tail from abandons in the queue (``events``), the
    waits of callers who did not hang up (``censored``) and the callers who hung up
    before the queue (``before_queue``: abandons at 0 s, left out of the tail's fit)."""
    if len(events) == 0:
        raise ValueError("no abandoned call: patience cannot be estimated")
    # a hang-up at the very instant of arrival: a patience of one millisecond (a
    # density at 0 s is infinite for a Weibull of shape below 1)
    ev = np.maximum(np.asarray(events, dtype=float), 1e-3)
    ce = np.asarray(censored, dtype=float)
    everyone = np.concatenate((np.full(before_queue, 1e-3), ev))
    times, surv = kaplan_meier(everyone, ce)
    until, surv_until = _observed_until(everyone, ce, times, surv)
    return Patience(events=len(everyone), censored=len(ce), times=times, surv=surv,
                    observed_until_s=until, surv_until=surv_until, tail=fit_tail(ev, ce),
                    before_queue=before_queue)


def kaplan_meier(events: FloatArray, censored: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The distinct event times and the survival just after each."""
    data = stats.CensoredData(uncensored=events, right=censored)
    sf = stats.ecdf(data).sf
    return np.asarray(sf.quantiles, dtype=float), np.asarray(sf.probabilities, dtype=float)


def _observed_until(events: FloatArray, censored: FloatArray, times: FloatArray,
                    surv: FloatArray) -> tuple[float, float]:
    """The last event time with at least :data:`MIN_AT_RISK` callers at risk, and
    Kaplan–Meier's survival there."""
    everyone = np.sort(np.concatenate((events, censored)))
    at_risk = len(everyone) - np.searchsorted(everyone, times, side="left")
    kept = np.nonzero(at_risk >= MIN_AT_RISK)[0]
    if not len(kept):
        return 0.0, 1.0
    last = kept[-1]
    return float(times[last]), float(surv[last])


def fit_tail(events: FloatArray, censored: FloatArray) -> Tail:
    """Exponential and Weibull fitted by maximum likelihood to the censored data
    (``scipy.stats`` ``fit`` on ``CensoredData``, location 0); the Weibull only when a
    likelihood-ratio test rejects the exponential at :data:`WEIBULL_LEVEL`."""
    data = stats.CensoredData(uncensored=events, right=censored)
    _, scale = stats.expon.fit(data, floc=0)
    shape_w, _, scale_w = stats.weibull_min.fit(data, floc=0)
    ll_exp = _log_likelihood(events, censored, 1.0, float(scale))
    ll_weibull = _log_likelihood(events, censored, float(shape_w), float(scale_w))
    statistic = max(0.0, 2.0 * (ll_weibull - ll_exp))
    if statistic > stats.chi2.ppf(1.0 - WEIBULL_LEVEL, 1):
        return Tail("weibull", float(shape_w), float(scale_w), statistic)
    return Tail("exponential", 1.0, float(scale), statistic)


def _log_likelihood(events: FloatArray, censored: FloatArray, shape: float,
                    scale: float) -> float:
    return float(np.sum(stats.weibull_min.logpdf(events, shape, scale=scale))
                 + np.sum(stats.weibull_min.logsf(censored, shape, scale=scale)))
