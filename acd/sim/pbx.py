"""The simulated PBX: channels and the ACD dialplan (``dialplans/extensions_acd.conf``).

What it models, in the order of a call (event sequences follow the recorded
transcripts of Asterisk 22, see ``tests/fixtures/ami/recorded/INDEX.md``):

* **Arrival** (:meth:`Pbx.place_call`, or an AMI ``Originate`` of
  ``Local/<number>@incoming``): a Local channel pair. ``;1`` is the remote phone,
  ``;2`` runs ``[incoming]``: it sets ``__ACD_NUMBER``, ``__ACD_ARRIVED`` (and
  ``ACD_PRIORITY`` when given), answers, and half a second later sends the
  ``AcdCallWaiting`` UserEvent, then waits in ``[holding]`` (music on hold, restarted
  every 20 s) until a Redirect takes it out or the caller's patience runs out.
* **Connect** (``Redirect`` of the ``;2`` to ``acd-connect,<agent-id>,1``, or
  ``acd-connect,s,1`` with ``ACD_AGENT`` set): ``AcdConnecting``, then
  ``Dial(${ACD_DIAL},${ACD_RING},gt)``. ``ACD_DIAL`` must be the ``device`` of a
  configured agent (``Local/1001@agents`` gives a Local pair, ``PJSIP/arm01`` one
  channel). The agent's behaviour object decides: answer after a delay, ring
  unanswered until ``ACD_RING`` (channel variable, else global, default 15), busy, or
  unavailable. A device that already has a call is busy.
* **Dial results**: answered → bridge; not answered/busy/unavailable/no ``ACD_DIAL`` →
  ``AcdDialEnd`` and back to ``[holding]``; the agent ends the call → ``AcdDialEnd``
  ``ANSWER`` and the dialplan hangs the caller up; the caller ends it → the agent legs
  are hung up.
* **Redirect** out of holding, of a ringing call (``DialEnd CANCEL``) or of a bridged
  call (the agent legs are hung up) to ``holding,s,1``, ``acd-connect`` or
  ``acd-overflow``.
* **Transfer between filières** (:meth:`Pbx.agent_transfer`, :mod:`acd.sim.transfer`):
  the agent presses a feature code; ``[acd-transfer]`` runs on the agent's bridged leg
  and sends ``AcdTransfer`` with ``Target``. Nothing else moves until the router
  Redirects the caller (above); the agent's behaviour may give up and hang up.
* **Warm transfers** (:class:`acd.sim.transfer.WarmTransfers`): an AMI ``Originate``
  of an agent's device into ``[acd-warm]`` rings it while the caller stays bridged
  with the first agent; a Redirect of the caller to ``[acd-warm-bridge]`` bridges it
  with the answered agent (``Bridge()``), or sends it back to ``[holding]``.
* **Overflow to a partner SAS** (Redirect to ``acd-overflow,<partner>,1``,
  :mod:`acd.sim.overflow`): ``AcdOverflowTrying``, ``Dial(${ACD_PARTNER_DIAL},
  ${ACD_PARTNER_RING},g)`` of a trunk whose behaviour is set per partner name
  (:meth:`Pbx.set_partner`), ``AcdOverflowEnd``, then back to ``[holding]`` unless the
  partner answered.

Every hangup is recorded (:attr:`Pbx.hangups`) with who caused it: the caller, the
agent, an AMI action (``router-action``) or the PBX itself (dialplan, time-outs,
restart).

Simplifications: one bridge per call; a Redirect to a context the sim does not model
hangs the channel up (as Asterisk does for a missing extension); the ``;1`` remote
phone's patience only counts while the caller waits or rings, not while it talks.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from acd.config import AgentConfig, DialplanNames
from acd.sim.behaviour import (
    TRANSFER_TARGET,
    AgentBehaviour,
    PartnerBehaviour,
    PartnerKind,
    RandomBehaviour,
)
from acd.sim.clock import SimClock, SimTimer
from acd.sim.dialplan import (
    DIAL_EXTEN,
    DIAL_VARS,
    has_resource,
    is_number,
    no_resource_test,
    ring_seconds,
)
from acd.sim.emit import Emitter, EventSink
from acd.sim.failopen import FAILOPEN_VAR, NativeQueue
from acd.sim.foreign import ForeignChannels
from acd.sim.model import (
    BUSY,
    CAUSE_TEXT,
    RING,
    RINGING,
    STATE_DESC,
    UP,
    Bridge,
    Call,
    Channel,
    Dial,
    HangupBy,
    HangupRecord,
    OfferOutcome,
    Outgoing,
    Phase,
    Role,
)
from acd.sim.overflow import PartnerOverflow
from acd.sim.transfer import AGENT_FEATURES, WARM_HOLD_S, WarmTransfers, press_transfer_code

HoldStyle = Literal["moh", "wait"]



class ChannelNotFound(LookupError):
    """No live channel of that name."""


@dataclass(frozen=True)
class PbxOptions:
    """Knobs of the simulated Asterisk (defaults: ``dialplans/`` and the recordings)."""

    #: also emit VarSet/Newexten/NewCallerid/LocalBridge/caller DeviceStateChange…
    full_event_mix: bool = False
    #: global ACD_MOH
    moh_class: str = "default"
    #: global ACD_RING (seconds an agent's phone rings)
    ring_timeout_s: int = 15
    #: MusicOnHold(${ACD_MOH},20): the hold loop restarts every 20 s
    hold_loop_s: float = 20.0
    #: Answer() → AcdCallWaiting (Asterisk's Answer waits 500 ms)
    answer_wait_s: float = 0.5
    #: how callers of a number wait: ``moh`` ([holding], MusicOnHoldStart) or ``wait``
    #: (the recordings' [holding-wait] Wait(1) loop: no music-on-hold events)
    hold_style: Mapping[str, HoldStyle] = field(default_factory=dict)
    #: CALLERID(name) that a site's trunk context sets per number (the recordings'
    #: "Appelant 15"); the caller keeps its own name when absent
    incoming_caller_names: Mapping[str, str] = field(default_factory=dict)
    #: context of outgoing channels to the agents' own phones (pjsip.conf context=)
    agent_phone_context: str = "agent-phones"
    #: patience of callers placed without one
    default_patience_s: float = 600.0
    #: global ACD_PARTNER_RING (seconds a partner SAS's trunk rings)
    partner_ring_timeout_s: int = 20
    #: context of outgoing trunk channels to partner SAS (pjsip.conf context=)
    partner_trunk_context: str = "from-partner"
    #: an agent whose transfer the router does not take up (no Redirect of the caller
    #: within this many seconds) ends the call itself (behaviour-driven transfers)
    transfer_give_up_s: float = 30.0
    #: global ACD_FAILOPEN_S: callers in [holding] go to the native queue of the front
    #: office after this many seconds without the router's heartbeat; None: ACD_FAILOPEN_S
    #: empty, the check is off (a simulator run without a heartbeating router)
    failopen_s: float | None = None


class Pbx:
    """Channels, calls and the dialplan; events go to :attr:`events` subscribers."""

    def __init__(self, agents: Sequence[AgentConfig], *, clock: SimClock, seed: int = 0,
                 behaviour: AgentBehaviour | None = None, options: PbxOptions | None = None,
                 names: DialplanNames | None = None) -> None:
        self.clock = clock
        self.seed = seed
        self.behaviour: AgentBehaviour = behaviour or RandomBehaviour()
        self.options = options or PbxOptions()
        self.names = names or DialplanNames()
        self.events = Emitter(clock, full=self.options.full_event_mix)
        self.agents: dict[str, AgentConfig] = {a.id: a for a in agents}
        self._by_device: dict[str, AgentConfig] = {a.device: a for a in agents}
        #: live channels by name
        self.channels: dict[str, Channel] = {}
        #: every call placed, in arrival order (gone ones included)
        self.calls: list[Call] = []
        #: who hung up each channel, in hangup order
        self.hangups: list[HangupRecord] = []
        #: every Redirect of a caller: (channel, "context,exten,priority")
        self.redirects: list[tuple[str, str]] = []
        #: callers Redirected to acd-connect while already ringing an agent
        self.routed_twice: list[str] = []
        #: told of each hangup record as it is made (the control port's call tracker)
        self.hangup_listeners: list[Callable[[HangupRecord], None]] = []
        self.globals: dict[str, str] = {
            self.names.ring_var: str(self.options.ring_timeout_s),
            self.names.partner_ring_var: str(self.options.partner_ring_timeout_s),
            "ACD_MOH": self.options.moh_class, "ACD_WARM_HOLD": f"{WARM_HOLD_S:g}",
            "ACD_HOLD_S": f"{self.options.hold_loop_s:g}",
            FAILOPEN_VAR: "" if self.options.failopen_s is None
            else f"{self.options.failopen_s:g}",
            "ACD_FAILOPEN_QUEUE": self.names.failopen_queue}
        #: the [globals] of the site's extensions.conf as loaded (globals_acd.conf: no
        #: heartbeat there), set again by a reload (:mod:`acd.sim.reload`)
        self.loaded_globals: dict[str, str] = dict(self.globals)
        self.started_at = clock.now()
        self._rng = random.Random(f"{seed}:pbx")
        self._uniqueid_seq = 0
        self._local_seq = 0
        self._tech_seq = 0
        self._offers: dict[str, int] = {}
        self._device_dials: dict[str, Dial] = {}
        self._phase_timers: dict[int, list[SimTimer]] = {}
        self._patience: dict[int, SimTimer] = {}
        #: partner SAS trunks and the [acd-overflow] dialplan
        self.overflow = PartnerOverflow(self)
        #: warm transfers: Originate into [acd-warm], and [acd-warm-bridge]
        self.warm = WarmTransfers(self)
        #: [holding]'s fail-open check and [acd-failopen]'s native queue
        self.native = NativeQueue(self)
        #: channels that are not ACD callers (an IVR, calls between two phones)
        self.foreign = ForeignChannels(self)

    # ================================================================ public API

    def subscribe(self, sink: EventSink) -> None:
        """Send every event to ``sink(name, privilege, headers, timestamp)``."""
        self.events.subscribe(sink)

    def channel(self, name: str) -> Channel:
        """The live channel called ``name``; :class:`ChannelNotFound` otherwise."""
        ch = self.channels.get(name)
        if ch is None or not ch.alive:
            raise ChannelNotFound(name)
        return ch

    def live_calls(self) -> list[Call]:
        return [c for c in self.calls if c.phase is not Phase.GONE]

    def call_by_channel(self, name: str) -> Call | None:
        ch = self.channels.get(name)
        return ch.call if ch is not None else None

    def uptime(self) -> int:
        """Simulated seconds since the PBX started."""
        return int(self.clock.now() - self.started_at)

    def place_call(self, number: str, caller_name: str, caller_num: str,
                   patience_s: float | None = None, priority: int | None = None, *,
                   variables: Mapping[str, str] | None = None,
                   originate_action_id: str | None = None) -> Call:
        """A caller dials ``number``: it is announced, then waits up to ``patience_s``."""
        now = self.clock.now()
        patience = self.options.default_patience_s if patience_s is None else patience_s
        base = f"Local/{number}@incoming-{self._next_local():08x}"
        phone = self._new_channel(base + ";1", "caller-phone")
        trunk = self._new_channel(base + ";2", "caller", linkedid=phone.uniqueid)
        call = Call(index=len(self.calls), number=number, phone=phone, trunk=trunk,
                    patience_s=patience, arrived=now, priority=priority,
                    originate_action_id=originate_action_id)
        phone.call = trunk.call = call
        self.calls.append(call)
        ev = self.events
        phone.goto("incoming", number, 1)
        trunk.goto("incoming", number, 1)
        trunk.state = RING
        ev.newchannel(phone)
        ev.newchannel(trunk)
        ev.step(phone, "incoming", number, 1, "AppDial2", "(Outgoing Line)")
        for ch in (phone, trunk):
            for name, value in (variables or {}).items():
                ev.varset(ch, name, value)
            ch.cid_num = ch.conn_num = caller_num or "<unknown>"
            ch.cid_name = ch.conn_name = caller_name or "<unknown>"
            ev.callerid(ch)
            ev.connected_line(ch)
        ev.local_bridge(phone, trunk, "incoming", number)
        ev.dial_begin(None, phone, f"{number}@incoming")
        self._patience[call.index] = self.clock.call_later(
            patience, lambda: self._patience_over(call))
        self._run_incoming(call)
        return call

    def hang_up_caller(self, call: Call, *, reason: str = "caller hung up") -> None:
        """The caller hangs up their phone (the ``;1`` half)."""
        if call.phase is not Phase.GONE:
            self._caller_hangs_up(call, by="caller", reason=reason, cause=16)

    def hang_up_agent(self, agent_id: str, *, reason: str = "agent hung up") -> bool:
        """The agent ends its current conversation; False if it has none."""
        device = self.agents[agent_id].device
        dial = self._device_dials.get(device)
        call = dial.outer.call if dial is not None else None
        if call is None or call.phase is not Phase.TALKING:
            return False
        self._agent_hangs_up(call, by="agent", reason=reason)
        return True

    def agent_transfer(self, agent_id: str, target: str, *,
                       give_up_after_s: float | None = None) -> bool:
        """The agent presses the transfer feature code to queue ``target`` during its
        current conversation; False if it has none (not bridged with a caller).

        ``[acd-transfer]`` runs on the agent's bridged leg (``Gosub`` of the
        ``features.conf`` applicationmap) and sends the ``AcdTransfer`` UserEvent with
        ``Target: <target>``. The call stays bridged until the router Redirects the
        caller. With ``give_up_after_s``, the agent hangs up if no Redirect of the caller
        has come by then. ``ValueError`` if ``target`` is not an extension of
        ``[acd-transfer]`` (``_[A-Z].``).
        """
        return press_transfer_code(self, agent_id, target, give_up_after_s=give_up_after_s)

    def set_partner(self, name: str,
                    behaviour: PartnerBehaviour | PartnerKind = "answer") -> None:
        """What the partner SAS ``name`` (the extension of ``acd-overflow``) does with
        the calls dialled to it from now on: ``answer``, ``noanswer``, ``busy``,
        ``congestion``, ``unavailable``, or a :class:`PartnerBehaviour`. A dial in
        progress keeps the behaviour it started with. Unknown partners answer."""
        self.overflow.set_behaviour(name, behaviour)

    def partner_behaviour(self, name: str) -> PartnerBehaviour:
        """The behaviour the next call to partner ``name`` meets."""
        return self.overflow.behaviour(name)

    def set_var(self, channel: str | None, name: str, value: str) -> None:
        """AMI Setvar: a channel variable, or a global one when ``channel`` is None."""
        if channel is None:
            self.globals[name] = value
            self.events.global_varset(name, value)
            return
        ch = self.channel(channel)
        if name in ("CALLERID(name)", "CALLERID(num)"):
            if name == "CALLERID(name)":
                ch.cid_name = value
            else:
                ch.cid_num = value
            self.events.callerid(ch)
            return
        self.events.varset(ch, name, value, always=True)

    def get_var(self, channel: str | None, name: str) -> str | None:
        """AMI Getvar: channel variable, then global; None when unset."""
        if channel is None:
            return self.globals.get(name)
        ch = self.channel(channel)
        builtin = self._builtin(ch, name)
        if builtin is not None:
            return builtin
        value = ch.variables.get(name)
        return value if value is not None else self.globals.get(name)

    def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        """AMI Redirect: move a channel to ``context,exten,priority`` now."""
        ch = self.channel(channel)
        call = ch.call
        if call is None or ch is not call.trunk or call.phase is Phase.GONE:
            where = f"{context},{exten},{priority}"
            self._hang_up_leg(ch, by="router-action",
                              reason=f"{ch.role} channel redirected to {where} (not simulated)")
            return
        self.redirects.append((call.channel, f"{context},{exten},{priority}"))
        if context == self.names.connect_context and call.phase is Phase.DIALLING \
                and not call.native_queue:
            # a second offer while the first one rings: two routers acting on one caller
            self.routed_twice.append(call.channel)
        self._leave_current_place(call, context, exten, priority)
        self._goto(call, context, exten, priority)

    def hangup(self, channel: str, *, cause: int = 0, by: HangupBy = "router-action",
               reason: str = "AMI Hangup") -> None:
        """AMI Hangup of one channel (and what follows from it)."""
        self._hang_up_leg(self.channel(channel), by=by, reason=reason, cause=cause)

    def hangup_all(self, *, keep: Collection[str] = (), by: HangupBy = "pbx",
                   reason: str = "shutdown", cause: int = 16) -> None:
        """Hang up every call except those with a channel named in ``keep`` (and,
        keeping none, every other channel). ``core restart`` gives ``cause`` 0 to the
        callers not talking (recording 09)."""
        for call in self.live_calls():
            names = {call.phone.name, call.trunk.name}
            for out in (call.dial, call.partner):
                if out is not None:
                    names.update(leg.name for leg in out.legs())
            if names & set(keep):
                continue
            talking = self._bridged(call, self._outgoing(call))
            self._trunk_hangs_up(call, by=by, reason=reason, cause=16 if talking else cause,
                                 phone_cause=16 if talking else cause)
        if not keep:
            self.foreign.drop(quietly=False)

    def vanish(self) -> None:
        """Asterisk dies (killed, the host down): every channel is gone and nobody is
        told (no Hangup, no Shutdown). The hangups are recorded (reason ``crash``)."""
        self.events.muted = True
        try:
            self.hangup_all(reason="crash")
            self.foreign.drop(quietly=True)
        finally:
            self.events.muted = False
        self.events.device_states.clear()

    def new_channel(self, name: str, role: Role, *, linkedid: str | None = None,
                    tech: str = "Local") -> Channel:
        """A live channel of ``role`` (no event: the caller sends Newchannel)."""
        return self._new_channel(name, role, linkedid=linkedid, tech=tech)

    def next_local(self) -> int:
        """The sequence number of the next Local channel pair."""
        return self._next_local()

    def agent_feature(self, agent_id: str, code: str) -> None:
        """The agent dials a feature code of ``[acd-features]`` from its own phone:
        ``*71`` login, ``*72`` logout, ``*73`` / ``*73<digits>`` pause, ``*74`` ready.

        The call is short: Newchannel, the UserEvent, Playback(beep) answers, Hangup().
        The router finds the agent from the channel name (device + ``-xxxxxxxx``).
        """
        names = self.names
        reason: str | None = None
        if code == "*71":
            event = names.agent_login_event
        elif code == "*72":
            event = names.agent_logout_event
        elif code == "*74":
            event = names.agent_ready_event
        elif code.startswith("*73") and (code == "*73" or code[3:].isdigit()):
            event, reason = names.agent_pause_event, code[3:] or "break"
        else:
            raise ValueError(f"not a feature code of [acd-features]: {code!r}")
        device = self.agents[agent_id].device
        if device.startswith("Local/"):
            name = f"{device}-{self._next_local():08x};1"
        else:
            name = self._tech_channel_name(device)
        ch = self._new_channel(name, "agent", tech=device.split("/", 1)[0])
        ch.goto("acd-features", code, 1)
        ch.state = RING
        ev = self.events
        ev.newchannel(ch)
        ev.device(device, "INUSE")
        headers = [("Reason", reason)] if reason is not None else []
        ev.step(ch, "acd-features", code, 1, "UserEvent",
                ",".join([event, *(f"{k}: {v}" for k, v in headers)]))
        ev.user_event(ch, event, headers)
        ev.step(ch, "acd-features", code, 2, "Playback", "beep")
        ev.newstate(ch, UP)
        ev.step(ch, "acd-features", code, 3, "Hangup")
        ev.soft_hangup_request(ch, 16)
        self._gone(ch, 16, "agent", f"feature code {code}")
        if device not in self._device_dials:
            ev.device(device, "NOT_INUSE")

    def stop(self) -> None:
        """Cancel every pending timer: calls freeze where they are (simulator shutdown)."""
        for timers in self._phase_timers.values():
            for timer in timers:
                timer.cancel()
        self._phase_timers.clear()
        for timer in self._patience.values():
            timer.cancel()
        self._patience.clear()
        self.warm.stop()

    def callers_hung_up_by(self, by: HangupBy) -> list[HangupRecord]:
        """Hangups of caller channels (``;1`` or ``;2``) caused by ``by``."""
        return [h for h in self.hangups
                if h.by == by and h.role in ("caller", "caller-phone")]

    # ================================================================ channels

    def _next_local(self) -> int:
        seq = self._local_seq
        self._local_seq += 1
        return seq

    def _tech_channel_name(self, device: str) -> str:
        """``PJSIP/arm01`` → ``PJSIP/arm01-0000000a`` (a new channel of that device)."""
        name = f"{device}-{self._tech_seq:08x}"
        self._tech_seq += 1
        return name

    def _new_channel(self, name: str, role: Role, *, linkedid: str | None = None,
                     tech: str = "Local") -> Channel:
        now = self.clock.now()
        uniqueid = f"{int(now)}.{self._uniqueid_seq}"
        self._uniqueid_seq += 1
        ch = Channel(name=name, uniqueid=uniqueid, linkedid=linkedid or uniqueid, role=role,
                     created=now, tech=tech)
        self.channels[name] = ch
        return ch

    def _gone(self, ch: Channel, cause: int, by: HangupBy, reason: str) -> None:
        """The Hangup event: the channel is destroyed and its hangup recorded."""
        if not ch.alive:
            return
        ch.alive = False
        self.events.channel("Hangup", ch, ("Cause", str(cause)),
                            ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")))
        self.channels.pop(ch.name, None)
        record = HangupRecord(channel=ch.name, uniqueid=ch.uniqueid, role=ch.role, by=by,
                              reason=reason, cause=cause, at=self.clock.now())
        self.hangups.append(record)
        for listener in self.hangup_listeners:
            listener(record)

    def _builtin(self, ch: Channel, name: str) -> str | None:
        values = {"UNIQUEID": ch.uniqueid, "CHANNEL": ch.name, "CONTEXT": ch.context,
                  "EXTEN": ch.exten, "EPOCH": str(int(self.clock.now())),
                  "CHANNEL(state)": STATE_DESC.get(ch.state, "Unknown"),
                  "CALLERID(name)": ch.cid_name, "CALLERID(num)": ch.cid_num}
        return values.get(name)

    # ================================================================ timers

    def _after(self, call: Call, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` unless the call changes place first."""
        timers = self._phase_timers.setdefault(call.index, [])

        def fire() -> None:
            if timer in timers:
                timers.remove(timer)
            if call.phase is not Phase.GONE:
                action()

        timer = self.clock.call_later(delay, fire)
        timers.append(timer)

    def _cancel_timers(self, call: Call) -> None:
        for timer in self._phase_timers.pop(call.index, []):
            timer.cancel()

    def _stop_patience(self, call: Call) -> None:
        timer = self._patience.pop(call.index, None)
        if timer is not None:
            timer.cancel()

    def _patience_over(self, call: Call) -> None:
        self._patience.pop(call.index, None)
        if call.phase in (Phase.ARRIVING, Phase.WAITING, Phase.DIALLING, Phase.OVERFLOWING,
                          Phase.QUEUED):
            self._caller_hangs_up(call, by="caller", reason="patience ran out", cause=16)

    # ================================================================ [incoming]

    def _run_incoming(self, call: Call) -> None:
        ev, names, trunk, phone = self.events, self.names, call.trunk, call.phone
        number = call.number
        rename = self.options.incoming_caller_names.get(number)
        if rename is not None:
            trunk.cid_name = rename
            ev.callerid(trunk)
        args = number if call.priority is None else f"{number},{call.priority}"
        ev.step(trunk, "incoming", number, 1, "Gosub", f"acd-announce,s,1({args})")
        ev.step(trunk, "acd-announce", "s", 1, "Set", f"__{names.number_var}={number}")
        ev.varset(trunk, f"__{names.number_var}", number, always=True)
        arrived = str(int(self.clock.now()))
        ev.step(trunk, "acd-announce", "s", 2, "Set", f"__{names.arrived_var}={arrived}")
        ev.varset(trunk, f"__{names.arrived_var}", arrived, always=True)
        ev.step(trunk, "acd-announce", "s", 3, "ExecIf",
                f'$["{"" if call.priority is None else call.priority}" != ""]'
                f"?Set({names.priority_var}=${{ARG2}})")
        if call.priority is not None:
            ev.varset(trunk, names.priority_var, str(call.priority), always=True)
        ev.step(trunk, "acd-announce", "s", 4, "Answer")
        ev.newstate(trunk, UP)
        ev.caller_device(f"Local/{number}@incoming", "INUSE")
        ev.newstate(phone, UP)
        ev.dial_end(None, phone, "ANSWER")
        ev.step(phone, "caller", "s", 1, "NoOp", f"caller phone of {phone.cid_num}")
        ev.step(phone, "caller", "s", 2, "Wait", f"{call.patience_s:g}")
        if call.originate_action_id is not None:
            self._originate_response(call)
        ev.caller_device(f"Local/{number}@incoming", "INUSE")
        self._after(call, self.options.answer_wait_s, lambda: self._announce(call))

    def _originate_response(self, call: Call) -> None:
        phone = call.phone
        action_id = call.originate_action_id
        headers = [("ActionID", action_id)] if action_id else []
        self.events.emit("OriginateResponse", [
            *headers, ("Response", "Success"), ("Channel", phone.name), ("Context", "caller"),
            ("Exten", "s"), ("Reason", "4"), ("Uniqueid", phone.uniqueid),
            ("CallerIDNum", phone.cid_num), ("CallerIDName", phone.cid_name)])

    def _announce(self, call: Call) -> None:
        ev, names, trunk = self.events, self.names, call.trunk
        self._cancel_timers(call)
        cname = trunk.cid_name.replace(",", "")
        ev.step(trunk, "acd-announce", "s", 5, "Set", "LOCAL(ACD_CNAME)=${CALLERID(name)}")
        ev.step(trunk, "acd-announce", "s", 6, "Set",
                "LOCAL(ACD_CNAME)=${REPLACE(ACD_CNAME,\\,)}")
        ev.step(trunk, "acd-announce", "s", 7, "GotoIf",
                f'$["${{{names.priority_var}}}" = ""]?nopriority')
        priority = trunk.variables.get(names.priority_var, "")
        number = trunk.variables.get(names.number_var, call.number)
        headers = [("Number", number), ("Uniqueid", trunk.uniqueid)]
        if priority:
            headers.append(("Priority", priority))
        headers.append(("CallerName", cname))
        data = ",".join([names.call_waiting_event, *(f"{k}: {v}" for k, v in headers)])
        at = 8 if priority else 10
        ev.step(trunk, "acd-announce", "s", at, "UserEvent", data)
        ev.user_event(trunk, names.call_waiting_event, headers)
        ev.step(trunk, "acd-announce", "s", at + 1, "Return")
        call.announced = True
        ev.step(trunk, "incoming", call.number, 2, "Goto",
                f"{names.holding_context},{names.holding_exten},1")
        self._enter_holding(call)

    # ================================================================ [holding]

    def _enter_holding(self, call: Call) -> None:
        self._cancel_timers(call)
        call.phase = Phase.WAITING
        call.dial = None
        trunk = call.trunk
        if self.options.hold_style.get(call.number, "moh") == "wait":
            self.events.step(trunk, "holding-wait", "s", 1, "NoOp",
                             "waiting for the ACD router (Wait loop)")
            self.events.step(trunk, "holding-wait", "s", 2, "Wait", "1")
            if self.events.full:
                self._after(call, 1.0, lambda: self._wait_loop(call))
            return
        self._start_moh(call)

    def _moh_class(self, call: Call) -> str:
        return call.trunk.variables.get("ACD_MOH") or self.globals.get("ACD_MOH") or "default"

    def _start_moh(self, call: Call) -> None:
        names = self.names
        if self.native.check(call):
            return
        music = self._moh_class(call)
        self.events.step(call.trunk, names.holding_context, names.holding_exten, 2,
                         "MusicOnHold", f"{music},{self.variable(call.trunk, 'ACD_HOLD_S')}")
        self.events.moh_start(call.trunk, music)
        call.in_moh = True
        self._after(call, self.options.hold_loop_s, lambda: self._moh_loop(call))

    def _moh_loop(self, call: Call) -> None:
        if call.phase is not Phase.WAITING:
            return
        names = self.names
        self._stop_moh(call)
        self.events.step(call.trunk, names.holding_context, names.holding_exten, 3, "Goto",
                         f"{names.holding_context},{names.holding_exten},1")
        self._start_moh(call)

    def _stop_moh(self, call: Call) -> None:
        if call.in_moh:
            call.in_moh = False
            self.events.moh_stop(call.trunk)

    def _wait_loop(self, call: Call) -> None:
        if call.phase is not Phase.WAITING:
            return
        ev, trunk = self.events, call.trunk
        ev.step(trunk, "holding-wait", "s", 3, "Goto", "loop")
        ev.step(trunk, "holding-wait", "s", 2, "Wait", "1")
        self._after(call, 1.0, lambda: self._wait_loop(call))

    # ================================================================ Redirect

    def _leave_current_place(self, call: Call, context: str, exten: str,
                             priority: int) -> None:
        """What happens to a caller's current application when it is redirected."""
        self._cancel_timers(call)
        self._stop_moh(call)
        if call.native_queue:
            self.native.redirected(call)
        out = self._outgoing(call)
        if out is None:
            return
        if self._bridged(call, out):
            self.events.step(call.trunk, context, exten, priority, "Dial",
                             call.trunk.app_data)
            why = "caller redirected out of the bridge"
            self._caller_leaves_bridge(call, out, by="pbx", reason=why)
            self._finish_agent(out, by="pbx", reason=why)
        else:
            self.events.dial_end(call.trunk, out.outer, "CANCEL")
            self._hang_up_unanswered(out, cause=16, by="pbx",
                                     reason="caller redirected while ringing")
        call.dial = None
        call.partner = None

    @staticmethod
    def _outgoing(call: Call) -> Outgoing | None:
        """The caller's Dial in progress or answered: to an agent or to a partner."""
        return call.dial if call.dial is not None else call.partner

    @staticmethod
    def _bridged(call: Call, out: Outgoing | None) -> bool:
        return (out is not None and out.bridge is not None
                and call.phase in (Phase.TALKING, Phase.WITH_PARTNER))

    def _goto(self, call: Call, context: str, exten: str, priority: int) -> None:
        names = self.names
        if context == names.holding_context and exten == names.holding_exten:
            self._enter_holding(call)
        elif context == names.connect_context and priority == 1:
            self._connect(call, exten)
        elif context == names.overflow_context and priority == 1:
            self.overflow.start(call, exten)
        elif context == names.warm_bridge_context and priority == 1 \
                and DIAL_EXTEN.fullmatch(exten):
            self.warm.bridge(call, exten)
        else:
            self._trunk_hangs_up(call, by="router-action", cause=0,
                                 reason=f"redirected to missing extension "
                                        f"{context},{exten},{priority}")

    # ================================================================ [acd-connect]

    def _connect(self, call: Call, exten: str) -> None:
        ev, names, trunk = self.events, self.names, call.trunk
        ctx, s = names.connect_context, _connect_exten(names)
        call.phase = Phase.DIALLING
        call.dial = None
        if exten != s:
            if not DIAL_EXTEN.fullmatch(exten):
                self._trunk_hangs_up(call, by="router-action", cause=0,
                                     reason=f"redirected to missing extension {ctx},{exten},1")
                return
            ev.step(trunk, ctx, exten, 1, "Set", f"{names.agent_var}={exten}")
            ev.varset(trunk, names.agent_var, exten, always=True)
            ev.step(trunk, ctx, exten, 2, "Goto", f"{ctx},{s},1")
        agent = trunk.variables.get(names.agent_var, "")
        ev.step(trunk, ctx, s, 1, "UserEvent", f"{names.connecting_event},Agent: {agent}")
        ev.user_event(trunk, names.connecting_event, [("Agent", agent)])
        ev.step(trunk, ctx, s, 2, "GotoIf", no_resource_test(names.dial_var))
        dial_string = trunk.variables.get(names.dial_var, "")
        if not has_resource(dial_string):
            ev.step(trunk, ctx, s, 9, "Set", "DIALSTATUS=INVALIDARGS")
            ev.varset(trunk, "DIALSTATUS", "INVALIDARGS")
            ev.step(trunk, ctx, s, 10, "Goto", "dialend")
            self._dial_returned(call, "INVALIDARGS")
            return
        ev.step(trunk, ctx, s, 3, "Set", f"__DYNAMIC_FEATURES={AGENT_FEATURES}")
        ev.varset(trunk, "__DYNAMIC_FEATURES", AGENT_FEATURES)
        ring = self.variable(trunk, names.ring_var)
        ev.step(trunk, ctx, s, 4, "Dial", f"{dial_string},{ring},gt")
        for var in DIAL_VARS:
            ev.varset(trunk, var, "")
        self._start_dial(call, dial_string, ring_seconds(ring))

    def start_dial(self, call: Call, dial_string: str, ring_s: float | None) -> None:
        """Dial an agent's device from the caller's channel (also ``Queue()``'s)."""
        self._start_dial(call, dial_string, ring_s)

    def busy_devices(self) -> set[str]:
        """Agent devices with a call (ringing or talking)."""
        return set(self._device_dials)

    def variable(self, ch: Channel, name: str) -> str:
        """``${name}`` on ``ch``: its channel variable, else the global one, else ""."""
        value = ch.variables.get(name)
        return value if value is not None else self.globals.get(name, "")

    def _offer_outcome(self, call: Call, agent: AgentConfig) -> OfferOutcome:
        count = self._offers.get(agent.id, 0)
        self._offers[agent.id] = count + 1
        rng = random.Random(f"{self.seed}:{agent.id}:{count}")
        outcome = self.behaviour.decide(agent.id, rng)
        # the recordings' dialplan: __TALK / __RING set on the caller by the driver
        talk, ring = call.trunk.variables.get("TALK"), call.trunk.variables.get("RING")
        if talk is not None and is_number(talk):
            outcome = dataclasses.replace(outcome, talk_s=float(talk))
        if ring is not None and is_number(ring):
            outcome = dataclasses.replace(outcome, answer_after_s=float(ring))
        return outcome

    def _start_dial(self, call: Call, dial_string: str, ring_s: float | None) -> None:
        ev, trunk = self.events, call.trunk
        if call.first_dialled is None:
            call.first_dialled = self.clock.now()
        agent = self._by_device.get(dial_string)
        if agent is None:
            ev.varset(trunk, "DIALSTATUS", "CHANUNAVAIL")
            self._dial_returned(call, "CHANUNAVAIL")
            return
        busy = dial_string in self._device_dials
        outcome = OfferOutcome(kind="busy") if busy else self._offer_outcome(call, agent)
        if outcome.kind == "unavailable":
            ev.varset(trunk, "DIALSTATUS", "CHANUNAVAIL")
            self._dial_returned(call, "CHANUNAVAIL")
            return
        dial = self._create_agent_legs(call, agent, outcome)
        call.dial = dial
        ev.dial_begin(trunk, dial.outer, dial.dial_string)
        if outcome.kind == "busy":
            self._agent_busy(call, dial)
            return
        self._device_dials[dial.device] = dial
        inner = dial.inner
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 1, "NoOp",
                    f"agent {inner.exten} ringing")
            ev.step(inner, inner.context, inner.exten, 2, "Ringing")
        ev.newstate(dial.outer, RINGING)
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 3, "Wait",
                    f"{outcome.answer_after_s:g}")
        ev.device(dial.device, "INUSE" if dial.device.startswith("Local/") else "RINGING")
        ev.varset(trunk, "RINGTIME", "0")
        ev.varset(trunk, "RINGTIME_MS", "0")
        ev.dial_state(trunk, dial.outer, "RINGING")
        if ring_s is not None:
            self._after(call, ring_s, lambda: self._ring_timeout(call))
        if outcome.kind == "answer" and (ring_s is None or outcome.answer_after_s < ring_s):
            self._after(call, outcome.answer_after_s, lambda: self._agent_answers(call))

    def _create_agent_legs(self, call: Call, agent: AgentConfig,
                           outcome: OfferOutcome, *, inherit: bool = True) -> Dial:
        """The legs of a Dial of ``agent`` by the caller (``inherit``: they get the
        caller's ``__`` variables; an AMI Originate's legs do not)."""
        device = agent.device
        tech, _, resource = device.partition("/")
        outer, inner = self._dial_legs(call, tech, resource, roles=("agent", "agent-local"),
                                       context=self.options.agent_phone_context,
                                       inherit=inherit)
        if inner is not None:
            self.events.local_bridge(outer, inner, inner.context, inner.exten)
        return Dial(agent_id=agent.id, device=device, dial_string=resource, outer=outer,
                    inner=inner, outcome=outcome, started=self.clock.now())

    def _dial_legs(self, call: Call, tech: str, resource: str, *, roles: tuple[Role, Role],
                   context: str, inherit: bool = True) -> tuple[Channel, Channel | None]:
        """The channels ``Dial(<tech>/<resource>)`` of the caller creates, with their
        events up to (not including) LocalBridge and DialBegin: a Local pair
        ``Local/<exten>@<ctx>-xxxxxxxx;1/;2`` (the ``;2`` runs ``<ctx>``), or one channel
        ``<tech>/<endpoint>-xxxxxxxx`` in ``context``. Returns the dialled (outer) leg
        and the ``;2`` (None for one channel). ``roles``: of the outer leg, of the ``;2``.
        """
        ev, trunk = self.events, call.trunk
        inherited = {name: trunk.variables[name] for name in sorted(trunk.inheritable)
                     if name in trunk.variables} if inherit else {}
        inner: Channel | None = None
        if tech.lower() == "local":
            exten, _, local_context = resource.partition("@")
            local_context = local_context.split("/", 1)[0]
            base = f"Local/{exten}@{local_context}-{self._next_local():08x}"
            outer = self._new_channel(base + ";1", roles[0], linkedid=trunk.linkedid)
            inner = self._new_channel(base + ";2", roles[1], linkedid=trunk.linkedid)
            outer.goto(local_context, exten, 1)
            inner.goto(local_context, exten, 1)
            inner.state = RING
        else:
            # PJSIP/arm01, PJSIP/sas62/15, PJSIP/15@sas62: the endpoint names the channel
            endpoint = resource.split("/", 1)[0].rpartition("@")[2]
            outer = self._new_channel(self._tech_channel_name(f"{tech}/{endpoint}"), roles[0],
                                      linkedid=trunk.linkedid, tech=tech)
            outer.goto(context, "s", 1)
        outer.call = call
        outer.cid_num, outer.cid_name = trunk.exten, trunk.conn_name
        outer.conn_num, outer.conn_name = trunk.cid_num, trunk.cid_name
        legs = [outer] if inner is None else [outer, inner]
        for leg in legs:
            ev.newchannel(leg)
        for leg in legs:
            ev.varset(leg, "DIALEDPEERNUMBER", resource)
            for name, value in inherited.items():
                ev.varset(leg, f"__{name}", value)
            if leg is outer:
                ev.step(outer, outer.context, "s", 1, "AppDial", "(Outgoing Line)")
            else:
                leg.call = call
                leg.cid_num, leg.cid_name = trunk.cid_num, trunk.cid_name
                leg.conn_num, leg.conn_name = trunk.exten, trunk.conn_name
            ev.callerid(leg)
            ev.connected_line(leg)
        return outer, inner

    def _agent_busy(self, call: Call, dial: Dial) -> None:
        ev = self.events
        if dial.inner is not None:
            ev.step(dial.inner, dial.inner.context, dial.inner.exten, 2, "Busy")
            ev.newstate(dial.inner, BUSY)
        ev.varset(call.trunk, "DIALSTATUS", "BUSY")
        ev.dial_end(call.trunk, dial.outer, "BUSY")
        self._hang_up_unanswered(dial, cause=0, inner_cause=17, by="agent",
                                 reason="agent device busy", release=False)
        self._dial_returned(call, "BUSY")

    def _ring_timeout(self, call: Call) -> None:
        dial = call.dial
        if call.phase is not Phase.DIALLING or dial is None:
            return
        self._cancel_timers(call)
        self.events.varset(call.trunk, "DIALSTATUS", "NOANSWER")
        self.events.dial_end(call.trunk, dial.outer, "NOANSWER")
        self._hang_up_unanswered(dial, cause=0, by="pbx", reason="ring time-out")
        self._dial_returned(call, "NOANSWER")

    def _agent_answers(self, call: Call) -> None:
        dial = call.dial
        if call.phase is not Phase.DIALLING or dial is None:
            return
        ev, outer, inner = self.events, dial.outer, dial.inner
        self._cancel_timers(call)
        self._stop_patience(call)
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 4, "Answer")
            ev.newstate(inner, UP)
            ev.device(dial.device, "INUSE", repeat=2)
        ev.newstate(outer, UP)
        ev.device(dial.device, "INUSE", repeat=2)
        self._bridge_answered(call, dial, app_dial_step=inner is not None)
        if call.native_queue:
            self.native.connected(call, dial)
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 5, "Wait", f"{dial.outcome.talk_s:g}")
        call.phase = Phase.TALKING
        ender = dial.outcome.ender
        self._after(call, dial.outcome.talk_s, lambda: self._talk_over(call, ender))

    def _bridge_answered(self, call: Call, out: Outgoing, *, app_dial_step: bool) -> None:
        """``Dial`` reports ANSWER and bridges the caller with the answered leg (an
        agent's or a partner SAS's), in the order Asterisk sends it."""
        ev, trunk, outer = self.events, call.trunk, out.outer
        ev.varset(trunk, "DIALSTATUS", "ANSWER")
        ev.varset(trunk, "DIALEDPEERNAME", outer.name)
        ev.varset(trunk, "DIALEDPEERNUMBER", out.dial_string)
        ev.dial_end(trunk, outer, "ANSWER")
        bridge = Bridge(uniqueid=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)))
        out.bridge = bridge
        out.answered_at = self.clock.now()
        ev.bridge_create(bridge)
        if app_dial_step:
            ev.step(outer, outer.context, "", 1, "AppDial", "(Outgoing Line)")
        ev.bridge_enter(bridge, outer)
        ev.bridge_enter(bridge, trunk)
        ev.bridge_peer(bridge)

    def _talk_over(self, call: Call, ender: str) -> None:
        dial = call.dial
        if call.phase is not Phase.TALKING or dial is None:
            return
        target = dial.outcome.transfer_to
        if target is not None and TRANSFER_TARGET.fullmatch(target):
            self.agent_transfer(dial.agent_id, target,
                                give_up_after_s=self.options.transfer_give_up_s)
            return
        if ender == "agent":
            self._agent_hangs_up(call, by="agent", reason="agent ended the conversation")
        else:
            self._caller_hangs_up(call, by="caller", reason="caller ended the conversation",
                                  cause=16)

    def _dial_returned(self, call: Call, status: str) -> None:
        """``Dial`` returned with the caller still there: AcdDialEnd, then the dialplan."""
        if call.native_queue:
            self.native.dial_returned(call, status)
            return
        names = self.names
        if call.trunk.context == names.warm_bridge_context:
            self.warm.returned(call, status)
            return
        call.dial = None
        self.dial_end(call, names.connect_context, _connect_exten(names), 5, status)

    def dial_end(self, call: Call, ctx: str, exten: str, priority: int, status: str) -> None:
        """The tail shared by ``[acd-connect]`` and ``[acd-warm-bridge]``, from
        ``priority``: ``AcdDialEnd``, ``GotoIf`` on ``ANSWER``, then ``Goto(holding)``
        (+2) or ``Hangup()`` (+3, the ``answered`` label)."""
        ev, names, trunk = self.events, self.names, call.trunk
        agent = trunk.variables.get(names.agent_var, "")
        ev.step(trunk, ctx, exten, priority, "UserEvent",
                f"{names.dial_end_event},Agent: {agent},DialStatus: {status}")
        ev.user_event(trunk, names.dial_end_event, [("Agent", agent), ("DialStatus", status)])
        ev.step(trunk, ctx, exten, priority + 1, "GotoIf",
                '$["${DIALSTATUS}" = "ANSWER"]?answered')
        if status == "ANSWER":
            ev.step(trunk, ctx, exten, priority + 3, "Hangup")
            return
        ev.step(trunk, ctx, exten, priority + 2, "Goto",
                f"{names.holding_context},{names.holding_exten},1")
        self._enter_holding(call)

    # ================================================================ hangups

    def _release_device(self, out: Outgoing) -> None:
        """An agent's device is free again (a partner trunk has no device state here)."""
        if isinstance(out, Dial) and self._device_dials.get(out.device) is out:
            del self._device_dials[out.device]
            self.events.device(out.device, "NOT_INUSE", repeat=2)
            self.native.soon()

    def _hang_up_unanswered(self, dial: Outgoing, *, cause: int, by: HangupBy, reason: str,
                            inner_cause: int | None = None, release: bool = True) -> None:
        """The legs of a Dial that was not answered go away."""
        ev = self.events
        if dial.inner is not None:
            ev.hangup_request(dial.inner, cause)
            self._gone(dial.outer, cause, by, reason)
            ev.soft_hangup_request(dial.inner, 16)
            self._gone(dial.inner, cause if inner_cause is None else inner_cause, by, reason)
        else:
            self._gone(dial.outer, cause if inner_cause is None else inner_cause, by, reason)
        if release:
            self._release_device(dial)

    def _caller_leaves_bridge(self, call: Call, dial: Outgoing, *, by: HangupBy,
                              reason: str) -> None:
        """The caller's ``;2`` left the bridge: the far end's bridged leg goes.

        The ``;2`` of a Local far end hangs up a little later in Asterisk's order:
        :meth:`_finish_agent` does it.
        """
        ev, bridge = self.events, dial.bridge
        assert bridge is not None
        ev.bridge_peer(bridge, clear=True)
        ev.bridge_leave(bridge, call.trunk)
        ev.bridge_leave(bridge, dial.outer)
        if dial.inner is not None:
            ev.hangup_request(dial.inner, 16)
        else:
            ev.soft_hangup_request(dial.outer, 16)
        self._gone(dial.outer, 16, by, reason)
        ev.bridge_destroy(bridge)
        self._talk_vars(call, dial)

    def _finish_agent(self, dial: Outgoing | None, *, by: HangupBy, reason: str) -> None:
        """Last step of a bridged far end's teardown: its ``;2`` and its device."""
        if dial is None:
            return
        if dial.inner is not None:
            self.events.soft_hangup_request(dial.inner, 16)
            self._gone(dial.inner, 16, by, reason)
        self._release_device(dial)

    def _talk_vars(self, call: Call, dial: Outgoing) -> None:
        if not self.events.full or dial.answered_at is None:
            return
        now = self.clock.now()
        answered, dialled = now - dial.answered_at, now - dial.started
        for name, value in (("ANSWEREDTIME", answered), ("DIALEDTIME", dialled)):
            self.events.varset(call.trunk, name, str(int(value)))
            self.events.varset(call.trunk, f"{name}_MS", str(int(value * 1000)))
        self.events.varset(call.trunk, "DIALSTATUS", "ANSWER")

    @staticmethod
    def _far_end_by(call: Call, by: HangupBy) -> HangupBy:
        """Who the far end's legs are hung up by when the caller's side goes: the same
        party for an agent's legs, the PBX's cleanup for a partner trunk."""
        return "pbx" if call.partner is not None else by

    def _caller_hangs_up(self, call: Call, *, by: HangupBy, reason: str, cause: int) -> None:
        """The remote phone (``;1``) hangs up; ``cause`` as the ``;2`` is told."""
        ev, phone, trunk = self.events, call.phone, call.trunk
        out, bridged, far_by = self._start_teardown(call, by)
        ev.soft_hangup_request(phone, 16)
        ev.hangup_request(trunk, cause)
        self._gone(phone, cause, by, reason)
        if not self._release_far_end(call, out, bridged, far_by, reason):
            ev.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")
        ev.soft_hangup_request(trunk, 16)
        self._gone(trunk, 16, by, reason)
        self._end_teardown(call, bridged, far_by, reason, device_events=1)

    def _trunk_hangs_up(self, call: Call, *, by: HangupBy, reason: str, cause: int,
                        phone_cause: int = 16) -> None:
        """The caller's ``;2`` is hung up (AMI Hangup, missing extension, shutdown)."""
        ev, phone, trunk = self.events, call.phone, call.trunk
        out, bridged, far_by = self._start_teardown(call, by)
        ev.soft_hangup_request(trunk, 16)
        self._release_far_end(call, out, bridged, far_by, reason)
        ev.hangup_request(phone, 16)
        self._gone(trunk, cause, by, reason)
        ev.soft_hangup_request(phone, 16)
        self._gone(phone, phone_cause, by, reason)
        self._end_teardown(call, bridged, far_by, reason, device_events=2)

    def _start_teardown(self, call: Call,
                        by: HangupBy) -> tuple[Outgoing | None, Outgoing | None, HangupBy]:
        """The caller's side is going: stop its timers; return its outgoing dial, that
        dial if bridged, and who the far end's legs are hung up by."""
        out = self._outgoing(call)
        bridged = out if self._bridged(call, out) else None
        self._cancel_timers(call)
        self._stop_patience(call)
        if call.native_queue:
            self.native.caller_gone(call)
        call.phase = Phase.GONE
        return out, bridged, self._far_end_by(call, by)

    def _release_far_end(self, call: Call, out: Outgoing | None, bridged: Outgoing | None,
                         far_by: HangupBy, reason: str) -> bool:
        """Take the far end off the caller: leave the bridge, or cancel a ringing dial;
        False when the caller was only waiting on hold (its music stops)."""
        if bridged is not None:
            self._caller_leaves_bridge(call, bridged, by=far_by, reason=reason)
        elif out is not None:
            self.events.dial_end(call.trunk, out.outer, "CANCEL")
            self._hang_up_unanswered(out, cause=16, by=far_by, reason=reason)
        else:
            self._stop_moh(call)
            return False
        return True

    def _end_teardown(self, call: Call, bridged: Outgoing | None, far_by: HangupBy,
                      reason: str, *, device_events: int) -> None:
        self._finish_agent(bridged, by=far_by, reason=reason)
        call.dial = None
        call.partner = None
        for _ in range(device_events):
            self.events.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")

    def _agent_hangs_up(self, call: Call, *, by: HangupBy, reason: str) -> None:
        """The agent ends a bridged call: Dial returns ANSWER, the dialplan hangs up."""
        dial = call.dial
        if dial is None or dial.bridge is None:
            return
        self._far_end_hangs_up(call, dial, by=by, reason=reason,
                               dial_returned=lambda: self._dial_returned(call, "ANSWER"))

    def _far_end_hangs_up(self, call: Call, out: Outgoing, *, by: HangupBy, reason: str,
                          dial_returned: Callable[[], None]) -> None:
        """The bridged agent or partner SAS hangs up: ``Dial`` returns ANSWER,
        ``dial_returned`` runs the dialplan after it (its UserEvent, then ``Hangup()``),
        and the caller is hung up by the dialplan."""
        ev, trunk, phone, bridge = self.events, call.trunk, call.phone, out.bridge
        assert bridge is not None
        outer, inner = out.outer, out.inner
        self._cancel_timers(call)
        if inner is not None:
            ev.soft_hangup_request(inner, 16)
            ev.hangup_request(outer, 16)
            self._gone(inner, 16, by, reason)
        else:
            ev.hangup_request(outer, 16)
        ev.bridge_peer(bridge, clear=True)
        ev.bridge_leave(bridge, outer)
        self._release_device(out)
        ev.bridge_leave(bridge, trunk)
        self._talk_vars(call, out)
        dial_returned()
        call.phase = Phase.GONE
        who = "agent" if isinstance(out, Dial) else "partner SAS"
        dialplan = f"dialplan Hangup() after the {who} ended the call"
        ev.soft_hangup_request(trunk, 16)
        ev.hangup_request(phone, 16)
        self._gone(trunk, 16, "pbx", dialplan)
        ev.bridge_destroy(bridge)
        self._gone(outer, 16, by, reason)
        ev.soft_hangup_request(phone, 16)
        self._gone(phone, 16, "pbx", dialplan)
        ev.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")
        ev.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")

    def _agent_leg_drops_while_ringing(self, call: Call, *, by: HangupBy, reason: str,
                                       cause: int) -> None:
        dial = call.dial
        if dial is None:
            return
        self._cancel_timers(call)
        self.events.varset(call.trunk, "DIALSTATUS", "NOANSWER")
        self.events.dial_end(call.trunk, dial.outer, "NOANSWER")
        self._hang_up_unanswered(dial, cause=cause, by=by, reason=reason)
        self._dial_returned(call, "NOANSWER")

    def _hang_up_leg(self, ch: Channel, *, by: HangupBy, reason: str, cause: int = 16) -> None:
        """Hang up any live channel and carry out what follows for its call."""
        call = ch.call
        if call is None or call.phase is Phase.GONE:
            self.events.soft_hangup_request(ch, 16)
            self._gone(ch, cause, by, reason)
            return
        if self.warm.owns(ch):
            self.warm.hang_up(ch, by=by, reason=reason)
        elif ch is call.phone:
            self._caller_hangs_up(call, by=by, reason=reason, cause=cause)
        elif ch is call.trunk:
            self._trunk_hangs_up(call, by=by, reason=reason, cause=cause)
        elif ch.role in ("partner", "partner-local"):
            self.overflow.partner_leg_hung_up(call, by=by, reason=reason, cause=cause)
        elif call.phase is Phase.TALKING:
            self._agent_hangs_up(call, by=by, reason=reason)
        else:
            self._agent_leg_drops_while_ringing(call, by=by, reason=reason, cause=cause)


def _connect_exten(names: DialplanNames) -> str:
    """acd-connect's legacy extension (``[dialplan] connect_exten``, default ``s``)."""
    return str(getattr(names, "connect_exten", "s"))
