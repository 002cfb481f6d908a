"""Which free agent a warm transfer waits for, read from the room (never changed).

A warm transfer rings one agent of its target at a time (:mod:`acd.core.warm`); the
offers of queued calls ask here first whether an agent is awaited by one
(:meth:`WarmTargets.waiting_for`): a transferred call goes ahead of new arrivals.
"""

from __future__ import annotations

from acd.core.model import Agent, AgentState, WarmTransfer
from acd.core.room import RoomState
from acd.core.roster import Roster
from acd.core.routing import expansion_delay


class WarmTargets:
    """The agents warm transfers may ring, and the one each waits for."""

    def __init__(self, state: RoomState, roster: Roster) -> None:
        self.state = state
        self.roster = roster
        self.config = state.config

    def waiting_for(self, agent: Agent) -> WarmTransfer | None:
        """The warm transfer ``agent`` would be rung for now, if any."""
        state = self.state
        if state.warm and state.link_up and state.decide:
            for warm in state.warm.values():
                if warm.target is None and not warm.expired \
                        and self.eligible(warm, agent) and not self.yields(warm):
                    return warm
        return None

    def candidate(self, warm: WarmTransfer) -> Agent | None:
        """The free agent of the target queue to ring: best level the skill's expansion
        delays allow by now, longest idle first; none already rung for this transfer."""
        if not self.state.link_up or self.yields(warm):
            return None
        best: Agent | None = None
        selectable = self.roster.selectable
        for agent in self.state.agents.values():
            if self.eligible(warm, agent) and agent.state is AgentState.AVAILABLE \
                    and selectable(agent) and (
                        best is None or (agent.skills[warm.to_queue], agent.idle_since)
                        < (best.skills[warm.to_queue], best.idle_since)):
                best = agent
        return best

    def eligible(self, warm: WarmTransfer, agent: Agent) -> bool:
        """The skill's expansion delay is over for ``agent``'s level, or nobody waits
        in their own filière (``[routing] backups = "spare"``: a handled call)."""
        level = agent.skills.get(warm.to_queue)
        if level is None or agent.id in warm.tried or agent.id == warm.agent:
            return False
        delay = expansion_delay(level, self.state.expansion.get(warm.to_queue, []))
        if delay is None:
            return False
        if self.state.now - warm.at >= delay:
            return True
        spare = self.state.selection.spare
        return spare is not None and spare.spares_for_handled(agent, warm.to_queue)

    def yields(self, warm: WarmTransfer) -> bool:
        """Whether a caller waiting on music in the target queue goes first: one of a
        more urgent priority, or of the same priority unless transferred calls go
        ahead of those (``ahead_of_new``). The warm caller is not alone meanwhile."""
        call = self.state.calls.get(warm.call)
        queue = self.state.queues.get(warm.to_queue)
        if call is None or queue is None:
            return False
        ahead = self.config.transfers.ahead_of_new
        return any(head.priority < call.priority
                   or (head.priority == call.priority and not (ahead and head.tier > 0))
                   for head in queue.heads())

