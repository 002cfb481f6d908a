"""``acd plan --records`` against a known truth: a week made by ``acd simulate --fast
--days 7`` from a scenario with backups, warm transfers and exponential patience
(``config/scenarios/sas-large-known-truth-day.toml``), estimated back.

Tolerances (the issue's): talk per (queue, role of the agent) within 5 % of the
scenario's mean, transfer shares within 2 points, patience quantiles up to p90 within
10 %. The truth is read from the scenario, never written here."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from acd.config.load import load_config
from acd.tools.plan.history import HistoryEstimate, estimate_history
from acd.tools.plan.trafficjson import traffic_json
from acd.tools.report import read_records
from acd.tools.simulate.scenario import load_scenario
from acd.tools.simulate.traffic import primary_skill
from tests.support.paths import REPO

TRUTH = REPO / "config" / "scenarios" / "sas-large-known-truth-day.toml"
SITE = REPO / "config" / "sas-large.toml"
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 15)


def acd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "acd.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("week") / "week.jsonl"
    played = acd("simulate", "--scenario", str(TRUTH), "--fast", "--days", "7",
                 "--records-out", str(path), "--json")
    assert played.returncode == 0, played.stderr
    summary = json.loads(played.stdout.splitlines()[-1])["summary"]
    assert summary["days"] == 7 and summary["callers_hung_up_by_router"] == 0
    assert len(path.read_text(encoding="utf-8").splitlines()) == summary["offered"]
    return path


@pytest.fixture(scope="module")
def estimate(week: Path) -> HistoryEstimate:
    config = load_config(SITE)
    return estimate_history(read_records([str(week)]),
                            roles={a.id: primary_skill(a) for a in config.agents})


def test_the_week_is_seven_successive_days_with_their_own_seeds(week: Path) -> None:
    records = list(read_records([str(week)]))
    days = sorted({r.arrived_at[:10] for r in records})
    assert days == [f"2026-03-{d:02d}" for d in range(9, 16)]
    per_day = [sum(r.arrived_at.startswith(d) for r in records) for d in days]
    assert len(set(per_day)) > 1  # different seeds, different days
    # backups answered front-office calls, some transfers were asked for
    assert any(leg.queue == "ARM_N1" and leg.role == "AMU_N2" for r in records for leg in r.legs)
    assert any(t.mode == "warm" for r in records for t in r.transfers)


def test_talk_per_queue_and_role_within_5_percent(estimate: HistoryEstimate) -> None:
    agents = load_scenario(TRUTH).agents
    roles = ("ARM_N1", "AMU_N2")
    for queue in roles:
        for role in roles:
            d = estimate.talk_by_role[f"{queue}/{role}"]
            truth = sum(agents.talk_range(queue, role)) / 2
            assert d.observations >= 100, (queue, role)
            assert d.mean_s == pytest.approx(truth, rel=0.05), (queue, role)


def test_transfer_shares_within_2_points(estimate: HistoryEstimate) -> None:
    truth = load_scenario(TRUTH).agents.transfers
    assert estimate.transfers_seen == "attempts"
    for source, targets in truth.items():
        for target, share in targets.items():
            assert estimate.transfers[source][target] == pytest.approx(share, abs=0.02)
    # backups (AMU regulators answering N1 calls) are not in the denominator
    assert estimate.own_legs["ARM_N1"] == estimate.talk_by_role["ARM_N1/ARM_N1"].observations


def test_patience_quantiles_within_10_percent_and_no_point_mass(
        estimate: HistoryEstimate) -> None:
    calls = load_scenario(TRUTH).calls
    assert calls.patience_distribution == "exponential"
    mean = sum(calls.patience_s) / 2
    pat = estimate.patience
    for p in (0.5, 0.75, 0.9):
        assert pat.quantiles[p] == pytest.approx(-mean * math.log(1 - p), rel=0.10), p
    # the records stop well before p90: beyond, the fitted tail, never a point mass
    assert pat.observed_until_s is not None and pat.observed_until_s < pat.quantiles[0.9]
    assert pat.tail is not None and pat.tail.family == "exponential"
    scenario = estimate.to_scenario(0, site=str(SITE))
    assert scenario.calls.patience_tail is not None
    assert scenario.calls.patience_quantiles_s[-1][1] == pytest.approx(
        pat.observed_until_s, abs=0.1)


def test_acd_plan_json_and_page_carry_the_traffic(week: Path, estimate: HistoryEstimate,
                                                  tmp_path: Path) -> None:
    page = tmp_path / "plan.html"
    planned = acd("plan", "--records", str(week), "--config", str(SITE),
                  "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
                  "--target", "qs30>=0.90", "--seeds", "1", "--jobs", "1",
                  "--interval", "4h", "--json", "--html", str(page))
    assert planned.returncode in (0, 1), planned.stderr
    traffic = json.loads(planned.stdout)["traffic"]
    # sized, by default, for each half-hour's one-sided 90 % upper bound
    assert traffic == json.loads(json.dumps(traffic_json(estimate.bounded())))
    assert traffic["arrivals_bound"] == {"z": 1.2816, "one_sided": 0.9}
    assert all(planned >= mean for planned, mean in zip(
        traffic["arrivals_planned"]["Monday"], traffic["arrivals"]["Monday"], strict=True))
    assert sum(traffic["arrivals_planned"]["Monday"]) > sum(traffic["arrivals"]["Monday"])
    # the truth's weekdays share one shape: read from the seven of them
    assert traffic["arrivals_shape_from"]["15"]["Monday"] == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    assert set(traffic["talk_s"]["ARM_N1/AMU_N2"]) >= {"mean", "n"}
    assert set(traffic["transfer_share"]) == {"ARM_N1->AMU_N2"}
    assert set(traffic["patience_s"]) >= {"p50", "p75", "p90", "observed_until_s"}
    assert len(traffic["arrivals"]["Monday"]) == 48
    assert sum(traffic["arrivals"]["Monday"]) == pytest.approx(
        sum(sum(by_day[0]) for by_day in estimate.arrivals.values()), abs=0.5)
    text = page.read_text(encoding="utf-8")
    assert 'id="traffic"' in text and "ARM_N1/AMU_N2" in text and "ARM_N1 → AMU_N2" in text
    assert "upper bound" in text and "planned for" in text
