"""Who may be rung, and whose turn it is: app_queue's availability tests.

``second`` is ``time(NULL)``: app_queue keeps ``lastcall`` and a caller's start in
whole seconds, so wrap-ups and rules run on whole seconds too.

* a member is available (``is_member_available``) when its phone is logged in, not
  paused, neither ringing nor in use, and the queue's ``wrapuptime`` has passed since
  its last call *of this queue* (``shared_lastcall = no``);
* ``num_available_members`` counts them, but stops at one without ``autofill`` or
  with ``ringall``: only one caller can be served then;
* it is a caller's turn (``is_our_turn``) when fewer callers ahead of it, not counting
  those already ringing a member, than there are available members; without
  ``autofill``, only the caller at the head of the queue;
* a member can be rung for a caller (``can_ring_entry``) when it is available as above
  and, when some queue has a ``weight``, no other queue of higher weight that it
  belongs to has at least as many callers as available members (``compare_weight``).

Neither test looks at the caller's penalty range: a caller whose limits exclude every
free member still gets its turn, rings nobody and waits its ``retry``.
"""

from __future__ import annotations

from acd.tools.appqueue.state import Entry, Member, Queue, Room


def member_available(queue: Queue, member: Member, second: int) -> bool:
    if not member.phone.free():
        return False
    return (member.lastcall is None or not queue.wrapup_s
            or second - member.lastcall >= queue.wrapup_s)


def available_members(queue: Queue, second: int) -> int:
    """Members available now, at most one without autofill or with ringall."""
    cap = 1 if not queue.autofill or queue.strategy == "ringall" else len(queue.members)
    count = 0
    for member in queue.members:
        if member_available(queue, member, second):
            count += 1
            if count >= cap:
                break
    return count


def our_turn(entry: Entry, second: int) -> bool:
    queue = entry.queue
    callers = queue.callers
    if not queue.autofill:
        return callers[0] is entry and available_members(queue, second) > 0
    available = available_members(queue, second)
    ahead = 0
    for other in callers:
        if ahead >= available:
            return False
        if other is entry:
            return True
        if not other.pending:
            ahead += 1
    return False


def can_ring(room: Room, queue: Queue, member: Member, second: int) -> bool:
    if not member_available(queue, member, second):
        return False
    return not (room.use_weight and kept_for_heavier_queue(room, queue, member, second))


def kept_for_heavier_queue(room: Room, queue: Queue, member: Member, second: int) -> bool:
    """``compare_weight``: another queue of this agent, of higher weight, has callers
    and no more available members than callers."""
    for other, _ in room.memberships[member.phone.agent]:
        if other is queue or not other.callers or other.weight <= queue.weight:
            continue
        if len(other.callers) >= available_members(other, second):
            return True
    return False
