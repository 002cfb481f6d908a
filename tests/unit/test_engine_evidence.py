"""The engine acts only on channels it can show are ACD callers, and Asterisk's view
wins over its own and over a restored one (resync, restore, reconciler)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine
from acd.core.evidence import Place, is_acd_caller, place_of
from acd.core.model import AgentState, CallState, Outcome
from acd.core.records import CallRecord
from acd.tools.report import build_report
from acd.tools.summary import summarize
from tests.support.enginekit import Driver, saved


def status(channel: str, uniqueid: str, *, context: str = "holding",
           application: str = "MusicOnHold", number: str = "15", bridge: str = "",
           linkedid: str = "", arrived: float | None = None,
           data: str = "") -> ev.StatusEntry:
    variables = {"ACD_NUMBER": number, "ACD_PRIORITY": "(null)",
                 "ACD_ARRIVED": f"{arrived:.0f}" if arrived is not None else "(null)"}
    return ev.StatusEntry(channel=channel, uniqueid=uniqueid, linkedid=linkedid or uniqueid,
                          context=context, application=application, bridge_id=bridge,
                          variables=variables, data=data)


def moved(d: Driver) -> set[str]:
    """Channels the engine sent an action about."""
    return {c.channel for c in d.commands if isinstance(c, (act.Redirect, act.Setvar))
            and c.channel}


# ---------------------------------------------------------------------- the rule


def test_null_and_empty_are_unset_and_only_acd_places_count(site_config: Config) -> None:
    names = site_config.dialplan
    assert is_acd_caller(status("Local/15@t-1;2", "a"), names)
    assert not is_acd_caller(status("Local/15@t-1;1", "b", number="(null)"), names)
    assert not is_acd_caller(status("Local/15@t-1;1", "b", number=""), names)
    assert not is_acd_caller(status("Local/700@lab-ivr-1;2", "c", context="lab-ivr",
                                    application="Wait"), names)
    queued = status("Local/15@t-2;2", "d", context="somewhere", application="Queue",
                    data="acd-front-office,,,,")
    assert is_acd_caller(queued, names) and place_of(queued, names) is Place.NATIVE_QUEUE
    assert place_of(status("x", "e", context="acd-connect", application="Dial"),
                    names) is Place.RINGING


def test_resync_never_adopts_null_halves_or_foreign_channels(site_config: Config) -> None:
    """Recording 14/18: the ``;1`` half (``ACD_NUMBER=(null)``) and an IVR call."""
    d = Driver(site_config)
    d.feed(i.LinkDown("cut"))
    entries = [
        status("Local/15@from-trunk-000000ad;1", "1.680", context="caller",
               application="Wait", number="(null)", arrived=None),
        status("Local/15@from-trunk-000000ad;2", "1.681", arrived=d.now - 8),
        status("Local/700@lab-ivr-00000001;1", "1.700", context="lab-ivr",
               application="Wait", number="(null)"),
        status("Local/700@lab-ivr-00000001;2", "1.701", context="lab-ivr",
               application="Wait", number="(null)"),
        status("PJSIP/phone7-00000002", "1.702", context="from-internal",
               application="Dial", number="(null)", bridge="br-9"),
    ]
    d.feed(i.ChannelsSnapshot(entries, taken_at=d.now))
    assert set(d.engine.calls) == {"1.681"}
    assert moved(d) == {"Local/15@from-trunk-000000ad;2"}
    # the periodic reconciler applies the same rule
    for _ in range(2):
        d.feed(i.Reconcile(entries, taken_at=d.now))
    assert set(d.engine.calls) == {"1.681"}
    assert moved(d) == {"Local/15@from-trunk-000000ad;2"}


# ---------------------------------------------------------------------- restore


def test_restored_waiting_calls_are_followed_where_asterisk_shows_them(
        site_config: Config) -> None:
    """Recording 07: callers restored as waiting failed open meanwhile; the one in
    the native Queue() and the one talking there are never moved."""
    d = Driver(site_config)
    for agent in ("arm01", "arm02", "amu01"):
        d.feed(i.AgentPause(agent))
    queued, talking, holding = d.call(), d.call(), d.call()
    engine = Engine(site_config)
    engine.handle(i.StateRestored(saved(d.engine)), d.now + 20)
    engine.handle(i.AgentReady("arm01"), d.now + 20)
    engine.handle(i.AgentReady("arm02"), d.now + 20)
    snapshot = [
        status(queued, "u1", context="acd-failopen", application="Queue",
               data="acd-front-office"),
        status(talking, "u2", context="acd-failopen", application="Queue", bridge="b1"),
        status("PJSIP/arm02-00000007", "a7", context="from-internal",
               application="AppQueue", bridge="b1"),
        status(holding, "u3"),
    ]
    out = engine.handle(i.ChannelsSnapshot(snapshot, taken_at=d.now + 20), d.now + 20)
    assert {c.channel for c in out.commands
            if isinstance(c, (act.Redirect, act.Setvar))} == {holding}
    assert engine.calls["u1"].state is CallState.NATIVE
    followed = engine.calls["u2"]
    assert (followed.state, followed.answered_by) == (CallState.CONNECTED, "arm02")
    assert engine.agents["arm02"].state is AgentState.ON_CALL
    # the pick-up was not seen: no answer time, no wait invented from the resync
    assert followed.answered_at is None and followed.answered_unobserved
    out = engine.handle(ev.Hangup(channel=talking), d.now + 40)
    (ended,) = [x for x in out.facts if isinstance(x, f.CallEnded)]
    assert ended.record.outcome == "answered"
    assert ended.record.wait_s is None and ended.record.answered_at is None
    assert ended.record.agent == "arm02"


def test_a_native_call_back_in_holding_waits_again(site_config: Config) -> None:
    d = Driver(site_config)
    for agent in ("arm01", "arm02", "amu01"):
        d.feed(i.AgentPause(agent))
    caller = d.call()
    d.feed(i.LinkDown("cut"))
    d.feed(i.ChannelsSnapshot([status(caller, "u1", context="acd-failopen",
                                      application="Queue")], taken_at=d.now))
    assert d.engine.calls["u1"].state is CallState.NATIVE
    d.feed(i.AgentReady("arm01"))
    assert moved(d) == set()
    d.feed(i.LinkDown("cut"))
    d.feed(i.ChannelsSnapshot([status(caller, "u1")], taken_at=d.now))
    assert d.offers() == [(caller, "arm01")]


def test_a_caller_found_ringing_is_followed_not_moved(site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(i.LinkDown("cut"))
    entries = [status("PJSIP/trunk-9", "u9", context="acd-connect", application="Dial",
                      linkedid="L9"),
               status("PJSIP/arm02-0000000a", "a9", context="from-internal",
                      application="AppDial", linkedid="L9")]
    d.feed(i.ChannelsSnapshot(entries, taken_at=d.now))
    call = d.engine.calls["u9"]
    assert (call.state, call.agent) == (CallState.OFFERED, "arm02")
    assert moved(d) == set()


# ---------------------------------------------------------------------- devices


def test_every_resync_rebuilds_device_states(site_config: Config) -> None:
    """Finding 9: a phone busy when Asterisk went down is free after any resync."""
    d = Driver(site_config)
    for agent in ("arm01", "amu01"):
        d.feed(i.AgentPause(agent))
    d.feed(ev.DeviceStateChange(device="PJSIP/arm02", state="INUSE"))
    d.feed(i.LinkDown("pbx gone"))
    caller = d.call()
    d.feed(i.ChannelsSnapshot([status(caller, "u1")], taken_at=d.now))
    assert d.offers() == [(caller, "arm02")]


def test_the_reconciler_rebuilds_device_states(site_config: Config) -> None:
    d = Driver(site_config)
    for agent in ("arm01", "amu01"):
        d.feed(i.AgentPause(agent))
    d.feed(ev.DeviceStateChange(device="PJSIP/arm02", state="INUSE"))
    caller = d.call()
    assert d.offers() == []
    d.feed(i.Reconcile([status(caller, "u1")], taken_at=d.now))
    assert d.offers() == []  # one list alone may race with events in flight
    d.feed(i.Reconcile([status(caller, "u1")], taken_at=d.now))
    assert d.offers() == [(caller, "arm02")]
    # and a phone with a channel is busy again
    d.feed(i.AgentPause("arm02"))
    d.feed(i.AgentReady("arm02"))
    for _ in range(2):
        d.feed(i.Reconcile([status("PJSIP/arm02-00000009", "x", context="x",
                                   application="Dial")], taken_at=d.now))
    assert d.engine.agents["arm02"].device_busy


# ---------------------------------------------------------------------- finding 8


def test_dialend_cancel_before_the_hangup_is_not_offered_again(site_config: Config) -> None:
    """A caller who hangs up while its agent rings: DialEnd CANCEL, then its Hangup."""
    d = Driver(site_config)
    caller = d.call()
    leg = d.ring(caller, "PJSIP/arm01")
    offers = len(d.offers())
    d.dial_fail(caller, leg, "CANCEL")
    assert len(d.offers()) == offers
    assert d.engine.agents["arm01"].state is AgentState.AVAILABLE
    d.hangup(caller)
    assert len(d.offers()) == offers
    assert "u1" not in d.engine.calls


def test_native_join_follows_only_the_failopen_queue_with_its_period(
        site_config: Config) -> None:
    zone = ZoneInfo("Europe/Paris")
    night = datetime(2026, 3, 10, 0, 3, tzinfo=zone).timestamp()  # a Tuesday, PDSA
    d = Driver(site_config, now=night)
    d.feed(ev.QueueCallerJoin(channel="PJSIP/trunk-1", uniqueid="n1", queue="support"))
    assert d.engine.calls == {}
    d.feed(ev.QueueCallerJoin(channel="PJSIP/trunk-2", uniqueid="n2",
                              queue="acd-front-office", exten="s"))
    assert d.engine.calls["n2"].period == "pdsa"


# ---------------------------------------------------------------------- indicators


def test_an_answer_seen_only_at_a_resync_counts_apart_from_qs30() -> None:
    def record(uid: str, wait: float | None) -> CallRecord:
        return CallRecord(uniqueid=uid, linkedid=uid, number="15", caller_name="",
                          queues=["ARM_N1"], arrived_at="2026-03-10T09:00:00.000+01:00",
                          answered_at=None, ended_at="2026-03-10T09:05:00.000+01:00",
                          outcome=Outcome.ANSWERED, agent="arm01", wait_s=wait, priority=5,
                          channel=uid, legs=[])

    records = [record("a", 12.0), record("b", None)]
    summary = summarize(records)
    counts = summary.counts
    assert (counts.answered, summary.other, counts.answered_wait_unknown) == (2, 0, 1)
    assert (counts.qs30_within, counts.qs_answered) == (1, 1)
    march = build_report(records, date(2026, 3, 1), date(2026, 3, 31))
    figures = march.months["2026-03"]["all"].counts
    assert (figures.answered, figures.answered_wait_unknown, figures.qs_answered) == (2, 1, 1)


def test_a_paused_agent_the_failopen_queue_put_through_stays_paused(
        site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(i.AgentPause("arm02", reason="lunch"))
    d.feed(i.LinkDown("cut"))
    d.feed(i.ChannelsSnapshot([
        status("PJSIP/trunk-5", "u5", context="acd-failopen", application="Queue",
               bridge="b5"),
        status("PJSIP/arm02-00000005", "a5", context="from-internal",
               application="AppQueue", bridge="b5")], taken_at=d.now))
    assert d.engine.agents["arm02"].state is AgentState.ON_CALL
    d.hangup("PJSIP/trunk-5")
    agent = d.engine.agents["arm02"]
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, "lunch")
