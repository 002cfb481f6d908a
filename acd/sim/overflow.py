"""``[acd-overflow]``: a waiting caller is offered to a partner SAS over a trunk.

The router sets ``ACD_PARTNER_DIAL`` (the trunk's dial string: ``PJSIP/sas62/15``,
``Local/15@partner-sas62``…) and ``ACD_PARTNER_RING`` (seconds) on the caller, then
Redirects it to ``acd-overflow,<partner>,1``. The dialplan (``dialplans/
extensions_acd.conf``), priority by priority::

    1 UserEvent(AcdOverflowTrying,Partner: ${EXTEN})
    2 GotoIf($["${CUT(ACD_PARTNER_DIAL,/,2)}" = ""]?nodial)
    3 Set(__DYNAMIC_FEATURES=)
    4 Dial(${ACD_PARTNER_DIAL},${ACD_PARTNER_RING},g)
    5 (dialend) UserEvent(AcdOverflowEnd,Partner: ${EXTEN},DialStatus: ${DIALSTATUS})
    6 GotoIf($["${DIALSTATUS}" = "ANSWER"]?answered)
    7 Goto(holding,s,1)
    8 (answered) Hangup()
    9 (nodial) Set(DIALSTATUS=INVALIDARGS)
    10 Goto(dialend)

What the partner's side does is a :class:`~acd.sim.behaviour.PartnerBehaviour` per
partner name, which may change at any time (a trunk failing mid-scenario); a dial
keeps the behaviour it started with. The events are those of an agent's Dial: DialBegin
(``Channel`` = the caller's ``;2``, ``Dest*`` = a new trunk channel, or the ``;1`` of a
Local pair), DialState RINGING, DialEnd with the status, BridgeCreate/BridgeEnter on
answer. ``unavailable`` is CHANUNAVAIL without DialBegin/DialEnd: for a Local dial
string the pair is created and hung up at once (recording 06, a missing context); for
a trunk no channel is created at all. The trunk's device state is not simulated (no
DeviceStateChange for it).

Hangups: the caller's channels are recorded ``by`` the caller when the caller ends
the call (or its patience runs out while the trunk rings); the partner's legs are
always cleaned up ``by`` the PBX. The caller's patience stops once a partner answers.
A Redirect of the caller while the trunk rings cancels the dial (DialEnd CANCEL), as for
an agent.
"""

from __future__ import annotations

import random

from acd.sim.behaviour import PARTNER_KINDS, PartnerBehaviour, PartnerEnder, PartnerKind
from acd.sim.dialplan import DIAL_EXTEN, DIAL_VARS, resource_guard, ring_seconds
from acd.sim.kernel import Kernel, enter_at_priority_1
from acd.sim.legs import Legs
from acd.sim.model import BUSY, RINGING, UP, Call, HangupBy, PartnerDial, Phase
from acd.sim.teardown import Teardown

#: hangup cause of the trunk leg for each refusal
_REFUSALS: dict[str, int] = {"busy": 17, "congestion": 34}


class PartnerOverflow:
    """The partner SAS trunks of a :class:`~acd.sim.pbx.Pbx` and its ``[acd-overflow]``."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.legs = Legs(kernel)
        self.teardown = Teardown(kernel, self.legs)
        self._behaviours: dict[str, PartnerBehaviour] = {}
        #: dials per partner so far (seeds each dial's draw)
        self._dials: dict[str, int] = {}

    # ---------------------------------------------------------------- behaviours

    def set_behaviour(self, name: str, behaviour: PartnerBehaviour | PartnerKind) -> None:
        if isinstance(behaviour, str):
            if behaviour not in PARTNER_KINDS:
                raise ValueError(f"unknown partner behaviour {behaviour!r}; "
                                 f"one of {sorted(PARTNER_KINDS)}")
            behaviour = PartnerBehaviour(kind=behaviour)
        self._behaviours[name] = behaviour

    def behaviour(self, name: str) -> PartnerBehaviour:
        return self._behaviours.get(name) or PartnerBehaviour()

    def _rng(self, name: str) -> random.Random:
        count = self._dials.get(name, 0)
        self._dials[name] = count + 1
        return random.Random(f"{self.kernel.seed}:partner:{name}:{count}")

    # ---------------------------------------------------------------- the dialplan

    def goto(self, call: Call, exten: str, priority: int) -> bool:
        """A Redirect into ``[acd-overflow]``."""
        return enter_at_priority_1(self.start, call, exten, priority)

    def start(self, call: Call, partner: str) -> None:
        """The caller enters ``acd-overflow,<partner>,1``."""
        ev, names, trunk = self.kernel.events, self.kernel.names, call.trunk
        ctx = names.overflow_context
        if not DIAL_EXTEN.fullmatch(partner):
            self.teardown.trunk_hangs_up(
                call, by="router-action", cause=0,
                reason=f"redirected to missing extension {ctx},{partner},1")
            return
        call.phase = Phase.OVERFLOWING
        call.dial = None
        call.partner = None
        trying = names.overflow_trying_event
        ev.step(trunk, ctx, partner, 1, "UserEvent", f"{trying},Partner: {partner}")
        ev.user_event(trunk, trying, [("Partner", partner)])
        dial_string = resource_guard(ev, trunk, ctx, partner, names.partner_dial_var)
        if dial_string is None:
            self._returned(call, partner, "INVALIDARGS")
            return
        ev.step(trunk, ctx, partner, 3, "Set", "__DYNAMIC_FEATURES=")
        ev.varset(trunk, "__DYNAMIC_FEATURES", "")
        ring = self.kernel.variable(trunk, names.partner_ring_var)
        ev.step(trunk, ctx, partner, 4, "Dial", f"{dial_string},{ring},g")
        for var in DIAL_VARS:
            ev.varset(trunk, var, "")
        behaviour = self.behaviour(partner)
        talk_s = behaviour.talk_time(self._rng(partner))
        tech, _, resource = dial_string.partition("/")
        if behaviour.kind == "unavailable":
            self._unavailable(call, partner, tech, resource)
            return
        pd = self._legs(call, partner, tech, resource)
        call.partner = pd
        if pd.inner is not None:
            ev.local_bridge(pd.outer, pd.inner, pd.inner.context, pd.inner.exten)
        ev.dial_begin(trunk, pd.outer, resource)
        if behaviour.kind in _REFUSALS:
            self._refused(call, pd, behaviour.kind.upper(), _REFUSALS[behaviour.kind])
            return
        ev.newstate(pd.outer, RINGING)
        ev.varset(trunk, "RINGTIME", "0")
        ev.varset(trunk, "RINGTIME_MS", "0")
        ev.dial_state(trunk, pd.outer, "RINGING")
        ring_s = ring_seconds(ring)
        if ring_s is not None:
            self.kernel.after(call, ring_s, lambda: self._ring_timeout(call, pd))
        answer_s, ender = behaviour.answer_after_s, behaviour.ender
        if behaviour.kind == "answer" and (ring_s is None or answer_s < ring_s):
            self.kernel.after(call, answer_s, lambda: self._answered(call, pd, talk_s, ender))

    def _legs(self, call: Call, partner: str, tech: str, resource: str) -> PartnerDial:
        outer, inner = self.legs.dial_legs(call, tech, resource,
                                           roles=("partner", "partner-local"),
                                           context=self.kernel.options.partner_trunk_context)
        return PartnerDial(partner=partner, dial_string=resource, outer=outer, inner=inner,
                           started=self.kernel.clock.now())

    def _unavailable(self, call: Call, partner: str, tech: str, resource: str) -> None:
        """CHANUNAVAIL: a Local pair is created and hung up at once (recording 06);
        a trunk channel is not created at all. No DialBegin/DialEnd either way."""
        if tech.lower() == "local":
            pd = self._legs(call, partner, tech, resource)
            why = f"partner {partner} unavailable (CHANUNAVAIL)"
            assert pd.inner is not None
            self.kernel.gone(pd.inner, 0, "pbx", why)
            self.kernel.gone(pd.outer, 0, "pbx", why)
        self.kernel.events.varset(call.trunk, "DIALSTATUS", "CHANUNAVAIL")
        self._returned(call, partner, "CHANUNAVAIL")

    def _refused(self, call: Call, pd: PartnerDial, status: str, cause: int) -> None:
        """BUSY or CONGESTION, right after DialBegin."""
        ev = self.kernel.events
        if pd.inner is not None:
            ev.newstate(pd.inner, BUSY)
        ev.varset(call.trunk, "DIALSTATUS", status)
        ev.dial_end(call.trunk, pd.outer, status)
        self.legs.hang_up_unanswered(pd, cause=0, inner_cause=cause, by="pbx",
                                     reason=f"partner {pd.partner}: {status}", release=False)
        self._returned(call, pd.partner, status)

    def _ring_timeout(self, call: Call, pd: PartnerDial) -> None:
        if call.partner is not pd or call.phase is not Phase.OVERFLOWING:
            return
        self.kernel.cancel_timers(call)
        self.kernel.events.varset(call.trunk, "DIALSTATUS", "NOANSWER")
        self.kernel.events.dial_end(call.trunk, pd.outer, "NOANSWER")
        self.legs.hang_up_unanswered(pd, cause=0, by="pbx",
                                     reason=f"partner {pd.partner}: ring time-out")
        self._returned(call, pd.partner, "NOANSWER")

    def _answered(self, call: Call, pd: PartnerDial, talk_s: float,
                  ender: PartnerEnder) -> None:
        if call.partner is not pd or call.phase is not Phase.OVERFLOWING:
            return
        ev, outer = self.kernel.events, pd.outer
        self.kernel.cancel_timers(call)
        self.kernel.stop_patience(call)
        if pd.inner is not None:
            ev.newstate(pd.inner, UP)
        ev.newstate(outer, UP)
        self.legs.bridge_answered(call, pd, app_dial_step=False)
        call.phase = Phase.WITH_PARTNER
        self.kernel.after(call, talk_s, lambda: self._talk_over(call, pd, ender))

    def _talk_over(self, call: Call, pd: PartnerDial, ender: PartnerEnder) -> None:
        if call.partner is not pd or call.phase is not Phase.WITH_PARTNER:
            return
        if ender == "partner":
            self._partner_ends(call, pd, by="pbx", reason=f"partner {pd.partner} ended the call")
        else:
            self.teardown.caller_hangs_up(
                call, by="caller", cause=16,
                reason=f"caller ended the call with partner {pd.partner}")

    def _partner_ends(self, call: Call, pd: PartnerDial, *, by: HangupBy, reason: str) -> None:
        self.teardown.far_end_hangs_up(call, pd, by=by, reason=reason,
                                       dial_returned=lambda: self._returned(call, pd.partner,
                                                                            "ANSWER"))

    def partner_leg_hung_up(self, call: Call, *, by: HangupBy, reason: str,
                            cause: int) -> None:
        """A partner leg is hung up from outside (AMI Hangup): the partner ended the
        call if it had answered, else Dial sees NOANSWER."""
        pd = call.partner
        if pd is None:
            return
        if call.phase is Phase.WITH_PARTNER and pd.bridge is not None:
            self._partner_ends(call, pd, by=by, reason=reason)
            return
        self.kernel.cancel_timers(call)
        self.kernel.events.varset(call.trunk, "DIALSTATUS", "NOANSWER")
        self.kernel.events.dial_end(call.trunk, pd.outer, "NOANSWER")
        self.legs.hang_up_unanswered(pd, cause=cause, by=by, reason=reason)
        self._returned(call, pd.partner, "NOANSWER")

    def _returned(self, call: Call, partner: str, status: str) -> None:
        """``Dial`` returned with the caller still there: AcdOverflowEnd, then back to
        holding, or ``Hangup()`` after an answered call."""
        ev, names, trunk = self.kernel.events, self.kernel.names, call.trunk
        ctx, end = names.overflow_context, names.overflow_end_event
        call.partner = None
        ev.step(trunk, ctx, partner, 5, "UserEvent",
                f"{end},Partner: {partner},DialStatus: {status}")
        ev.user_event(trunk, end, [("Partner", partner), ("DialStatus", status)])
        ev.step(trunk, ctx, partner, 6, "GotoIf", '$["${DIALSTATUS}" = "ANSWER"]?answered')
        if status == "ANSWER":
            ev.step(trunk, ctx, partner, 8, "Hangup")
            return
        ev.step(trunk, ctx, partner, 7, "Goto",
                f"{names.holding_context},{names.holding_exten},1")
        self.kernel.goto(call, names.holding_context, names.holding_exten, 1)
