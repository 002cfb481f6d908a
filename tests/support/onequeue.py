"""One queue as queueing theory draws it: a site with ARM_N1 only and a scenario of
flat Poisson traffic on the 15, exponential talk times, agents who answer at once and
have no wrap-up, the same N agents logged in all day.

The 15 has no PDSA destination, so its calls reach ARM_N1 around the clock whatever
the site's hours say; there is no partner, so no call leaves the room. A caller's
patience is exponential with the given mean, or a day (nobody hangs up).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from acd.config import Config
from acd.config.load import parse_config
from acd.core.indicators import QS30_S, answered_within
from acd.core.records import CallRecord
from acd.tools.fastday import play_day
from acd.tools.simulate.scenario import AgentsSpec, CallsSpec, Scenario, StaffingStep
from tests.support.sites import local_agents, site_toml

QUEUE = "ARM_N1"
#: a Tuesday, away from public holidays and clock changes
START = datetime(2026, 3, 10, 0, 0)
#: a patience no wait of these runs comes near
NEVER_S = 86_400.0


def one_queue_config(agents: int) -> Config:
    """A site with one queue and ``agents`` agents holding only that skill."""
    ids = [f"arm{i:03d}" for i in range(1, agents + 1)]
    text = site_toml("SAS one queue",
                     skills={QUEUE: {"wrap_up_s": 0, "expansion_s": []}},
                     numbers={"15": QUEUE},
                     agents=local_agents(*ids, skill=QUEUE, logged_in=False))
    return parse_config(text, "one-queue.toml")


def one_queue_scenario(agents: int, calls_per_hour: float, talk_mean_s: float,
                       hours: float, patience_mean_s: float | None) -> Scenario:
    """Flat arrivals at ``calls_per_hour`` for ``hours`` from :data:`START`; the calls
    still waiting at the end are drained to their end (no call is left out)."""
    if patience_mean_s is None:
        calls = CallsSpec(per_day={"15": calls_per_hour * 24}, hourly=[1.0] * 24,
                          patience_s=[NEVER_S, NEVER_S])
    else:
        calls = CallsSpec(per_day={"15": calls_per_hour * 24}, hourly=[1.0] * 24,
                          patience_s=[patience_mean_s, patience_mean_s],
                          patience_distribution="exponential")
    return Scenario(
        site="one-queue.toml", name=f"{agents} agents, {calls_per_hour:g} calls/h",
        start=START, duration_s=hours * 3600.0, calls=calls, drain_s=NEVER_S,
        agents=AgentsSpec(answer_after_s=[0.0, 0.0],
                          default_talk_s=[talk_mean_s, talk_mean_s],
                          talk_distribution="exponential", no_answer_rate=0.0),
        staffing=[StaffingStep(at="00:00", counts={QUEUE: agents})])


def one_queue_day(agents: int, calls_per_hour: float, talk_mean_s: float, hours: float,
                  patience_mean_s: float | None) -> tuple[Config, Scenario]:
    """The site and the scenario of one queue with ``agents`` agents (see the module)."""
    return (one_queue_config(agents),
            one_queue_scenario(agents, calls_per_hour, talk_mean_s, hours,
                               patience_mean_s))


@dataclass(frozen=True)
class Estimate:
    """A simulated share or mean and its standard error (batch means)."""

    value: float
    se: float
    batches: int

    def agrees(self, expected: float, k: float) -> bool:
        """``expected`` lies within ``k`` standard errors of the estimate."""
        return abs(self.value - expected) <= k * self.se


@dataclass(frozen=True)
class Measured:
    """What one operating point played: the figures Erlang C and A speak of."""

    calls: int
    #: among answered calls, the share that waited under 30 s (the QS 30 s)
    qs30: Estimate
    #: among all calls, the share that found no free agent (abandons did wait)
    waited: Estimate
    #: among answered calls, the mean wait (seconds)
    mean_wait: Estimate
    #: among all calls, the share that hung up before an answer
    abandoned: Estimate


def measure(config: Config, scenario: Scenario, seeds: Sequence[int], *,
            warm_up_s: float = 1200.0, batch_s: float = 7200.0,
            within_s: float = QS30_S) -> Measured:
    """Play ``scenario`` once per seed and estimate each figure with its standard error.

    The day starts with an empty room, so calls arriving in the first ``warm_up_s``
    are left out (Erlang's figures are for the steady state). Waits of successive
    calls are correlated, so calls are not independent trials: the figures are taken
    per batch (calls arriving in the same ``batch_s`` of one seed's day) and the
    standard error is that of the mean of the batches, which are nearly independent
    when a batch is much longer than a busy spell.
    """
    batches: dict[tuple[int, int], list[CallRecord]] = {}
    for seed in seeds:
        result = play_day(config, scenario, seed=seed)
        start = result.started_at
        for record in result.records:
            offset = datetime.fromisoformat(record.arrived_at).timestamp() - start
            if offset >= warm_up_s:
                batches.setdefault((seed, int(offset // batch_s)), []).append(record)
    groups = list(batches.values())
    answered = [[r.wait_s for r in g if r.outcome == "answered" and r.wait_s is not None]
                for g in groups]
    return Measured(
        calls=sum(len(g) for g in groups),
        qs30=_estimate([sum(answered_within(w, within_s) for w in a) / len(a)
                        for a in answered]),
        waited=_estimate([sum(r.wait_s is None or r.wait_s > 0 for r in g) / len(g)
                          for g in groups]),
        mean_wait=_estimate([sum(a) / len(a) for a in answered]),
        abandoned=_estimate([sum(r.outcome == "abandoned" for r in g) / len(g)
                             for g in groups]))


def _estimate(values: list[float]) -> Estimate:
    return Estimate(statistics.fmean(values),
                    statistics.stdev(values) / math.sqrt(len(values)), len(values))
