"""The pure routing engine: decisions and how it follows Asterisk's events."""

from __future__ import annotations

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import AgentState, CallState
from tests.support.enginekit import Driver, agent_state, call_state
from tests.support.sites import with_backups


def test_a_new_call_is_offered_with_setvar_then_redirect(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    setvar, redirect = d.commands
    assert isinstance(setvar, act.Setvar)
    assert setvar.channel == channel
    assert setvar.variable == "ACD_DIAL"
    assert setvar.value == "PJSIP/arm01"
    assert isinstance(redirect, act.Redirect)
    assert (redirect.channel, redirect.context, redirect.exten) == (channel, "acd-connect", "arm01")
    assert d.engine.agents["arm01"].state is AgentState.RINGING


def test_longest_idle_primary_agent_first(site_config: Config) -> None:
    d = Driver(with_backups(site_config, "fixed"))
    d.call()
    d.call()
    d.call()
    # arm01 and arm02 hold ARM_N1 at level 1; amu01 only as backup after 20 s
    assert [agent for _, agent in d.offers()] == ["arm01", "arm02"]
    assert len(d.engine.queues["ARM_N1"]) == 1


def test_skill_expansion_after_the_configured_wait(site_config: Config) -> None:
    d = Driver(with_backups(site_config, "fixed"))
    for (channel, _agent), device in zip([(d.call(), 1), (d.call(), 2)],
                                         ["PJSIP/arm01", "PJSIP/arm02"], strict=True):
        d.answer(channel, d.ring(channel, device))
    third = d.call()
    d.advance(19.9)
    assert len(d.offers()) == 2
    d.advance(0.2)
    assert d.offers()[-1] == (third, "amu01")


def test_priority_zero_is_served_first(site_config: Config) -> None:
    d = Driver(site_config)
    d.call()
    d.call()
    d.call()  # waits
    urgent = d.call(priority="0")
    hangup_leg = d.ring(d.offers()[0][0], "PJSIP/arm01")
    d.answer(d.offers()[0][0], hangup_leg)
    d.hangup(d.offers()[0][0])
    d.advance(5.1)  # arm01's wrap-up is over
    assert d.offers()[-1] == (urgent, "arm01")


def test_answer_then_hangup_records_wait_and_outcome(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.now += 4.0
    d.answer(channel, leg)
    d.now += 60.0
    d.feed(ev.Hangup(channel=leg))
    d.hangup(channel)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert ended.outcome == "answered"
    assert ended.record.wait_s == 4.0
    assert ended.record.legs[0].talk_s == 60.0
    assert d.engine.agents["arm01"].state is AgentState.WRAP_UP
    d.advance(5.0)
    assert agent_state(d.engine.agents["arm01"]) is AgentState.AVAILABLE


def test_no_answer_puts_the_call_back_at_the_head_and_pauses_after_misses(
        site_config: Config) -> None:
    d = Driver(with_backups(site_config, "fixed"))
    first = d.call()
    second = d.call()
    third = d.call()  # waiting behind
    leg = d.ring(first, "PJSIP/arm01")
    d.dial_fail(first, leg, "NOANSWER")
    returned = [x for x in d.facts if isinstance(x, f.CallReturned)]
    assert returned[0].reason == "dial noanswer"
    queue = d.engine.waiting_calls("ARM_N1")
    # arm01 was freed and took the head of the queue: the returned call, before `third`
    assert d.offers()[-1] == (first, "arm01")
    assert [c.channel for c in queue] == [third]
    leg = d.ring(first, "PJSIP/arm01")
    d.dial_fail(first, leg, "NOANSWER")
    arm01 = d.engine.agents["arm01"]
    assert arm01.state is AgentState.PAUSED
    assert arm01.pause_reason == "no answer"
    assert [c.channel for c in d.engine.waiting_calls("ARM_N1")] == [first, third]
    assert second in {c for c, _ in d.offers()}


def test_ring_timeout_without_dialplan_news_returns_the_call(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    d.advance(12.1)  # ring_timeout_s 10 + 2 s grace
    back = [c for c in d.commands if isinstance(c, act.Redirect) and c.context == "holding"]
    assert back
    assert back[0].channel == channel
    call = d.engine.calls["u1"]
    # one action in flight per caller: no second Redirect until Asterisk shows the
    # caller back in [holding] (live 04: "Redirect failed, channel not up.")
    assert d.commands[-1] is back[-1]
    assert call.state is CallState.HELD
    d.feed(ev.MusicOnHoldStart(channel=channel))
    # put back and offered again to the other primary agent
    assert call_state(call) is CallState.OFFERED
    assert call.agent == "arm02"


def test_ring_timeout_offers_again_after_the_backstop_without_news(
        site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    d.advance(12.1)
    assert d.offers() == [(channel, "arm01")]
    d.advance(site_config.routing.orphan_requeue_s)
    assert d.offers() == [(channel, "arm01"), (channel, "arm02")]


def test_failed_action_keeps_the_call_and_offers_it_again(site_config: Config) -> None:
    d = Driver(site_config)
    d.call()
    redirect = d.commands[-1]
    d.feed(i.ActionFailed(redirect.ref, "Redirect", "Channel not found"))
    call = d.engine.calls["u1"]
    assert call.state is CallState.HELD
    assert d.engine.agents["arm01"].state is AgentState.AVAILABLE
    d.advance(1.0)
    assert call_state(call) is CallState.OFFERED
    # a second failure report for the same (old) offer changes nothing
    d.feed(i.ActionFailed(redirect.ref, "Setvar", "late"))
    assert call_state(call) is CallState.OFFERED


def test_caller_hangs_up_while_ringing(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.dial_fail(channel, leg, "CANCEL")
    d.hangup(channel)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert ended.outcome == "abandoned"
    arm01 = d.engine.agents["arm01"]
    assert arm01.state is AgentState.AVAILABLE
    assert arm01.missed_offers == 0


def test_agent_leg_gone_caller_still_there_goes_back_to_queue(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.answer(channel, leg)
    d.feed(ev.Hangup(channel=leg))
    call = d.engine.calls["u1"]
    assert call.state is CallState.HELD
    d.feed(ev.MusicOnHoldStart(channel=channel))
    assert call_state(call) is CallState.OFFERED
    assert call.agent == "arm02"
    assert call.answered_by == "arm01"


def test_hangup_before_bridge_leave_and_events_on_unknown_channels(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.answer(channel, leg)
    d.hangup(channel)  # caller first, before the agent leg's BridgeLeave / Hangup
    d.feed(ev.BridgeLeave(channel=leg))
    d.feed(ev.Hangup(channel=leg))
    d.feed(ev.Hangup(channel="PJSIP/nobody-00000001"))
    d.feed(ev.DialEnd(channel="PJSIP/ghost-1", dest_channel="PJSIP/x-1", dial_status="ANSWER"))
    assert d.engine.agents["arm01"].state is AgentState.WRAP_UP
    assert not d.engine.calls
    second = d.call()
    assert d.offers()[-1] == (second, "arm02")


def test_agent_feature_codes_and_pending_logout(site_config: Config) -> None:
    d = Driver(site_config)
    def feature(name: str, **headers: str) -> None:
        d.feed(ev.UserEvent(channel="PJSIP/mg01-0000002a", name=name, headers=headers))

    feature("AcdAgentLogin")
    assert d.engine.agents["mg01"].state is AgentState.AVAILABLE
    feature("AcdAgentPause", Reason="lunch")
    assert d.engine.agents["mg01"].pause_reason == "lunch"
    feature("AcdAgentReady")
    assert d.engine.agents["mg01"].state is AgentState.AVAILABLE
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.answer(channel, leg)
    d.feed(ev.UserEvent(channel="PJSIP/arm01-00000099", name="AcdAgentLogout"))
    assert d.engine.agents["arm01"].state is AgentState.ON_CALL
    d.hangup(channel)
    assert agent_state(d.engine.agents["arm01"]) is AgentState.LOGGED_OUT
    feature("AcdAgentLogin", Agent="nobody")
    assert any(isinstance(x, f.InputIgnored) for x in d.facts)


def test_busy_device_is_not_offered(site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="UNAVAILABLE"))
    channel = d.call()
    assert d.offers() == [(channel, "arm02")]
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="NOT_INUSE"))
    other = d.call()
    assert d.offers()[-1] == (other, "arm01")


def test_nothing_is_offered_while_the_link_is_down(site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(i.LinkDown("test"))
    d.call()
    assert d.offers() == []
    d.feed(i.ChannelsSnapshot([ev.StatusEntry(channel="PJSIP/trunk-00000001",
                                              context="holding",
                                              variables={"ACD_NUMBER": "15"})],
                              taken_at=d.now))
    assert len(d.offers()) == 1


def test_snapshot_reconciles_ghosts_found_calls_and_stuck_agents(site_config: Config) -> None:
    d = Driver(site_config)
    ghost = d.call()  # offered to arm01, its phone rings
    d.ring(ghost, "PJSIP/arm01")
    d.now += 5
    entries = [
        ev.StatusEntry(channel="PJSIP/trunk-b", uniqueid="b", seconds=20, context="holding",
                       variables={"ACD_NUMBER": "15", "ACD_ARRIVED": str(d.now - 20)}),
        ev.StatusEntry(channel="PJSIP/trunk-a", uniqueid="a", seconds=25, context="holding",
                       variables={"ACD_NUMBER": "116117", "ACD_ARRIVED": str(d.now - 25)}),
        ev.StatusEntry(channel="PJSIP/other-1", uniqueid="z"),
    ]
    d.feed(i.ChannelsSnapshot(entries, taken_at=d.now))
    kinds = [x.kind for x in d.facts if isinstance(x, f.StateRepaired)]
    assert kinds.count("call_gone") == 1
    assert kinds.count("call_found") == 2
    assert "u1" not in d.engine.calls
    ended = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert ended[0].record.channel == ghost
    assert ended[0].record.ended_unobserved
    # found calls are served in their original arrival order: a (25 s) before b (20 s)
    # arm02 has been idle longest (arm01 was freed by the resync itself)
    assert d.offers()[1:] == [("PJSIP/trunk-a", "arm02"), ("PJSIP/trunk-b", "arm01")]
    assert d.engine.calls["a"].arrived_at == d.now - 25


def test_engine_never_hangs_up(site_config: Config) -> None:
    d = Driver(site_config)
    for _ in range(5):
        channel = d.call()
        d.advance(13)
        d.feed(i.ActionFailed(i.OfferRef("u1", 1), "Redirect", "x"))
        d.feed(i.LinkDown())
        d.feed(i.ChannelsSnapshot([], taken_at=d.now))
        d.hangup(channel)
    assert not any(isinstance(c, act.Hangup) for c in d.commands)


def test_follow_mode_sends_nothing(site_config: Config) -> None:
    d = Driver(site_config, decide=False)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.answer(channel, leg)
    assert d.commands == []
    assert d.engine.calls["u1"].state is CallState.CONNECTED


def test_agent_hangs_up_first_and_the_dialplan_ends_the_call(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.answer(channel, leg)
    d.feed(ev.Hangup(channel=leg))  # the agent hangs up first
    d.feed(ev.UserEvent(channel=channel, name="AcdDialEnd",
                        headers={"Agent": "arm01", "DialStatus": "ANSWER"}))
    d.advance(10.0)  # well past orphan_requeue_s: still not offered again
    assert d.engine.calls["u1"].state is CallState.HELD
    assert len(d.offers()) == 1
    d.hangup(channel)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert ended.outcome == "answered"
    assert len(ended.record.legs) == 1


def test_dial_failure_reported_by_the_dialplan_requeues_a_held_call(site_config: Config) -> None:
    d = Driver(site_config)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.answer(channel, leg)
    d.feed(ev.Hangup(channel=leg))
    d.feed(ev.UserEvent(channel=channel, name="AcdDialEnd",
                        headers={"Agent": "arm01", "DialStatus": "CHANUNAVAIL"}))
    assert d.engine.calls["u1"].state is CallState.OFFERED
    assert d.offers()[-1] == (channel, "arm02")


def test_resync_ignores_channels_without_a_number(site_config: Config) -> None:
    d = Driver(site_config)
    entries = [ev.StatusEntry(channel="Local/15@incoming-1;1", uniqueid="p",
                              variables={"ACD_NUMBER": "", "ACD_ARRIVED": ""}),
               ev.StatusEntry(channel="PJSIP/arm01-1", uniqueid="q")]
    d.feed(i.ChannelsSnapshot(entries, taken_at=d.now))
    assert d.engine.calls == {}


def test_a_late_dial_of_an_earlier_offer_does_not_start_a_ping_pong(site_config: Config) -> None:
    """The router gave up on arm01 (ring time-out) and offered arm02; then Asterisk,
    late, reports the dial to arm01 and its cancellation by our Redirect."""
    d = Driver(site_config)
    channel = d.call()
    d.advance(12.1)  # ring time-out: back on hold
    late = d.ring(channel, "PJSIP/arm01")
    d.dial_fail(channel, late, "CANCEL")
    call = d.engine.calls["u1"]
    assert call.state is CallState.HELD and d.engine.agents["arm01"].call is None
    d.feed(ev.MusicOnHoldStart(channel=channel))  # back in [holding]: offered to arm02
    assert d.offers()[-1] == (channel, "arm02")
    assert call_state(call) is CallState.OFFERED and call.agent == "arm02"
    assert len(d.offers()) == 2
    d.answer(channel, d.ring(channel, "PJSIP/arm02"))
    assert call_state(call) is CallState.CONNECTED and call.answered_by == "arm02"
