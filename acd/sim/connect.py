"""``[acd-connect]``: the router offers a waiting caller to an agent.

``AcdConnecting``, then ``Dial(${ACD_DIAL},${ACD_RING},gt)``. ``ACD_DIAL`` must be the
``device`` of a configured agent (``Local/1001@agents`` gives a Local pair,
``PJSIP/arm01`` one channel). The agent's behaviour object decides: answer after a
delay, ring unanswered until ``ACD_RING`` (channel variable, else global, default 15),
busy, or unavailable. A device that already has a call is busy. Answered → bridge; not
answered/busy/unavailable/no ``ACD_DIAL`` → ``AcdDialEnd`` and back to ``[holding]``;
the agent ends the call → ``AcdDialEnd`` ``ANSWER`` and the dialplan hangs the caller
up. The native queue's ``Queue()`` (:mod:`acd.sim.failopen`) dials members the same way.
"""

from __future__ import annotations

import functools

from acd.config import DialplanNames
from acd.sim.behaviour import TRANSFER_TARGET
from acd.sim.dialplan import DIAL_EXTEN, DIAL_VARS, resource_guard, ring_seconds
from acd.sim.kernel import Kernel, enter_at_priority_1
from acd.sim.legs import Legs
from acd.sim.model import (
    ANSWERED_ELSEWHERE,
    BUSY,
    RINGING,
    UP,
    Call,
    Dial,
    HangupBy,
    OfferOutcome,
    Phase,
)
from acd.sim.teardown import Teardown
from acd.sim.transfer import AGENT_FEATURES, press_transfer_code


def connect_exten(names: DialplanNames) -> str:
    """acd-connect's legacy extension (``[dialplan] connect_exten``, default ``s``)."""
    return str(getattr(names, "connect_exten", "s"))


class Connect:
    """The ``[acd-connect]`` context and the agent side of its ``Dial``.

    The other contexts it leads to are reached by name through the kernel: a Dial
    made by the native queue's ``Queue()`` or ``[acd-warm-bridge]``'s ``Bridge()``
    returns to them (:class:`~acd.sim.kernel.DialCaller`), and the dialplan's
    ``Goto(holding,s,1)`` enters whatever context is registered as ``holding``.
    """

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.legs = Legs(kernel)
        self.teardown = Teardown(kernel, self.legs)

    def goto(self, call: Call, exten: str, priority: int) -> bool:
        """A Redirect into ``[acd-connect]``."""
        return enter_at_priority_1(self.run, call, exten, priority)

    def run(self, call: Call, exten: str) -> None:
        """``acd-connect,<exten>,1``: the agent id as extension, or ``s``."""
        kernel = self.kernel
        ev, names, trunk = kernel.events, kernel.names, call.trunk
        ctx, s = names.connect_context, connect_exten(names)
        call.phase = Phase.DIALLING
        call.dial = None
        if exten != s:
            if not DIAL_EXTEN.fullmatch(exten):
                self.teardown.trunk_hangs_up(
                    call, by="router-action", cause=0,
                    reason=f"redirected to missing extension {ctx},{exten},1")
                return
            ev.step(trunk, ctx, exten, 1, "Set", f"{names.agent_var}={exten}")
            ev.varset(trunk, names.agent_var, exten, always=True)
            ev.step(trunk, ctx, exten, 2, "Goto", f"{ctx},{s},1")
        agent = trunk.variables.get(names.agent_var, "")
        ev.step(trunk, ctx, s, 1, "UserEvent", f"{names.connecting_event},Agent: {agent}")
        ev.user_event(trunk, names.connecting_event, [("Agent", agent)])
        dial_string = resource_guard(ev, trunk, ctx, s, names.dial_var)
        if dial_string is None:
            self.dial_returned(call, "INVALIDARGS")
            return
        ev.step(trunk, ctx, s, 3, "Set", f"__DYNAMIC_FEATURES={AGENT_FEATURES}")
        ev.varset(trunk, "__DYNAMIC_FEATURES", AGENT_FEATURES)
        ring = kernel.variable(trunk, names.ring_var)
        ev.step(trunk, ctx, s, 4, "Dial", f"{dial_string},{ring},gt")
        for var in DIAL_VARS:
            ev.varset(trunk, var, "")
        self.start_dial(call, dial_string, ring_seconds(ring))

    def start_dial(self, call: Call, dial_string: str, ring_s: float | None) -> None:
        """Dial an agent's device from the caller's channel (also ``Queue()``'s).

        ``PJSIP/a&PJSIP/b`` rings every phone at once, as ``app_dial`` does: a
        ``DialBegin`` each, a busy one ends alone (``DialEnd`` BUSY) while the others
        ring; the first to answer takes the caller, the others get ``DialEnd`` CANCEL
        and are hung up (cause 26, answered elsewhere); at the ring time-out every
        phone still ringing gets ``DialEnd`` NOANSWER. The n-th phone rung for a caller
        draws what its n-th offer would (:meth:`Kernel.offer_outcome`)."""
        kernel = self.kernel
        if call.first_dialled is None:
            call.first_dialled = kernel.clock.now()
        dials: list[Dial] = []
        for device in dial_string.split("&"):
            agent = kernel.by_device.get(device)
            if agent is None:
                continue  # ast_request fails: no channel, no DialBegin
            busy = device in kernel.device_dials or any(d.device == device for d in dials)
            outcome = OfferOutcome(kind="busy") if busy else kernel.offer_outcome(call, agent)
            if outcome.kind != "unavailable":
                dials.append(self.legs.agent_legs(call, agent, outcome))
        for dial in dials:
            kernel.events.dial_begin(call.trunk, dial.outer, dial.dial_string)
        single = len(dials) == 1
        ringing = [dial for dial in dials if not self._busy(call, dial, single=single)]
        if not ringing:
            status = "BUSY" if dials else "CHANUNAVAIL"
            if not single:
                kernel.events.varset(call.trunk, "DIALSTATUS", status)
            self.dial_returned(call, status)
            return
        call.dial, call.also_ringing = ringing[0], ringing[1:]
        for n, dial in enumerate(ringing):
            self._ring(call, dial, first=n == 0)
        if ring_s is not None:
            kernel.after(call, ring_s, lambda: self._ring_timeout(call))
        for dial in ringing:
            answer_s = dial.outcome.answer_after_s
            if dial.outcome.kind == "answer" and (ring_s is None or answer_s < ring_s):
                kernel.after(call, answer_s, functools.partial(self._agent_answers, call, dial))

    def _ring(self, call: Call, dial: Dial, *, first: bool) -> None:
        kernel = self.kernel
        ev, trunk = kernel.events, call.trunk
        kernel.device_dials[dial.device] = dial
        inner = dial.inner
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 1, "NoOp",
                    f"agent {inner.exten} ringing")
            ev.step(inner, inner.context, inner.exten, 2, "Ringing")
        ev.newstate(dial.outer, RINGING)
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 3, "Wait",
                    f"{dial.outcome.answer_after_s:g}")
        ev.device(dial.device, "INUSE" if dial.device.startswith("Local/") else "RINGING")
        if first:
            ev.varset(trunk, "RINGTIME", "0")
            ev.varset(trunk, "RINGTIME_MS", "0")
        ev.dial_state(trunk, dial.outer, "RINGING")

    def _busy(self, call: Call, dial: Dial, *, single: bool) -> bool:
        """A phone that answers busy ends its own part of the Dial (True)."""
        if dial.outcome.kind != "busy":
            return False
        ev = self.kernel.events
        if dial.inner is not None:
            ev.step(dial.inner, dial.inner.context, dial.inner.exten, 2, "Busy")
            ev.newstate(dial.inner, BUSY)
        if single:
            ev.varset(call.trunk, "DIALSTATUS", "BUSY")
        ev.dial_end(call.trunk, dial.outer, "BUSY")
        self.legs.hang_up_unanswered(dial, cause=0, inner_cause=17, by="agent",
                                     reason="agent device busy", release=False)
        return True

    def _ring_timeout(self, call: Call) -> None:
        dial = call.dial
        if call.phase is not Phase.DIALLING or dial is None:
            return
        self.kernel.cancel_timers(call)
        self.kernel.events.varset(call.trunk, "DIALSTATUS", "NOANSWER")
        ringing = call.ringing_dials()
        call.also_ringing = []
        for each in ringing:
            self.kernel.events.dial_end(call.trunk, each.outer, "NOANSWER")
        for each in ringing:
            self.legs.hang_up_unanswered(each, cause=0, by="pbx", reason="ring time-out")
        self.dial_returned(call, "NOANSWER")

    def _agent_answers(self, call: Call, dial: Dial) -> None:
        if call.phase is not Phase.DIALLING or dial not in call.ringing_dials():
            return
        kernel = self.kernel
        ev, outer, inner = kernel.events, dial.outer, dial.inner
        others = [each for each in call.ringing_dials() if each is not dial]
        call.dial, call.also_ringing = dial, []
        kernel.cancel_timers(call)
        kernel.stop_patience(call)
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 4, "Answer")
            ev.newstate(inner, UP)
            ev.device(dial.device, "INUSE", repeat=2)
        ev.newstate(outer, UP)
        ev.device(dial.device, "INUSE", repeat=2)
        for other in others:  # app_dial: the others are told first, then hung up
            ev.dial_end(call.trunk, other.outer, "CANCEL")
        for other in others:
            self.legs.hang_up_unanswered(other, cause=ANSWERED_ELSEWHERE, by="pbx",
                                         reason="answered elsewhere")
        self.legs.bridge_answered(call, dial, app_dial_step=inner is not None)
        if call.native_queue:
            kernel.dial_caller(kernel.names.failopen_context).dial_answered(call, dial)
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 5, "Wait", f"{dial.outcome.talk_s:g}")
        call.phase = Phase.TALKING
        ender = dial.outcome.ender
        kernel.after(call, dial.outcome.talk_s, lambda: self.talk_over(call, ender))

    def talk_over(self, call: Call, ender: str) -> None:
        """The agent's behaviour ends the conversation: a transfer, or a hangup."""
        dial = call.dial
        if call.phase is not Phase.TALKING or dial is None:
            return
        target = dial.outcome.transfer_to
        if target is not None and TRANSFER_TARGET.fullmatch(target):
            self.transfer(dial.agent_id, target,
                          give_up_after_s=self.kernel.options.transfer_give_up_s)
            return
        if ender == "agent":
            self.agent_hangs_up(call, by="agent", reason="agent ended the conversation")
        else:
            self.teardown.caller_hangs_up(call, by="caller",
                                          reason="caller ended the conversation", cause=16)

    def dial_returned(self, call: Call, status: str) -> None:
        """``Dial`` returned with the caller still there: AcdDialEnd, then the dialplan."""
        names = self.kernel.names
        if call.native_queue:
            self.kernel.dial_caller(names.failopen_context).dial_returned(call, status)
            return
        if call.trunk.context == names.warm_bridge_context:
            self.kernel.dial_caller(names.warm_bridge_context).dial_returned(call, status)
            return
        call.dial = None
        self.dial_end(call, names.connect_context, connect_exten(names), 5, status)

    def dial_end(self, call: Call, ctx: str, exten: str, priority: int, status: str) -> None:
        """The tail shared by ``[acd-connect]`` and ``[acd-warm-bridge]``, from
        ``priority``: ``AcdDialEnd``, ``GotoIf`` on ``ANSWER``, then ``Goto(holding)``
        (+2) or ``Hangup()`` (+3, the ``answered`` label)."""
        ev, names, trunk = self.kernel.events, self.kernel.names, call.trunk
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
        self.kernel.goto(call, names.holding_context, names.holding_exten, 1)

    def transfer(self, agent_id: str, target: str, *,
                 give_up_after_s: float | None = None) -> bool:
        """The agent presses a transfer code (see :meth:`acd.sim.pbx.Pbx.agent_transfer`)."""
        return press_transfer_code(self.kernel, agent_id, target,
                                   give_up_after_s=give_up_after_s,
                                   give_up=self._transfer_not_taken_up)

    def _transfer_not_taken_up(self, call: Call) -> None:
        self.agent_hangs_up(
            call, by="agent", reason="agent hung up: the router did not take up its transfer")

    def agent_hangs_up(self, call: Call, *, by: HangupBy, reason: str) -> None:
        """The agent ends a bridged call: Dial returns ANSWER, the dialplan hangs up."""
        dial = call.dial
        if dial is None or dial.bridge is None:
            return
        self.teardown.far_end_hangs_up(call, dial, by=by, reason=reason,
                                       dial_returned=lambda: self.dial_returned(call, "ANSWER"))

    def agent_leg_drops_while_ringing(self, call: Call, *, by: HangupBy, reason: str,
                                      cause: int, channel: str | None = None) -> None:
        """An agent leg (``channel``; None: the first phone) is hung up before it
        answered: that phone's ``DialEnd`` NOANSWER; ``Dial`` returns NOANSWER when it
        was the last phone ringing."""
        ringing = call.ringing_dials()
        dial = next((each for each in ringing if channel is None
                     or channel in (leg.name for leg in each.legs())), None)
        if dial is None:
            return
        events = self.kernel.events
        if len(ringing) > 1:
            call.also_ringing = [each for each in ringing[1:] if each is not dial]
            call.dial = ringing[0] if ringing[0] is not dial else ringing[1]
            events.dial_end(call.trunk, dial.outer, "NOANSWER")
            self.legs.hang_up_unanswered(dial, cause=cause, by=by, reason=reason)
            return
        self.kernel.cancel_timers(call)
        events.varset(call.trunk, "DIALSTATUS", "NOANSWER")
        events.dial_end(call.trunk, dial.outer, "NOANSWER")
        self.legs.hang_up_unanswered(dial, cause=cause, by=by, reason=reason)
        self.dial_returned(call, "NOANSWER")
