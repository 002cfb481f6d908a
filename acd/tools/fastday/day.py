"""A simulated day in one process, as fast as the code runs.

The production engine (:class:`acd.core.engine.Engine`) and the simulator's model of
Asterisk (:class:`acd.sim.pbx.Pbx`, the same callers, agents, ring, talk, wrap-up,
patience, transfers, partners and PDSA forwarding as ``acd simulate``) exchange typed
events and actions directly, on a virtual clock (:class:`acd.sim.clock.SimClock` with
``virtual=True``): no socket, no AMI bytes, no real time.

What is shared with ``acd simulate`` (:mod:`acd.tools.simulate`), so that both play
the same day: the scenario's timeline (:func:`acd.tools.simulate.traffic.plan`), the agents'
behaviour (:func:`acd.tools.simulate.agents.behaviour_for`), the feature codes of staffing
changes, the simulator's action handler (:class:`acd.sim.actions.AmiActions`: a
Redirect, Setvar, Originate or Status here is answered by the very code that answers
it over TCP) and the AMI client's event decoder (:class:`acd.ami.userevents.UserEventDecoder`
turns each header block the PBX emits into the typed event the engine reads). The
engine starts as after a connection: a ``Status`` list of the PBX's channels
(:class:`~acd.core.inputs.ChannelsSnapshot`).

Order of things, as on the wire: an event is handled after the PBX step that emitted
it; the actions of one input are answered one after the other, each one's effect
(``Reply.after``) before the next is read; an action answered ``Response: Error``
comes back as :class:`~acd.core.inputs.ActionFailed` after the events already queued.
The engine's timers are due on the same clock: a Tick is sent at the engine's
deadline, before the PBX's timers of the same instant.

Only the events the engine has a handler for are built and sent
(:func:`_handled_events`): the others would leave it as it was.

Deterministic for a seed: the PBX's timers fire in due-time order (ties in the
order they were set), its behaviour is seeded per caller and offer, the engine reads no clock.

Not played: a scenario's ``chaos`` faults (there is no router process or link to
break) and the back-stop widening of :func:`acd.tools.simulate.run.for_speed` (virtual
time has no real-time lag to absorb): the site's own ring and orphan back-stops hold.

How it was compared with ``acd simulate`` (``tests/e2e/test_fastday.py``, and
``python -m benchmarks.fastday --compare N`` for longer runs): the same scenarios
and seeds through both paths, offered, answered and QS 30 s at N1 pooled over the
seeds. Offered must be equal (the same seeded timeline, one record per call placed).
Answered and QS 30 s are shares: the AMI path runs on real time, so a few
milliseconds of event-loop stall move an answer by simulated seconds; two shares
agree when they differ by at most three standard errors of the difference of two
binomial shares, ``3·sqrt(2·p·(1-p)/n)`` (p pooled, n the calls) plus one call. On
the quiet shortened scenarios of the test they came out identical seed by seed; on
two hours of the winter surge's morning (seeds 1–3, 784 calls) answered 729 here
against 730, QS 30 s at N1 0.895/0.883, 0.846/0.817, 0.934/0.935 (here/AMI): the
AMI path a little lower, its real-time lag making answers later, within one
standard error.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from acd.ami import actions as act
from acd.ami.events import EVENT_TYPES, StatusEntry, UserEvent, decode_message
from acd.ami.frames import AmiMessage
from acd.ami.userevents import UserEventDecoder
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import NO_ANSWER_REASON
from acd.core.effects import Output
from acd.core.engine import Engine
from acd.core.records import CallRecord
from acd.sim.actions import AmiActions
from acd.sim.clock import SimClock
from acd.sim.model import Headers, Phase
from acd.sim.pbx import Pbx
from acd.tools.simulate.agentreturn import PausedAgentsReturn, still_paused_for_no_answer
from acd.tools.simulate.agents import FEATURE_CODES, behaviour_for
from acd.tools.simulate.desk import Desk
from acd.tools.simulate.scenario import Scenario, StaffingStep, load_scenario_and_site
from acd.tools.simulate.traffic import Planned, plan, scenario_start
from acd.tools.summary import Summary, summarize

#: the repository, for the benchmarks that name its scenarios
REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class DayResult:
    """The engine's call records of the day and their summary."""

    records: list[CallRecord]
    summary: Summary
    calls_placed: int = 0
    started_at: float = 0.0
    ended_at: float = 0.0
    #: caller channels the engine hung up: must stay empty
    hung_up_by_router: list[str] = field(default_factory=list)
    #: inputs handled by the engine (events, ticks, failures, intents)
    inputs: int = 0
    #: every transfer fact of the day (requested, connected, cancelled, fallback…):
    #: a warm transfer that never connected leaves no leg in the records
    transfers: list[f.CallTransferred] = field(default_factory=list)
    #: (seized, released) of each caller's line, epoch seconds: the caller's channel
    #: from its arrival on the PBX to its hangup (waiting, ringing, talking, on hold),
    #: or to the end of the run for a call still there
    lines: list[tuple[float, float]] = field(default_factory=list)


def load_day(scenario_path: str | Path, config_path: str | Path | None = None
             ) -> tuple[Config, Scenario]:
    """A scenario file and its site's configuration (as ``acd simulate`` finds it)."""
    config, scenario, _site = load_scenario_and_site(scenario_path, config_path)
    return config, scenario


#: told after each input the engine handled: the engine, the input, its output
InputObserver = Callable[[Engine, object, Output], None]


@dataclass(frozen=True)
class DayRequest:
    """One day to play, as a value a worker process can be sent."""

    config: Config
    scenario: Scenario
    seed: int
    staffing: Sequence[StaffingStep] | None = None

    def play(self, observer: InputObserver | None = None) -> DayResult:
        return play_day(self.config, self.scenario, seed=self.seed, staffing=self.staffing,
                        observer=observer)


def play_day(config: Config, scenario: Scenario, *, seed: int | None = None,
             staffing: Sequence[StaffingStep] | None = None,
             observer: InputObserver | None = None) -> DayResult:
    """Play ``scenario`` on the site ``config``; ``staffing`` replaces the scenario's
    own (agents logged in per primary skill from each time of day on). Asterisk's own
    ``Queue()`` plays the same day in :mod:`acd.tools.appqueue`. ``observer`` sees the
    engine between two inputs (what the service's adapters see between two events)."""
    if staffing is not None:
        scenario = msgspec.structs.replace(scenario, staffing=list(staffing))
    seed = scenario.seed if seed is None else seed
    start = scenario_start(scenario, config.zone())
    day = _Day(config, scenario, seed, start, observer)
    placed = day.play(plan(scenario, config, seed), start + scenario.duration_s,
                      scenario.drain_s)
    engine = day.engine
    records = day.records + [engine.record(call) for call in
                             sorted(engine.calls.values(), key=lambda c: c.arrived_at)]
    pbx = day.pbx
    pbx.stop()
    return DayResult(records=records, summary=summarize(records, config),
                     calls_placed=placed, started_at=start, ended_at=pbx.clock.now(),
                     hung_up_by_router=[h.channel for h in
                                        pbx.callers_hung_up_by("router-action")],
                     inputs=day.inputs, transfers=day.transfers, lines=_lines(pbx))


class _Day:
    """The engine and the PBX, one virtual clock, one queue of inputs between them."""

    def __init__(self, config: Config, scenario: Scenario, seed: int, start: float,
                 observer: InputObserver | None = None) -> None:
        self.clock = clock = SimClock(start_epoch=start, virtual=True)
        self.pbx = pbx = Pbx(config.agents, clock=clock, seed=seed,
                             behaviour=behaviour_for(config, scenario), names=config.dialplan)
        self.actions = AmiActions(pbx, numbers=config.numbers, defer=self._soon)
        for name, partner in scenario.partners.items():
            pbx.set_partner(name, partner)
        pbx.foreign.place(scenario.foreign_channels)
        self.engine = Engine(config)
        self._decoder = UserEventDecoder(config.dialplan)
        self.desk = Desk()  # the agents see the queue of the call offered to them
        pbx.kernel.desk = self.desk.queue_of
        self.records: list[CallRecord] = []
        self.transfers: list[f.CallTransferred] = []
        self.inputs = 0
        self.observer = observer
        low, high = scenario.agents.ready_after_pause_s
        self.returns = PausedAgentsReturn((low, high), seed)
        self._pending: deque[object] = deque()
        self._action_id = 0
        #: the last event's time and its ``Timestamp:`` text, as the wire writes it
        self._stamp, self._stamp_text = -1.0, ""
        names = config.dialplan
        self._variables = (names.number_var, names.arrived_var, names.priority_var)
        pbx.subscribe(self._on_event, _handled_events(self.engine))

    # ---------------------------------------------------------------- the run

    def play(self, timeline: list[Planned], end: float, drain_s: float) -> int:
        """Place every planned item at its time, run to ``end``, then let the calls
        in progress finish (at most ``drain_s`` more); the calls placed."""
        self._link_up()
        for item in timeline:
            self.clock.call_at(item.at, functools.partial(self._apply, item))
        self._run(end, drain=False)
        self.clock.advance_to(end)
        self._run(end + drain_s, drain=True)
        return sum(item.kind == "call" for item in timeline)

    def _run(self, until: float, *, drain: bool) -> None:
        clock, engine, calls = self.clock, self.engine, self.pbx.calls
        first_live = 0
        while True:
            self._flush()
            if drain:
                while first_live < len(calls) and calls[first_live].phase is Phase.GONE:
                    first_live += 1
                if first_live >= len(calls):
                    return
            deadline = engine.next_deadline()
            due = clock.next_due()
            if deadline is not None and deadline <= until and (due is None or deadline <= due):
                clock.advance_to(deadline)
                self._submit(i.Tick())
            elif not clock.run_next(until):
                return

    def _link_up(self) -> None:
        """The engine's first view: the PBX's channels, as the AMI client lists them."""
        status = act.Status(variables=self._variables)
        reply = self.actions.handle(status.name, _message(act.action_headers(status, "0")))
        entries = [e for e in (decode_message(_message(m)) for m in reply.messages)
                   if isinstance(e, StatusEntry)]
        self._submit(i.ChannelsSnapshot(entries, taken_at=self.clock.now()))
        self._flush()

    def _apply(self, item: Planned) -> None:
        pbx = self.pbx
        if item.kind == "call" and item.call is not None:
            c = item.call
            pbx.place_call(c.number, c.caller_name, c.caller_num, c.patience_s, c.priority)
        elif item.kind == "partner" and item.partner is not None:
            pbx.set_partner(item.partner.name, item.partner.behaviour)
        elif item.kind == "bascule" and item.bascule is not None:
            b = item.bascule
            self._pending.append(i.BasculeRequest(b.queue, b.share, partner=b.partner,
                                                  by=b.by, reason=b.reason))
        elif item.agent is not None and item.agent in pbx.agents:
            pbx.agent_feature(item.agent, FEATURE_CODES[item.kind])

    # ---------------------------------------------------------------- the link

    def _on_event(self, name: str, privilege: str, headers: Headers, stamp: float) -> None:
        message = AmiMessage(headers)
        if len(message) != len(headers):  # a repeated header: first wins, all kept
            message = _message(headers)
        message["Event"], message["Privilege"] = name, privilege
        if stamp != self._stamp:  # the events of one instant share its text
            self._stamp, self._stamp_text = stamp, f"{stamp:.6f}"
        message["Timestamp"] = self._stamp_text
        # the simulator names its channels itself (a device or trunk and a sequence):
        # none holds a line break, the look the AMI client takes at each is not needed
        event = self._decoder.decode_message(message, check_channels=False)
        if event is not None:
            self._pending.append(event)

    def _flush(self) -> None:
        pending = self._pending
        while pending:
            self._submit(pending.popleft())

    def _submit(self, item: object) -> None:
        self.inputs += 1
        out = self.engine.handle(item, self.clock.now())
        if self.observer is not None:
            self.observer(self.engine, item, out)
        # the facts first: an offer's queue reaches the agent's desk before its phone
        # rings (over AMI the facts are published before the actions reach the PBX)
        for fact in out.facts:
            self.desk.on_fact(fact)
            if isinstance(fact, f.CallEnded):
                self.records.append(fact.record)
            elif isinstance(fact, f.CallTransferred):
                self.transfers.append(fact)
            elif isinstance(fact, f.AgentStateChanged) and fact.new == "paused" \
                    and fact.reason == NO_ANSWER_REASON:
                self.clock.call_later(self.returns.delay(),
                                      functools.partial(self._ready_again, fact.agent))
        for command in out.commands:
            self._send(command)

    def _ready_again(self, agent_id: str) -> None:
        """The paused agent noticed: the ready feature code, if still paused."""
        if still_paused_for_no_answer(self.engine.agents.get(agent_id)):
            self.pbx.agent_feature(agent_id, FEATURE_CODES["ready"])

    def _send(self, command: act.Action) -> None:
        self._action_id += 1
        message = _message(act.action_headers(command, str(self._action_id)))
        reply = self.actions.handle(command.name, message)
        first = dict(reply.messages[0]) if reply.messages else {}
        if first.get("Response") == "Error":
            self._pending.append(i.ActionFailed(command.ref, command.name,
                                                first.get("Message") or "error"))
        if reply.after is not None:
            reply.after()

    def _soon(self, callback: Callable[[], None]) -> None:
        """A Redirect's goto: the next thing the PBX does, at the same instant."""
        self.clock.call_later(0.0, callback)


def _handled_events(engine: Engine) -> set[str]:
    """The events the PBX is to build for the engine: those the decoder turns into an
    input the engine has a handler for, and every UserEvent (typed by its name). The
    others (``Newchannel``, ``Newstate``, ``BridgeEnter``… a third of a day's events)
    would change nothing: an input without a handler only runs the timers due, and
    a Tick runs them at their deadline before the PBX's next step."""
    return {name for name, kind in EVENT_TYPES.items()
            if kind is UserEvent or kind in engine.handlers}


def _lines(pbx: Pbx) -> list[tuple[float, float]]:
    """Each caller's line, from its channel's creation to its hangup (the PBX's clock
    at the end for a caller still there)."""
    released = {h.uniqueid: h.at for h in pbx.hangups if h.role == "caller"}
    end = pbx.clock.now()
    return [(call.arrived, released.get(call.trunk.uniqueid, end)) for call in pbx.calls]


def _message(headers: Headers) -> AmiMessage:
    """A header block as the framer parses it: first value wins, repeats in ``multi``."""
    message = AmiMessage()
    for key, value in headers:
        if key not in message:
            message[key] = value
            continue
        if message.multi is None:
            message.multi = {}
        message.multi.setdefault(key, [message[key]]).append(value)
    return message
