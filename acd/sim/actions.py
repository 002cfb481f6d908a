"""The AMI actions the simulated PBX answers, with Asterisk 22's exact wording.

Messages are those of the recorded transcripts (scenarios 01, 02, 08): e.g. a Redirect
of an unknown channel answers ``Channel does not exist: <name>``, a Status of one
``No such channel``. Lists (``Status``, ``CoreShowChannels``, regex ``Hangup``) are
framed as Asterisk does: ``Response: Success`` with ``EventList: start``, one event per
item carrying the ActionID, then a ``…Complete`` event with ``EventList: Complete``
and ``ListItems`` (``StatusComplete`` also ``Items``). List events carry no
``Timestamp:``.

Actions that change channels answer first and act right after (see
:class:`~acd.sim.wire.Reply`). A Redirect's goto runs a moment later still (on the
next turn of the event loop, as a channel thread picks it up): a second Redirect of
the same channel read before then is refused with ``Redirect failed, channel not
up.``, as Asterisk 22 did in recording live 04.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable

from acd.ami.frames import AmiMessage
from acd.sim.model import Channel, ChannelNotFound, Headers
from acd.sim.pbx import Pbx
from acd.sim.pbx_actions import PbxConfigActions
from acd.sim.wire import Reply, error, response

_CALLER_ID = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<num>[^>]*)>\s*$')
_ORIGINATE_CALLER = re.compile(r"^Local/(?P<number>[^@/]+)@incoming$")


def parse_caller_id(text: str) -> tuple[str, str]:
    """``"Jean Martin" <0612340201>`` → (name, number); a bare value is the number."""
    match = _CALLER_ID.match(text)
    if match:
        return match["name"].strip(), match["num"].strip()
    return "", text.strip()


def _duration(seconds: float) -> str:
    total = max(int(seconds), 0)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


class AmiActions:
    """:class:`~acd.sim.wire.ActionHandler` over a :class:`~acd.sim.pbx.Pbx`."""

    def __init__(self, pbx: Pbx, numbers: Iterable[str] = (), *,
                 defer: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.pbx = pbx
        #: runs a Redirect's goto "on the next turn": the event loop's call_soon, or a
        #: virtual clock's zero-delay timer when no loop drives the PBX
        self.defer = defer or _call_soon
        self._table: dict[str, Callable[[AmiMessage, str | None], Reply]] = {
            "ping": self.ping,
            "setvar": self.setvar,
            "getvar": self.getvar,
            "redirect": self.redirect,
            "hangup": self.hangup,
            "status": self.status,
            "coreshowchannels": self.core_show_channels,
            "originate": self.originate,
            "corestatus": self.core_status,
            "coresettings": self.core_settings,
            "command": self.command,
            **PbxConfigActions(pbx, numbers).table(),
        }
        #: every action handled, by name, for tests (``{"Redirect": 3}``)
        self.counts: dict[str, int] = {}
        #: channels a Redirect was accepted for whose goto has not run yet
        self._gotos_pending: set[str] = set()
        #: channels of Redirects refused because another one was pending (for tests)
        self.redirects_refused: list[str] = []

    def handle(self, name: str, message: AmiMessage) -> Reply:
        action_id = message.get("ActionID")
        handler = self._table.get(name.lower())
        if handler is None:
            return error(action_id, f"Invalid/unknown command: {name}. "
                                    "Use Action: ListCommands to show available commands.")
        self.counts[name] = self.counts.get(name, 0) + 1
        self.pbx.foreign.on_action(name, message.get("Channel", ""))
        return handler(message, action_id)

    # ---------------------------------------------------------------- simple

    def ping(self, message: AmiMessage, action_id: str | None) -> Reply:
        return Reply([response("Success", action_id, ("Ping", "Pong"),
                               ("Timestamp", f"{self.pbx.host.now():.6f}"))])

    def core_status(self, message: AmiMessage, action_id: str | None) -> Reply:
        calls = len(self.pbx.live_calls())
        return Reply([response("Success", action_id,
                               ("CoreStartupDate", "2026-11-22"), ("CoreStartupTime", "06:35:50"),
                               ("CoreReloadDate", "2026-11-22"), ("CoreReloadTime", "06:35:50"),
                               ("CoreCurrentCalls", str(calls)),
                               ("CoreProcessedCalls", str(len(self.pbx.calls))))])

    def core_settings(self, message: AmiMessage, action_id: str | None) -> Reply:
        return Reply([response("Success", action_id,
                               ("AMIversion", "11.0.0"), ("AsteriskVersion", "22.10.1"),
                               ("SystemName", ""), ("CoreMaxCalls", "500"),
                               ("CoreMaxLoadAvg", "0.000000"), ("CoreRunUser", ""),
                               ("CoreRunGroup", ""), ("CoreMaxFilehandles", "0"),
                               ("CoreRealTimeEnabled", "No"), ("CoreCDRenabled", "No"),
                               ("CoreHTTPenabled", "No"), ("SoundsSearchCustomDir", "No"))])

    def command(self, message: AmiMessage, action_id: str | None) -> Reply:
        text = message.get("Command", "").strip()
        uptime = self.pbx.uptime()
        outputs = {
            "core show version": ["Asterisk 22.10.1 (simulated by acd.sim)"],
            "core show uptime": [f"System uptime: {uptime} seconds",
                                 f"Last reload: {uptime} seconds"],
            # musiconhold.conf's one class (documented CLI output; not recorded)
            "moh show classes": [f"Class: {self.pbx.options.moh_class}",
                                 "\tMode: files", "\tDirectory: moh"],
        }
        lines = outputs.get(text)
        if lines is None:
            return Reply([response("Error", action_id, ("Message", "Command output follows"),
                                   ("Output", f"No such command '{text}'"))])
        return Reply([response("Success", action_id, ("Message", "Command output follows"),
                               *(("Output", line) for line in lines))])

    # ---------------------------------------------------------------- variables

    def setvar(self, message: AmiMessage, action_id: str | None) -> Reply:
        name = message.get("Variable", "")
        if not name:
            return error(action_id, "No variable specified")
        channel = message.get("Channel") or None
        value = message.get("Value", "")
        if channel is not None and channel not in self.pbx.channels:
            return error(action_id, "No such channel")
        self.pbx.set_var(channel, name, value)
        return Reply([response("Success", action_id, ("Message", "Variable Set"))])

    def getvar(self, message: AmiMessage, action_id: str | None) -> Reply:
        name = message.get("Variable", "")
        if not name:
            return error(action_id, "No variable specified")
        channel = message.get("Channel") or None
        try:
            value = self.pbx.get_var(channel, name)
        except ChannelNotFound:
            return error(action_id, "No such channel")
        return Reply([response("Success", action_id, ("Variable", name),
                               ("Value", value or ""))])

    # ---------------------------------------------------------------- channels

    def redirect(self, message: AmiMessage, action_id: str | None) -> Reply:
        channel = message.get("Channel", "")
        if not channel:
            return error(action_id, "Channel not specified")
        extra = message.get("ExtraChannel", "")
        for name in (channel, extra):
            if name and name not in self.pbx.channels:
                return error(action_id, f"Channel does not exist: {name}")
        context, exten = message.get("Context", ""), message.get("Exten", "")
        try:
            priority = int(message.get("Priority", "1") or "1")
        except ValueError:
            return error(action_id, "Invalid priority")
        moves = [(channel, context, exten, priority)]
        if extra:
            try:
                extra_priority = int(message.get("ExtraPriority", "") or priority)
            except ValueError:
                return error(action_id, "Invalid ExtraPriority")
            moves.append((extra, message.get("ExtraContext") or context,
                          message.get("ExtraExten") or exten, extra_priority))

        if channel in self._gotos_pending or extra in self._gotos_pending:
            # Asterisk's manager.c: the channel has a soft hangup flag set (the async
            # goto of the previous Redirect, not run yet): recording live 04
            self.redirects_refused.append(channel)
            return error(action_id, "Redirect failed, channel not up.")
        pending = {name for name, *_ in moves}
        self._gotos_pending |= pending

        def move() -> None:
            self._gotos_pending -= pending
            for name, ctx, ext, prio in moves:
                if name in self.pbx.channels:
                    self.pbx.redirect(name, ctx, ext, prio)

        def soon() -> None:
            # the channel's own thread runs the goto a moment later: an action read
            # with this one (the same write of the router) finds it still pending
            self.defer(move)

        text = "Dual Redirect successful" if extra else "Redirect successful"
        return Reply([response("Success", action_id, ("Message", text))], after=soon)

    def hangup(self, message: AmiMessage, action_id: str | None) -> Reply:
        channel = message.get("Channel", "")
        if not channel:
            return error(action_id, "No channel specified")
        try:
            cause = int(message.get("Cause", "0") or "0")
        except ValueError:
            cause = 0
        if len(channel) > 2 and channel.startswith("/") and channel.endswith("/"):
            return self._hangup_regex(channel[1:-1], cause, action_id)
        if channel not in self.pbx.channels:
            return error(action_id, "No such channel")

        def hang_up() -> None:
            if channel in self.pbx.channels:
                self.pbx.hangup(channel, cause=cause)

        return Reply([response("Success", action_id, ("Message", "Channel Hungup"))],
                     after=hang_up)

    def _hangup_regex(self, pattern: str, cause: int, action_id: str | None) -> Reply:
        try:
            regex = re.compile(pattern)
        except re.error:
            return error(action_id, "Invalid regex")
        names = [n for n in self.pbx.channels if regex.search(n)]
        aid = [("ActionID", action_id)] if action_id is not None else []
        messages = [response("Success", action_id, ("EventList", "start"),
                             ("Message", "Channels hung up will follow"))]
        messages += [[("Event", "ChannelHungup"), ("Channel", n), *aid] for n in names]
        messages.append([("Event", "ChannelsHungupListComplete"), *aid,
                         ("EventList", "Complete"), ("ListItems", str(len(names)))])

        def hang_up() -> None:
            for name in names:
                if name in self.pbx.channels:
                    self.pbx.hangup(name, cause=cause)

        return Reply(messages, after=hang_up)

    def originate(self, message: AmiMessage, action_id: str | None) -> Reply:
        channel = message.get("Channel", "")
        if not channel:
            return error(action_id, "Channel not specified")
        name, number = parse_caller_id(message.get("CallerID", ""))
        variables: dict[str, str] = {}
        for item in message.get_all("Variable"):
            for assignment in item.split(","):
                key, sep, value = assignment.partition("=")
                if sep and key.strip():
                    variables[key.strip()] = value
        match = _ORIGINATE_CALLER.match(channel)

        try:
            timeout_ms = int(message.get("Timeout", "") or "30000")
        except ValueError:
            timeout_ms = 30000

        def start() -> None:
            if match is None:
                if not self.pbx.warm.originate(channel, message.get("Context", ""),
                                               message.get("Exten", ""), variables,
                                               timeout_ms, action_id, (name, number)):
                    self._originate_failure(channel, message, action_id)
                return
            self.pbx.place_call(match["number"], name, number,
                                patience_s=_patience(variables),
                                priority=_priority(variables, self.pbx.names.priority_var),
                                variables=variables, originate_action_id=action_id or "")

        return Reply([response("Success", action_id,
                               ("Message", "Originate successfully queued"))], after=start)

    def _originate_failure(self, channel: str, message: AmiMessage,
                           action_id: str | None) -> None:
        aid = [("ActionID", action_id)] if action_id is not None else []
        self.pbx.events.emit("OriginateResponse", [
            *aid, ("Response", "Failure"), ("Channel", channel),
            ("Context", message.get("Context", "")), ("Exten", message.get("Exten", "")),
            ("Reason", "0"), ("Uniqueid", "<null>"), ("CallerIDNum", "<unknown>"),
            ("CallerIDName", "<unknown>")])

    # ---------------------------------------------------------------- lists

    def status(self, message: AmiMessage, action_id: str | None) -> Reply:
        name = message.get("Channel", "")
        if name:
            channel = self.pbx.channels.get(name)
            if channel is None:
                return error(action_id, "No such channel")
            channels = [channel]
        else:
            channels = list(self.pbx.channels.values())
        wanted = [v.strip() for v in message.get("Variables", "").split(",") if v.strip()]
        messages = [response("Success", action_id, ("EventList", "start"),
                             ("Message", "Channel status will follow"))]
        messages += [self._status_item(ch, wanted, action_id) for ch in channels]
        aid = [("ActionID", action_id)] if action_id is not None else []
        messages.append([("Event", "StatusComplete"), *aid, ("EventList", "Complete"),
                         ("ListItems", str(len(channels))), ("Items", str(len(channels)))])
        return Reply(messages)

    def _status_item(self, ch: Channel, wanted: list[str], action_id: str | None) -> Headers:
        now = self.pbx.clock.now()
        out: Headers = [("Event", "Status"), ("Privilege", "Call"), *ch.block(),
                        ("Type", ch.tech), ("DNID", ""),
                        ("EffectiveConnectedLineNum", ch.conn_num),
                        ("EffectiveConnectedLineName", ch.conn_name),
                        ("TimeToHangup", "0"), ("BridgeID", ch.bridge_id),
                        ("Application", ch.application), ("Data", ch.app_data),
                        ("Nativeformats", "(slin)"), ("Readformat", "slin"), ("Readtrans", ""),
                        ("Writeformat", "slin"), ("Writetrans", ""), ("Callgroup", "0"),
                        ("Pickupgroup", "0"), ("Seconds", str(int(now - ch.created)))]
        for var in wanted:
            value = self.pbx.get_var(ch.name, var)
            # Asterisk's word for a variable that is not set (recordings 14, 18)
            out.append(("Variable", f"{var}={'(null)' if value is None else value}"))
        if action_id is not None:
            out.append(("ActionID", action_id))
        return out

    def core_show_channels(self, message: AmiMessage, action_id: str | None) -> Reply:
        now = self.pbx.clock.now()
        aid = [("ActionID", action_id)] if action_id is not None else []
        channels = list(self.pbx.channels.values())
        messages = [response("Success", action_id, ("EventList", "start"),
                             ("Message", "Channels will follow"))]
        for ch in channels:
            messages.append([("Event", "CoreShowChannel"), *aid, *ch.block(),
                             ("Application", ch.application),
                             ("ApplicationData", ch.app_data),
                             ("Duration", _duration(now - ch.created)),
                             ("BridgeId", ch.bridge_id)])
        messages.append([("Event", "CoreShowChannelsComplete"), *aid,
                         ("EventList", "Complete"), ("ListItems", str(len(channels)))])
        return Reply(messages)


def _call_soon(callback: Callable[[], None]) -> None:
    asyncio.get_running_loop().call_soon(callback)


def _patience(variables: dict[str, str]) -> float | None:
    try:
        return float(variables["CALLER_PATIENCE"])
    except (KeyError, ValueError):
        return None


def _priority(variables: dict[str, str], name: str) -> int | None:
    for key in (name, f"_{name}", f"__{name}"):
        if key in variables:
            try:
                return int(variables[key])
            except ValueError:
                return None
    return None
