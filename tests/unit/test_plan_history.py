"""A site's traffic from its own call records (``acd.tools.plan.history``), on records
generated with a known truth: Poisson arrivals at known rates, uniform talk times,
known transfer shares, exponential patience censored by known waits. Each estimate must
recover the truth within its sampling error (the tolerance is written beside it), and
the Kaplan–Meier patience must beat the naive estimate that ignores censoring."""

from __future__ import annotations

import functools
import math
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pytest
from scipy import stats

from acd.config.load import load_config
from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord
from acd.errors import ConfigError
from acd.tools.plan.arrivals import SLOTS, UPPER_Z
from acd.tools.plan.history import (
    HistoryEstimate,
    censored_durations,
    estimate_history,
)
from acd.tools.simulate.scenario import Scenario, load_scenario
from acd.tools.simulate.traffic import patience_draw, plan, quantile_draw
from acd.tools.tomlwrite import dumps

ZONE = ZoneInfo("Europe/Paris")
REPO = Path(__file__).resolve().parents[2]
FIRST = date(2026, 1, 5)  # a Monday
WEEKS = 4
PATIENCE_MEAN_S = 120.0
WAIT_MEAN_S = 60.0
TALK = {"ARM_N1": (40.0, 120.0), "OSNP": (60.0, 180.0)}
N1_TO_OSNP = 0.45


def rate(number: str, weekday: int, slot: int) -> float:
    """The truth: mean calls per half-hour (a day-night shape, busier on Mondays and
    at weekends for the 15, flat for the 116 117)."""
    if number == "116117":
        return 2.0
    shape = 3.0 + 5.0 * math.sin(math.pi * slot / SLOTS) ** 2
    return shape * (1.3 if weekday in (0, 5, 6) else 1.0)


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds")


def call(uid: int, number: str, at: datetime, rng: random.Random) -> CallRecord:
    patience = rng.expovariate(1 / PATIENCE_MEAN_S)
    wait = rng.expovariate(1 / WAIT_MEAN_S)
    if patience < wait:  # hangs up before an agent is free: patience is seen
        end = at + timedelta(seconds=patience)
        leg = LegRecord(queue="ARM_N1", agent=None, entered_at=iso(at), answered_at=None,
                        ended_at=iso(end), wait_s=None, talk_s=None)
        return _record(uid, number, at, [leg], "abandoned", None, end)
    answered = at + timedelta(seconds=round(wait, 3))
    talk = round(rng.uniform(*TALK["ARM_N1"]), 3)
    ended = answered + timedelta(seconds=talk)
    legs = [LegRecord(queue="ARM_N1", agent="arm1", entered_at=iso(at),
                      answered_at=iso(answered), ended_at=iso(ended),
                      wait_s=round(wait, 3), talk_s=talk)]
    if rng.random() < N1_TO_OSNP:
        talk2 = round(rng.uniform(*TALK["OSNP"]), 3)
        picked = ended + timedelta(seconds=20)
        ended = picked + timedelta(seconds=talk2)
        legs.append(LegRecord(queue="OSNP", agent="osnp1", entered_at=legs[0].ended_at or "",
                              answered_at=iso(picked), ended_at=iso(ended), wait_s=20.0,
                              talk_s=talk2))
    return _record(uid, number, at, legs, "answered", round(wait, 3), ended)


def _record(uid: int, number: str, at: datetime, legs: list[LegRecord], outcome: str,
            wait: float | None, ended: datetime) -> CallRecord:
    return CallRecord(uniqueid=str(uid), linkedid=str(uid), number=number,
                      caller_name="x", queues=[lg.queue for lg in legs], arrived_at=iso(at),
                      answered_at=legs[0].answered_at, ended_at=iso(ended),
                      outcome=Outcome(outcome), agent=legs[0].agent, wait_s=wait, priority=5,
                      channel=f"PJSIP/trunk-{uid}", legs=legs)


@functools.cache
def history(skip: frozenset[date] = frozenset(), seed: int = 16) -> list[CallRecord]:
    """Four weeks of records: Poisson counts per half-hour at the true rates."""
    return _history_of(rate, skip, seed)


class _Rate(Protocol):
    def __call__(self, number: str, weekday: int, slot: int) -> float: ...


def _history_of(truth: _Rate, skip: frozenset[date] = frozenset(), seed: int = 16
                ) -> list[CallRecord]:
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    records: list[CallRecord] = []
    for day_index in range(7 * WEEKS):
        day = FIRST + timedelta(days=day_index)
        if day in skip:
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=ZONE)
        for number in ("15", "116117"):
            for slot in range(SLOTS):
                for _ in range(np_rng.poisson(truth(number, day.weekday(), slot))):
                    at = midnight + timedelta(seconds=slot * 1800 + rng.uniform(0, 1799))
                    records.append(call(len(records), number, at, rng))
    return records


@pytest.fixture(scope="module")
def estimate() -> HistoryEstimate:
    return estimate_history(history())


def test_arrivals_per_weekday_and_half_hour_recover_the_poisson_rates(
        estimate: HistoryEstimate) -> None:
    # the truth's weekdays share one shape (busier Mondays and weekends, the same
    # half-hours): the shape is read from all of them, each weekday keeps its volume
    assert all(group == tuple(range(7)) for by_day in estimate.shape_from.values()
               for group in by_day.values())
    # the standardised errors, each by its own standard error, must look like N(0, 1).
    # A weekday's figures share its volume's error and a half-hour's its shape's, so the
    # mean square of one history's 672 wanders (sd 0.13 over 30 histories): over five
    # histories its mean is within 1 ± 0.2 (±3 sd), and no |z| beyond 6
    squares = []
    for seed in range(16, 21):
        est = estimate if seed == 16 else estimate_history(history(seed=seed))
        z = [(est.rate(n, wd, s) - rate(n, wd, s)) / est.arrivals_se[n][wd][s]
             for n in ("15", "116117") for wd in range(7) for s in range(SLOTS)]
        assert max(abs(v) for v in z) < 6
        squares.append(sum(v * v for v in z) / len(z))
    assert estimate.days == dict.fromkeys(range(7), WEEKS)
    assert 0.8 < sum(squares) / len(squares) < 1.2
    # pooled, a half-hour is known far better than from its weekday's 4 days alone
    own_se = [math.sqrt(rate("15", wd, s) / WEEKS) for wd in range(7) for s in range(SLOTS)]
    pooled_se = [estimate.arrivals_se["15"][wd][s] for wd in range(7) for s in range(SLOTS)]
    assert sum(pooled_se) < 0.55 * sum(own_se)
    # a day's total: 48 intervals, standard error √(Λ/4), within 3.5 of them
    for wd in range(7):
        truth = sum(rate("15", wd, s) for s in range(SLOTS))
        got = sum(estimate.arrivals["15"][wd])
        assert abs(got - truth) < 3.5 * math.sqrt(truth / WEEKS)


def test_a_weekday_whose_records_show_another_shape_keeps_its_own() -> None:
    """Sundays with their calls in the morning: the test of shapes sets them apart,
    and the other weekdays' shape is read without them."""
    def sunday_morning(number: str, weekday: int, slot: int) -> float:
        if weekday == 6 and number == "15":
            return 12.0 if 16 <= slot < 28 else 2.0
        return rate(number, weekday, slot)

    est = estimate_history(_history_of(sunday_morning, seed=5))
    assert est.shape_from["15"][6] == (6,)
    assert est.shape_from["15"][0] == (0, 1, 2, 3, 4, 5)
    z = [(est.rate("15", wd, s) - sunday_morning("15", wd, s)) / est.arrivals_se["15"][wd][s]
         for wd in range(7) for s in range(SLOTS)]
    assert max(abs(v) for v in z) < 4.5


def test_a_plan_may_be_sized_for_the_upper_bound(estimate: HistoryEstimate) -> None:
    bounded = estimate.bounded()
    assert bounded.bound_z == pytest.approx(UPPER_Z)
    assert bounded.arrivals_mean == estimate.arrivals
    for wd in range(7):
        for s in range(SLOTS):
            se = estimate.arrivals_se["15"][wd][s]
            assert bounded.rate("15", wd, s) == pytest.approx(
                estimate.rate("15", wd, s) + UPPER_Z * se)
    # the bound holds the truth about nine times in ten (one-sided 90 %): over five
    # histories within 0.85–0.93 (the share's sd is 0.025 for one history)
    held = []
    for seed in range(16, 21):
        est = bounded if seed == 16 else estimate_history(history(seed=seed)).bounded()
        held += [est.rate(n, wd, s) >= rate(n, wd, s)
                 for n in ("15", "116117") for wd in range(7) for s in range(SLOTS)]
    assert 0.85 < sum(held) / len(held) < 0.93
    with pytest.raises(ValueError, match="already at a bound"):
        bounded.bounded()


def test_a_day_without_records_is_an_outage_not_a_quiet_day() -> None:
    outage = FIRST + timedelta(days=7)  # the second Monday
    est = estimate_history(history(skip=frozenset({outage})),
                           start=FIRST, end=FIRST + timedelta(days=7 * WEEKS - 1))
    assert est.empty_days == (outage,)
    assert est.days[0] == WEEKS - 1
    # the Monday mean is over the 3 Mondays with records: no 25 % dip
    truth = sum(rate("15", 0, s) for s in range(SLOTS))
    assert abs(sum(est.arrivals["15"][0]) - truth) < 3.5 * math.sqrt(truth / (WEEKS - 1))
    assert "left out" in est.summary()


def test_talk_times_per_role_recover_the_uniform_ranges(estimate: HistoryEstimate) -> None:
    for role, (low, high) in TALK.items():
        d = estimate.talk[role]
        # the mean of n uniform draws: standard error (high - low) / √(12 n); the fitted
        # ends move with the sample sd too: a few seconds at n in the thousands
        se = (high - low) / math.sqrt(12 * d.observations)
        assert abs(d.mean_s - (low + high) / 2) < 4 * se
        assert d.range_s[0] == pytest.approx(low, abs=3.0)
        assert d.range_s[1] == pytest.approx(high, abs=3.0)
        assert d.quantiles[0.5] == pytest.approx((low + high) / 2, abs=3.0)


def test_transfer_shares_come_from_the_legs(estimate: HistoryEstimate) -> None:
    n = estimate.talk["ARM_N1"].observations
    share = estimate.transfers["ARM_N1"]["OSNP"]
    # a binomial share: standard error √(p (1 - p) / n)
    assert abs(share - N1_TO_OSNP) < 4 * math.sqrt(N1_TO_OSNP * (1 - N1_TO_OSNP) / n)
    assert set(estimate.transfers) == {"ARM_N1"}


def test_patience_is_kaplan_meier_over_censored_waits_and_the_naive_one_is_biased(
        estimate: HistoryEstimate) -> None:
    pat = estimate.patience
    truth = {p: -PATIENCE_MEAN_S * math.log(1 - p) for p in pat.quantiles}
    # patience ~ Exp(mean 120 s), waits ~ Exp(mean 60 s): a third of callers abandon
    assert pat.events / pat.observations == pytest.approx(1 / 3, abs=0.02)
    # Kaplan–Meier: each quantile within 4 standard errors of the truth. The standard
    # error of a quantile t_p is SE(S(t_p)) / f(t_p), SE(S) from Greenwood's formula
    # (scipy's 95 % band is ±1.96 of it): 2 % of the median, 8 % of the 90th percentile,
    # where few callers are still waiting. Measured: within 1 standard error.
    greenwood = _survival().confidence_interval(0.95)
    low, high = cast(_Step, greenwood.low), cast(_Step, greenwood.high)
    for p, q in pat.quantiles.items():
        se_s = (high.evaluate(truth[p]) - low.evaluate(truth[p])) / (2 * 1.96)
        se_q = se_s / ((1 - p) / PATIENCE_MEAN_S)
        assert abs(q - truth[p]) < 4 * se_q, p
    # the naive estimate keeps the abandons only: the impatient callers. Their waits
    # are Exp(mean 40 s) (the minimum of the two clocks): the median falls by two thirds
    # (measured: −64 % to −67 % at every quantile, mean 40 s for 120 s)
    for p in (0.1, 0.5, 0.9):
        assert np.quantile(_abandon_waits(), p) < 0.45 * truth[p]
    assert float(np.mean(_abandon_waits())) < 0.45 * PATIENCE_MEAN_S


def test_the_true_survival_lies_in_scipys_confidence_band() -> None:
    band = _survival().confidence_interval(0.999)
    # (the stubs type the band's ends as numbers: they are step functions)
    low, high = cast(_Step, band.low), cast(_Step, band.high)
    for t in (30.0, 60.0, 120.0, 240.0):
        truth = math.exp(-t / PATIENCE_MEAN_S)
        assert low.evaluate(t) <= truth <= high.evaluate(t)


def test_censored_durations_without_any_abandon_is_refused() -> None:
    with pytest.raises(ValueError, match="patience"):
        censored_durations([], [10.0, 20.0])


def test_surge_multiplies_arrivals_and_the_scenario_plays_it(
        estimate: HistoryEstimate) -> None:
    surged = estimate.scaled(1.55)
    assert surged.rate("15", 2, 20) == pytest.approx(1.55 * estimate.rate("15", 2, 20))
    scenario = surged.to_scenario(2, site="config/sas-large.toml")
    # a valid scenario: it survives the strict decoding of a scenario file
    again = msgspec.convert(msgspec.to_builtins(scenario), Scenario)
    assert again.calls.factor == 1.55
    assert again.start.weekday() == 2 and again.duration_s == 86_400
    assert again.calls.per_day["15"] == pytest.approx(sum(estimate.arrivals["15"][2]))
    hourly = again.calls.hourly
    assert sum(hourly) == pytest.approx(sum(again.calls.per_day.values()))
    assert hourly[12] > hourly[0]  # midday busier than midnight, as the truth
    assert again.agents.transfers["ARM_N1"]["OSNP"] == pytest.approx(N1_TO_OSNP, abs=0.03)
    assert again.agents.talk_s["OSNP"] == list(estimate.talk["OSNP"].range_s)
    assert again.calls.patience_s == list(estimate.patience.range_s)
    assert "surge × 1.55" in surged.summary()


def _survival() -> Any:
    """scipy's Kaplan–Meier survival function of the generated patience."""
    censored = [r.wait_s for r in history() if r.wait_s is not None]
    return stats.ecdf(stats.CensoredData(uncensored=_abandon_waits(), right=censored)).sf


class _Step(Protocol):
    def evaluate(self, x: float) -> float: ...


def _abandon_waits() -> list[float]:
    return [(datetime.fromisoformat(r.ended_at or "") - datetime.fromisoformat(r.arrived_at))
            .total_seconds() for r in history() if r.outcome == "abandoned"]


def test_the_scenario_plays_the_kaplan_meier_patience_not_a_uniform(
        estimate: HistoryEstimate, tmp_path: Path) -> None:
    scenario = estimate.to_scenario(0, site="config/sas-large.toml")
    # written as a scenario file and read back: the same scenario
    assert load_check(scenario, tmp_path) == []
    assert load_scenario(tmp_path / "s.toml") == scenario
    points = scenario.calls.patience_quantiles_s
    assert points == [list(p) for p in estimate.patience.points]
    tail = scenario.calls.patience_tail
    assert tail is not None and tail.family == "exponential"
    # draws through those points, then the fitted tail beyond the last one, follow the
    # truth: median and 90th percentile of 20,000 draws within 6 % (the points' own
    # error, measured ≤ 4 %, plus the draws')
    rng = random.Random(3)
    draws = [patience_draw(points, tail, rng.random()) for _ in range(20_000)]
    for p in (0.5, 0.9):
        truth = -PATIENCE_MEAN_S * math.log(1 - p)
        assert float(np.quantile(draws, p)) == pytest.approx(truth, rel=0.06)
    # no point mass where the records stop: the most patient callers are spread out
    assert sum(d == points[-1][1] for d in draws) < 0.01 * len(draws)
    assert max(draws) > 3 * points[-1][1]


def test_quantile_draw_interpolates_and_holds_after_the_last_point() -> None:
    points = [[0.5, 100.0], [0.8, 400.0]]
    assert quantile_draw(points, 0.25) == pytest.approx(50.0)
    assert quantile_draw(points, 0.65) == pytest.approx(250.0)
    assert quantile_draw(points, 0.95) == 400.0


def test_patience_points_must_go_up(estimate: HistoryEstimate, tmp_path: Path) -> None:
    calls = msgspec.structs.replace(
        estimate.to_scenario(0, site="config/sas-large.toml").calls,
        patience_quantiles_s=[[0.5, 100.0], [0.4, 200.0]])
    scenario = msgspec.structs.replace(
        estimate.to_scenario(0, site="config/sas-large.toml"), calls=calls)
    assert load_check(scenario, tmp_path) == [
        ("calls.patience_quantiles_s", "points go up: shares and seconds increasing")]


def load_check(scenario: Scenario, folder: Path) -> list[tuple[str, str]]:
    """The problems ``load_scenario`` finds in ``scenario`` written as a file."""
    data = msgspec.to_builtins(scenario)
    (folder / "s.toml").write_text(dumps(data), encoding="utf-8")
    try:
        load_scenario(folder / "s.toml")
    except ConfigError as exc:
        return exc.problems
    return []


def test_the_scenario_plays_each_numbers_half_hours(estimate: HistoryEstimate) -> None:
    scenario = estimate.scaled(1.55).to_scenario(2, site="config/sas-large.toml")
    config = load_config(REPO / "config/sas-large.toml")
    zone = config.zone()
    counts: dict[tuple[str, int], int] = {}
    days = 8
    for seed in range(days):
        for item in plan(scenario, config, seed=seed):
            if item.call is not None:
                local = datetime.fromtimestamp(item.at, zone)
                key = (item.call.number, local.hour * 2 + local.minute // 30)
                counts[key] = counts.get(key, 0) + 1
    # each half-hour's mean over 8 days against the estimate × 1.55: standardised
    # errors of Poisson counts, none beyond 4.5 and a mean square near 1
    z = []
    for number in ("15", "116117"):
        for slot in range(SLOTS):
            expected = estimate.rate(number, 2, slot) * 1.55 * days
            z.append((counts.get((number, slot), 0) - expected) / math.sqrt(expected))
    assert max(abs(v) for v in z) < 4.5
    assert 0.7 < sum(v * v for v in z) / len(z) < 1.3


def test_callers_who_hung_up_in_the_announcement_are_arrivals_and_patience() -> None:
    """Their records (``in_announcement``) count in the arrivals of their half-hour and
    as abandons at 0 s of wait (they never reached the queue), kept out of the tail's
    fit: with patience T from the caller's arrival and an announcement of A s, the wait's
    axis sees T − A, P(T < A) of it at 0 s."""
    rng = random.Random(3)
    monday = datetime(2026, 1, 5, 10, 0, tzinfo=ZONE)
    records = [call(n, "15", monday + timedelta(seconds=n), rng) for n in range(300)]
    early = [msgspec.structs.replace(
        records[0], uniqueid=str(n), linkedid=str(n), arrived_at=iso(at), answered_at=None,
        ended_at=iso(at + timedelta(seconds=0.3)), outcome="abandoned", agent=None,
        wait_s=None, legs=[], queues=["ARM_N1"], in_announcement=True)
        for n, at in ((n, monday + timedelta(seconds=n)) for n in range(300, 330))]
    without = estimate_history(records)
    est = estimate_history(records + early)
    assert sum(est.arrivals["15"][0]) == sum(without.arrivals["15"][0]) + 30 == 330
    assert est.patience.events == without.patience.events + 30
    assert est.patience.observations == 330
    # 30 of 330 callers gave up before the queue: Kaplan–Meier's 5 % point is at 0 s
    assert est.patience.points[0] == (0.05, 0.0)
    assert without.patience.points[0][1] > 1.0
    # the tail is the hang-up rate in the queue: the same with or without them
    assert est.patience.tail == without.patience.tail
    assert (est.in_announcement, without.in_announcement) == (30, 0)
    assert "30 during the announcement" in est.summary()
