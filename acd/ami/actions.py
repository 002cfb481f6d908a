"""Typed AMI actions and their wire form. Pure data: no sockets here.

Every action the router may send is a frozen Struct; :func:`action_headers` gives the
``(key, value)`` pairs in the order Asterisk documents them, ``ActionID`` added by the
connection. Actions carry an optional ``ref`` (not sent) so that a failure can be fed
back to the engine, which put the call back in its queue.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class Action(msgspec.Struct, frozen=True, kw_only=True):
    """Base of typed actions; ``ref`` identifies what the engine asked it for."""

    name: ClassVar[str]
    ref: Any = None

    def headers(self) -> list[tuple[str, str]]:
        """The action's own headers (none for Ping, Logoff, CoreShowChannels)."""
        return []


class Login(Action, frozen=True, kw_only=True):
    name: ClassVar[str] = "Login"
    username: str
    secret: str
    events: str = "on"

    def headers(self) -> list[tuple[str, str]]:
        return [("Username", self.username), ("Secret", self.secret), ("Events", self.events)]

    def __repr__(self) -> str:  # never print the secret
        return f"Login(username={self.username!r}, secret='***', events={self.events!r})"


class Logoff(Action, frozen=True, kw_only=True):
    name: ClassVar[str] = "Logoff"


class Ping(Action, frozen=True, kw_only=True):
    name: ClassVar[str] = "Ping"


class Setvar(Action, frozen=True, kw_only=True):
    """Set a channel variable (or a global one when ``channel`` is empty)."""

    name: ClassVar[str] = "Setvar"
    channel: str = ""
    variable: str
    value: str

    def headers(self) -> list[tuple[str, str]]:
        out = [("Channel", self.channel)] if self.channel else []
        out += [("Variable", self.variable), ("Value", self.value)]
        return out


class _ChannelToLocation(Action, frozen=True, kw_only=True):
    """A channel and a dialplan location (context, extension, priority): where a
    Redirect moves the channel, where an Originate sends it once answered."""

    channel: str
    context: str
    exten: str
    priority: int = 1

    def headers(self) -> list[tuple[str, str]]:
        return [("Channel", self.channel), ("Context", self.context), ("Exten", self.exten),
                ("Priority", str(self.priority))]


class Redirect(_ChannelToLocation, frozen=True, kw_only=True):
    """Move a channel to a dialplan location (``ExtraChannel`` moves a second one)."""

    name: ClassVar[str] = "Redirect"
    extra_channel: str = ""
    extra_context: str = ""
    extra_exten: str = ""
    extra_priority: int = 1

    def headers(self) -> list[tuple[str, str]]:
        out = super().headers()
        if self.extra_channel:
            out += [("ExtraChannel", self.extra_channel),
                    ("ExtraContext", self.extra_context or self.context),
                    ("ExtraExten", self.extra_exten or self.exten),
                    ("ExtraPriority", str(self.extra_priority))]
        return out


class Status(Action, frozen=True, kw_only=True):
    """List channels (all when ``channel`` is empty), with the named variables."""

    name: ClassVar[str] = "Status"
    channel: str = ""
    variables: tuple[str, ...] = ()

    def headers(self) -> list[tuple[str, str]]:
        out = [("Channel", self.channel)] if self.channel else []
        if self.variables:
            out.append(("Variables", ",".join(self.variables)))
        return out


class CoreShowChannels(Action, frozen=True, kw_only=True):
    name: ClassVar[str] = "CoreShowChannels"


class Originate(_ChannelToLocation, frozen=True, kw_only=True):
    """Create a call: the router rings the target agent of a warm transfer with it
    (``Channel`` = the agent's device, then ``Context``/``Exten`` once answered); the
    simulator's drivers and tests place callers with it."""

    name: ClassVar[str] = "Originate"
    caller_id: str = ""
    variables: tuple[str, ...] = ()
    is_async: bool = True
    #: milliseconds to wait for an answer (Asterisk's default, 30 000, when 0)
    timeout_ms: int = 0

    def headers(self) -> list[tuple[str, str]]:
        out = super().headers()
        if self.timeout_ms > 0:
            out.append(("Timeout", str(self.timeout_ms)))
        if self.caller_id:
            out.append(("CallerID", self.caller_id))
        out += [("Variable", v) for v in self.variables]
        out.append(("Async", "true" if self.is_async else "false"))
        return out


class Hangup(Action, frozen=True, kw_only=True):
    """Hang up a channel. The router never sends it for a caller (see engine)."""

    name: ClassVar[str] = "Hangup"
    channel: str
    cause: int = 16

    def headers(self) -> list[tuple[str, str]]:
        return [("Channel", self.channel), ("Cause", str(self.cause))]


class QueueAdd(Action, frozen=True, kw_only=True):
    """Add a dynamic member to a native queue (the fail-open queue's front office)."""

    name: ClassVar[str] = "QueueAdd"
    queue: str
    interface: str
    member_name: str = ""
    paused: bool = False

    def headers(self) -> list[tuple[str, str]]:
        out = [("Queue", self.queue), ("Interface", self.interface), ("Penalty", "0"),
               ("Paused", "true" if self.paused else "false")]
        if self.member_name:
            out.append(("MemberName", self.member_name))
        return out


class QueueRemove(Action, frozen=True, kw_only=True):
    name: ClassVar[str] = "QueueRemove"
    queue: str
    interface: str

    def headers(self) -> list[tuple[str, str]]:
        return [("Queue", self.queue), ("Interface", self.interface)]


class QueuePause(Action, frozen=True, kw_only=True):
    name: ClassVar[str] = "QueuePause"
    queue: str
    interface: str
    paused: bool
    reason: str = ""

    def headers(self) -> list[tuple[str, str]]:
        out = [("Queue", self.queue), ("Interface", self.interface),
               ("Paused", "true" if self.paused else "false")]
        if self.reason:
            out.append(("Reason", self.reason))
        return out


class QueueStatus(Action, frozen=True, kw_only=True):
    """List a native queue's parameters, members and callers (``QueueParams``, one
    ``QueueMember`` per member with its interface in ``Location``, ``QueueEntry``,
    then ``QueueStatusComplete``: transcript 05)."""

    name: ClassVar[str] = "QueueStatus"
    queue: str

    def headers(self) -> list[tuple[str, str]]:
        return [("Queue", self.queue)]


def action_headers(action: Action, action_id: str) -> list[tuple[str, str]]:
    """Full header list of ``action`` as sent: Action, ActionID, then its own."""
    return [("Action", action.name), ("ActionID", action_id), *action.headers()]
