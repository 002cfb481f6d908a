"""The knobs of the simulated Asterisk: what a site's files and the recordings set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from acd.config.dialplan_defaults import DIALPLAN

HoldStyle = Literal["moh", "wait"]


@dataclass(frozen=True)
class PbxOptions:
    """Knobs of the simulated Asterisk (defaults: ``dialplans/`` and the recordings)."""

    #: also emit VarSet/Newexten/NewCallerid/LocalBridge/caller DeviceStateChange…
    full_event_mix: bool = False
    #: global ACD_MOH
    moh_class: str = DIALPLAN.moh
    #: global ACD_RING (seconds an agent's phone rings)
    ring_timeout_s: int = DIALPLAN.ring_s
    #: global ACD_HOLD_S: MusicOnHold(${ACD_MOH},${ACD_HOLD_S}) in [holding], the hold
    #: loop restarts that often (5 s in the recordings)
    hold_loop_s: float = float(DIALPLAN.hold_s)
    #: Answer() → AcdCallWaiting (Asterisk's Answer waits 500 ms): the announcement
    answer_wait_s: float = 0.5
    #: ``[acd-announce]`` sends ``[dialplan] arrival_event`` before Answer(); False: a
    #: dialplan older than that event (the recordings')
    arrival_event: bool = True
    #: how callers of a number wait: ``moh`` ([holding], MusicOnHoldStart) or ``wait``
    #: (the recordings' [holding-wait] Wait(1) loop: no music-on-hold events)
    hold_style: Mapping[str, HoldStyle] = field(default_factory=dict)
    #: CALLERID(name) that a site's trunk context sets per number (the recordings'
    #: "Appelant 15"); the caller keeps its own name when absent
    incoming_caller_names: Mapping[str, str] = field(default_factory=dict)
    #: context of outgoing channels to the agents' own phones (pjsip.conf context=)
    agent_phone_context: str = "agent-phones"
    #: patience of callers placed without one
    default_patience_s: float = 600.0
    #: global ACD_PARTNER_RING (seconds a partner SAS's trunk rings)
    partner_ring_timeout_s: int = DIALPLAN.partner_ring_s
    #: context of outgoing trunk channels to partner SAS (pjsip.conf context=)
    partner_trunk_context: str = "from-partner"
    #: an agent whose transfer the router does not take up (no Redirect of the caller
    #: within this many seconds) ends the call itself (behaviour-driven transfers)
    transfer_give_up_s: float = 30.0
    #: global ACD_FAILOPEN_S: callers in [holding] go to the native queue of the front
    #: office after this many seconds without the router's heartbeat; None: ACD_FAILOPEN_S
    #: empty, the check is off (a simulator run without a heartbeating router)
    failopen_s: float | None = None
