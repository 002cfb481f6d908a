"""When a backup may take a lower-level call at once: its own filière can spare them.

The fixed skill expansion (:func:`acd.core.routing.expansion_delay`) holds an agent
back from a call of a queue they hold at level 2 until the call has waited
``expansion_s[0]`` seconds, even when nobody needs them in their own filière. Asterisk's
``Queue()`` rings such an agent at once. The rule here does neither blindly: a backup
takes the call at once when their own filière can spare them, and is kept back only
while it needs them.

An agent is *spare* for a call of queue Q when, for every other queue S they hold at
level 1 (their own filière):

* nobody waits in S (in its queue, or a warm transfer to S that no agent is ringing
  for);
* after they leave, the free people of S (level 1, available) cover the calls S can
  expect while they are away: with S's recent arrival rate λ (:mod:`acd.core.demand`)
  and Q's mean handling time h (talk and wrap-up of its last calls), arrivals during
  the loan are Poisson of mean λh, and the free people left must be at least the
  smallest r with P(N > r) ≤ ``[routing] spare_risk``;
* unless the call is of priority 0 (life-threatening), or one the room already
  handled (transferred in from another filière, warm or cold, or given back after a
  failed offer): then the first condition alone decides.

So a handled caller takes a free backup as soon as nobody waits in the backup's own
filière: "calls already handled before new ones", the rule inside each queue, applied
across filières, but never by making the backup's own callers wait. The AMU
regulators' filière gets its qualified callers without waiting for the expansion
delay when the ARM backing it up are free and no new caller waits at N1. (Lending
them at once even while N1 callers waited cost the PDSA night 0.6 point of QS 30 s
at N1 and the thin room 1.7, for no gain at N2: docs/plan-policies.md.)

A restarted router reads the arrival rates with the start-up correction of
:mod:`acd.core.demand`: the first minutes of counting are not read as no traffic.

The fixed expansion stays the bound: once a call has waited ``expansion_s`` it takes a
backup whatever their filière's state, so every call reaches its backups as before and
no wait is longer than under the fixed rule.

Ideas taken from the skill-based routing literature: *threshold reservation* (trunk
reservation in loss networks; a pool lends agents to another class only while its idle
agents stay above a threshold: Gans, Koole and Mandelbaum, "Telephone call centers:
tutorial, review and research prospects", 2003; Bhulai and Koole, "A queueing model for
call blending in call centers", 2003), the threshold set from the demand expected
during the loan rather than fixed, and *idle-agent* rules for the choice among free
agents (longest idle first, kept from the fixed routing; Armony and Ward, "Fair dynamic
routing in large-scale heterogeneous-server systems", 2010). A call that
waits longest is still served first within its priority (no re-ordering of callers).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

from acd.core.demand import ArrivalRates
from acd.core.indicators import mean_handling_time
from acd.core.model import Agent, Call, WarmTransfer
from acd.core.routing import AgentPool, SkillQueue


class SpareRoom(Protocol):
    """What the rule reads of the room (:class:`acd.core.room.RoomState`)."""

    now: float
    pool: AgentPool
    demand: ArrivalRates
    queues: dict[str, SkillQueue]
    handled: dict[str, deque[float]]
    warm: dict[str, WarmTransfer]


def reserve(expected: float, risk: float) -> int:
    """The fewest people r with P(N > r) ≤ ``risk`` for N Poisson of mean ``expected``."""
    if expected <= 0:
        return 0
    term = math.exp(-expected)
    below = term
    people = 0
    while 1.0 - below > risk and people < 1000:
        people += 1
        term *= expected / people
        below += term
    return people


class SpareRule:
    """Reads the room (queues, free agents, arrival rates, handling times): never
    changes it."""

    __slots__ = ("_risk", "_state")

    def __init__(self, state: SpareRoom, risk: float) -> None:
        self._state = state
        self._risk = risk

    def __call__(self, agent: Agent, call: Call) -> bool:
        """``agent`` may take ``call`` (of a queue they hold above level 1) now: a call
        the room already handled (transferred in, or given back) as soon as nobody
        waits in their own filière, a new one when their filière can spare them."""
        handled = call.tier == 0 or len(call.queues) > 1
        return self._spares(agent, call.queue, call.priority, handled=handled)

    def spares_for_handled(self, agent: Agent, queue: str) -> bool:
        """``agent`` may take a call of ``queue`` the room already handled (a warm
        transfer to ``queue``): nobody waits in their own filière."""
        return self._spares(agent, queue, 0, handled=True)

    def _spares(self, agent: Agent, queue: str, priority: int, *, handled: bool) -> bool:
        """``agent`` may take a call of ``queue`` and ``priority`` now: nobody waits
        in their own filière, and unless the call is handled already or of priority
        0, the free people left there cover the calls it expects during the loan."""
        state = self._state
        loan_s: float | None = None
        for skill, level in agent.skills.items():
            if level != 1 or skill == queue:
                continue
            if self._waiting(skill):
                return False
            if priority == 0 or handled:
                continue
            if loan_s is None:
                loan_s = mean_handling_time(state.handled.get(queue, ()))
            free_left = state.pool.count_at(skill, 1) - state.pool.holds(agent, skill, 1)
            expected = state.demand.rate(skill, state.now) * loan_s
            if free_left < reserve(expected, self._risk):
                return False
        return True

    def _waiting(self, skill: str) -> bool:
        """A caller waits for ``skill``: in its queue, or a warm transfer to it that no
        agent is ringing for."""
        state = self._state
        home = state.queues.get(skill)
        if home is not None and len(home):
            return True
        return any(warm.to_queue == skill and warm.target is None and not warm.expired
                   for warm in state.warm.values())
