"""Patience beyond where the records stop: a fitted tail, drawn conditioned on the
last point, never a point mass (acd.tools.plan.patience, calls.patience_tail)."""

from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

import numpy as np
import pytest

from acd.errors import ConfigError
from acd.tools.plan.patience import MIN_AT_RISK, estimate_patience
from acd.tools.simulate.scenario import PatienceTail, load_scenario
from acd.tools.simulate.traffic import patience_draw
from tests.support.paths import REPO


def test_beyond_the_last_point_the_tail_is_drawn_conditioned_on_it() -> None:
    points = [[0.25, 20.0], [0.5, 60.0]]
    tail = PatienceTail(family="exponential", shape=1.0, scale_s=100.0)
    rng = random.Random(1)
    draws = [patience_draw(points, tail, rng.random()) for _ in range(40_000)]
    beyond = [d for d in draws if d > 60.0]
    assert len(beyond) / len(draws) == pytest.approx(0.5, abs=0.01)
    # memoryless: beyond 60 s, 60 s plus an exponential of mean 100 s
    assert statistics.mean(beyond) == pytest.approx(160.0, rel=0.03)
    assert patience_draw(points, tail, 0.375) == pytest.approx(40.0)  # between points
    # a Weibull tail alone: the whole distribution
    weibull = PatienceTail(family="weibull", shape=2.0, scale_s=100.0)
    assert patience_draw([], weibull, 1 - math.exp(-1)) == pytest.approx(100.0)


def test_waits_cut_at_90_s_give_kaplan_meier_to_there_and_the_tail_beyond() -> None:
    """Every wait ends by 90 s (the overflow to a partner): the records stop there."""
    rng = random.Random(2)
    events: list[float] = []
    censored: list[float] = []
    for _ in range(8000):
        patience, wait = rng.expovariate(1 / 120), min(rng.expovariate(1 / 30), 90.0)
        (events if patience < wait else censored).append(min(patience, wait))
    est = estimate_patience(events, censored)
    assert est.observed_until_s <= 90.0
    everyone = np.asarray(events + censored)
    assert (everyone >= est.observed_until_s).sum() >= MIN_AT_RISK
    assert est.tail.family == "exponential"
    for p in (0.5, 0.75, 0.9, 0.99):  # far beyond the data, and no point mass there
        assert est.quantile(p) == pytest.approx(-120 * math.log(1 - p), rel=0.10)
    assert est.quantile(0.99) > est.quantile(0.9) > est.observed_until_s
    assert est.points()[-1][1] == pytest.approx(est.observed_until_s, abs=0.1)


def test_a_tail_with_an_exponential_patience_is_refused(tmp_path: Path) -> None:
    text = (REPO / "config" / "scenarios" / "sas-large-known-truth-day.toml").read_text(
        encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text(text.replace('patience_distribution = "exponential"',
                                 'patience_distribution = "exponential"\n'
                                 'patience_tail = { family = "exponential", scale_s = 90 }'),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="patience"):
        load_scenario(path)
