"""The traffic ``acd plan --records`` estimated, as the ``traffic`` object of
``--json`` (and the table of ``--html``): what the plan was sized for, beside the
truth a site knows or a synthetic history was made from.

- ``talk_s``: ``"QUEUE/ROLE"`` → ``{"mean": s, "n": legs}`` (and ``p50``, ``p90``):
  the legs of QUEUE answered by agents whose primary skill is ROLE;
- ``transfer_share``: ``"FROM->TO"`` → the share of the calls answered at FROM by
  FROM's own role whose agent asked for a transfer to TO (``transfer_calls``: those
  calls per FROM; ``transfers_seen``: ``attempts``, or ``legs`` for records that keep
  no transfer requests);
- ``patience_s``: ``p50``, ``p75``, ``p90`` and ``observed_until_s`` (where the records
  stop showing it; beyond, ``tail``: the fitted family, shape and scale);
- ``arrivals``: weekday → 48 expected calls per half-hour from 00:00, every number
  together (``arrivals_by_number``: per number), as estimated from the records (the
  ``surge`` multiplies them in the plan); ``arrivals_se``: the standard error of each
  (numbers taken as independent); ``arrivals_shape_from``: number → weekday → the
  weekdays its half-hourly shape is read from; ``arrivals_planned``: the figures the
  plan was sized for (``arrivals`` at their one-sided upper bound ``mean + z·se``, ``z``
  in ``arrivals_bound``), or null when it was sized for the estimate itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from scipy import stats

from acd.tools.plan.history import WEEKDAYS, HistoryEstimate

PerNumber = Mapping[str, Mapping[int, tuple[float, ...]]]


def _r(value: float, digits: int = 1) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def traffic_json(est: HistoryEstimate) -> dict[str, Any]:
    pat = est.patience
    tail = pat.tail
    mean = est.estimated_arrivals()
    return {
        "from": est.start.isoformat(),
        "to": est.end.isoformat(),
        "records": est.records,
        "surge": est.surge,
        "talk_s": {key: {"mean": _r(d.mean_s), "n": d.observations,
                         "p50": _r(d.quantiles[0.5]), "p90": _r(d.quantiles[0.9])}
                   for key, d in est.talk_by_role.items()},
        "transfer_share": {f"{src}->{dst}": round(share, 4)
                           for src, to in est.transfers.items()
                           for dst, share in to.items()},
        "transfer_calls": dict(est.own_legs),
        "transfers_seen": est.transfers_seen,
        "patience_s": {
            "p50": _r(pat.quantiles[0.5]), "p75": _r(pat.quantiles[0.75]),
            "p90": _r(pat.quantiles[0.9]),
            "observed_until_s": pat.observed_until_s,
            "abandons": pat.events, "censored": pat.observations - pat.events,
            "tail": None if tail is None else {
                "family": tail.family, "shape": round(tail.shape, 4),
                "scale_s": round(tail.scale_s, 1)},
        },
        "arrivals": _totals(mean),
        "arrivals_by_number": {number: {WEEKDAYS[wd]: [round(v, 3) for v in values]
                                        for wd, values in by_day.items()}
                               for number, by_day in mean.items()},
        "arrivals_se": _totals(est.arrivals_se, _root_sum_squares),
        "arrivals_shape_from": {number: {WEEKDAYS[wd]: [WEEKDAYS[w] for w in group]
                                         for wd, group in by_day.items()}
                                for number, by_day in est.shape_from.items()},
        "arrivals_planned": None if est.bound_z is None else _totals(est.arrivals),
        "arrivals_bound": None if est.bound_z is None else {
            "z": round(est.bound_z, 4),
            "one_sided": round(float(stats.norm.cdf(est.bound_z)), 4)},
    }


def _totals(per_number: PerNumber, combine: Callable[[list[float]], float] = sum
            ) -> dict[str, list[float]]:
    """weekday → 48 figures, every number's figures of a half-hour ``combine``d."""
    weekdays = sorted({wd for by_day in per_number.values() for wd in by_day})
    out: dict[str, list[float]] = {}
    for wd in weekdays:
        rows = [by_day[wd] for by_day in per_number.values() if wd in by_day]
        out[WEEKDAYS[wd]] = [round(combine([r[s] for r in rows]), 3) for s in range(48)]
    return out


def _root_sum_squares(errors: list[float]) -> float:
    """Standard errors of independent figures, added as variances."""
    return math.sqrt(sum(e ** 2 for e in errors))
