"""Engine time that no single event moves (:mod:`acd.service.clock`): the router's own
clock, Asterisk's timestamps dated on it after a sanity check, each disagreement
between the two clocks counted once."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from acd.ami import events as ev
from acd.config.load import parse_config
from acd.service.clock import EARLY_S, OwnClock, PbxTime, SimulatorClock
from acd.testing import build_stack
from tests.support.sites import local_agents, site_toml

START = 1_795_329_358.0


class FakeTime:
    """A wall clock and a monotonic clock the test moves."""

    def __init__(self) -> None:
        self.wall = START
        self.mono = 100.0

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def own_clock(fake: FakeTime) -> OwnClock:
    return OwnClock(wall=lambda: fake.wall, monotonic=lambda: fake.mono)


def dated(fake: FakeTime, skews: list[float]) -> PbxTime:
    return PbxTime(own_clock(fake), on_skew=skews.append)


def test_events_are_dated_by_their_timestamps_with_one_offset() -> None:
    """Asterisk's clock 40 ms behind the router's, events read 1–30 ms after they were
    stamped: each is dated by its own timestamp (one offset for all), so the time
    between two of them is Asterisk's to the microsecond."""
    fake, skews = FakeTime(), list[float]()
    pbx = dated(fake, skews)
    first = pbx.date(START - 0.040 - 0.001)
    fake.run(7.0)
    second = pbx.date(START + 7.0 - 0.040 - 0.030)
    assert second - first == pytest.approx(7.0 - 0.029, abs=1e-6)
    assert skews == []


def test_timestamps_a_few_milliseconds_out_of_order_change_nothing() -> None:
    fake, skews = FakeTime(), list[float]()
    pbx = dated(fake, skews)
    pbx.date(START)
    stamps = [START + 1.003, START + 1.001, START + 1.006, START + 1.000, START + 1.004]
    fake.run(1.006)
    dates = [pbx.date(stamp) for stamp in stamps]
    assert dates == pytest.approx(stamps, abs=1e-6)
    assert skews == [] and pbx.offset == 0.0


def test_one_stray_timestamp_moves_nothing_and_is_counted_once() -> None:
    """A Newstate of an unknown channel stamped an hour ahead: dated when received,
    the next events as before, counted once."""
    fake, skews = FakeTime(), list[float]()
    pbx = dated(fake, skews)
    pbx.date(START)
    fake.run(2.0)
    assert pbx.date(START + 2.0 + 3600.0) == pytest.approx(START + 2.0)
    fake.run(0.5)
    assert pbx.date(START + 2.5) == pytest.approx(START + 2.5)
    assert [round(s) for s in skews] == [-3600]
    assert pbx.offset == 0.0


def test_a_stepped_asterisk_clock_is_counted_once_and_followed_for_the_dates() -> None:
    """Asterisk's host stepped an hour ahead (NTP): counted once; its events are dated
    on the router's clock, the time between two of them kept; the fail-open heartbeat
    (Asterisk's clock as its timestamps tell) follows the step at once."""
    fake, skews = FakeTime(), list[float]()
    pbx = dated(fake, skews)
    pbx.date(START)
    fake.run(1.0)
    assert pbx.date(START + 1.0) == pytest.approx(START + 1.0)
    dates = []
    for n in range(20):
        fake.run(0.25)
        dates.append(pbx.date(START + 1.25 + 0.25 * n + 3600.0))
        assert pbx.pbx_now() == pytest.approx(START + 1.25 + 0.25 * n + 3600.0)
    assert dates == pytest.approx([START + 1.25 + 0.25 * n for n in range(20)])
    assert len(skews) == 1 and round(skews[0]) == -3600


def test_a_skew_from_the_first_timestamp_is_counted_once() -> None:
    """An Asterisk whose clock is 13 days behind: said once, its events dated on the
    router's clock all the same."""
    fake, skews = FakeTime(), list[float]()
    pbx = dated(fake, skews)
    behind = 13 * 86_400.0
    assert pbx.date(START - behind) == START
    for n in range(1, 10):
        fake.run(1.0)
        assert pbx.date(START - behind + n) == pytest.approx(START + n)
    assert len(skews) == 1


def test_no_event_is_dated_far_after_the_router_clock() -> None:
    fake, skews = FakeTime(), list[float]()
    pbx = dated(fake, skews)
    pbx.date(START)
    for ahead in (0.6, 5.0, 3600.0, 10 * 86_400.0):
        fake.run(1.0)
        assert pbx.date(START + (fake.wall - START) + ahead) <= fake.wall + EARLY_S
        fake.run(1.0)
        pbx.date(fake.wall)  # back to normal: the next stray is a new episode
    assert len(skews) == 4


def test_a_simulator_clock_starts_at_the_first_timestamp_and_runs_at_its_speed() -> None:
    fake = FakeTime()
    clock = SimulatorClock(50.0, monotonic=lambda: fake.mono)
    pbx = PbxTime(clock)
    assert pbx.date(START) == START
    fake.run(2.0)
    assert clock() == pytest.approx(START + 100.0)
    # a step of the simulated Asterisk's clock does not move the simulated time
    assert pbx.date(START + 100.0 + 3600.0) == pytest.approx(START + 100.0)
    assert clock() == pytest.approx(START + 100.0)


def status(seconds: int, arrived: str) -> ev.StatusEntry:
    return ev.StatusEntry(channel="PJSIP/trunk-1", uniqueid="1.1", context="holding",
                          seconds=seconds, variables={"ACD_NUMBER": "15",
                                                      "ACD_ARRIVED": arrived})


@pytest.mark.parametrize(("written", "seconds", "expected"), [
    ("1795329350.437", 9, "1795329350.477000"),  # milliseconds, moved by the offset
    ("1795329350", 9, "1795329350.040000"),  # an older dialplan's whole seconds
    ("1795325750.437", 9, ""),  # written before Asterisk's clock stepped an hour
    ("1795329359.5", 9, "1795329358.040000"),  # after the list: at the list
    ("(null)", 9, "(null)"),
    ("1795325750.437", 0, "1795325750.477000"),  # no age: nothing to check against
])
def test_acd_arrived_is_moved_onto_the_engine_clock_if_sane(written: str, seconds: int,
                                                            expected: str) -> None:
    fake = FakeTime()
    fake.wall += 0.040  # the router's clock 40 ms ahead of Asterisk's
    pbx = PbxTime(own_clock(fake))
    listed_at = pbx.date(START)
    entry = pbx.arrival(status(seconds, written), "ACD_ARRIVED", listed_at)
    assert entry.variables["ACD_ARRIVED"] == expected


def test_a_step_of_the_router_host_clock_is_counted_once_logged_once_not_followed() -> None:
    fake = FakeTime()
    service = build_stack(parse_config(site_toml("clock", agents=local_agents("1001"))),
                          clock=own_clock(fake), metrics=True).service
    with capture_logs() as logs:
        service.parts.heartbeat.beat()
        fake.wall += 3600.0  # NTP steps the host's clock
        before = service.clock()
        for _ in range(5):
            service.parts.heartbeat.beat()
    assert service.clock() == before  # engine time did not move
    assert service.clock_skews == {"asterisk": 0, "router": 1}
    steps = [e for e in logs if e["event"] == "clock_skew"]
    assert len(steps) == 1 and steps[0]["clock"] == "router" and steps[0]["step_s"] == 3600
    assert service.metrics is not None
    exposed = service.metrics.render().decode()
    assert 'acd_clock_skew_events_total{kind="router"} 1.0' in exposed
    assert 'acd_clock_skew_events_total{kind="asterisk"} 0.0' in exposed
