"""The plan's page (``acd plan --html``) and its terminal table, from plans built by hand."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
import pytest

from acd.tools.plan.confidence import confidence
from acd.tools.plan.html import render_html, write_html
from acd.tools.plan.model import (
    STANDARD_ROLES,
    IntervalPlan,
    Lines,
    Plan,
    PolicyComparison,
    PolicyResult,
    Unreachable,
    parse_targets,
)
from acd.tools.plan.render import render_text

ZONE = ZoneInfo("Europe/Paris")
DAY = datetime(2026, 6, 1, tzinfo=ZONE)
ROLES = [*STANDARD_ROLES, "PSY"]
INTERVAL_S = 1800


def _interval(k: int, *, offered: float, qs30: float | None, n1: int = 2,
              planned_n1: int = 2, met: bool = True) -> IntervalPlan:
    staff = {"ARM_N1": n1, "AMU_N2": 1, "OSNP": 1, "MG": 2 if k == 3 else 1, "PSY": 1}
    planned = {"ARM_N1": planned_n1, "AMU_N2": 1, "OSNP": 1, "MG": 1, "PSY": 1}
    return IntervalPlan(
        start=DAY + timedelta(seconds=k * INTERVAL_S), staff=staff, planned=planned,
        offered=offered, qs30=qs30,
        qs30_band=None if qs30 is None else (qs30 - 0.03, min(1.0, qs30 + 0.02)),
        qs60=None if qs30 is None else min(1.0, qs30 + 0.05),
        qs60_band=None if qs30 is None else (qs30, min(1.0, qs30 + 0.06)),
        abandon_rate=None if offered == 0 else 0.01 * k,
        occupancy={role: 0.1 * k for role in ROLES},
        p90_wait_s={"AMU_N2": 10.0 * k}, met=met)


def _plan(*, comparison: bool = True, scenario: str = "Lundi <b>&</b> surge") -> Plan:
    intervals = [
        # the night: no call, the same staffing twice
        _interval(0, offered=0.0, qs30=None),
        _interval(1, offered=0.0, qs30=None),
        _interval(2, offered=4.0, qs30=0.95, n1=3, planned_n1=2),
        _interval(3, offered=9.5, qs30=0.80, n1=5, planned_n1=3, met=False),
        # calls, none answered: nothing to measure
        _interval(4, offered=0.6, qs30=None, n1=1, planned_n1=2),
        _interval(5, offered=7.0, qs30=0.92),
    ]
    policies = PolicyComparison(seeds=[1, 2], results=[
        PolicyResult("acd", 0.93, (0.90, 0.95), {"ARM_N1": 8.0}, {"ARM_N1": (6.0, 9.5)},
                     {"ARM_N1": 21.0}, 0.02),
        PolicyResult("rrmemory", 0.88, (0.85, 0.91), {"ARM_N1": 12.0}, {"ARM_N1": None},
                     {"ARM_N1": None}, 0.03),
        PolicyResult("leastrecent", None, None, {}, {}, {}, None),
    ])
    return Plan(scenario=scenario, site="SAS 59 <Nord>",
                targets=parse_targets("qs30>=0.90,qs60>=0.95"), interval_s=INTERVAL_S,
                seeds=[1, 2, 3], surge=1.5, roles=list(ROLES), intervals=intervals,
                days_played=42, elapsed_s=3.25, positions_added={"ARM_N1": 1},
                comparison=policies if comparison else None)


class _Page(HTMLParser):
    """What the tests read of a page: sections, charts, links, table rows, titles."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.charts: list[str] = []
        self.chart_sources: list[str] = []
        self.resources: list[str] = []
        self.tags: set[str] = set()
        self.rows: dict[str, list[tuple[str, list[str]]]] = {}
        self.title = ""
        self._section = ""
        self._in_body = False
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.add(tag)
        self.resources += [attributes[name] for name in ("src", "href") if name in attributes]
        if tag in ("section", "header") and "id" in attributes:
            self._section = attributes["id"]
            self.sections.append(self._section)
        elif tag == "figure" and "data-chart" in attributes:
            self.charts.append(attributes["data-chart"])
        elif tag == "img" and self.charts:
            self.chart_sources.append(attributes.get("src", ""))
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.setdefault(self._section, []).append((attributes.get("class", ""), []))
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[self._section][-1][1].append("".join(self._cell))
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _page(plan: Plan) -> _Page:
    return _parse(render_html(plan))


@pytest.fixture(scope="module")
def text() -> str:
    return render_html(_plan())


@pytest.fixture(scope="module")
def page(text: str) -> _Page:
    return _parse(text)


@pytest.fixture(scope="module")
def page_without_comparison() -> _Page:
    return _page(_plan(comparison=False))


def _hours(plan: Plan, *, planned: bool) -> dict[str, float]:
    return {role: sum((i.planned if planned else i.staff).get(role, 0) for i in plan.intervals)
            * plan.interval_s / 3600 for role in plan.roles}


# --- the page ----------------------------------------------------------------------------


def test_the_page_has_every_section_and_the_comparison_only_when_set(
        page: _Page, page_without_comparison: _Page) -> None:
    assert page.sections == ["plan", "headline", "staffing", "service", "policies",
                             "intervals", "reading"]
    assert page_without_comparison.sections == ["plan", "headline", "staffing", "service",
                                                "intervals", "reading"]


def test_one_chart_per_role_then_the_qs_chart_then_the_policies(
        page: _Page, page_without_comparison: _Page) -> None:
    per_role = [f"staff-{role}" for role in ROLES]
    assert page.charts == [*per_role, "qs", "policies"]
    assert page_without_comparison.charts == [*per_role, "qs"]


def test_every_chart_is_an_svg_drawn_into_the_page(page: _Page) -> None:
    assert len(page.chart_sources) == len(page.charts)
    for source in page.chart_sources:
        prefix = "data:image/svg+xml;base64,"
        assert source.startswith(prefix)
        svg = base64.b64decode(source[len(prefix):]).decode("utf-8")
        assert "<svg" in svg and "<path" in svg


def test_the_page_loads_nothing_from_elsewhere(page: _Page) -> None:
    assert page.resources, "the charts are images with a source"
    assert all(source.startswith("data:") for source in page.resources)
    assert not any(re.search(r"https?://", source) for source in page.resources)
    assert not page.tags & {"script", "link", "iframe", "object"}


def test_text_from_the_plan_is_escaped(text: str, page: _Page) -> None:
    plan = _plan()
    assert "Lundi &lt;b&gt;&amp;&lt;/b&gt; surge" in text
    assert "SAS 59 &lt;Nord&gt;" in text
    assert "b" not in page.tags and "nord" not in page.tags
    assert page.title == f"Staffing plan – {plan.scenario}"


def test_the_interval_table_has_a_row_per_interval_and_marks_the_targets_missed(
        page: _Page) -> None:
    plan = _plan()
    rows = page.rows["intervals"]
    assert len(rows) == len(plan.intervals)
    for interval, (classes, cells) in zip(plan.intervals, rows, strict=True):
        assert cells[0] == interval.start.strftime("%H:%M")
        assert ("missed" in classes.split()) == (not interval.met)
        assert cells[-1].startswith("✓" if interval.met else "✗")
        # needed and planned per role, in the plan's order
        assert cells[1:1 + 2 * len(ROLES)] == [
            str(count) for role in ROLES
            for count in (interval.staff[role], interval.planned[role])]
    # 03:30 misses both: QS 30 s 80 % < 90 %, QS 60 s 85 % < 95 %
    missed = next(cells for classes, cells in rows if "missed" in classes)
    assert missed[-1] == "✗ qs30, qs60"


def test_an_interval_without_an_answered_call_shows_a_dash(page: _Page) -> None:
    plan = _plan()
    rows = page.rows["intervals"]
    qs30_column = 1 + 2 * len(ROLES) + 1
    for interval, (_, cells) in zip(plan.intervals, rows, strict=True):
        if interval.qs30 is None:
            assert cells[qs30_column] == "—"
        else:
            assert cells[qs30_column].startswith(f"{interval.qs30 * 100:.1f} [")


def test_the_headline_gives_the_staff_hours_needed_and_planned_per_role(page: _Page) -> None:
    plan = _plan()
    needed, planned = _hours(plan, planned=False), _hours(plan, planned=True)
    rows = {cells[0]: cells for _, cells in page.rows["headline"]}
    for role in ROLES:
        assert float(rows[role][1]) == pytest.approx(needed[role], abs=0.05)
        assert float(rows[role][2]) == pytest.approx(planned[role], abs=0.05)
        shortfall = needed[role] - planned[role]
        verdict = rows[role][4]
        if shortfall > 0:
            assert verdict == f"short by {shortfall:.1f} h"
        elif shortfall < 0:
            assert verdict == f"surplus of {-shortfall:.1f} h"
        else:
            assert verdict == "as needed"
    assert float(rows["all roles"][1]) == pytest.approx(sum(needed.values()), abs=0.05)


def test_the_policy_table_has_a_row_per_policy(page: _Page) -> None:
    plan = _plan()
    assert plan.comparison is not None
    rows = page.rows["policies"]
    assert [cells[0] for _, cells in rows] == [r.policy for r in plan.comparison.results]
    assert rows[0][1][1] == "93.0 [90.0–95.0]"
    assert rows[2][1][1] == "—"


def test_the_same_plan_gives_the_same_bytes(text: str, tmp_path: Path) -> None:
    write_html(_plan(), tmp_path / "plan.html")
    assert (tmp_path / "plan.html").read_bytes() == text.encode("utf-8")


def test_rendering_leaves_matplotlib_settings_as_they_were() -> None:
    before = dict(matplotlib.rcParams)
    render_html(_plan(comparison=False))
    assert dict(matplotlib.rcParams) == before


def test_a_plan_with_a_qs60_target_draws_a_different_qs_chart(
        page_without_comparison: _Page) -> None:
    only_qs30 = replace(_plan(comparison=False), targets=parse_targets("qs30>=0.90"))
    assert page_without_comparison.charts[-1] == "qs"
    assert page_without_comparison.chart_sources[-1] != _page(only_qs30).chart_sources[-1]


def test_a_comparison_without_any_policy_draws_no_chart() -> None:
    plan = replace(_plan(), comparison=PolicyComparison(seeds=[1], results=[]))
    page = _page(plan)
    assert "policies" in page.sections
    assert "policies" not in page.charts and "policies" not in page.rows


def test_a_plan_without_intervals_or_qs_target_still_gives_a_page() -> None:
    plan = replace(_plan(comparison=False), intervals=[],
                   targets=parse_targets("abandon_rate<=0.05"))
    page = _page(plan)
    assert page.charts == [*(f"staff-{role}" for role in ROLES), "qs"]
    assert "intervals" not in page.rows


# --- the terminal table ------------------------------------------------------------------


def _lines(plan: Plan) -> list[str]:
    return render_text(plan).splitlines()


def test_a_line_per_interval_with_calls_and_the_quiet_night_folded() -> None:
    plan = _plan()
    rows = [line for line in _lines(plan) if re.match(r"\d\d:\d\d", line)]
    busy = [i for i in plan.intervals if i.offered > 0]
    assert len(rows) == len(busy) + 1
    assert rows[0].startswith("00:00–01:00") and "no calls in 2 intervals" in rows[0]
    for interval, row in zip(busy, rows[1:], strict=True):
        assert row.startswith(interval.start.strftime("%H:%M ")), row
        assert row.endswith("✗") == (not interval.met)


def test_staff_shows_the_difference_from_the_plan_and_a_dash_for_nothing_measured() -> None:
    plan = _plan()
    lines = _lines(plan)
    header = next(line for line in lines if line.startswith("start"))
    for interval in plan.intervals[2:]:
        row = next(line for line in lines if line.startswith(interval.start.strftime("%H:%M")))
        cells = re.split(r"\s{2,}", row)
        n1 = interval.staff["ARM_N1"]
        difference = n1 - interval.planned["ARM_N1"]
        assert cells[1] == (f"{n1} {difference:+d}" if difference else str(n1))
        if interval.qs30 is None:
            assert "—" in cells[1 + len(ROLES) + 1]
    assert header.split()[1:1 + len(ROLES)] == ROLES


def test_the_totals_are_the_staff_hours_of_the_intervals() -> None:
    plan = _plan()
    lines = _lines(plan)
    needed, planned = _hours(plan, planned=False), _hours(plan, planned=True)
    totals = lines[lines.index(next(line for line in lines if line.startswith("staff-hours")))
                   + 1:]
    for role in ROLES:
        fields = next(line for line in totals if line.split()[0] == role).split()
        assert float(fields[1]) == pytest.approx(needed[role], abs=0.05)
        assert float(fields[2]) == pytest.approx(planned[role], abs=0.05)
        assert float(fields[3]) == pytest.approx(needed[role] - planned[role], abs=0.05)
    every = next(line for line in totals if line.startswith("all")).split()
    assert float(every[1]) == pytest.approx(sum(needed.values()), abs=0.05)
    assert f"days simulated: {plan.days_played} in {plan.elapsed_s:.1f} s" in lines
    assert "positions added to the roster: ARM_N1 +1" in lines
    missed = [i.start.strftime("%H:%M") for i in plan.intervals if not i.met]
    assert any(line.startswith(f"targets not met in {len(missed)} interval")
               and all(start in line for start in missed) for line in lines)


def test_the_table_fits_in_100_columns() -> None:
    assert max(len(line) for line in _lines(_plan())) <= 100


def test_a_folded_night_ends_at_the_real_end_of_its_last_interval_on_a_clock_change() -> None:
    """Four half-hours from midnight on the day clocks go forward end at 03:00."""
    utc = ZoneInfo("UTC")
    midnight = datetime(2026, 3, 29, tzinfo=ZONE).astimezone(utc)
    intervals = [replace(_interval(0, offered=0.0 if k < 4 else 3.0, qs30=None),
                         start=(midnight + timedelta(seconds=k * INTERVAL_S)).astimezone(ZONE))
                 for k in range(5)]
    rows = [line for line in _lines(replace(_plan(), intervals=intervals))
            if re.match(r"\d\d:\d\d", line)]
    assert [row.split()[0] for row in rows] == ["00:00–03:00", "03:00"]


def _trusted_plan() -> Plan:
    """The plan with lines, days met and an interval out of reach."""
    plan = _plan(comparison=False)
    intervals = []
    for k, interval in enumerate(plan.intervals):
        lines = Lines(p99=3 + k, max=5 + k, load=1.5 + k, erlang_b=6 + k)
        sure = confidence([True] * 5 if interval.met else [True, True, False, True, False],
                          close=k == 5)
        out = None if interval.met else Unreachable(
            reason="answer-floor", detail="the fastest answer took 3.0 s", role="ARM_N1",
            targets=["qs30>=0.9"], people=5, tried=7)
        intervals.append(replace(interval, lines=lines, confidence=sure, unreachable=out))
    return replace(plan, intervals=intervals, blocking=0.02)


def test_the_table_and_the_page_show_lines_days_met_and_what_is_out_of_reach() -> None:
    plan = _trusted_plan()
    lines = render_text(plan).splitlines()
    assert max(len(line) for line in lines) <= 100
    row = next(line for line in lines if line.startswith("01:30"))
    missed = next(i for i in plan.intervals if i.start.strftime("%H:%M") == "01:30")
    assert missed.lines is not None and missed.confidence is not None
    assert row.split()[-2:] == [f"{missed.lines.p99}/{missed.lines.erlang_b}", "✗"]
    busiest = max(i.lines.erlang_b for i in plan.intervals if i.lines is not None)
    most = max(i.lines.max for i in plan.intervals if i.lines is not None)
    text = "\n".join(lines)
    assert f"blocking of 2.0% (Erlang B, busiest interval): {busiest}" in text
    assert f"{most} at most" in text
    assert "01:30 out of reach (answer-floor): the fastest answer took 3.0 s" in text
    sure = missed.confidence
    wilson = f"[{sure.low * 100:.0f}–{sure.high * 100:.0f}"
    assert f"days met {sure.days_met}/{sure.days} {wilson} %]: 01:30" in text
    assert "02:30*" in text  # a close decision
    page = _page(plan)
    cells = dict((r[1][0], r[1]) for r in page.rows["intervals"])
    assert cells["01:30"][-5:-1] == [f"{sure.days_met}/{sure.days} {wilson}]",
                                     str(missed.lines.p99), str(missed.lines.max),
                                     str(missed.lines.erlang_b)]
    assert cells["01:30"][-1].startswith("✗ out of reach: answer-floor")
    assert f"Telephony: {busiest} lines" in render_html(plan)
