"""A simulated Asterisk 22 for the router: an AMI server in front of a PBX model.

Modules (one job each):

* :mod:`acd.sim.clock` – simulated time (real time × speed, from a chosen epoch);
* :mod:`acd.sim.model` – channels, bridges, calls, dial attempts, hangup records;
* :mod:`acd.sim.behaviour` – how agents answer, talk, transfer and hang up, and how
  partner SAS trunks answer (seeded);
* :mod:`acd.sim.emit` – the AMI events of the PBX, with the recorded header order;
* :mod:`acd.sim.options` – :class:`PbxOptions`, the knobs of the simulated Asterisk;
* :mod:`acd.sim.pbx` – :class:`Pbx`, the facade that builds the kernel and the
  contexts and registers each context under its name;
* the channel kernel: :mod:`acd.sim.kernel` (channels, timers, variables, devices, and
  the registry of contexts by name, through which a context reaches another),
  :mod:`acd.sim.legs` (dial legs and bridges), :mod:`acd.sim.teardown` (hang-ups);
* one module per dialplan context of ``dialplans/extensions_acd.conf``:
  :mod:`acd.sim.incoming` (``[incoming]``, ``[acd-announce]``), :mod:`acd.sim.holding`
  (``[holding]``), :mod:`acd.sim.connect` (``[acd-connect]``), :mod:`acd.sim.overflow`
  (``[acd-overflow]``, the partner trunks), :mod:`acd.sim.failopen` (``[acd-failopen]``,
  the native queue), :mod:`acd.sim.transfer` (``[acd-transfer]``), :mod:`acd.sim.warm`
  (``[acd-warm]``, ``[acd-warm-bridge]``), :mod:`acd.sim.features` (``[acd-features]``),
  with :mod:`acd.sim.dialplan` (shared bits) and :mod:`acd.sim.foreign` (channels that
  are not ACD callers);
* :mod:`acd.sim.actions` – the AMI actions (Redirect, Setvar, Status, …);
* :mod:`acd.sim.wire` – the AMI server side: banner, login, fan-out, injected faults;
* :mod:`acd.sim.server` – :func:`start_sim`, the whole thing on a TCP port.
"""

from acd.sim.behaviour import (
    AgentBehaviour,
    FixedBehaviour,
    PartnerBehaviour,
    PartnerKind,
    PerAgentBehaviour,
    RandomBehaviour,
)
from acd.sim.clock import SimClock
from acd.sim.model import Call, ChannelNotFound, HangupRecord, OfferOutcome, Phase
from acd.sim.options import PbxOptions
from acd.sim.pbx import Pbx
from acd.sim.server import SimServer, start_sim

__all__ = [
    "AgentBehaviour",
    "Call",
    "ChannelNotFound",
    "FixedBehaviour",
    "HangupRecord",
    "OfferOutcome",
    "PartnerBehaviour",
    "PartnerKind",
    "Pbx",
    "PbxOptions",
    "PerAgentBehaviour",
    "Phase",
    "RandomBehaviour",
    "SimClock",
    "SimServer",
    "start_sim",
]
