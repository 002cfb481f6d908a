"""Engine inputs that do not come from Asterisk's event stream.

AMI events (``acd.ami.events``) are inputs as they are; these are the others: the
timer, the outcome of the router's own actions, the link going up or down, a resync
snapshot, a change of leader, and agent/supervisor intents from the HTTP API (which reach the same
handlers as the dialplan's feature codes).
"""

from __future__ import annotations

import msgspec

from acd.ami.events import StatusEntry
from acd.core.state import EngineState


class Tick(msgspec.Struct, frozen=True):
    """Time passed: run what is due (ring time-outs, wrap-up ends, skill expansion)."""


class OfferRef(msgspec.Struct, frozen=True, gc=False):
    """The actions of one offer of a call (or of one overflow attempt): a failure
    counts only while the call's ``offer_id`` is still ``offer``."""

    call: str
    offer: int


class WarmRef(msgspec.Struct, frozen=True, gc=False):
    """The actions of one ring of a warm transfer (``token``) of a call, and of its
    handover to the agent who answered."""

    call: str
    token: int


class ActionFailed(msgspec.Struct, frozen=True):
    """An action the engine asked for got ``Response: Error`` or could not be sent;
    ``ref`` is the action's (:class:`OfferRef`, :class:`WarmRef`, None: nobody waits
    for its outcome)."""

    ref: OfferRef | WarmRef | None
    action: str
    message: str


class LinkDown(msgspec.Struct, frozen=True):
    """The AMI connection is lost: nothing can be sent until it is back."""

    reason: str = ""


class LeadershipChanged(msgspec.Struct, frozen=True):
    """This router became the leader of its active/standby pair (``leading``), or stopped
    being it (or starts as a pair member). A leader decides again, but only once the
    ``Status`` list asked for at its election has landed; a standby follows Asterisk's
    events without deciding."""

    leading: bool


class ChannelsSnapshot(msgspec.Struct, frozen=True):
    """Every live channel, from a ``Status`` list taken at (re)connection.

    The engine reconciles its view with it: calls whose channel is gone are closed,
    waiting calls it did not know are picked up, agents shown busy with no channel
    are freed. Receiving it also means the link is up again.
    """

    channels: list[StatusEntry]
    #: when the list was asked for: calls that arrived later are not judged by it
    taken_at: float = 0.0


class TransferRequest(msgspec.Struct, frozen=True):
    """Move a call to another filière (queue): from the dialplan's transfer feature code
    (the agent on the call) or the API (an agent or a supervisor, by call id)."""

    target: str
    agent: str | None = None
    call: str | None = None
    by: str = "agent"


class BasculeRequest(msgspec.Struct, frozen=True):
    """A supervisor switches a queue ("*": the whole site) to partner SAS, wholly
    (share 1.0) or partly (0.3 = 30 % of new calls), or back (share 0)."""

    queue: str
    share: float
    partner: str | None = None
    by: str = "supervisor"
    reason: str = ""


class _AgentChange(msgspec.Struct, frozen=True):
    """An agent's state changes, as ``by`` asked (the agent itself, its feature code,
    a supervisor); nothing else to say, unlike a pause (:class:`AgentPause`)."""

    agent: str
    by: str = "agent"


class AgentLogin(_AgentChange, frozen=True):
    """The agent starts taking calls (a logged-out agent becomes available)."""


class AgentLogout(_AgentChange, frozen=True):
    """The agent stops taking calls (after the call it rings for or talks in)."""


class AgentPause(msgspec.Struct, frozen=True):
    agent: str
    reason: str = "break"
    by: str = "agent"


class AgentReady(_AgentChange, frozen=True):
    """The agent takes calls again (a pause ends, or one asked for is dropped)."""


class AgentReskill(msgspec.Struct, frozen=True):
    """Give an agent new skills and levels while the router runs (the N1/N2 rotation of
    the ARM): ``{"ARM_N1": 2, "AMU_N2": 1}`` replaces the agent's whole skill set. It
    applies to the next offers; a call already ringing or talking is not touched."""

    agent: str
    skills: dict[str, int]
    by: str = "supervisor"
    reason: str = ""


class Reconcile(msgspec.Struct, frozen=True):
    """Every live channel, from a ``Status`` list the periodic reconciler asked for
    while the link was up. Unlike :class:`ChannelsSnapshot` (taken after a reconnect,
    when events were missed for sure), the engine repairs only a disagreement seen in
    two lists in a row: one list alone may race with events in flight."""

    channels: list[StatusEntry]
    taken_at: float = 0.0


class StateRestored(msgspec.Struct, frozen=True):
    """The engine's state as the previous run left it (read back from Redis at start,
    before the AMI session): calls with their queue positions and legs, agents with
    their states, bascules, partners held down. A :class:`ChannelsSnapshot` follows,
    which reconciles it with what Asterisk has now."""

    state: EngineState
