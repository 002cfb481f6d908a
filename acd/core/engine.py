"""The routing engine: ``handle(event, now) → Output(commands, facts)``. Pure.

:class:`Engine` is the complete state machine: the core (:mod:`acd.core.base`), with
transfers (:mod:`acd.core.transfers`), and here the overflow to partner SAS and the
supervisor's bascule.

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
from acd.ami.actions import Redirect, Setvar
from acd.config import Config, PartnerConfig
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.base import ACTION_RETRY_S, Output
from acd.core.durable import DurableEngine
from acd.core.model import Call, CallState, move_call
from acd.core.overflow import (
    SITE,
    Bascule,
    ShareCounter,
    overflow_reason,
    pick_partner,
    share_for,
)
from acd.core.state import EngineMeta
from acd.core.transfers import TransferEngine

__all__ = ["Engine", "Output"]

#: after a failed attempt, a call that still meets an overflow rule is tried again
OVERFLOW_RETRY_S = 30.0
#: the name under which a forward to an external PDSA destination appears in records
FORWARD_PARTNER = "PDSA"
_FAILURES = {"NOANSWER": "noanswer", "BUSY": "busy", "CONGESTION": "congestion",
             "CHANUNAVAIL": "unavailable", "CANCEL": "cancelled"}


class Engine(TransferEngine, DurableEngine):
    """Calls, agents, queues, transfers and partner overflow."""

    def __init__(self, config: Config, *, decide: bool = True) -> None:
        super().__init__(config, decide=decide)
        self.partners: list[PartnerConfig] = sorted(
            config.partners, key=lambda p: (p.preference, p.name))
        self._partners_by_name = {p.name: p for p in self.partners}
        #: partner → engine time until which it is not tried
        self.partner_down_until: dict[str, float] = {}
        #: queue (or "*") → the supervisor's switch in force
        self.bascules: dict[str, Bascule] = {}
        self._shares: dict[str, ShareCounter] = {}
        self._handlers[i.BasculeRequest] = self._on_bascule

    # ------------------------------------------------------------------ read side

    def partner_up(self, name: str, now: float | None = None) -> bool:
        """Whether ``name`` may be tried (at ``now``, default the engine's time)."""
        return self.partner_down_until.get(name, 0.0) <= (self.now if now is None else now)

    # ------------------------------------------------------------------ decisions

    def _divert(self, call: Call) -> bool:
        """A new call: forward it to its external PDSA destination, or overflow it now
        if the rules or a bascule say so."""
        if not self.decide or not self.link_up:
            return False
        if call.forward_to is not None:
            return self._start_overflow(call, "PDSA hours", partner=PartnerConfig(
                name=FORWARD_PARTNER, dial=call.forward_to, down_for_s=60.0,
                ring_timeout_s=60.0))
        if not self.partners:
            return False
        queue = call.queue
        rule = self.config.overflow.get(queue)
        share = share_for(queue, rule, self.bascules)
        counter = self._shares.setdefault(queue, ShareCounter())
        if counter.take(share):
            return self._start_overflow(call, f"share {share:.0%} to partners")
        waiting = len(self.queues[queue]) - 1  # the new call is already in
        reason = overflow_reason(rule, waiting=waiting, staffed=self._skill_staffed(queue),
                                 estimated_wait_s=self.estimated_wait(queue))
        if reason is not None and self._no_agent_free(call):
            return self._start_overflow(call, reason)
        if rule is not None and rule.max_wait_s is not None:
            self._timer(call.enqueued_at + rule.max_wait_s, "ovf", call.id, call.offer_id)
        return False

    def _no_agent_free(self, call: Call) -> bool:
        from acd.core.routing import pick_agent

        return pick_agent(call, self.pool, self._expansion.get(call.queue, []),
                          self.now) is None

    def _partner_available(self, queue: str) -> bool:
        rule = self.config.overflow.get(queue)
        bascule = self.bascules.get(queue) or self.bascules.get(SITE)
        return self.decide and self.link_up and pick_partner(
            self.partners, self.partner_down_until, self.now,
            allowed=rule.partners if rule else None,
            preferred=bascule.partner if bascule else None) is not None

    def _overflow_now(self, call: Call, reason: str) -> bool:
        return self.decide and self.link_up and self._start_overflow(call, reason)

    def _on_call_timer(self, kind: str, call: Call) -> None:
        if kind == "ovf" and call.state is CallState.WAITING:
            rule = self.config.overflow.get(call.queue)
            limit = rule.max_wait_s if rule else None
            if not self._start_overflow(call, f"waited over {limit:g} s") and limit:
                self._timer(self.now + OVERFLOW_RETRY_S, "ovf", call.id, call.offer_id)
        elif kind == "ovfring" and call.state is CallState.OVERFLOWING \
                and call.overflowed_to is None:
            self._commands.append(self._to_holding(call))
            self._overflow_failed(call, "failed", "partner did not answer in time", hold=True)
        else:
            super()._on_call_timer(kind, call)

    def _start_overflow(self, call: Call, reason: str,
                        partner: PartnerConfig | None = None) -> bool:
        """Try a partner (or the given external destination) for a waiting call;
        False, the call untouched, if none is up."""
        queue = call.queue
        if partner is None:
            rule = self.config.overflow.get(queue)
            bascule = self.bascules.get(queue) or self.bascules.get(SITE)
            partner = pick_partner(self.partners, self.partner_down_until, self.now,
                                   allowed=rule.partners if rule else None,
                                   preferred=bascule.partner if bascule else None)
        if partner is None or call.state is not CallState.WAITING:
            return False
        self._queue(queue).remove(call)
        move_call(call, CallState.OVERFLOWING)
        call.offer_id += 1
        call.overflow_partner = partner.name
        names = self.config.dialplan
        ref = (call.id, call.offer_id)
        self._commands += [
            Setvar(channel=call.channel, variable=names.partner_dial_var, value=partner.dial,
                   ref=ref),
            Setvar(channel=call.channel, variable=names.partner_ring_var,
                   value=str(int(partner.ring_timeout_s)), ref=ref),
            Redirect(channel=call.channel, context=names.overflow_context,
                     exten=partner.name, ref=ref),
        ]
        self._timer(self.now + partner.ring_timeout_s + self.config.routing.ring_grace_s,
                    "ovfring", call.id,
                    call.offer_id)
        self._facts.append(f.CallOverflowed(at=self.now, call=call.id, queue=queue,
                                            partner=partner.name, result="tried",
                                            reason=reason))
        return True

    # ------------------------------------------------------------------ Asterisk's view

    def _not_an_agent_dial(self, call: Call, event: ev.DialBegin | ev.DialEnd) -> bool:
        if call.state is not CallState.OVERFLOWING:
            return False
        if isinstance(event, ev.DialEnd) and event.dial_status == "ANSWER":
            self._partner_answered(call)
        elif isinstance(event, ev.DialEnd) and call.overflowed_to is None:
            status = event.dial_status or "UNKNOWN"
            self._overflow_failed(call, _FAILURES.get(status, status.lower()),
                                  f"partner dial {status}")
        return True

    def _on_other_user_event(self, event: ev.UserEvent) -> None:
        names = self.config.dialplan
        if event.name == names.overflow_end_event:
            call = self._by_channel.get(event.channel)
            status = event.headers.get("DialStatus", "")
            if call is not None and call.state is CallState.OVERFLOWING \
                    and call.overflowed_to is None:
                if status == "ANSWER":
                    self._partner_answered(call)
                else:
                    self._overflow_failed(call, _FAILURES.get(status, status.lower()),
                                          f"partner dial {status}")
        elif event.name != names.overflow_trying_event:
            super()._on_other_user_event(event)

    def _partner_answered(self, call: Call) -> None:
        if call.overflowed_to is not None:
            return
        partner = call.overflow_partner or "?"
        call.overflowed_to = partner
        call.overflows.append((partner, self.now, "answered"))
        call.offer_id += 1  # the ring back-stop no longer applies
        self._facts.append(f.CallOverflowed(at=self.now, call=call.id, queue=call.queue,
                                            partner=partner, result="answered"))

    def _overflow_failed(self, call: Call, result: str, reason: str, *,
                         hold: bool = False) -> None:
        """Back to its original place in the local queue; the partner rests a while.
        ``hold``: the router has just Redirected the caller to holding itself; one
        action in flight per caller, so the call waits (held) until Asterisk shows it
        there (MusicOnHoldStart, then the head of its band) or the orphan back-stop."""
        partner = call.overflow_partner or "?"
        if partner == FORWARD_PARTNER:
            call.forward_to = None  # the PDSA line failed: the front office answers it
        if result != "cancelled" and partner in self._partners_by_name:
            self.partner_down_until[partner] = (
                self.now + self._partners_by_name[partner].down_for_s)
        call.overflows.append((partner, self.now, result))
        call.overflow_partner = None
        call.offer_id += 1
        self._facts.append(f.CallOverflowed(at=self.now, call=call.id, queue=call.queue,
                                            partner=partner, result=result))
        rule = self.config.overflow.get(call.queue)
        if hold:
            move_call(call, CallState.HELD)
            self._facts.append(f.CallReturned(at=self.now, call=call.id, queue=call.queue,
                                              agent=None, reason=reason))
            self._timer(self.now + max(self.config.routing.orphan_requeue_s, ACTION_RETRY_S),
                        "orphan", call.id, call.offer_id)
            if rule is not None and rule.max_wait_s is not None:
                self._timer(self.now + OVERFLOW_RETRY_S, "ovf", call.id, call.offer_id)
            return
        move_call(call, CallState.WAITING)
        self._queue(call.queue).insert_in_order(call)
        self._facts.append(f.CallReturned(at=self.now, call=call.id, queue=call.queue,
                                          agent=None, reason=reason))
        if rule is not None and rule.max_wait_s is not None:
            self._timer(self.now + OVERFLOW_RETRY_S, "ovf", call.id, call.offer_id)
        self._dispatch_queue(call.queue)

    def _other_action_failed(self, call: Call, event: i.ActionFailed) -> None:
        if call.state is CallState.OVERFLOWING and call.overflowed_to is None:
            self._overflow_failed(call, "failed", f"{event.action} failed: {event.message}")

    def _outcome(self, call: Call) -> str:
        if call.overflowed_to == FORWARD_PARTNER:
            return "forwarded"
        if call.overflowed_to is not None:
            return "overflowed"
        if call.state is CallState.OVERFLOWING and call.overflow_partner:
            call.overflows.append((call.overflow_partner, self.now, "abandoned"))
        return super()._outcome(call)

    # ------------------------------------------------------------------ restore

    def _restore_meta(self, meta: EngineMeta) -> None:
        self.bascules.update(meta.bascules)
        self.partner_down_until.update(meta.partner_down_until)
        for queue, level in meta.shares.items():
            self._shares[queue] = ShareCounter(level)

    def _rearm_call(self, call: Call) -> None:
        if call.state is CallState.WAITING:
            rule = self.config.overflow.get(call.queue)
            if rule is not None and rule.max_wait_s is not None:
                self._timer(max(self.now, call.enqueued_at + rule.max_wait_s), "ovf",
                            call.id, call.offer_id)
        elif call.state is CallState.OVERFLOWING and call.overflowed_to is None:
            partner = self._partners_by_name.get(call.overflow_partner or "")
            ring = partner.ring_timeout_s if partner is not None else 60.0
            self._timer(self.now + ring + self.config.routing.ring_grace_s, "ovfring",
                        call.id, call.offer_id)

    # ------------------------------------------------------------------ bascule

    def _on_bascule(self, request: i.BasculeRequest) -> None:
        queue = request.queue
        if queue != SITE and queue not in self.queues:
            self._ignore_text("BasculeRequest", f"unknown queue {queue!r}")
            return
        if request.partner is not None and request.partner not in self._partners_by_name:
            self._ignore_text("BasculeRequest", f"unknown partner {request.partner!r}")
            return
        share = min(max(request.share, 0.0), 1.0)
        if share == 0:
            self.bascules.pop(queue, None)
        else:
            self.bascules[queue] = Bascule(share=share, partner=request.partner,
                                           by=request.by, reason=request.reason, at=self.now)
        self._facts.append(f.BasculeChanged(at=self.now, queue=queue, share=share,
                                            partner=request.partner, by=request.by,
                                            reason=request.reason))
        if share > 0:
            for name in [queue] if queue != SITE else list(self.queues):
                self._bascule_waiting(name)

    def _bascule_waiting(self, queue: str) -> None:
        """A bascule at 100 % also sends the calls already waiting."""
        bascule = self.bascules.get(queue) or self.bascules.get(SITE)
        if bascule is None or bascule.share < 1.0:
            return
        for call in self.waiting_calls(queue):
            if not self._start_overflow(call, f"bascule by {bascule.by}"):
                break
