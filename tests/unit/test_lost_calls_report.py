"""Calls Asterisk itself cut (outcome ``lost``) in the DGOS report and the summary:
shown apart, never abandoned; answered if picked up before the cut. The records are
those the engine writes for recording 09 (``core restart now``: three callers talking,
two waiting, two new calls after the restart)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import msgspec

from acd.config.load import load_config
from acd.core.indicators import is_answered
from acd.core.model import Outcome
from acd.core.records import CallRecord
from acd.core.tally import Tally
from acd.tools.replay import replay_files
from acd.tools.report import build_report
from acd.tools.report_render import render_csv, render_md, report_json
from acd.tools.summary import summarize
from tests.support.paths import LIVE

DECEMBER = (date(2026, 12, 1), date(2026, 12, 31))


def restart_records() -> list[CallRecord]:
    config = load_config(LIVE / "lab" / "acd-lab.toml")
    return list(replay_files([LIVE / "09-asterisk-core-restart.events.ami"], config))


def found_talking_then_cut() -> CallRecord:
    """A call found talking at a resync (its wait unknown), then cut by a crash."""
    base = restart_records()[0]
    return msgspec.structs.replace(base, uniqueid="found.1", answered_at=None, wait_s=None,
                                   outcome=Outcome.LOST, lost_reason="pbx-crash",
                                   ended_unobserved=True)


def december(records: list[CallRecord]) -> Tally:
    return build_report(records, *DECEMBER).months["2026-12"]["all"].counts


def test_the_restart_s_victims_are_lost_not_abandoned() -> None:
    records = restart_records()
    assert [r.outcome for r in records].count(Outcome.LOST) == 5
    figures = december(records)
    assert (figures.offered, figures.answered, figures.abandoned) == (7, 5, 0)
    assert (figures.lost, figures.lost_unanswered) == (5, 2)
    assert figures.lost_by_reason == {"pbx-restart": 5}
    # the three talking were answered within 30 s; the two waiting never were
    assert (figures.qs30.numerator, figures.qs30.denominator) == (5, 5)
    assert (figures.answer_rate.numerator, figures.answer_rate.denominator) == (5, 7)
    # every call once: answered, or lost never picked up
    assert figures.offered == figures.answered + figures.abandoned + figures.waiting \
        + figures.overflowed + figures.forwarded + figures.lost_unanswered


def test_a_lost_call_found_talking_is_answered_with_its_wait_unknown() -> None:
    record = found_talking_then_cut()
    assert is_answered(record)
    figures = december([record])
    assert (figures.answered, figures.answered_wait_unknown, figures.qs30.denominator) == (
        1, 1, 0)
    assert (figures.lost, figures.lost_unanswered, figures.abandoned) == (1, 0, 0)


def test_the_report_prints_the_lost_calls_apart() -> None:
    report = build_report([*restart_records(), found_talking_then_cut()], *DECEMBER)
    md = render_md(report)
    assert "| lost: cut by Asterisk itself (restart, crash), not abandons | 0 | 6 | 6 |" in md
    assert "| … of which never picked up (not answered) | 0 | 2 | 2 |" in md
    assert "| abandoned | 0 | 0 | 0 |" in md
    assert "| pbx-crash | 0 | 1 | 1 |" in md and "| pbx-restart | 0 | 5 | 5 |" in md
    rows = {(r["period"], r["indicator"]): r["value"]
            for r in csv.DictReader(io.StringIO(render_csv(report)))}
    assert (rows["all", "lost"], rows["all", "lost_unanswered"]) == ("6", "2")
    assert (rows["all", "lost:pbx-restart"], rows["all", "lost:pbx-crash"]) == ("5", "1")
    assert rows["all", "abandoned"] == "0"
    out = json.loads(json.dumps(report_json(report)))["months"]["2026-12"]["pdsa"]
    assert (out["lost"], out["lost_unanswered"], out["abandoned"]) == (6, 2, 0)
    assert out["lost_by_reason"] == {"pbx-crash": 1, "pbx-restart": 5}


def test_the_summary_counts_them_apart_from_the_abandons() -> None:
    summary = summarize([*restart_records(), found_talking_then_cut()])
    counts = summary.counts
    assert (counts.offered, counts.answered, counts.abandoned) == (8, 6, 0)
    assert summary.other_outcomes == {"lost": 2}
    assert counts.answered_wait_unknown == 1
    assert summary.accounted()
