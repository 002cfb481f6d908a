"""What a simulated agent's desktop shows of a call offered to it: the queue the
router offers it from (the ``CallOffered`` fact its CTI stream carries).

A simulated run (``acd simulate``, the fast day) hands :meth:`Desk.queue_of` to the
PBX model, whose agents then talk as the call's queue needs: a backup answering a
front-office call talks like a front-office call, not like its own filière's.
"""

from __future__ import annotations

from acd.core import facts as f


class Desk:
    """The queue of each call offered to each agent, from the router's facts."""

    def __init__(self) -> None:
        #: call id → agent id → the queue it was last offered from
        self._offers: dict[str, dict[str, str]] = {}

    def on_fact(self, fact: f.Fact) -> None:
        if isinstance(fact, f.CallOffered):
            self._offers.setdefault(fact.call, {})[fact.agent] = fact.queue
        elif isinstance(fact, f.CallEnded):
            self._offers.pop(fact.call, None)

    def queue_of(self, call: str, agent: str) -> str | None:
        """The queue ``call`` was last offered to ``agent`` from; None if never."""
        return self._offers.get(call, {}).get(agent)
