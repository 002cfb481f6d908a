"""Asterisk app_queue's ring strategies as a :class:`~acd.core.selection.Selection`,
to play a simulated day as a native ``Queue()`` would route it.

What app_queue does (apps/app_queue.c)
--------------------------------------
Each waiting caller runs its own loop (``wait_our_turn``): every second (``RECHECK``)
it asks ``is_our_turn`` (is it among the first callers of its queue, as many as there
are available members; with ``ringall`` only the head caller). When it is, it
computes a metric for every member of its queue (``calc_metric``) and rings the
member with the lowest (``ring_one``); a member that cannot be rung (in use, paused,
in wrap-up, already being rung for another caller) is skipped and the next metric is
tried. The metric is ``penalty * 1000000`` plus the strategy's part:

* ``ringall``: nothing: every available member of the best penalty rings at once,
  the first to answer takes the call;
* ``leastrecent``: 0 for a member who never took a call of this queue, else
  ``1000000 - (now - lastcall)``: the member whose last call (of this queue) ended
  longest ago first (``lastcall`` is set when the bridged call ends, ``update_queue``);
* ``fewestcalls``: the member's count of calls taken in this queue (``calls``);
* ``rrmemory``: the member's position in the queue's member list, those before the
  queue's remembered ``rrpos`` counting after those from it on (+1000); after a ring,
  ``store_next_rr`` sets ``rrpos`` to the next member after the one rung: the queue
  goes round its members, wrapping at the end;
* ``linear``: the member's position from the caller's own ``linpos`` (0 for a new
  caller): always the first available member in list order; a caller whose member
  did not answer goes on from the next member (``store_next_lin``).

Penalties: the lowest penalty tier that has an available member is rung at once; a
higher penalty is reached only when every lower one is busy, whatever the caller's
wait (waiting time changes the penalties only through queue rules, which are not
modelled: none configured). A caller's place is fixed when it joins: by ``QUEUE_PRIO``
(a higher priority joins ahead of lower ones), then arrival; nothing re-evaluates it
while it waits. Between queues there is no order at all unless a queue has a
``weight`` (``compare_weight``; ``use_weight`` is off when every weight is 0) or the
``force_longest_waiting_caller`` option is set (off by default): a member of several
queues is rung by whichever waiting caller's one-second loop comes first.

What the model keeps
--------------------
* Members: an agent holding the queue's skill at level L is a member with penalty L,
  for the levels the engine can reach (those with an ``expansion_s`` entry): the same
  people as the engine's routing, in the site's roster order (the member list).
* The tiers are fixed: a level-2 member takes a call as soon as no level-1 member is
  free, without the engine's ``expansion_s`` wait.
* Callers of one queue in order of priority (0 first), then of entry into the queue
  (``enqueued_at``): no "handled before new" tier; a call whose offer was not answered
  keeps its place.
* A member freed while callers of several of its queues wait is taken by the head
  caller of one of them drawn at random (seeded): the race of the callers' loops,
  whose phases are independent of the callers' waits. Priorities are not compared
  across queues.
* ``ringall``: the simulated PBX rings one phone per offer, so the model offers the
  call to one member of the best tier drawn at random (seeded). When the members'
  answer delays are independent and identically distributed (as in a scenario's
  ``answer_after_s``), the first to answer is such a uniform draw. Not modelled: the
  other phones ringing meanwhile (busy for other callers for a few seconds), and the
  lower chance that nobody answers when several ring (here a missed offer goes back
  through the engine's ring time-out, as for the other strategies).
* ``lastcall`` and ``calls`` are per queue (``shared_lastcall`` off, the default) and
  counted when the agent's answered call ends. Ties between equal metrics go to the
  earlier member in the roster.
* What happens on an unanswered offer (ring time-out, retry) stays the engine's, so
  that only the choice of agent and caller differs between the policies.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from acd.config import Config
from acd.core.model import Agent, Call
from acd.core.routing import AgentPool, SkillQueue, expansion_delay
from acd.core.selection import Selection

#: app_queue's strategies the model plays
STRATEGIES: tuple[str, ...] = ("ringall", "leastrecent", "fewestcalls", "rrmemory", "linear")
#: the engine's own routing, then app_queue's strategies
POLICIES: tuple[str, ...] = ("acd", *STRATEGIES)


class AppQueueSelection:
    """One app_queue strategy, with member penalties as fixed tiers."""

    def __init__(self, strategy: str, seed: int, roster: Sequence[str]) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
        self.strategy = strategy
        self._rng = random.Random(seed)
        self._position = {agent: index for index, agent in enumerate(roster)}
        #: (queue, agent) → when the agent's last call of that queue ended
        self._last_call: dict[tuple[str, str], float] = {}
        #: (queue, agent) → calls of that queue the agent took
        self._calls: dict[tuple[str, str], int] = {}
        #: queue → roster position to start from (rrmemory)
        self._rrpos: dict[str, int] = {}
        #: call → roster position to start from (linear)
        self._linpos: dict[str, int] = {}

    # ---------------------------------------------------------------- choices

    def pick_agent(self, call: Call, pool: AgentPool, expansion_s: list[float],
                   now: float) -> Agent | None:
        for level in pool.levels(call.queue):
            if expansion_delay(level, expansion_s) is None:
                break  # not a member of this queue at that level
            members = pool.available(call.queue, level)
            if members:
                return self._choose(call, members)
        return None

    def pick_call(self, agent: Agent, queues: dict[str, SkillQueue],
                  expansion: dict[str, list[float]], now: float) -> Call | None:
        heads: list[Call] = []
        for skill, level in agent.skills.items():
            queue = queues.get(skill)
            if queue is None or expansion_delay(level, expansion.get(skill, [])) is None:
                continue
            head = queue_head(queue)
            if head is not None:
                heads.append(head)
        if len(heads) <= 1:
            return heads[0] if heads else None
        return self._rng.choice(heads)

    def heads(self, queue: SkillQueue) -> Iterable[Call]:
        head = queue_head(queue)
        return [head] if head is not None else []

    # ---------------------------------------------------------------- memory

    def offered(self, call: Call, agent: Agent, now: float) -> None:
        following = self._pos(agent) + 1
        if self.strategy == "rrmemory":
            self._rrpos[call.queue] = following
        elif self.strategy == "linear":
            self._linpos[call.id] = following

    def call_ended(self, agent: Agent, call: Call | None, now: float) -> None:
        if call is None:
            return
        self._linpos.pop(call.id, None)
        queue = next((leg.queue for leg in reversed(call.legs) if leg.agent == agent.id),
                     call.queue)
        key = (queue, agent.id)
        self._last_call[key] = now
        self._calls[key] = self._calls.get(key, 0) + 1

    # ---------------------------------------------------------------- metrics

    def _pos(self, agent: Agent) -> int:
        return self._position.get(agent.id, len(self._position))

    def _choose(self, call: Call, members: list[Agent]) -> Agent:
        """The member of one penalty tier app_queue rings for ``call``."""
        members = sorted(members, key=lambda a: (self._pos(a), a.id))
        strategy, queue = self.strategy, call.queue
        if strategy == "ringall":
            return self._rng.choice(members)
        if strategy == "leastrecent":
            def never_then_oldest(a: Agent) -> tuple[int, float]:
                ended = self._last_call.get((queue, a.id))
                return (0, 0.0) if ended is None else (1, ended)
            return min(members, key=never_then_oldest)
        if strategy == "fewestcalls":
            return min(members, key=lambda a: self._calls.get((queue, a.id), 0))
        start = (self._rrpos.get(queue, 0) if strategy == "rrmemory"
                 else self._linpos.get(call.id, 0))
        return min(members, key=lambda a: self._pos(a) < start)


def queue_head(queue: SkillQueue) -> Call | None:
    """The caller app_queue serves first: priority (0 first), then entry into the
    queue; the engine's handled-before-new tier plays no part."""
    return min(queue, key=lambda c: (c.priority, c.enqueued_at, c.seq), default=None)


def selection_for(policy: str, config: Config, seed: int) -> Selection | None:
    """The selection of ``policy`` ("acd": None, the engine's own routing)."""
    if policy == "acd":
        return None
    if policy not in STRATEGIES:
        raise ValueError(f"unknown policy {policy!r} (one of {', '.join(POLICIES)})")
    return AppQueueSelection(policy, seed, [agent.id for agent in config.agents])
