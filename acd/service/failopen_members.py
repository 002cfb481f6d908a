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

Only a router that may act sends them (``Router.may_act``); failures are logged, never
retried in a loop: the next resync sets everything again. Needs the AMI write class
``agent`` (``dialplans/manager_acd.conf``).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from acd.ami.actions import Action, QueueAdd, QueuePause, QueueRemove
from acd.config import is_front_office
from acd.core import facts as f
from acd.core.model import Agent, AgentState
from acd.logs import get_logger

if TYPE_CHECKING:
    from acd.service.router import Router

log = get_logger("acd.failopen_members")

#: app_queue's answer to a QueueAdd of a member it already has
ALREADY_THERE = "Already there"
#: app_queue's answer to a QueuePause of a phone that is no member (lost meanwhile)
NOT_FOUND = "Interface not found"


class FailopenMembers:
    """Sends QueueAdd/QueueRemove/QueuePause as the router's agents change."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.queue = router.config.dialplan.failopen_queue
        #: actions sent, for tests and the log (``{"QueueAdd": 3}``)
        self.sent: dict[str, int] = {}

    def attach(self) -> None:
        self.router.add_link_listener(self.on_link)
        self.router.add_fact_listener(self.on_fact)

    def on_link(self, up: bool, _detail: str) -> None:
        if up:
            self.resync()

    def resync(self) -> None:
        """Every front-office agent, as the router sees it now."""
        for agent in list(self.router.engine.agents.values()):
            if not agent.observed:
                self._apply(agent)

    def on_fact(self, fact: f.Fact) -> None:
        if not isinstance(fact, (f.AgentStateChanged, f.AgentReskilled)):
            return
        agent = self.router.engine.agents.get(fact.agent)
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

    def _send(self, action: Action, *, then_pause: bool = False) -> None:
        router, ami = self.router, self.router.ami
        if ami is None or not ami.connected or not router.engine.decide \
                or not router.may_act():
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
            name = next((a.id for a in self.router.engine.agents.values()
                         if a.device == action.interface), "")
            self._send(QueueAdd(queue=action.queue, interface=action.interface,
                                member_name=name, paused=action.paused))
        elif not (isinstance(action, QueueRemove) and "Not there" in message):
            log.warning("failopen_member_failed", action=action.name, error=message)
