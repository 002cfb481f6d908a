"""``acd plan``: read the traffic (a scenario, or a site's records), find the staffing,
print it (a table, or JSON), and on request compare routing policies and write a page.

Progress goes to stderr, the plan to stdout; exit 0 when every interval meets every
target, 1 when some interval could not (the plan is still printed, those intervals
marked), 2 for a command line or an input that cannot be used.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from acd.config import Config
from acd.config.load import load_config
from acd.core.records import CallRecord
from acd.errors import AcdError
from acd.shipped import locate
from acd.tools.fastday import load_day
from acd.tools.plan.band import BAND_LEVEL
from acd.tools.plan.jsonout import plan_json
from acd.tools.plan.model import (
    DEFAULT_ABANDON_RATE,
    Plan,
    PolicyComparison,
    Target,
    TargetError,
    needs_abandon_default,
    parse_targets,
)
from acd.tools.plan.planner import Planner, default_jobs, executor
from acd.tools.plan.staffing import PlanInputError, max_counts, steps_of, with_positions
from acd.tools.simulate.scenario import Scenario

_INTERVAL_RE = re.compile(r"^\s*(?P<n>[0-9]+)\s*(?P<unit>s|m|min|h)?\s*$")


def parse_interval(text: str) -> int:
    """``30m``, ``1h``, ``900s`` or ``900`` → seconds (5 min to 24 h)."""
    match = _INTERVAL_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r}: write 30m, 1h or 900s")
    unit = {"h": 3600, "m": 60, "min": 60, "s": 1, None: 1}[match.group("unit")]
    seconds = int(match.group("n")) * unit
    if not 300 <= seconds <= 86_400:
        raise ValueError(f"{text!r}: an interval is 5 min to 24 h")
    return seconds


@dataclass(frozen=True)
class PlanRequest:
    targets: str
    scenario_path: str | None = None
    config_path: str | None = None
    records: Sequence[str] = ()
    redis_config: str | None = None
    start: date | None = None
    end: date | None = None
    weekday: str | None = None
    day: date | None = None
    interval: str = "30m"
    seeds: int = 5
    surge: float = 1.0
    json: bool = False
    html: str | None = None
    compare_policies: bool = False
    jobs: int | None = None
    meet: str = "every-day"
    #: the blocking probability the trunk lines are sized for (Erlang B)
    blocking: float = 0.01
    #: seeds added where an interval's decision is close
    extra_seeds: int = 3
    #: records: size for the arrivals' one-sided upper bound ("upper") or their
    #: estimate ("mean")
    arrivals: str = "upper"
    #: the probability that a new day lies within the bands in every interval
    band_level: float = BAND_LEVEL


def plan_command(request: PlanRequest, *, out: TextIO = sys.stdout,
                 err: TextIO = sys.stderr) -> int:
    try:
        targets = parse_targets(request.targets)
        interval_s = parse_interval(request.interval)
        _check_numbers(request)
        config, scenario, traffic = _traffic(request, err)
    except (TargetError, ValueError, PlanInputError) as exc:
        print(f"acd plan: {exc}", file=err)
        return 2
    except AcdError as exc:
        print(str(exc), file=err)
        return 2
    if needs_abandon_default(targets):
        print(f"acd plan: warning: no abandon_rate target: QS 30 s counts answered calls "
              "only, so callers who give up would make a thin room look fast; the plan "
              f"also holds abandon_rate<={DEFAULT_ABANDON_RATE:g} (give an abandon_rate "
              "target to change it)", file=err)
    try:
        plan = _plan(request, config, scenario, targets, interval_s, err)
    except PlanInputError as exc:
        print(f"acd plan: {exc}", file=err)
        return 2
    plan.traffic = traffic
    _print_plan(plan, request.json, out)
    if request.html and not _write_page(plan, request.html, err):
        return 2
    return 0 if all(i.met for i in plan.intervals) else 1


def _check_numbers(request: PlanRequest) -> None:
    """The numeric options in their ranges; ValueError naming the option otherwise."""
    if request.seeds < 1:
        raise ValueError("--seeds: at least 1")
    if request.surge <= 0:
        raise ValueError("--surge: a positive factor, e.g. 1.55")
    if not 0 < request.blocking < 1:
        raise ValueError("--blocking: a probability between 0 and 1, e.g. 0.01")
    if request.extra_seeds < 0:
        raise ValueError("--extra-seeds: 0 or more")
    if not 0 < request.band_level < 1:
        raise ValueError("--band-level: a probability between 0 and 1, e.g. 0.9")


def _plan(request: PlanRequest, config: Config, scenario: Scenario,
          targets: Sequence[Target], interval_s: int, err: TextIO) -> Plan:
    """The staffing found on the request's seeds (and the policies compared on it
    when asked), progress on ``err``."""

    def progress(text: str) -> None:
        print(text, file=err, flush=True)

    seeds = [scenario.seed + n for n in range(request.seeds)]
    extra = [scenario.seed + request.seeds + n for n in range(request.extra_seeds)]
    with executor(request.jobs or default_jobs()) as pool:
        planner = Planner(config, scenario, targets, interval_s=interval_s, seeds=seeds,
                          surge=request.surge, meet=request.meet, pool=pool,
                          on_progress=progress, extra_seeds=extra,
                          blocking=request.blocking, band_level=request.band_level)
        plan = planner.plan()
        if request.compare_policies:
            plan.comparison = _compare(planner, plan, progress)
    return plan


def _print_plan(plan: Plan, as_json: bool, out: TextIO) -> None:
    """The plan on stdout: JSON, or the table (then the comparison, if any)."""
    if as_json:
        out.write(json.dumps(plan_json(plan), ensure_ascii=False, indent=1) + "\n")
        return
    from acd.tools.plan.render import render_text

    out.write(render_text(plan) + "\n")
    if plan.comparison is not None:
        from acd.tools.plan.policies import render_comparison

        out.write("\n" + render_comparison(plan.comparison) + "\n")


def _write_page(plan: Plan, path: str, err: TextIO) -> bool:
    """The HTML page written to ``path``; False (said on ``err``) when it cannot be."""
    from acd.tools.plan.html import write_html

    try:
        write_html(plan, Path(path))
    except OSError as exc:
        print(f"acd plan: --html: cannot write {path}: {exc.strerror}", file=err)
        return False
    print(f"page written: {path}", file=err)
    return True


def _compare(planner: Planner, plan: Plan, progress: Callable[[str], None]
             ) -> PolicyComparison:
    """The routing policies side by side, on the plan's trace and staffing."""
    from acd.tools.plan.policies import compare_policies

    staff = [i.staff for i in plan.intervals]
    config, _ = with_positions(planner.config, max_counts(staff))
    steps = steps_of(planner.grid, staff, config)
    progress("comparing routing policies on the plan's staffing")
    return compare_policies(config, planner.scenario, seeds=planner.seeds, staffing=steps,
                            pool=planner.pool)


def _traffic(request: PlanRequest, err: TextIO
             ) -> tuple[Config, Scenario, dict[str, Any] | None]:
    """The site and the day to plan: a scenario file, or a day built from records
    (with the traffic estimated from them, for the JSON and the page)."""
    from_history = bool(request.records or request.redis_config)
    if request.scenario_path and from_history:
        raise ValueError("give --scenario, or --records/--redis, not both")
    if request.scenario_path:
        return (*load_day(request.scenario_path, request.config_path), None)
    if not from_history:
        raise ValueError("give --scenario FILE, or --records FILE... / --redis CONFIG "
                         "with --from and --to")
    if request.start is None or request.end is None:
        raise ValueError("--records and --redis need --from DATE and --to DATE")
    if request.start > request.end:
        raise ValueError(f"--from {request.start} is after --to {request.end}")
    site_path = request.config_path or request.redis_config
    if site_path is None:
        raise ValueError("--records needs --config SITE (the site whose records they are)")
    config = load_config(locate(site_path))
    return (config, *_history_day(request, config, site_path, err))


def _history_day(request: PlanRequest, config: Config, site_path: str,
                 err: TextIO) -> tuple[Scenario, dict[str, Any]]:
    from acd.tools.plan.history import WEEKDAYS, estimate_history
    from acd.tools.plan.trafficjson import traffic_json
    from acd.tools.report import read_records
    from acd.tools.simulate.traffic import primary_skill

    missing = [p for p in request.records if p != "-" and not Path(p).is_file()]
    if missing:
        raise ValueError(f"{missing[0]}: no such file")
    records: list[CallRecord] = list(read_records(request.records,
                                                  stdin=sys.stdin.buffer))
    if request.redis_config is not None:
        from acd.store import read_records as read_redis_records

        records += read_redis_records(load_config(request.redis_config))
    estimate = estimate_history(records, start=request.start, end=request.end,
                                roles={a.id: primary_skill(a) for a in config.agents})
    weekday = _weekday(request, estimate.arrivals, WEEKDAYS)
    if request.arrivals == "upper":
        estimate = estimate.bounded()
    elif request.arrivals != "mean":
        raise ValueError(f"--arrivals {request.arrivals!r}: upper or mean")
    scenario = estimate.to_scenario(weekday, site=str(Path(site_path).resolve()),
                                    day=request.day)
    bound = "" if estimate.bound_z is None else \
        ", sized for each half-hour's arrivals at their one-sided 90 % upper bound"
    print(f"traffic from {len(records)} records, {request.start} → {request.end}: "
          f"planning a {WEEKDAYS[weekday]}{bound}", file=err)
    print(estimate.summary(), file=err)
    return scenario, traffic_json(estimate)


def _weekday(request: PlanRequest, arrivals: Mapping[str, Mapping[int, Sequence[float]]],
             names: Sequence[str]) -> int:
    """The weekday asked (by name or by ``--day``), else the busiest in the records."""
    if request.day is not None:
        return request.day.weekday()
    if request.weekday is not None:
        wanted = request.weekday.strip().lower()
        for n, name in enumerate(names):
            if name.lower().startswith(wanted[:3]) and wanted[:3]:
                return n
        raise ValueError(f"--weekday {request.weekday!r}: Monday … Sunday")
    totals = [sum(sum(by_day.get(d, [])) for by_day in arrivals.values()) for d in range(7)]
    if not any(totals):
        raise ValueError("no calls in the records between --from and --to")
    return max(range(7), key=lambda d: totals[d])
