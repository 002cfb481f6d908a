"""The dialplan's UserEvents, typed: one struct per event the router knows, found by
the name ``[dialplan]`` gives it.

The dialplan tells the router what happens with ``UserEvent()``: a caller arrived, is
waiting, an agent's phone is being dialled, a feature code was pressed… The AMI decoder
(:mod:`acd.ami.events`) gives each as a :class:`~acd.ami.events.UserEvent`, its own
headers as text. :class:`UserEventDecoder` turns those whose name is configured
(``call_waiting_event``, ``arrival_event``… of :class:`~acd.config.DialplanNames`)
into the struct of that event, whose attributes are the headers the router reads, so
the engine dispatches on the type and reads attributes. The raw headers stay in
``headers``; a UserEvent of another name stays a plain ``UserEvent``.

Two events configured under one name: the first in the order of :func:`_named` wins.
A header whose text is no value (a ``Priority`` of ``x``) gives the attribute its
default, as if absent: the event is never dropped for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, Self

import msgspec

from acd.ami.events import AmiEvent, UserEvent, decode_frame, decode_message
from acd.ami.frames import AmiMessage
from acd.config.schema import DialplanNames

#: (attribute, the dialplan's header that fills it, how its text becomes the value)
HeaderFields = tuple[tuple[str, str, Callable[[str], object]], ...]
#: the highest call priority the dialplan may give (0 is the most urgent)
MAX_PRIORITY: Final = 9


def call_priority(text: str | None) -> int | None:
    """A call's priority from the dialplan's text (a number, 0 to 9); None when there
    is none or the text is no such number (the site's default priority applies)."""
    if text is not None and text.isdecimal() and int(text) <= MAX_PRIORITY:
        return int(text)
    return None


class DialplanEvent(UserEvent, frozen=True, gc=False, kw_only=True):
    """Base of the typed UserEvents. ``HEADERS`` says which attribute each of the
    dialplan's headers fills, and how its text becomes the attribute's value."""

    HEADERS: ClassVar[HeaderFields] = ()

    @classmethod
    def of(cls, event: UserEvent) -> Self:
        """The typed form of ``event`` (a plain UserEvent of this struct's name)."""
        headers = event.headers
        values: dict[str, Any] = msgspec.structs.asdict(event)
        for attribute, header, parse in cls.HEADERS:
            text = headers.get(header)
            if text is not None:
                values[attribute] = parse(text)
        return cls(**values)


class _CallerEvent(DialplanEvent, frozen=True, gc=False, kw_only=True):
    """A caller in ``[acd-announce]``: the number dialled, the caller's name, the queue
    the dialplan chose if any, and the call's Uniqueid."""

    HEADERS: ClassVar[HeaderFields] = (
        ("number", "Number", str), ("caller_name", "CallerName", str),
        ("queue", "Queue", str), ("dialplan_uniqueid", "Uniqueid", str))

    number: str = ""
    caller_name: str = ""
    queue: str = ""
    #: the ``Uniqueid`` the dialplan sends after the channel's own (None: not sent)
    dialplan_uniqueid: str | None = None

    @property
    def call_id(self) -> str:
        """The call's id: the channel's Uniqueid, else the dialplan's, else the channel."""
        if self.uniqueid:
            return self.uniqueid
        return self.channel if self.dialplan_uniqueid is None else self.dialplan_uniqueid


class CallArrived(_CallerEvent, frozen=True, gc=False, kw_only=True):
    """A caller reached ``[acd-announce]``, before its announcement (``arrival_event``)."""


class CallWaiting(_CallerEvent, frozen=True, gc=False, kw_only=True):
    """A caller is waiting, its announcement over (``call_waiting_event``)."""

    HEADERS: ClassVar[HeaderFields] = (
        *_CallerEvent.HEADERS, ("priority", "Priority", call_priority))

    #: 0 (most urgent) to 9; None: not sent, or not such a digit
    priority: int | None = None


class Connecting(DialplanEvent, frozen=True, gc=False, kw_only=True):
    """``[acd-connect]`` starts dialling an agent (``connecting_event``)."""

    HEADERS: ClassVar[HeaderFields] = (("agent", "Agent", str),)

    agent: str = ""


class DialplanDialEnd(DialplanEvent, frozen=True, gc=False, kw_only=True):
    """``[acd-connect]``'s Dial() to an agent returned (``dial_end_event``)."""

    HEADERS: ClassVar[HeaderFields] = (("dial_status", "DialStatus", str),)

    dial_status: str = ""


class FeatureCode(DialplanEvent, frozen=True, gc=False, kw_only=True):
    """A feature code dialled from an agent's phone; ``agent`` when the dialplan names
    the agent, else the phone's channel tells who."""

    HEADERS: ClassVar[HeaderFields] = (("agent", "Agent", str),)

    agent: str = ""


class LoginCode(FeatureCode, frozen=True, gc=False, kw_only=True):
    """``*71``: log in (``agent_login_event``)."""


class LogoutCode(FeatureCode, frozen=True, gc=False, kw_only=True):
    """``*72``: log out (``agent_logout_event``)."""


class PauseCode(FeatureCode, frozen=True, gc=False, kw_only=True):
    """``*73``: pause, with the reason the code carries (``agent_pause_event``)."""

    HEADERS: ClassVar[HeaderFields] = (*FeatureCode.HEADERS, ("reason", "Reason", str))

    reason: str = ""


class ReadyCode(FeatureCode, frozen=True, gc=False, kw_only=True):
    """``*74``: ready again (``agent_ready_event``)."""


class TransferCode(FeatureCode, frozen=True, gc=False, kw_only=True):
    """A transfer feature code: move the agent's caller to queue ``target``
    (``transfer_event``)."""

    HEADERS: ClassVar[HeaderFields] = (*FeatureCode.HEADERS, ("target", "Target", str))

    target: str = ""


class WarmAnswered(DialplanEvent, frozen=True, gc=False, kw_only=True):
    """The target of a warm transfer answered ``[acd-warm]`` (``warm_answered_event``):
    the call it was rung for and the agent."""

    HEADERS: ClassVar[HeaderFields] = (("call", "Call", str), ("agent", "Agent", str))

    call: str = ""
    agent: str = ""


class OverflowTrying(DialplanEvent, frozen=True, gc=False, kw_only=True):
    """``[acd-overflow]`` is about to dial a partner SAS (``overflow_trying_event``)."""


class OverflowEnd(DialplanEvent, frozen=True, gc=False, kw_only=True):
    """``[acd-overflow]``'s Dial() to the partner returned (``overflow_end_event``)."""

    HEADERS: ClassVar[HeaderFields] = (("dial_status", "DialStatus", str),)

    dial_status: str = ""


def _named(names: DialplanNames) -> tuple[tuple[str, type[DialplanEvent]], ...]:
    """Each struct under its configured name, in the order that settles two events
    given one name (the first wins)."""
    return (
        (names.call_waiting_event, CallWaiting),
        (names.arrival_event, CallArrived),
        (names.connecting_event, Connecting),
        (names.dial_end_event, DialplanDialEnd),
        (names.agent_login_event, LoginCode),
        (names.agent_logout_event, LogoutCode),
        (names.agent_pause_event, PauseCode),
        (names.agent_ready_event, ReadyCode),
        (names.warm_answered_event, WarmAnswered),
        (names.transfer_event, TransferCode),
        (names.overflow_end_event, OverflowEnd),
        (names.overflow_trying_event, OverflowTrying),
    )


class UserEventDecoder:
    """The AMI decoder of :mod:`acd.ami.events`, the dialplan's UserEvents typed by
    their configured names. ``names`` None: no name is known, every UserEvent stays
    plain (a link that only watches, as the tests' own clients)."""

    def __init__(self, names: DialplanNames | None = None) -> None:
        #: UserEvent name → its struct
        self.types: dict[str, type[DialplanEvent]] = {}
        if names is not None:
            for name, kind in _named(names):
                self.types.setdefault(name, kind)

    def typed(self, event: AmiEvent | None) -> AmiEvent | None:
        """``event``, a plain UserEvent of a configured name in its struct."""
        if type(event) is not UserEvent:
            return event
        kind = self.types.get(event.name)
        return event if kind is None else kind.of(event)

    def decode_frame(self, frame: bytes) -> AmiEvent | None:
        """:func:`acd.ami.events.decode_frame`, UserEvents typed."""
        return self.typed(decode_frame(frame))

    def decode_message(self, message: AmiMessage, *,
                       check_channels: bool = True) -> AmiEvent | None:
        """:func:`acd.ami.events.decode_message`, UserEvents typed."""
        return self.typed(decode_message(message, check_channels=check_channels))
