"""Hang-ups of a caller's side: the phone, the ``;2``, or the bridged far end going.

Each sequence takes the whole call down in the order Asterisk sends the events
(Hangup of each leg, the bridge, the device states). Part of the channel kernel: it
holds no state of its own, so each context makes one from the kernel it is given.
"""

from __future__ import annotations

from collections.abc import Callable

from acd.sim.kernel import Kernel, bridged, outgoing
from acd.sim.legs import Legs
from acd.sim.model import Call, Dial, HangupBy, Outgoing, Phase


class Teardown:
    """The end of a call, whoever causes it."""

    def __init__(self, kernel: Kernel, legs: Legs) -> None:
        self.kernel = kernel
        self.legs = legs

    @staticmethod
    def far_end_by(call: Call, by: HangupBy) -> HangupBy:
        """Who the far end's legs are hung up by when the caller's side goes: the same
        party for an agent's legs, the PBX's cleanup for a partner trunk."""
        return "pbx" if call.partner is not None else by

    def caller_hangs_up(self, call: Call, *, by: HangupBy, reason: str, cause: int) -> None:
        """The remote phone (``;1``) hangs up; ``cause`` as the ``;2`` is told."""
        kernel = self.kernel
        ev, phone, trunk = kernel.events, call.phone, call.trunk
        out, far, far_by = self._start(call, by)
        ev.soft_hangup_request(phone, 16)
        ev.hangup_request(trunk, cause)
        kernel.gone(phone, cause, by, reason)
        if not self._release_far_end(call, out, far, far_by, reason):
            ev.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")
        ev.soft_hangup_request(trunk, 16)
        kernel.gone(trunk, 16, by, reason)
        self._end(call, far, far_by, reason, device_events=1)

    def trunk_hangs_up(self, call: Call, *, by: HangupBy, reason: str, cause: int,
                       phone_cause: int = 16) -> None:
        """The caller's ``;2`` is hung up (AMI Hangup, missing extension, shutdown)."""
        kernel = self.kernel
        ev, phone, trunk = kernel.events, call.phone, call.trunk
        out, far, far_by = self._start(call, by)
        ev.soft_hangup_request(trunk, 16)
        self._release_far_end(call, out, far, far_by, reason)
        ev.hangup_request(phone, 16)
        kernel.gone(trunk, cause, by, reason)
        ev.soft_hangup_request(phone, 16)
        kernel.gone(phone, phone_cause, by, reason)
        self._end(call, far, far_by, reason, device_events=2)

    def _start(self, call: Call,
               by: HangupBy) -> tuple[Outgoing | None, Outgoing | None, HangupBy]:
        """The caller's side is going: stop its timers; return its outgoing dial, that
        dial if bridged, and who the far end's legs are hung up by."""
        out = outgoing(call)
        far = out if bridged(call, out) else None
        self.kernel.cancel_timers(call)
        self.kernel.stop_patience(call)
        for listener in self.kernel.caller_gone_listeners:
            listener(call)
        call.phase = Phase.GONE
        return out, far, self.far_end_by(call, by)

    def _release_far_end(self, call: Call, out: Outgoing | None, far: Outgoing | None,
                         far_by: HangupBy, reason: str) -> bool:
        """Take the far end off the caller: leave the bridge, or cancel a ringing dial;
        False when the caller was only waiting on hold (its music stops)."""
        if far is not None:
            self.legs.caller_leaves_bridge(call, far, by=far_by, reason=reason)
        elif out is not None:
            self.legs.cancel_ringing(call, out, cause=16, by=far_by, reason=reason)
        else:
            self.kernel.stop_moh(call)
            return False
        return True

    def _end(self, call: Call, far: Outgoing | None, far_by: HangupBy,
             reason: str, *, device_events: int) -> None:
        self.legs.finish_far_end(far, by=far_by, reason=reason)
        call.dial = None
        call.partner = None
        for _ in range(device_events):
            self.kernel.events.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")

    def far_end_hangs_up(self, call: Call, out: Outgoing, *, by: HangupBy, reason: str,
                         dial_returned: Callable[[], None]) -> None:
        """The bridged agent or partner SAS hangs up: ``Dial`` returns ANSWER,
        ``dial_returned`` runs the dialplan after it (its UserEvent, then ``Hangup()``),
        and the caller is hung up by the dialplan."""
        kernel = self.kernel
        ev, trunk, phone, bridge = kernel.events, call.trunk, call.phone, out.bridge
        assert bridge is not None
        outer, inner = out.outer, out.inner
        kernel.cancel_timers(call)
        if inner is not None:
            ev.soft_hangup_request(inner, 16)
            ev.hangup_request(outer, 16)
            kernel.gone(inner, 16, by, reason)
        else:
            ev.hangup_request(outer, 16)
        ev.bridge_peer(bridge, clear=True)
        ev.bridge_leave(bridge, outer)
        self.legs.release_device(out)
        ev.bridge_leave(bridge, trunk)
        self.legs.talk_vars(call, out)
        dial_returned()
        call.phase = Phase.GONE
        who = "agent" if isinstance(out, Dial) else "partner SAS"
        dialplan = f"dialplan Hangup() after the {who} ended the call"
        ev.soft_hangup_request(trunk, 16)
        ev.hangup_request(phone, 16)
        kernel.gone(trunk, 16, "pbx", dialplan)
        ev.bridge_destroy(bridge)
        kernel.gone(outer, 16, by, reason)
        ev.soft_hangup_request(phone, 16)
        kernel.gone(phone, 16, "pbx", dialplan)
        ev.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")
        ev.caller_device(f"Local/{call.number}@incoming", "NOT_INUSE")
