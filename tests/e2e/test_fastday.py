"""The fast simulated day against ``acd simulate``: the same scenarios and seeds
through both paths (engine and PBX in one process on a virtual clock; the router and
the simulator over loopback TCP) give the same traffic and the same service.

Offered must be equal: both play the same seeded timeline and every call placed has
a record. Answered and QS 30 s at N1 may differ a little: the AMI path runs on real
time at ×600, so a stall of the event loop of a few milliseconds moves an answer by
simulated seconds and can tip a call over the 30 s line or past its caller's patience.
The tolerance is the sampling error of a share: pooled over the seeds, the two shares
may differ by at most three standard errors of the difference of two binomial shares
(``3·sqrt(2·p·(1-p)/n)``, p the pooled share, n the calls it is taken over). Both
paths see the same callers, so their real difference is smaller than two independent
samples': the bound is generous on purpose and still catches a path that routes
differently (a lost transfer or an offer that never comes moves the shares by far
more).
"""

from __future__ import annotations

import asyncio
import math

import msgspec
import pytest

from acd.tools.fastday import load_day, play_day
from acd.tools.simulate.run import run_scenario
from acd.tools.summary import Summary
from tests.support.paths import REPO

SCENARIOS = REPO / "config" / "scenarios"
SEEDS = (1, 2, 3)


def within_sampling_error(fast: tuple[int, int], ami: tuple[int, int]) -> bool:
    """(successes, trials) of both paths: their shares agree within 3 standard errors."""
    n = (fast[1] + ami[1]) / 2
    p = (fast[0] + ami[0]) / (fast[1] + ami[1])
    bound = 3 * math.sqrt(2 * p * (1 - p) / n) + 1 / n  # + one call: the shares' grain
    return abs(fast[0] / fast[1] - ami[0] / ami[1]) <= bound


def pooled(summaries: list[Summary]) -> tuple[int, tuple[int, int], tuple[int, int]]:
    counts = [s.counts for s in summaries]
    offered = sum(c.offered for c in counts)
    answered = sum(c.answered for c in counts)
    return (offered, (answered, offered),
            (sum(c.qs30_within for c in counts), sum(c.qs_answered for c in counts)))


@pytest.mark.parametrize(("name", "start"), [
    ("sas-large-transfers-morning.toml", (9, 0)),  # N1 → OSNP → MG transfers
    ("sas-small-saturday-116117.toml", (11, 40)),  # across noon: 116 117 to the PDSA
])
async def test_offered_answered_and_qs30_agree_with_acd_simulate(
        name: str, start: tuple[int, int]) -> None:
    config, scenario = load_day(SCENARIOS / name)
    hour, minute = start
    scenario = msgspec.structs.replace(
        scenario, start=scenario.start.replace(hour=hour, minute=minute), duration_s=1800)
    fast = [play_day(config, scenario, seed=seed).summary for seed in SEEDS]
    runs = await asyncio.gather(*(run_scenario(config, scenario, seed=seed, speed=600)
                                  for seed in SEEDS))
    ami = [run.summary for run in runs]
    assert all(run.hung_up_by_router == [] for run in runs)
    fast_offered, fast_answered, fast_qs = pooled(fast)
    ami_offered, ami_answered, ami_qs = pooled(ami)
    assert fast_offered == ami_offered > 30
    assert within_sampling_error(fast_answered, ami_answered), (fast_answered, ami_answered)
    assert within_sampling_error(fast_qs, ami_qs), (fast_qs, ami_qs)


def test_the_tolerance_tells_a_different_service_apart() -> None:
    assert within_sampling_error((95, 100), (93, 100))
    assert not within_sampling_error((95, 100), (75, 100))
    assert not within_sampling_error((950, 1000), (900, 1000))
