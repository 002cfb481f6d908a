"""The simulated PBX's data: channels, bridges, calls, dial attempts, hangup records.

Pure data and the header blocks Asterisk prints for them; the behaviour lives in
:mod:`acd.sim.pbx`. Header names and their order are those of the recorded
transcripts (``tests/fixtures/ami/recorded``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

#: ``(name, value)`` pairs of one AMI message, in wire order
Headers = list[tuple[str, str]]

#: Asterisk's channel state numbers and their ``ChannelStateDesc``
DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
STATE_DESC: dict[int, str] = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up",
                              BUSY: "Busy"}
#: ``ChannelState`` and ``ChannelStateDesc`` of each state, written once (a channel
#: block is built for most events)
_STATE_TEXT: dict[int, tuple[str, str]] = {n: (str(n), d) for n, d in STATE_DESC.items()}

#: the headers of a channel block, in order (:meth:`Channel.block`), and by prefix
_BLOCK = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
          "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
          "Exten", "Priority", "Uniqueid", "Linkedid")
_BLOCK_NAMES: dict[str, tuple[str, ...]] = {}

#: what a channel is in the simulated call (``partner``: the trunk leg to a partner SAS,
#: ``partner-local``: the ``;2`` half when that dial string is a Local channel)
Role = Literal["caller-phone", "caller", "agent", "agent-local", "partner", "partner-local",
               "foreign"]

#: who caused a channel's hangup
HangupBy = Literal["caller", "agent", "router-action", "pbx"]


class ChannelNotFound(LookupError):
    """No live channel of that name."""

CAUSE_TEXT: dict[int, str] = {0: "Unknown", 16: "Normal Clearing", 17: "User busy",
                              19: "User alerting, no answer", 21: "Call Rejected",
                              26: "Answered elsewhere", 34: "Circuit/channel congestion"}
#: the hang-up cause ``Dial`` gives the phones it stops ringing when another answers
ANSWERED_ELSEWHERE = 26


@dataclass(eq=False)
class Channel:
    """One live Asterisk channel as AMI shows it."""

    name: str
    uniqueid: str
    linkedid: str
    role: Role
    created: float
    tech: str = "Local"
    state: int = DOWN
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    app_data: str = ""
    #: channel variables by bare name (``__X`` is stored as ``X``)
    variables: dict[str, str] = field(default_factory=dict)
    #: names of the variables inherited by channels this one dials (``__X``)
    inheritable: set[str] = field(default_factory=set)
    bridge_id: str = ""
    alive: bool = True
    #: the call this channel belongs to
    call: Call | None = None

    def block(self, prefix: str = "") -> Headers:
        """The standard channel header block (``Dest``/``LocalOne``… with a prefix)."""
        names = _BLOCK_NAMES.get(prefix)
        if names is None:
            names = _BLOCK_NAMES[prefix] = tuple(prefix + name for name in _BLOCK)
        state, desc = _STATE_TEXT.get(self.state) or (str(self.state), "Unknown")
        return list(zip(names, (
            self.name, state, desc, self.cid_num, self.cid_name, self.conn_num,
            self.conn_name, "en", "", self.context, self.exten, str(self.priority),
            self.uniqueid, self.linkedid),
            strict=True))

    def goto(self, context: str, exten: str, priority: int, application: str = "",
             app_data: str = "") -> None:
        """Move the channel's dialplan location (and the application it runs)."""
        self.context, self.exten, self.priority = context, exten, priority
        self.application, self.app_data = application, app_data

    def set_var(self, name: str, value: str) -> None:
        """``Set(name=value)``: ``__X`` and ``_X`` are stored as X and inherited."""
        bare = name.lstrip("_")
        if name.startswith("_"):
            self.inheritable.add(bare)
        self.variables[bare] = value


@dataclass(eq=False)
class Bridge:
    """A basic two-party bridge."""

    uniqueid: str
    members: list[Channel] = field(default_factory=list)

    def block(self) -> Headers:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(len(self.members))),
            ("BridgeVideoSourceMode", "none"),
        ]


class Phase(enum.Enum):
    """Where a call is in the dialplan."""

    ARRIVING = "arriving"    # running [incoming], not announced yet
    WAITING = "waiting"      # in [holding]
    DIALLING = "dialling"    # in acd-connect, the agent's phone rings
    TALKING = "talking"      # bridged with the agent
    OVERFLOWING = "overflowing"  # in acd-overflow, the partner SAS's trunk rings
    WITH_PARTNER = "with-partner"  # bridged with the partner SAS
    QUEUED = "queued"        # in [acd-failopen]'s native Queue(), no member ringing
    GONE = "gone"            # hung up


OfferKind = Literal["answer", "noanswer", "busy", "unavailable"]
Ender = Literal["caller", "agent"]


@dataclass(frozen=True)
class OfferOutcome:
    """What an agent does with one offered call (decided by the behaviour object)."""

    kind: OfferKind = "answer"
    #: simulated seconds the phone rings before the agent answers
    answer_after_s: float = 1.0
    #: simulated seconds of conversation once answered
    talk_s: float = 60.0
    #: who ends the conversation
    ender: Ender = "caller"
    #: at the end of the talk time the agent presses the transfer feature code to this
    #: queue (``[acd-transfer]``) instead of ending the call; None: no transfer
    transfer_to: str | None = None


@dataclass(eq=False)
class Dial:
    """One ``Dial()`` of an agent by a caller."""

    agent_id: str
    device: str
    dial_string: str
    #: the leg that is dialled and bridged (``;1`` of a Local pair, or the device channel)
    outer: Channel
    #: the ``;2`` half running ``[agents]`` for a Local device, else None
    inner: Channel | None
    outcome: OfferOutcome
    started: float
    answered_at: float | None = None
    bridge: Bridge | None = None

    def legs(self) -> list[Channel]:
        return [self.outer] if self.inner is None else [self.outer, self.inner]


@dataclass(eq=False)
class PartnerDial:
    """One ``Dial()`` of a partner SAS by a caller (``[acd-overflow]``)."""

    #: the partner's name (the extension of ``acd-overflow``)
    partner: str
    #: what follows the technology in the dial string (``sas62/15``): the DialString
    dial_string: str
    #: the leg that is dialled and bridged (the trunk channel, or ``;1`` of a Local pair)
    outer: Channel
    #: the ``;2`` half for a Local dial string, else None
    inner: Channel | None
    started: float
    answered_at: float | None = None
    bridge: Bridge | None = None

    def legs(self) -> list[Channel]:
        return [self.outer] if self.inner is None else [self.outer, self.inner]


#: a caller's outgoing Dial: to an agent or to a partner SAS
Outgoing = Dial | PartnerDial


@dataclass(eq=False)
class Call:
    """A caller: the ``;1`` remote phone and the ``;2`` leg that runs the dialplan."""

    index: int
    number: str
    phone: Channel
    trunk: Channel
    patience_s: float
    arrived: float
    phase: Phase = Phase.ARRIVING
    priority: int | None = None
    dial: Dial | None = None
    #: the other phones the same ``Dial(a&b&…)`` rings beside ``dial``, until one answers
    also_ringing: list[Dial] = field(default_factory=list)
    #: the partner SAS being dialled or talked to (``[acd-overflow]``)
    partner: PartnerDial | None = None
    in_moh: bool = False
    originate_action_id: str | None = None
    announced: bool = False
    #: in [acd-failopen]'s Queue(): a member's Dial is the queue's, not acd-connect's
    native_queue: bool = False
    #: simulated time of the first Dial of an agent (by acd-connect or the native queue)
    first_dialled: float | None = None
    #: simulated time the dialplan announced the call (AcdCallWaiting: the wait starts)
    announced_at: float | None = None
    #: simulated time an agent first picked the call up (the wait ends)
    answered_at: float | None = None

    @property
    def channel(self) -> str:
        """The channel the router sees and Redirects (the ``;2`` half)."""
        return self.trunk.name

    def ringing_dials(self) -> list[Dial]:
        """The phones of its ``Dial`` (one, or several rung at once); empty when none."""
        return [] if self.dial is None else [self.dial, *self.also_ringing]


@dataclass(frozen=True)
class HangupRecord:
    """Who hung up one channel, and why."""

    channel: str
    uniqueid: str
    role: Role
    by: HangupBy
    reason: str
    cause: int
    at: float
