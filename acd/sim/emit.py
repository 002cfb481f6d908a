"""Build the AMI events of the simulated PBX and hand them to the subscribers.

Each event is a name, a privilege class and its headers (without ``Event:``,
``Privilege:`` and ``Timestamp:``, which the wire adds). Headers follow the order of
the recorded transcripts. The "full event mix" (``VarSet``, ``Newexten``,
``NewCallerid``, ``LocalBridge``, the caller-side ``DeviceStateChange``…, about half of
what a real Asterisk sends) is only produced when asked for: a router does not need
it, a benchmark does.

A subscriber may say which events it reads (:meth:`Emitter.subscribe` with
``names``): an event that no subscriber reads is counted as sent but its headers are
never built (in the fast day, a third of the events: ``VarSet``, ``DialState``,
``BridgeCreate``… that the router's decoder would drop unread).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from acd.sim.clock import SimClock
from acd.sim.model import Bridge, Channel, Headers

#: subscriber: ``(event name, privilege, headers, timestamp)``
EventSink = Callable[[str, str, Headers, float], None]
#: a subscriber and the only events it reads (``None``: every event)
_Subscriber = tuple[EventSink, frozenset[str] | None]


class Emitter:
    """Turns PBX happenings into events; counts them; tracks device states."""

    def __init__(self, clock: SimClock, *, full: bool = False,
                 stamp: Callable[[], float] | None = None) -> None:
        self.clock = clock
        #: each event's ``Timestamp:`` (the PBX host's clock; simulated time by default)
        self.stamp = stamp or clock.now
        #: also emit the dialplan-level events Asterisk sends (VarSet, Newexten…)
        self.full = full
        self.count = 0
        #: True while the PBX dies without a word (a crash): nothing is sent
        self.muted = False
        #: last state sent for each device (``PJSIP/arm01`` → ``INUSE``)
        self.device_states: dict[str, str] = {}
        self._sinks: list[_Subscriber] = []
        #: the events some subscriber reads (``None``: every event)
        self._read: frozenset[str] | None = frozenset()

    def subscribe(self, sink: EventSink, names: Collection[str] | None = None) -> None:
        """Send ``sink`` the events named in ``names`` (every event by default)."""
        self._sinks.append((sink, None if names is None else frozenset(names)))
        self._update_read()

    def unsubscribe(self, sink: EventSink) -> None:
        self._sinks = [s for s in self._sinks if s[0] != sink]
        self._update_read()

    def _update_read(self) -> None:
        read: set[str] = set()
        for _, names in self._sinks:
            if names is None:
                self._read = None
                return
            read |= names
        self._read = frozenset(read)

    def unread(self, name: str) -> bool:
        """Whether no subscriber reads event ``name``: then it is counted as sent
        (unless the PBX is muted) and not built."""
        read = self._read
        if read is None or name in read:
            return False
        if not self.muted:
            self.count += 1
        return True

    def emit(self, name: str, headers: Headers, privilege: str = "call") -> None:
        if not self.unread(name):
            self._send(name, headers, privilege)

    def _send(self, name: str, headers: Headers, privilege: str) -> None:
        """An event some subscriber reads, to those who read it."""
        if self.muted:
            return
        self.count += 1
        stamp = self.stamp()
        for sink, names in list(self._sinks):
            if names is None or name in names:
                sink(name, f"{privilege},all", headers, stamp)

    def channel(self, name: str, ch: Channel, *extra: tuple[str, str],
                privilege: str = "call") -> None:
        """An event made of the channel block and ``extra`` headers."""
        if not self.unread(name):
            self._send(name, [*ch.block(), *extra], privilege)

    # ---------------------------------------------------------------- dialplan

    def step(self, ch: Channel, context: str, exten: str, priority: int, app: str,
             data: str = "") -> None:
        """The channel runs ``app(data)`` at ``context,exten,priority`` (Newexten)."""
        ch.goto(context, exten, priority, app, data)
        if self.full:
            self.channel("Newexten", ch, ("Extension", exten), ("Application", app),
                         ("AppData", data), privilege="dialplan")

    def varset(self, ch: Channel, name: str, value: str, *, always: bool = False) -> None:
        """``Set(name=value)`` on a channel; the VarSet event only in the full mix
        unless ``always``."""
        ch.set_var(name, value)
        if always or self.full:
            self.channel("VarSet", ch, ("Variable", name), ("Value", value),
                         privilege="dialplan")

    def global_varset(self, name: str, value: str) -> None:
        self.emit("VarSet", [("Channel", "none"), ("Uniqueid", "none"), ("Variable", name),
                             ("Value", value)], "dialplan")

    def user_event(self, ch: Channel, name: str, headers: Headers) -> None:
        self.channel("UserEvent", ch, ("UserEvent", name), *headers, privilege="user")

    # ---------------------------------------------------------------- channels

    def newchannel(self, ch: Channel) -> None:
        self.channel("Newchannel", ch)

    def newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        self.channel("Newstate", ch)

    def callerid(self, ch: Channel) -> None:
        if self.full:
            self.channel("NewCallerid", ch,
                         ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))

    def connected_line(self, ch: Channel) -> None:
        if self.full:
            self.channel("NewConnectedLine", ch)

    def local_bridge(self, one: Channel, two: Channel, context: str, exten: str) -> None:
        if self.full:
            self.emit("LocalBridge", [*one.block("LocalOne"), *two.block("LocalTwo"),
                                      ("Context", context), ("Exten", exten),
                                      ("LocalOptimization", "Yes")])

    def soft_hangup_request(self, ch: Channel, cause: int = 16) -> None:
        self.channel("SoftHangupRequest", ch, ("Cause", str(cause)))

    def hangup_request(self, ch: Channel, cause: int) -> None:
        self.channel("HangupRequest", ch, ("Cause", str(cause)))

    def device(self, device: str, state: str, *, repeat: int = 1) -> None:
        """A device changed state: one event when the state changes (``repeat`` of
        them in the full mix, as Asterisk sends one per channel of a Local pair)."""
        changed = self.device_states.get(device) != state
        self.device_states[device] = state
        if changed or self.full:
            for _ in range(repeat if self.full else 1):
                self.emit("DeviceStateChange", [("Device", device), ("State", state)])

    def caller_device(self, device: str, state: str) -> None:
        """State of a caller's ``Local/15@incoming`` device: full mix only."""
        if self.full:
            self.device_states[device] = state
            self.emit("DeviceStateChange", [("Device", device), ("State", state)])

    # ---------------------------------------------------------------- dial

    def dial_begin(self, caller: Channel | None, dest: Channel, dial_string: str) -> None:
        head = caller.block() if caller is not None else []
        self.emit("DialBegin", [*head, *dest.block("Dest"), ("DialString", dial_string)])

    def dial_state(self, caller: Channel, dest: Channel, status: str) -> None:
        if not self.unread("DialState"):
            self._send("DialState", [*caller.block(), *dest.block("Dest"),
                                     ("DialStatus", status)], "call")

    def dial_end(self, caller: Channel | None, dest: Channel, status: str) -> None:
        head = caller.block() if caller is not None else []
        self.emit("DialEnd", [*head, *dest.block("Dest"), ("DialStatus", status)])

    # ---------------------------------------------------------------- bridges

    def bridge_create(self, bridge: Bridge) -> None:
        if not self.unread("BridgeCreate"):
            self._send("BridgeCreate", bridge.block(), "call")

    def bridge_enter(self, bridge: Bridge, ch: Channel) -> None:
        bridge.members.append(ch)
        ch.bridge_id = bridge.uniqueid
        self.emit("BridgeEnter", [*bridge.block(), *ch.block()])

    def bridge_leave(self, bridge: Bridge, ch: Channel) -> None:
        if ch in bridge.members:
            bridge.members.remove(ch)
        ch.bridge_id = ""
        self.emit("BridgeLeave", [*bridge.block(), *ch.block()])

    def bridge_destroy(self, bridge: Bridge) -> None:
        if not self.unread("BridgeDestroy"):
            self._send("BridgeDestroy", bridge.block(), "call")

    def bridge_peer(self, bridge: Bridge, *, clear: bool = False) -> None:
        """The BRIDGEPEER VarSets Asterisk sends when a two-party bridge forms/ends."""
        if not self.full or len(bridge.members) != 2:
            return
        one, two = bridge.members
        order = (one, two) if not clear else (two, one)
        for ch, peer in ((order[0], order[1]), (order[1], order[0])):
            self.varset(ch, "BRIDGEPEER", "" if clear else peer.name)

    # ---------------------------------------------------------------- music on hold

    def moh_start(self, ch: Channel, music_class: str) -> None:
        self.channel("MusicOnHoldStart", ch, ("Class", music_class))

    def moh_stop(self, ch: Channel) -> None:
        self.channel("MusicOnHoldStop", ch)
