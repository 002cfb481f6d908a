"""``[holding]`` (and the recordings' ``[holding-wait]``): callers wait for the router.

Music on hold restarted every ``ACD_HOLD_S`` seconds, after ``[holding]``'s fail-open
check (:mod:`acd.sim.failopen`); or the recordings' ``Wait(1)`` loop for the numbers
whose hold style is ``wait``.
"""

from __future__ import annotations

from acd.sim.failopen import NativeQueue
from acd.sim.kernel import Kernel
from acd.sim.model import Call, Phase


class Holding:
    """The ``[holding]`` context."""

    def __init__(self, kernel: Kernel, native: NativeQueue) -> None:
        self.kernel = kernel
        self.native = native

    def goto(self, call: Call, exten: str, priority: int) -> bool:
        """A Redirect into ``[holding]``; False for an extension it does not have."""
        if exten != self.kernel.names.holding_exten:
            return False
        self.enter(call)
        return True

    def enter(self, call: Call) -> None:
        """The caller waits (again) in ``[holding]``."""
        kernel = self.kernel
        kernel.cancel_timers(call)
        call.phase = Phase.WAITING
        call.dial = None
        trunk = call.trunk
        if kernel.options.hold_style.get(call.number, "moh") == "wait":
            kernel.events.step(trunk, "holding-wait", "s", 1, "NoOp",
                               "waiting for the ACD router (Wait loop)")
            kernel.events.step(trunk, "holding-wait", "s", 2, "Wait", "1")
            if kernel.events.full:
                kernel.after(call, 1.0, lambda: self._wait_loop(call))
            return
        self._start_moh(call)

    def stop_moh(self, call: Call) -> None:
        """The caller's music on hold stops (it leaves ``[holding]``)."""
        if call.in_moh:
            call.in_moh = False
            self.kernel.events.moh_stop(call.trunk)

    def _moh_class(self, call: Call) -> str:
        return (call.trunk.variables.get("ACD_MOH") or self.kernel.globals.get("ACD_MOH")
                or "default")

    def _start_moh(self, call: Call) -> None:
        kernel, names = self.kernel, self.kernel.names
        if self.native.check(call):
            return
        music = self._moh_class(call)
        kernel.events.step(call.trunk, names.holding_context, names.holding_exten, 2,
                           "MusicOnHold",
                           f"{music},{kernel.variable(call.trunk, 'ACD_HOLD_S')}")
        kernel.events.moh_start(call.trunk, music)
        call.in_moh = True
        kernel.after(call, kernel.options.hold_loop_s, lambda: self._moh_loop(call))

    def _moh_loop(self, call: Call) -> None:
        if call.phase is not Phase.WAITING:
            return
        names = self.kernel.names
        self.stop_moh(call)
        self.kernel.events.step(call.trunk, names.holding_context, names.holding_exten, 3,
                                "Goto", f"{names.holding_context},{names.holding_exten},1")
        self._start_moh(call)

    def _wait_loop(self, call: Call) -> None:
        if call.phase is not Phase.WAITING:
            return
        ev, trunk = self.kernel.events, call.trunk
        ev.step(trunk, "holding-wait", "s", 3, "Goto", "loop")
        ev.step(trunk, "holding-wait", "s", 2, "Wait", "1")
        self.kernel.after(call, 1.0, lambda: self._wait_loop(call))
