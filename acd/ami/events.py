"""Typed AMI events: the only shape of Asterisk's events the rest of acd sees.

Each event the engine uses is a frozen ``msgspec.Struct`` whose fields carry
Asterisk's header names (``Uniqueid``, ``CallerIDName``…). :func:`decode_frame` goes
from raw frame bytes to a typed event in one step and returns ``None`` for the events
nobody uses (VarSet, Newexten, DeviceStateChange of other devices…) without parsing
them. Unknown events are not errors: Asterisk adds events between versions.

Numbers that the engine compares (Timestamp, Priority…) are decoded with
``strict=False`` so the wire's strings become floats and ints. A ``Timestamp`` outside
``[0, MAX_TIMESTAMP]`` (``nan``, ``1e12``) makes the event undecodable: the engine's
clock is taken from it, and a year out of range would break every date it formats.
So does a channel name holding CR, LF or NUL: the router could never send it back to
Asterisk in an action (:func:`acd.ami.frames.serialize` refuses it), so that channel
is skipped rather than half handled.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from acd.ami.frames import AmiMessage, frame_event_name, parse_frame, sendable

#: the latest event time accepted (2100-01-01T00:00:00Z): a sane PBX clock
MAX_TIMESTAMP: Final = 4_102_444_800.0
#: an epoch time that is a number, not negative and before 2100 (so never nan or inf)
EpochSeconds = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_TIMESTAMP)]


class AmiEvent(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Base of all typed events. ``timestamp`` is Asterisk's epoch time, if sent."""

    timestamp: EpochSeconds | None = msgspec.field(default=None, name="Timestamp")


class ChannelEvent(AmiEvent, frozen=True, gc=False, kw_only=True):
    """An event about one channel (the standard channel header block)."""

    channel: str = msgspec.field(name="Channel")
    uniqueid: str = msgspec.field(default="", name="Uniqueid")
    linkedid: str = msgspec.field(default="", name="Linkedid")
    channel_state: int = msgspec.field(default=0, name="ChannelState")
    caller_id_num: str = msgspec.field(default="", name="CallerIDNum")
    caller_id_name: str = msgspec.field(default="", name="CallerIDName")
    context: str = msgspec.field(default="", name="Context")
    exten: str = msgspec.field(default="", name="Exten")


class FullyBooted(AmiEvent, frozen=True, gc=False, kw_only=True):
    """Asterisk is up and has sent us everything it holds back at login."""

    status: str = msgspec.field(default="", name="Status")
    uptime: int = msgspec.field(default=0, name="Uptime")


class Shutdown(AmiEvent, frozen=True, gc=False, kw_only=True):
    """Asterisk is stopping or restarting (the connection will close)."""

    shutdown: str = msgspec.field(default="", name="Shutdown")
    restart: str = msgspec.field(default="", name="Restart")


class Reload(AmiEvent, frozen=True, gc=False, kw_only=True):
    """Asterisk reloaded modules (``core reload``, ``module reload``; class system).
    ``dialplan reload`` sends none. Not recorded: the headers are those Asterisk's
    documentation gives (``Module``, ``All`` for every module; ``Status``, 0 = success).
    """

    module: str = msgspec.field(default="", name="Module")
    status: str = msgspec.field(default="", name="Status")


class Newchannel(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A channel was created."""


class Newstate(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A channel changed state (Ring, Ringing, Up…)."""


class Hangup(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A channel is gone."""

    cause: int = msgspec.field(default=0, name="Cause")
    cause_txt: str = msgspec.field(default="", name="Cause-txt")


#: SoftHangupRequest's ``Cause`` when Asterisk is stopping (AST_SOFTHANGUP_SHUTDOWN)
SOFT_HANGUP_SHUTDOWN: Final = 4


class SoftHangupRequest(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """Asterisk asked a channel to hang up. ``Cause`` is the soft hang-up *flag*, not
    a Q.850 cause: :data:`SOFT_HANGUP_SHUTDOWN` (4) means Asterisk itself is stopping
    (``core restart now``, ``core stop now``: recording 09 shows it on every channel,
    the waiting callers' included, before any Hangup, and the ``Shutdown`` event 1.1 s
    after them)."""

    cause: int = msgspec.field(default=0, name="Cause")


class MusicOnHoldStart(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A channel started hearing music on hold (it is waiting, not talking)."""


class _DialEvent(AmiEvent, frozen=True, gc=False, kw_only=True):
    # Originate produces Dial events with only the Dest* block: Channel may be absent.
    channel: str = msgspec.field(default="", name="Channel")
    uniqueid: str = msgspec.field(default="", name="Uniqueid")
    linkedid: str = msgspec.field(default="", name="Linkedid")
    dest_channel: str = msgspec.field(default="", name="DestChannel")
    dest_uniqueid: str = msgspec.field(default="", name="DestUniqueid")
    dest_linkedid: str = msgspec.field(default="", name="DestLinkedid")
    dial_string: str = msgspec.field(default="", name="DialString")


class DialBegin(_DialEvent, frozen=True, gc=False, kw_only=True):
    """A channel started dialling another (the agent's phone rings)."""


class DialEnd(_DialEvent, frozen=True, gc=False, kw_only=True):
    """A dial ended: ANSWER, NOANSWER, BUSY, CANCEL, CHANUNAVAIL, CONGESTION…"""

    dial_status: str = msgspec.field(default="", name="DialStatus")


class _BridgeEvent(ChannelEvent, frozen=True, gc=False, kw_only=True):
    bridge_uniqueid: str = msgspec.field(default="", name="BridgeUniqueid")
    bridge_num_channels: int = msgspec.field(default=0, name="BridgeNumChannels")


class BridgeEnter(_BridgeEvent, frozen=True, gc=False, kw_only=True):
    """A channel entered a bridge (two parties talking)."""


class BridgeLeave(_BridgeEvent, frozen=True, gc=False, kw_only=True):
    """A channel left a bridge."""


class DeviceStateChange(AmiEvent, frozen=True, gc=False, kw_only=True):
    """A device (a phone) changed state: NOT_INUSE, INUSE, RINGING, UNAVAILABLE…"""

    device: str = msgspec.field(name="Device")
    state: str = msgspec.field(default="", name="State")


class UserEvent(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A ``UserEvent()`` from the dialplan; its own headers are in ``headers``."""

    name: str = msgspec.field(name="UserEvent")
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class QueueCallerJoin(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A caller entered a native Asterisk ``Queue()`` (the fail-open path)."""

    queue: str = msgspec.field(default="", name="Queue")
    position: int = msgspec.field(default=0, name="Position")


class QueueCallerLeave(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A caller left a native queue (answered or gone)."""

    queue: str = msgspec.field(default="", name="Queue")


class QueueCallerAbandon(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A caller hung up while waiting in a native queue."""

    queue: str = msgspec.field(default="", name="Queue")
    hold_time: int = msgspec.field(default=0, name="HoldTime")


class AgentConnect(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """A native queue connected its caller to a member."""

    queue: str = msgspec.field(default="", name="Queue")
    member_name: str = msgspec.field(default="", name="MemberName")
    interface: str = msgspec.field(default="", name="Interface")
    dest_channel: str = msgspec.field(default="", name="DestChannel")
    hold_time: int = msgspec.field(default=0, name="HoldTime")


class BlindTransfer(AmiEvent, frozen=True, gc=False, kw_only=True):
    """A blind transfer was attempted (``Result: Success`` or ``Invalid``…)."""

    result: str = msgspec.field(default="", name="Result")
    transferee_channel: str = msgspec.field(default="", name="TransfereeChannel")
    transferer_channel: str = msgspec.field(default="", name="TransfererChannel")
    extension: str = msgspec.field(default="", name="Extension")
    context: str = msgspec.field(default="", name="Context")


class AttendedTransfer(AmiEvent, frozen=True, gc=False, kw_only=True):
    """An attended transfer completed or failed."""

    result: str = msgspec.field(default="", name="Result")
    orig_transferer_channel: str = msgspec.field(default="", name="OrigTransfererChannel")
    second_transferer_channel: str = msgspec.field(default="", name="SecondTransfererChannel")


class OriginateResponse(AmiEvent, frozen=True, gc=False, kw_only=True):
    """The outcome of an ``Async`` Originate (an event carrying the action's ActionID).

    On ``Response: Failure``, ``Channel`` is the channel as asked (the device, e.g.
    ``PJSIP/mg01``) and ``Reason`` says why (Asterisk's ``AST_CONTROL_*`` codes: 0
    failed, 1 hung up, 3 no answer while ringing, 5 busy, 8 congestion); on ``Success``
    it is the created channel, reason 4. ``Context`` and ``Exten`` are the Originate's
    (live t3-06e, t3-06f: ``acd-warm``, the target agent's id).
    """

    action_id: str = msgspec.field(default="", name="ActionID")
    response: str = msgspec.field(default="", name="Response")
    channel: str = msgspec.field(default="", name="Channel")
    reason: str = msgspec.field(default="", name="Reason")
    uniqueid: str = msgspec.field(default="", name="Uniqueid")
    context: str = msgspec.field(default="", name="Context")
    exten: str = msgspec.field(default="", name="Exten")


class CoreShowChannel(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """One live channel, in answer to ``CoreShowChannels``."""

    action_id: str = msgspec.field(default="", name="ActionID")
    application: str = msgspec.field(default="", name="Application")
    bridge_id: str = msgspec.field(default="", name="BridgeId")
    duration: str = msgspec.field(default="", name="Duration")


class StatusEntry(ChannelEvent, frozen=True, gc=False, kw_only=True):
    """One live channel, in answer to ``Status`` (AMI event name ``Status``).

    ``variables`` holds the ``Variable: NAME=value`` headers asked with ``Variables:``.
    """

    action_id: str = msgspec.field(default="", name="ActionID")
    application: str = msgspec.field(default="", name="Application")
    #: the application's arguments (``acd-front-office`` for a Queue())
    data: str = msgspec.field(default="", name="Data")
    bridge_id: str = msgspec.field(default="", name="BridgeID")
    seconds: int = msgspec.field(default=0, name="Seconds")
    variables: dict[str, str] = msgspec.field(default_factory=dict)


class ListComplete(AmiEvent, frozen=True, gc=False, kw_only=True):
    """End of an AMI list (``StatusComplete``, ``CoreShowChannelsComplete``…)."""

    event: str = msgspec.field(name="Event")
    action_id: str = msgspec.field(default="", name="ActionID")
    list_items: int = msgspec.field(default=0, name="ListItems")


#: AMI event name → typed Struct. Events not listed here are skipped unparsed.
EVENT_TYPES: Final[dict[str, type[AmiEvent]]] = {
    "FullyBooted": FullyBooted,
    "Shutdown": Shutdown,
    "Reload": Reload,
    "Newchannel": Newchannel,
    "Newstate": Newstate,
    "Hangup": Hangup,
    "SoftHangupRequest": SoftHangupRequest,
    "MusicOnHoldStart": MusicOnHoldStart,
    "DialBegin": DialBegin,
    "DialEnd": DialEnd,
    "BridgeEnter": BridgeEnter,
    "BridgeLeave": BridgeLeave,
    "DeviceStateChange": DeviceStateChange,
    "UserEvent": UserEvent,
    "QueueCallerJoin": QueueCallerJoin,
    "QueueCallerLeave": QueueCallerLeave,
    "QueueCallerAbandon": QueueCallerAbandon,
    "AgentConnect": AgentConnect,
    "BlindTransfer": BlindTransfer,
    "AttendedTransfer": AttendedTransfer,
    "CoreShowChannel": CoreShowChannel,
    "OriginateResponse": OriginateResponse,
    "Status": StatusEntry,
    "CoreShowChannelsComplete": ListComplete,
    "StatusComplete": ListComplete,
}

#: The same table keyed by the raw bytes of the name, for the skip test on the hot path.
WANTED_EVENT_NAMES: Final[frozenset[bytes]] = frozenset(n.encode() for n in EVENT_TYPES)

# Headers of the standard channel block: a UserEvent's own headers are the others.
_CHANNEL_BLOCK: Final[frozenset[str]] = frozenset({
    "Event", "Privilege", "Timestamp", "Channel", "ChannelState", "ChannelStateDesc",
    "CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName", "Language",
    "AccountCode", "Context", "Exten", "Priority", "Uniqueid", "Linkedid", "UserEvent",
    "SystemName",
})


#: headers naming a channel the router may act on (Redirect, Setvar, Hangup, bridge)
_CHANNEL_HEADERS: Final[tuple[str, ...]] = (
    "Channel", "DestChannel", "TransfereeChannel", "TransfererChannel",
    "OrigTransfererChannel", "SecondTransfererChannel")


class UndecodableEvent(Exception):
    """A wanted event whose headers do not fit its type (e.g. Hangup without Channel)."""


def decode_message(message: AmiMessage, *, check_channels: bool = True) -> AmiEvent | None:
    """Typed event for a parsed message, ``None`` if it is not an event we use.
    ``check_channels=False``: the caller knows no value holds CR, LF or NUL."""
    name = message.get("Event")
    if name is None:
        return None
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        return None
    if check_channels and not _channels_sendable(message):
        header = next(h for h in _CHANNEL_HEADERS if not sendable(message.get(h) or ""))
        raise UndecodableEvent(f"{name}: {header} holds a line break or NUL: a "
                               "channel that cannot be named to Asterisk is skipped")
    try:
        if event_type is UserEvent:
            return _decode_user_event(message)
        if event_type is StatusEntry:
            return _decode_status(message)
        return msgspec.convert(message, event_type, strict=False)
    except msgspec.ValidationError as exc:
        raise UndecodableEvent(f"{name}: {exc}") from exc


def _channels_sendable(message: AmiMessage) -> bool:
    """Whether no header naming a channel holds CR, LF or NUL: one look at them all
    together (the event path's hot spot; which one is found only when one does)."""
    return sendable("".join(filter(None, map(message.get, _CHANNEL_HEADERS))))


def decode_frame(frame: bytes) -> AmiEvent | None:
    """Raw frame → typed event; cheap ``None`` for events nobody uses."""
    name = frame_event_name(frame)
    if name is None or name not in WANTED_EVENT_NAMES:
        return None
    # the headers' own CRLFs aside, no CR, LF or NUL: nothing to look for header by
    # header (three scans in C, cheaper than the look-ups on the hot path)
    lines = frame.count(b"\r\n")
    clean = frame.count(b"\r") == lines and frame.count(b"\n") == lines \
        and b"\0" not in frame
    return decode_message(parse_frame(frame), check_channels=not clean)


def _decode_user_event(message: AmiMessage) -> UserEvent:
    own = {k: v for k, v in message.items() if k not in _CHANNEL_BLOCK}
    if message.multi:
        # a dialplan header that repeats a channel header (the second Uniqueid:)
        for key, values in message.multi.items():
            if key in _CHANNEL_BLOCK and key != "UserEvent" and len(values) > 1:
                own.setdefault(key, values[-1])
    event = msgspec.convert(message, UserEvent, strict=False)
    return msgspec.structs.replace(event, headers=own)


def _decode_status(message: AmiMessage) -> StatusEntry:
    variables: dict[str, str] = {}
    for item in message.get_all("Variable"):
        key, _, value = item.partition("=")
        variables[key] = value
    event = msgspec.convert(message, StatusEntry, strict=False)
    return msgspec.structs.replace(event, variables=variables)
