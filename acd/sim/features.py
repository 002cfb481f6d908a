"""``[acd-features]``: the feature codes an agent dials from its own phone.

``*71`` login, ``*72`` logout, ``*73`` / ``*73<digits>`` pause, ``*74`` ready. The call
is short: Newchannel, the UserEvent, Playback(beep) answers, Hangup(). The router finds
the agent from the channel name (device + ``-xxxxxxxx``).
"""

from __future__ import annotations

from acd.sim.kernel import Kernel
from acd.sim.model import RING, UP


def dial_feature_code(kernel: Kernel, agent_id: str, code: str) -> None:
    """Agent ``agent_id`` dials ``code``; ``ValueError`` if it is not a feature code."""
    names = kernel.names
    reason: str | None = None
    if code == "*71":
        event = names.agent_login_event
    elif code == "*72":
        event = names.agent_logout_event
    elif code == "*74":
        event = names.agent_ready_event
    elif code.startswith("*73") and (code == "*73" or code[3:].isdigit()):
        event, reason = names.agent_pause_event, code[3:] or "break"
    else:
        raise ValueError(f"not a feature code of [acd-features]: {code!r}")
    device = kernel.agents[agent_id].device
    if device.startswith("Local/"):
        name = f"{device}-{kernel.next_local():08x};1"
    else:
        name = kernel.tech_channel_name(device)
    ch = kernel.new_channel(name, "agent", tech=device.split("/", 1)[0])
    ch.goto("acd-features", code, 1)
    ch.state = RING
    ev = kernel.events
    ev.newchannel(ch)
    ev.device(device, "INUSE")
    headers = [("Reason", reason)] if reason is not None else []
    ev.step(ch, "acd-features", code, 1, "UserEvent",
            ",".join([event, *(f"{k}: {v}" for k, v in headers)]))
    ev.user_event(ch, event, headers)
    ev.step(ch, "acd-features", code, 2, "Playback", "beep")
    ev.newstate(ch, UP)
    ev.step(ch, "acd-features", code, 3, "Hangup")
    ev.soft_hangup_request(ch, 16)
    kernel.gone(ch, 16, "agent", f"feature code {code}")
    if device not in kernel.device_dials:
        ev.device(device, "NOT_INUSE")
