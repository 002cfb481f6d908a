"""``acd report``: the monthly indicators from call records, rule by rule."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from acd.config.load import parse_config
from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord
from acd.tools.report import (
    RecordsError,
    Report,
    ReportSettings,
    build_report,
    iter_lines,
    month_keys,
    read_records,
)
from acd.tools.report_render import render_csv, render_md, report_json
from tests.support.cli import acd
from tests.support.paths import REPO
from tests.support.sites import site_toml

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def leg(queue: str, entered: str, answered: str | None = None, ended: str | None = None,
        wait_s: float | None = None, talk_s: float | None = None,
        agent: str | None = None) -> LegRecord:
    return LegRecord(queue=queue, agent=agent or (None if answered is None else "a1"),
                     entered_at=entered, answered_at=answered, ended_at=ended,
                     wait_s=wait_s, talk_s=talk_s)


def call(uid: str, *, arrived: str = "2026-03-10T10:00:00.000+01:00",
         wait_s: float | None = 10.0, outcome: str = "answered",
         ended: str | None = "2026-03-10T10:05:00.000+01:00", period: str = "sas",
         queues: list[str] | None = None, legs: list[LegRecord] | None = None,
         partner: str | None = None, number: str = "15") -> CallRecord:
    queues = queues or ["ARM_N1"]
    if legs is None:
        legs = [leg(queues[0], arrived,
                    answered=arrived if wait_s is not None else None, ended=ended,
                    wait_s=wait_s, talk_s=60.0 if wait_s is not None else None)]
    return CallRecord(
        uniqueid=uid, linkedid=uid, number=number, caller_name="", queues=queues,
        arrived_at=arrived, answered_at=arrived if wait_s is not None else None,
        ended_at=ended, outcome=Outcome(outcome), agent="a1" if wait_s is not None else None,
        wait_s=wait_s, priority=5, channel=f"PJSIP/t-{uid}", legs=legs, period=period,
        partner=partner)


def abandoned(uid: str, after_s: int, **kw: Any) -> CallRecord:
    return call(uid, wait_s=None, outcome="abandoned",
                ended=f"2026-03-10T10:00:{after_s:02d}.000+01:00", **kw)


def figures(records: list[CallRecord], period: str = "all", month: str = "2026-03",
            settings: ReportSettings | None = None) -> Any:
    return build_report(records, *MARCH, settings).months[month][period]


# --------------------------------------------------------------------- the rules


def test_abandoned_calls_are_not_in_the_qs_denominator() -> None:
    f = figures([call("1", wait_s=5.0), call("2", wait_s=45.0), abandoned("3", 40)])
    assert (f.counts.offered, f.counts.answered, f.counts.abandoned) == (3, 2, 1)
    assert (f.counts.qs30.numerator, f.counts.qs30.denominator) == (1, 2)
    assert f.counts.qs30.value == 0.5


def test_a_wait_of_29_999_s_is_within_30_s_and_30_000_s_is_not() -> None:
    f = figures([call("1", wait_s=29.999), call("2", wait_s=30.0)])
    assert (f.counts.qs30.numerator, f.counts.qs30.denominator) == (1, 2)
    assert (f.counts.qs60.numerator, f.counts.qs60.denominator) == (2, 2)


def test_qs_60_against_its_target() -> None:
    f = figures([call("1", wait_s=59.999), call("2", wait_s=60.0)])
    assert (f.counts.qs60.numerator, f.counts.qs60.denominator) == (1, 2)
    assert ReportSettings().qs60_target == 0.99


def test_qs_counts_only_calls_whose_first_queue_is_the_front_office() -> None:
    records = [call("1", wait_s=5.0), call("2", wait_s=5.0, queues=["MG"], period="pdsa")]
    f = figures(records)
    assert f.counts.answered == 2
    assert (f.counts.qs30.numerator, f.counts.qs30.denominator) == (1, 1)
    other = figures(records, settings=ReportSettings(front_office="MG"))
    assert (other.counts.qs30.numerator, other.counts.qs30.denominator) == (1, 1)
    assert figures(records, period="pdsa").counts.qs30.denominator == 0
    assert figures(records, period="pdsa").counts.qs30.value is None


def test_short_abandons_are_left_out_of_offered_in_the_answer_rate() -> None:
    records = [call("1"), call("2"), abandoned("3", 14), abandoned("4", 15),
               abandoned("5", 40)]
    f = figures(records)
    assert (f.counts.offered, f.counts.abandoned, f.counts.short_abandoned) == (5, 3, 1)
    assert (f.counts.answer_rate.numerator, f.counts.answer_rate.denominator) == (2, 4)


def test_a_caller_who_hung_up_in_the_announcement_is_offered_and_a_short_abandon() -> None:
    """DGOS: it reached the SAS (offered), hung up before any pick-up (abandoned), within
    the short-abandon threshold (left out of the answer rate's denominator), never in
    QS 30 s. Counted apart too, in every format."""
    early = msgspec.structs.replace(abandoned("3", 0), legs=[], in_announcement=True,
                                    ended_at="2026-03-10T10:00:00.400+01:00")
    records = [call("1"), call("2", wait_s=45.0), early, abandoned("4", 40)]
    f = figures(records)
    c = f.counts
    assert (c.offered, c.answered, c.abandoned, c.short_abandoned) == (4, 2, 2, 1)
    assert f.counts.abandoned_in_announcement == 1
    assert (f.counts.answer_rate.numerator, f.counts.answer_rate.denominator) == (2, 3)
    assert (f.counts.qs30.numerator, f.counts.qs30.denominator) == (1, 2)
    report = build_report(records, *MARCH)
    assert report_json(report)["months"]["2026-03"]["all"]["abandoned_in_announcement"] == 1
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [r["value"] for r in rows if r["indicator"] == "abandoned_in_announcement"
            and r["period"] == "all"] == ["1"]
    assert "| … of which during the announcement (before any queue) | 1 | 0 | 1 |" in \
        render_md(report)


def test_the_short_abandon_threshold_comes_from_the_site_config() -> None:
    config = parse_config(site_toml("x", sections={"routing": {"short_abandon_s": 20}}))
    settings = ReportSettings.from_config(config)
    assert settings.short_abandon_s == 20.0
    f = figures([abandoned("1", 14), abandoned("2", 19), abandoned("3", 20)],
                settings=settings)
    assert f.counts.short_abandoned == 2


def test_a_transfer_counts_once_with_its_first_pick_up() -> None:
    arrived = "2026-03-10T10:00:00.000+01:00"
    transferred = call("1", wait_s=12.0, queues=["ARM_N1", "MG"], legs=[
        leg("ARM_N1", arrived, "2026-03-10T10:00:12.000+01:00",
            "2026-03-10T10:01:12.000+01:00", wait_s=12.0, talk_s=60.0),
        leg("MG", "2026-03-10T10:01:12.000+01:00", "2026-03-10T10:02:12.000+01:00",
            "2026-03-10T10:05:12.000+01:00", wait_s=60.0, talk_s=180.0, agent="mg1"),
    ])
    f = figures([transferred])
    assert (f.counts.offered, f.counts.answered) == (1, 1)
    assert (f.counts.qs30.numerator, f.counts.qs30.denominator) == (1, 1)
    assert f.transfers == {("ARM_N1", "MG"): 1}
    assert {r: (t.legs, t.total_s) for r, t in f.talk.items()} == {
        "ARM_N1": (1, 60.0), "MG": (1, 180.0)}


def test_a_re_answer_in_the_same_queue_is_not_a_transfer() -> None:
    arrived = "2026-03-10T10:00:00.000+01:00"
    record = call("1", legs=[
        leg("ARM_N1", arrived, arrived, "2026-03-10T10:00:30.000+01:00", 0.0, 30.0),
        leg("ARM_N1", "2026-03-10T10:00:30.000+01:00", "2026-03-10T10:00:40.000+01:00",
            "2026-03-10T10:01:40.000+01:00", 10.0, 60.0),
    ])
    f = figures([record])
    assert f.transfers == {}
    assert f.talk["ARM_N1"].legs == 2


def test_talk_time_per_role_from_legs_with_the_site_roles() -> None:
    config = parse_config(site_toml("x", skills={"ARM_N1": {"role": "ARM front office"},
                                                 "MG": {"role": "GP regulator"}}))
    arrived = "2026-03-10T10:00:00.000+01:00"
    records = [
        call("1", legs=[leg("ARM_N1", arrived, arrived, arrived, 0.0, 40.0)]),
        call("2", legs=[leg("ARM_N1", arrived, arrived, arrived, 0.0, 80.0),
                        leg("MG", arrived, arrived, arrived, 0.0, 300.0),
                        leg("AMU_N2", arrived)]),  # never answered: no talk
        call("3", legs=[leg("MG", arrived, arrived, None, 0.0, None)]),  # still talking
    ]
    f = figures(records, settings=ReportSettings.from_config(config))
    assert {r: (t.legs, t.mean_s) for r, t in f.talk.items()} == {
        "ARM front office": (2, 60.0), "GP regulator": (1, 300.0)}
    bare = figures(records)
    assert set(bare.talk) == {"ARM_N1", "MG"}


def test_months_are_split_by_local_date_of_arrival() -> None:
    records = [
        call("1", arrived="2026-03-31T23:59:59.000+02:00"),
        # 22:30 UTC on 31 March, but 1 April in Paris: April
        call("2", arrived="2026-04-01T00:30:00.000+02:00"),
        call("3", arrived="2026-02-28T23:00:00.000+01:00"),  # before --from
    ]
    report = build_report(records, date(2026, 3, 1), date(2026, 4, 30))
    assert list(report.months) == ["2026-03", "2026-04"]
    assert report.months["2026-03"]["all"].counts.offered == 1
    assert report.months["2026-04"]["all"].counts.offered == 1
    assert (report.records_read, report.records_selected) == (3, 2)
    assert month_keys(date(2025, 11, 5), date(2026, 2, 1)) == [
        "2025-11", "2025-12", "2026-01", "2026-02"]


def test_sas_and_pdsa_hours_are_split_and_summed_in_all() -> None:
    records = [call("1", period="sas"), call("2", period="pdsa", wait_s=40.0),
               abandoned("3", 30, period="pdsa")]
    month = build_report(records, *MARCH).months["2026-03"]
    assert [month[p].counts.offered for p in ("sas", "pdsa", "all")] == [1, 2, 3]
    assert [month[p].counts.qs30.numerator for p in ("sas", "pdsa", "all")] == [1, 0, 1]
    assert [month[p].counts.qs30.denominator for p in ("sas", "pdsa", "all")] == [1, 1, 2]


def test_overflowed_and_forwarded_calls() -> None:
    records = [
        call("1", wait_s=None, outcome="overflowed", partner="sas62"),
        call("2", wait_s=None, outcome="overflowed", partner="sas62"),
        call("3", wait_s=None, outcome="overflowed", partner="sas80"),
        call("4", wait_s=None, outcome="forwarded", partner="PDSA", number="116117",
             period="pdsa"),
        call("5", wait_s=None, outcome="waiting", ended=None),
    ]
    f = figures(records)
    c = f.counts
    assert (c.offered, c.answered, c.overflowed, c.forwarded, c.waiting) == (5, 0, 3, 1, 1)
    assert f.counts.overflowed_by_partner == {"sas62": 2, "sas80": 1}
    assert f.counts.abandoned == 0
    assert (f.counts.answer_rate.numerator, f.counts.answer_rate.denominator) == (0, 5)
    assert f.counts.qs30.denominator == 0


def test_a_call_answered_then_overflowed_counts_as_answered() -> None:
    f = figures([call("1", wait_s=8.0, outcome="overflowed", partner="sas62")])
    assert (f.counts.answered, f.counts.overflowed, f.counts.qs30.numerator) == (1, 1, 1)


# --------------------------------------------------------------------- reading


def _lines(*records: CallRecord) -> bytes:
    return b"".join(msgspec.json.encode(r) + b"\n" for r in records)


def test_non_records_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_bytes(_lines(call("1")) + b"\n  \n" + _lines(call("2")) +
                     b'{"summary": {"offered": 2}}\n')
    assert [r.uniqueid for r in read_records([path])] == ["1", "2"]


@pytest.mark.parametrize("bad", [b"{not json", b'{"uniqueid": "9"}', b"[1, 2]",
                                 b'{"uniqueid": "9", "arrived_at": 3}'])
def test_a_malformed_line_names_file_and_line(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_bytes(_lines(call("1")) + bad + b"\n")
    with pytest.raises(RecordsError, match=rf"^{path}:2: not a call record"):
        list(read_records([path]))


def test_a_record_with_a_bad_arrival_is_refused() -> None:
    raw = msgspec.json.encode(call("1")).replace(b"2026-03-10T10:00:00.000+01:00",
                                                 b"yesterday", 1)
    with pytest.raises(RecordsError, match=r"^x:1: .*arrived_at 'yesterday'"):
        list(iter_lines(io.BytesIO(raw + b"\n"), "x"))


# --------------------------------------------------------------------- the command


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    arrived = "2026-03-10T10:00:00.000+01:00"
    path = tmp_path / "calls.jsonl"
    path.write_bytes(_lines(
        call("1", wait_s=5.0),
        call("2", wait_s=35.0, period="pdsa", queues=["ARM_N1", "MG"], legs=[
            leg("ARM_N1", arrived, arrived, arrived, 35.0, 50.0),
            leg("MG", arrived, arrived, arrived, 3.0, 200.0)]),
        abandoned("3", 5),
        call("4", wait_s=None, outcome="overflowed", partner="sas62"),
        call("5", arrived="2026-04-02T08:00:00.000+02:00", wait_s=20.0),
    ) + b'{"summary": {}}\n')
    return path


def test_cli_markdown(records_file: Path) -> None:
    result = acd("report", "--from", "2026-03-01", "--to", "2026-04-30",
                 "--records", str(records_file), "--config", "config/sas-small.toml")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "## 2026-03" in out and "## 2026-04" in out
    assert "| QS 30 s at ARM_N1 (DGOS 2) | 100.0 % (1/1) | 0.0 % (0/1) | 50.0 % (1/2) |" in out
    assert "QS 60 s at ARM_N1 (target 99 %)" in out
    assert "| answer rate (*taux d'accueil*) | 50.0 % (1/2) | 100.0 % (1/1) | 66.7 % (2/3) |" \
        in out
    assert "| ARM front office (DGOS 19) |" in out
    assert "| ARM_N1 → MG | 0 | 1 | 1 |" in out
    assert "| sas62 | 1 | 0 | 1 |" in out
    assert out.rstrip().splitlines()[-1] == "Definitions of every figure: docs/indicators.md"
    assert (REPO / "docs" / "indicators.md").is_file()


def test_cli_csv(records_file: Path) -> None:
    result = acd("report", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--records", str(records_file), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["month", "period", "indicator", "value", "numerator",
                             "denominator"]
    by = {(r["month"], r["period"], r["indicator"]): r for r in rows}
    assert by["2026-03", "all", "qs30"] == {
        "month": "2026-03", "period": "all", "indicator": "qs30", "value": "0.5",
        "numerator": "1", "denominator": "2"}
    assert by["2026-03", "all", "answered"]["value"] == "2"
    assert by["2026-03", "all", "short_abandoned"]["value"] == "1"
    assert by["2026-03", "all", "qs60_target"]["value"] == "0.99"
    assert by["2026-03", "pdsa", "talk_mean_s:MG"]["value"] == "200.0"
    assert by["2026-03", "sas", "talk_mean_s:MG"]["value"] == ""
    assert by["2026-03", "all", "transfers:ARM_N1->MG"]["value"] == "1"
    assert by["2026-03", "all", "overflowed:sas62"]["value"] == "1"
    # the same indicators for every period
    names = [[r["indicator"] for r in rows if r["period"] == p] for p in ("sas", "pdsa", "all")]
    assert names[0] == names[1] == names[2]


def test_cli_json_from_stdin(records_file: Path) -> None:
    result = acd("report", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--records", "-", "--format", "json", stdin=records_file.read_text())
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["from"], data["to"], data["front_office_queue"]) == (
        "2026-03-01", "2026-03-31", "ARM_N1")
    assert (data["records_read"], data["records_selected"]) == (5, 4)
    month = data["months"]["2026-03"]
    assert set(month) == {"sas", "pdsa", "all"}
    assert month["all"]["qs30"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert month["all"]["qs60"]["target"] == 0.99
    assert month["all"]["overflowed_by_partner"] == {"sas62": 1}
    assert month["all"]["transfers"] == [{"from": "ARM_N1", "to": "MG", "count": 1}]
    assert month["pdsa"]["talk_time"]["MG"] == {"dgos": 22, "mean_s": 200.0,
                                                "total_s": 200.0, "legs": 1}


def test_cli_malformed_line_exits_1_naming_file_and_line(records_file: Path) -> None:
    with records_file.open("a") as out:
        out.write('{"uniqueid": "broken"\n')
    result = acd("report", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--records", str(records_file))
    assert result.returncode == 1
    assert result.stderr.startswith(f"acd: records_invalid: {records_file}:7: ")
    assert result.stdout == ""


def test_cli_usage_errors(records_file: Path) -> None:
    result = acd("report", "--from", "2026-3-1", "--to", "2026-03-31",
                 "--records", str(records_file))
    assert result.returncode == 2
    assert "not a date YYYY-MM-DD" in result.stderr
    result = acd("report", "--from", "2026-04-01", "--to", "2026-03-31",
                 "--records", str(records_file))
    assert result.returncode == 2
    result = acd("report", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--records", str(records_file.with_name("none.jsonl")))
    assert result.returncode == 1
    assert "none.jsonl: no such file" in result.stderr
    result = acd("report", "--from", "2026-03-01", "--to", "2026-03-31")
    assert result.returncode == 2
    assert "give --records FILE... and/or --redis CONFIG" in result.stderr
    result = acd("report", "--help")
    assert result.returncode == 0
    assert "--redis CONFIG" in result.stdout


def test_the_report_agrees_with_the_live_summary_of_a_run(tmp_path: Path) -> None:
    started = time.monotonic()
    run = acd("simulate", "--scenario", "config/scenarios/sas-small-saturday-116117.toml",
              "--json", "--speed", "2000")
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - started < 30
    lines = run.stdout.splitlines()
    summary = json.loads(lines[-1])["summary"]
    path = tmp_path / "run.jsonl"
    path.write_text(run.stdout)  # the summary line is skipped by the report
    result = acd("report", "--from", "2026-03-14", "--to", "2026-03-14",
                 "--records", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["months"]["2026-03"]["all"]
    assert figures["qs30"]["numerator"] == summary["qs30_answered_within_30s"]
    assert figures["qs30"]["denominator"] == summary["qs30_answered"]
    assert figures["qs30"]["denominator"] > 0
    assert figures["offered"] == summary["offered"] == len(lines) - 1
    assert figures["answered"] == summary["answered"]


def test_records_from_another_source() -> None:
    """The report takes any iterable of records (the durable store, later)."""
    def source() -> Any:
        yield call("1")
        yield call("2", wait_s=31.0)

    report: Report = build_report(source(), *MARCH)
    assert report.months["2026-03"]["all"].counts.qs30.numerator == 1
