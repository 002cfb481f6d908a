"""The simulated PBX: channels and the ACD dialplan (``dialplans/extensions_acd.conf``).

What it models, in the order of a call (event sequences follow the recorded
transcripts of Asterisk 22, see ``tests/fixtures/ami/recorded/INDEX.md``):

* **Arrival** (:meth:`Pbx.place_call`, or an AMI ``Originate`` of
  ``Local/<number>@incoming``): a Local channel pair. ``;1`` is the remote phone,
  ``;2`` runs ``[incoming]``: it sets ``__ACD_NUMBER``, ``__ACD_ARRIVED`` (and
  ``ACD_PRIORITY`` when given), answers, and half a second later sends the
  ``AcdCallWaiting`` UserEvent, then waits in ``[holding]`` (music on hold, restarted
  every ``ACD_HOLD_S``, 5 s) until a Redirect takes it out or the caller's patience runs out.
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
* **Warm transfers** (:class:`acd.sim.warm.WarmTransfers`): an AMI ``Originate``
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

Layout: :class:`Pbx` composes the channel kernel (:mod:`acd.sim.kernel`,
:mod:`acd.sim.legs`, :mod:`acd.sim.teardown`) and one module per dialplan context
(:mod:`acd.sim.incoming`, :mod:`acd.sim.holding`, :mod:`acd.sim.connect`,
:mod:`acd.sim.overflow`, :mod:`acd.sim.failopen`, :mod:`acd.sim.transfer`,
:mod:`acd.sim.warm`, :mod:`acd.sim.features`). Each context takes the kernel only;
the kernel holds the registry of contexts by name, where a Redirect, and a context's
own ``Goto``, finds the context it enters.

Simplifications: one bridge per call; a Redirect to a place the sim does not model
hangs the channel up (as Asterisk does for a missing extension); the ``;1`` remote
phone's patience only counts while the caller waits or rings, not while it talks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from acd.config import AgentConfig, DialplanNames
from acd.sim.behaviour import AgentBehaviour, PartnerBehaviour, PartnerKind, RandomBehaviour
from acd.sim.clock import SimClock
from acd.sim.connect import Connect
from acd.sim.emit import Emitter, EventSink
from acd.sim.failopen import FAILOPEN_VAR, NativeQueue
from acd.sim.features import dial_feature_code
from acd.sim.foreign import ForeignChannels
from acd.sim.holding import Holding
from acd.sim.hostclock import HostClock
from acd.sim.incoming import Incoming
from acd.sim.kernel import Kernel, MissingExtension, bridged, outgoing
from acd.sim.legs import Legs
from acd.sim.model import Call, Channel, HangupBy, HangupRecord, Phase
from acd.sim.options import PbxOptions
from acd.sim.overflow import PartnerOverflow
from acd.sim.teardown import Teardown
from acd.sim.warm import WARM_HOLD_S, WarmTransfers

#: SoftHangupRequest's Cause when Asterisk stops (its AST_SOFTHANGUP_SHUTDOWN flag):
#: every channel gets it first in ``core restart now`` (recording 09)
SOFT_HANGUP_SHUTDOWN = 4

def dialplan_globals(options: PbxOptions, names: DialplanNames) -> dict[str, str]:
    """The ``[globals]`` the simulated Asterisk starts with."""
    return {names.ring_var: str(options.ring_timeout_s),
            names.partner_ring_var: str(options.partner_ring_timeout_s),
            "ACD_MOH": options.moh_class, "ACD_WARM_HOLD": f"{WARM_HOLD_S:g}",
            "ACD_HOLD_S": f"{options.hold_loop_s:g}",
            FAILOPEN_VAR: "" if options.failopen_s is None else f"{options.failopen_s:g}",
            "ACD_FAILOPEN_QUEUE": names.failopen_queue}


class Pbx:
    """Channels, calls and the dialplan; events go to :attr:`events` subscribers."""

    def __init__(self, agents: Sequence[AgentConfig], *, clock: SimClock, seed: int = 0,
                 behaviour: AgentBehaviour | None = None, options: PbxOptions | None = None,
                 names: DialplanNames | None = None) -> None:
        self.clock = clock
        self.seed = seed
        self.options = options or PbxOptions()
        self.names = names or DialplanNames()
        #: the host's clock, as Asterisk writes the time (steps, out-of-order stamps)
        self.host = HostClock(clock, seed=seed)
        self.events = Emitter(clock, full=self.options.full_event_mix,
                              stamp=self.host.stamp)
        #: channels, timers, variables and devices every context shares
        self.kernel = Kernel(agents, clock=clock, host=self.host, seed=seed,
                             behaviour=behaviour or RandomBehaviour(), options=self.options,
                             names=self.names, events=self.events,
                             globals_=dialplan_globals(self.options, self.names))
        kernel = self.kernel
        self.agents: dict[str, AgentConfig] = kernel.agents
        #: live channels by name
        self.channels: dict[str, Channel] = kernel.channels
        #: every call placed, in arrival order (gone ones included)
        self.calls: list[Call] = kernel.calls
        #: who hung up each channel, in hangup order
        self.hangups: list[HangupRecord] = kernel.hangups
        #: every Redirect of a caller: (channel, "context,exten,priority")
        self.redirects: list[tuple[str, str]] = []
        #: callers Redirected to acd-connect while already ringing an agent
        self.routed_twice: list[str] = []
        #: told of each hangup record as it is made (the control port's call tracker)
        self.hangup_listeners: list[Callable[[HangupRecord], None]] = kernel.hangup_listeners
        self.globals: dict[str, str] = kernel.globals
        #: the [globals] of the site's extensions.conf as loaded (globals_acd.conf: no
        #: heartbeat there), set again by a reload (:mod:`acd.sim.reload`)
        self.loaded_globals: dict[str, str] = dict(self.globals)
        self.started_at = clock.now()
        #: the contexts, each given the kernel only and registered there by name
        self.holding = Holding(kernel)
        self.incoming = Incoming(kernel)
        self.connect = Connect(kernel)
        #: partner SAS trunks and the [acd-overflow] dialplan
        self.overflow = PartnerOverflow(kernel)
        #: warm transfers: Originate into [acd-warm], and [acd-warm-bridge]
        self.warm = WarmTransfers(kernel)
        #: [acd-failopen]'s native queue
        self.native = NativeQueue(kernel)
        self._register_contexts()
        #: dial legs and bridges of the callers' far ends, and their hang-ups
        self.legs = Legs(kernel)
        self.teardown = Teardown(kernel, self.legs)
        #: channels that are not ACD callers (an IVR, calls between two phones)
        self.foreign = ForeignChannels(kernel)

    def _register_contexts(self) -> None:
        """Each context under its name in the kernel; the native queue told of what it
        waits for (a device free again, a caller hanging up)."""
        kernel, names = self.kernel, self.names
        for context, handler in ((names.holding_context, self.holding),
                                 (names.connect_context, self.connect),
                                 (names.overflow_context, self.overflow),
                                 (names.warm_bridge_context, self.warm),
                                 (names.failopen_context, self.native)):
            kernel.register(context, handler)
        kernel.register_dial_caller(names.failopen_context, self.native)
        kernel.register_dial_caller(names.warm_bridge_context, self.warm)
        kernel.device_freed_listeners.append(self.native.soon)
        kernel.caller_gone_listeners.append(self.native.caller_gone)

    @property
    def behaviour(self) -> AgentBehaviour:
        """How the agents answer offers (may be replaced during a run)."""
        return self.kernel.behaviour

    @behaviour.setter
    def behaviour(self, behaviour: AgentBehaviour) -> None:
        self.kernel.behaviour = behaviour

    # ================================================================ public API

    def subscribe(self, sink: EventSink, names: Collection[str] | None = None) -> None:
        """Send every event (or those named in ``names``: the others are not even
        built) to ``sink(name, privilege, headers, timestamp)``."""
        self.events.subscribe(sink, names)

    def channel(self, name: str) -> Channel:
        """The live channel called ``name``; :class:`ChannelNotFound` otherwise."""
        return self.kernel.channel(name)

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
        return self.incoming.place_call(number, caller_name, caller_num, patience_s,
                                        priority, variables=variables,
                                        originate_action_id=originate_action_id)

    def hang_up_caller(self, call: Call, *, reason: str = "caller hung up") -> None:
        """The caller hangs up their phone (the ``;1`` half)."""
        if call.phase is not Phase.GONE:
            self.teardown.caller_hangs_up(call, by="caller", reason=reason, cause=16)

    def hang_up_agent(self, agent_id: str, *, reason: str = "agent hung up") -> bool:
        """The agent ends its current conversation; False if it has none."""
        device = self.agents[agent_id].device
        dial = self.kernel.device_dials.get(device)
        call = dial.outer.call if dial is not None else None
        if call is None or call.phase is not Phase.TALKING:
            return False
        self.connect.agent_hangs_up(call, by="agent", reason=reason)
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
        return self.connect.transfer(agent_id, target, give_up_after_s=give_up_after_s)

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
        builtin = self.kernel.builtin(ch, name)
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
                   reason: str = "shutdown", cause: int = 16,
                   shutdown: bool = False) -> None:
        """Hang up every call except those with a channel named in ``keep`` (and,
        keeping none, every other channel). ``core restart`` gives ``cause`` 0 to the
        callers not talking (recording 09); with ``shutdown`` (Asterisk stopping), every
        channel about to go is first sent a SoftHangupRequest with the shutdown flag,
        Cause 4, before any Hangup, as recording 09 shows."""
        doomed: list[Call] = []
        going: set[str] = set() if keep else set(self.foreign.names)
        for call in self.live_calls():
            names = {call.phone.name, call.trunk.name}
            for out in (*call.ringing_dials(), call.partner):
                if out is not None:
                    names.update(leg.name for leg in out.legs())
            if not names & set(keep):
                doomed.append(call)
                going |= names
        if shutdown:
            for ch in list(self.channels.values()):
                if ch.name in going:
                    self.events.soft_hangup_request(ch, SOFT_HANGUP_SHUTDOWN)
        for call in doomed:
            talking = bridged(call, outgoing(call))
            self.teardown.trunk_hangs_up(call, by=by, reason=reason,
                                         cause=16 if talking else cause,
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

    def agent_feature(self, agent_id: str, code: str) -> None:
        """The agent dials a feature code of ``[acd-features]`` from its own phone:
        ``*71`` login, ``*72`` logout, ``*73`` / ``*73<digits>`` pause, ``*74`` ready
        (:mod:`acd.sim.features`)."""
        dial_feature_code(self.kernel, agent_id, code)

    def stop(self) -> None:
        """Cancel every pending timer: calls freeze where they are (simulator shutdown)."""
        self.kernel.stop()
        self.warm.stop()

    def callers_hung_up_by(self, by: HangupBy) -> list[HangupRecord]:
        """Hangups of caller channels (``;1`` or ``;2``) caused by ``by``."""
        return [h for h in self.hangups
                if h.by == by and h.role in ("caller", "caller-phone")]

    # ================================================================ Redirect

    def _leave_current_place(self, call: Call, context: str, exten: str,
                             priority: int) -> None:
        """What happens to a caller's current application when it is redirected."""
        self.kernel.cancel_timers(call)
        self.kernel.stop_moh(call)
        if call.native_queue:
            self.native.redirected(call)
        out = outgoing(call)
        if out is None:
            return
        if bridged(call, out):
            self.events.step(call.trunk, context, exten, priority, "Dial",
                             call.trunk.app_data)
            why = "caller redirected out of the bridge"
            self.legs.caller_leaves_bridge(call, out, by="pbx", reason=why)
            self.legs.finish_far_end(out, by="pbx", reason=why)
        else:
            self.legs.cancel_ringing(call, out, cause=16, by="pbx",
                                     reason="caller redirected while ringing")
        call.dial = None
        call.partner = None

    def _goto(self, call: Call, context: str, exten: str, priority: int) -> None:
        try:
            self.kernel.goto(call, context, exten, priority)
        except MissingExtension:
            self.teardown.trunk_hangs_up(call, by="router-action", cause=0,
                                         reason=f"redirected to missing extension "
                                                f"{context},{exten},{priority}")

    # ================================================================ hangups

    def _hang_up_leg(self, ch: Channel, *, by: HangupBy, reason: str, cause: int = 16) -> None:
        """Hang up any live channel and carry out what follows for its call."""
        call = ch.call
        if call is None or call.phase is Phase.GONE:
            self.events.soft_hangup_request(ch, 16)
            self.kernel.gone(ch, cause, by, reason)
            return
        if self.warm.owns(ch):
            self.warm.hang_up(ch, by=by, reason=reason)
        elif ch is call.phone:
            self.teardown.caller_hangs_up(call, by=by, reason=reason, cause=cause)
        elif ch is call.trunk:
            self.teardown.trunk_hangs_up(call, by=by, reason=reason, cause=cause)
        elif ch.role in ("partner", "partner-local"):
            self.overflow.partner_leg_hung_up(call, by=by, reason=reason, cause=cause)
        elif call.phase is Phase.TALKING:
            self.connect.agent_hangs_up(call, by=by, reason=reason)
        else:
            self.connect.agent_leg_drops_while_ringing(call, by=by, reason=reason, cause=cause,
                                                       channel=ch.name)
