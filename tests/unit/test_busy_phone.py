"""A phone that answers an offer busy (``Busy()``, SIP 486) is not an absent agent.

Live t3-23: a SIP phone answering ``486 Busy Here`` was offered the same caller again
2 ms later, then paused "no answer"; live t3-06f/06g: a warm transfer's busy target
(``OriginateResponse Reason: 5``) was paused "no answer" after two transfers. Now the
caller goes to someone else at once, the agent stays available without a missed
offer, and is held out of selection for ``BUSY_HOLD_S``, so the busy phone is not
rung again in a loop."""

from __future__ import annotations

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.constants import BUSY_HOLD_S
from acd.core.model import AgentState
from tests.support.enginekit import Driver, agent_state
from tests.support.sites import WARM_SITE_TOML


def busy_facts(d: Driver) -> list[f.OfferBusy]:
    return [x for x in d.facts if isinstance(x, f.OfferBusy)]


def test_a_busy_phone_sends_the_caller_to_another_agent_at_once_without_a_pause(
        site_config: Config) -> None:
    d = Driver(site_config)
    arm01 = d.engine.agents["arm01"]
    for _ in range(3):  # max_missed_offers is 2: busy answers never count
        d.feed(i.AgentPause("arm02"))  # so that arm01 is rung first
        channel = d.call()
        assert d.offers()[-1] == (channel, "arm01")
        d.feed(i.AgentReady("arm02"))
        d.dial_fail(channel, d.ring(channel, "PJSIP/arm01"), "BUSY")
        assert d.offers()[-1] == (channel, "arm02")  # at once, to the other agent
        assert agent_state(arm01) is AgentState.AVAILABLE
        assert arm01.missed_offers == 0
        d.answer(channel, d.ring(channel, "PJSIP/arm02"))
        d.hangup(channel)
        d.advance(BUSY_HOLD_S)  # arm01's hold and arm02's wrap-up are over
    returned = [x.reason for x in d.facts if isinstance(x, f.CallReturned)]
    assert returned == ["dial busy"] * 3
    assert [(x.agent, x.queue, x.kind) for x in busy_facts(d)] == [
        ("arm01", "ARM_N1", "offer")] * 3
    assert not any(isinstance(x, f.AgentStateChanged) and x.agent == "arm01"
                   and x.new == "paused" for x in d.facts)


def test_a_busy_phone_is_not_offered_the_same_caller_again_in_a_loop(
        site_config: Config) -> None:
    """The only free agent's phone answers busy: the caller waits (on music) rather
    than being offered to that phone again 2 ms later; after BUSY_HOLD_S it is."""
    d = Driver(site_config)
    d.feed(i.AgentPause("arm02"))
    d.feed(i.AgentPause("amu01"))
    channel = d.call()
    d.dial_fail(channel, d.ring(channel, "PJSIP/arm01"), "BUSY")
    assert d.offers() == [(channel, "arm01")]
    arm01 = d.engine.agents["arm01"]
    assert arm01.state is AgentState.AVAILABLE and arm01.missed_offers == 0
    (busy,) = busy_facts(d)
    assert busy.until == d.now + BUSY_HOLD_S
    d.advance(BUSY_HOLD_S - 0.1)
    assert d.offers() == [(channel, "arm01")]
    d.call()  # a new caller is not offered to the held phone either
    assert len(d.offers()) == 1
    d.advance(0.1)
    assert d.offers()[1] == (channel, "arm01")  # the head of the queue, once
    assert len(d.offers()) == 2


def test_device_state_does_not_end_the_hold_early(site_config: Config) -> None:
    """A Local device shows INUSE then NOT_INUSE within the millisecond of its busy
    answer (live t3-06f): that is not the phone becoming free."""
    d = Driver(site_config)
    d.feed(i.AgentPause("arm02"))
    d.feed(i.AgentPause("amu01"))
    channel = d.call()
    d.dial_fail(channel, d.ring(channel, "PJSIP/arm01"), "BUSY")
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="INUSE"))
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="NOT_INUSE"))
    assert d.offers() == [(channel, "arm01")]
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="INUSE"))
    d.advance(BUSY_HOLD_S)  # the hold is over, the device still says in use
    assert d.offers() == [(channel, "arm01")]
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="NOT_INUSE"))
    assert d.offers()[-1] == (channel, "arm01")


def test_an_agent_whose_phone_is_in_use_is_not_offered_a_call_when_ready(
        site_config: Config) -> None:
    """Becoming available is not a free phone: the offer waits for the device."""
    d = Driver(site_config)
    for agent in ("arm01", "arm02", "amu01"):
        d.feed(i.AgentPause(agent))
    channel = d.call()
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="INUSE"))
    d.feed(i.AgentReady("arm01"))
    assert d.offers() == []
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="NOT_INUSE"))
    assert d.offers() == [(channel, "arm01")]


def warm_site() -> Config:
    return parse_config(WARM_SITE_TOML)


def transferring(d: Driver) -> str:
    """arm01 talks with a caller and asks for a warm transfer to OSNP."""
    channel = d.call()
    d.answer(channel, d.ring(channel, "PJSIP/arm01"))
    d.commands.clear()
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    return channel


def originates(d: Driver) -> list[act.Originate]:
    return [c for c in d.commands if isinstance(c, act.Originate)]


def test_a_busy_warm_target_is_held_and_the_next_one_rung_at_once() -> None:
    d = Driver(warm_site())
    transferring(d)
    d.feed(ev.OriginateResponse(response="Failure", channel="PJSIP/osnp01", reason="5",
                                context="acd-warm", exten="osnp01"))
    assert [o.channel for o in originates(d)] == ["PJSIP/osnp01", "PJSIP/osnp02"]
    osnp01 = d.engine.agents["osnp01"]
    assert osnp01.state is AgentState.AVAILABLE and osnp01.missed_offers == 0
    (busy,) = busy_facts(d)
    assert (busy.agent, busy.queue, busy.kind) == ("osnp01", "OSNP", "warm")
    # a caller put in OSNP meanwhile is not offered to the held phone
    d.feed(ev.UserEvent(channel="PJSIP/trunk-00000099", uniqueid="u99", name="AcdCallWaiting",
                        headers={"Number": "15", "Uniqueid": "u99"}))
    assert d.engine.agents["osnp01"].call is None


def test_no_answer_of_a_warm_target_counts_and_frees_it_at_once() -> None:
    """Live t3-06e: ``Reason: 3`` when the Originate's Timeout is over; the router freed
    the target 2 s later on its own timer, it now does so at the answer."""
    d = Driver(warm_site())
    transferring(d)
    d.now += 10
    d.feed(ev.OriginateResponse(response="Failure", channel="PJSIP/osnp01", reason="3",
                                context="acd-warm", exten="osnp01"))
    osnp01 = d.engine.agents["osnp01"]
    assert osnp01.state is AgentState.AVAILABLE and osnp01.missed_offers == 1
    assert busy_facts(d) == []
    assert [o.channel for o in originates(d)] == ["PJSIP/osnp01", "PJSIP/osnp02"]


def test_an_originate_response_of_another_ring_is_not_ours() -> None:
    """The same device rung by someone else's Originate (another context or
    extension) says nothing of our ring."""
    d = Driver(warm_site())
    transferring(d)
    for context, exten in (("from-internal", "osnp01"), ("acd-warm", "9999")):
        d.feed(ev.OriginateResponse(response="Failure", channel="PJSIP/osnp01",
                                    reason="5", context=context, exten=exten))
    assert d.engine.agents["osnp01"].state is AgentState.RINGING
    assert len(originates(d)) == 1
