"""``[acd-transfer]``: an agent asks the router to move its caller to another filière.

In Asterisk the agent presses a DTMF feature code during the conversation
(``dialplans/features_acd.conf``: ``acd-to-osnp => *81,self/callee,
Gosub(acd-transfer,OSNP,1)``), made available by ``acd-connect``'s
``Set(__DYNAMIC_FEATURES=…)``. The Gosub runs on the agent's bridged leg (the channel
that pressed the code, named after the agent's device) without taking it out of the
bridge, sends the ``AcdTransfer`` UserEvent with ``Target: <queue>`` and returns.

The dialplan only signals: the router moves the caller itself, with a Redirect of the
caller's channel out of the bridge (see :meth:`acd.sim.pbx.Pbx.redirect`). Until then
the call stays bridged. An agent whose transfer is not taken up may give up and hang up
(``give_up_after_s``), as a behaviour-driven agent does.
"""

from __future__ import annotations

from collections.abc import Callable

from acd.sim.behaviour import TRANSFER_TARGET
from acd.sim.kernel import Kernel
from acd.sim.model import Call, Dial, Phase

#: the context the transfer feature codes Gosub into
TRANSFER_CONTEXT = "acd-transfer"
#: what [acd-connect] and [acd-warm] set: the agents' transfer feature codes
AGENT_FEATURES = "acd-to-osnp#acd-to-mg#acd-to-amu#acd-to-arm"


def press_transfer_code(kernel: Kernel, agent_id: str, target: str, *,
                        give_up_after_s: float | None,
                        give_up: Callable[[Call], None]) -> bool:
    """See :meth:`acd.sim.pbx.Pbx.agent_transfer`; ``give_up`` hangs the agent up when
    no Redirect of the caller came within ``give_up_after_s``."""
    if not TRANSFER_TARGET.fullmatch(target):
        raise ValueError(f"not an extension of [{TRANSFER_CONTEXT}] (_[A-Z].): {target!r}")
    dial = kernel.device_dials.get(kernel.agents[agent_id].device)
    call = dial.outer.call if dial is not None else None
    if dial is None or call is None or call.phase is not Phase.TALKING \
            or call.dial is not dial or dial.bridge is None:
        return False
    ev, names, leg = kernel.events, kernel.names, dial.outer
    where = (leg.context, leg.exten, leg.priority, leg.application, leg.app_data)
    ev.step(leg, TRANSFER_CONTEXT, target, 1, "GotoIf",
            f'$["${{{names.agent_var}}}" != ""]?done')
    ev.step(leg, TRANSFER_CONTEXT, target, 2, "UserEvent",
            f"{names.transfer_event},Target: {target}")
    ev.user_event(leg, names.transfer_event, [("Target", target)])
    ev.step(leg, TRANSFER_CONTEXT, target, 3, "Return")
    leg.goto(*where)  # back where the Gosub was called from: still in the bridge
    if give_up_after_s is not None:
        kernel.after(call, give_up_after_s, lambda: _give_up(call, dial, give_up))
    return True


def _give_up(call: Call, dial: Dial, give_up: Callable[[Call], None]) -> None:
    """No Redirect of the caller came: the agent ends the conversation as usual."""
    if call.dial is dial and call.phase is Phase.TALKING:
        give_up(call)
