"""The terminal table of ``acd plan``: one line per interval, then the day's totals.

A run of intervals without any call and with the same staffing is folded into one
line (``00:00–06:30``), so a day of 48 intervals fits on a screen; an interval with
traffic is never folded. Shares are percentages without their sign, ``—`` where
nothing was measured.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from acd.config import FRONT_OFFICE
from acd.tools.plan.model import IntervalPlan, Plan
from acd.tools.plan.readout import (
    NOTHING,
    band,
    busiest_lines,
    hhmm,
    interval_end,
    lines_text,
    missed_targets,
    role_count,
    role_hours,
    share,
    signed,
    sure_text,
    target_text,
    wilson_text,
)

_OFFERED = "calls"
_QS30 = "QS30 [band]"
_QS60 = "QS60"
_ABANDON = "aband"
_OCCUPANCY = "occ"
_LINES = "lines"
_MISSED = "✗"
_FOLDED = "no calls in"


def render_text(plan: Plan) -> str:
    """The plan as a table readable in 100 columns (with up to five roles)."""
    header = ["start", *plan.roles, _OFFERED, _QS30, _QS60, _ABANDON, _OCCUPANCY, _LINES]
    rows = [_cells(plan, run) for run in _runs(plan.intervals)]
    widths = [max(len(row[k]) for row in [header, *rows] if _full(row) or k < len(row) - 1)
              for k in range(len(header))]
    lines = [_title(plan), "", _line(header, widths)]
    lines += [_line(row, widths) for row in rows]
    lines += ["", _legend(plan)]
    lines += _totals(plan)
    return "\n".join(lines)


def _full(row: list[str]) -> bool:
    return not row[-1].startswith(_FOLDED)


def _line(cells: list[str], widths: list[int]) -> str:
    """The first cell on the left, the figures on the right; a folded line's text and
    the mark past the last column as they are."""
    out = [f"{cells[0]:<{widths[0]}}"]
    last = len(cells) - 1
    for k, cell in enumerate(cells[1:], start=1):
        as_is = k >= len(widths) or (k == last and not _full(cells))
        out.append(cell if as_is else f"{cell:>{widths[k]}}")
    return "  ".join(out).rstrip()


def _title(plan: Plan) -> str:
    settings = (f"targets {', '.join(target_text(t) for t in plan.targets)}; "
                f"{plan.interval_s / 60:g}-min intervals, {len(plan.seeds)} seed"
                + ("s" if len(plan.seeds) != 1 else "") + f", surge ×{plan.surge:g}, "
                + ("met on every seed's day" if plan.meet == "every-day"
                   else "met on the seeds' calls pooled"))
    return "\n".join([f"Plan for {plan.scenario} ({plan.site})",
                      *textwrap.wrap(settings, width=100, break_on_hyphens=False)])


def _runs(intervals: list[IntervalPlan]) -> Iterator[list[IntervalPlan]]:
    """Consecutive intervals without calls and with the same staffing, together; every
    other interval alone."""
    run: list[IntervalPlan] = []
    for interval in intervals:
        quiet = interval.offered == 0
        if run and quiet and run[-1].offered == 0 and (
                (interval.staff, interval.planned) == (run[-1].staff, run[-1].planned)):
            run.append(interval)
            continue
        if run:
            yield run
        run = [interval]
    if run:
        yield run


def _staff_cell(interval: IntervalPlan, role: str) -> str:
    needed = role_count(interval.staff, role)
    difference = needed - role_count(interval.planned, role)
    return f"{needed} {signed(difference, 0)}" if difference else str(needed)


def _cells(plan: Plan, run: list[IntervalPlan]) -> list[str]:
    first = run[0]
    start = hhmm(first.start)
    if len(run) > 1:
        start += "–" + hhmm(interval_end(run[-1], plan.interval_s))
    cells = [start, *(_staff_cell(first, role) for role in plan.roles)]
    if len(run) > 1:
        return [*cells, f"{_FOLDED} {len(run)} intervals"]
    qs30 = NOTHING if first.qs30 is None else f"{share(first.qs30)} [{band(first.qs30_band)}]"
    cells += [f"{first.offered:.1f}", qs30, share(first.qs60), share(first.abandon_rate),
              share(first.occupancy.get(FRONT_OFFICE)), lines_text(first.lines)]
    if not first.met:
        cells.append(_MISSED)
    return cells


def _legend(plan: Plan) -> str:
    return ("n +d: n people needed, d more (+) or fewer (-) than the scenario plans; "
            f"calls: mean per day;\nQS, aband(oned at N1), occ(upancy of {FRONT_OFFICE}) in %, "
            f"{NOTHING}: nothing to measure; {_MISSED}: a target not met;\n"
            "[band]: where a new day's QS lies, in every interval at once on "
            f"{plan.band_level:.0%} of days;\n"
            "lines: calls held at once 99 % of the time / Erlang B's lines for the "
            "blocking below")


def _totals(plan: Plan) -> list[str]:
    rows = role_hours(plan)
    width = max([len("staff-hours"), *(len(row.role) for row in rows)])
    lines = ["", f"{'staff-hours':<{width}}  {'needed':>8}  {'planned':>8}  {'difference':>10}"]
    for row in rows:
        lines.append(f"{row.role:<{width}}  {row.needed:>8.1f}  {row.planned:>8.1f}  "
                     f"{signed(row.difference):>10}")
    needed = sum(row.needed for row in rows)
    planned = sum(row.planned for row in rows)
    lines.append(f"{'all':<{width}}  {needed:>8.1f}  {planned:>8.1f}  "
                 f"{signed(needed - planned):>10}")
    lines.append("difference: needed - planned, + where the scenario plans too few")
    lines.append("")
    lines.append(f"days simulated: {plan.days_played} in {plan.elapsed_s:.1f} s")
    added = ", ".join(f"{role} +{count}" for role, count in plan.positions_added.items()
                      if count)
    lines.append(f"positions added to the roster: {added or 'none'}")
    lines += _wrapped(_lines_total(plan))
    lines += _sure(plan)
    lines += _unreachable(plan)
    lines += _floors(plan)
    missed = [interval for interval in plan.intervals if not interval.met]
    if missed:
        lines += _wrapped(f"targets not met in {len(missed)} interval"
                          + ("s" if len(missed) != 1 else "") + ": "
                          + ", ".join(_missed(plan, interval) for interval in missed))
    else:
        lines.append("every interval meets the targets")
    return lines


def _wrapped(text: str) -> list[str]:
    """A line of the table's footer, cut at 100 columns, its continuations indented."""
    return textwrap.wrap(text, width=100, subsequent_indent="  ", break_on_hyphens=False)


def _missed(plan: Plan, interval: IntervalPlan) -> str:
    metrics = [t.metric for t in missed_targets(interval, plan.targets)]
    return hhmm(interval.start) + (f" ({', '.join(metrics)})" if metrics else "")


def _lines_total(plan: Plan) -> str:
    busiest = busiest_lines(plan)
    if busiest is None:
        return "lines: nothing measured"
    return (f"lines for a blocking of {plan.blocking:.1%} (Erlang B, busiest interval): "
            f"{busiest.erlang_b}; calls the PBX held at once: {busiest.p99} during 99 % "
            f"of the time, {busiest.max} at most")


def _unreachable(plan: Plan) -> list[str]:
    out: list[str] = []
    for interval in plan.intervals:
        if interval.unreachable is not None:
            out += _wrapped(f"{hhmm(interval.start)} out of reach "
                            f"({interval.unreachable.reason}): "
                            f"{interval.unreachable.detail}")
    return out


def _floors(plan: Plan) -> list[str]:
    """The days an interval missed a target only as much as with as many people as
    calls (met: more people would not have helped that day)."""
    out: list[str] = []
    for interval in plan.intervals:
        floor = interval.floor
        if floor is not None:
            seeds = ", ".join(str(s) for s in floor.seeds)
            out += _wrapped(f"{hhmm(interval.start)} {', '.join(floor.targets)} missed "
                            f"at the floor on seed{'s' if len(floor.seeds) > 1 else ''} "
                            f"{seeds} ({floor.reason}): {floor.detail}")
    return out


def _sure(plan: Plan) -> list[str]:
    """How sure: the days that met every target, per interval with calls, grouped by
    their count (``5/5 [57–100 %]: 08:00, 08:30…``)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for interval in plan.intervals:
        if interval.offered and interval.confidence is not None:
            key = (sure_text(interval.confidence), wilson_text(interval.confidence))
            mark = "*" if interval.confidence.close else ""
            groups.setdefault(key, []).append(hhmm(interval.start) + mark)
    out: list[str] = []
    for (days, wilson), starts in sorted(groups.items(), key=lambda g: -len(g[1])):
        out += _wrapped(f"days met {days} [{wilson} %]: {', '.join(starts)}")
    if any(i.confidence is not None and i.confidence.close for i in plan.intervals):
        out.append("*: a close decision, judged on more days")
    return out
