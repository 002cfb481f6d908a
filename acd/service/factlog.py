"""Which engine facts are logged, at which level, under which event name, with which
fields: a table, looked up by the fact's type (facts not in it are not logged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from acd.core import facts as f
from acd.logs import get_logger

log = get_logger("acd.router")

#: a fact's log fields, or None: not logged
Fields = Callable[[Any], "dict[str, Any] | None"]


def _all_fields(fact: Any) -> dict[str, Any]:
    return {k: getattr(fact, k) for k in fact.__struct_fields__}


#: fact type → (level, event name, its fields)
FACT_LOGS: dict[type[f.Fact], tuple[str, str, Fields]] = {
    f.CallEnded: ("info", "call_ended", lambda x: {
        "call": x.call, "queue": x.queue, "outcome": x.outcome,
        "wait_s": x.record.wait_s,
        **({"lost_reason": x.record.lost_reason} if x.record.lost_reason else {}),
        **({"in_announcement": True} if x.record.in_announcement else {})}),
    f.CallAnswered: ("info", "call_answered", lambda x: {
        "call": x.call, "queue": x.queue, "agent": x.agent,
        "wait_s": round(x.wait_s, 3), "first": x.first}),
    f.CallQueued: ("info", "call_queued", lambda x: {
        "call": x.call, "queue": x.queue, "number": x.number,
        "priority": x.priority} if x.new else None),
    f.CallReturned: ("info", "call_returned", lambda x: {
        "call": x.call, "queue": x.queue, "agent": x.agent, "reason": x.reason}),
    f.CallTransferred: ("info", "call_transferred", lambda x: {
        "call": x.call, "from_queue": x.from_queue, "to_queue": x.to_queue,
        "agent": x.agent, "result": x.result, "reason": x.reason}),
    f.CallOverflowed: ("info", "call_overflowed", lambda x: {
        "call": x.call, "queue": x.queue, "partner": x.partner, "result": x.result,
        "reason": x.reason}),
    f.BasculeChanged: ("warning", "bascule", lambda x: {
        "queue": x.queue, "share": x.share, "partner": x.partner, "by": x.by,
        "reason": x.reason}),
    f.AgentReskilled: ("warning", "agent_reskilled", lambda x: {
        "agent": x.agent, "old": x.old, "new": x.new, "by": x.by, "reason": x.reason}),
    f.AgentStateChanged: ("info", "agent_state", lambda x: {
        "agent": x.agent, "old": x.old, "new": x.new, "reason": x.reason}),
    f.StateRestored: ("info", "state_restored", lambda x: {
        "calls": x.calls, "waiting": x.waiting, "agents": x.agents,
        "saved_at": x.saved_at}),
    f.StateRepaired: ("warning", "StateRepaired", _all_fields),
    f.InputIgnored: ("warning", "InputIgnored", _all_fields),
}


def log_fact(fact: f.Fact) -> None:
    """Log ``fact`` as :data:`FACT_LOGS` says (nothing if its type is not there)."""
    entry = FACT_LOGS.get(type(fact))
    if entry is None:
        return
    level, event, fields = entry
    values = fields(fact)
    if values is not None:
        getattr(log, level)(event, **values)
