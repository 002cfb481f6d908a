"""The surge's report (loadtests.report) from plain figures: route and answer rows
apart, the same rows in the CSV, the HTML page and the console summary. A real Locust
run is in tests/e2e/test_loadtests.py."""

from __future__ import annotations

import csv
from pathlib import Path

from loadtests.report import ALL_NUMBERS, Report, Row, summary_lines, write
from tests.support.htmltable import html_rows


def row(kind: str, name: str, requests: int, failures: int = 0) -> Row:
    return Row(kind=kind, name=name, requests=requests, failures=failures, median_ms=7,
               avg_ms=6.125, min_ms=0.5, max_ms=9.0, avg_size=0.0, per_s=2.5,
               failures_per_s=0.0, percentiles=(7, 9) if requests else (),
               per_second={100: requests - failures, 101: failures},
               failures_per_second={101: failures})


REPORT = Report(
    rows=(row("route", "15", 3, 1), row("route", "<116117>", 0), row("answer", "15", 2),
          row("route", ALL_NUMBERS, 3, 1), row("answer", ALL_NUMBERS, 2)),
    percentiles=("50%", "100%"),
    failures=(("route", "15", "CallLost('never routed: still unrouted')", 1),),
    exceptions=(), host="http://127.0.0.1:1", start=100.0, end=102.0)


def test_csv_and_html_hold_the_same_rows(tmp_path: Path) -> None:
    write(REPORT, tmp_path)
    with (tmp_path / "locust_stats.csv").open(newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][:4] == ["Type", "Name", "Request Count", "Failure Count"]
    assert table[0][-2:] == ["50%", "100%"]
    assert [r[:4] for r in table[1:]] == [
        ["route", "15", "3", "1"], ["route", "<116117>", "0", "0"], ["answer", "15", "2", "0"],
        ["route", ALL_NUMBERS, "3", "1"], ["answer", ALL_NUMBERS, "2", "0"]]
    assert table[2][-2:] == ["N/A", "N/A"]  # no request, no percentile
    page = (tmp_path / "report.html").read_text()
    assert "&lt;116117&gt;" in page and "<116117>" not in page
    shown = html_rows(page, "requests")
    assert [r[:4] for r in shown] == [r[:4] for r in table]
    assert shown[1][5] == "6.12" and table[1][5] == "6.125"  # the page rounds, the CSV not
    assert html_rows(page, "failures")[1] == list(map(str, REPORT.failures[0]))
    with (tmp_path / "locust_failures.csv").open(newline="") as handle:
        assert list(csv.reader(handle))[1] == list(map(str, REPORT.failures[0]))
    assert 'id="calls-per-second"' in page


def test_the_console_summary_has_no_aggregate_over_both_kinds() -> None:
    lines = summary_lines(REPORT)
    text = "\n".join(lines)
    assert "Aggregated" not in text
    assert any(line.split()[:5] == ["route", "all", "numbers", "3", "1(33.33%)"]
               for line in lines)
    separators = [n for n, line in enumerate(lines) if set(line) == {"-"}]
    totals = [n for n, line in enumerate(lines) if ALL_NUMBERS in line]
    # each table: a rule under its header, one before the two rows over every number
    assert len(separators) == 4 and separators[1] == totals[0] - 1
    assert "CallLost('never routed: still unrouted')" in text
