"""The surge's report: Locust's figures with route and answer kept apart.

Each call is reported to Locust twice (:mod:`loadtests.locustfile`): a ``route`` time
(about 2 ms) and an ``answer`` time (about 400 ms, the ring included). Locust's own
console summary, ``--csv`` and ``--html`` end on an "Aggregated" row over every
request: a median between the two kinds that measures nothing. Its CSV is also
rewritten by a background loop once a second and never after the last request, so it
could count fewer calls than the console and the HTML of the same run.

This report is written once, from the final statistics, when Locust quits (after its
users stopped): the console summary, ``locust_stats.csv``, ``locust_failures.csv``,
``locust_exceptions.csv`` and ``report.html`` come from the same :class:`Report` and
agree by construction. Rows: one per kind and dialled number, then one per kind over
every number (name :data:`ALL_NUMBERS`); no row mixes the kinds.

:func:`report_of` reads Locust's objects; everything else works on plain data, so this
module imports Locust only inside :func:`report_of` (importing Locust patches the
process with gevent).
"""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from locust.env import Environment

#: the measures of a call, in report order
KINDS = ("route", "answer")
#: the name of a kind's row over every dialled number
ALL_NUMBERS = "all numbers"
#: the files :func:`write` makes in the output folder
STATS_CSV = "locust_stats.csv"
FAILURES_CSV = "locust_failures.csv"
EXCEPTIONS_CSV = "locust_exceptions.csv"
HTML_REPORT = "report.html"
#: Locust's columns of ``--csv``'s stats file (the percentiles follow)
STATS_COLUMNS = ("Type", "Name", "Request Count", "Failure Count", "Median Response Time",
                 "Average Response Time", "Min Response Time", "Max Response Time",
                 "Average Content Size", "Requests/s", "Failures/s")
FAILURES_COLUMNS = ("Method", "Name", "Error", "Occurrences")
EXCEPTIONS_COLUMNS = ("Count", "Message", "Traceback", "Nodes")

Cell = str | int | float


@dataclass(frozen=True, slots=True)
class Row:
    """One kind's requests to one number (or to :data:`ALL_NUMBERS`); times in ms."""

    kind: str
    name: str
    requests: int
    failures: int
    median_ms: float
    avg_ms: float
    min_ms: float
    max_ms: float
    avg_size: float
    per_s: float
    failures_per_s: float
    #: the response time at each of :attr:`Report.percentiles`; empty without requests
    percentiles: tuple[int, ...]
    #: requests and failures per second of the run (epoch second → count)
    per_second: Mapping[int, int]
    failures_per_second: Mapping[int, int]

    def cells(self, columns: int) -> list[Cell]:
        """The row as written to the CSV and the HTML table."""
        times: Sequence[Cell] = self.percentiles or ["N/A"] * columns
        return [self.kind, self.name, self.requests, self.failures, self.median_ms,
                self.avg_ms, self.min_ms, self.max_ms, self.avg_size, self.per_s,
                self.failures_per_s, *times]


@dataclass(frozen=True, slots=True)
class Report:
    """The figures of one run."""

    rows: tuple[Row, ...]
    #: readable percentiles of the percentile columns ("50%", … "100%")
    percentiles: tuple[str, ...]
    #: (kind, number, error, occurrences)
    failures: tuple[tuple[str, str, str, int], ...]
    #: (count, message, traceback, nodes): exceptions raised in the locustfile itself
    exceptions: tuple[tuple[int, str, str, str], ...]
    host: str
    start: float
    end: float

    def header(self) -> list[str]:
        return [*STATS_COLUMNS, *self.percentiles]

    def table(self) -> list[list[Cell]]:
        return [row.cells(len(self.percentiles)) for row in self.rows]


def report_of(environment: Environment) -> Report:
    """The report of Locust's final statistics (the runner's: in a run of several
    processes, the master's sum of its workers')."""
    from locust.stats import (
        PERCENTILES_TO_REPORT,
        StatsEntry,
        StatsError,
        get_readable_percentiles,
    )

    assert environment.runner is not None
    stats = environment.runner.stats

    def row(entry: StatsEntry) -> Row:
        return Row(
            kind=entry.method, name=entry.name, requests=entry.num_requests,
            failures=entry.num_failures, median_ms=entry.median_response_time,
            avg_ms=entry.avg_response_time, min_ms=entry.min_response_time or 0,
            max_ms=entry.max_response_time, avg_size=entry.avg_content_length,
            per_s=entry.total_rps, failures_per_s=entry.total_fail_per_sec,
            percentiles=tuple(int(entry.get_response_time_percentile(p) or 0)
                              for p in PERCENTILES_TO_REPORT) if entry.num_requests else (),
            per_second=dict(entry.num_reqs_per_sec),
            failures_per_second=dict(entry.num_fail_per_sec))

    entries = sorted(stats.entries.values(), key=lambda e: (_kind_order(e.method), e.name))
    rows = [row(entry) for entry in entries]
    for kind in sorted({e.method for e in entries}, key=_kind_order):
        total = StatsEntry(stats, ALL_NUMBERS, kind)
        for entry in entries:
            if entry.method == kind:
                total.extend(entry)
        rows.append(row(total))
    failures = tuple((error.method, error.name, StatsError.parse_error(error.error),
                      error.occurrences)
                     for error in sorted(stats.errors.values(),
                                         key=lambda e: (_kind_order(e.method), e.name)))
    exceptions = tuple((int(e["count"]), str(e["msg"]), str(e["traceback"]),
                        ", ".join(sorted(e["nodes"])))
                       for e in environment.runner.exceptions.values())
    return Report(rows=tuple(rows),
                  percentiles=tuple(get_readable_percentiles(PERCENTILES_TO_REPORT)),
                  failures=failures, exceptions=exceptions, host=str(environment.host or ""),
                  start=stats.start_time, end=stats.last_request_timestamp or stats.start_time)


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), kind)


# ------------------------------------------------------------------ console


def summary_lines(report: Report) -> list[str]:
    """The console summary: Locust's two tables, with a row per kind over every
    number where Locust has its "Aggregated" row."""
    width = max([len(r.name) for r in report.rows] + [12])
    head = (f"{'Type':<8} {'Name':<{width}} {'# reqs':>7} {'# fails':>13} | {'Avg':>7} "
            f"{'Min':>7} {'Max':>7} {'Med':>7} | {'req/s':>7} {'failures/s':>11}")
    lines = [head, "-" * len(head)]
    percent_head = (f"{'Type':<8} {'Name':<{width}} "
                    + " ".join(f"{p:>6}" for p in report.percentiles) + f" {'# reqs':>7}")
    percent = [percent_head, "-" * len(percent_head)]
    totals = False
    for row in report.rows:
        if row.name == ALL_NUMBERS and not totals:  # the rows over every number follow
            totals = True
            lines.append("-" * len(head))
            percent.append("-" * len(percent_head))
        share = row.failures / row.requests if row.requests else 0.0
        lines.append(
            f"{row.kind:<8} {row.name:<{width}} {row.requests:>7} "
            f"{f'{row.failures}({share:.2%})':>13} | {row.avg_ms:>7.0f} {row.min_ms:>7.0f} "
            f"{row.max_ms:>7.0f} {row.median_ms:>7.0f} | {row.per_s:>7.2f} "
            f"{row.failures_per_s:>11.2f}")
        times = row.percentiles or ("N/A",) * len(report.percentiles)
        percent.append(f"{row.kind:<8} {row.name:<{width}} "
                       + " ".join(f"{t:>6}" for t in times) + f" {row.requests:>7}")
    failures = [f"{n:>6} {kind} {name}: {error}" for kind, name, error, n in report.failures]
    return [*lines, "", "Response time percentiles (approximated)", *percent, "",
            "Failures" + ("" if failures else ": none"), *failures]


# ------------------------------------------------------------------ files


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write(report: Report, out: Path) -> None:
    """The CSV files and the HTML page of the report, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / STATS_CSV, report.header(), report.table())
    _write_csv(out / FAILURES_CSV, FAILURES_COLUMNS, report.failures)
    _write_csv(out / EXCEPTIONS_CSV, EXCEPTIONS_COLUMNS, report.exceptions)
    (out / HTML_REPORT).write_text(render_html(report), encoding="utf-8")


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cell(value: object) -> str:
    """A table cell: floats to two decimals (the CSV keeps every digit)."""
    text = f"{value:.2f}" if isinstance(value, float) else str(value)
    return f"<td>{html.escape(text)}</td>"


def _table(table_id: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _chart(report: Report) -> str:
    """Routes and failed calls per second over the run, as an SVG polyline each."""
    routes = next((r for r in report.rows if r.kind == "route" and r.name == ALL_NUMBERS), None)
    if routes is None or not routes.per_second:
        return "<p>No call was placed.</p>"
    first, last = min(routes.per_second), max(routes.per_second)
    seconds = range(first, last + 1)
    top = max(routes.per_second.values())
    width, height = 720, 200

    def points(counts: Mapping[int, int]) -> str:
        step = width / max(len(seconds) - 1, 1)
        return " ".join(f"{i * step:.1f},{height - counts.get(s, 0) * height / top:.1f}"
                        for i, s in enumerate(seconds))

    return (f'<svg id="calls-per-second" viewBox="-40 -10 {width + 50} {height + 30}" '
            f'width="{width + 50}" role="img" aria-label="calls per second">'
            f'<polyline fill="none" stroke="#1f77b4" points="{points(routes.per_second)}"/>'
            f'<polyline fill="none" stroke="#d62728" '
            f'points="{points(routes.failures_per_second)}"/>'
            f'<text x="-36" y="4">{top}/s</text><text x="-36" y="{height}">0</text>'
            f'<text x="0" y="{height + 16}">{_time(first)}</text>'
            f'<text x="{width}" y="{height + 16}" text-anchor="end">{_time(last)}</text>'
            "</svg><p>Blue: calls reported per second (each when it ended); red: failed ones.</p>")


def render_html(report: Report) -> str:
    """A page without scripts: the run, the same rows as ``locust_stats.csv``, the
    percentiles, the failures and a chart of calls per second."""
    percent_rows = [[r.kind, r.name, *(r.percentiles or ["N/A"] * len(report.percentiles))]
                    for r in report.rows]
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
             "margin-bottom:2em}td,th{border:1px solid #ccc;padding:2px 6px;"
             "text-align:right}td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>acd surge: Locust report</title>", f"<style>{style}</style></head><body>",
        "<h1>acd surge: Locust report</h1>",
        f"<p>Control port {html.escape(report.host)}; from {_time(report.start)} to "
        f"{_time(report.end)} ({report.end - report.start:.0f} s). Route: announcement → "
        "the router's Redirect in effect; answer: announcement → pick-up (ms). The rows "
        f"named &ldquo;{ALL_NUMBERS}&rdquo; sum one kind over every number.</p>",
        "<h2>Requests</h2>", _table("requests", report.header(), report.table()),
        "<h2>Response time percentiles (ms)</h2>",
        _table("percentiles", ["Type", "Name", *report.percentiles], percent_rows),
        "<h2>Failures</h2>", _table("failures", FAILURES_COLUMNS, report.failures),
        "<h2>Calls per second</h2>", _chart(report),
        *(["<h2>Exceptions in the locustfile</h2>",
           _table("exceptions", EXCEPTIONS_COLUMNS, report.exceptions)]
          if report.exceptions else []),
        "</body></html>", ""])
