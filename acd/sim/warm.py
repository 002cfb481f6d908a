"""``[acd-warm]`` and ``[acd-warm-bridge]``: warm transfers (see :class:`WarmTransfers`)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from acd.config.dialplan_defaults import DIALPLAN
from acd.sim.clock import SimTimer
from acd.sim.connect import Connect
from acd.sim.dialplan import DIAL_EXTEN
from acd.sim.kernel import Kernel
from acd.sim.legs import Legs
from acd.sim.model import (
    BUSY,
    RINGING,
    UP,
    Bridge,
    Call,
    Channel,
    Dial,
    HangupBy,
    OfferOutcome,
    Phase,
)
from acd.sim.transfer import AGENT_FEATURES

#: globals_acd.conf's ACD_WARM_HOLD: seconds an answered target waits for the caller
WARM_HOLD_S = float(DIALPLAN.warm_hold_s)

#: the dummy channel on which Asterisk runs a context's ``failed`` extension
FAILED_CHANNEL = "OutgoingSpoolFailed"


@dataclass(frozen=True)
class _FailedOriginate:
    """What the answer to a failed Originate of a target agent carries."""

    action_id: str | None
    device: str
    exten: str
    caller_id: tuple[str, str]
    call_id: str


class WarmTransfers:
    """Warm transfers: ``Originate`` of a target agent into ``[acd-warm]``, and
    ``[acd-warm-bridge]``, which joins the caller to that agent with ``Bridge()``.

    No recording shows these actions and applications, so this follows Asterisk's
    documentation (see ``dialplans/README.md``, "Cold and warm"):

    * An ``Async`` ``Originate`` answers ``Success`` at once. The agent's device rings
      (a Local pair ``;1``/``;2``, or one channel): DialBegin and DialEnd carry only the
      ``Dest*`` block, as for the ``Originate`` of transcript 02. Unreachable, busy or
      not answered within ``Timeout`` (ms): an ``OriginateResponse`` ``Failure`` with
      the Originate's ActionID names the channel as asked (the device) with ``Reason``
      0, 5 or 3, the legs go and ``[acd-warm]``'s ``failed`` extension runs on a dummy
      channel (live t3-06e, t3-06f; see :meth:`_failure`). A busy phone (``Busy()``,
      SIP 486, or a device already in a call) answers within the millisecond:
      DialBegin, ``DialEnd`` ``BUSY``, then ``Reason: 5`` (:meth:`_busy`). A target
      that does not answer sends no DialEnd: its ``;2`` is asked to hang up (cause
      19), then ``Reason: 3`` (:meth:`_not_answered`).
      Answered: ``OriginateResponse`` ``Success`` (reason 4), then the answered
      channel runs ``[acd-warm]``: ``AcdWarmAnswered`` (``Agent``, ``Call``) and music
      for ``ACD_WARM_HOLD`` seconds, after which that agent channel is hung up.
    * ``[acd-warm-bridge]`` (a Redirect of the caller, which first takes it out of the
      first agent's bridge as every Redirect does): ``Bridge(${ACD_WARM_PEER},x)``.
      With the peer waiting in ``[acd-warm]`` the two are bridged and talk for the
      agent's talk time; the end of the conversation is the end of an agent's Dial
      (``AcdDialEnd`` ``ANSWER``, the dialplan hangs the caller up). Without a live
      peer, ``AcdDialEnd`` says ``NONEXISTENT`` (or ``INVALIDARGS`` with no
      ``ACD_WARM_PEER``) and the caller goes back to ``[holding]``.

    The agent's ring and answer do not depend on the caller: a caller who hangs up
    while the target rings leaves it ringing. An ``Originate`` for a call the PBX does
    not know (already gone) fails at once with reason 0 (a simplification: Asterisk
    would still ring the agent).
    """

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.legs = Legs(kernel)
        #: the dialplan's [acd-warm] has no ``failed`` extension of its own, so its
        #: agent pattern runs for a failed Originate (the first dialplan, live 06e/06f)
        self.failed_runs_pattern = False
        #: target agents' Originate legs not yet bridged, by the outer channel's name
        self._pending: dict[str, Dial] = {}
        self._timers: dict[str, SimTimer] = {}

    # ---------------------------------------------------------------- Originate

    def originate(self, channel: str, context: str, exten: str,
                  variables: Mapping[str, str], timeout_ms: int, action_id: str | None,
                  caller_id: tuple[str, str]) -> bool:
        """AMI ``Originate`` of an agent's device into ``[acd-warm]``; False when it is
        not one (the caller of this answers the generic failure)."""
        kernel, names = self.kernel, self.kernel.names
        agent = kernel.by_device.get(channel)
        if context != names.warm_context or agent is None:
            return False
        call_id = variables.get(names.warm_call_var, "")
        # the newest first: a call being transferred is among the last placed
        call = next((c for c in reversed(kernel.calls)
                     if c.trunk.uniqueid == call_id and c.phase is not Phase.GONE), None)
        failed = _FailedOriginate(action_id, channel, exten, caller_id, call_id)
        if call is None:
            self._failure(failed, "0")
            return True
        in_a_call = channel in kernel.device_dials
        outcome = OfferOutcome(kind="busy") if in_a_call \
            else kernel.offer_outcome(call, agent)
        if outcome.kind == "unavailable":
            self._failure(failed, "0")
            return True
        dial = self.legs.agent_legs(call, agent, outcome, inherit=False)
        dial.outer.cid_name, dial.outer.cid_num = caller_id
        for name, value in variables.items():  # Originate's Variable: on its channel
            kernel.events.varset(dial.outer, name, value)
        if outcome.kind == "busy":
            self._busy(dial, failed, in_a_call=in_a_call)
            return True
        kernel.device_dials[dial.device] = dial
        self._pending[dial.outer.name] = dial
        ev, inner = kernel.events, dial.inner
        ev.dial_begin(None, dial.outer, dial.dial_string)
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 1, "NoOp", f"agent {inner.exten} ringing")
            ev.step(inner, inner.context, inner.exten, 2, "Ringing")
        ev.newstate(dial.outer, RINGING)
        ev.device(dial.device, "INUSE" if dial.device.startswith("Local/") else "RINGING")
        ring_s = timeout_ms / 1000 if timeout_ms > 0 else 30.0
        if outcome.kind == "answer" and outcome.answer_after_s < ring_s:
            self._later(dial, outcome.answer_after_s,
                        lambda: self._answered(dial, exten, call_id, action_id))
        else:
            self._later(dial, ring_s, lambda: self._not_answered(dial, failed))
        return True

    def _later(self, dial: Dial, delay: float, action: Callable[[], None]) -> None:
        name = dial.outer.name
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(name, None)
            if dial.outer.alive:
                action()

        self._timers[name] = self.kernel.clock.call_later(delay, fire)

    def _busy(self, dial: Dial, failed: _FailedOriginate, *, in_a_call: bool) -> None:
        """The target's phone answers busy, as recorded in live t3-06f (``Busy()`` in
        the agent's context): the ``;2`` goes Busy, DialBegin and ``DialEnd BUSY``
        (``Dest*`` only), ``OriginateResponse`` ``Reason: 5`` within the millisecond,
        the Local device shown in use, the legs hung up (``;2`` cause 17), the
        ``failed`` extension, the device free again. A SIP phone's ``486 Busy Here``
        (live t3-23) is one channel asked to hang up with cause 17 and no device state.
        A device already in a call keeps its state."""
        kernel = self.kernel
        ev, outer, inner = kernel.events, dial.outer, dial.inner
        why = "warm transfer target busy"
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 2, "Busy")
            ev.newstate(inner, BUSY)
        else:
            ev.hangup_request(outer, 17)
        ev.dial_begin(None, outer, dial.dial_string)
        ev.dial_end(None, outer, "BUSY")
        shown = inner is not None and not in_a_call

        def legs_go() -> None:
            if shown:
                ev.device(dial.device, "INUSE")
            if inner is None:
                kernel.gone(outer, 17, "agent", why)
                return
            ev.hangup_request(inner, 0)
            ev.soft_hangup_request(inner, 16)
            kernel.gone(inner, 17, "agent", why)
            kernel.gone(outer, 0, "agent", why)

        def device_free() -> None:
            if shown:
                ev.device(dial.device, "NOT_INUSE", repeat=2)

        self._failure(failed, "5", legs_go=legs_go, then=device_free)

    def _not_answered(self, dial: Dial, failed: _FailedOriginate) -> None:
        """``Timeout`` is over (live t3-06e): no DialEnd; the ``;2`` is asked to hang up
        (cause 19), the answer comes, then the legs go and the device is free."""
        self._pending.pop(dial.outer.name, None)
        kernel = self.kernel
        ev, outer, inner = kernel.events, dial.outer, dial.inner
        why = "warm transfer target did not answer"
        ev.hangup_request(inner or outer, 19)

        def legs_go() -> None:
            if inner is not None:
                ev.soft_hangup_request(inner, 16)
                kernel.gone(inner, 19, "pbx", why)
            kernel.gone(outer, 19, "pbx", why)

        self._failure(failed, "3", legs_go=legs_go,
                      then=lambda: self.legs.release_device(dial))

    def _failure(self, failed: _FailedOriginate, reason: str, *,
                 legs_go: Callable[[], None] | None = None,
                 then: Callable[[], None] | None = None) -> None:
        """The Originate failed (``Reason`` 3 no answer, 5 busy, 0 unreachable).

        Asterisk runs the context's ``failed`` extension on a dummy channel
        ``OutgoingSpoolFailed`` (caller ID of the Originate, state Down). With the
        shipped ``[acd-warm]`` (``exten => failed,1,Hangup()``) the
        ``OriginateResponse`` ``Failure`` comes first, then the target's legs go
        (``legs_go``), then the dummy, then the device is free (``then``): live t3-06e
        and t3-06f. With :attr:`failed_runs_pattern` (the first dialplan, whose pattern
        matched ``failed``: live 06e, 06f) the dummy runs the agent's steps: a bogus
        ``AcdWarmAnswered`` with ``Agent: failed``, then ``ACD_WARM_HOLD`` seconds of
        music, and only then the answer.
        """
        if not self.failed_runs_pattern:
            self._failure_response(failed, reason)
        if legs_go is not None:
            legs_go()
        kernel, ctx = self.kernel, self.kernel.names.warm_context
        ev = kernel.events
        dummy = kernel.new_channel(FAILED_CHANNEL, "agent", tech="OutgoingSpoolFailed")
        kernel.channels.pop(FAILED_CHANNEL, None)  # Asterisk lets several share the name
        dummy.cid_name, dummy.cid_num = failed.caller_id
        dummy.goto(ctx, "failed", 1)
        ev.newchannel(dummy)
        if not self.failed_runs_pattern:
            ev.step(dummy, ctx, "failed", 1, "Hangup")
            self._failed_over(dummy, failed, reason, 1)
            if then is not None:
                then()
            return
        if then is not None:
            then()
        ev.step(dummy, ctx, "failed", 1, "Set", f"DYNAMIC_FEATURES={AGENT_FEATURES}")
        ev.step(dummy, ctx, "failed", 2, "UserEvent",
                f"{kernel.names.warm_answered_event},Agent: failed,Call: {failed.call_id}")
        ev.user_event(dummy, kernel.names.warm_answered_event,
                      [("Agent", "failed"), ("Call", failed.call_id)])
        delay = self._hold_music(dummy, "failed")
        ev.moh_stop(dummy)  # a Down channel: the music stops at once, the wait does not
        kernel.clock.call_later(delay, lambda: self._failed_over(dummy, failed, reason, 4))

    def _failure_response(self, failed: _FailedOriginate, reason: str) -> None:
        """``OriginateResponse`` ``Failure`` with the ``Reason`` given."""
        headers = [("ActionID", failed.action_id)] if failed.action_id else []
        self.kernel.events.emit("OriginateResponse", [
            *headers, ("Response", "Failure"), ("Channel", failed.device),
            ("Context", self.kernel.names.warm_context), ("Exten", failed.exten),
            ("Reason", reason), ("Uniqueid", "<unknown>"),
            ("CallerIDNum", failed.caller_id[1]), ("CallerIDName", failed.caller_id[0])])

    def _failed_over(self, dummy: Channel, failed: _FailedOriginate, reason: str,
                     priority: int) -> None:
        """The ``failed`` extension ends at ``priority``: the dummy channel goes (the
        answer comes just before, when the agent's pattern ran)."""
        dummy.goto(self.kernel.names.warm_context, "failed", priority)
        self.kernel.events.soft_hangup_request(dummy, 16)
        if self.failed_runs_pattern:
            self._failure_response(failed, reason)
        self.kernel.gone(dummy, 16, "pbx", "[acd-warm] failed extension over")

    def _hold_music(self, ch: Channel, exten: str) -> float:
        """``MusicOnHold(${ACD_MOH},${ACD_WARM_HOLD})`` at priority 3 of ``[acd-warm]``:
        the music starts; the seconds it plays."""
        kernel = self.kernel
        music = kernel.globals.get("ACD_MOH", "default")
        hold = kernel.variable(ch, "ACD_WARM_HOLD") or str(WARM_HOLD_S)
        kernel.events.step(ch, kernel.names.warm_context, exten, 3, "MusicOnHold",
                           f"{music},{hold}")
        kernel.events.moh_start(ch, music)
        return float(hold) if hold.replace(".", "", 1).isdigit() else WARM_HOLD_S

    def _answered(self, dial: Dial, exten: str, call_id: str, action_id: str | None) -> None:
        kernel, names = self.kernel, self.kernel.names
        ev, outer, inner = kernel.events, dial.outer, dial.inner
        if inner is not None:
            ev.step(inner, inner.context, inner.exten, 4, "Answer")
            ev.newstate(inner, UP)
        ev.newstate(outer, UP)
        ev.device(dial.device, "INUSE", repeat=2)
        ev.dial_end(None, outer, "ANSWER")
        dial.answered_at = kernel.clock.now()
        self._response(action_id, outer.name, "Success", "4", outer)
        ctx = names.warm_context
        ev.step(outer, ctx, exten, 1, "Set", f"DYNAMIC_FEATURES={AGENT_FEATURES}")
        ev.varset(outer, "DYNAMIC_FEATURES", AGENT_FEATURES)
        ev.step(outer, ctx, exten, 2, "UserEvent",
                f"{names.warm_answered_event},Agent: {exten},Call: {call_id}")
        ev.user_event(outer, names.warm_answered_event, [("Agent", exten), ("Call", call_id)])
        self._later(dial, self._hold_music(outer, exten),
                    lambda: self._nobody_came(dial, exten))

    def _nobody_came(self, dial: Dial, exten: str) -> None:
        """``ACD_WARM_HOLD`` is over without the caller: ``Hangup()`` of the agent."""
        self._pending.pop(dial.outer.name, None)
        ev = self.kernel.events
        ev.moh_stop(dial.outer)
        ev.step(dial.outer, self.kernel.names.warm_context, exten, 4, "Hangup")
        self._hang_up(dial, by="pbx", reason="[acd-warm]: the caller never came")

    def _hang_up(self, dial: Dial, *, by: HangupBy, reason: str) -> None:
        kernel = self.kernel
        ev = kernel.events
        ev.soft_hangup_request(dial.outer, 16)
        kernel.gone(dial.outer, 16, by, reason)
        if dial.inner is not None:
            ev.soft_hangup_request(dial.inner, 16)
            kernel.gone(dial.inner, 16, by, reason)
        self.legs.release_device(dial)

    def _response(self, action_id: str | None, channel: str, response: str, reason: str,
                  created: Channel | None = None) -> None:
        headers = [("ActionID", action_id)] if action_id else []
        self.kernel.events.emit("OriginateResponse", [
            *headers, ("Response", response), ("Channel", channel),
            ("Context", self.kernel.names.warm_context), ("Exten", ""), ("Reason", reason),
            ("Uniqueid", created.uniqueid if created is not None else "<null>"),
            ("CallerIDNum", created.cid_num if created is not None else "<unknown>"),
            ("CallerIDName", created.cid_name if created is not None else "<unknown>")])

    # ---------------------------------------------------------------- the caller's side

    def owns(self, ch: Channel) -> bool:
        """Whether ``ch`` is a leg of a target agent not bridged with its caller yet."""
        return any(ch is d.outer or ch is d.inner for d in self._pending.values())

    def hang_up(self, ch: Channel, *, by: HangupBy, reason: str) -> None:
        """AMI Hangup (or the agent) of a pending target's leg."""
        dial = next(d for d in self._pending.values() if ch is d.outer or ch is d.inner)
        del self._pending[dial.outer.name]
        timer = self._timers.pop(dial.outer.name, None)
        if timer is not None:
            timer.cancel()
        if dial.answered_at is None:
            self.kernel.events.dial_end(None, dial.outer, "CANCEL")
        self._hang_up(dial, by=by, reason=reason)

    def goto(self, call: Call, exten: str, priority: int) -> bool:
        """A Redirect into ``[acd-warm-bridge]``; False for a place it does not have."""
        if priority != 1 or not DIAL_EXTEN.fullmatch(exten):
            return False
        self.bridge(call, exten)
        return True

    def bridge(self, call: Call, exten: str) -> None:
        """``[acd-warm-bridge]``, after the Redirect took the caller where it was."""
        kernel, names = self.kernel, self.kernel.names
        ev, trunk, ctx = kernel.events, call.trunk, names.warm_bridge_context
        call.phase = Phase.DIALLING
        call.dial = None
        ev.step(trunk, ctx, exten, 1, "Set", f"{names.agent_var}={exten}")
        ev.varset(trunk, names.agent_var, exten, always=True)
        ev.step(trunk, ctx, exten, 2, "GotoIf", f'$["${{{names.warm_peer_var}}}" = ""]?nopeer')
        peer = trunk.variables.get(names.warm_peer_var, "")
        if not peer:
            ev.step(trunk, ctx, exten, 10, "Set", "DIALSTATUS=INVALIDARGS")
            self.dial_returned(call, "INVALIDARGS")
            return
        ev.step(trunk, ctx, exten, 3, "Bridge", f"{peer},x")
        dial = self._pending.pop(peer, None)
        if dial is None or not dial.outer.alive or dial.answered_at is None:
            ev.varset(trunk, "BRIDGERESULT", "NONEXISTENT")
            ev.step(trunk, ctx, exten, 4, "Set", "DIALSTATUS=${BRIDGERESULT}")
            self.dial_returned(call, "NONEXISTENT")
            return
        timer = self._timers.pop(peer, None)
        if timer is not None:
            timer.cancel()
        ev.varset(trunk, "BRIDGERESULT", "SUCCESS")
        ev.moh_stop(dial.outer)
        bridge = Bridge(uniqueid=str(uuid.UUID(int=random.Random(peer).getrandbits(128),
                                               version=4)))
        dial.bridge = bridge
        ev.bridge_create(bridge)
        ev.bridge_enter(bridge, dial.outer)
        ev.bridge_enter(bridge, trunk)
        ev.bridge_peer(bridge)
        dial.outer.call = call
        call.dial = dial
        call.phase = Phase.TALKING
        if dial.inner is not None:
            ev.step(dial.inner, dial.inner.context, dial.inner.exten, 5, "Wait",
                    f"{dial.outcome.talk_s:g}")
        ender = dial.outcome.ender
        kernel.after(call, dial.outcome.talk_s, lambda: self._connect().talk_over(call, ender))

    def dial_answered(self, call: Call, dial: Dial) -> None:
        """Nothing: ``Bridge()`` joins a target that answered its Originate already."""

    def dial_returned(self, call: Call, status: str) -> None:
        """``Bridge()`` returned with the caller still there (or was not attempted)."""
        kernel, trunk, ctx = self.kernel, call.trunk, self.kernel.names.warm_bridge_context
        call.dial = None
        if status == "ANSWER":
            kernel.events.step(trunk, ctx, trunk.exten, 6, "Set", "DIALSTATUS=ANSWER")
        self._connect().dial_end(call, ctx, trunk.exten, 7, status)

    def _connect(self) -> Connect:
        """``[acd-connect]``, whose Dial's end this context shares."""
        return self.kernel.context(self.kernel.names.connect_context, Connect)

    def stop(self) -> None:
        """Cancel every pending timer (simulator shutdown)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
