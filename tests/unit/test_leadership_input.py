"""A change of leader reaches the engine as an input (``LeadershipChanged``): a standby
follows without deciding; an elected router decides again only after a fresh resync."""

from __future__ import annotations

from acd.config import Config
from acd.core import inputs as i
from acd.core.model import CallState
from tests.support.enginekit import Driver, call_state, ev_snapshot


def test_a_standby_follows_callers_without_offering_them(site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(i.LeadershipChanged(leading=False))
    assert not d.engine.decide
    channel = d.call()
    assert d.commands == []
    (call,) = d.engine.calls.values()
    assert call.channel == channel and call_state(call) is CallState.WAITING


def test_an_elected_router_offers_once_its_resync_has_landed(site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(i.LeadershipChanged(leading=False))
    channel = d.call()
    d.feed(i.LeadershipChanged(leading=True))
    assert (d.engine.decide, d.engine.link_up) == (True, False)
    assert d.commands == []  # Asterisk's channels first: the standby may have missed some
    d.feed(ev_snapshot())
    assert d.engine.link_up
    assert [c for c, _agent in d.offers()] == [channel]
