"""``[holding]`` (and the recordings' ``[holding-wait]``): callers wait for the router.

Music on hold restarted every ``ACD_HOLD_S`` seconds, after ``[holding]``'s fail-open
check (:mod:`acd.sim.failopen`), which sends the caller to ``[acd-failopen]`` when the
router's heartbeat is too old; or the recordings' ``Wait(1)`` loop for the numbers
whose hold style is ``wait``.
"""

from __future__ import annotations

from acd.sim.failopen import fail_open_test, router_silent
from acd.sim.kernel import Kernel
from acd.sim.model import Call, Phase


class Holding:
    """The ``[holding]`` context."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

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

    def _moh_class(self, call: Call) -> str:
        return (call.trunk.variables.get("ACD_MOH") or self.kernel.globals.get("ACD_MOH")
                or "default")

    def _fails_open(self, call: Call) -> bool:
        """``[holding]``'s first step: to ``[acd-failopen]`` if the router is silent."""
        kernel, names = self.kernel, self.kernel.names
        kernel.events.step(call.trunk, names.holding_context, names.holding_exten, 1,
                           "GotoIf", fail_open_test(names.heartbeat_var)
                           + f"{names.failopen_context},s,1")
        if not router_silent(kernel):
            return False
        kernel.goto(call, names.failopen_context, "s", 1)
        return True

    def _start_moh(self, call: Call) -> None:
        kernel, names = self.kernel, self.kernel.names
        if self._fails_open(call):
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
        self.kernel.stop_moh(call)
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
