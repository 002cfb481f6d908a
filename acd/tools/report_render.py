"""Printing a :class:`~acd.tools.report.Report`: Markdown for a monthly report, CSV for a
spreadsheet (one row per month × period × indicator), JSON for scripts.

Field and indicator names are a contract read by operators' scripts and spreadsheets.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from acd.config.load import load_config
from acd.core.records import CallRecord
from acd.core.tally import Ratio
from acd.tools.report import (
    DGOS_TALK_INDICATORS,
    Figures,
    Report,
    ReportSettings,
    build_report,
    read_records,
)

CSV_COLUMNS = ("month", "period", "indicator", "value", "numerator", "denominator")
DEFINITIONS = "docs/indicators.md"

_PERIOD_TITLES = {"sas": "SAS hours", "pdsa": "PDSA hours", "all": "all"}
#: a row key of a table of counts (a queue pair, a partner, a reason)
_K = TypeVar("_K")
_COUNTS = ("offered", "answered", "answered_wait_unknown", "abandoned", "short_abandoned",
           "abandoned_in_announcement", "waiting", "overflowed", "forwarded", "lost",
           "lost_unanswered")


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _ratio_json(ratio: Ratio) -> dict[str, Any]:
    return {"value": _round(ratio.value, 6), "numerator": ratio.numerator,
            "denominator": ratio.denominator}


def figures_json(figures: Figures, report: Report) -> dict[str, Any]:
    counts = figures.counts
    out: dict[str, Any] = {name: getattr(counts, name) for name in _COUNTS}
    out["qs30"] = _ratio_json(counts.qs30)
    out["qs60"] = {**_ratio_json(counts.qs60), "target": report.settings.qs60_target}
    out["answer_rate"] = _ratio_json(counts.answer_rate)
    out["talk_time"] = {
        role: {"dgos": DGOS_TALK_INDICATORS.get(role), "mean_s": _round(t.mean_s, 3),
               "total_s": round(t.total_s, 3), "legs": t.legs}
        for role, t in sorted(figures.talk.items())}
    out["transfers"] = [{"from": a, "to": b, "count": n}
                        for (a, b), n in sorted(figures.transfers.items())]
    out["overflowed_by_partner"] = dict(sorted(counts.overflowed_by_partner.items()))
    out["lost_by_reason"] = dict(sorted(counts.lost_by_reason.items()))
    return out


def report_json(report: Report) -> dict[str, Any]:
    settings = report.settings
    return {
        "from": report.start.isoformat(), "to": report.end.isoformat(),
        "site": settings.site,
        "front_office_queue": settings.front_office,
        "short_abandon_s": settings.short_abandon_s,
        "qs60_target": settings.qs60_target,
        "records_read": report.records_read,
        "records_selected": report.records_selected,
        "months": {month: {period: figures_json(f, report) for period, f in periods.items()}
                   for month, periods in report.months.items()},
    }


def _rows(report: Report) -> list[tuple[str, str, str, Any, Any, Any]]:
    roles, pairs, partners = report.roles(), report.transfer_pairs(), report.partners()
    reasons = report.lost_reasons()
    rows: list[tuple[str, str, str, Any, Any, Any]] = []
    for month, periods in report.months.items():
        for period, f in periods.items():
            def row(indicator: str, value: Any, numerator: Any = None,
                    denominator: Any = None, month: str = month,
                    period: str = period) -> None:
                rows.append((month, period, indicator, value, numerator, denominator))

            counts = f.counts
            for name in _COUNTS:
                row(name, getattr(counts, name))
            for name, ratio in (("qs30", counts.qs30), ("qs60", counts.qs60),
                                ("answer_rate", counts.answer_rate)):
                row(name, _round(ratio.value, 6), ratio.numerator, ratio.denominator)
            row("qs60_target", report.settings.qs60_target)
            for role in roles:
                talk = f.talk.get(role)
                if talk is None:
                    row(f"talk_mean_s:{role}", None, 0.0, 0)
                else:
                    row(f"talk_mean_s:{role}", _round(talk.mean_s, 3),
                        round(talk.total_s, 3), talk.legs)
            for a, b in pairs:
                row(f"transfers:{a}->{b}", f.transfers.get((a, b), 0))
            for partner in partners:
                row(f"overflowed:{partner}", counts.overflowed_by_partner.get(partner, 0))
            for reason in reasons:
                row(f"lost:{reason}", counts.lost_by_reason.get(reason, 0))
    return rows


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(report):
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue()


def _pct(ratio: Ratio) -> str:
    value = ratio.value
    if value is None:
        return "—"
    return f"{value:.1%}".replace("%", " %") + f" ({ratio.numerator}/{ratio.denominator})"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" + "---:|" * (len(head) - 1)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def _figure_rows(fs: list[Figures], settings: ReportSettings) -> list[list[str]]:
    """The month's main table: one row per figure, one column per period."""
    target = f"{settings.qs60_target:.0%}".replace("%", " %")
    short = f"{settings.short_abandon_s:g}"
    cs = [f.counts for f in fs]
    return [
        ["calls offered", *(str(c.offered) for c in cs)],
        ["calls answered (DGOS 1)", *(str(c.answered) for c in cs)],
        ["… of which with a wait not observed (not in QS)",
         *(str(c.answered_wait_unknown) for c in cs)],
        ["abandoned", *(str(c.abandoned) for c in cs)],
        [f"… of which short (under {short} s)", *(str(c.short_abandoned) for c in cs)],
        ["… of which during the announcement (before any queue)",
         *(str(c.abandoned_in_announcement) for c in cs)],
        ["overflowed to a partner SAS", *(str(c.overflowed) for c in cs)],
        ["forwarded (PDSA destination)", *(str(c.forwarded) for c in cs)],
        ["still waiting at the end of the records", *(str(c.waiting) for c in cs)],
        ["lost: cut by Asterisk itself (restart, crash), not abandons",
         *(str(c.lost) for c in cs)],
        ["… of which never picked up (not answered)", *(str(c.lost_unanswered) for c in cs)],
        [f"QS 30 s at {settings.front_office} (DGOS 2)", *(_pct(c.qs30) for c in cs)],
        [f"QS 60 s at {settings.front_office} (target {target})",
         *(_pct(c.qs60) for c in cs)],
        ["answer rate (*taux d'accueil*)", *(_pct(c.answer_rate) for c in cs)],
    ]


def _talk_md(roles: list[str], periods: list[str], fs: list[Figures]) -> list[str]:
    """Mean talk time per role, with the DGOS indicator's number where it has one."""
    if not roles:
        return []
    rows = []
    for role in roles:
        number = DGOS_TALK_INDICATORS.get(role)
        cells = ["—" if (t := f.talk.get(role)) is None else f"{_duration(t.mean_s)} ({t.legs})"
                 for f in fs]
        rows.append([f"{role} (DGOS {number})" if number else role, *cells])
    return ["Mean talk time per role (legs answered)", "",
            *_table(["role", *periods], rows), ""]


def _counts_md(title: str, column: str, keys: list[_K], label: Callable[[_K], str],
               count: Callable[[Figures, _K], int], periods: list[str],
               fs: list[Figures]) -> list[str]:
    """A table of one count per key and period; nothing when there is no key."""
    if not keys:
        return []
    return [title, "", *_table([column, *periods],
                               [[label(k), *(str(count(f, k)) for f in fs)] for k in keys]),
            ""]


def _month_md(month: str, periods: dict[str, Figures], report: Report) -> list[str]:
    names = list(periods)
    head = ["", *(_PERIOD_TITLES.get(p, p) for p in names)]
    fs = [periods[p] for p in names]
    lines = [f"## {month}", "", *_table(head, _figure_rows(fs, report.settings)), ""]
    lines += _talk_md(report.roles(), head[1:], fs)
    lines += _counts_md("Transfers between queues", "from → to", report.transfer_pairs(),
                        lambda pair: f"{pair[0]} → {pair[1]}",
                        lambda f, pair: f.transfers.get(pair, 0), head[1:], fs)
    lines += _counts_md("Calls overflowed, per partner SAS", "partner", report.partners(),
                        str, lambda f, p: f.counts.overflowed_by_partner.get(p, 0), head[1:], fs)
    lines += _counts_md("Calls lost by Asterisk, per reason", "reason", report.lost_reasons(),
                        str, lambda f, r: f.counts.lost_by_reason.get(r, 0), head[1:], fs)
    return lines


def render_md(report: Report) -> str:
    site = f" — {report.settings.site}" if report.settings.site else ""
    lines = [f"# Calls from {report.start.isoformat()} to {report.end.isoformat()}{site}",
             "",
             f"{report.records_selected} calls in the period "
             f"({report.records_read} call records read).",
             ""]
    for month, periods in report.months.items():
        lines += _month_md(month, periods, report)
    lines.append(f"Definitions of every figure: {DEFINITIONS}")
    return "\n".join(lines) + "\n"


def report_command(*, start: date, end: date, fmt: str, records: list[str],
                   config_path: str | None, front_office: str,
                   redis_config: str | None = None) -> int:
    """``acd report``: read the records (files, and the Redis of ``redis_config``),
    print the report on stdout."""
    if not records and not redis_config:
        print("acd report: give --records FILE... and/or --redis CONFIG", file=sys.stderr)
        return 2
    if start > end:
        print(f"acd report: --from {start} is after --to {end}", file=sys.stderr)
        return 2
    missing = [p for p in records if p != "-" and not Path(p).is_file()]
    if missing:
        for p in missing:
            print(f"{p}: no such file", file=sys.stderr)
        return 1
    config = load_config(config_path) if config_path else None
    source: Iterable[CallRecord] = read_records(records, stdin=sys.stdin.buffer)
    if redis_config is not None:
        from acd.store import read_records as read_redis_records

        site = load_config(redis_config)
        config = config or site
        source = itertools.chain(source, read_redis_records(site))
    settings = ReportSettings.from_config(config, front_office=front_office)
    report = build_report(source, start, end, settings)
    if fmt == "json":
        sys.stdout.write(msgspec.json.encode(report_json(report)).decode("utf-8") + "\n")
    elif fmt == "csv":
        sys.stdout.write(render_csv(report))
    else:
        sys.stdout.write(render_md(report))
    sys.stdout.flush()
    return 0
