"""The engine's typed inputs: a dialplan header that is no value never stops a call,
and a refused action is told apart by the type of its ``ref``."""

from __future__ import annotations

import pytest

from acd.ami import actions as act
from acd.config import Config
from acd.core import inputs as i
from acd.core.model import AgentState, CallState
from tests.support.enginekit import Driver, call_state


@pytest.mark.parametrize("text", ["x", "12", "-1", "\u00b2"])
def test_a_priority_that_is_no_digit_routes_the_call_at_the_sites_default(
        site_config: Config, text: str) -> None:
    d = Driver(site_config)
    channel = d.call(priority=text)
    assert d.engine.calls["u1"].priority == site_config.routing.default_priority
    assert d.offers() == [(channel, "arm01")]


def test_an_offers_actions_carry_its_ref(site_config: Config) -> None:
    d = Driver(site_config)
    d.call()
    call = d.engine.calls["u1"]
    assert [c.ref for c in d.commands if isinstance(c, act.Setvar | act.Redirect)] == [
        i.OfferRef(call.id, call.offer_id)] * 2


def test_a_refused_action_is_the_offers_only_when_its_ref_is_an_offers(
        site_config: Config) -> None:
    d = Driver(site_config)
    d.call()
    call = d.engine.calls["u1"]
    d.feed(i.ActionFailed(i.WarmRef(call.id, call.offer_id), "Redirect", "no such channel"))
    d.feed(i.ActionFailed(None, "Redirect", "no such channel"))
    assert call_state(call) is CallState.OFFERED  # no warm transfer of it: nothing moves
    d.feed(i.ActionFailed(i.OfferRef(call.id, call.offer_id), "Redirect", "no such channel"))
    assert call_state(call) is CallState.HELD
    assert d.engine.agents["arm01"].state is AgentState.AVAILABLE
