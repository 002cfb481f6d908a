"""The judge of a chaos run: one record per offered call, from the routers' records,
with the simulator's log of channels for what no router can know.

* A call's outcome is its router record's (the records files of every router process;
  with a pair both write one: the observed end wins over one found at a resync).
* A caller channel Asterisk itself hung up as it restarted (``pbx-restart``) gets
  outcome ``lost`` with ``lost_reason`` ``"pbx-restart"`` (``"pbx-crash"`` when it died
  in a ``pbx-crash``; answered ones still count as answered in the summary: they were
  picked up, then cut).
* A call no running router saw end (its caller hung up while the only router was down)
  gets a record marked ``ended_unobserved``: outcome ``answered`` if a router logged its
  pick-up (``call_answered``), else from the simulator's hangup log, as a router
  restoring its state from Redis would close it at its resync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from acd.config import FRONT_OFFICE, Config
from acd.core.model import Outcome
from acd.core.records import CallRecord, iso
from acd.sim import SimServer
from acd.sim.model import Call, HangupRecord, Phase
from acd.tools.simulate.router_process import RouterProcess

#: the simulator's reason for hanging callers up in a fault → the record's lost_reason
LOST_REASONS = {"restart": "pbx-restart", "crash": "pbx-crash"}


@dataclass(kw_only=True)
class Harm:
    """What the router must never do, as the simulator saw it: each count stays 0 in a
    good run, a plain one (:class:`~acd.tools.simulate.run.RunResult`) or a chaos one
    (:class:`~acd.tools.simulate.chaos_run.ChaosResult`)."""

    #: actions the router sent to channels that are not ACD callers
    foreign_touched: int = 0
    #: callers the router took out of the fail-open Queue() or its conversation
    native_moved: int = 0
    #: callers the fail-open queue rang on a member the router does not know (a stale
    #: one the scenario left there, ``[pbx] stale_failopen_members``)
    callers_rung_on_unknown_members: int = 0
    #: records of channels that were never ACD callers
    phantom_records: int = 0


def phantom_records(records: list[CallRecord], sim: SimServer) -> list[CallRecord]:
    """Records of channels that were never ACD callers (a caller's ``;1`` half, an
    IVR, any foreign channel): must be none."""
    callers = {call.trunk.uniqueid for call in sim.pbx.calls}
    return [record for record in records if record.uniqueid not in callers]


def judge(sim: SimServer, routers: list[RouterProcess], config: Config) -> list[CallRecord]:
    """One record per offered call, in arrival order: every call the dialplan announced
    to the router, every caller a router recorded as hanging up during the
    announcement, and every call Asterisk hung up in a restart (even one not yet
    announced: it reached Asterisk and was lost there)."""
    by_id = _best_records(routers)
    logged = _logged_calls(routers)
    hangups: dict[str, HangupRecord] = {h.channel: h for h in sim.pbx.hangups
                                        if h.role == "caller"}
    records = []
    for call in sim.pbx.calls:
        hangup = hangups.get(call.trunk.name)
        restarted = hangup is not None and hangup.by == "pbx" \
            and hangup.reason in LOST_REASONS
        uid = call.trunk.uniqueid
        if not call.announced and not restarted and uid not in by_id:
            continue  # hung up in the announcement while no router followed it
        record = by_id.get(uid) or _unobserved(call, logged.get(uid, {}), hangup, config)
        if restarted:
            assert hangup is not None
            record = msgspec.structs.replace(record, outcome=Outcome.LOST,
                                             lost_reason=LOST_REASONS[hangup.reason])
        records.append(record)
    return records


def _best_records(routers: list[RouterProcess]) -> dict[str, CallRecord]:
    """Each call's record from the routers' records files: with a pair both may write
    one, and an observed end wins over one found at a resync."""
    by_id: dict[str, CallRecord] = {}
    for router in routers:
        for record in router.records():
            kept = by_id.get(record.uniqueid)
            if kept is None or (kept.ended_unobserved and not record.ended_unobserved):
                by_id[record.uniqueid] = record
    return by_id


def _logged_calls(routers: list[RouterProcess]) -> dict[str, dict[str, Any]]:
    """Call id → the first ``call_queued`` and ``call_answered`` log lines of it."""
    logged: dict[str, dict[str, Any]] = {}
    for router in routers:
        for line in router.lines:
            if line.get("event") in ("call_queued", "call_answered") and "call" in line:
                entry = logged.setdefault(str(line["call"]), {})
                entry.setdefault(line["event"], line)
    return logged


def _unobserved(call: Call, logged: dict[str, Any], hangup: HangupRecord | None,
                config: Config) -> CallRecord:
    """The record of a call no running router saw end (see the module docstring)."""
    zone = config.zone()
    queued = logged.get("call_queued", {})
    answered = logged.get("call_answered")
    queue = str(queued.get("queue") or (answered and answered.get("queue")) or FRONT_OFFICE)
    if call.phase is not Phase.GONE:
        outcome = Outcome.ANSWERED if call.phase in (Phase.TALKING, Phase.WITH_PARTNER) \
            else Outcome.WAITING
    elif answered is not None:
        outcome = Outcome.ANSWERED
    elif hangup is not None and hangup.by == "caller" and hangup.reason == "patience ran out":
        outcome = Outcome.ABANDONED
    elif hangup is not None and hangup.by in ("agent", "pbx") and call.first_dialled:
        outcome = Outcome.ANSWERED  # answered by the native queue while no router ran
    else:
        outcome = Outcome.ABANDONED
    wait = answered.get("wait_s") if answered is not None else None
    return CallRecord(
        uniqueid=call.trunk.uniqueid, linkedid=call.trunk.linkedid, number=call.number,
        caller_name=call.trunk.cid_name, queues=[queue], arrived_at=iso(call.arrived, zone)
        or "", answered_at=None, ended_at=iso(hangup.at, zone) if hangup else None,
        outcome=outcome, agent=str(answered["agent"]) if answered is not None else None,
        wait_s=float(wait) if isinstance(wait, (int, float)) else None,
        priority=call.priority if call.priority is not None
        else config.routing.default_priority,
        channel=call.trunk.name, legs=[], ended_unobserved=True)
