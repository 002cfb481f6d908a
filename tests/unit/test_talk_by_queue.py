"""Talk times by the queue of the call and the role of the agent who answers it: a
backup answering another filière's call talks as that call needs (the scenario's
``agents.talk_s`` per queue, and "QUEUE/ROLE" keys), in the fast day as on the AMI
path (both take the queue from the router's offers)."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import pytest

from acd.core import facts as f
from acd.core.records import CallRecord
from acd.errors import ConfigError
from acd.sim.behaviour import RandomBehaviour
from acd.tools.fastday import load_day, play_day
from acd.tools.simulate.desk import Desk
from acd.tools.simulate.scenario import AgentsSpec, load_scenario
from tests.support.paths import REPO

SCENARIOS = REPO / "config" / "scenarios"


def test_the_talk_draw_is_the_same_scaled_to_the_queues_range() -> None:
    own = (120.0, 480.0)
    behaviour = RandomBehaviour(talk_s=own, talk_in={"ARM_N1": (45.0, 180.0)},
                                no_answer_rate=0.0, transfers={"OSNP": 1.0},
                                transfers_from="AMU_N2")
    for n in range(200):
        at_home = behaviour.decide("a", random.Random(n), "AMU_N2")
        backing = behaviour.decide("a", random.Random(n), "ARM_N1")
        unknown = behaviour.decide("a", random.Random(n))
        assert 45.0 <= backing.talk_s <= 180.0 and 120.0 <= at_home.talk_s <= 480.0
        # one draw for both (common random numbers): the same place in each range
        assert (backing.talk_s - 45.0) / 135.0 == pytest.approx((at_home.talk_s - 120.0) / 360.0)
        assert unknown == at_home
        # a backup transfers nobody: only its own filière's calls are handed on
        assert at_home.transfer_to == "OSNP" and backing.transfer_to is None


def test_a_talk_range_is_looked_up_by_queue_and_role_then_queue() -> None:
    spec = AgentsSpec(talk_s={"ARM_N1": [45.0, 180.0], "AMU_N2": [120.0, 480.0],
                              "ARM_N1/MG": [10.0, 20.0]}, default_talk_s=[1.0, 2.0])
    assert spec.talk_range("ARM_N1", "AMU_N2") == (45.0, 180.0)
    assert spec.talk_range("ARM_N1", "MG") == (10.0, 20.0)
    assert spec.talk_range(None, "AMU_N2") == (120.0, 480.0)
    assert spec.talk_range("OSNP", "ARM_N1") == (1.0, 2.0)


def test_a_scenario_takes_queue_role_keys_and_refuses_others(tmp_path: Path) -> None:
    text = (SCENARIOS / "sas-large-winter-surge-day.toml").read_text(encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text(text.replace("talk_s = {", 'talk_s = { "ARM_N1/AMU_N2" = [60, 90], '),
                    encoding="utf-8")
    assert load_scenario(good).agents.talk_s["ARM_N1/AMU_N2"] == [60.0, 90.0]
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("talk_s = {", 'talk_s = { "ARM_N1/amu" = [60, 90], '),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="talk_s"):
        load_scenario(bad)


def test_the_desk_shows_the_queue_of_the_last_offer_until_the_call_ends() -> None:
    desk = Desk()
    desk.on_fact(f.CallOffered(at=0.0, call="c1", queue="ARM_N1", agent="a"))
    desk.on_fact(f.CallOffered(at=1.0, call="c1", queue="AMU_N2", agent="a"))
    assert desk.queue_of("c1", "a") == "AMU_N2" and desk.queue_of("c1", "b") is None


def _legs(records: list[CallRecord], queue: str, role: str) -> list[float]:
    return [leg.talk_s for r in records for leg in r.legs
            if leg.queue == queue and leg.role == role and leg.talk_s is not None]


def test_backups_answering_front_office_calls_talk_like_front_office_calls() -> None:
    """The winter day: the AMU regulators back N1 up after 15 s; no transfers, so a
    leg's talk is the drawn talk time."""
    config, scenario = load_day(SCENARIOS / "sas-large-winter-surge-day.toml")
    scenario = msgspec.structs.replace(scenario, start=scenario.start.replace(hour=9),
                                       duration_s=4 * 3600)
    records = play_day(config, scenario, seed=3).records
    by_backups = _legs(records, "ARM_N1", "AMU_N2")
    assert len(by_backups) > 20
    assert max(by_backups) <= 180.5  # ARM_N1's [45, 180], not AMU_N2's [120, 480]
    assert max(_legs(records, "ARM_N1", "ARM_N1")) <= 180.5
    # and a range of their own when the scenario gives one
    spec = msgspec.structs.replace(scenario.agents, talk_s={
        **scenario.agents.talk_s, "ARM_N1/AMU_N2": [300.0, 400.0]})
    records = play_day(config, msgspec.structs.replace(scenario, agents=spec),
                       seed=3).records
    assert min(_legs(records, "ARM_N1", "AMU_N2")) >= 299.5
    assert max(_legs(records, "ARM_N1", "ARM_N1")) <= 180.5
