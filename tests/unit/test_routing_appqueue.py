"""app_queue's ring strategies played by the engine (acd.tools.fastday.appqueue),
beside the engine's own routing on the same events."""

from __future__ import annotations

import ast

import pytest

from acd.ami import events as ev
from acd.config import Config
from acd.config.load import parse_config
from acd.core import inputs as i
from acd.core.model import Call
from acd.core.routing import SkillQueue
from acd.core.selection import Selection
from acd.tools.fastday.appqueue import (
    POLICIES,
    STRATEGIES,
    AppQueueSelection,
    queue_head,
    selection_for,
)
from tests.support.enginekit import Driver
from tests.support.paths import REPO
from tests.support.sites import agent, site_toml, with_backups

#: three N1 agents (level 1) and an N2 agent who also takes N1 at level 2; no wrap-up
SITE = parse_config(site_toml(
    "SAS policies",
    sections={"routing": {"ring_timeout_s": 10, "max_missed_offers": 3,
                          "orphan_requeue_s": 3}},
    skills={"ARM_N1": {"wrap_up_s": 0, "expansion_s": [20]},
            "AMU_N2": {"wrap_up_s": 0, "expansion_s": [30]}},
    numbers={"15": "ARM_N1", "116117": "AMU_N2"},
    agents=[agent("a1", ARM_N1=1, logged_in=True),
            agent("a2", ARM_N1=1, logged_in=True),
            agent("a3", ARM_N1=1, logged_in=True),
            agent("b1", AMU_N2=1, ARM_N1=2, logged_in=True)]), "policies.toml")


def driver(policy: str, seed: int = 0, config: Config = SITE) -> Driver:
    return Driver(config, selection=selection_for(policy, config, seed))


def offered_to(d: Driver, channel: str) -> str | None:
    """The agent ``channel`` was last offered to."""
    return next((a for c, a in reversed(d.offers()) if c == channel), None)


def answer(d: Driver, channel: str) -> str:
    """The agent offered ``channel`` answers; returns the agent leg."""
    agent_id = offered_to(d, channel)
    assert agent_id is not None, f"{channel} was offered to nobody"
    leg = d.ring(channel, f"PJSIP/{agent_id}")
    d.answer(channel, leg)
    return leg


def serve(d: Driver, talk_s: float = 30.0) -> str:
    """A new call, answered by the agent it is offered to, ended after ``talk_s``;
    returns that agent."""
    channel = d.call()
    agent_id = offered_to(d, channel)
    leg = answer(d, channel)
    d.advance(talk_s)
    d.feed(ev.Hangup(channel=leg))
    d.hangup(channel)
    assert agent_id is not None
    return agent_id


def pause(d: Driver, *agents: str) -> None:
    for agent_id in agents:
        d.feed(i.AgentPause(agent_id))


def ready(d: Driver, *agents: str) -> None:
    for agent_id in agents:
        d.advance(1.0)
        d.feed(i.AgentReady(agent_id))


def test_every_policy_has_a_selection_and_unknown_names_are_refused() -> None:
    assert selection_for("acd", SITE, 1) is None
    for strategy in set(POLICIES) - {"acd"}:
        assert isinstance(selection_for(strategy, SITE, 1), AppQueueSelection)
    with pytest.raises(ValueError, match="unknown policy"):
        selection_for("random", SITE, 1)


def test_only_the_offline_tools_give_the_engine_another_selection() -> None:
    """The running service cannot route with an app_queue model by accident: no
    module outside acd/tools passes ``selection=`` (and none may import acd.tools)."""
    passing = []
    for path in sorted((REPO / "acd").rglob("*.py")):
        if path.relative_to(REPO / "acd").parts[0] == "tools":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "selection":
                passing.append(f"{path.relative_to(REPO)}:{node.value.lineno}")
    assert passing == []
    assert any(isinstance(node, ast.keyword) and node.arg == "selection"
               for node in ast.walk(ast.parse(
                   (REPO / "acd/tools/fastday/day.py").read_text(encoding="utf-8"))))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_penalty_2_member_rings_at_once_when_no_penalty_1_member_is_free(
        strategy: str) -> None:
    d = driver(strategy)
    for _ in range(3):
        answer(d, d.call())
    fourth = d.call()
    assert offered_to(d, fourth) == "b1"  # no wait: tiers are fixed in app_queue


def test_the_engine_gives_a_level_2_agent_the_call_only_after_expansion() -> None:
    d = driver("acd", config=with_backups(SITE, "fixed"))
    for _ in range(3):
        answer(d, d.call())
    fourth = d.call()
    d.advance(19.9)
    assert offered_to(d, fourth) is None
    d.advance(0.2)
    assert offered_to(d, fourth) == "b1"


@pytest.mark.parametrize(("policy", "expected"), [
    ("acd", ["a2", "a3", "a1", "a2"]),        # longest idle: a1 was just made ready
    ("rrmemory", ["a1", "a2", "a3", "a1"]),   # round the roster, wrapping at its end
    ("linear", ["a1", "a1", "a1", "a1"]),     # always the first free member
    ("leastrecent", ["a1", "a2", "a3", "a1"]),  # never called first, in roster order
])
def test_the_member_each_policy_takes_for_calls_one_after_another(
        policy: str, expected: list[str]) -> None:
    d = driver(policy)
    pause(d, "a1")
    ready(d, "a1")
    assert [serve(d) for _ in expected] == expected


def test_rrmemory_continues_after_the_last_member_rung_skipping_a_busy_one() -> None:
    d = driver("rrmemory")
    pause(d, "a2")
    assert serve(d) == "a1"
    assert serve(d) == "a3"  # after a1; a2 is paused
    ready(d, "a2")
    assert serve(d) == "a1"  # after a3 the roster wraps, a2 waits its turn
    assert serve(d) == "a2"


def test_linear_takes_the_next_free_member_when_the_first_is_busy() -> None:
    d = driver("linear")
    first = d.call()
    answer(d, first)
    second = d.call()
    assert (offered_to(d, first), offered_to(d, second)) == ("a1", "a2")


def test_linear_goes_on_from_the_next_member_after_an_unanswered_ring() -> None:
    d = driver("linear")
    channel = d.call()
    d.dial_fail(channel, d.ring(channel, "PJSIP/a1"), "NOANSWER")
    assert offered_to(d, channel) == "a2"


def test_leastrecent_takes_the_member_whose_last_call_ended_longest_ago() -> None:
    sequences = {}
    for policy in ("leastrecent", "acd"):
        d = driver(policy)
        first = [serve(d) for _ in range(3)]
        pause(d, "a1")  # a1's last call ended first, but it is idle since just now
        ready(d, "a1")
        sequences[policy] = [*first, serve(d)]
    assert sequences["leastrecent"] == ["a1", "a2", "a3", "a1"]
    assert sequences["acd"][3] == "a2"  # the engine: the longest idle


def test_fewestcalls_takes_the_member_with_the_fewest_calls_taken() -> None:
    sequences = {}
    for policy in ("fewestcalls", "acd"):
        d = driver(policy)
        pause(d, "a2", "a3")
        taken = [serve(d), serve(d)]     # a1: two calls
        ready(d, "a2")
        pause(d, "a1")
        taken.append(serve(d))           # a2: one call
        ready(d, "a1", "a3")             # a3 (no call) made ready last
        taken += [serve(d), serve(d)]
        sequences[policy] = taken
    assert sequences["fewestcalls"] == ["a1", "a1", "a2", "a3", "a2"]
    assert sequences["acd"][3] == "a2"  # the engine: the longest idle


def test_ringall_takes_a_seeded_random_member_of_the_best_tier() -> None:
    chosen = set()
    for seed in range(20):
        d = driver("ringall", seed)
        channel = d.call()
        chosen.add(offered_to(d, channel))
        again = driver("ringall", seed)
        assert offered_to(again, again.call()) == offered_to(d, channel)
    assert chosen == {"a1", "a2", "a3"}  # never b1: a penalty-1 member is free


def _two_queues_waiting(policy: str, seed: int) -> tuple[Driver, str, str]:
    """b1 talking; then an N1 call and a later N2 call waiting for it alone."""
    d = driver(policy, seed)
    pause(d, "a1", "a2", "a3")
    busy = d.call("116117")
    leg = answer(d, busy)
    n1 = d.call("15")
    d.advance(5.0)
    n2 = d.call("116117")
    d.advance(25.0)
    d.feed(ev.Hangup(channel=leg))
    d.hangup(busy)
    return d, n1, n2


def test_a_member_of_two_queues_is_taken_by_either_queues_head_not_the_longest_waiter(
        ) -> None:
    taken = set()
    for seed in range(20):
        d, n1, n2 = _two_queues_waiting("leastrecent", seed)
        taken.add("N1" if offered_to(d, n1) == "b1" else "N2" if offered_to(d, n2) == "b1"
                  else "nobody")
    assert taken == {"N1", "N2"}
    d, n1, _ = _two_queues_waiting("acd", 0)
    assert offered_to(d, n1) == "b1"  # the engine: the older call, once expanded


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_waiting_call_keeps_its_place_a_later_urgent_call_goes_first(
        strategy: str) -> None:
    d = driver(strategy)
    pause(d, "a2", "a3", "b1")
    busy = d.call()
    leg = answer(d, busy)
    low = d.call(priority="3")
    d.advance(120.0)  # far past every expansion_s: nothing changes for it
    assert offered_to(d, low) is None
    urgent = d.call(priority="0")
    d.feed(ev.Hangup(channel=leg))
    d.hangup(busy)
    assert (offered_to(d, urgent), offered_to(d, low)) == ("a1", None)


def _call(call_id: str, *, enqueued_at: float, seq: int) -> Call:
    return Call(id=call_id, channel=f"PJSIP/t-{call_id}", linkedid=call_id, number="15",
                caller_name="", caller_num="", priority=2, arrived_at=enqueued_at,
                queue="ARM_N1", enqueued_at=enqueued_at, seq=seq)


def test_the_queue_order_is_entry_time_without_the_engines_handled_tier() -> None:
    queue = SkillQueue("ARM_N1")
    older = _call("older", enqueued_at=10.0, seq=1)
    handled = _call("handled", enqueued_at=20.0, seq=2)
    queue.push(older)
    queue.push_head(handled)  # the engine puts a handled call first (tier 0)
    assert next(iter(queue.heads())) is handled
    assert queue_head(queue) is older
    selection: Selection = AppQueueSelection("linear", 0, [])
    assert list(selection.heads(queue)) == [older]
