"""The fail-open queue's members follow the router's agents.

When the router is silent, ``[holding]`` sends callers to Asterisk's own queue of the
front-office phones (``[dialplan] failopen_queue``, ``dialplans/queues_acd.conf``).
Its members are *dynamic* (AMI ``QueueAdd``), kept in step with the router's view so
that the queue rings the phones the router would: a logged-out agent is not a member,
a paused agent is a paused member (recording live 07 and the notes of the live
README: with static members, agents the router had paused were rung). The front
office is :func:`acd.config.is_front_office` (ARM_N1 at level 1).

When: after every resynchronisation (the router has just logged in, or was elected),
for every front-office agent; then on each change of an agent's state or skills. An
agent logged in is added (``QueueAdd`` with ``Paused``); one Asterisk already has
(``Unable to add interface: Already there``) is paused or unpaused instead. A
logged-out agent is removed (``Unable to remove interface: Not there`` is fine).
app_queue keeps dynamic members over an Asterisk restart (``persistentmembers``, on
by default), so the queue still has its phones when Asterisk boots without its router.

It keeps stale ones too: members an earlier configuration left there ring when the
router is silent (recording live t3-25: three phones nobody answered held the first
callers in 15 s rings for 67 s; t3-07c: one took a call). So the queue's members are
exactly the router's front-office agents that may take calls: after every resync and on
every pass of the periodic reconciler (:meth:`FailopenMembers.prune`), the router lists
the queue (``QueueStatus``, this queue only) and removes (``QueueRemove``, this queue
only) every dynamic member that is not the phone of a logged-in front-office agent of
its own. A static member (a ``member =>`` line of queues.conf) cannot be removed over
AMI: it is logged once (``failopen_static_member``) and ``acd check-pbx`` fails on it.

Only a router that may act sends them (:meth:`Leadership.may_act
<acd.service.leadership.Leadership.may_act>`); failures are logged, never
retried in a loop: the next resync sets everything again. Needs the AMI write class
``agent`` (``dialplans/manager_acd.conf``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acd.ami.actions import Action, QueueAdd, QueuePause, QueueRemove, QueueStatus
from acd.ami.replies import as_list
from acd.config import is_front_office
from acd.core import facts as f
from acd.core.model import Agent, AgentState
from acd.logs import get_logger
from acd.service.link import LinkChange

if TYPE_CHECKING:
    from acd.ami.client import AmiConnection
    from acd.core.ports import EngineView

log = get_logger("acd.failopen_members")

#: app_queue's answer to a QueueAdd of a member it already has
ALREADY_THERE = "Already there"
#: app_queue's answer to a QueuePause of a phone that is no member (lost meanwhile)
NOT_FOUND = "Interface not found"


class FailopenMembers:
    """Sends QueueAdd/QueueRemove/QueuePause to ``link`` as the agents of ``engine``
    change (told by :meth:`on_link` and :meth:`on_fact`), while ``may_act``."""

    def __init__(self, queue: str, engine: EngineView, link: AmiConnection | None, *,
                 may_act: Callable[[], bool]) -> None:
        self.queue = queue
        self._engine = engine
        self._link = link
        self._may_act = may_act
        #: actions sent, for tests and the log (``{"QueueAdd": 3}``)
        self.sent: dict[str, int] = {}
        #: stale members removed so far, in order (interfaces)
        self.removed: list[str] = []
        #: static members found that are no agent's: logged once each
        self._static_seen: set[str] = set()

    def on_link(self, change: LinkChange) -> None:
        if change.up:
            self.resync()
            self.prune()

    def resync(self) -> None:
        """Every front-office agent, as the router sees it now."""
        for agent in list(self._engine.agents.values()):
            if not agent.observed:
                self._apply(agent)

    def on_fact(self, fact: f.Fact) -> None:
        if not isinstance(fact, (f.AgentStateChanged, f.AgentReskilled)):
            return
        agent = self._engine.agents.get(fact.agent)
        if agent is None or agent.observed:
            return
        if isinstance(fact, f.AgentReskilled):
            self._apply(agent, reskilled=True)
            return
        paused, out = AgentState.PAUSED.value, AgentState.LOGGED_OUT.value
        if fact.old == fact.new or (fact.new not in (paused, out)
                                    and fact.old not in (paused, out)):
            return  # ringing, on call, wrap-up: the queue's own business
        if fact.old != out and fact.new != out and is_front_office(agent.skills):
            # a member already: one QueuePause (pause, or end of pause)
            now_paused = fact.new == paused
            self._send(QueuePause(queue=self.queue, interface=agent.device,
                                  paused=now_paused, reason="acd" if now_paused else ""))
            return
        self._apply(agent)

    def _apply(self, agent: Agent, *, reskilled: bool = False) -> None:
        member = is_front_office(agent.skills) and agent.state is not AgentState.LOGGED_OUT
        if member:
            paused = agent.state is AgentState.PAUSED
            self._send(QueueAdd(queue=self.queue, interface=agent.device,
                                member_name=agent.id, paused=paused),
                       then_pause=paused)
        elif is_front_office(agent.skills) or reskilled:
            self._send(QueueRemove(queue=self.queue, interface=agent.device))

    def members_wanted(self) -> set[str]:
        """The phones the queue should have: the router's front-office agents that may
        take calls (logged in; a paused one stays, as a paused member)."""
        return {agent.device for agent in self._engine.agents.values()
                if not agent.observed and is_front_office(agent.skills)
                and agent.state is not AgentState.LOGGED_OUT}

    def prune(self) -> None:
        """List the queue's members; remove those the router does not keep there."""
        if not self._may_send():
            return
        assert self._link is not None
        self.sent[QueueStatus.name] = self.sent.get(QueueStatus.name, 0) + 1
        self._link.send(QueueStatus(queue=self.queue)).add_done_callback(self._listed)

    def _listed(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.warning("failopen_members_unlisted", error=str(exc))
            return
        wanted = self.members_wanted()  # the router's view now, not when it asked
        for message in as_list(future.result()):
            member = getattr(message, "ami", None)
            if member is None or member.get("Event") != "QueueMember" \
                    or member.get("Queue") != self.queue:
                continue
            interface = member.get("Location") or member.get("Interface") or ""
            if not interface or interface in wanted:
                continue
            if member.get("Membership") == "static":
                if interface not in self._static_seen:
                    self._static_seen.add(interface)
                    log.warning("failopen_static_member", queue=self.queue,
                                interface=interface, fix="remove its member => line")
                continue
            log.warning("failopen_member_removed", queue=self.queue, interface=interface,
                        reason="not a front-office agent of the router that may take "
                               "calls")
            self.removed.append(interface)
            self._send(QueueRemove(queue=self.queue, interface=interface))

    def _may_send(self) -> bool:
        link = self._link
        return link is not None and link.connected and self._engine.decide \
            and self._may_act()

    def _send(self, action: Action, *, then_pause: bool = False) -> None:
        ami = self._link
        if ami is None or not self._may_send():
            return
        self.sent[action.name] = self.sent.get(action.name, 0) + 1
        future = ami.send(action)
        future.add_done_callback(functools.partial(self._done, action, then_pause))

    def _done(self, action: Action, then_pause: bool, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.warning("failopen_member_failed", action=action.name, error=str(exc))
            return
        first = future.result()
        first = first[0] if isinstance(first, list) else first
        if getattr(first, "response", "") != "Error":
            return
        message = str(getattr(first, "message", "") or "")
        if isinstance(action, QueueAdd) and ALREADY_THERE in message:
            self._send(QueuePause(queue=action.queue, interface=action.interface,
                                  paused=then_pause, reason="acd" if then_pause else ""))
        elif isinstance(action, QueuePause) and NOT_FOUND in message:
            name = next((a.id for a in self._engine.agents.values()
                         if a.device == action.interface), "")
            self._send(QueueAdd(queue=action.queue, interface=action.interface,
                                member_name=name, paused=action.paused))
        elif not (isinstance(action, QueueRemove) and "Not there" in message):
            log.warning("failopen_member_failed", action=action.name, error=message)
