"""Exponential talk times and patience in scenarios (``agents.talk_distribution``,
``calls.patience_distribution``): Erlang's assumptions, playable on request, while a
scenario without the keys draws as before."""

from __future__ import annotations

import math
import random
from pathlib import Path

import msgspec
import pytest

from acd.errors import ConfigError
from acd.sim.behaviour import RandomBehaviour
from acd.tools.simulate.scenario import Scenario, load_scenario
from acd.tools.simulate.traffic import plan
from acd.tools.tomlwrite import dumps
from tests.support.onequeue import one_queue_config, one_queue_scenario

DRAWS = 4000
#: share of an exponential above its mean, e^-1; its standard error over DRAWS draws
ABOVE_MEAN = math.exp(-1)
ABOVE_MEAN_SE = math.sqrt(ABOVE_MEAN * (1 - ABOVE_MEAN) / DRAWS)


def _with_patience(distribution: str, low: float, high: float) -> Scenario:
    scenario = one_queue_scenario(4, 3600, 60, 2, None)  # about 7,200 callers
    calls = msgspec.structs.replace(scenario.calls, patience_s=[low, high],
                                    patience_distribution=distribution)
    return msgspec.structs.replace(scenario, calls=calls)


def test_exponential_patience_has_the_ranges_midpoint_as_mean() -> None:
    config = one_queue_config(4)
    planned = [p.call for p in plan(_with_patience("exponential", 60, 180), config, seed=5)
               if p.call is not None]
    patience = [c.patience_s for c in planned]
    assert len(patience) > DRAWS
    mean = sum(patience) / len(patience)
    # the mean of n exponential draws has standard error mean/sqrt(n): within 4 of them
    assert abs(mean - 120) <= 4 * 120 / math.sqrt(len(patience))
    # exponential, not uniform in [60, 180]: draws below 60 and above 180, and the
    # share above the mean is e^-1 (a uniform's would be 1/2)
    assert min(patience) < 60 and max(patience) > 180
    above = sum(p > 120 for p in patience) / len(patience)
    assert abs(above - ABOVE_MEAN) <= 4 * ABOVE_MEAN_SE * math.sqrt(DRAWS / len(patience))


def test_exponential_patience_changes_only_the_patience_draws() -> None:
    config = one_queue_config(4)
    uniform = plan(_with_patience("uniform", 60, 180), config, seed=5)
    exponential = plan(_with_patience("exponential", 60, 180), config, seed=5)
    assert [(p.at, p.kind) for p in uniform] == [(p.at, p.kind) for p in exponential]
    calls = [(u.call, e.call) for u, e in zip(uniform, exponential, strict=True)
             if u.call is not None and e.call is not None]
    assert all(u.caller_name == e.caller_name for u, e in calls)
    assert all(60 <= u.patience_s <= 180 for u, _ in calls)
    assert any(not 60 <= e.patience_s <= 180 for _, e in calls)


def test_exponential_talk_has_the_ranges_midpoint_as_mean_and_keeps_the_other_draws(
        ) -> None:
    uniform = RandomBehaviour(answer_after_s=(1, 5), talk_s=(30, 90), no_answer_rate=0.1)
    exponential = RandomBehaviour(answer_after_s=(1, 5), talk_s=(30, 90), no_answer_rate=0.1,
                                  talk_distribution="exponential")
    rng_u, rng_e = random.Random(7), random.Random(7)
    pairs = [(uniform.decide("a", rng_u), exponential.decide("a", rng_e))
             for _ in range(DRAWS)]
    assert all((u.kind, u.answer_after_s, u.ender) == (e.kind, e.answer_after_s, e.ender)
               for u, e in pairs)
    talks = [e.talk_s for _, e in pairs]
    assert abs(sum(talks) / DRAWS - 60) <= 4 * 60 / math.sqrt(DRAWS)
    above = sum(t > 60 for t in talks) / DRAWS
    assert abs(above - ABOVE_MEAN) <= 4 * ABOVE_MEAN_SE
    assert all(30 <= u.talk_s <= 90 for u, _ in pairs)


def test_an_unknown_talk_distribution_is_refused() -> None:
    with pytest.raises(ValueError, match="talk distribution"):
        RandomBehaviour(talk_distribution="normal")  # type: ignore[arg-type]


def _problems(tmp_path: Path, scenario: Scenario, **changes: object) -> list[tuple[str, str]]:
    data = msgspec.to_builtins(scenario)
    for dotted, value in changes.items():
        table, key = dotted.split("__")
        data[table][key] = value
    (tmp_path / "s.toml").write_text(dumps(data), encoding="utf-8")
    try:
        load_scenario(tmp_path / "s.toml")
    except ConfigError as exc:
        return exc.problems
    return []


def test_the_keys_are_checked_and_errors_name_them(tmp_path: Path) -> None:
    scenario = one_queue_scenario(2, 60, 60, 1, 90)
    assert _problems(tmp_path, scenario) == []
    [(key, problem)] = _problems(tmp_path, scenario, calls__patience_distribution="normal")
    assert key == "calls.patience_distribution" and "normal" in problem
    [(key, _)] = _problems(tmp_path, scenario, agents__talk_distribution="gamma")
    assert key == "agents.talk_distribution"
    assert _problems(tmp_path, scenario, calls__patience_quantiles_s=[[0.5, 60.0]]) == [
        ("calls.patience_distribution",
         "give either an exponential patience or patience_quantiles_s, not both")]
    assert _problems(tmp_path, scenario, calls__patience_s=[0.0, 0.0]) == [
        ("calls.patience_s", "an exponential patience needs a mean above 0 s")]
    assert _problems(tmp_path, scenario, agents__default_talk_s=[0.0, 0.0]) == [
        ("agents.default_talk_s", "an exponential talk time needs a mean above 0 s")]


def test_a_busy_rate_is_a_scenario_key_played_as_busy_phones(tmp_path: Path) -> None:
    """``agents.busy_rate``: that share of offers finds the phone busy (SIP 486). Busy
    answers are no missed offers: with most offers busy, nobody is paused and every
    caller of the day is still answered."""
    from acd.tools.fastday import play_day
    from acd.tools.simulate.agents import behaviour_for

    scenario = one_queue_scenario(2, 20, 120, 2, None)
    assert _problems(tmp_path, scenario, agents__busy_rate=0.6) == []
    assert _problems(tmp_path, scenario, agents__no_answer_rate=0.5,
                     agents__busy_rate=0.6) == [
        ("agents.busy_rate", "no_answer_rate and busy_rate add up to more than 1")]
    config = one_queue_config(2)
    busy = msgspec.structs.replace(scenario, agents=msgspec.structs.replace(
        scenario.agents, busy_rate=0.6))
    behaviours = behaviour_for(config, busy).agents.values()
    assert {b.busy_rate for b in behaviours if isinstance(b, RandomBehaviour)} == {0.6}
    day = play_day(config, busy, seed=3)
    assert day.calls_placed > 20
    assert [r.outcome for r in day.records] == ["answered"] * day.calls_placed
    assert day.hung_up_by_router == []
