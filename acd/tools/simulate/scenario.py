"""Scenario files: a stretch of a SAS day for ``acd simulate`` and ``acd demo``.

A scenario names the site it is written for (``site = "config/<file>.toml"``: an
absolute path, a path relative to the scenario file's folder, or a shipped example site,
see :mod:`acd.shipped`), when it starts (local time
of the site), how long it lasts, the traffic (calls a day per number shaped by an
hourly profile, caller patience, priority mix), how agents behave (answer delay,
talk time per skill, no-answer rate), who is logged in when (staffing by time and
skill), and scripted events at given times. Errors name file, key and problem, like
site configs.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from acd.config import SKILL_NAME_RE
from acd.config.load import load_config, split_msgspec_error
from acd.config.schema import Config
from acd.errors import ConfigError
from acd.shipped import ROOT as SHIPPED_ROOT
from acd.shipped import locate
from acd.tools.simulate.chaos import ChaosError, parse_chaos

#: a talk time's key: a queue (every call of that queue), or "QUEUE/ROLE" (the calls of
#: that queue answered by agents whose primary skill is ROLE)
TALK_KEY_RE = r"^[A-Z][A-Z0-9_]{0,31}(/[A-Z][A-Z0-9_]{0,31})?$"
Range = Annotated[list[Annotated[float, msgspec.Meta(ge=0, le=86_400)]],
                  msgspec.Meta(min_length=2, max_length=2)]
Share = Annotated[float, msgspec.Meta(ge=0, le=1)]
#: how a duration is drawn from its range [low, high]: uniformly in it, or
#: exponentially with the range's midpoint as mean (Erlang's assumption)
Distribution = Literal["uniform", "exponential"]

#: A weekday in a SAS: night trough, morning peak, lunch dip, evening bump.
SAS_WEEKDAY_PROFILE: tuple[float, ...] = (
    2.0, 1.6, 1.3, 1.1, 1.0, 1.1, 1.8, 3.2, 5.6, 6.4, 6.6, 6.3,
    5.6, 5.2, 5.4, 5.6, 5.5, 5.6, 6.0, 6.4, 5.6, 4.4, 3.4, 2.5,
)


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class PatienceTail(_Strict, frozen=True):
    """A fitted distribution of patience, ``S(t) = exp(-(t / scale_s) ** shape)``
    (``shape`` 1: exponential, else Weibull), as ``acd plan`` fits it to records."""

    family: Literal["exponential", "weibull"] = "exponential"
    shape: Annotated[float, msgspec.Meta(gt=0, le=20)] = 1.0
    scale_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 120.0


class CallsSpec(_Strict, frozen=True):
    #: calls a day per number dialled; the hourly profile spreads them over the day
    per_day: dict[str, Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]]
    #: relative weight of each hour 00…23 (local time); defaults to a SAS weekday
    hourly: Annotated[list[Annotated[float, msgspec.Meta(ge=0)]],
                      msgspec.Meta(min_length=24, max_length=24)] = msgspec.field(
        default_factory=lambda: list(SAS_WEEKDAY_PROFILE))
    #: per number, instead of ``hourly``: relative weights of each half-hour 00:00…23:30
    #: (local time), as ``acd plan`` estimates them from a site's records
    half_hourly: dict[str, Annotated[list[Annotated[float, msgspec.Meta(ge=0)]],
                                     msgspec.Meta(min_length=48, max_length=48)]] = \
        msgspec.field(default_factory=dict)
    #: multiply every rate (1.55 = the winter surge of December 2022)
    factor: Annotated[float, msgspec.Meta(gt=0, le=100)] = 1.0
    #: how long callers wait before hanging up: uniform in [low, high] seconds
    patience_s: Range = msgspec.field(default_factory=lambda: [30.0, 300.0])
    #: "exponential": patience drawn exponentially, mean the midpoint of ``patience_s``
    patience_distribution: Distribution = "uniform"
    #: instead of that range, points [share, seconds] of patience's distribution (the
    #: share of callers with at most that patience), both increasing, as ``acd plan``
    #: estimates them from records: drawn by linear interpolation between the points
    #: (from 0 s at share 0); callers beyond the last share wait the last point's seconds
    patience_quantiles_s: list[Annotated[list[Annotated[float, msgspec.Meta(ge=0)]],
                                         msgspec.Meta(min_length=2, max_length=2)]] = \
        msgspec.field(default_factory=list)
    #: beyond the last point of ``patience_quantiles_s`` (or for every caller without
    #: points), patience drawn from this distribution, conditioned on exceeding the last
    #: point's seconds: the tail ``acd plan`` fits beyond where the records stop
    patience_tail: PatienceTail | None = None
    #: share of calls per priority (0 = life-threatening); the rest gets the default
    priority_mix: dict[str, Share] = msgspec.field(default_factory=dict)


class AgentsSpec(_Strict, frozen=True):
    answer_after_s: Range = msgspec.field(default_factory=lambda: [1.0, 5.0])
    #: talk time per queue: uniform in [low, high] seconds, for every call of that queue
    #: whoever answers it (a backup answering an N1 call talks like an N1 call); a key
    #: "QUEUE/ROLE" gives the calls of QUEUE answered by agents whose primary skill is
    #: ROLE their own range (``{ "ARM_N1/AMU_N2" = [60, 240] }``), as ``acd plan``
    #: estimates them from records. A call whose queue the agent cannot see (answered in
    #: the fail-open queue) takes the agent's primary skill's range
    talk_s: dict[Annotated[str, msgspec.Meta(pattern=TALK_KEY_RE)], Range] = msgspec.field(
        default_factory=dict)
    default_talk_s: Range = msgspec.field(default_factory=lambda: [60.0, 240.0])
    #: "exponential": talk times drawn exponentially, mean the midpoint of each range
    talk_distribution: Distribution = "uniform"
    no_answer_rate: Share = 0.02
    #: share of offers the phone answers busy at once (SIP 486: do-not-disturb, a call
    #: on another line), cold offers and warm transfer targets alike: not a missed
    #: offer, the caller goes to another agent (0: every draw as without the key)
    busy_rate: Share = 0.0
    #: share of conversations the agent ends (the caller ends the others)
    agent_ends_rate: Share = 0.5
    #: an agent the router paused "no answer" presses ready again after a time drawn in
    #: this range, seconds (a person noticing the pause; [0, 0]: at once)
    ready_after_pause_s: Range = msgspec.field(default_factory=lambda: [60.0, 180.0])
    #: per primary skill of the agent: target queue → share of its answered calls the
    #: agent transfers there at the end of its talk (e.g. ARM_N1 = { OSNP = 0.4 })
    transfers: dict[Annotated[str, msgspec.Meta(pattern=SKILL_NAME_RE)],
                    dict[Annotated[str, msgspec.Meta(pattern=SKILL_NAME_RE)], Share]] = \
        msgspec.field(default_factory=dict)

    def talk_range(self, queue: str | None, role: str) -> tuple[float, float]:
        """The talk range of a call of ``queue`` answered by an agent whose primary
        skill is ``role``: "QUEUE/ROLE", else "QUEUE", else ``default_talk_s``; with
        the queue unknown, the role's own queue."""
        queue = role if queue is None else queue
        low, high = self.talk_s.get(f"{queue}/{role}") or self.talk_s.get(queue) \
            or self.default_talk_s
        return low, high


class StaffingStep(_Strict, frozen=True):
    #: local time of day, "HH:MM"
    at: str
    #: agents logged in per primary skill from this time on
    counts: dict[Annotated[str, msgspec.Meta(pattern=SKILL_NAME_RE)],
                 Annotated[int, msgspec.Meta(ge=0, le=10_000)]]


class ScriptedCall(_Strict, frozen=True):
    number: str
    priority: Annotated[int, msgspec.Meta(ge=0, le=9)] | None = None
    caller_name: str = "Appel scripté"
    caller_num: str = "0600000000"
    patience_s: Annotated[float, msgspec.Meta(gt=0)] = 600.0


PartnerBehaviour = Literal["answer", "noanswer", "busy", "congestion", "unavailable"]


class PartnerChange(_Strict, frozen=True):
    name: str
    behaviour: PartnerBehaviour


class ScriptedBascule(_Strict, frozen=True):
    #: a queue, or "*" for the whole site
    queue: str
    #: 1.0 wholly, 0.3 partly, 0 back to the room
    share: Share
    partner: str | None = None
    by: str = "supervisor"
    reason: str = ""


class ScriptedEvent(_Strict, frozen=True):
    #: local time of day, "HH:MM" or "HH:MM:SS"
    at: str
    call: ScriptedCall | None = None
    #: a partner SAS's trunk starts behaving this way (e.g. "unavailable": it breaks)
    partner: PartnerChange | None = None
    bascule: ScriptedBascule | None = None
    agent_logout: str | None = None
    agent_login: str | None = None
    agent_pause: str | None = None
    agent_ready: str | None = None


class FaultsSpec(_Strict, frozen=True):
    """The simulated Asterisk's host clock going wrong (``[faults]``; with or without
    ``chaos``): what Asterisk writes the time with moves, simulated time does not."""

    #: the host's clock steps this many seconds (NTP, an operator setting the date):
    #: from then on every ``Timestamp:``, ``${EPOCH}`` and ``STRFTIME()`` reads that much
    #: more (less, if negative); 0: never
    clock_step_s: Annotated[float, msgspec.Meta(ge=-31_622_400, le=31_622_400)] = 0.0
    #: when it steps: local time of day, "HH:MM" or "HH:MM:SS" (its first moment in the
    #: run); the start of the run if not given
    clock_step_at: str | None = None
    #: each event is stamped up to this many milliseconds before it is sent, as
    #: Asterisk's threads stamp events: timestamps a few milliseconds out of order
    timestamps_out_of_order_ms: Annotated[float, msgspec.Meta(ge=0, le=1_000)] = 0.0


class PbxSpec(_Strict, frozen=True):
    """The simulated Asterisk as the site left it (``[pbx]``)."""

    #: members an earlier configuration left in the fail-open queue (app_queue's
    #: ``persistentmembers`` keeps them over restarts and reloads): phones the PBX has
    #: that nobody answers, rung 15 s at a time when callers fail open (live t3-25),
    #: e.g. ``["PJSIP/9999"]``; the router must remove them
    stale_failopen_members: list[Annotated[str, msgspec.Meta(
        pattern=r"^[A-Za-z][A-Za-z0-9]*/[^\s,|]{1,200}$")]] = msgspec.field(
        default_factory=list)


class Scenario(_Strict, frozen=True):
    site: str
    name: str
    #: local date and time of the start, ISO 8601 without offset (site time zone)
    start: datetime
    duration_s: Annotated[float, msgspec.Meta(gt=0, le=7 * 86_400)]
    calls: CallsSpec
    #: fast-forward factor used when the command line does not give one
    speed: Annotated[float, msgspec.Meta(gt=0, le=100_000)] = 60.0
    seed: int = 1
    #: after the last arrival, wait at most this long for calls in progress to end
    drain_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 900.0
    agents: AgentsSpec = msgspec.field(default_factory=AgentsSpec)
    staffing: list[StaffingStep] = msgspec.field(default_factory=list)
    script: list[ScriptedEvent] = msgspec.field(default_factory=list)
    #: how each partner SAS's trunk behaves at the start (default: it answers)
    partners: dict[str, PartnerBehaviour] = msgspec.field(default_factory=dict)
    #: channels that are not ACD callers, present from the start (an IVR, calls
    #: between two phones): the router must never touch them (``foreign_touched``)
    foreign_channels: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    #: faults to inject, as ``acd simulate --chaos`` takes them (which replaces this):
    #: ``"router-kill@60+5,redis-stop@120+30,pbx-restart@200"``
    #: (see :mod:`acd.tools.simulate.chaos`)
    chaos: str = ""
    #: the simulated Asterisk's own state at the start (stale fail-open members)
    pbx: PbxSpec = msgspec.field(default_factory=PbxSpec)
    #: the simulated Asterisk's host clock: a step, timestamps out of order
    faults: FaultsSpec = msgspec.field(default_factory=FaultsSpec)


def parse_time_of_day(text: str) -> time:
    return time.fromisoformat(text)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    name = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(name, [("", f"cannot read file: {exc.strerror}")]) from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(name, [("", f"not a valid TOML file: {exc}")]) from exc
    try:
        scenario = msgspec.convert(data, Scenario)
    except msgspec.ValidationError as exc:
        raise ConfigError(name, [split_msgspec_error(str(exc))]) from exc
    problems = _validate(scenario)
    if problems:
        raise ConfigError(name, problems)
    return scenario


def _validate(scenario: Scenario) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if scenario.start.tzinfo is not None:
        problems.append(("start", "give the local time of the site, without an offset"))
    for i, step in enumerate(scenario.staffing):
        problems += _check_time(f"staffing[{i}].at", step.at)
    for i, event in enumerate(scenario.script):
        problems += _check_time(f"script[{i}].at", event.at)
        actions = [event.call, event.agent_logout, event.agent_login, event.agent_pause,
                   event.agent_ready, event.partner, event.bascule]
        if sum(a is not None for a in actions) != 1:
            problems.append((f"script[{i}]", "give exactly one of call, agent_login, "
                             "agent_logout, agent_pause, agent_ready, partner, bascule"))
    for key in scenario.calls.priority_mix:
        if not (key.isdigit() and int(key) <= 9):
            problems.append((f"calls.priority_mix.{key}", "priorities are 0 to 9"))
    if scenario.agents.no_answer_rate + scenario.agents.busy_rate > 1.0 + 1e-9:
        problems.append(("agents.busy_rate", "no_answer_rate and busy_rate add up to "
                         "more than 1"))
    if sum(scenario.calls.priority_mix.values()) > 1.0 + 1e-9:
        problems.append(("calls.priority_mix", "shares add up to more than 1"))
    for label, (low, high) in [("calls.patience_s", scenario.calls.patience_s),
                               ("agents.answer_after_s", scenario.agents.answer_after_s),
                               *((f"agents.talk_s.{k}", v)
                                 for k, v in scenario.agents.talk_s.items())]:
        if low > high:
            problems.append((label, "a range is [low, high]"))
    problems += _check_quantiles("calls.patience_quantiles_s",
                                 scenario.calls.patience_quantiles_s)
    problems += _check_exponential(scenario)
    for number, weights in scenario.calls.half_hourly.items():
        if sum(weights) <= 0:
            problems.append((f"calls.half_hourly.{number}",
                             "at least one half-hour must have calls"))
    if sum(scenario.calls.hourly) <= 0:
        problems.append(("calls.hourly", "at least one hour must have calls"))
    try:
        parse_chaos(scenario.chaos)
    except ChaosError as exc:
        problems.append(("chaos", str(exc)))
    if scenario.faults.clock_step_at is not None:
        problems += _check_time("faults.clock_step_at", scenario.faults.clock_step_at)
    return problems


def _check_exponential(scenario: Scenario) -> list[tuple[str, str]]:
    """An exponential draw needs a mean above zero, and excludes quantile points."""
    problems: list[tuple[str, str]] = []
    calls, agents = scenario.calls, scenario.agents
    if calls.patience_tail is not None and calls.patience_tail.family == "exponential" \
            and calls.patience_tail.shape != 1.0:
        problems.append(("calls.patience_tail.shape", "an exponential tail has shape 1"))
    if calls.patience_distribution == "exponential":
        if calls.patience_quantiles_s:
            problems.append(("calls.patience_distribution", "give either an exponential "
                             "patience or patience_quantiles_s, not both"))
        if calls.patience_tail is not None:
            problems.append(("calls.patience_distribution", "give either an exponential "
                             "patience or patience_tail, not both"))
        if sum(calls.patience_s) <= 0:
            problems.append(("calls.patience_s", "an exponential patience needs a mean "
                             "above 0 s"))
    if agents.talk_distribution == "exponential":
        for label, (low, high) in [("agents.default_talk_s", agents.default_talk_s),
                                   *((f"agents.talk_s.{k}", v)
                                     for k, v in agents.talk_s.items())]:
            if low + high <= 0:
                problems.append((label, "an exponential talk time needs a mean above 0 s"))
    return problems


def _check_quantiles(key: str, points: list[list[float]]) -> list[tuple[str, str]]:
    shares = [p for p, _ in points]
    seconds = [v for _, v in points]
    if any(p > 1 for p in shares):
        return [(key, "a share is at most 1")]
    if shares != sorted(shares) or seconds != sorted(seconds):
        return [(key, "points go up: shares and seconds increasing")]
    return []


def _check_time(key: str, text: str) -> list[tuple[str, str]]:
    try:
        parse_time_of_day(text)
    except ValueError:
        return [(key, f"{text!r} is not a time of day (HH:MM or HH:MM:SS)")]
    return []


def resolve_site(scenario: Scenario, scenario_path: Path) -> Path:
    """The site config a scenario names: beside the scenario (a site's own files), else
    among the shipped examples (``config/sas-large.toml``), else as written."""
    site = Path(scenario.site)
    for candidate in (scenario_path.parent / site, SHIPPED_ROOT / site):
        if candidate.is_file():
            return candidate
    return site


def load_scenario_and_site(scenario_path: str | Path, config_path: str | Path | None = None
                           ) -> tuple[Config, Scenario, Path]:
    """A scenario, its site's configuration and where that was read, as ``acd simulate``
    and ``acd plan`` find them: both through :func:`acd.shipped.locate`, the site from
    ``config_path`` when given, else from the scenario's ``site``."""
    located = locate(scenario_path)
    scenario = load_scenario(located)
    site = locate(config_path) if config_path else resolve_site(scenario, located)
    return load_config(site), scenario, site
