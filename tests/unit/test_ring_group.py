"""Ring groups (``[routing] ring_phones``): one caller rings several free agents of the
same level at once, in one ``Dial`` (``PJSIP/a&PJSIP/b``), and the first to answer
takes it, as app_queue's ``ringall`` does; but only agents no other caller or warm
transfer waits for, so a ring group never makes another caller wait."""

from __future__ import annotations

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import Config, with_routing
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import AgentState, CallState
from tests.support.enginekit import Driver, agent_state, call_state


def ringing(config: Config, phones: int = 3) -> Config:
    """``config`` with ring groups of ``phones`` and backups after their delay only."""
    return with_routing(config, backups="fixed", ring_phones=phones)


def dial_values(d: Driver) -> list[str]:
    return [c.value for c in d.commands if isinstance(c, act.Setvar)
            and c.variable == "ACD_DIAL"]


def test_one_dial_rings_every_free_primary_and_one_redirect_names_the_first(
        site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    assert dial_values(d) == ["PJSIP/arm01&PJSIP/arm02"]  # amu01 is a backup (20 s)
    assert d.offers() == [(channel, "arm01")]
    assert [(x.agent, x.queue) for x in d.facts if isinstance(x, f.CallOffered)] == [
        ("arm01", "ARM_N1"), ("arm02", "ARM_N1")]
    agents = d.engine.agents
    assert agents["arm01"].state is agents["arm02"].state is AgentState.RINGING
    assert agents["amu01"].state is AgentState.AVAILABLE


def test_the_size_of_the_group_is_bounded(site_config: Config) -> None:
    d = Driver(ringing(site_config, phones=1))
    d.call()
    assert dial_values(d) == ["PJSIP/arm01"]


def test_the_first_answer_takes_the_call_the_other_is_free_without_a_miss(
        site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    first, second = d.ring(channel, "PJSIP/arm01"), d.ring(channel, "PJSIP/arm02")
    d.dial_fail(channel, first, "CANCEL")  # app_dial: the others are told first
    arm01 = d.engine.agents["arm01"]
    assert agent_state(arm01) is AgentState.AVAILABLE and arm01.missed_offers == 0
    assert call_state(d.engine.calls["u1"]) is CallState.OFFERED
    d.answer(channel, second)
    call = d.engine.calls["u1"]
    assert call_state(call) is CallState.CONNECTED
    assert (call.agent, call.answered_by, call.also_ringing) == ("arm02", "arm02", [])
    assert d.engine.agents["arm02"].state is AgentState.ON_CALL
    assert not [x for x in d.facts if isinstance(x, f.CallReturned)]
    answered = [x for x in d.facts if isinstance(x, f.CallAnswered)]
    assert [(x.agent, x.wait_s) for x in answered] == [("arm02", 0.0)]


def test_an_answer_reported_before_the_cancels_frees_the_others(site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    d.ring(channel, "PJSIP/arm01")
    d.answer(channel, d.ring(channel, "PJSIP/arm02"))
    assert d.engine.agents["arm01"].state is AgentState.AVAILABLE
    assert d.engine.agents["arm01"].call is None


def test_a_busy_phone_leaves_the_group_and_the_others_ring_on(site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    busy = d.ring(channel, "PJSIP/arm01")
    d.ring(channel, "PJSIP/arm02")
    d.dial_fail(channel, busy, "BUSY")
    call = d.engine.calls["u1"]
    assert call_state(call) is CallState.OFFERED and call.ringing_agents() == ["arm02"]
    assert [x.agent for x in d.facts if isinstance(x, f.OfferBusy)] == ["arm01"]
    assert d.engine.agents["arm01"].state is AgentState.AVAILABLE
    assert d.offers() == [(channel, "arm01")]  # the busy phone is not rung again


def test_nobody_answers_every_phone_missed_and_the_caller_back_at_the_head(
        site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    legs = [d.ring(channel, "PJSIP/arm01"), d.ring(channel, "PJSIP/arm02")]
    for leg in legs:
        d.dial_fail(channel, leg, "NOANSWER")
    agents = d.engine.agents
    assert [agents[a].missed_offers for a in ("arm01", "arm02")] == [1, 1]
    returned = [x.reason for x in d.facts if isinstance(x, f.CallReturned)]
    assert returned == ["dial noanswer"]
    # offered again at once, to the phone free first (the other was still ringing)
    assert call_state(d.engine.calls["u1"]) is CallState.OFFERED
    assert d.offers() == [(channel, "arm01")] * 2


def test_the_ring_timer_takes_every_phone_back(site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    d.advance(12.1)  # ring_timeout_s 10 + 2 s grace, no news from the dialplan
    call = d.engine.calls["u1"]
    assert call.state is CallState.HELD and call.ringing_agents() == []
    agents = d.engine.agents
    assert [agents[a].state for a in ("arm01", "arm02")] == [AgentState.AVAILABLE] * 2
    assert [agents[a].missed_offers for a in ("arm01", "arm02")] == [1, 1]
    d.feed(ev.MusicOnHoldStart(channel=channel))
    assert call_state(call) is CallState.OFFERED


def test_the_caller_hangs_up_while_every_phone_rings(site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    legs = [d.ring(channel, "PJSIP/arm01"), d.ring(channel, "PJSIP/arm02")]
    for leg in legs:
        d.dial_fail(channel, leg, "CANCEL")
    d.hangup(channel)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert ended.outcome == "abandoned"
    agents = d.engine.agents
    assert [(agents[a].state, agents[a].missed_offers) for a in ("arm01", "arm02")] == [
        (AgentState.AVAILABLE, 0)] * 2


def test_the_caller_gone_before_any_dial_frees_the_group(site_config: Config) -> None:
    d = Driver(ringing(site_config))
    channel = d.call()
    d.hangup(channel)
    agents = d.engine.agents
    assert [agents[a].state for a in ("arm01", "arm02")] == [AgentState.AVAILABLE] * 2
    assert [agents[a].call for a in ("arm01", "arm02")] == [None, None]


def test_no_agent_rings_for_one_caller_while_another_caller_waits_for_it(
        site_config: Config) -> None:
    """Two callers found waiting at once (the link came back): each rings its own
    agent, neither takes the other's."""
    d = Driver(ringing(site_config))
    d.feed(i.LinkDown("test"))
    d.call()
    d.call()
    entries = [ev.StatusEntry(channel=f"PJSIP/trunk-{n:08x}", context="holding",
                              uniqueid=f"u{n}", variables={"ACD_NUMBER": "15"})
               for n in (1, 2)]
    d.feed(i.ChannelsSnapshot(entries, taken_at=d.now))
    assert sorted(dial_values(d)) == ["PJSIP/arm01", "PJSIP/arm02"]


def test_an_agent_rung_in_a_group_found_busy_elsewhere_leaves_the_group(
        site_config: Config) -> None:
    """Asterisk shows arm02 talking with another caller (the fail-open queue, a
    direct call): the group rings on with arm01 alone."""
    d = Driver(ringing(site_config))
    first = d.call()
    d.ring(first, "PJSIP/arm01")
    d.ring(first, "PJSIP/arm02")
    d.feed(i.LinkDown("test"))  # a second caller put through by someone else
    other = d.call()
    d.answer(other, d.ring(other, "PJSIP/arm02"))
    call = d.engine.calls["u1"]
    assert call_state(call) is CallState.OFFERED and call.ringing_agents() == ["arm01"]
    assert d.engine.agents["arm02"].call not in (None, "u1")
    assert d.engine.agents["arm02"].state is AgentState.ON_CALL
