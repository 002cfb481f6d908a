"""The page of ``acd plan --html``: one self-contained HTML file a planner can read.

The charts are drawn by matplotlib on :class:`~matplotlib.figure.Figure` objects (no
pyplot, no GUI backend, the process's rcParams untouched after the call) and embedded
as SVG data URIs, so the page loads nothing from anywhere. Every chart is drawn from
matplotlib's default style with a fixed ``svg.hashsalt`` and no date in its metadata:
the same plan gives the same bytes, and two pages can be diffed.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

from acd.tools.plan.model import Band, IntervalPlan, Plan, PolicyComparison, Target
from acd.tools.plan.readout import (
    NOTHING,
    band,
    busiest_lines,
    hhmm,
    interval_end,
    missed_targets,
    role_count,
    role_hours,
    share,
    signed,
    target_text,
)
from acd.tools.plan.traffichtml import traffic_section

#: the style every chart starts from, whatever the user's matplotlibrc says
_STYLE: list[str | dict[str, object]] = [
    "default",
    {"svg.hashsalt": "acd-plan", "svg.fonttype": "path", "text.parse_math": False,
     "font.size": 9.0},
]
_SVG_METADATA: dict[str, str | None] = {"Date": None, "Creator": None, "Format": None,
                                        "Type": None}
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 72em;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .15em .45em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
tr.quiet td { color: #999; }
tr.missed td { background: #fff0f0; } td.miss { color: #b00; font-weight: 600; }
.short, td.more { color: #b00; } .surplus, td.fewer { color: #06c; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: .85em; color: #555; }
"""


def render_html(plan: Plan) -> str:
    """The whole page, as text."""
    with _chart_style():
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>Staffing plan – {_e(plan.scenario)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            *_header(plan),
            *_headline(plan),
            *(traffic_section(plan.traffic) if plan.traffic is not None else []),
            *_staffing(plan),
            *_service(plan),
            *(_policies(plan, plan.comparison) if plan.comparison is not None else []),
            *_interval_table(plan),
            *_how_to_read(plan),
            "</body>",
            "</html>",
        ]
    return "\n".join(parts) + "\n"


def write_html(plan: Plan, path: Path) -> None:
    path.write_text(render_html(plan), encoding="utf-8")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


@contextmanager
def _chart_style() -> Iterator[None]:
    with matplotlib.style.context(_STYLE):
        yield


# --- the parts of the page ------------------------------------------------------------


def _header(plan: Plan) -> list[str]:
    seeds = ", ".join(str(seed) for seed in plan.seeds)
    added = ", ".join(f"{role} +{count}" for role, count in plan.positions_added.items()
                      if count) or "none"
    facts = [
        ("Scenario", plan.scenario),
        ("Site", plan.site),
        ("Targets", ", ".join(target_text(t) for t in plan.targets)),
        ("Seeds", f"{len(plan.seeds)} ({seeds})"),
        ("Interval", f"{plan.interval_s / 60:g} min"),
        ("Surge factor", f"×{plan.surge:g}"),
        ("Computed", f"{plan.days_played} simulated days in {plan.elapsed_s:.1f} s"),
        ("Positions added to the roster", added),
    ]
    return [
        '<header id="plan">',
        f"<h1>Staffing plan – {_e(plan.scenario)}</h1>",
        '<dl class="facts">',
        *(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts),
        "</dl>",
        "</header>",
    ]


def _headline(plan: Plan) -> list[str]:
    rows = role_hours(plan)
    lines = [
        '<section id="headline">',
        "<h2>Staff-hours over the day</h2>",
        "<table>",
        "<thead><tr><th>Role</th><th>Needed</th><th>Scenario's own</th>"
        "<th>Difference</th><th>Scenario's staffing</th></tr></thead>",
        "<tbody>",
    ]
    for row in rows:
        lines.append(_hours_row(row.role, row.needed, row.planned))
    lines.append(_hours_row("all roles", sum(r.needed for r in rows),
                            sum(r.planned for r in rows)))
    missed = sum(1 for interval in plan.intervals if not interval.met)
    verdict = ("Every interval meets the targets." if not missed else
               f"{missed} interval{'s' if missed != 1 else ''} of {len(plan.intervals)} "
               "do not meet the targets even with the staffing found (marked ✗ below).")
    lines += ["</tbody>", "</table>", f"<p>{_e(verdict)}</p>", _telephony(plan),
              "</section>"]
    return lines


def _telephony(plan: Plan) -> str:
    busiest = busiest_lines(plan)
    if busiest is None:
        return ""
    return (f'<p id="lines">Telephony: {busiest.erlang_b} lines for a blocking of '
            f"{plan.blocking:.1%} (Erlang B on the busiest interval's load, "
            f"{busiest.load:.1f} Erlangs); the simulated PBX held "
            f"{_e(NOTHING if busiest.p99 is None else busiest.p99)} calls at once 99 % of "
            f"the time and {busiest.max} at most.</p>")


def _hours_row(role: str, needed: float, planned: float) -> str:
    difference = needed - planned
    if round(difference, 1) > 0:
        verdict = f'<span class="short">short by {difference:.1f} h</span>'
    elif round(difference, 1) < 0:
        verdict = f'<span class="surplus">surplus of {-difference:.1f} h</span>'
    else:
        verdict = "as needed"
    return (f"<tr><td>{_e(role)}</td><td>{needed:.1f}</td><td>{planned:.1f}</td>"
            f"<td>{signed(difference)}</td><td>{verdict}</td></tr>")


def _staffing(plan: Plan) -> list[str]:
    lines = ['<section id="staffing">', "<h2>Staffing through the day, per role</h2>"]
    for role in plan.roles:
        figure = _staffing_chart(plan, role)
        lines.append(_figure(figure, f"staff-{role}",
                             f"{role}: people needed (plan) and planned (scenario) per "
                             "interval"))
    lines.append("</section>")
    return lines


def _service(plan: Plan) -> list[str]:
    return ['<section id="service">', "<h2>Predicted QS through the day</h2>",
            _figure(_service_chart(plan), "qs",
                    "QS at N1 per interval (pooled over the seeds), shaded the band "
                    f"where a new day lies in every interval at once ({plan.band_level:.0%} "
                    "of days), the targets dashed"),
            "</section>"]


def _policies(plan: Plan, comparison: PolicyComparison) -> list[str]:
    if not comparison.results:
        return ['<section id="policies">', "<h2>Routing policies compared</h2>",
                "<p>No policy was compared.</p>", "</section>"]
    queues = _queue_order(plan, comparison)
    head = "".join(f"<th>{_e(queue)} mean wait [band]</th><th>{_e(queue)} p90 wait</th>"
                   for queue in queues)
    lines = [
        '<section id="policies">',
        "<h2>Routing policies compared</h2>",
        f"<p>Each policy routes the same calls with the plan's staffing, on "
        f"{len(comparison.seeds)} seed{'s' if len(comparison.seeds) != 1 else ''}.</p>",
        _figure(_policy_chart(plan, comparison), "policies",
                "QS 30 s at N1 over the day per policy, the error bar from the lowest to "
                "the highest seed"),
        "<table>",
        f"<thead><tr><th>Policy</th><th>QS 30 s % [band]</th><th>Abandoned %</th>{head}"
        "</tr></thead>",
        "<tbody>",
    ]
    for result in comparison.results:
        waits = "".join(
            f"<td>{_seconds(result.mean_wait_s.get(queue))} "
            f"[{_seconds_band(result.mean_wait_band.get(queue))}]</td>"
            f"<td>{_seconds(result.p90_wait_s.get(queue))}</td>" for queue in queues)
        lines.append(f"<tr><td>{_e(result.policy)}</td>"
                     f"<td>{_e(_qs_with_band(result.qs30, result.qs30_band))}</td>"
                     f"<td>{_e(share(result.abandon_rate))}</td>{waits}</tr>")
    lines += ["</tbody>", "</table>", "</section>"]
    return lines


def _wait_targets(plan: Plan) -> list[Target]:
    """The wait targets whose figure each interval keeps (the 90th percentile)."""
    return [t for t in plan.targets if t.queue is not None and t.percentile == 90]


def _interval_table(plan: Plan) -> list[str]:
    roles = plan.roles
    top = ('<tr><th rowspan="2">Start</th>'
           + "".join(f'<th colspan="2">{_e(role)}</th>' for role in roles)
           + '<th rowspan="2">Offered</th><th rowspan="2">QS 30 s % [band]</th>'
           '<th rowspan="2">QS 60 s %</th><th rowspan="2">Abandoned %</th>'
           + "".join(f'<th rowspan="2">{_e(t.queue)} p90 wait</th>'
                     for t in _wait_targets(plan))
           + f'<th colspan="{len(roles)}">Occupancy %</th>'
           '<th rowspan="2">Days met [95 %]</th>'
           '<th colspan="3">Lines</th>'
           '<th rowspan="2">Targets</th></tr>')
    sub = ("<tr>" + "<th>needed</th><th>planned</th>" * len(roles)
           + "".join(f"<th>{_e(role)}</th>" for role in roles)
           + "<th>p99</th><th>max</th><th>Erlang B</th></tr>")
    lines = ['<section id="intervals">', "<h2>Interval by interval</h2>", "<table>",
             f"<thead>{top}{sub}</thead>", "<tbody>"]
    lines += [_interval_row(plan, interval) for interval in plan.intervals]
    lines += ["</tbody>", "</table>", "</section>"]
    return lines


def _interval_row(plan: Plan, interval: IntervalPlan) -> str:
    missed = missed_targets(interval, plan.targets)
    metrics = {target.metric for target in missed}

    def cell(text: str, *names: str) -> str:
        miss = ' class="miss"' if metrics.intersection(names) else ""
        return f"<td{miss}>{_e(text)}</td>"

    classes = [name for name, on in (("quiet", interval.offered == 0),
                                     ("missed", not interval.met)) if on]
    row_class = f' class="{" ".join(classes)}"' if classes else ""
    staff = "".join(_staff_cells(role_count(interval.staff, role),
                                 role_count(interval.planned, role)) for role in plan.roles)
    occupancy = "".join(f"<td>{_e(share(interval.occupancy.get(role)))}</td>"
                        for role in plan.roles)
    if interval.met and interval.floor is not None:
        low = interval.floor
        verdict = (f'<td title="{_e(low.detail)}">✓ at the floor on seed '
                   f"{_e(', '.join(str(s) for s in low.seeds))}: {_e(low.reason)}</td>")
    elif interval.met:
        verdict = "<td>✓</td>"
    elif interval.unreachable is not None:
        out = interval.unreachable
        verdict = (f'<td class="miss" title="{_e(out.detail)}">✗ out of reach: '
                   f"{_e(out.reason)} ({_e(', '.join(out.targets))})</td>")
    else:
        names = ", ".join(t.metric for t in missed) or "not met"
        verdict = f'<td class="miss" title="{_e(names)}">✗ {_e(names)}</td>'
    sure = interval.confidence
    sure_cell = NOTHING if sure is None else (
        f"{sure.days_met}/{sure.days} [{sure.low * 100:.0f}–{sure.high * 100:.0f}]")
    held = interval.lines
    line_cells = ("<td>—</td>" * 3 if held is None else
                  f"<td>{_e(NOTHING if held.p99 is None else held.p99)}</td>"
                  f"<td>{held.max}</td><td>{held.erlang_b}</td>")
    return (f"<tr{row_class}><td>{_e(hhmm(interval.start))}</td>{staff}"
            f"<td>{interval.offered:.1f}</td>"
            + cell(_qs_with_band(interval.qs30, interval.qs30_band), "qs30")
            + cell(share(interval.qs60), "qs60")
            + cell(share(interval.abandon_rate), "abandon_rate")
            + "".join(cell(_seconds(interval.p90_wait_s.get(t.queue or "")), t.metric)
                      for t in _wait_targets(plan))
            + occupancy + f"<td>{_e(sure_cell)}</td>" + line_cells + verdict + "</tr>")


def _staff_cells(needed: int, planned: int) -> str:
    """Needed and planned; needed coloured where it differs from the scenario's."""
    kind = ' class="more"' if needed > planned else ' class="fewer"' if needed < planned else ""
    return f"<td{kind}>{needed}</td><td>{planned}</td>"


def _how_to_read(plan: Plan) -> list[str]:
    judged = ("on each seed's day (every simulated day meets it) and on all the seeds' "
              "calls of the interval pooled" if plan.meet == "every-day" else
              "on the calls arriving in each interval, pooled over the seeds (one "
              "simulated day per seed, all their calls of the interval counted together)")
    items = [
        "Needed: the smallest number of people per role, logged in for the whole "
        "interval, with which the interval meets every target. Planned: the scenario's "
        "own staffing in that interval; a needed count in red is above it, in blue "
        "below it.",
        f"A target is judged on the calls arriving in each interval, {judged}. The "
        "figures shown are the pooled ones.",
        "Band: the lowest and the highest value over the seeds, each seed's calls of "
        "the interval taken alone.",
        "QS 30 s (QS 60 s): the share of the calls answered at N1 (ARM_N1) that were "
        "picked up within 30 s (60 s) of their arrival; abandoned calls are not in it. "
        "Abandoned: the share of the interval's N1 calls that hung up before any "
        "pick-up.",
        "Offered: the calls arriving in the interval, mean over the seeds.",
        "Occupancy: time spent talking or in wrap-up over logged-in time, per role.",
        f"{NOTHING}: nothing to measure (no call answered in the interval).",
        "✗: a target the interval does not meet even with the staffing found; out of "
        "reach: more people stopped bringing it closer, for the reason given.",
        "Days met: the simulated days (one per seed) on which the interval met every "
        "target, over the days played, and the 95 % Wilson interval of the probability "
        "that such a day meets them.",
        "Lines: the calls the PBX held at once (waiting, ringing, talking, on hold): "
        "the number not exceeded during 99 % of the interval's time, the most at once "
        "over the seeds, and Erlang B's lines for the plan's blocking probability on "
        "the interval's load (arrival rate × mean time a call holds a line).",
    ]
    return (['<section id="reading">', "<h2>How to read this</h2>", "<ul>"]
            + [f"<li>{_e(item)}</li>" for item in items] + ["</ul>", "</section>"])


# --- formatting -----------------------------------------------------------------------


def _qs_with_band(value: float | None, values: Band | None) -> str:
    return NOTHING if value is None else f"{share(value)} [{band(values)}]"


def _seconds(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.1f} s"


def _seconds_band(values: Band | None) -> str:
    return NOTHING if values is None else f"{values[0]:.1f}–{values[1]:.1f}"


def _queue_order(plan: Plan, comparison: PolicyComparison) -> list[str]:
    queues = {queue for result in comparison.results
              for queue in (*result.mean_wait_s, *result.p90_wait_s)}
    known = [role for role in plan.roles if role in queues]
    return known + sorted(queues.difference(known))


# --- charts ---------------------------------------------------------------------------


def _figure(figure: Figure, name: str, caption: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata=_SVG_METADATA)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure class="chart" data-chart="{_e(name)}">'
            f'<img src="data:image/svg+xml;base64,{data}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _hours(plan: Plan, moment: datetime) -> float:
    """The x of a moment on every chart: hours since the first interval's start (real
    time, so a day that changes clocks keeps its length; two aware datetimes of one
    zone subtract as wall-clock times, hence the UTC)."""
    return (moment.astimezone(UTC) - plan.intervals[0].start.astimezone(UTC)
            ).total_seconds() / 3600.0


def _steps(plan: Plan, values: list[float]) -> tuple[list[float], list[float]]:
    """The points of a step line: each interval's start, then the last one's end."""
    times = [_hours(plan, interval.start) for interval in plan.intervals]
    if plan.intervals:
        times.append(_hours(plan, interval_end(plan.intervals[-1], plan.interval_s)))
        values = [*values, values[-1]]
    return times, values


def _time_axis(axes: Axes, plan: Plan) -> None:
    """Local times of day on whole hours, the same span on every chart of the page."""
    if not plan.intervals:
        return
    first = plan.intervals[0].start
    span = _hours(plan, interval_end(plan.intervals[-1], plan.interval_s))
    step = 1.0 if span <= 8 else 2.0 if span <= 26 else 6.0
    axes.xaxis.set_major_locator(MultipleLocator(step, offset=(-first.minute / 60.0) % 1.0))
    zone = first.tzinfo

    def label(x: float, _position: int | None) -> str:
        return hhmm((first.astimezone(UTC) + timedelta(hours=x)).astimezone(zone))

    axes.xaxis.set_major_formatter(FuncFormatter(label))
    axes.set_xlim(0.0, span)
    axes.grid(True, alpha=0.3)


def _staffing_chart(plan: Plan, role: str) -> Figure:
    figure = Figure(figsize=(9.0, 2.4), layout="constrained")
    axes = figure.add_subplot()
    if plan.intervals:
        needed = [float(role_count(i.staff, role)) for i in plan.intervals]
        planned = [float(role_count(i.planned, role)) for i in plan.intervals]
        axes.step(*_steps(plan, planned), where="post", label="planned (scenario)",
                  color="#888888", linewidth=1.5, linestyle="--")
        axes.step(*_steps(plan, needed), where="post", label="needed (plan)",
                  color="#1f77b4", linewidth=2.0)
        figure.legend(loc="outside upper right", ncols=2, fontsize=8, frameon=False)
    axes.set_title(role, loc="left", fontweight="bold")
    axes.set_ylabel("people")
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _time_axis(axes, plan)
    return figure


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _qs_targets(plan: Plan) -> list[Target]:
    return [t for t in plan.targets if t.metric in ("qs30", "qs60")]


def _service_chart(plan: Plan) -> Figure:
    figure = Figure(figsize=(9.0, 3.2), layout="constrained")
    axes = figure.add_subplot()
    targets = _qs_targets(plan)
    series: list[tuple[str, str, list[float | None], list[Band | None]]] = [
        ("QS 30 s", "#1f77b4", [i.qs30 for i in plan.intervals],
         [i.qs30_band for i in plan.intervals])]
    if any(t.metric == "qs60" for t in targets):
        series.append(("QS 60 s", "#2ca02c", [i.qs60 for i in plan.intervals],
                       [i.qs60_band for i in plan.intervals]))
    lowest = 1.0
    for label, colour, values, bands in series:
        if not plan.intervals:
            continue
        times, points = _steps(plan, [_nan(v) for v in values])
        _, lows = _steps(plan, [_nan(b[0] if b else None) for b in bands])
        _, highs = _steps(plan, [_nan(b[1] if b else None) for b in bands])
        axes.fill_between(times, lows, highs, step="post", color=colour, alpha=0.2,
                          linewidth=0, label=f"{label}, a new day's band")
        axes.step(times, points, where="post", color=colour, linewidth=2.0, label=label)
        lowest = min([lowest, *(v for v in (*points, *lows) if not math.isnan(v))])
    for target, colour in zip(targets, ("#d62728", "#9467bd", "#8c564b", "#e377c2"),
                              strict=False):
        axes.axhline(target.value, color=colour, linestyle="--", linewidth=1.2,
                     label=f"target {target_text(target)}")
        lowest = min(lowest, target.value)
    axes.set_ylim(max(0.0, lowest - 0.05), 1.01)
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    axes.set_ylabel("QS at N1")
    if axes.get_legend_handles_labels()[0]:
        figure.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    _time_axis(axes, plan)
    return figure


def _policy_chart(plan: Plan, comparison: PolicyComparison) -> Figure:
    figure = Figure(figsize=(9.0, 3.0), layout="constrained")
    axes = figure.add_subplot()
    names = [result.policy for result in comparison.results]
    lowest = 1.0
    for index, result in enumerate(comparison.results):
        if result.qs30 is None:
            axes.text(index, 0.15, "no call answered", ha="center", va="center",
                      transform=axes.get_xaxis_transform(), color="#555555")
            continue
        low, high = result.qs30_band or (result.qs30, result.qs30)
        axes.errorbar([index], [result.qs30],
                      yerr=[[result.qs30 - low], [high - result.qs30]],
                      fmt="o", color="#1f77b4", capsize=5, markersize=6)
        lowest = min(lowest, low)
    for target in _qs_targets(plan):
        if target.metric == "qs30":
            axes.axhline(target.value, color="#d62728", linestyle="--", linewidth=1.2,
                         label=f"target {target_text(target)}")
            lowest = min(lowest, target.value)
    if axes.get_legend_handles_labels()[0]:
        figure.legend(loc="outside upper right", fontsize=8, frameon=False)
    axes.set_xticks(range(len(names)), names)
    axes.set_xlim(-0.5, len(names) - 0.5)
    axes.set_ylim(max(0.0, lowest - 0.05), 1.01)
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    axes.set_ylabel("QS 30 s at N1")
    axes.grid(True, axis="y", alpha=0.3)
    return figure
