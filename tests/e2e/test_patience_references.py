"""The patience estimate against independent references.

- The tail's maximum-likelihood fit (scipy, :func:`acd.tools.plan.patience.fit_tail`)
  agrees with lifelines' parametric fitters on the same censored waits.
- A non-exponential patience (Weibull, shape 2) estimated from a history the fast day
  made, then played: the abandon share of one queue with the *estimated* patience is
  the same in the fast day (the router's engine and the PBX model) and in Ciw, an
  independent discrete-event simulator of the same M/M/c queue with reneging, and the
  same as Ciw with the *true* patience: each within the 95 % confidence interval of
  the difference of the two means (replications of a day)."""

from __future__ import annotations

import math
import random
import statistics
from datetime import datetime

import ciw
import msgspec
import numpy as np
import pytest
from lifelines import ExponentialFitter, WeibullFitter

from acd.config import Config
from acd.config.load import parse_config
from acd.core.records import CallRecord
from acd.tools.plan.history import estimate_history
from acd.tools.plan.patience import fit_tail
from acd.tools.simulate.scenario import AgentsSpec, CallsSpec, PatienceTail, Scenario, StaffingStep
from acd.tools.simulate.synthetic import play_history
from acd.tools.simulate.traffic import patience_draw
from tests.support.sites import agent, site_toml

AGENTS = 4
CALLS_PER_HOUR = 110.0
TALK_MEAN_S = 120.0
TRUE_TAIL = PatienceTail(family="weibull", shape=2.0, scale_s=100.0)
#: simulated days: to estimate, then to play the estimate (fast day), then in Ciw
DAYS, CIW_DAYS = 4, 20
#: [acd-announce]'s half second before a caller joins the queue: patience runs from
#: the call's arrival on the PBX, the wait from the queue (Ciw's reneging from its queue)
ANNOUNCE_S = 0.5


def room() -> Config:
    """One queue, its agents, no wrap-up, no partner, no transfer."""
    return parse_config(site_toml(
        "SAS one queue", skills={"ARM_N1": {"wrap_up_s": 0, "expansion_s": [15]}},
        numbers={"15": "ARM_N1"},
        agents=[agent(f"arm{n}", ARM_N1=1) for n in range(AGENTS)]), "one-queue.toml")


def day(patience: CallsSpec) -> Scenario:
    """A flat day of Poisson callers, exponential talk, agents answering at once."""
    return Scenario(
        site="one-queue.toml", name="one queue", start=datetime(2026, 3, 9),
        duration_s=86_400, seed=7, drain_s=3600,
        calls=patience,
        agents=AgentsSpec(answer_after_s=[0.0, 0.0], no_answer_rate=0.0,
                          talk_s={"ARM_N1": [0.0, 2 * TALK_MEAN_S]},
                          talk_distribution="exponential"),
        staffing=[StaffingStep(at="00:00", counts={"ARM_N1": AGENTS})])


def calls(**patience: object) -> CallsSpec:
    return msgspec.convert({"per_day": {"15": CALLS_PER_HOUR * 24}, "hourly": [1.0] * 24,
                            **msgspec.to_builtins(patience)}, CallsSpec)


def abandon_share(records: list[CallRecord]) -> float:
    return sum(r.outcome == "abandoned" for r in records) / len(records)


def censored_waits(records: list[CallRecord]) -> tuple[list[float], list[float]]:
    events, censored = [], []
    for r in records:
        if r.outcome == "abandoned" and r.ended_at:
            events.append((datetime.fromisoformat(r.ended_at)
                           - datetime.fromisoformat(r.arrived_at)).total_seconds())
        elif r.wait_s is not None:
            censored.append(r.wait_s)
    return events, censored


class _Patience(ciw.dists.Distribution):  # type: ignore[misc]
    """Ciw's reneging time: a patience drawn as the scenario draws it, less the
    announcement (Ciw's callers join the queue at once)."""

    def __init__(self, points: list[list[float]], tail: PatienceTail, rng: random.Random):
        super().__init__()
        self.points, self.tail, self.rng = points, tail, rng

    def sample(self, t: float | None = None, ind: object = None) -> float:
        return max(patience_draw(self.points, self.tail, self.rng.random()) - ANNOUNCE_S,
                   1e-6)


def ciw_shares(points: list[list[float]], tail: PatienceTail) -> list[float]:
    shares = []
    for rep in range(CIW_DAYS):
        ciw.seed(rep)
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(CALLS_PER_HOUR / 3600)],
            service_distributions=[ciw.dists.Exponential(1 / TALK_MEAN_S)],
            number_of_servers=[AGENTS],
            reneging_time_distributions=[_Patience(points, tail, random.Random(rep))])
        simulation = ciw.Simulation(network)
        simulation.simulate_until_max_time(86_400)
        kinds = [r.record_type for r in simulation.get_all_records()]
        shares.append(kinds.count("renege") / len(kinds))
    return shares


def agree(a: list[float], b: list[float]) -> bool:
    """The two means within the 95 % confidence interval of their difference."""
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    return abs(statistics.mean(a) - statistics.mean(b)) <= 1.96 * se


@pytest.fixture(scope="module")
def history() -> list[CallRecord]:
    truth = day(calls(patience_tail=TRUE_TAIL))
    return [r for played in play_history(room(), truth, DAYS) for r in played.records]


def test_the_tail_fit_agrees_with_lifelines(history: list[CallRecord]) -> None:
    # lifelines takes no wait of 0 s (answered at once): a millisecond, for both
    events, censored = (np.maximum(np.asarray(v), 1e-3) for v in censored_waits(history))
    observed = np.concatenate((events, censored))
    seen = np.concatenate((np.ones(len(events)), np.zeros(len(censored))))
    tail = fit_tail(events, censored)
    assert tail.family == "weibull"  # shape 2: a constant rate is rejected
    weibull = WeibullFitter().fit(observed, event_observed=seen)
    assert tail.shape == pytest.approx(weibull.rho_, rel=0.01)
    assert tail.scale_s == pytest.approx(weibull.lambda_, rel=0.01)
    # and the exponential, on exponential waits: the mean is events over exposure
    rng = random.Random(5)
    patience = [rng.expovariate(1 / 120) for _ in range(3000)]
    waits = [rng.expovariate(1 / 40) for _ in range(3000)]
    ev = np.asarray([p for p, w in zip(patience, waits, strict=True) if p < w])
    ce = np.asarray([w for p, w in zip(patience, waits, strict=True) if p >= w])
    exp_tail = fit_tail(ev, ce)
    assert exp_tail.family == "exponential"
    fitted = ExponentialFitter().fit(np.concatenate((ev, ce)), event_observed=np.concatenate(
        (np.ones(len(ev)), np.zeros(len(ce)))))
    assert exp_tail.scale_s == pytest.approx(fitted.lambda_, rel=0.01)


def test_an_estimated_weibull_patience_plays_as_in_ciw(history: list[CallRecord]) -> None:
    estimate = estimate_history(history)
    pat = estimate.patience
    assert pat.tail is not None and pat.tail.family == "weibull"
    points = [list(p) for p in pat.points]
    tail = PatienceTail(family="weibull", shape=pat.tail.shape, scale_s=pat.tail.scale_s)
    replay = day(calls(patience_quantiles_s=points, patience_tail=tail))
    fast = [abandon_share(played.records)
            for played in play_history(room(), replay, DAYS, seed=100)]
    with_estimate = ciw_shares(points, tail)
    with_truth = ciw_shares([], TRUE_TAIL)
    assert 0.05 < statistics.mean(with_truth) < 0.5  # a queue where patience matters
    assert agree(fast, with_estimate), (fast, statistics.mean(with_estimate))
    assert agree(with_estimate, with_truth)
