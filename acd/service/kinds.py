"""The label sets of the service's own counters, each written once here: the metrics
expose every label (at 0 until something is counted), the host hands them over."""

from __future__ import annotations

from acd.ami.events import AmiEvent
from acd.core import inputs as i

#: the tasks the service supervises (``acd_task_restarts_total{task}``)
SUPERVISED_TASKS: tuple[str, ...] = ("heartbeat", "reconciler")
#: the clocks whose disagreement acd_clock_skew_events_total{kind} counts: ``asterisk``
#: (Asterisk's timestamps against the router's clock: a step, a skew, a stray
#: timestamp), ``router`` (the router host's wall clock stepped against its monotonic one)
CLOCK_KINDS: tuple[str, ...] = ("asterisk", "router")
#: what an input that raised was (``acd_input_errors_total{kind}``; the log line's
#: ``input`` names the exact type): an AMI event, the engine's timer, a resync or
#: reconcile list (or a change of leader), an API intent, sending one action, a fact
#: listener, an AMI response, an action refused because a value held CR, LF or NUL, a
#: phone outside the config the engine refused to follow (:mod:`acd.core.observed`,
#: counted by the metrics from its ``InputIgnored`` fact)
INPUT_KINDS: tuple[str, ...] = ("ami_event", "tick", "resync", "intent", "action",
                                "fact_listener", "ami_response", "unsendable",
                                "observed_agent")


def kind_of(item: object) -> str:
    """The ``kind`` label of an input (one of :data:`INPUT_KINDS`)."""
    if isinstance(item, AmiEvent):
        return "ami_event"
    if isinstance(item, i.Tick):
        return "tick"
    if isinstance(item, (i.ChannelsSnapshot, i.Reconcile, i.LinkDown, i.LeadershipChanged)):
        return "resync"
    if isinstance(item, i.ActionFailed):
        return "action"
    return "intent"
