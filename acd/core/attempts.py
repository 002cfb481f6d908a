"""The transfers asked for during a call, kept on the call for its record
(``transfers`` of :class:`~acd.core.records.CallRecord`): each request, cold or warm,
and how it ended. A warm transfer nobody took leaves no leg in the record; its attempt
is the only trace of it, and the estimate of transfer shares counts attempts."""

from __future__ import annotations

from acd.core.model import Call, TransferAttempt

#: results of an attempt that is over
CONNECTED = "connected"
CANCELLED = "cancelled"
CALLER_GONE = "caller_gone"
#: why a warm transfer in progress stops when its caller hangs up
CALLER_HUNG_UP = "caller hung up"


def opened(call: Call, *, to_queue: str, mode: str, agent: str | None, at: float) -> None:
    """An agent (or a supervisor) asked to move ``call`` from its queue to ``to_queue``."""
    call.transfers.append(TransferAttempt(from_queue=call.queue, to_queue=to_queue,
                                          mode=mode, agent=agent, at=at))


def closed(call: Call, result: str, at: float) -> None:
    """The attempt going on for ``call`` is over with ``result`` (none going on: no-op)."""
    if call.transfers and call.transfers[-1].ended_at is None:
        attempt = call.transfers[-1]
        attempt.result, attempt.ended_at = result, at
