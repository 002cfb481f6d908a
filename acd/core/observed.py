"""Phones the engine follows without their being in the config: *observed* agents.

Asterisk may ring or connect a caller to a phone that is no agent of the config: a
member left in the fail-open queue by an earlier configuration (recording live t3-07c,
``PJSIP/2001``), a recording replayed against another site, a call someone else routed.
The engine follows such a phone as an observed agent (never offered a call, never in
the fail-open queue, shown in ``/api/v1/agents`` with ``observed: true``), so that the
caller is seen ringing or talking and is not offered elsewhere meanwhile.

The device comes from the ``DestChannel`` of an event (``PJSIP/2004-0000001a`` →
``PJSIP/2004``, :func:`acd.core.model.device_of`), which the engine does not trust:

* only the device of a real channel technology is followed, ``<Tech>/<resource>``
  with ``Tech`` one of :data:`PHONE_TECHS` and a resource of :data:`RESOURCE`'s
  characters. ``Local`` is handled deliberately: it is followed only in the form
  ``Local/<exten>@<context>``, which is how a site points an agent at a dialplan (the
  lab's and the recordings' agents are ``Local/10XX@agents``). Anything else
  (``Message/``, ``ConfBridge/``, ``Snoop/``, a name without technology, control
  characters, bytes that are not a channel name) is refused;
* at most :data:`MAX_DEVICE_LEN` characters (Asterisk's own limit on a channel name
  is 80);
* at most :data:`MAX_OBSERVED` devices learnt from traffic at a time (observed agents
  and the extra devices of known agents), so a stream of distinct ids cannot grow the
  engine's tables without end;
* forgotten when their channels are gone (:func:`forget`): the Hangup of their last
  leg, or a reconciliation that finds no channel of theirs.

A refused phone is counted (``acd_input_errors_total{kind="observed_agent"}`` and
``acd_inputs_ignored_total``) and logged without its value (``InputIgnored``, input
``observed_agent``); its caller is left where Asterisk has it (see
:meth:`acd.core.pbxview.PbxView.on_dial_begin`).
"""

from __future__ import annotations

import re
from typing import Final

from acd.core.model import Agent, AgentState, device_of
from acd.core.room import RoomState

#: the channel technologies of a phone an agent may answer on
PHONE_TECHS: Final[frozenset[str]] = frozenset({"PJSIP", "SIP", "IAX2", "DAHDI"})
#: a phone's resource after its technology (``2004``, ``arm01``, ``sip.example.org``)
RESOURCE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+@-]*")
#: ``Local/<exten>@<context>``: an agent reached through the site's dialplan
LOCAL: Final = re.compile(r"Local/[A-Za-z0-9_.+*#-]+@[A-Za-z0-9_.-]+")
#: the longest device followed (Asterisk's AST_CHANNEL_NAME is 80)
MAX_DEVICE_LEN: Final = 80
#: devices learnt from traffic followed at a time; a room has a few dozen phones
MAX_OBSERVED: Final = 200
#: the ``input`` of the ``InputIgnored`` fact of a refused phone, and the
#: ``acd_input_errors_total`` kind that counts it
REFUSED_INPUT: Final = "observed_agent"
#: an observed agent's id: a config agent id's syntax, else its device
AGENT_ID: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def device_problem(device: str) -> str | None:
    """Why ``device`` is not a phone the engine may follow, or None when it is."""
    if len(device) > MAX_DEVICE_LEN:
        return f"device longer than {MAX_DEVICE_LEN} characters"
    if device.startswith("Local/"):
        return None if LOCAL.fullmatch(device) else "Local device not <exten>@<context>"
    tech, slash, resource = device.partition("/")
    if not slash or tech not in PHONE_TECHS:
        return "not the device of a phone technology"
    if not RESOURCE.fullmatch(resource):
        return "device resource with characters a phone does not have"
    return None


def learnt(state: RoomState) -> int:
    """Devices the engine learnt from traffic: observed agents' and the extra devices
    of known agents."""
    return sum(1 for device, agent in state.by_device.items()
               if _learnt(device, agent))


def refusal(state: RoomState, device: str) -> str | None:
    """Why the engine may not start following ``device`` now, or None."""
    problem = device_problem(device)
    if problem is None and learnt(state) >= MAX_OBSERVED:
        problem = f"already {MAX_OBSERVED} phones followed outside the config"
    return problem


def agent_id(hint: str | None, device: str) -> str:
    """The id of an observed agent: the dialplan's ``Agent`` hint when it has an agent
    id's syntax, else the device."""
    return hint if hint and AGENT_ID.fullmatch(hint) else device


def new_agent(state: RoomState, device: str, hint: str | None, queue: str) -> Agent:
    """A new observed agent for ``device`` (already allowed by :func:`refusal`)."""
    agent = Agent(id=agent_id(hint, device), device=device, skills={queue: 1},
                  observed=True, state=AgentState.AVAILABLE)
    state.agents[agent.id] = agent
    return agent


def forget(state: RoomState, channel: str) -> None:
    """``channel`` is gone: see :func:`forget_device`."""
    forget_device(state, device_of(channel))


def forget_device(state: RoomState, device: str) -> None:
    """A device learnt from traffic with no leg left is forgotten, and an observed
    agent left with neither device nor call with it."""
    agent = state.by_device.get(device)
    if agent is None or not _learnt(device, agent):
        return
    if any(device_of(leg) == device for leg in state.agent_legs):
        return
    if agent.observed and agent.call is not None and agent.call in state.calls:
        return  # still ringing or talking as far as the engine knows
    del state.by_device[device]
    if agent.observed and state.agents.get(agent.id) is agent \
            and not any(a is agent for a in state.by_device.values()):
        del state.agents[agent.id]


def forget_idle(state: RoomState, live_devices: set[str]) -> None:
    """A reconciliation: the devices learnt from traffic with no channel any more."""
    for device, agent in list(state.by_device.items()):
        if _learnt(device, agent) and device not in live_devices:
            forget_device(state, device)


def _learnt(device: str, agent: Agent) -> bool:
    return agent.observed or agent.device != device
