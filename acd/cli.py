"""The ``acd`` command: a table of sub-commands, each bound to the function of
``acd.tools``, ``acd.config``, ``acd.sim`` or the service that does the job.

Every binding imports its target when the command runs, so ``acd --help`` loads
nothing but this module and the configuration schema.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from acd.config.schema import FRONT_OFFICE
from acd.errors import AcdError, ConfigError
from acd.extras import extra_providing

Arguments = Callable[[argparse.ArgumentParser], None]
Runner = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """One sub-command: its help, its flags and what runs it."""

    name: str
    help: str
    description: str
    arguments: Arguments
    run: Runner


# --- argument types -----------------------------------------------------------------


def _seconds_range(text: str) -> tuple[float, float]:
    from acd.sim.cli import parse_range

    try:
        return parse_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a probability between 0 and 1")
    return value


def _date(text: str) -> date:
    from acd.tools.report import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


# --- runners: flags → the function that does the job (imported when run) --------------


def _run(args: argparse.Namespace) -> int:
    from acd import logs
    from acd.config.load import load_config
    from acd.service.main import run_service

    config = load_config(args.config)
    logs.configure(sys.stdout)
    return run_service(config, config_path=args.config, speed=args.speed,
                       records_out=args.records_out)


def _check_config(args: argparse.Namespace) -> int:
    from acd.config.check import check_config_command

    return check_config_command(args.files)


def _check_pbx(args: argparse.Namespace) -> int:
    from acd.tools.pbxcheck.command import check_pbx_command

    return check_pbx_command(args.config, args.timeout_s)


def _replay(args: argparse.Namespace) -> int:
    from acd.tools.replay import replay_command

    return replay_command(args.files, args.config)


def _sim(args: argparse.Namespace) -> int:
    from acd import logs
    from acd.config.load import load_config
    from acd.shipped import locate
    from acd.sim.cli import behaviour_from, serve_sim

    config = load_config(locate(args.config))
    logs.configure(sys.stdout)
    behaviour = behaviour_from(args.answer_after_s, args.talk_s, args.no_answer_rate)
    return serve_sim(config, host=args.host, port=args.port, seed=args.seed, speed=args.speed,
                     full_event_mix=args.full_event_mix, calls_per_hour=args.calls_per_hour,
                     failopen_s=args.failopen_s, control_port=args.control_port,
                     behaviour=behaviour)


def _simulate(args: argparse.Namespace) -> int:
    from acd.tools import humanlogs
    from acd.tools.simulate.command import simulate_command

    humanlogs.configure(args.verbose, args.log_file)
    return simulate_command(scenario_path=args.scenario, config_path=args.config,
                            seed=args.seed, speed=args.speed, as_json=args.json,
                            live=False, metrics_out=args.metrics_out, chaos=args.chaos,
                            staffing_from=args.staffing_from, records_out=args.records_out,
                            fast=args.fast, days=args.days)


def _plan(args: argparse.Namespace) -> int:
    from acd.tools import humanlogs
    from acd.tools.plan.command import PlanRequest, plan_command

    humanlogs.configure(args.verbose, args.log_file)
    if args.suite is not None:
        from acd.tools.plan.suite import suite_command

        return suite_command(args.suite, compare=args.compare_policies,
                             seeds=args.seeds or 3, as_json=args.json, jobs=args.jobs)
    if args.target is None:
        print("acd plan: --target TARGETS is required (or --compare-policies --suite)",
              file=sys.stderr)
        return 2
    return plan_command(PlanRequest(
        targets=args.target, scenario_path=args.scenario, config_path=args.config,
        records=args.records or [], redis_config=args.redis, start=args.start,
        end=args.end, weekday=args.weekday, day=args.day, interval=args.interval,
        seeds=args.seeds or 5, surge=args.surge, json=args.json, html=args.html,
        compare_policies=args.compare_policies, jobs=args.jobs, meet=args.meet,
        blocking=args.blocking, extra_seeds=args.extra_seeds, arrivals=args.arrivals,
        band_level=args.band_level))


def _demo(args: argparse.Namespace) -> int:
    from acd.tools import humanlogs
    from acd.tools.simulate.command import DEMO_SCENARIO, simulate_command

    stream = humanlogs.configure(args.verbose, args.log_file)
    with humanlogs.held_on_terminal(stream, sys.stdout):  # the live line is rewritten
        return simulate_command(scenario_path=args.scenario or str(DEMO_SCENARIO),
                                config_path=None, seed=args.seed, speed=args.speed,
                                as_json=False, live=True, records=False,
                                console_port=args.console_port if args.console else None)


def _route(args: argparse.Namespace) -> int:
    from acd.tools.route import route_command

    return route_command(config_path=args.config, number=args.number, at=args.at,
                         as_json=args.json)


def _report(args: argparse.Namespace) -> int:
    from acd.tools import humanlogs
    from acd.tools.report_render import report_command

    humanlogs.configure(args.verbose, args.log_file)
    return report_command(start=args.start, end=args.end, fmt=args.format,
                          records=args.records or [], config_path=args.config,
                          front_office=args.front_office, redis_config=args.redis)


def _config_reference(_args: argparse.Namespace) -> int:
    from acd.config.reference import render

    sys.stdout.write(render())
    return 0


# --- flags of each sub-command ----------------------------------------------------------


def _log_arguments(parser: argparse.ArgumentParser) -> None:
    """The log flags of the commands a person reads (their output on stdout)."""
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="JSON log lines on stderr at info level (-vv: debug); "
                             "default: warnings and errors only")
    parser.add_argument("--log-file", metavar="FILE",
                        help="append the JSON log lines to FILE instead of stderr")


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--config", required=True, help="site config (TOML)")
    run.add_argument("--records-out", metavar="FILE",
                     help="append each finished call's record to FILE (JSON lines)")
    run.add_argument("--speed", type=float, default=1.0,
                     help="against a simulator running this much faster than real time "
                          "(acd sim --speed); 1 for a real Asterisk")


def _check_config_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("files", nargs="+", metavar="FILE")


def _check_pbx_arguments(pbx: argparse.ArgumentParser) -> None:
    pbx.add_argument("--config", required=True, help="site config (as for acd run)")
    pbx.add_argument("--timeout-s", type=float, default=5.0, metavar="S",
                     help="seconds to wait for the connection and for each answer")


def _replay_arguments(replay: argparse.ArgumentParser) -> None:
    replay.add_argument("files", nargs="+", metavar="FILE")
    replay.add_argument("--config", help="site config (number plan, time zone); optional")


def _sim_arguments(sim: argparse.ArgumentParser) -> None:
    sim.add_argument("--config", required=True, help="site config (agents and their phones)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=5038)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--speed", type=float, default=1.0,
                     help="simulated seconds per real second (default 1: real time)")
    sim.add_argument("--failopen-s", type=float, metavar="S",
                     help="the dialplan's ACD_FAILOPEN_S: callers holding go to the native "
                          "front-office queue after S simulated seconds without the "
                          "router's heartbeat (default: the check is off)")
    sim.add_argument("--full-event-mix", action="store_true",
                     help="also send VarSet, Newexten… like a real Asterisk (load tests)")
    sim.add_argument("--calls-per-hour", type=float, default=0.0, metavar="N",
                     help="place calls by itself, N per simulated hour (random arrivals "
                     "to the site's numbers; default 0: only calls placed over AMI)")
    sim.add_argument("--control-port", type=int, metavar="N",
                     help="also serve the HTTP control port on HOST:N (0: a free port, "
                     "logged): POST /calls, GET /calls/{id}?wait=…, GET /stats")
    sim.add_argument("--answer-after-s", type=_seconds_range, metavar="LOW[,HIGH]",
                     help="agents answer after this many seconds (default 1,6)")
    sim.add_argument("--talk-s", type=_seconds_range, metavar="LOW[,HIGH]",
                     help="conversations last this many seconds (default 60,300)")
    sim.add_argument("--no-answer-rate", type=_rate, metavar="P",
                     help="share of offers left ringing (default 0.05)")


def _simulate_arguments(simulate: argparse.ArgumentParser) -> None:
    simulate.add_argument("--scenario", required=True, help="scenario file (TOML)")
    simulate.add_argument("--config", help="site config; default: the scenario's `site`")
    simulate.add_argument("--seed", type=int, help="default: the scenario's seed")
    simulate.add_argument("--speed", type=float,
                          help="fast-forward factor (default: the scenario's; 1 = real time)")
    simulate.add_argument("--json", action="store_true",
                          help="end with the summary as one JSON object instead of a table")
    simulate.add_argument("--chaos", metavar="FAULTS",
                          help="faults to inject, e.g. router-kill@60+5,redis-stop@120+30,"
                               "pbx-restart@200,pbx-crash@250,ami-drop@280+2,"
                               "leader-kill@300 (seconds of scenario time); runs the "
                               "router as its own process; replaces the scenario's `chaos`")
    simulate.add_argument("--metrics-out", metavar="FILE",
                          help="write the router's final /metrics text to FILE")
    simulate.add_argument("--records-out", metavar="FILE",
                          help="append the run's call records to FILE (JSON lines, as "
                               "acd run --records-out; acd plan --records reads them)")
    simulate.add_argument("--staffing-from", metavar="PLAN.json",
                          help="play the scenario with the staffing of a plan (acd plan "
                               "--json) instead of its own; the summary then gives QS 30 s "
                               "per interval of the plan, and each target's figure against "
                               "the plan's band (with --fast: one day, in seconds)")
    simulate.add_argument("--fast", action="store_true",
                          help="play the scenario in one process on a virtual clock (the "
                               "planner's fast day: no AMI, as fast as the code runs)")
    simulate.add_argument("--days", type=int, metavar="N",
                          help="with --fast: play it on N successive dates, seeds from "
                               "--seed (or the scenario's) up, a synthetic history for "
                               "--records-out")
    _log_arguments(simulate)


def _plan_arguments(plan: argparse.ArgumentParser) -> None:
    source = plan.add_argument_group("traffic (one of)")
    source.add_argument("--scenario", metavar="FILE", help="a scenario file (TOML)")
    source.add_argument("--records", nargs="+", metavar="FILE",
                        help="the site's call records, JSON lines (acd run --records-out, "
                             "acd replay; - for stdin), with --config, --from and --to")
    source.add_argument("--redis", metavar="CONFIG",
                        help="the call records kept in the Redis of this site config "
                             "(also the --config when none is given)")
    plan.add_argument("--config", help="site config; default: the scenario's `site`")
    plan.add_argument("--from", dest="start", type=_date, metavar="DATE",
                      help="records: first day, YYYY-MM-DD (local date of arrival)")
    plan.add_argument("--to", dest="end", type=_date, metavar="DATE",
                      help="records: last day, YYYY-MM-DD, included")
    plan.add_argument("--weekday", help="records: the weekday to plan (Monday … Sunday; "
                      "default: the busiest in the records)")
    plan.add_argument("--day", type=_date, metavar="DATE",
                      help="records: the date to plan (its weekday's traffic)")
    plan.add_argument("--arrivals", choices=("upper", "mean"), default="upper",
                      help="records: size for each half-hour's arrivals at their one-sided "
                           "90%% upper bound (default: the records' chance shortfalls do "
                           "not under-staff), or at the estimate itself (mean)")
    plan.add_argument("--target", metavar="TARGETS",
                      help="comma-separated: qs30>=0.90, qs60>=0.99, abandon_rate<=0.05, "
                           "QUEUE_pNN<=SECONDS (e.g. amu_n2_p90<=60)")
    plan.add_argument("--interval", default="30m",
                      help="staffing interval: 30m (default), 1h, 15m…")
    plan.add_argument("--seeds", type=int, metavar="N",
                      help="days played per staffing tried, seeds from the scenario's "
                           "(default 5; 3 per day with --suite)")
    plan.add_argument("--surge", type=float, default=1.0, metavar="X",
                      help="multiply every arrival rate (1.55: a winter surge)")
    plan.add_argument("--extra-seeds", type=int, default=3, metavar="N",
                      help="more seeds for the intervals whose decision is close "
                           "(default 3; 0: none)")
    plan.add_argument("--blocking", type=float, default=0.01, metavar="P",
                      help="the blocking probability the trunk lines are sized for "
                           "(Erlang B; default 0.01)")
    plan.add_argument("--band-level", type=float, default=0.9, metavar="P",
                      help="the probability that a new day lies within the intervals' "
                           "bands everywhere at once (default 0.9)")
    plan.add_argument("--json", action="store_true",
                      help="print the plan as one JSON object (intervals: start, staff, "
                           "qs30, qs60, abandon_rate, occupancy, planned, …)")
    plan.add_argument("--meet", choices=["every-day", "pooled"], default="every-day",
                      help="an interval meets a target on every seed's day (default), or "
                           "only on its calls pooled over the seeds (the expected figure)")
    plan.add_argument("--html", metavar="OUT", help="also write the plan as a page")
    plan.add_argument("--compare-policies", action="store_true",
                      help="also play the plan's staffing under app_queue: every strategy "
                           "(ringall, leastrecent, fewestcalls, rrmemory, linear, random) "
                           "with autofill on and off, with and without queue rules")
    plan.add_argument("--suite", nargs="*", metavar="SCENARIO",
                      help="with --compare-policies and no --target: compare the routing "
                           "on each day of the suite (default: the shipped comparison "
                           "days), each with its own staffing")
    plan.add_argument("--jobs", type=int, metavar="N",
                      help="processes playing days at once (default: the CPUs, at most 8)")
    _log_arguments(plan)


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--scenario", help="another scenario to play")
    demo.add_argument("--seed", type=int)
    demo.add_argument("--speed", type=float)
    demo.add_argument("--console", action="store_true",
                      help="serve the supervisor's console while the morning plays: its "
                           "address and a supervisor token are printed first (type the "
                           "token into the page); --speed 60 gives a slower morning")
    demo.add_argument("--console-port", type=int, default=8015, metavar="PORT",
                      help="the console's port on 127.0.0.1 (default 8015; taken: any "
                           "free one)")
    _log_arguments(demo)


def _route_arguments(route: argparse.ArgumentParser) -> None:
    route.add_argument("--config", required=True, help="site config (TOML)")
    route.add_argument("--number", required=True, help="the number dialled, e.g. 116117")
    route.add_argument("--at", help="ISO 8601 date-time; without an offset, the site's "
                       "local time (default: now)")
    route.add_argument("--json", action="store_true",
                       help="print one JSON object (number, at, period, destination, "
                       "external, reason)")


def _report_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("--from", dest="start", required=True, type=_date, metavar="DATE",
                        help="first day, YYYY-MM-DD (local date of arrival)")
    report.add_argument("--to", dest="end", required=True, type=_date, metavar="DATE",
                        help="last day, YYYY-MM-DD, included")
    report.add_argument("--records", nargs="+", metavar="FILE",
                        help="call records, JSON lines (acd replay, acd simulate --json; "
                        "- for stdin)")
    report.add_argument("--redis", metavar="CONFIG",
                        help="also read the call records kept in the Redis of this site "
                        "config ([redis]: url, namespace; password from "
                        "ACD_REDIS_PASSWORD); also the --config when none is given")
    report.add_argument("--format", choices=["md", "csv", "json"], default="md",
                        help="md: tables for a monthly report (default); csv: one row per "
                        "month × period × indicator; json: one object")
    report.add_argument("--config", help="site config: short_abandon_s, role of each "
                        "queue, site name (default: 15 s, queue names)")
    report.add_argument("--front-office", default=FRONT_OFFICE, metavar="QUEUE",
                        help="queue whose calls QS 30 s and QS 60 s count "
                        f"(default {FRONT_OFFICE})")
    _log_arguments(report)


def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    pass


# --- the table ------------------------------------------------------------------------

COMMANDS: tuple[Command, ...] = (
    Command("run", "run the router against the configured Asterisk",
            "Connect to Asterisk's AMI, route calls, serve /healthz. "
            "The AMI secret comes from ACD_AMI_SECRET, ami.secret_file or "
            "$CREDENTIALS_DIRECTORY/ami-secret.",
            _run_arguments, _run),
    Command("check-config", "validate site config files",
            "Exit 0 if every file is valid and every secret "
            "file it names exists and is readable; otherwise print "
            "'file: key: problem' lines and exit 1. A valid file that works "
            "against the dialplan (a ring time-out shorter than ACD_RING) "
            "gets 'file: warning: ...' lines on stderr and still exits 0.",
            _check_config_arguments, _check_config),
    Command("check-pbx", "check the site's Asterisk before going live",
            "Log in to the site's Asterisk with the router's AMI user ([ami] of "
            "the config, its secret as for acd run) and print one line per check, 'ok', "
            "'warn' (works, not as shipped) or 'FIX' (routing would break): Asterisk version, "
            "timestampevents, the AMI permissions the router needs, every context and "
            "extension of dialplans/, the globals, the fail-open queue (exists, strategy, "
            "autofill, members), the music-on-hold class. Exit 1 if any line says FIX. "
            "Changes nothing but one global variable of its own (ACD_CHECK_PBX).",
            _check_pbx_arguments, _check_pbx),
    Command("replay", "replay recorded AMI streams, print call records",
            "Run recorded AMI byte streams through framing, "
            "decoding and the engine (no network); print one JSON call record "
            "per line.",
            _replay_arguments, _replay),
    Command("sim", "run the PBX simulator alone, as an AMI server",
            "A simulated Asterisk speaking AMI on HOST:PORT, for the "
            "router, a test or a load test. The AMI user is ami.username of the "
            "config; its secret comes from ACD_AMI_SECRET (or ami.secret_file).",
            _sim_arguments, _sim),
    Command("simulate", "play a scenario: simulator + router over loopback TCP",
            "Start the PBX simulator and the router connected over loopback TCP, "
            "play the scenario, print the router's call records (JSON lines, as acd replay) "
            "and a summary.",
            _simulate_arguments, _simulate),
    Command("demo", "a morning in the room of the large example SAS, live",
            "Simulator + router on a morning of "
            "config/sas-large.toml (N1, transfers to AMU N2, OSNP and MG, a "
            "saturated front office overflowing to a partner SAS, 116 117 to "
            "the PDSA line before 08:00), in about a minute, with live "
            "progress and a summary table at the end.",
            _demo_arguments, _demo),
    Command("route", "where a call to a number goes at a given moment",
            "Print the entry queue or external destination of a "
            "dialled number at a moment (SAS or PDSA hours of the site's "
            "calendar) and why. A number not in the plan goes to ARM_N1.",
            _route_arguments, _route),
    Command("report", "monthly indicators (DGOS) from call records",
            "Per month and period (SAS hours, PDSA hours, all): calls answered, "
            "QS 30 s and QS 60 s at the front office, answer rate, abandons, talk time per "
            "role, transfers, overflows. Calls are chosen by the local date of their arrival. "
            "Definitions: docs/indicators.md.",
            _report_arguments, _report),
    Command("plan", "the staffing per interval and role that meets QS targets",
            "Find the smallest number of people per role (ARM_N1, AMU_N2, OSNP, MG and the "
            "site's other filières) in each interval of a day that meets the targets, by "
            "playing the day with the router's own engine and the simulated PBX, over "
            "several seeds. Traffic from a scenario, or from a site's call records. "
            "Exit 1 if some interval cannot meet them. How it works: docs/plan.md.",
            _plan_arguments, _plan),
    Command("config-reference", "print the configuration reference (Markdown)",
            "Print every key of the site configuration with its type, default and "
            "meaning, generated from acd/config/schema.py. docs/config.md is its output: "
            "acd config-reference > docs/config.md",
            _no_arguments, _config_reference),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acd", description="Call distribution for a SAS room, beside Asterisk.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help,
                               description=command.description)
        command.arguments(child)
        child.set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except ModuleNotFoundError as exc:
        extra = extra_providing(exc.name)
        if extra is None:
            raise
        print(f"acd {args.command}: needs acd's optional dependencies '{extra}' (no module "
              f"named {exc.name!r}): pip install 'acd[{extra}]'", file=sys.stderr)
        return 2
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    except AcdError as exc:
        print(f"acd: {exc.code}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
