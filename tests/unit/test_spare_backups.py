"""A backup takes a lower-level call at once when their own filière can spare them
(``[routing] backups = "spare"``, :mod:`acd.core.spare`), and is kept back while it
needs them; the skill's expansion delay stays the bound."""

from __future__ import annotations

import pytest
from scipy.stats import poisson

from acd.config import Config
from acd.config.load import parse_config
from acd.core import inputs as i
from acd.core.demand import ArrivalRates
from acd.core.spare import reserve
from tests.support import sites
from tests.support.enginekit import Driver
from tests.support.sites import agent, site_toml, with_backups

#: arm01/arm02 answer N1; amu01 answers N2 and backs N1 up after 20 s; amu02 is a
#: second N2 regulator, logged out unless a test logs them in
SPARE_SITE = site_toml(
    "SAS spare",
    sections={"routing": {"ring_timeout_s": 10, "spare_risk": 0.1,
                          "demand_window_s": 600}},
    skills={"ARM_N1": {"wrap_up_s": 0, "expansion_s": [20]},
            "AMU_N2": {"wrap_up_s": 0, "expansion_s": [30]}},
    numbers={"15": "ARM_N1", "0800": "AMU_N2"},
    agents=[agent("arm01", ARM_N1=1, logged_in=True),
            agent("arm02", ARM_N1=1, logged_in=True),
            agent("amu01", AMU_N2=1, ARM_N1=2, logged_in=True),
            agent("amu02", AMU_N2=1)])


def site() -> Config:
    return parse_config(SPARE_SITE)


def offered_to(d: Driver, channel: str) -> str | None:
    return next((a for c, a in reversed(d.offers()) if c == channel), None)


def keep_arm_busy(d: Driver) -> None:
    for device in ("PJSIP/arm01", "PJSIP/arm02"):
        channel = d.call()
        d.answer(channel, d.ring(channel, device))


def busy_n2_hour(d: Driver, calls: int) -> None:
    """``calls`` AMU_N2 calls answered by amu01 and ended, over the last minutes: the
    N2 filière now expects calls."""
    for _ in range(calls):
        channel = d.call("0800")
        d.answer(channel, d.ring(channel, "PJSIP/amu01"))
        d.advance(30)
        d.hangup(channel)


@pytest.mark.parametrize("expected", [0.0, 0.05, 0.3, 1.0, 2.5, 7.0, 20.0])
@pytest.mark.parametrize("risk", [0.01, 0.1, 0.3])
def test_the_reserve_is_the_poisson_quantile(expected: float, risk: float) -> None:
    people = reserve(expected, risk)
    # scipy: the smallest r with P(N ≤ r) ≥ 1 − risk
    assert people == (0 if expected == 0 else int(poisson.ppf(1 - risk, expected)))


def test_arrival_rates_follow_the_recent_traffic() -> None:
    rates = ArrivalRates(600)
    for second in range(0, 3600, 60):  # one a minute for an hour
        rates.arrived("AMU_N2", float(second))
    assert rates.rate("AMU_N2", 3600) == pytest.approx(1 / 60, rel=0.15)
    assert rates.rate("AMU_N2", 3600 + 1800) < rates.rate("AMU_N2", 3600) / 10
    assert rates.rate("ARM_N1", 3600) == 0.0


def test_a_router_that_just_started_reads_the_traffic_it_saw_not_a_fraction() -> None:
    """An exponentially weighted count started at 0 reads low until it has weighed a
    whole window; divided by the weight gathered so far it reads what was seen."""
    rates = ArrivalRates(600)
    for second in range(0, 120, 10):  # one call every 10 s for the first two minutes
        rates.arrived("ARM_N1", 1000.0 + second)
    assert rates.rate("ARM_N1", 1120.0) == pytest.approx(1 / 10, rel=0.15)
    assert rates.rate("AMU_N2", 1120.0) == 0.0
    late = ArrivalRates(600)  # the same calls counted after hours of quiet counting
    late.arrived("AMU_N2", 0.0)
    for second in range(0, 120, 10):
        late.arrived("ARM_N1", 36_000.0 + second)
    assert late.rate("ARM_N1", 36_120.0) == pytest.approx(12 / 600, rel=0.15)


def test_a_backup_whose_filiere_is_quiet_takes_the_call_at_once() -> None:
    d = Driver(site())
    keep_arm_busy(d)
    third = d.call()
    assert offered_to(d, third) == "amu01"  # no 20 s wait: N2 is empty and quiet


def test_a_backup_is_kept_back_while_their_filiere_expects_calls_then_the_delay_bounds_it(
        ) -> None:
    d = Driver(site())
    busy_n2_hour(d, 8)  # about one N2 call every 30 s lately, amu01 alone for them
    keep_arm_busy(d)
    third = d.call()
    assert offered_to(d, third) is None
    d.advance(19.9)
    assert offered_to(d, third) is None
    d.advance(0.2)
    assert offered_to(d, third) == "amu01"  # expansion_s: no call waits past it


def test_a_second_free_regulator_lets_the_first_go() -> None:
    d = Driver(site())
    busy_n2_hour(d, 1)
    d.advance(300)  # one N2 call in 5.5 minutes: about 0.3 expected while amu01 is away
    keep_arm_busy(d)
    third = d.call()
    assert offered_to(d, third) is None  # amu01 is N2's only free regulator
    d.feed(i.AgentLogin("amu02"))
    # one more free N2 regulator covers N2's forecast: amu01 is lent at once
    assert offered_to(d, third) == "amu01"


def test_a_life_threatening_call_takes_the_backup_whatever_the_forecast() -> None:
    d = Driver(site())
    busy_n2_hour(d, 8)
    keep_arm_busy(d)
    vital = d.call(priority="0")
    assert offered_to(d, vital) == "amu01"


def test_nobody_is_lent_while_their_own_queue_has_a_caller() -> None:
    d = Driver(site())
    keep_arm_busy(d)
    n2 = d.call("0800")
    assert offered_to(d, n2) == "amu01"  # amu01 rings for N2
    waiting_n2 = d.call("0800")  # and a second N2 caller waits
    third = d.call()
    d.dial_fail(n2, d.ring(n2, "PJSIP/amu01"), "NOANSWER")
    # amu01 is free again: their own queue's callers come first, N1 waits
    assert offered_to(d, n2) == "amu01"
    assert offered_to(d, third) is None
    assert offered_to(d, waiting_n2) is None


def test_the_fixed_rule_still_waits_the_expansion_delay() -> None:
    d = Driver(with_backups(site(), "fixed"))
    keep_arm_busy(d)
    third = d.call()
    assert offered_to(d, third) is None
    d.advance(20.1)
    assert offered_to(d, third) == "amu01"


def test_a_caller_the_room_already_handled_takes_a_backup_at_once() -> None:
    d = Driver(site())
    busy_n2_hour(d, 8)  # amu01 would be kept back for a new caller
    busy = d.call()
    d.answer(busy, d.ring(busy, "PJSIP/arm02"))
    given_back = d.call()
    assert offered_to(d, given_back) == "arm01"
    d.feed(i.AgentPause("arm01"))  # arm01 walks away while the phone rings
    d.dial_fail(given_back, d.ring(given_back, "PJSIP/arm01"), "NOANSWER")
    # back at the head of N1 as a handled call: the backup takes it at once
    assert offered_to(d, given_back) == "amu01"
    fresh = d.call()
    assert offered_to(d, fresh) is None  # a new caller still waits for the rule



def test_a_handled_caller_takes_a_backup_only_once_their_own_filiere_has_nobody_waiting(
        ) -> None:
    """arm01 (ARM N1, backing AMU N2 up) comes free with a new N1 caller waiting and a
    caller transferred to N2 waiting for the busy regulator: the N1 caller first (the
    transferred one would have come first before this rule: PDSA night, 0.6 point of
    QS 30 s at N1); with nobody waiting at N1, arm01 takes the transferred caller."""
    d = Driver(sites.site_config())
    first, second = d.call(), d.call()
    d.answer(first, d.ring(first, "PJSIP/arm01"))
    d.answer(second, d.ring(second, "PJSIP/arm02"))
    regulated = d.call()  # amu01, N1's backup, takes it: N2 is quiet
    d.answer(regulated, d.ring(regulated, "PJSIP/amu01"))
    new_n1, to_n2 = d.call(), d.call()
    transferred = next(c.id for c in d.engine.calls.values() if c.channel == to_n2)
    d.feed(i.TransferRequest("AMU_N2", call=transferred, by="supervisor"))
    assert [c.channel for c in d.engine.waiting_calls("AMU_N2")] == [to_n2]
    d.hangup(first)
    d.advance(5.0)  # arm01's wrap-up
    assert offered_to(d, new_n1) == "arm01" and offered_to(d, to_n2) is None
    d.answer(new_n1, d.ring(new_n1, "PJSIP/arm01"))
    d.hangup(new_n1)
    d.advance(5.0)  # nobody waits at N1 now: before N2's 30 s expansion delay
    assert offered_to(d, to_n2) == "arm01"
