"""Overflow to partner SAS and the supervisor's bascule (the policy is
:mod:`acd.core.overflow_rules`).

Overflow, with look-ahead: a call to overflow leaves its queue but keeps its place
(its priority, tier and arrival order). The router sets the partner's dial string on
the caller and Redirects it to the overflow context, which dials the partner trunk.
If the partner answers, the call is *overflowed* (the partner SAS handles it). If it
does not answer, is busy, congested or unreachable — or our action fails, or nothing
happens within its ring time — the call goes back to its original position in the
local queue, the partner is marked down for a while, and the caller hears music again:
never a hang-up.
"""

from __future__ import annotations

from acd.ami import events as ev
from acd.ami import userevents as ue
from acd.ami.actions import Redirect, Setvar
from acd.config import PartnerConfig
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.calls import CallBook, to_holding
from acd.core.constants import ACTION_RETRY_S, FORWARD_PARTNER, OVERFLOW_RETRY_S
from acd.core.context import Context
from acd.core.model import Call, CallState, move_call
from acd.core.offering import Offering
from acd.core.overflow_rules import (
    SITE,
    Bascule,
    ShareCounter,
    overflow_reason,
    pick_partner,
    share_for,
)
from acd.core.state import EngineMeta
from acd.core.timerkind import TimerKind

FAILURES = {"NOANSWER": "noanswer", "BUSY": "busy", "CONGESTION": "congestion",
            "CHANUNAVAIL": "unavailable", "CANCEL": "cancelled"}


class Overflow:
    """Sends calls to partner SAS and follows what comes of it; the bascule."""

    def __init__(self, context: Context, *, calls: CallBook, offering: Offering) -> None:
        self.state, self.fx, self.timers, self.config = context
        self.calls, self.offering = calls, offering
        state = self.state
        state.partners = sorted(self.config.partners, key=lambda p: (p.preference, p.name))
        state.partners_by_name = {p.name: p for p in state.partners}

    def partner_up(self, name: str, now: float | None = None) -> bool:
        """Whether ``name`` may be tried (at ``now``, default the engine's time)."""
        return self.state.partner_down_until.get(name, 0.0) <= (
            self.state.now if now is None else now)

    # ------------------------------------------------------------------ decisions

    def divert(self, call: Call) -> bool:
        """A new call: forward it to its external PDSA destination, or overflow it now
        if the rules or a bascule say so."""
        state = self.state
        if not state.acting:
            return False
        if call.forward_to is not None:
            return self.start(call, "PDSA hours", partner=PartnerConfig(
                name=FORWARD_PARTNER, dial=call.forward_to, down_for_s=60.0,
                ring_timeout_s=60.0))
        if not state.partners:
            return False
        queue = call.queue
        rule = self.config.overflow.get(queue)
        share = share_for(queue, rule, state.bascules)
        counter = state.shares.setdefault(queue, ShareCounter())
        if counter.take(share):
            return self.start(call, f"share {share:.0%} to partners")
        waiting = len(state.queues[queue]) - 1  # the new call is already in
        reason = overflow_reason(rule, waiting=waiting, staffed=state.skill_staffed(queue),
                                 estimated_wait_s=self.calls.estimated_wait(queue))
        if reason is not None and self.no_agent_free(call):
            return self.start(call, reason)
        if rule is not None and rule.max_wait_s is not None:
            self.timers.arm(call.enqueued_at + rule.max_wait_s, TimerKind.OVERFLOW, call.id,
                            call.offer_id)
        return False

    def no_agent_free(self, call: Call) -> bool:
        state = self.state
        return state.selection.pick_agent(call, state.pool,
                                          state.expansion.get(call.queue, []),
                                          state.now) is None

    def _pick(self, queue: str) -> PartnerConfig | None:
        state = self.state
        rule = self.config.overflow.get(queue)
        bascule = state.bascules.get(queue) or state.bascules.get(SITE)
        return pick_partner(state.partners, state.partner_down_until, state.now,
                            allowed=rule.partners if rule else None,
                            preferred=bascule.partner if bascule else None)

    def partner_available(self, queue: str) -> bool:
        """Whether a partner SAS may be tried now for a call of ``queue``."""
        return self.state.acting and self._pick(queue) is not None

    def overflow_now(self, call: Call, reason: str) -> bool:
        """Send a waiting call to a partner SAS now; False when none can be tried."""
        return self.state.acting and self.start(call, reason)

    def on_wait_timer(self, call: Call) -> None:
        if call.state is CallState.WAITING:
            rule = self.config.overflow.get(call.queue)
            limit = rule.max_wait_s if rule else None
            if not self.start(call, f"waited over {limit:g} s") and limit:
                self.timers.arm(self.state.now + OVERFLOW_RETRY_S, TimerKind.OVERFLOW,
                                call.id, call.offer_id)

    def on_ring_timer(self, call: Call) -> None:
        if call.state is CallState.OVERFLOWING and call.overflowed_to is None:
            self.fx.command(to_holding(self.config, call))
            self.failed(call, "failed", "partner did not answer in time", hold=True)

    def start(self, call: Call, reason: str, partner: PartnerConfig | None = None) -> bool:
        """Try a partner (or the given external destination) for a waiting call;
        False, the call untouched, if none is up."""
        state = self.state
        queue = call.queue
        if partner is None:
            partner = self._pick(queue)
        if partner is None or call.state is not CallState.WAITING:
            return False
        self.calls.leave_queue(call, CallState.OVERFLOWING)
        call.offer_id += 1
        call.overflow_partner = partner.name
        names = self.config.dialplan
        ref = i.OfferRef(call.id, call.offer_id)
        self.fx.command(
            Setvar(channel=call.channel, variable=names.partner_dial_var, value=partner.dial,
                   ref=ref),
            Setvar(channel=call.channel, variable=names.partner_ring_var,
                   value=str(int(partner.ring_timeout_s)), ref=ref),
            Redirect(channel=call.channel, context=names.overflow_context,
                     exten=partner.name, ref=ref),
        )
        self.timers.arm(state.now + partner.ring_timeout_s + self.config.routing.ring_grace_s,
                        TimerKind.OVERFLOW_RING, call.id, call.offer_id)
        self.fx.fact(f.CallOverflowed(at=state.now, call=call.id, queue=queue,
                                      partner=partner.name, result="tried", reason=reason))
        return True

    # ------------------------------------------------------------------ Asterisk's view

    def partner_dial(self, call: Call, event: ev.DialBegin | ev.DialEnd) -> bool:
        """Whether the dial is to a partner SAS rather than an agent (followed here)."""
        if call.state is not CallState.OVERFLOWING:
            return False
        if isinstance(event, ev.DialEnd) and event.dial_status == "ANSWER":
            self.partner_answered(call)
        elif isinstance(event, ev.DialEnd) and call.overflowed_to is None:
            status = event.dial_status or "UNKNOWN"
            self.failed(call, FAILURES.get(status, status.lower()), f"partner dial {status}")
        return True

    def on_end_event(self, event: ue.OverflowEnd) -> None:
        """The overflow context's Dial() to the partner returned."""
        call = self.state.by_channel.get(event.channel)
        status = event.dial_status
        if call is not None and call.state is CallState.OVERFLOWING \
                and call.overflowed_to is None:
            if status == "ANSWER":
                self.partner_answered(call)
            else:
                self.failed(call, FAILURES.get(status, status.lower()),
                            f"partner dial {status}")

    def partner_answered(self, call: Call) -> None:
        if call.overflowed_to is not None:
            return
        partner = call.overflow_partner or "?"
        call.overflowed_to = partner
        call.overflows.append((partner, self.state.now, "answered"))
        call.offer_id += 1  # the ring back-stop no longer applies
        self.fx.fact(f.CallOverflowed(at=self.state.now, call=call.id, queue=call.queue,
                                      partner=partner, result="answered"))

    def failed(self, call: Call, result: str, reason: str, *, hold: bool = False) -> None:
        """Back to its original place in the local queue; the partner rests a while.
        ``hold``: the router has just Redirected the caller to holding itself; one
        action in flight per caller, so the call waits (held) until Asterisk shows it
        there (MusicOnHoldStart, then the head of its band) or the orphan back-stop."""
        state = self.state
        now = state.now
        partner = call.overflow_partner or "?"
        if partner == FORWARD_PARTNER:
            call.forward_to = None  # the PDSA line failed: the front office answers it
        if result != "cancelled" and partner in state.partners_by_name:
            state.partner_down_until[partner] = (
                now + state.partners_by_name[partner].down_for_s)
        call.overflows.append((partner, now, result))
        call.overflow_partner = None
        call.offer_id += 1
        self.fx.fact(f.CallOverflowed(at=now, call=call.id, queue=call.queue,
                                      partner=partner, result=result))
        rule = self.config.overflow.get(call.queue)
        if hold:
            move_call(call, CallState.HELD)
            self.fx.fact(f.CallReturned(at=now, call=call.id, queue=call.queue,
                                        agent=None, reason=reason))
            self.timers.arm(now + max(self.config.routing.orphan_requeue_s, ACTION_RETRY_S),
                            TimerKind.ORPHAN, call.id, call.offer_id)
            if rule is not None and rule.max_wait_s is not None:
                self.timers.arm(now + OVERFLOW_RETRY_S, TimerKind.OVERFLOW, call.id,
                                call.offer_id)
            return
        move_call(call, CallState.WAITING)
        state.queue(call.queue).insert_in_order(call)
        self.fx.fact(f.CallReturned(at=now, call=call.id, queue=call.queue,
                                    agent=None, reason=reason))
        if rule is not None and rule.max_wait_s is not None:
            self.timers.arm(now + OVERFLOW_RETRY_S, TimerKind.OVERFLOW, call.id,
                            call.offer_id)
        self.offering.dispatch_queue(call.queue)

    def on_action_failed(self, event: i.ActionFailed, call: Call) -> None:
        """An action of the overflow attempt of ``call`` in progress was refused."""
        if call.state is CallState.OVERFLOWING and call.overflowed_to is None:
            self.failed(call, "failed", f"{event.action} failed: {event.message}")

    # ------------------------------------------------------------------ restore

    def restore_meta(self, meta: EngineMeta) -> None:
        state = self.state
        state.bascules.update(meta.bascules)
        state.partner_down_until.update(meta.partner_down_until)
        for queue, level in meta.shares.items():
            state.shares[queue] = ShareCounter(level)

    def rearm_call(self, call: Call) -> None:
        """Timers of a restored call's overflow (after the first resync)."""
        state = self.state
        if call.state is CallState.WAITING:
            rule = self.config.overflow.get(call.queue)
            if rule is not None and rule.max_wait_s is not None:
                self.timers.arm(max(state.now, call.enqueued_at + rule.max_wait_s),
                                TimerKind.OVERFLOW, call.id, call.offer_id)
        elif call.state is CallState.OVERFLOWING and call.overflowed_to is None:
            partner = state.partners_by_name.get(call.overflow_partner or "")
            ring = partner.ring_timeout_s if partner is not None else 60.0
            self.timers.arm(state.now + ring + self.config.routing.ring_grace_s,
                            TimerKind.OVERFLOW_RING, call.id, call.offer_id)

    # ------------------------------------------------------------------ bascule

    def on_bascule(self, request: i.BasculeRequest) -> None:
        state = self.state
        queue = request.queue
        if queue != SITE and queue not in state.queues:
            self.fx.ignore("BasculeRequest", f"unknown queue {queue!r}")
            return
        if request.partner is not None and request.partner not in state.partners_by_name:
            self.fx.ignore("BasculeRequest", f"unknown partner {request.partner!r}")
            return
        share = min(max(request.share, 0.0), 1.0)
        if share == 0:
            state.bascules.pop(queue, None)
        else:
            state.bascules[queue] = Bascule(share=share, partner=request.partner,
                                            by=request.by, reason=request.reason,
                                            at=state.now)
        self.fx.fact(f.BasculeChanged(at=state.now, queue=queue, share=share,
                                      partner=request.partner, by=request.by,
                                      reason=request.reason))
        if share > 0:
            for name in [queue] if queue != SITE else list(state.queues):
                self.bascule_waiting(name)

    def bascule_waiting(self, queue: str) -> None:
        """A bascule at 100 % also sends the calls already waiting."""
        state = self.state
        bascule = state.bascules.get(queue) or state.bascules.get(SITE)
        if bascule is None or bascule.share < 1.0:
            return
        for call in list(state.queues[queue]) if queue in state.queues else []:
            if not self.start(call, f"bascule by {bascule.by}"):
                break
