"""Who gets which call: skill queues, pools of idle agents, and the selection policy.

Policy
------
* Calls: highest priority first (0 = life-threatening), then longest waiting. Within a
  priority, calls already handled by someone (put back after a missed offer, or
  transferred from another filière) come before new arrivals: each priority has two
  tiers, 0 (handled) then 1 (new). A call put back goes to the *head* of tier 0; a
  transferred call to its tail.
* Agents: among the available agents holding the call's skill, the best level first
  (1 = primary), then the longest idle.
* Skill expansion: an agent holding the skill at level L > 1 becomes eligible for a
  call once the call has waited ``expansion_s[L-2]`` seconds in the queue. Unlike
  Asterisk's queue rules this is evaluated against every waiting call, continuously
  (the engine sets a timer at each threshold). Before that delay, such an agent takes
  the call at once when their own filière can spare them (``[routing] backups =
  "spare"``, the default: :mod:`acd.core.spare`); the delay stays the bound.

Each queue keeps one insertion-ordered dict per priority: the first call of a band is
its longest-waiting call, and a call can be removed in O(1) when its caller hangs up.
Each pool keeps one insertion-ordered dict per (skill, level): the first agent is the
longest idle. Selection looks only at the first element of each band or pool, so a
decision costs O(priorities + levels), whatever the number of waiting calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from acd.core.model import Agent, Call


class SkillQueue:
    """The waiting calls of one skill, by priority band, each band FIFO."""

    __slots__ = ("_bands", "_keys", "_size", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._bands: dict[tuple[int, int], dict[str, Call]] = {}
        self._keys: list[tuple[int, int]] = []  # sorted keys of _bands
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __contains__(self, call: Call) -> bool:
        band = self._bands.get((call.priority, call.tier))
        return band is not None and call.id in band

    def _band(self, key: tuple[int, int]) -> dict[str, Call]:
        band = self._bands.get(key)
        if band is None:
            band = self._bands[key] = {}
            self._keys.append(key)
            self._keys.sort()
        return band

    def push(self, call: Call) -> None:
        """Add at the tail of its band (``call.tier``: 1 new, 0 already handled)."""
        self._band((call.priority, call.tier))[call.id] = call
        self._size += 1

    def push_head(self, call: Call) -> None:
        """Add at the head of its priority (a call given back)."""
        call.tier = 0
        band = self._band((call.priority, 0))
        items = list(band.items())
        band.clear()
        band[call.id] = call
        band.update(items)
        self._size += 1

    def insert_in_order(self, call: Call) -> None:
        """Put a call back at the place its ``seq`` gives it in its band (a call
        coming back from a partner SAS keeps its original position)."""
        band = self._band((call.priority, call.tier))
        items = list(band.items())
        band.clear()
        placed = False
        for key, other in items:
            if not placed and other.seq > call.seq:
                band[call.id] = call
                placed = True
            band[key] = other
        if not placed:
            band[call.id] = call
        self._size += 1

    def remove(self, call: Call) -> bool:
        band = self._bands.get((call.priority, call.tier))
        if band is not None and band.pop(call.id, None) is not None:
            self._size -= 1
            return True
        return False

    def heads(self) -> Iterator[Call]:
        """The first call of each non-empty band, most urgent band first."""
        for key in self._keys:
            band = self._bands[key]
            if band:
                yield next(iter(band.values()))

    def __iter__(self) -> Iterator[Call]:
        """Every waiting call in service order."""
        for key in self._keys:
            yield from list(self._bands[key].values())

    def oldest(self) -> Call | None:
        """The call that has waited longest in this queue (any priority)."""
        best: Call | None = None
        for head in self.heads():
            if best is None or head.enqueued_at < best.enqueued_at:
                best = head
        return best


class AgentPool:
    """Available agents per (skill, level), longest idle first."""

    __slots__ = ("_pools",)

    def __init__(self) -> None:
        self._pools: dict[str, dict[int, dict[str, Agent]]] = {}

    def add(self, agent: Agent) -> None:
        for skill, level in agent.skills.items():
            self._pools.setdefault(skill, {}).setdefault(level, {})[agent.id] = agent

    def discard(self, agent: Agent) -> None:
        for skill, level in agent.skills.items():
            levels = self._pools.get(skill)
            if levels is not None and level in levels:
                levels[level].pop(agent.id, None)

    def levels(self, skill: str) -> list[int]:
        """The levels that have at least one available agent for ``skill``, best first."""
        levels = self._pools.get(skill)
        if not levels:
            return []
        return sorted(level for level, agents in levels.items() if agents)

    def first(self, skill: str, level: int) -> Agent | None:
        levels = self._pools.get(skill)
        if not levels:
            return None
        agents = levels.get(level)
        if not agents:
            return None
        return next(iter(agents.values()))

    def available(self, skill: str, level: int) -> list[Agent]:
        """The available agents holding ``skill`` at ``level``, longest idle first."""
        levels = self._pools.get(skill)
        agents = levels.get(level) if levels else None
        return list(agents.values()) if agents else []

    def count(self, skill: str) -> int:
        levels = self._pools.get(skill)
        return sum(len(a) for a in levels.values()) if levels else 0

    def count_at(self, skill: str, level: int) -> int:
        """The available agents holding ``skill`` at ``level``."""
        levels = self._pools.get(skill)
        agents = levels.get(level) if levels else None
        return len(agents) if agents else 0

    def holds(self, agent: Agent, skill: str, level: int) -> bool:
        """``agent`` is available for ``skill`` at ``level``."""
        levels = self._pools.get(skill)
        agents = levels.get(level) if levels else None
        return agents is not None and agent.id in agents


def expansion_delay(level: int, expansion_s: list[float]) -> float | None:
    """Seconds of waiting before a level-``level`` agent may take the call.

    Level 1 is eligible at once; a level with no configured delay never is.
    """
    if level <= 1:
        return 0.0
    index = level - 2
    return expansion_s[index] if index < len(expansion_s) else None


#: may this agent, above level 1 for the call's queue, take the call before its
#: expansion delay? (:class:`acd.core.spare.SpareRule`; None: never, the fixed rule)
Lend = Callable[[Agent, Call], bool]


def pick_agent(call: Call, pool: AgentPool, expansion_s: list[float], now: float,
               lend: Lend | None = None) -> Agent | None:
    """The agent to offer ``call`` to now, or None: the best level whose expansion
    delay the call has waited, longest idle first; with ``lend``, also a backup of a
    higher level that may be lent before that delay (longest idle first)."""
    waited = now - call.enqueued_at
    for level in pool.levels(call.queue):
        delay = expansion_delay(level, expansion_s)
        if delay is None:
            break
        if waited >= delay:
            agent = pool.first(call.queue, level)
            if agent is not None:
                return agent
        elif lend is None:
            break  # higher levels have longer delays
        else:
            for agent in pool.available(call.queue, level):
                if lend(agent, call):
                    return agent
    return None


def pick_call(agent: Agent, queues: dict[str, SkillQueue],
              expansion: dict[str, list[float]], now: float,
              lend: Lend | None = None) -> Call | None:
    """The call ``agent`` should take now across all of its skills, or None."""
    best: Call | None = None
    for skill, level in agent.skills.items():
        queue = queues.get(skill)
        if queue is None:
            continue
        delay = expansion_delay(level, expansion.get(skill, []))
        if delay is None:
            continue
        for head in queue.heads():
            if now - head.enqueued_at >= delay or (
                    lend is not None and delay > 0 and lend(agent, head)):
                if best is None or (head.priority, head.tier, head.seq) < (
                        best.priority, best.tier, best.seq):
                    best = head
                break
    return best


def ring_group(call: Call, first: Agent, pool: AgentPool, expansion_s: list[float],
               now: float, size: int, free: Callable[[Agent], bool],
               lend: Lend | None = None) -> Iterator[Agent]:
    """The agents to ring together with ``first`` for ``call`` (a ring group of
    ``size`` phones at most): more agents of ``first``'s level, longest idle first,
    each eligible for the call as ``first`` was (the expansion delay waited, or lent
    by ``lend``) and ``free`` (no other caller waits for it). Yielded one at a time:
    the caller rings each before the next is weighed, so a lend sees the loans
    already made."""
    level = first.skills.get(call.queue)
    delay = expansion_delay(level, expansion_s) if level is not None else None
    if size <= 1 or level is None or delay is None:
        return
    waited = now - call.enqueued_at >= delay
    if not waited and lend is None:
        return
    taken = 1
    for agent in pool.available(call.queue, level):
        if taken == size:
            return
        if agent is not first and free(agent) and (waited or (lend is not None
                                                              and lend(agent, call))):
            taken += 1
            yield agent
