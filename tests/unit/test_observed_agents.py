"""Phones followed from traffic (observed agents): only real devices, bounded in number,
forgotten with their channels, each refusal counted (acd/core/observed.py)."""

from __future__ import annotations

from acd.ami import events as ev
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import CallState
from acd.core.observed import MAX_DEVICE_LEN, MAX_OBSERVED, REFUSED_INPUT, device_problem
from tests.support.enginekit import Driver
from tests.support.metricsroom import Room, scrape, value
from tests.support.sites import local_agents, site_toml

#: nobody logged in: callers wait, so every dial the tests show is someone else's
SITE = parse_config(site_toml("SAS observed phones",
                              agents=local_agents("1001", logged_in=False)))


def observed(d: Driver) -> dict[str, str]:
    return {a.id: a.device for a in d.engine.agents.values() if a.observed}


def refusals(d: Driver) -> int:
    return sum(isinstance(x, f.InputIgnored) and x.input == REFUSED_INPUT for x in d.facts)


def test_real_phones_and_local_agents_are_followed() -> None:
    for device in ("PJSIP/2004", "SIP/arm-01", "IAX2/peer.example.org", "DAHDI/1",
                   "Local/1001@agents", "Local/+33612@from-lab"):
        assert device_problem(device) is None, device
    for device in ("Message/ksmith", "ConfBridge/1234", "Snoop/PJSIP", "2004", "PJSIP/",
                   "Local/1001", "Local/1001@agents/n;2", "PJSIP/20 04", "pjsip/2004",
                   "PJSIP/2004\x00", "PJSIP/" + "9" * MAX_DEVICE_LEN):
        assert device_problem(device) is not None, device


def test_hostile_destinations_create_no_agent_and_leave_the_caller_alone() -> None:
    d = Driver(SITE)
    hostile = ["\x00\x01\x02\xff\ufffd-00000001",  # binary junk off the wire
               "PJSIP/" + "9" * 60_000 + "-00000002",  # a 60,000-character id
               "Message/ksmith-00000003", "PJSIP/20\x0704-00000004"]
    for leg in hostile:
        caller = d.call()
        d.feed(ev.DialBegin(channel=caller, dest_channel=leg))
        call = d.engine.state.by_channel[caller]
        # rung by someone else on a phone the engine does not follow: never offered
        # meanwhile, followed until Asterisk shows it back on hold
        assert call.state is CallState.NATIVE
        d.feed(ev.DialEnd(channel=caller, dest_channel=leg, dial_status="ANSWER"))
        d.feed(ev.Hangup(channel=leg))
    assert observed(d) == {}
    assert refusals(d) == 2 * len(hostile)  # DialBegin, then DialEnd
    assert all(len(a.id) <= 64 for a in d.engine.agents.values())
    caller = next(iter(d.engine.state.by_channel))
    d.feed(ev.MusicOnHoldStart(channel=caller, context="holding"))
    assert d.engine.state.by_channel[caller].state is CallState.WAITING


def test_many_distinct_phones_are_bounded() -> None:
    d = Driver(SITE)
    for n in range(MAX_OBSERVED + 300):
        caller = d.call()
        d.feed(ev.DialBegin(channel=caller, dest_channel=f"PJSIP/x{n}-{n:08x}"))
    assert len(observed(d)) == MAX_OBSERVED
    assert refusals(d) == 300
    assert len(d.engine.state.by_device) == MAX_OBSERVED + 1  # and the config's 1001


def test_an_observed_phone_is_forgotten_with_its_channels() -> None:
    d = Driver(SITE)
    # rung 15 s without an answer by the fail-open queue (recording live t3-25)
    caller = d.call()
    leg = d.ring(caller, "PJSIP/2002")
    assert observed(d) == {"PJSIP/2002": "PJSIP/2002"}
    d.dial_fail(caller, leg)
    assert observed(d)  # its channel is still there
    d.hangup(leg)
    assert observed(d) == {}
    # took a call (live t3-07c), the caller hangs up first
    caller = d.call()
    leg = d.ring(caller, "PJSIP/2001")
    d.answer(caller, leg)
    d.hangup(caller)
    assert observed(d) == {"PJSIP/2001": "PJSIP/2001"}
    d.hangup(leg)
    assert observed(d) == {}
    assert "PJSIP/2001" not in d.engine.state.by_device
    # a config agent keeps its phone
    assert d.engine.state.by_device["Local/1001@agents"].id == "1001"


def test_a_reconciliation_forgets_an_observed_phone_without_a_channel() -> None:
    d = Driver(SITE)
    caller = d.call()
    leg = d.ring(caller, "PJSIP/2003")
    d.dial_fail(caller, leg)  # and its Hangup never reached the router
    assert observed(d)
    d.feed(i.Reconcile([], taken_at=d.now))
    assert observed(d) == {}


async def test_a_refused_phone_is_counted_in_the_input_errors() -> None:
    room = Room(SITE)
    caller = room.call()
    room.submit(ev.DialBegin(channel=caller, dest_channel="\x00junk-00000001"))
    assert value(scrape(room), "acd_input_errors_total", kind="observed_agent") == 1
    assert value(scrape(room), "acd_inputs_ignored_total") == 1
