"""Facts stand alone: a call's facts carry what their readers need (the number dialled,
priority, period, arrival, wait, the caller) so that none reads the engine back, and
the caller's number only ever masked (facts are journaled and logged)."""

from __future__ import annotations

import msgspec

from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.logs import mask_number
from tests.support.enginekit import Driver
from tests.support.sites import agent, site_toml

CALLER = "0612345678"  # what the driver's callers call from
SITE = site_toml("SAS facts", skills={"ARM_N1": {"wrap_up_s": 0}, "AMU_N2": {"wrap_up_s": 0}},
                 agents=[agent("arm01", ARM_N1=1, logged_in=True),
                         agent("amu01", AMU_N2=1, logged_in=True)])


def test_a_calls_facts_carry_its_number_period_arrival_wait_and_masked_caller() -> None:
    driver = Driver(parse_config(SITE, "facts-site.toml"))  # at night: PDSA hours
    arrived = driver.now
    channel = driver.call(priority="3")
    call_id = next(iter(driver.engine.calls))
    driver.now += 4
    leg = driver.ring(channel, "PJSIP/arm01")
    driver.answer(channel, leg)
    driver.feed(i.TransferRequest("AMU_N2", call=call_id, by="sup"))
    driver.advance(6)
    driver.answer(channel, driver.ring(channel, "PJSIP/amu01"))
    driver.advance(30)
    driver.hangup(channel)
    masked = mask_number(CALLER)

    queued = [x for x in driver.facts if isinstance(x, f.CallQueued)]
    assert [(x.new, x.period, x.arrived_at, x.caller, x.priority) for x in queued] == [
        (True, "pdsa", arrived, masked, 3), (False, "pdsa", arrived, masked, 3)]
    offered = [x for x in driver.facts if isinstance(x, f.CallOffered)]
    assert [(x.agent, x.number, x.priority, x.wait_s, x.caller) for x in offered] == [
        ("arm01", "15", 3, 0.0, masked), ("amu01", "15", 3, 4.0, masked)]
    answered = [x for x in driver.facts if isinstance(x, f.CallAnswered)]
    assert [(x.agent, x.number, x.priority, x.caller) for x in answered] == [
        ("arm01", "15", 3, masked), ("amu01", "15", 3, masked)]
    transferred = [x for x in driver.facts if isinstance(x, f.CallTransferred)]
    assert {(x.number, x.caller) for x in transferred} == {("15", masked)}
    ended = [x for x in driver.facts if isinstance(x, f.CallEnded)]
    assert [(x.call, x.caller) for x in ended] == [(call_id, masked)]
    assert call_id not in driver.engine.calls  # gone: its end stands alone

    # no fact carries the number in full, whatever reads or writes it
    assert all(CALLER.encode() not in msgspec.json.encode(x) for x in driver.facts)
