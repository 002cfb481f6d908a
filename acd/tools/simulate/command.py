"""The ``acd simulate`` and ``acd demo`` commands, and what they print: records, live
progress, summary."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import msgspec

from acd.config import BACK_OFFICE, FRONT_OFFICE, Config
from acd.core.model import Outcome
from acd.core.records import CallRecord
from acd.service.recordfile import RecordsFile
from acd.shipped import SCENARIOS, shown_path
from acd.tools.plan.staffed import (
    StaffedPlan,
    interval_figures,
    render_intervals,
    staffed_from,
)
from acd.tools.plan.staffing import PlanInputError
from acd.tools.simulate.chaos import ChaosError, Fault, parse_chaos
from acd.tools.simulate.chaos_judge import Harm
from acd.tools.simulate.chaos_run import ChaosResult, run_chaos
from acd.tools.simulate.run import Progress, RunResult, run_scenario
from acd.tools.simulate.scenario import Scenario, load_scenario_and_site
from acd.tools.summary import Summary, render, summarize

DEMO_SCENARIO = SCENARIOS / "sas-large-demo-morning.toml"


def summary_json(summary: Summary, result: RunResult | ChaosResult) -> dict[str, Any]:
    counts = summary.counts
    return {
        "offered": counts.offered, "answered": counts.answered,
        "abandoned": counts.abandoned,
        "abandoned_in_announcement": counts.abandoned_in_announcement,
        "waiting": counts.waiting, "other": summary.other,
        "other_outcomes": summary.other_outcomes,
        "qs30": counts.qs30.value, "qs30_answered_within_30s": counts.qs30_within,
        "qs30_answered": counts.qs_answered,
        "qs60": counts.qs60.value, "qs60_answered_within_60s": counts.qs60_within,
        "answered_wait_unknown": counts.answered_wait_unknown,
        "queues": {name: {"offered": q.offered, "answered": q.answered,
                          "abandoned": q.abandoned, "waiting": q.waiting,
                          "mean_wait_s": q.mean_wait, "p90_wait_s": q.p90_wait}
                   for name, q in sorted(summary.queues.items())},
        "handled_by_role": summary.handled_by_role,
        "transfers": [{"from": a, "to": b, "count": t.count, "connected": t.connected}
                      for (a, b), t in sorted(summary.transfers.items())],
        "overflows": {partner: {"tried": p.tried, "taken": p.taken}
                      for partner, p in sorted(summary.overflows.items())},
        "forwarded_by_number": dict(sorted(summary.forwarded.items())),
        "calls_placed": result.calls_placed,
        "callers_hung_up_by_router": len(result.hung_up_by_router),
        "foreign_touched": result.foreign_touched,
        "native_moved": result.native_moved,
        "callers_rung_on_unknown_members": result.callers_rung_on_unknown_members,
        "phantom_records": result.phantom_records,
    }


def harmed(result: Harm) -> bool:
    """The router touched a channel that is not an ACD caller, took a caller out of
    the fail-open queue or its conversation, recorded a channel that never was a
    caller, or left a member it does not know in the fail-open queue, which rang a
    caller."""
    return bool(result.foreign_touched or result.native_moved or result.phantom_records
                or result.callers_rung_on_unknown_members)


class LiveLine:
    """One status line, rewritten in place on a terminal, appended otherwise."""

    def __init__(self, stream: TextIO, zone: Any) -> None:
        self.stream = stream
        self.zone = zone
        self.tty = stream.isatty()

    def __call__(self, p: Progress) -> None:
        line = live_line(p, self.zone)
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


#: how the live line names the four filières' queues
SHORT_QUEUE = {FRONT_OFFICE: "N1", BACK_OFFICE: "AMU", "OSNP": "OSNP", "MG": "MG"}


def live_line(p: Progress, zone: Any) -> str:
    """``HH:MM  waiting: N1 3 · AMU 0 · OSNP 1 · MG 0  agents free 4/21  …``: the four
    filières always, another queue only while calls wait in it; about 110 columns."""
    from datetime import datetime

    clock = datetime.fromtimestamp(p.sim_time, zone).strftime("%H:%M")
    shown = [(short, p.waiting.get(queue, 0)) for queue, short in SHORT_QUEUE.items()]
    shown += [(q, n) for q, n in sorted(p.waiting.items()) if q not in SHORT_QUEUE and n]
    waiting = " · ".join(f"{name} {n}" for name, n in shown)
    logged = sum(p.agents.values())
    qs30 = "—" if p.qs30 is None else f"{p.qs30:.0%}"
    return (f"{clock}  waiting: {waiting}  agents free {p.agents.get('available', 0)}/"
            f"{logged}  answered {p.answered} abandoned {p.abandoned} "
            f"overflowed {p.overflowed}  QS 30 s {qs30}")


def simulate_command(*, scenario_path: str, config_path: str | None, seed: int | None,
                     speed: float | None, as_json: bool, live: bool,
                     records: bool = True, metrics_out: str | None = None,
                     chaos: str | None = None, staffing_from: str | None = None,
                     records_out: str | None = None, console_port: int | None = None,
                     fast: bool = False, days: int | None = None) -> int:
    config, scenario, site = load_scenario_and_site(scenario_path, config_path)
    staffed = None
    if staffing_from is not None:
        try:
            staffed = staffed_from(config, scenario, staffing_from)
        except PlanInputError as exc:
            print(f"acd simulate: --staffing-from: {exc}", file=sys.stderr)
            return 1
        config, scenario = staffed.config, staffed.scenario
    if fast or days is not None:
        return fast_command(config, scenario, fast=fast, days=days, seed=seed,
                            speed=speed, as_json=as_json, records=records,
                            records_out=records_out, metrics_out=metrics_out,
                            chaos=chaos, staffed=staffed)
    try:
        faults = parse_chaos(scenario.chaos if chaos is None else chaos)
    except ChaosError as exc:
        print(f"acd simulate: --chaos: {exc}", file=sys.stderr)
        return 1
    if faults:
        if metrics_out:
            print("acd simulate: --metrics-out is not available with faults (the router "
                  "is another process; scrape its /metrics)", file=sys.stderr)
            return 1
        return chaos_command(config, scenario, faults, seed=seed, speed=speed,
                             as_json=as_json, records=records, records_out=records_out)
    out = sys.stdout
    result = _play(config, scenario, site, seed=seed, speed=speed, live=live,
                   console_port=console_port, out=out)
    if records_out:
        write_records(records_out, result.records)
    if metrics_out:
        Path(metrics_out).write_bytes(result.metrics_text)
    if records:
        encoder = msgspec.json.Encoder()
        for record in result.records:
            out.write(encoder.encode(record).decode("utf-8") + "\n")
    intervals = None if staffed is None else interval_figures(result.records, config, staffed.grid,
                                                              staffed.promise)
    if as_json:
        _print_summary_json(result, intervals, out)
    else:
        _print_summary(result, intervals, scenario, speed or scenario.speed, out)
    if not result.summary.accounted() or result.hung_up_by_router or harmed(result):
        return 2
    return 0


def _play(config: Config, scenario: Scenario, site: Path, *, seed: int | None,
          speed: float | None, live: bool, console_port: int | None,
          out: TextIO) -> RunResult:
    """The run over AMI, with the live line (``live``) and the demo's console (a
    ``console_port``) while it plays."""
    line = LiveLine(out, config.zone()) if live else None
    if live:
        chosen = speed or scenario.speed
        print(f"{scenario.name}\nsite {config.site.name} ({shown_path(site)}), speed ×{chosen:g}, "
              f"seed {seed if seed is not None else scenario.seed}\n", file=out)
    console = None
    if console_port is not None:  # acd demo --console: the page while the morning plays
        from acd.tools.simulate.democonsole import demo_console

        console = demo_console(console_port, out)
    result = asyncio.run(run_scenario(config, scenario, seed=seed, speed=speed,
                                      on_progress=line, console=console))
    if line is not None:
        line.close()
    return result


def _print_summary_json(result: RunResult, intervals: list[dict[str, Any]] | None,
                        out: TextIO) -> None:
    checked, largest = waits_against_the_simulator(result)
    figures = summary_json(result.summary, result)
    figures |= {"no_answer_pauses": result.no_answer_pauses,
                "waits_checked": checked, "largest_wait_difference_s": largest}
    if intervals is not None:
        figures["intervals"] = intervals
    out.write(msgspec.json.encode({"summary": figures}).decode("utf-8") + "\n")


def _print_summary(result: RunResult, intervals: list[dict[str, Any]] | None,
                   scenario: Scenario, speed: float, out: TextIO) -> None:
    checked, largest = waits_against_the_simulator(result)
    print("\n" + render(result.summary, title=f"Summary — {scenario.name}"), file=out)
    if intervals is not None:
        print("\n" + render_intervals(intervals, speed), file=out)
    if result.hung_up_by_router:
        print(f"  callers hung up by the router: {len(result.hung_up_by_router)}", file=out)
    else:
        print("  no caller was hung up by the router", file=out)
    print_harm(result, out)
    scale = (f" (at ×{speed:g} a millisecond of the router's own work is "
             f"{speed:g} ms of the simulated day)" if speed > 1 else "")
    print(f"  agents paused for not answering: {result.no_answer_pauses} (a busy "
          f"phone never counts); the router's waits against the simulator's own: "
          f"{checked} answered calls, largest difference {1000 * largest:.0f} ms"
          f"{scale}", file=out)


def waits_against_the_simulator(result: RunResult) -> tuple[int, float]:
    """How many answered calls' waits the router recorded can be checked against the
    simulator's own account (announced → first picked up, on simulated time), and the
    largest difference, seconds."""
    largest, checked = 0.0, 0
    for record in result.records:
        own = result.sim_answers.get(record.uniqueid)
        if own is None or record.wait_s is None or record.outcome != Outcome.ANSWERED:
            continue
        checked += 1
        largest = max(largest, abs(record.wait_s - (own[1] - own[0])))
    return checked, round(largest, 3)


def write_records(path: str, records: list[CallRecord]) -> None:
    """``--records-out``: the run's records appended to ``path`` as ``acd run
    --records-out`` writes them (the calls still in progress at the end included)."""
    out = RecordsFile(path)
    try:
        for record in records:
            out.write(record)
    finally:
        out.close()


def fast_command(config: Config, scenario: Scenario, *, fast: bool, days: int | None,
                 seed: int | None, speed: float | None, as_json: bool, records: bool,
                 records_out: str | None, metrics_out: str | None, chaos: str | None,
                 staffed: StaffedPlan | None) -> int:
    """``acd simulate --fast [--days N]``: the scenario on the fast day (no AMI, no
    router process), ``N`` successive dates, each day's records appended to
    ``--records-out`` as soon as it is played (:mod:`acd.tools.simulate.synthetic`);
    ``staffed`` (``--staffing-from``, already applied to ``config`` and ``scenario``):
    one day, checked against the plan."""
    from acd.tools.simulate.synthetic import play_history

    refused = _not_with_fast(fast=fast, days=days, speed=speed, chaos=chaos,
                             metrics_out=metrics_out, staffed=staffed)
    if refused:
        print(f"acd simulate: not with --fast: {', '.join(refused)}", file=sys.stderr)
        return 1
    out = sys.stdout
    all_records: list[CallRecord] = []
    hung_up: list[str] = []
    intervals = None
    try:
        for day in play_history(config, scenario, days or 1, seed):
            if records_out:
                write_records(records_out, day.records)
            all_records += day.records
            hung_up += day.hung_up_by_router
            if staffed is not None:
                intervals = interval_figures(day.records, config, staffed.grid,
                                             staffed.promise, day.transfers)
    except ValueError as exc:
        print(f"acd simulate: {exc}", file=sys.stderr)
        return 1
    summary = summarize(all_records, config)
    if records:
        encoder = msgspec.json.Encoder()
        for record in all_records:
            out.write(encoder.encode(record).decode("utf-8") + "\n")
    result = RunResult(records=all_records, summary=summary, calls_placed=len(all_records),
                       hung_up_by_router=hung_up)
    if as_json:
        figures = summary_json(summary, result)
        figures["days"] = days or 1
        if intervals is not None:
            figures["intervals"] = intervals
        out.write(msgspec.json.encode({"summary": figures}).decode("utf-8") + "\n")
    else:
        _print_fast(result, intervals, f"Summary — {scenario.name}"
                    + (f", {days} days" if days and days > 1 else ""), out)
    return 2 if not summary.accounted() or hung_up else 0


def _not_with_fast(*, fast: bool, days: int | None, speed: float | None,
                   chaos: str | None, metrics_out: str | None,
                   staffed: StaffedPlan | None) -> list[str]:
    """The options ``--fast`` cannot take with the others given."""
    refused = [flag for flag, given in (("--speed", speed is not None),
                                        ("--chaos", chaos is not None),
                                        ("--metrics-out", metrics_out is not None),
                                        ("--days with --staffing-from (a plan is one "
                                         "day's: replay it on other seeds with --seed)",
                                         staffed is not None and days is not None))
               if given]
    return refused if fast else ["--days without --fast", *refused]


def _print_fast(result: RunResult, intervals: list[dict[str, Any]] | None, title: str,
                out: TextIO) -> None:
    print("\n" + render(result.summary, title=title), file=out)
    if intervals is not None:
        print("\n" + render_intervals(intervals, 1.0), file=out)
    hung_up = result.hung_up_by_router
    print(f"  callers hung up by the router: {len(hung_up)}" if hung_up
          else "  no caller was hung up by the router", file=out)


def print_harm(result: RunResult | ChaosResult, out: TextIO) -> None:
    print(f"  actions to channels that are not ACD callers: {result.foreign_touched}; "
          f"callers taken out of the fail-open queue: {result.native_moved}; "
          f"records of non-callers: {result.phantom_records}; "
          f"callers rung on a fail-open member the router does not know: "
          f"{result.callers_rung_on_unknown_members}", file=out)


def chaos_json(result: ChaosResult) -> dict[str, Any]:
    """What a chaos run adds to ``{"summary": …}``."""
    lost = [r for r in result.records if r.outcome == Outcome.LOST]
    return {
        "faults": [fault.line() for fault in result.faults],
        "lost": len(lost),
        "lost_pbx_restart": sum(r.lost_reason == "pbx-restart" for r in lost),
        "lost_pbx_crash": sum(r.lost_reason == "pbx-crash" for r in lost),
        "ended_unobserved": sum(r.ended_unobserved for r in result.records),
        "failed_open": result.failed_open,
        "routed_twice": len(result.routed_twice),
        "router_starts": result.router_starts,
        "takeovers_s": result.takeovers_s,
        "records_in_redis": result.records_in_redis,
    }


def chaos_command(config: Config, scenario: Scenario, faults: list[Fault], *,
                  seed: int | None, speed: float | None, as_json: bool,
                  records: bool, records_out: str | None = None) -> int:
    """``acd simulate`` with faults: the router runs as its own process(es)."""
    out = sys.stdout

    def fired(fault: Fault) -> None:
        text = json.dumps(fault.line()) if as_json else "  " + fault.describe()
        out.write(text + "\n")
        out.flush()

    result = asyncio.run(run_chaos(config, scenario, faults, seed=seed, speed=speed,
                                   on_fault=fired))
    if records_out:
        write_records(records_out, result.records)
    if records:
        encoder = msgspec.json.Encoder()
        for record in result.records:
            out.write(encoder.encode(record).decode("utf-8") + "\n")
    extra = chaos_json(result)
    if as_json:
        summary = {**summary_json(result.summary, result), **extra}
        out.write(msgspec.json.encode({"summary": summary}).decode("utf-8") + "\n")
    else:
        print("\n" + render(result.summary, title=f"Summary — {scenario.name}"), file=out)
        print(f"  faults: {', '.join(f.describe().removeprefix('fault: ') for f in faults)}; "
              f"router processes started: {extra['router_starts']}; "
              f"{extra['failed_open']} callers answered by the fail-open queue", file=out)
        for seconds in result.takeovers_s:
            print(f"  standby took over {seconds:.2f} s after the leader was killed", file=out)
        print(f"  lost: {extra['lost']} (in a pbx-restart: {extra['lost_pbx_restart']}, "
              f"in a pbx-crash: {extra['lost_pbx_crash']}); "
              f"routed twice: {extra['routed_twice']}", file=out)
        print_harm(result, out)
        if result.hung_up_by_router:
            print(f"  callers hung up by the router: {len(result.hung_up_by_router)}",
                  file=out)
        else:
            print("  no caller was hung up by the router", file=out)
    broken = (not result.summary.accounted() or result.hung_up_by_router
              or result.routed_twice or harmed(result)
              or extra["lost"] != extra["lost_pbx_restart"] + extra["lost_pbx_crash"])
    return 2 if broken else 0
