"""Which member a try rings first: app_queue's metrics (``calc_metric``), the choice
of the best (``find_best``) and what ``rrmemory`` and ``linear`` remember
(``store_next_rr``, ``store_next_lin``).

The metric is ``penalty × 1,000,000`` plus the strategy's part; the lowest rings first:

* ``ringall``: nothing (every member of the best penalty rings);
* ``leastrecent``: 0 for a member who never took a call of this queue, else
  ``1,000,000 − (now − lastcall)`` in whole seconds;
* ``fewestcalls``: the calls of this queue the member took;
* ``rrmemory``: the member's position, +1000 for those before the queue's ``rrpos``;
* ``linear``: the same with the caller's own ``linpos``;
* ``random``: a draw in 0…999 (seeded).

A member outside the caller's penalty range (``QUEUE_MAX_PENALTY``,
``QUEUE_MIN_PENALTY``) is left out of the try altogether.

Ties: app_queue builds a try's list by prepending each member, and ``find_best`` keeps
the first strict minimum, so among equal metrics the member *later* in the queue's
member list rings first (as read; in Asterisk the member container's order, a hash for
most strategies, decides: any fixed order would be as faithful).
"""

from __future__ import annotations

import random

from acd.tools.appqueue.state import Attempt, Candidate, Entry, Member, Queue

#: one penalty level outweighs any strategy's part
PENALTY_WEIGHT = 1_000_000
#: ``rrmemory`` and ``linear``: members before the remembered position come after
WRAP = 1000


def in_range(entry: Entry, member: Member) -> bool:
    maximum, minimum = entry.max_penalty, entry.min_penalty
    return not ((maximum is not None and member.penalty > maximum)
                or (minimum is not None and member.penalty < minimum))


def candidates(entry: Entry, second: int, rng: random.Random) -> list[Candidate]:
    """The try's list: every member in the caller's range with its metric, in
    app_queue's order (reverse member order)."""
    queue = entry.queue
    out = [Candidate(member, metric(queue, entry, member, second, rng))
           for member in queue.members if in_range(entry, member)]
    out.reverse()
    return out


def metric(queue: Queue, entry: Entry, member: Member, second: int,
           rng: random.Random) -> int:
    strategy = queue.strategy
    part = 0
    if strategy == "leastrecent":
        part = 0 if member.lastcall is None else PENALTY_WEIGHT - (second - member.lastcall)
    elif strategy == "fewestcalls":
        part = member.calls
    elif strategy == "rrmemory":
        part = _from(member.position, queue.rrpos)
        if member.position > queue.rrpos:
            queue.wrapped = True  # a later member exists: the round is not over
    elif strategy == "linear":
        part = _from(member.position, entry.linpos)
        if member.position > entry.linpos:
            entry.linwrapped = True
    elif strategy == "random":
        part = rng.randrange(WRAP)
    return member.penalty * PENALTY_WEIGHT + part


def _from(position: int, start: int) -> int:
    return WRAP + position if position < start else position


def find_best(attempt: Attempt) -> Candidate | None:
    """The candidate not yet tried with the lowest metric (the first one in the list
    among equals)."""
    best: Candidate | None = None
    for candidate in attempt.candidates:
        if not candidate.tried and (best is None or candidate.metric < best.metric):
            best = candidate
    return best


def store_next(entry: Entry, attempt: Attempt) -> None:
    """After a ring: where ``rrmemory`` (per queue) and ``linear`` (per caller) start
    next time: the best member left untried, else one further (or back to 0 when the
    round reached the end)."""
    queue = entry.queue
    if queue.strategy not in ("rrmemory", "linear"):
        return
    best = find_best(attempt)
    if queue.strategy == "rrmemory":
        queue.rrpos = best.metric % WRAP if best is not None else \
            0 if queue.wrapped else queue.rrpos + 1
        queue.wrapped = False
    else:
        entry.linpos = best.metric % WRAP if best is not None else \
            0 if entry.linwrapped else entry.linpos + 1
        entry.linwrapped = False
