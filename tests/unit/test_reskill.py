"""Re-skilling in the pure engine: new skills apply from the next offer."""

from __future__ import annotations

from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import AgentState, CallState
from tests.support.enginekit import Driver, agent_state, call_state
from tests.support.sites import SITE_TOML


def reskilled(d: Driver) -> list[f.AgentReskilled]:
    return [x for x in d.facts if isinstance(x, f.AgentReskilled)]


def ignored(d: Driver) -> list[str]:
    return [x.detail for x in d.facts if isinstance(x, f.InputIgnored)]


def test_an_available_agent_takes_a_waiting_call_of_its_new_skill_at_once() -> None:
    d = Driver(parse_config(SITE_TOML))
    d.feed(i.AgentPause("amu01"))
    d.feed(i.AgentPause("arm01"))  # nobody free for AMU_N2
    channel = d.call("15")
    leg = d.ring(channel, "PJSIP/arm02")
    d.answer(channel, leg)
    d.feed(i.TransferRequest("AMU_N2", agent="arm02"))
    call = d.engine.calls["u1"]
    assert call.state is CallState.WAITING and call.queue == "AMU_N2"
    d.feed(i.AgentLogin("mg01"))
    assert call.state is CallState.WAITING  # MG only
    d.feed(i.AgentReskill("mg01", {"AMU_N2": 1, "MG": 2}, by="sup", reason="rotation"))
    (fact,) = reskilled(d)
    assert (fact.agent, fact.old, fact.new) == ("mg01", {"MG": 1}, {"AMU_N2": 1, "MG": 2})
    assert (fact.by, fact.reason) == ("sup", "rotation")
    assert call_state(call) is CallState.OFFERED and d.offers()[-1] == (channel, "mg01")


def test_the_call_in_progress_is_not_touched_and_the_next_offer_follows() -> None:
    d = Driver(parse_config(SITE_TOML))
    channel = d.call("15")
    call = d.engine.calls["u1"]
    agent = d.engine.agents[call.agent or ""]
    leg = d.ring(channel, agent.device)
    d.answer(channel, leg)
    d.feed(i.AgentReskill(agent.id, {"MG": 1}))
    assert call.state is CallState.CONNECTED and call.agent == agent.id
    assert agent.state is AgentState.ON_CALL and agent.skills == {"MG": 1}
    d.hangup(channel)
    d.advance(600)  # wrap-up over: available again, under MG only
    assert agent_state(agent) is AgentState.AVAILABLE
    for _ in range(3):
        d.call("15")
    assert all(c.agent != agent.id for c in d.engine.calls.values())


def test_bad_requests_are_ignored_with_a_reason_and_change_nothing() -> None:
    d = Driver(parse_config(SITE_TOML))
    agent = next(iter(d.engine.agents.values()))
    before = dict(agent.skills)
    d.feed(i.AgentReskill(agent.id, {}))
    d.feed(i.AgentReskill(agent.id, {"PSY": 1}))
    d.feed(i.AgentReskill(agent.id, {"ARM_N1": 0}))
    d.feed(i.AgentReskill("ghost", {"ARM_N1": 1}))
    assert agent.skills == before and reskilled(d) == []
    problems = ignored(d)
    assert "at least one skill" in problems[0]
    assert "unknown skill PSY" in problems[1]
    assert "levels must be 1 to 9" in problems[2]
    assert "unknown agent 'ghost'" in problems[3]
