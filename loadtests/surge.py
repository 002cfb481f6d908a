"""``loadtests/surge``: the simulator, the router and Locust, started together.

    loadtests/surge --shape busy-hour --duration 60 --out out/busy-hour
    loadtests/surge --shape busy-hour --web          # Locust's web UI on the same setup

Starts ``acd sim`` (real time, full Asterisk event mix, control port) and ``acd run``
as processes, connected over loopback TCP with a fresh AMI secret passed in the
environment, with a site config written to ``DIR/site.toml`` whose staffing follows the
shape (enough logged-in agents with short talk times that agent capacity is never the
limit). Then runs Locust with the shape, stops everything it started (also on Ctrl-C
or failure) and prints a verdict. Exit status: 0 when no call failed (for the ramp:
when no call was lost; its latency break is the expected end), 1 otherwise, 2 when
the setup could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from loadtests.report import (
    ALL_NUMBERS,
    EXCEPTIONS_CSV,
    FAILURES_CSV,
    HTML_REPORT,
    STATS_CSV,
)
from loadtests.shapes import DEFAULT_DURATIONS, SHAPE_NAMES, Shape, make_shape

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
#: seconds of talk and of ringing of the simulated agents (short: the router is measured)
TALK_S = (0.5, 1.5)
ANSWER_S = (0.2, 0.6)
#: a call holds an agent for about this long (ring + talk + margin)
HOLD_S = 2.5


class SetupFailed(RuntimeError):
    """The simulator or the router did not come up."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def agents_for(shape: Shape) -> int:
    """Agents logged in so that the peak rate never waits for a free agent."""
    return max(20, math.ceil(shape.peak_rate() * HOLD_S * 2.0) + 10)


def site_config(agents: int, ami_port: int, http_port: int) -> str:
    """A site whose numbers all reach ARM_N1 around the clock, with ``agents`` ARM."""
    lines = [
        '# Written by loadtests/surge: the load-test site (no secret here: ACD_AMI_SECRET).',
        '[site]\nname = "Load test — ARM_N1 only"\ndepartement = "59"\n'
        'timezone = "Europe/Paris"\n',
        f'[ami]\nhost = "127.0.0.1"\nport = {ami_port}\nusername = "acd"\n'
        "keepalive_s = 5.0\nreconnect_initial_s = 0.2\nreconnect_max_s = 2.0\n",
        f'[http]\nbind = "127.0.0.1"\nport = {http_port}\n',
        "[routing]\nring_timeout_s = 20.0\n",
        '[skills.ARM_N1]\nrole = "ARM front office"\nwrap_up_s = 0.0\n',
        '[numbers."15"]\nqueue = "ARM_N1"\n',
        '[numbers."116117"]\nqueue = "ARM_N1"\n',
        '[numbers."0320334455"]\nqueue = "ARM_N1"\n',
    ]
    for n in range(agents):
        lines.append(f'[[agents]]\nid = "{2001 + n}"\ndevice = "Local/{2001 + n}@agents"\n'
                     "skills = { ARM_N1 = 1 }\nlogged_in = true\n")
    return "\n".join(lines)


@dataclass
class Processes:
    """Every process the run started, stopped in reverse order whatever happens."""

    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    logs: list[TextIO] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str],
              log: Path | None) -> subprocess.Popen[bytes]:
        out: Any = None
        if log is not None:
            handle = log.open("w", encoding="utf-8")
            self.logs.append(handle)
            out = handle
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT
                                if log is not None else None, start_new_session=True)
        self.started.append((name, proc))
        return proc

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each running process has used so far."""
        tick = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for name, proc in self.started:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[name] = round((int(fields[11]) + int(fields[12])) / tick, 2)
        return out

    def stop_all(self) -> None:
        for _name, proc in reversed(self.started):
            _stop(proc)
        self.started.clear()
        for handle in self.logs:
            handle.close()
        self.logs.clear()


def _stop(proc: subprocess.Popen[bytes], grace_s: float = 8.0) -> None:
    """SIGTERM the process group we started, SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path,
               within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupFailed(f"{what} exited with status {proc.returncode}; see {log}")
        with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
            _get_json(url, 1.0)
            return
        time.sleep(0.1)
    raise SetupFailed(f"{what} not ready after {within_s:g} s ({url}); see {log}")


@contextlib.contextmanager
def running_setup(out: Path, shape: Shape, *, light: bool) -> Iterator[tuple[str, Processes]]:
    """Start sim + router; yield the control URL; stop both at the end."""
    procs = Processes()
    ami_port, http_port, control_port = free_port(), free_port(), free_port()
    config = out / "site.toml"
    config.write_text(site_config(agents_for(shape), ami_port, http_port), encoding="utf-8")
    env = {**os.environ, "ACD_AMI_SECRET": secrets.token_urlsafe(16),
           "PYTHONPATH": str(ROOT)}
    acd = [sys.executable, "-m", "acd.cli"]
    sim = [*acd, "sim", "--config", str(config), "--port", str(ami_port),
           "--control-port", str(control_port), "--speed", "1",
           "--answer-after-s", ",".join(map(str, ANSWER_S)),
           "--talk-s", ",".join(map(str, TALK_S)), "--no-answer-rate", "0"]
    if not light:
        sim.append("--full-event-mix")
    try:
        sim_proc = procs.start("sim", sim, env, out / "sim.log")
        control = f"http://127.0.0.1:{control_port}"
        _wait_http(f"{control}/healthz", sim_proc, "acd sim", out / "sim.log")
        router = procs.start("router", [*acd, "run", "--config", str(config)], env,
                             out / "router.log")
        _wait_http(f"http://127.0.0.1:{http_port}/healthz", router, "acd run",
                   out / "router.log")
        yield control, procs
    finally:
        procs.stop_all()


def locust_argv(control: str, out: Path, *, web: bool, processes: int,
                web_port: int) -> list[str]:
    locust = str(Path(sys.executable).with_name("locust"))
    argv = [locust, "-f", str(LOCUSTFILE), "--host", control, "--stop-timeout", "45"]
    if processes > 1:
        argv += ["--processes", str(processes)]
    if web:
        return [*argv, "--web-host", "127.0.0.1", "--web-port", str(web_port)]
    # no --csv / --html: the locustfile writes them (loadtests.report) to ACD_LOAD_OUT
    return [*argv, "--headless", "--only-summary"]


def route_rows(stats_csv: Path) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    if stats_csv.is_file():
        with stats_csv.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows[f"{row['Type']} {row['Name']}"] = row
    return rows


def verdict(shape: Shape, out: Path, sim_stats: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    rows = route_rows(out / STATS_CSV)
    failures = sum(int(r["Failure Count"]) for r in rows.values() if r["Name"] == ALL_NUMBERS)
    lost = (int(sim_stats.get("dropped", 0)) + int(sim_stats.get("ended_unrouted", 0))
            + int(sim_stats.get("waiting_unrouted", 0)))
    result: dict[str, Any] = {
        "shape": shape.name, "duration_s": shape.duration_s,
        "compression": round(shape.compression, 1),
        "peak_calls_per_s": round(shape.peak_rate(), 2),
        "expected_calls": round(shape.expected_calls()),
        "calls_placed": sim_stats.get("placed"), "calls_routed": sim_stats.get("routed"),
        "calls_answered": sim_stats.get("answered"), "calls_lost": lost,
        "calls_dropped": sim_stats.get("dropped"),
        "calls_abandoned": sim_stats.get("abandoned"),
        "locust_failures": failures,
        "route_p50_ms": sim_stats.get("route_p50_ms"),
        "route_p99_ms": sim_stats.get("route_p99_ms"),
        "route_max_ms": sim_stats.get("route_max_ms"),
        "answer_p50_ms": sim_stats.get("answer_p50_ms"),
        "answer_p99_ms": sim_stats.get("answer_p99_ms"),
        "sim_loop_lag_max_ms": sim_stats.get("sim_loop_lag_max_ms"),
    }
    ramp = out / "ramp.json"
    if shape.name == "ramp" and ramp.is_file():
        data = json.loads(ramp.read_text())
        result["ramp_broken"] = data.get("broken")
        steps = data.get("steps", [])
        held = [s for s in steps if not s.get("failed")
                and (s.get("route_p99_ms") or 0) <= 50]
        result["ramp_highest_held_calls_per_s"] = (
            max(s["calls_per_s"] for s in held) if held else None)
        result["ramp_steps"] = steps
    ok = lost == 0 if shape.name == "ramp" else (lost == 0 and failures == 0)
    return result, ok


def print_verdict(result: dict[str, Any], ok: bool) -> None:
    def fmt(v: Any) -> str:
        return "—" if v is None else f"{v:g}" if isinstance(v, float) else str(v)

    print(f"\nshape {result['shape']}: {fmt(result['duration_s'])} s, compressed "
          f"×{fmt(result['compression'])}, peak {fmt(result['peak_calls_per_s'])} calls/s")
    print(f"calls placed {fmt(result['calls_placed'])}   routed {fmt(result['calls_routed'])}"
          f"   answered {fmt(result['calls_answered'])}   lost {fmt(result['calls_lost'])}"
          f"   Locust failures {fmt(result['locust_failures'])}")
    print(f"route latency (announcement → Redirect in effect)  p50 "
          f"{fmt(result['route_p50_ms'])} ms   p99 {fmt(result['route_p99_ms'])} ms   "
          f"max {fmt(result['route_max_ms'])} ms")
    print(f"answer latency (announcement → pick-up)  p50 {fmt(result['answer_p50_ms'])} ms"
          f"   p99 {fmt(result['answer_p99_ms'])} ms")
    cpu = result.get("cpu_share_of_one_core") or {}
    print("CPU over the run, share of one core: " + ", ".join(
        f"{name} {share:.0%}" for name, share in cpu.items())
        + f"; the simulator's loop ran up to {fmt(result.get('sim_loop_lag_max_ms'))} ms late"
        " (that delay is inside every latency it measured)")
    if result["shape"] == "ramp":
        print(f"ramp: highest rate held {fmt(result.get('ramp_highest_held_calls_per_s'))} "
              f"calls/s; broke: {result.get('ramp_broken') or 'no (cap or end reached)'}")
    print("verdict:", "PASS" if ok else "FAIL")


def _cpu_use(before: dict[str, float], after: dict[str, float],
             children_before: resource.struct_rusage, wall_s: float) -> dict[str, float]:
    """Share of one core each process used during the Locust run: shows which of the
    router, the simulator and Locust was busy when latency rose."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # Locust, now reaped
    used = {name: after[name] - before.get(name, 0.0) for name in after}
    used["locust"] = (children.ru_utime + children.ru_stime
                      - children_before.ru_utime - children_before.ru_stime)
    return {name: round(seconds / max(wall_s, 1e-9), 3) for name, seconds in used.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtests/surge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", required=True, choices=SHAPE_NAMES)
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="real seconds the shape is played in (default: "
                        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_DURATIONS.items()) + ")")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where CSV, report and logs go (default loadtests/out/SHAPE)")
    parser.add_argument("--web", action="store_true",
                        help="open Locust's web UI instead of running headless")
    parser.add_argument("--web-port", type=int, default=8089)
    parser.add_argument("--processes", type=int, default=1,
                        help="Locust processes (default 1; more once Locust is the limit)")
    parser.add_argument("--light", action="store_true",
                        help="simulator without the full Asterisk event mix")
    args = parser.parse_args(argv)
    try:
        shape = make_shape(args.shape, args.duration)
    except ValueError as exc:
        parser.error(str(exc))
    out: Path = (args.out or ROOT / "loadtests" / "out" / shape.name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("ramp.json", STATS_CSV, FAILURES_CSV, EXCEPTIONS_CSV, HTML_REPORT):
        (out / stale).unlink(missing_ok=True)  # a failed run must not read the last one's
    print(f"shape {shape.name}: {shape.duration_s:g} s, peak {shape.peak_rate():.2f} calls/s, "
          f"about {shape.expected_calls():.0f} calls, {agents_for(shape)} agents; "
          f"output in {out}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACD_LOAD_SHAPE": shape.name,
           "ACD_LOAD_DURATION": f"{shape.duration_s:g}", "ACD_LOAD_OUT": str(out),
           "ACD_LOAD_TALK_S": ",".join(map(str, TALK_S)),
           "ACD_LOAD_ANSWER_S": ",".join(map(str, ANSWER_S))}
    interrupted = False
    try:
        with running_setup(out, shape, light=args.light) as (control, procs):
            argv_locust = locust_argv(control, out, web=args.web, processes=args.processes,
                                      web_port=args.web_port)
            before = procs.cpu_seconds()
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            locust = procs.start("locust", argv_locust, env,
                                 None if args.web else out / "locust.log")
            if args.web:
                print(f"Locust web UI: http://127.0.0.1:{args.web_port}/ (Ctrl-C to stop)",
                      flush=True)
            try:
                locust.wait()
            except KeyboardInterrupt:
                interrupted = True
                _stop(locust)
            time.sleep(1.0)  # the last hangups reach the tracker
            sim_stats = _get_json(f"{control}/stats", 10.0)
            cpu = _cpu_use(before, procs.cpu_seconds(), children_before,
                           time.monotonic() - started)
    except SetupFailed as exc:
        print(f"surge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("surge: interrupted; everything started was stopped", file=sys.stderr)
        return 130
    (out / "sim_stats.json").write_text(json.dumps(sim_stats, indent=1) + "\n")
    if args.web:
        print(json.dumps(sim_stats))
        return 0
    result, ok = verdict(shape, out, sim_stats)
    result["cpu_share_of_one_core"] = cpu
    (out / "verdict.json").write_text(json.dumps(result, indent=1) + "\n")
    print_verdict(result, ok)
    if interrupted:
        return 130
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
