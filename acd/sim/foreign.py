"""Channels that are not ACD callers, and the actions the router sends them.

A real Asterisk carries more than the ACD's callers: an IVR (both halves of a Local
channel in ``Wait()``), a direct call between two phones, and the far ``;1`` half of
every Local caller. None of them carries an ACD variable: ``Status … Variables:``
answers ``ACD_NUMBER=(null)`` for them (recordings 14 and 18). A scenario places
some with ``foreign_channels = N``; they live until the PBX restarts or crashes.

:class:`ForeignChannels` also keeps the score the simulation reports:

* ``touched``: actions the router sent naming a foreign channel (or a caller's
  ``;1`` half) — must stay empty;
* ``native_moved``: callers the router Redirected out of the fail-open ``Queue()``
  or out of the conversation the native queue connected — must stay empty.
"""

from __future__ import annotations

from acd.sim.kernel import Kernel
from acd.sim.model import UP, Bridge, Channel

#: the lab's IVR (``extensions.conf`` of the live recordings)
IVR_CONTEXT = "lab-ivr"
IVR_EXTEN = "700"
#: the context of the site's own phones (a call between two of them)
PHONES_CONTEXT = "from-internal"


class ForeignChannels:
    """The non-ACD channels of one simulated PBX, and what the router did to them."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        #: names of the live foreign channels
        self.names: set[str] = set()
        #: (action, channel) of every action the router sent to a foreign channel
        self.touched: list[tuple[str, str]] = []
        #: caller channels Redirected out of the native queue or its conversation
        self.native_moved: list[str] = []
        self._seq = 0

    def place(self, count: int) -> None:
        """``count`` channels: IVR pairs and calls between two phones, in turn."""
        made = 0
        while made < count:
            if self._seq % 2 == 0:
                made += self._ivr(min(2, count - made))
            else:
                made += self._direct(min(2, count - made))
            self._seq += 1

    def is_foreign(self, channel: str) -> bool:
        """A channel no ACD action may name: a foreign one or a caller's ``;1``."""
        if channel in self.names:
            return True
        ch = self.kernel.channels.get(channel)
        return ch is not None and ch.role == "caller-phone"

    def on_action(self, name: str, channel: str) -> None:
        """Score an action the router sends (before the PBX carries it out)."""
        if not channel:
            return
        if self.is_foreign(channel):
            self.touched.append((name, channel))
        if name.lower() == "redirect":
            ch = self.kernel.channels.get(channel)
            call = ch.call if ch is not None else None
            if call is not None and ch is call.trunk and call.native_queue:
                self.native_moved.append(channel)

    def drop(self, *, quietly: bool) -> None:
        """The PBX stops: every foreign channel goes (with its Hangup unless
        ``quietly``, as in a crash)."""
        for name in sorted(self.names):
            ch = self.kernel.channels.get(name)
            if ch is None:
                continue
            if quietly:
                ch.alive = False
                self.kernel.channels.pop(name, None)
            else:  # an AMI Hangup of a channel that is not a caller's, cause 0
                self.kernel.events.soft_hangup_request(ch, 16)
                self.kernel.gone(ch, 0, "pbx", "restart")
        self.names.clear()

    # ------------------------------------------------------------------ kinds

    def _new(self, name: str, *, linkedid: str | None = None, tech: str = "Local") -> Channel:
        ch = self.kernel.new_channel(name, "foreign", linkedid=linkedid, tech=tech)
        ch.state = UP
        self.names.add(name)
        self.kernel.events.newchannel(ch)
        return ch

    def _ivr(self, count: int) -> int:
        base = f"Local/{IVR_EXTEN}@{IVR_CONTEXT}-{self.kernel.next_local():08x}"
        one = self._new(base + ";1")
        one.goto(IVR_CONTEXT, IVR_EXTEN, 2, "Wait", "3600")
        if count > 1:
            two = self._new(base + ";2", linkedid=one.linkedid)
            two.goto(IVR_CONTEXT, IVR_EXTEN, 2, "Wait", "3600")
        return count

    def _direct(self, count: int) -> int:
        seq = self.kernel.next_local()
        caller = self._new(f"PJSIP/ext-{2000 + seq}-{seq:08x}", tech="PJSIP")
        caller.goto(PHONES_CONTEXT, str(3000 + seq), 1, "Dial", f"PJSIP/ext-{3000 + seq}")
        if count > 1:
            callee = self._new(f"PJSIP/ext-{3000 + seq}-{seq:08x}", tech="PJSIP",
                               linkedid=caller.linkedid)
            callee.goto(PHONES_CONTEXT, str(3000 + seq), 1, "AppDial", "(Outgoing Line)")
            bridge = Bridge(uniqueid=f"foreign-{seq:08x}")
            self.kernel.events.bridge_enter(bridge, caller)
            self.kernel.events.bridge_enter(bridge, callee)
        return count
