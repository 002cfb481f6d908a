"""The channel kernel of the simulated PBX: channels, timers, variables, devices.

Everything the dialplan contexts share and nothing of a context: the live channels and
their hangup records, the timers that die with a call's place, the caller's patience,
the channel and global variables, music on hold, the agents' devices and who is
dialling them, and the offer outcome an agent's behaviour gives.

It also holds the registry of the contexts the simulator models: each context module
(:mod:`acd.sim.holding`, :mod:`acd.sim.connect`, :mod:`acd.sim.overflow`…) takes the
kernel only, and reaches another context by its name, as the dialplan does
(``Goto(holding,s,1)``), never by importing it. :class:`acd.sim.pbx.Pbx` builds the
contexts and registers them under the site's context names.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from acd.config import AgentConfig, DialplanNames
from acd.sim.behaviour import AgentBehaviour
from acd.sim.clock import SimClock, SimTimer
from acd.sim.dialplan import is_number
from acd.sim.emit import Emitter
from acd.sim.hostclock import HostClock
from acd.sim.model import (
    CAUSE_TEXT,
    STATE_DESC,
    Bridge,
    Call,
    Channel,
    ChannelNotFound,
    Dial,
    HangupBy,
    HangupRecord,
    OfferOutcome,
    Outgoing,
    Phase,
    Role,
)
from acd.sim.options import PbxOptions

_C = TypeVar("_C")


class Context(Protocol):
    """A dialplan context the simulator models, as the kernel's registry holds it."""

    def goto(self, call: Call, exten: str, priority: int) -> bool:
        """The caller's channel enters at ``exten,priority`` (a ``Goto``, an AMI
        ``Redirect``); False when the context has no such extension."""
        ...


def enter_at_priority_1(enter: Callable[[Call, str], None], call: Call, exten: str,
                        priority: int) -> bool:
    """:meth:`Context.goto` for a context the simulator models from priority 1 of an
    extension only (where the router's Redirects land): ``enter`` runs it from there;
    False for a later priority, which it does not have."""
    if priority != 1:
        return False
    enter(call, exten)
    return True


class DialCaller(Protocol):
    """An application that dials an agent from the caller's channel through
    ``[acd-connect]``'s Dial (the native queue's ``Queue()``, ``[acd-warm-bridge]``'s
    ``Bridge()``): told how the dial went, as app_dial returns to its caller."""

    def dial_answered(self, call: Call, dial: Dial) -> None:
        """The agent answered: the caller is bridged with it."""
        ...

    def dial_returned(self, call: Call, status: str) -> None:
        """The dial ended (``DIALSTATUS`` ``status``) with the caller still there."""
        ...


class MissingExtension(LookupError):
    """A ``Goto`` to a place no registered context has."""


class Kernel:
    """The state every context shares, and the primitives that change it."""

    def __init__(self, agents: Sequence[AgentConfig], *, clock: SimClock, seed: int,
                 behaviour: AgentBehaviour, options: PbxOptions, names: DialplanNames,
                 events: Emitter, globals_: dict[str, str], host: HostClock) -> None:
        self.clock = clock
        #: the host's clock, as the dialplan reads it (``${EPOCH}``, ``STRFTIME()``)
        self.host = host
        self.seed = seed
        self.behaviour = behaviour
        self.options = options
        self.names = names
        self.events = events
        self.agents: dict[str, AgentConfig] = {a.id: a for a in agents}
        #: agents by their device (``Local/1001@agents``, ``PJSIP/arm01``), and the
        #: phones nobody answers (:meth:`add_unattended_phone`)
        self.by_device: dict[str, AgentConfig] = {a.device: a for a in agents}
        #: devices of phones that exist on the PBX, belong to no agent, and ring
        #: unanswered: a member an earlier configuration left in the fail-open queue
        #: (recording live t3-25: ``PJSIP/2001``–``2003`` rang 15 s, no answer)
        self.unattended: set[str] = set()
        #: live channels by name
        self.channels: dict[str, Channel] = {}
        #: every call placed, in arrival order (gone ones included)
        self.calls: list[Call] = []
        #: who hung up each channel, in hangup order
        self.hangups: list[HangupRecord] = []
        #: told of each hangup record as it is made
        self.hangup_listeners: list[Callable[[HangupRecord], None]] = []
        self.globals = globals_
        #: the queue an agent's desktop shows for a call offered to it: (caller's
        #: Uniqueid, agent id) → queue, or None (unknown: the agent behaves as for a
        #: call of its own filière); set by whoever watches the router (a simulated run)
        self.desk: Callable[[str, str], str | None] | None = None
        #: the Dial (or warm Originate) that holds each busy agent device
        self.device_dials: dict[str, Dial] = {}
        #: told when an agent device is free again (the native queue may ring it)
        self.device_freed_listeners: list[Callable[[], None]] = []
        #: told when a caller's side is going (hung up, whoever did it), before its
        #: channels go (the native queue counts an abandon)
        self.caller_gone_listeners: list[Callable[[Call], None]] = []
        #: the contexts a Goto or a Redirect may enter, by name
        self.contexts: dict[str, Context] = {}
        #: the applications a Dial of ``[acd-connect]`` returns to, by context name
        self.dial_callers: dict[str, DialCaller] = {}
        self._rng = random.Random(f"{seed}:pbx")
        self._uniqueid_seq = 0
        self._local_seq = 0
        self._tech_seq = 0
        #: call index → offers made of that call so far
        self._offers: dict[int, int] = {}
        self._phase_timers: dict[int, list[SimTimer]] = {}
        self._patience: dict[int, SimTimer] = {}

    # ================================================================ channels

    def channel(self, name: str) -> Channel:
        """The live channel called ``name``; :class:`ChannelNotFound` otherwise."""
        ch = self.channels.get(name)
        if ch is None or not ch.alive:
            raise ChannelNotFound(name)
        return ch

    def next_local(self) -> int:
        """The sequence number of the next Local channel pair."""
        seq = self._local_seq
        self._local_seq += 1
        return seq

    def tech_channel_name(self, device: str) -> str:
        """``PJSIP/arm01`` → ``PJSIP/arm01-0000000a`` (a new channel of that device)."""
        name = f"{device}-{self._tech_seq:08x}"
        self._tech_seq += 1
        return name

    def new_channel(self, name: str, role: Role, *, linkedid: str | None = None,
                    tech: str = "Local") -> Channel:
        """A live channel of ``role`` (no event: the caller sends Newchannel)."""
        now = self.clock.now()
        uniqueid = f"{int(now)}.{self._uniqueid_seq}"
        self._uniqueid_seq += 1
        ch = Channel(name=name, uniqueid=uniqueid, linkedid=linkedid or uniqueid, role=role,
                     created=now, tech=tech)
        self.channels[name] = ch
        return ch

    def gone(self, ch: Channel, cause: int, by: HangupBy, reason: str) -> None:
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

    def new_bridge(self) -> Bridge:
        """A bridge with a fresh (seeded) unique id."""
        return Bridge(uniqueid=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)))

    # ================================================================ contexts

    def register(self, name: str, context: Context) -> None:
        """``context`` runs the dialplan context ``name`` (the first one registered
        under a name keeps it)."""
        self.contexts.setdefault(name, context)

    def register_dial_caller(self, name: str, caller: DialCaller) -> None:
        """A Dial made from context ``name`` returns to ``caller``."""
        self.dial_callers.setdefault(name, caller)

    def goto(self, call: Call, context: str, exten: str, priority: int) -> None:
        """The caller's channel goes to ``context,exten,priority``;
        :class:`MissingExtension` when no registered context has that place."""
        handler = self.contexts.get(context)
        if handler is None or not handler.goto(call, exten, priority):
            raise MissingExtension(f"{context},{exten},{priority}")

    def context(self, name: str, kind: type[_C]) -> _C:
        """The context registered as ``name``, which its caller expects to be a
        ``kind`` (an application of one context using another's: ``Queue()`` dials
        its members with ``[acd-connect]``'s Dial)."""
        found = self.contexts.get(name)
        if not isinstance(found, kind):
            raise MissingExtension(f"no {kind.__name__} registered as [{name}]")
        return found

    def dial_caller(self, name: str) -> DialCaller:
        """The application a Dial made from context ``name`` returns to."""
        return self.dial_callers[name]

    # ================================================================ variables

    def builtin(self, ch: Channel, name: str) -> str | None:
        """A dialplan function or built-in variable of ``ch`` (``UNIQUEID``…); None
        when ``name`` is none of them."""
        values = {"UNIQUEID": ch.uniqueid, "CHANNEL": ch.name, "CONTEXT": ch.context,
                  "EXTEN": ch.exten, "EPOCH": str(int(self.host.now())),
                  "CHANNEL(state)": STATE_DESC.get(ch.state, "Unknown"),
                  "CALLERID(name)": ch.cid_name, "CALLERID(num)": ch.cid_num}
        return values.get(name)

    def variable(self, ch: Channel, name: str) -> str:
        """``${name}`` on ``ch``: its channel variable, else the global one, else ""."""
        value = ch.variables.get(name)
        return value if value is not None else self.globals.get(name, "")

    # ================================================================ music on hold

    def stop_moh(self, call: Call) -> None:
        """The caller's music on hold stops (it leaves ``[holding]``)."""
        if call.in_moh:
            call.in_moh = False
            self.events.moh_stop(call.trunk)

    # ================================================================ timers

    def after(self, call: Call, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` unless the call changes place first."""
        timers = self._phase_timers.setdefault(call.index, [])

        def fire() -> None:
            if timer in timers:
                timers.remove(timer)
            if call.phase is not Phase.GONE:
                action()

        timer = self.clock.call_later(delay, fire)
        timers.append(timer)

    def cancel_timers(self, call: Call) -> None:
        """Cancel the call's :meth:`after` timers (it changes place)."""
        for timer in self._phase_timers.pop(call.index, []):
            timer.cancel()

    def start_patience(self, call: Call, delay: float, over: Callable[[], None]) -> None:
        """The caller gives up after ``delay``: ``over`` runs then."""
        def fire() -> None:
            self._patience.pop(call.index, None)
            over()

        self._patience[call.index] = self.clock.call_later(delay, fire)

    def stop_patience(self, call: Call) -> None:
        """The caller no longer runs out of patience (answered, or gone)."""
        timer = self._patience.pop(call.index, None)
        if timer is not None:
            timer.cancel()

    def stop(self) -> None:
        """Cancel every pending call timer and patience (simulator shutdown)."""
        for timers in self._phase_timers.values():
            for timer in timers:
                timer.cancel()
        self._phase_timers.clear()
        for timer in self._patience.values():
            timer.cancel()
        self._patience.clear()

    # ================================================================ devices

    def add_unattended_phone(self, device: str, name: str) -> None:
        """A phone the PBX has that no agent of the site answers: dialled, it rings
        until the dial gives up (``noanswer``), whoever dials it."""
        if device in self.by_device:
            return  # an agent's phone: its behaviour answers
        self.by_device[device] = AgentConfig(id=name, device=device, skills={})
        self.unattended.add(device)

    def free_device(self, out: Outgoing) -> str | None:
        """``out`` no longer holds its agent device: that device, if it held one (a
        partner trunk holds none)."""
        if isinstance(out, Dial) and self.device_dials.get(out.device) is out:
            del self.device_dials[out.device]
            return out.device
        return None

    def offer_outcome(self, call: Call, agent: AgentConfig) -> OfferOutcome:
        """What ``agent`` does with this offer (its behaviour, seeded per call and offer:
        the n-th offer of the k-th caller draws the same numbers whoever takes it). An
        unattended phone rings unanswered, and draws nothing."""
        if agent.device in self.unattended:
            return OfferOutcome(kind="noanswer")
        count = self._offers.get(call.index, 0)
        self._offers[call.index] = count + 1
        rng = random.Random(f"{self.seed}:call{call.index}:{count}")
        queue = self.desk(call.trunk.uniqueid, agent.id) if self.desk is not None else None
        outcome = self.behaviour.decide(agent.id, rng, queue)
        # the recordings' dialplan: __TALK / __RING set on the caller by the driver
        talk, ring = call.trunk.variables.get("TALK"), call.trunk.variables.get("RING")
        if talk is not None and is_number(talk):
            outcome = dataclasses.replace(outcome, talk_s=float(talk))
        if ring is not None and is_number(ring):
            outcome = dataclasses.replace(outcome, answer_after_s=float(ring))
        return outcome


def outgoing(call: Call) -> Outgoing | None:
    """The caller's Dial in progress or answered: to an agent or to a partner."""
    return call.dial if call.dial is not None else call.partner


def bridged(call: Call, out: Outgoing | None) -> bool:
    """True when ``out`` is answered and bridged with the caller."""
    return (out is not None and out.bridge is not None
            and call.phase in (Phase.TALKING, Phase.WITH_PARTNER))
