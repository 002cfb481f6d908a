"""The durable snapshot follows the engine by the facts alone: every change of a call,
an agent or a queue comes with a fact that names it, so the tracker, which encodes
only what the facts name, holds after each input what a full encoding of the engine
gives (no periodic sweep is needed)."""

from __future__ import annotations

import pytest

from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.effects import Output
from acd.core.engine import Engine
from acd.store.snapshot import SnapshotTracker
from acd.tools.fastday.day import load_day, play_day
from tests.support.enginekit import Driver, saved
from tests.support.paths import REPO
from tests.support.sites import agent, site_toml

SCENARIOS = REPO / "acd" / "shipped" / "config" / "scenarios"
#: the facts that name changes which once came without one
ONCE_WITHOUT = {f.AgentPhoneChanged, f.AgentLegSeen, f.CallConnecting, f.RingLeft,
                f.CallSetAside}


class Follower:
    """A snapshot tracker fed the facts of each input, checked after each against a
    fresh tracker's full encoding of the engine."""

    def __init__(self) -> None:
        self.tracker: SnapshotTracker | None = None
        self.inputs = 0
        self.seen: set[type] = set()
        self.differ: list[tuple[str, str]] = []

    def __call__(self, engine: Engine, item: object, out: Output) -> None:
        tracker = self.tracker
        if tracker is None:  # its first batch writes everything, as a store's does
            tracker = self.tracker = SnapshotTracker.of_engine(engine, "t")
        for fact in out.facts:
            tracker.note(fact)
            self.seen.add(type(fact))
        _ops, pending = tracker.ops()
        tracker.committed(pending)
        self.inputs += 1
        fresh = SnapshotTracker.of_engine(engine, "t")
        _ops, everything = fresh.ops()
        fresh.committed(everything)
        held, truth = tracker.held(), fresh.held()
        for kind, ours, true in (("call", held.calls, truth.calls),
                                 ("agent", held.agents, truth.agents),
                                 ("queue", held.queues, truth.queues)):
            for name in set(ours) | set(true):
                if ours.get(name) != true.get(name):
                    self.differ.append((type(item).__name__, f"{kind} {name}"))


@pytest.mark.parametrize("name", ["sas-small-router-faults", "sas-57-good-friday"])
def test_a_day_of_facts_keeps_the_snapshot_equal_to_the_engine(name: str) -> None:
    config, scenario = load_day(SCENARIOS / f"{name}.toml")
    follower = Follower()
    play_day(config, scenario, seed=1, observer=follower)
    assert follower.inputs > 1000
    assert follower.differ == []
    assert follower.seen >= ONCE_WITHOUT  # the day had each kind of such change


SITE = site_toml("SAS snapshot", agents=[agent("arm01", ARM_N1=1, logged_in=True)])


@pytest.mark.parametrize("intent", [
    i.AgentPause("arm01", "break"), i.AgentLogout("arm01", by="sup")])
def test_a_pause_or_logout_asked_during_a_call_reaches_the_snapshot(
        intent: object) -> None:
    driver = Driver(parse_config(SITE, "snapshot-site.toml"))
    channel = driver.call()
    driver.answer(channel, driver.ring(channel, "PJSIP/arm01"))
    follower = Follower()
    follower(driver.engine, None, driver.advance(1))  # everything written once
    for step in (intent, i.AgentReady("arm01")):  # asked, then withdrawn
        out = driver.feed(step)
        follower(driver.engine, step, out)
        assert follower.differ == []
        assert any(isinstance(fact, f.AgentStateDeferred) for fact in out.facts)


def test_a_restore_is_compared_whole() -> None:
    """A restore brings calls and agents back at once, with one fact that names none
    of them: the next batch compares everything."""
    config = parse_config(SITE, "snapshot-site.toml")
    before = Driver(config)
    before.feed(i.AgentPause("arm01", "break"))
    before.call()
    before.call()
    engine = Engine(config)
    follower = Follower()
    follower(engine, None, engine.handle(i.Tick(), before.now))  # the empty state written
    restored = i.StateRestored(saved(before.engine))
    out = engine.handle(restored, before.now)
    follower(engine, restored, out)
    assert len(engine.calls) == 2 and any(isinstance(x, f.StateRestored) for x in out.facts)
    assert follower.differ == []
