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
- ``arrivals``: weekday → 48 mean calls per half-hour from 00:00, every number
  together (``arrivals_by_number``: per number), as the records show them (the
  ``surge`` multiplies them in the plan).
"""

from __future__ import annotations

import math
from typing import Any

from acd.tools.plan.history import WEEKDAYS, HistoryEstimate


def _r(value: float, digits: int = 1) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def traffic_json(est: HistoryEstimate) -> dict[str, Any]:
    pat = est.patience
    tail = pat.tail
    weekdays = sorted({wd for by_day in est.arrivals.values() for wd in by_day})
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
        "arrivals": {WEEKDAYS[wd]: [round(sum(by_day[wd][slot] for by_day
                                               in est.arrivals.values() if wd in by_day), 3)
                                    for slot in range(48)]
                     for wd in weekdays},
        "arrivals_by_number": {number: {WEEKDAYS[wd]: [round(v, 3) for v in values]
                                        for wd, values in by_day.items()}
                               for number, by_day in est.arrivals.items()},
    }
