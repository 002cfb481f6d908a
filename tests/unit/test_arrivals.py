"""Callers in their announcement (the dialplan's arrival event before ``Answer()``):
never acted on, recorded once if they hang up there, and a call exactly as before
once the announcement ends."""

from __future__ import annotations

from datetime import datetime

import msgspec

from acd.ami import events as ev
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import ARRIVING_MAX_S
from acd.core.records import CallRecord
from tests.support.enginekit import Driver

CHANNEL = "Local/15@incoming-00000001;2"


def arrival(channel: str = CHANNEL, uniqueid: str = "1.2", number: str = "15") -> ev.UserEvent:
    return ev.UserEvent(channel=channel, uniqueid=uniqueid, linkedid="1.1",
                        name="AcdCallArrived", caller_id_num="0612345678",
                        caller_id_name="Jean Martin",
                        headers={"Number": number, "Uniqueid": uniqueid})


def waiting(channel: str = CHANNEL, uniqueid: str = "1.2") -> ev.UserEvent:
    return ev.UserEvent(channel=channel, uniqueid=uniqueid, linkedid="1.1",
                        name="AcdCallWaiting", caller_id_num="0612345678",
                        headers={"Number": "15", "Uniqueid": uniqueid,
                                 "CallerName": "Jean Martin"})


def records(d: Driver) -> list[CallRecord]:
    return [x.record for x in d.facts if isinstance(x, f.CallEnded)]


def test_a_caller_who_hangs_up_in_the_announcement_gets_one_record_and_no_action(
        site_config: Config) -> None:
    d = Driver(site_config)  # three free agents: a call would be offered at once
    d.feed(arrival(), at=1000.0)
    d.feed(arrival(), at=1000.1)  # told twice: still one caller
    assert d.commands == [] and d.engine.calls == {}
    d.feed(ev.Hangup(channel=CHANNEL, uniqueid="1.2", cause=16), at=1000.3)
    assert d.commands == []
    (record,) = records(d)
    assert (record.outcome, record.in_announcement) == ("abandoned", True)
    assert (record.uniqueid, record.linkedid, record.number) == ("1.2", "1.1", "15")
    assert record.caller_name == "Jean Martin"
    assert record.queues == ["ARM_N1"] and record.legs == []
    assert (record.answered_at, record.wait_s, record.agent) == (None, None, None)
    assert datetime.fromisoformat(record.arrived_at).timestamp() == 1000.0
    assert record.ended_at is not None
    assert datetime.fromisoformat(record.ended_at).timestamp() == 1000.3
    assert record.priority == site_config.routing.default_priority
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert (ended.queue, ended.outcome) == ("ARM_N1", "abandoned")
    assert round(ended.duration_s, 3) == 0.3
    assert not any(isinstance(x, f.CallQueued) for x in d.facts)
    d.feed(ev.Hangup(channel=CHANNEL, uniqueid="1.2"), at=1000.4)
    assert len(records(d)) == 1


def test_after_the_announcement_the_call_goes_on_exactly_as_without_the_arrival(
        site_config: Config) -> None:
    told, untold = Driver(site_config), Driver(site_config)
    told.feed(arrival(), at=1000.0)
    for d in (told, untold):
        d.feed(waiting(), at=1000.5)
        leg = d.ring(CHANNEL, "PJSIP/arm01")
        d.answer(CHANNEL, leg)
        d.feed(ev.Hangup(channel=CHANNEL, uniqueid="1.2"), at=1030.0)
    assert told.commands == untold.commands
    assert msgspec.json.encode(told.facts) == msgspec.json.encode(untold.facts)
    (record,) = records(told)
    assert (record.outcome, record.in_announcement) == ("answered", False)
    assert datetime.fromisoformat(record.arrived_at).timestamp() == 1000.5
    assert told.engine.state.arriving == {}


def test_asterisk_stopping_during_the_announcement_is_lost_not_abandoned(
        site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(arrival(), at=1000.0)
    d.feed(ev.SoftHangupRequest(channel=CHANNEL, uniqueid="1.2",
                                cause=ev.SOFT_HANGUP_SHUTDOWN), at=1000.2)
    d.feed(ev.Hangup(channel=CHANNEL, uniqueid="1.2"), at=1000.2)
    (record,) = records(d)
    assert (record.outcome, record.lost_reason, record.in_announcement) == (
        "lost", "pbx-restart", True)
    assert d.commands == []


def test_an_arrival_whose_end_nobody_saw_is_forgotten_without_a_record(
        site_config: Config) -> None:
    """The link was down: a resync's list without the channel (gone meanwhile) or with
    the channel already a call (its AcdCallWaiting missed) forgets it; one still in its
    announcement, or told after the list was asked for, is kept."""
    d = Driver(site_config)
    d.feed(arrival(), at=1000.0)
    d.feed(arrival("Local/15@incoming-00000002;2", "2.2"), at=1000.0)
    d.feed(arrival("Local/15@incoming-00000003;2", "3.2"), at=1009.5)
    d.feed(i.LinkDown("connection lost"), at=1001.0)
    still = ev.StatusEntry(channel="Local/15@incoming-00000002;2", uniqueid="2.2",
                           context="acd-announce", exten="s")
    d.feed(i.ChannelsSnapshot([still], taken_at=1010.0), at=1010.0)
    assert list(d.engine.state.arriving) == ["Local/15@incoming-00000002;2",
                                             "Local/15@incoming-00000003;2"]
    d.feed(ev.Hangup(channel=CHANNEL, uniqueid="1.2"), at=1011.0)
    assert records(d) == [] and d.commands == []


def test_arrivals_are_kept_for_a_bounded_time(site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(arrival(), at=1000.0)
    d.feed(arrival("Local/15@incoming-00000002;2", "2.2"), at=1000.0 + ARRIVING_MAX_S + 1)
    assert list(d.engine.state.arriving) == ["Local/15@incoming-00000002;2"]
    d.feed(ev.Hangup(channel=CHANNEL, uniqueid="1.2"))
    assert records(d) == []


def test_without_the_arrival_event_a_hang_up_in_the_announcement_leaves_no_record(
        site_config: Config) -> None:
    """An older dialplan: as before the event existed."""
    d = Driver(site_config)
    d.feed(ev.Hangup(channel=CHANNEL, uniqueid="1.2"), at=1000.3)
    assert records(d) == [] and d.commands == []
