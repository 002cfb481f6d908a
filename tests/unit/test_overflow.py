"""Overflow to partner SAS, the bascule and PDSA forwarding, in the pure engine."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import CallState
from tests.support.enginekit import Driver
from tests.support.sites import SITE_TOML

PARTNERS = b"""
[[partners]]
name = "sas62"
dial = "PJSIP/sas62/15"
preference = 1
down_for_s = 300
ring_timeout_s = 20

[[partners]]
name = "sas80"
dial = "PJSIP/sas80/15"
preference = 2
"""
TUESDAY_10H = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
SUNDAY_10H = datetime(2026, 3, 8, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


def site(rule: str = "", extra: bytes = b"") -> Config:
    return parse_config(SITE_TOML + PARTNERS + extra +
                        (f"\n[overflow.ARM_N1]\n{rule}\n".encode() if rule else b""))


def overflow_redirects(d: Driver) -> list[tuple[str, str]]:
    return [(c.channel, c.exten) for c in d.commands
            if isinstance(c, act.Redirect) and c.context == "acd-overflow"]


def busy_room(d: Driver) -> None:
    """arm01, arm02 talking; amu01 paused: nobody free for ARM_N1."""
    d.feed(i.AgentPause("amu01"))
    for device in ("PJSIP/arm01", "PJSIP/arm02"):
        channel = d.call()
        d.answer(channel, d.ring(channel, device))


def results(d: Driver) -> list[tuple[str, str]]:
    return [(x.partner, x.result) for x in d.facts if isinstance(x, f.CallOverflowed)]


def test_queue_over_its_limit_overflows_and_the_partner_answers() -> None:
    d = Driver(site("max_waiting = 1"), now=TUESDAY_10H)
    busy_room(d)
    d.call()  # waits: 1 call waiting
    third = d.call()
    assert overflow_redirects(d) == [(third, "sas62")]
    setvars = {(c.variable, c.value) for c in d.commands if isinstance(c, act.Setvar)
               and c.channel == third}
    assert setvars == {("ACD_PARTNER_DIAL", "PJSIP/sas62/15"), ("ACD_PARTNER_RING", "20")}
    leg = d.ring(third, "PJSIP/sas62")
    assert "PJSIP/sas62" not in d.engine.agents  # a partner trunk is not an agent
    d.answer(third, leg)
    d.now += 200
    d.hangup(third)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert ended.outcome == "overflowed"
    assert ended.record.partner == "sas62"
    assert [(o.partner, o.result) for o in ended.record.overflows] == [("sas62", "answered")]
    assert results(d) == [("sas62", "tried"), ("sas62", "answered")]


def test_a_caller_gone_while_a_partner_rings_leaves_that_attempt_abandoned() -> None:
    d = Driver(site("max_waiting = 1"), now=TUESDAY_10H)
    busy_room(d)
    d.call()
    third = d.call()
    d.ring(third, "PJSIP/sas62")
    d.now += 6
    d.hangup(third)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert ended.outcome == "abandoned"
    assert [(o.partner, o.result) for o in ended.record.overflows] == [("sas62", "abandoned")]


def test_partner_failure_returns_the_call_to_its_place_and_rests_the_partner() -> None:
    d = Driver(site("max_waiting = 1"), now=TUESDAY_10H)
    busy_room(d)
    first_waiting = d.call()
    third = d.call()
    d.dial_fail(third, d.ring(third, "PJSIP/sas62"), "BUSY")
    assert not d.engine.partner_up("sas62")
    assert [c.channel for c in d.engine.waiting_calls("ARM_N1")] == [first_waiting, third]
    fourth = d.call()  # sas62 rests: the next partner by preference
    assert overflow_redirects(d) == [(third, "sas62"), (fourth, "sas80")]
    later = d.call()  # still over the limit: tried at sas80 too
    assert overflow_redirects(d)[-1] == (later, "sas80")
    d.feed(ev.UserEvent(channel=fourth, name="AcdOverflowEnd",
                        headers={"Partner": "sas80", "DialStatus": "CHANUNAVAIL"}))
    # back at its place: after `third` (arrived before it)
    assert [c.channel for c in d.engine.waiting_calls("ARM_N1")] == [
        first_waiting, third, fourth]
    assert results(d)[-1] == ("sas80", "unavailable")
    fifth = d.call()
    assert fifth not in {c for c, _ in overflow_redirects(d)}  # both partners resting
    assert not any(isinstance(c, act.Hangup) for c in d.commands)


def test_no_news_from_the_partner_brings_the_call_back_on_hold() -> None:
    d = Driver(site("max_waiting = 0"), now=TUESDAY_10H)
    busy_room(d)
    call = d.call()
    assert overflow_redirects(d) == [(call, "sas62")]
    d.advance(22.1)  # ring_timeout_s 20 + 2 s grace
    back = [c for c in d.commands if isinstance(c, act.Redirect) and c.context == "holding"]
    assert back[-1].channel == call
    # one action in flight per caller: nothing else is sent for it until Asterisk shows
    # it back in [holding] (a second Redirect would be refused, live 04)
    assert d.commands[-1] is back[-1]
    (state,) = [c.state for c in d.engine.calls.values() if c.channel == call]
    assert state is CallState.HELD
    assert results(d)[:2] == [("sas62", "tried"), ("sas62", "failed")]
    d.feed(ev.MusicOnHoldStart(channel=call))
    (state,) = [c.state for c in d.engine.calls.values() if c.channel == call]
    assert state in (CallState.WAITING, CallState.OVERFLOWING)  # or tried at sas80 next


def test_partial_share_is_exact_and_deterministic() -> None:
    d = Driver(site("share = 0.5"), now=TUESDAY_10H)
    channels = [d.call() for _ in range(4)]
    assert [c for c, _ in overflow_redirects(d)] == [channels[1], channels[3]]


def test_waiting_too_long_overflows() -> None:
    d = Driver(site("max_wait_s = 90"), now=TUESDAY_10H)
    busy_room(d)
    call = d.call()
    d.advance(89)
    assert overflow_redirects(d) == []
    d.advance(1.5)
    assert overflow_redirects(d) == [(call, "sas62")]


def test_no_agent_logged_in_overflows_when_configured() -> None:
    d = Driver(site("when_no_agent = true"), now=TUESDAY_10H)
    for agent in ("arm01", "arm02", "amu01"):
        d.feed(i.AgentLogout(agent))
    call = d.call()
    assert overflow_redirects(d) == [(call, "sas62")]


def test_bascule_of_the_site_and_back_is_audited() -> None:
    d = Driver(site(), now=TUESDAY_10H)
    busy_room(d)
    waiting = d.call()
    d.feed(i.BasculeRequest("*", 1.0, partner="sas80", by="dr.martin",
                            reason="panne téléphonie"))
    assert overflow_redirects(d) == [(waiting, "sas80")]
    new = d.call()
    assert overflow_redirects(d)[-1] == (new, "sas80")
    d.feed(i.BasculeRequest("*", 0.0, by="dr.martin", reason="retour"))
    local = d.call()
    assert local not in {c for c, _ in overflow_redirects(d)}
    changes = [(x.queue, x.share, x.by, x.reason) for x in d.facts
               if isinstance(x, f.BasculeChanged)]
    assert changes == [("*", 1.0, "dr.martin", "panne téléphonie"),
                       ("*", 0.0, "dr.martin", "retour")]


def test_transfer_fallback_can_overflow() -> None:
    d = Driver(site(extra=b'[transfers]\nfallback = ["overflow"]\n'), now=TUESDAY_10H)
    channel = d.call()
    d.answer(channel, d.ring(channel, "PJSIP/arm01"))
    d.feed(i.TransferRequest("MG", agent="arm01"))  # nobody logged in for MG
    assert overflow_redirects(d) == [(channel, "sas62")]
    assert [x.result for x in d.facts if isinstance(x, f.CallTransferred)][-1] == \
        "fallback_overflow"


PDSA_PLAN = b"""
[numbers."116117"]
queue = "ARM_N1"
pdsa = "PJSIP/pdsa-trunk/116117"
"""


def test_116117_on_sunday_is_forwarded_to_the_pdsa_line() -> None:
    config = parse_config(SITE_TOML.replace(b'[numbers."116117"]\nqueue = "ARM_N1"\n', b"")
                          + PDSA_PLAN)
    d = Driver(config, now=SUNDAY_10H)
    call = d.call("116117")
    assert overflow_redirects(d) == [(call, "PDSA")]
    d.answer(call, d.ring(call, "PJSIP/pdsa-trunk"))
    d.hangup(call)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    assert (ended.outcome, ended.record.period, ended.record.partner) == (
        "forwarded", "pdsa", "PDSA")
    # the 15 on the same Sunday stays with the front office, in the PDSA period
    fifteen = d.call("15")
    assert d.offers()[-1][0] == fifteen
    assert d.engine.calls[next(iter(d.engine.calls))].period == "pdsa"


def test_a_failed_pdsa_line_leaves_the_call_with_the_front_office() -> None:
    config = parse_config(SITE_TOML.replace(b'[numbers."116117"]\nqueue = "ARM_N1"\n', b"")
                          + PDSA_PLAN)
    d = Driver(config, now=SUNDAY_10H)
    d.feed(i.AgentPause("arm01"))
    d.feed(i.AgentPause("arm02"))
    d.feed(i.AgentPause("amu01"))
    call = d.call("116117")
    d.dial_fail(call, d.ring(call, "PJSIP/pdsa-trunk"), "CONGESTION")
    d.feed(i.AgentReady("arm02"))
    assert d.offers()[-1] == (call, "arm02")


def test_an_overflow_is_not_counted_as_an_ignored_input() -> None:
    d = Driver(site("max_waiting = 0"), now=TUESDAY_10H)
    busy_room(d)
    d.call()
    tried = [x for x in d.facts if isinstance(x, f.CallOverflowed) and x.result == "tried"]
    assert tried[0].reason == "0 calls waiting (limit 0)"
    assert not any(isinstance(x, f.InputIgnored) for x in d.facts)
