"""``acd plan`` end to end: the planner on real scenarios and sites, the command line,
its JSON, ``acd simulate --staffing-from`` and the traffic read from records.

Days here are short (two hours of the large SAS's morning, a quiet day of records)
and seeds few, so that the whole file runs in seconds; the full winter-surge plan is
measured by ``benchmarks/plan.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import redis

from acd.config import Config
from acd.store import keys
from acd.tools.fastday import load_day, play_day
from acd.tools.plan.measure import measure
from acd.tools.plan.model import Plan, parse_targets
from acd.tools.plan.planner import Planner
from acd.tools.plan.staffing import grid_of, max_counts, steps_of, with_positions
from acd.tools.simulate.scenario import Scenario, StaffingStep
from tests.support.paths import REPO

PEAK = REPO / "config" / "scenarios" / "sas-large-morning-peak.toml"
SEEDS = (59, 60)


def morning(counts: dict[str, int] | None = None) -> tuple[Config, Scenario]:
    """08:00–10:00 of the morning peak, its own staffing or ``counts`` all along."""
    config, scenario = load_day(PEAK)
    scenario = msgspec.structs.replace(
        scenario, start=scenario.start.replace(hour=8), duration_s=7200, script=[])
    if counts is not None:
        scenario = msgspec.structs.replace(
            scenario, staffing=[StaffingStep(at="00:00", counts=counts)])
    return config, scenario


def plan_for(config: Config, scenario: Scenario, targets: str) -> Plan:
    return Planner(config, scenario, parse_targets(targets), seeds=SEEDS).plan()


def test_the_plan_meets_its_targets_and_replays_to_the_same_figures() -> None:
    config, scenario = morning()
    plan = plan_for(config, scenario, "qs30>=0.90,qs60>=0.99")
    assert plan.intervals and all(i.met for i in plan.intervals)
    assert all(i.qs30 is not None and i.qs30 >= 0.90 for i in plan.intervals)
    assert plan.kept_roles == ["AMU_N2", "OSNP", "MG", "MRH", "PSY"]
    # the same staffing played again on the same seeds gives the plan's figures
    staff = [i.staff for i in plan.intervals]
    site, _ = with_positions(config, max_counts(staff))
    grid = grid_of(scenario, site, plan.interval_s)
    steps = steps_of(grid, staff, site)
    per_seed = [measure(play_day(site, scenario, seed=s, staffing=steps).records, site, grid)
                for s in SEEDS]
    for k, interval in enumerate(plan.intervals):
        answered = sum(day[k].answered for day in per_seed)
        within = sum(day[k].within30 for day in per_seed)
        qs30, band = interval.qs30, interval.qs30_band
        assert qs30 == pytest.approx(within / answered)
        assert qs30 is not None and band is not None and band[0] <= qs30 <= band[1]
        assert interval.offered == sum(day[k].offered for day in per_seed) / len(SEEDS)


def test_a_room_staffed_too_generously_is_told_how_many_it_can_spare() -> None:
    config, scenario = morning({"ARM_N1": 8, "AMU_N2": 4})
    plan = plan_for(config, scenario, "qs30>=0.90")
    assert all(i.met for i in plan.intervals)
    needed, planned = plan.staff_hours()["ARM_N1"], plan.planned_hours()["ARM_N1"]
    assert planned == 16.0 and needed < planned
    assert all(i.staff["AMU_N2"] == 4 for i in plan.intervals)  # kept: no N2 traffic


def test_a_short_room_gets_more_people_and_a_positions_count() -> None:
    config, scenario = morning({"ARM_N1": 1, "AMU_N2": 0})
    own = play_day(config, scenario, seed=SEEDS[0]).summary.counts.qs30.value
    assert own is not None and own < 0.5  # one ARM cannot hold the morning
    plan = plan_for(config, scenario, "qs30>=0.90")
    assert all(i.met for i in plan.intervals)
    assert all(i.staff["ARM_N1"] > i.planned["ARM_N1"] for i in plan.intervals)


def test_a_stricter_target_never_needs_fewer_people() -> None:
    config, scenario = morning()
    loose = plan_for(config, scenario, "qs30>=0.80").staff_hours()["ARM_N1"]
    strict = plan_for(config, scenario, "qs30>=0.97,qs60>=0.995").staff_hours()["ARM_N1"]
    assert strict > loose


def test_a_filiere_the_scenario_leaves_empty_is_planned_for_its_transferred_callers(
        ) -> None:
    """N1 sends 45 % of its calls on to OSNP, where the scenario logs nobody in: the
    OSNP queue has callers, so OSNP is planned, against its default wait target."""
    config, scenario = load_day(REPO / "config" / "scenarios"
                                / "sas-large-transfers-morning.toml")
    scenario = msgspec.structs.replace(
        scenario, duration_s=3600, staffing=[StaffingStep(
            at="00:00", counts={"ARM_N1": 4, "AMU_N2": 3, "OSNP": 0, "MG": 6})])
    own = play_day(config, scenario, seed=SEEDS[0]).summary.queues["OSNP"]
    assert own.offered > 0 and own.answered == 0
    plan = Planner(config, scenario, parse_targets("qs30>=0.80"), seeds=SEEDS[:1]).plan()
    assert "OSNP" not in plan.kept_roles
    assert "osnp_p90<=120" in [str(t) for t in plan.targets]
    assert all(i.staff["OSNP"] >= 1 for i in plan.intervals) and all(
        i.met for i in plan.intervals)


def test_more_people_than_the_roster_holds_are_added_as_positions() -> None:
    config, scenario = morning()
    scenario = msgspec.structs.replace(scenario, calls=msgspec.structs.replace(
        scenario.calls, factor=4.0))
    plan = Planner(config, scenario, parse_targets("qs30>=0.90"), seeds=SEEDS[:1]).plan()
    assert plan.positions_added.get("ARM_N1", 0) > 0
    assert max(i.staff["ARM_N1"] for i in plan.intervals) == 8 + plan.positions_added[
        "ARM_N1"]
    assert all(i.met for i in plan.intervals)


def acd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "acd.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=REPO)


def short_scenario(tmp_path: Path) -> Path:
    text = PEAK.read_text(encoding="utf-8")
    text = text.replace('start = "2026-01-13T07:00:00"', 'start = "2026-01-13T08:00:00"')
    text = text.replace("duration_s = 14400", "duration_s = 3600")
    text = text.replace('site = "config/sas-large.toml"',
                        f'site = "{REPO / "config" / "sas-large.toml"}"')
    path = tmp_path / "peak.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_acd_plan_json_and_simulate_staffing_from_it(tmp_path: Path) -> None:
    scenario = short_scenario(tmp_path)
    planned = acd("plan", "--scenario", str(scenario), "--target", "qs30>=0.90",
                  "--seeds", "2", "--jobs", "1", "--json")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert len(plan["intervals"]) == 2
    for interval in plan["intervals"]:
        assert {"start", "staff", "qs30", "qs60", "abandon_rate", "occupancy",
                "planned"} <= set(interval)
        assert interval["start"].startswith("2026-01-13T08:")
        assert interval["qs30"] >= 0.90 and set(interval["staff"]) >= {
            "ARM_N1", "AMU_N2", "OSNP", "MG"}
        assert 0 < interval["occupancy"]["ARM_N1"] <= 1
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(planned.stdout, encoding="utf-8")
    played = acd("simulate", "--scenario", str(scenario), "--staffing-from", str(plan_file),
                 "--speed", "120", "--json")
    assert played.returncode == 0, played.stderr
    summary = json.loads(played.stdout.strip().splitlines()[-1])["summary"]
    assert [i["start"] for i in summary["intervals"]] == [i["start"]
                                                          for i in plan["intervals"]]
    for mine, theirs in zip(summary["intervals"], plan["intervals"], strict=True):
        low = theirs["qs30_band"][0]
        # the AMI path runs on real time (at ×120 a millisecond of latency is 0.12 s of
        # the day) and two seeds' band is not a promise (docs/plan-history.md): two
        # calls beyond the plan's band at most
        assert mine["qs30"] >= low - 2 / mine["answered"]


def test_a_plan_replayed_on_the_fast_day_is_judged_against_its_own_band(
        tmp_path: Path) -> None:
    scenario = short_scenario(tmp_path)
    planned = acd("plan", "--scenario", str(scenario), "--target", "qs30>=0.90",
                  "--seeds", "2", "--jobs", "1", "--json")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["band_level"] == 0.9 and set(plan["band_dispersion"]) == set(plan["targets"])
    assert all(phi >= 1 for phi in plan["band_dispersion"].values())
    for interval in plan["intervals"]:
        bands = interval["target_bands"]
        assert set(bands) <= set(plan["targets"]) and bands["qs30>=0.9"] == interval["qs30_band"]
        low, high = bands["qs30>=0.9"]
        assert low <= interval["qs30"] <= high <= 1
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(planned.stdout, encoding="utf-8")
    replayed = acd("simulate", "--scenario", str(scenario), "--fast", "--staffing-from",
                   str(plan_file), "--seed", "4242", "--json")
    assert replayed.returncode == 0, replayed.stderr
    summary = json.loads(replayed.stdout.strip().splitlines()[-1])["summary"]
    for mine, theirs in zip(summary["intervals"], plan["intervals"], strict=True):
        assert set(mine["targets"]) == set(plan["targets"])
        for target, check in mine["targets"].items():
            band = theirs["target_bands"].get(target)
            assert check["band"] == band
            if target.startswith("qs30") and check["value"] is not None:
                assert check["met"] == (check["value"] >= 0.9)
                assert check["within_band"] == (check["met"] or check["value"] >= band[0])
    table = acd("simulate", "--scenario", str(scenario), "--fast", "--staffing-from",
                str(plan_file), "--seed", "4242")
    assert "targets missed beyond the plan's band: " in table.stdout
    days = acd("simulate", "--scenario", str(scenario), "--fast", "--days", "2",
               "--staffing-from", str(plan_file))
    assert days.returncode == 1 and "a plan is one day's" in days.stderr


def test_acd_plan_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    scenario = short_scenario(tmp_path)
    bad_target = acd("plan", "--scenario", str(scenario), "--target", "qs30>0.9")
    assert bad_target.returncode == 2 and "qs30>0.9" in bad_target.stderr
    no_source = acd("plan", "--target", "qs30>=0.9")
    assert no_source.returncode == 2 and "--scenario" in no_source.stderr
    no_dates = acd("plan", "--records", str(scenario), "--target", "qs30>=0.9",
                   "--config", "config/sas-small.toml")
    assert no_dates.returncode == 2 and "--from" in no_dates.stderr
    (tmp_path / "bad.json").write_text('{"intervals": [{"start": "x", "staff": {}}]}')
    bad_plan = acd("simulate", "--scenario", str(scenario), "--staffing-from",
                   str(tmp_path / "bad.json"))
    assert bad_plan.returncode == 1 and "intervals[0].start" in bad_plan.stderr


def a_week_of_records() -> list[bytes]:
    """A week of a quiet site's records (sas-small), the Wednesday busiest."""
    config, day = load_day(REPO / "config" / "scenarios" / "sas-small-saturday-116117.toml")
    encoder = msgspec.json.Encoder()
    out: list[bytes] = []
    for n in range(7):
        scenario = msgspec.structs.replace(
            day, start=day.start.replace(day=9 + n, hour=0), duration_s=86_399,
            calls=msgspec.structs.replace(day.calls, per_day={"15": 40 + 20 * (n == 2)},
                                          patience_s=[5.0, 90.0]),
            staffing=[StaffingStep(at="00:00", counts={"ARM_N1": 1, "MG": 1})])
        out += [encoder.encode(r) for r in play_day(config, scenario, seed=n).records]
    return out


def check_history_plan(planned: subprocess.CompletedProcess[str]) -> None:
    assert planned.returncode in (0, 1), planned.stderr
    assert "planning a Wednesday" in planned.stderr  # 11 March: the busiest day
    plan = json.loads(planned.stdout)
    assert len(plan["intervals"]) == 12 and plan["intervals"][0]["start"][11:16] == "00:00"
    assert sum(i["offered"] for i in plan["intervals"]) > 30


HISTORY = ("--from", "2026-03-09", "--to", "2026-03-15", "--target", "qs30>=0.9",
           "--seeds", "1", "--jobs", "1", "--interval", "2h", "--json")


def test_acd_plan_from_a_sites_records(tmp_path: Path) -> None:
    """A week of records in a file → the busiest weekday planned from them."""
    records = tmp_path / "records.jsonl"
    records.write_bytes(b"\n".join(a_week_of_records()) + b"\n")
    check_history_plan(acd("plan", "--records", str(records), "--config",
                           "config/sas-small.toml", *HISTORY))


def test_acd_plan_from_the_records_kept_in_redis(
        tmp_path: Path, redis_url: str, redis_namespace: str) -> None:
    """The same week in the site's Redis records stream, as the router writes it."""
    client = redis.Redis.from_url(redis_url)
    try:
        for raw in a_week_of_records():
            client.xadd(keys.records(redis_namespace), {"r": raw})
        site = tmp_path / "site.toml"
        site.write_text((REPO / "config" / "sas-small.toml").read_text(encoding="utf-8")
                        + f'\n[redis]\nurl = "{redis_url}"\nnamespace = "{redis_namespace}"\n',
                        encoding="utf-8")
        check_history_plan(acd("plan", "--redis", str(site), *HISTORY))
    finally:
        client.delete(*keys.all_keys(redis_namespace))
        client.close()


def test_acd_plan_compares_policies_and_writes_its_page(tmp_path: Path) -> None:
    scenario = short_scenario(tmp_path)
    page = tmp_path / "plan.html"
    planned = acd("plan", "--scenario", str(scenario), "--target", "qs30>=0.90",
                  "--seeds", "2", "--jobs", "2", "--compare-policies", "--html", str(page))
    assert planned.returncode == 0, planned.stderr
    table = planned.stdout
    assert "Routing policies on the same trace" in table
    names = [line.split()[0].split("+")[0] for line in table.splitlines()
             if line.split() and line.split()[0].split("+")[0] in (
                 "acd", "ringall", "leastrecent", "fewestcalls", "rrmemory", "linear",
                 "random")]
    # the router, the same ringing one phone at a time, its fixed rule, then
    # app_queue's best variant of each strategy
    assert names == ["acd", "acd", "acd", "ringall", "leastrecent", "fewestcalls",
                     "rrmemory", "linear", "random"]
    assert "acd (one phone)" in table and "acd (fixed expansion)" in table
    assert sum(line.split()[1:2] == ["*"] for line in table.splitlines()) == 1  # the best
    text = page.read_text(encoding="utf-8")
    assert text.count("<img") >= 3 and "leastrecent" in text and "http" not in text
    nowhere = acd("plan", "--scenario", str(scenario), "--target", "qs30>=0.90",
                  "--seeds", "1", "--jobs", "1", "--html", str(tmp_path / "no" / "p.html"))
    assert nowhere.returncode == 2 and "--html: cannot write" in nowhere.stderr
    assert "QS30" in nowhere.stdout  # the plan itself was printed


def test_warm_transfers_nobody_took_count_for_their_filiere() -> None:
    """One GP regulator for a morning of warm OSNP → MG transfers: most are cancelled
    (the OSNP keeps the caller) and leave no MG leg in the records; the plan still
    sees MG's demand and staffs it."""
    config, scenario = load_day(REPO / "config" / "scenarios"
                                / "sas-large-warm-transfers-morning.toml")
    scenario = msgspec.structs.replace(scenario, duration_s=3600, staffing=[StaffingStep(
        at="00:00", counts={"ARM_N1": 5, "AMU_N2": 2, "OSNP": 3, "MG": 1})])
    day = play_day(config, scenario, seed=SEEDS[0])
    cancelled = [t for t in day.transfers if t.to_queue == "MG" and t.result == "cancelled"]
    assert cancelled
    plan = Planner(config, scenario, parse_targets("qs30>=0.80"), seeds=SEEDS[:1]).plan()
    assert "mg_p90<=120" in [str(t) for t in plan.targets]
    assert max(i.staff["MG"] for i in plan.intervals) > 1
    assert all(i.met for i in plan.intervals)
