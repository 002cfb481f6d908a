"""The comparison days: the router's routing against app_queue's best configuration on
each day of a suite, each played with its own staffing (``acd plan --compare-policies
--suite``, ``python -m benchmarks.policies --suite``).

The shipped suite (``config/scenarios/``): the winter-surge day (no N2 traffic: what
protecting N2 costs), a weekday with N2 traffic (what it buys), a thin room with
transfers (backups matter most), a PDSA night (a small room, long hours).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TextIO

from acd.errors import AcdError
from acd.tools.fastday import load_day
from acd.tools.plan.jsonout import comparison_json
from acd.tools.plan.model import PolicyComparison
from acd.tools.plan.planner import default_jobs, executor
from acd.tools.plan.policies import compare_policies, render_comparison

#: the shipped comparison days (scenario names of acd.shipped)
SUITE: tuple[str, ...] = (
    "sas-large-winter-surge-day",
    "sas-large-n2-day",
    "sas-large-thin-room-transfers",
    "sas-large-pdsa-night",
)


@dataclass(frozen=True)
class SuiteDay:
    """One day of the suite and its comparison."""

    scenario: str
    name: str
    comparison: PolicyComparison


def compare_suite(scenarios: Sequence[str] = SUITE, *, seeds: int = 3,
                  pool: Executor | None = None,
                  on_day: Callable[[str], None] | None = None) -> list[SuiteDay]:
    """Each scenario played over ``seeds`` seeds from its own, with its own staffing,
    under the router's routing and every app_queue configuration."""
    days = []
    for path in scenarios:
        config, scenario = load_day(path)
        if on_day is not None:
            on_day(f"comparing routing policies: {scenario.name}")
        comparison = compare_policies(
            config, scenario, seeds=[scenario.seed + n for n in range(seeds)], pool=pool)
        days.append(SuiteDay(scenario=path, name=scenario.name, comparison=comparison))
    return days


def render_suite(days: Sequence[SuiteDay]) -> str:
    """Every day's table, under its name."""
    return "\n\n".join(f"{day.name} ({day.scenario})\n{render_comparison(day.comparison)}"
                       for day in days)


def suite_json(days: Sequence[SuiteDay]) -> list[dict[str, Any]]:
    return [{"scenario": day.scenario, "name": day.name,
             **comparison_json(day.comparison)} for day in days]


def suite_command(scenarios: Sequence[str], *, compare: bool, seeds: int, as_json: bool,
                  jobs: int | None, out: TextIO = sys.stdout, err: TextIO = sys.stderr
                  ) -> int:
    """``acd plan --compare-policies --suite [SCENARIO…]``: 0, or 2 for unusable input."""
    if not compare:
        print("acd plan: --suite goes with --compare-policies", file=err)
        return 2
    if seeds < 1:
        print("acd plan: --seeds: at least 1", file=err)
        return 2
    try:
        with executor(jobs or default_jobs()) as pool:
            days = compare_suite(list(scenarios) or SUITE, seeds=seeds, pool=pool,
                                 on_day=lambda text: print(text, file=err, flush=True))
    except AcdError as exc:
        print(str(exc), file=err)
        return 2
    if as_json:
        out.write(json.dumps(suite_json(days), ensure_ascii=False, indent=1) + "\n")
    else:
        out.write(render_suite(days) + "\n")
    return 0
