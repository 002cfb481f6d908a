"""The discrete-event model of Asterisk's app_queue (acd.tools.appqueue): each test
plays a tiny hand-built room and checks one thing app_queue.c does."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import pytest

from acd.config import Config
from acd.config.load import parse_config
from acd.sim.behaviour import (
    AgentBehaviour,
    FixedBehaviour,
    PerAgentBehaviour,
    RandomBehaviour,
)
from acd.sim.model import OfferOutcome
from acd.tools.appqueue import (
    STRATEGIES,
    AppQueueDay,
    AppQueueModel,
    AppQueueOptions,
    PenaltyChange,
    QueueOptions,
    appqueue_configurations,
    expansion_rules,
    parse_penaltychange,
    parse_queuerules,
    play_appqueue_day,
)
from acd.tools.fastday import load_day, play_day
from acd.tools.simulate.traffic import plan
from acd.tools.summary import summarize
from tests.support.paths import REPO
from tests.support.sites import Value, agent, site_toml

SCENARIOS = REPO / "config" / "scenarios"
#: a whole second of epoch time: the tests' time 0
T0 = 1_773_126_000.0


class Scripted:
    """The offers' outcomes in the order the phones are rung; past the list, the agent
    answers after 1 s and talks 100 s."""

    def __init__(self, *outcomes: OfferOutcome) -> None:
        self.outcomes = list(outcomes)

    def decide(self, agent_id: str, rng: random.Random,
               queue: str | None = None) -> OfferOutcome:
        return self.outcomes.pop(0) if self.outcomes else OfferOutcome(answer_after_s=1.0,
                                                                       talk_s=100.0)


def site(agents: Sequence[Mapping[str, Value]]) -> Config:
    """N1 on 15, N2 on 116117, no wrap-up, a 15 s ring time-out; level-2 agents are
    backups of N1 (after 10 s in the router)."""
    return parse_config(site_toml(
        "SAS app_queue",
        sections={"routing": {"ring_timeout_s": 15}},
        skills={"ARM_N1": {"wrap_up_s": 0, "expansion_s": [10]},
                "AMU_N2": {"wrap_up_s": 0, "expansion_s": [10]}},
        numbers={"15": "ARM_N1", "116117": "AMU_N2"},
        agents=agents), "appqueue.toml")


def room(agents: Sequence[Mapping[str, Value]], behaviour: AgentBehaviour, *,
         options: AppQueueOptions | None = None, seed: int = 0) -> AppQueueModel:
    return AppQueueModel(site(agents), options or AppQueueOptions(), behaviour=behaviour,
                         seed=seed, start=T0 - 10)


def options(**settings: Any) -> AppQueueOptions:
    """The same settings for every queue."""
    return AppQueueOptions(default=QueueOptions(**settings))


def call(model: AppQueueModel, joins_at: float, number: str = "15", *,
         priority: int | None = None) -> None:
    """A caller who joins its queue at T0 + ``joins_at`` (placed half a second before:
    the dialplan's Answer)."""
    def place() -> None:
        model.place_call(number, priority=priority)
    model.agenda.at(T0 + joins_at - 0.5, place)


def rings(model: AppQueueModel) -> list[tuple[float, int, str]]:
    """(time from T0, caller rank, agent) of every phone rung."""
    return [(round(r.at - T0, 3), r.call, r.agent) for r in model.rings]


def answered(model: AppQueueModel, rank: int) -> float | None:
    at = model.callers[rank].answered_at
    return None if at is None else round(at - T0, 3)


# ---------------------------------------------------------------------- autofill


@pytest.mark.parametrize("autofill", [False, True])
def test_without_autofill_only_the_head_caller_rings_even_with_free_members(
        autofill: bool) -> None:
    two = [agent("a1", ARM_N1=1, logged_in=True), agent("a2", ARM_N1=1, logged_in=True)]
    model = room(two, FixedBehaviour(OfferOutcome(answer_after_s=2.0, talk_s=100.0)),
                 options=options(strategy="linear", autofill=autofill))
    call(model, 0.5)
    call(model, 0.5)
    model.run(T0 + 10)
    if autofill:  # as many callers tried as there are free members
        assert rings(model) == [(0.5, 0, "a1"), (0.5, 1, "a2")]
    else:  # the second caller waits for the head to be answered, then its next check
        assert rings(model) == [(0.5, 0, "a1"), (2.5, 1, "a2")]


def test_autofill_skips_the_callers_ahead_that_are_already_ringing() -> None:
    three = [agent(f"a{n}", ARM_N1=1, logged_in=True) for n in (1, 2, 3)]
    model = room(three, FixedBehaviour(OfferOutcome(answer_after_s=5.0, talk_s=100.0)),
                 options=options(strategy="linear", autofill=True))
    for joins_at in (0.1, 0.2, 0.3, 0.4):
        call(model, joins_at)
    model.run(T0 + 4)
    # three free members: the first three callers ring, the fourth finds none left
    assert rings(model) == [(0.1, 0, "a1"), (0.2, 1, "a2"), (0.3, 2, "a3")]


# ---------------------------------------------------------------------- ringall


def test_ringall_rings_every_free_member_and_the_fastest_answer_takes_the_call() -> None:
    three = [agent(f"a{n}", ARM_N1=1, logged_in=True) for n in (1, 2, 3)]
    delays = {"a1": 3.0, "a2": 1.0, "a3": 2.0}
    behaviour = PerAgentBehaviour({a: FixedBehaviour(OfferOutcome(answer_after_s=d, talk_s=60))
                                   for a, d in delays.items()})
    model = room(three, behaviour, options=options(strategy="ringall"))
    call(model, 0.5)
    model.run(T0 + 1.0)
    assert sorted(a for _, _, a in rings(model)) == ["a1", "a2", "a3"]
    assert {t for t, _, _ in rings(model)} == {0.5}
    phones = model.room.phones
    assert all(phones[a].ringing_for is not None for a in delays)  # all three tied up
    model.run(T0 + 2.0)
    assert answered(model, 0) == 1.5 and model.callers[0].answered_by == "a2"
    assert phones["a2"].talking_with is model.callers[0]
    assert phones["a1"].free() and phones["a3"].free()  # the others stop ringing then


def test_ringall_leaves_a_caller_unanswered_only_when_every_phone_rang_out() -> None:
    """Each phone goes unanswered with probability p: with k phones ringing at once
    the first try fails with probability p^k, one phone at a time p."""
    p, seeds = 0.4, 600
    agents = [agent(f"a{n}", ARM_N1=1, logged_in=True) for n in (1, 2, 3)]
    behaviour = RandomBehaviour(answer_after_s=(1.0, 5.0), talk_s=(60.0, 60.0),
                                no_answer_rate=p)
    for strategy, k in (("ringall", 3), ("linear", 1)):
        failed = 0
        for seed in range(seeds):
            model = room(agents, behaviour, options=options(strategy=strategy), seed=seed)
            call(model, 0.5)
            model.run(T0 + 16)
            first_try = [r for r in rings(model) if r[0] == 0.5]
            assert len(first_try) == k
            failed += answered(model, 0) is None
        expected = p ** k * seeds
        spread = math.sqrt(seeds * p ** k * (1 - p ** k))  # binomial standard deviation
        assert abs(failed - expected) <= 4 * spread, (strategy, failed, expected)


def test_ringall_rings_backups_only_when_no_primary_can_be_rung() -> None:
    agents = [agent("p1", ARM_N1=1, logged_in=True), agent("b1", AMU_N2=1, ARM_N1=2,
                                                           logged_in=True)]
    model = room(agents, FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=30.0)),
                 options=options(strategy="ringall"))
    call(model, 0.5)
    call(model, 0.7)
    model.run(T0 + 5)
    # the first caller rings the primary alone; the second finds it talking: the backup
    assert rings(model) == [(0.5, 0, "p1"), (1.7, 1, "b1")]


# ---------------------------------------------------------------------- RECHECK


def test_a_waiting_caller_notices_a_freed_member_at_its_own_next_whole_second() -> None:
    one = [agent("a1", ARM_N1=1, logged_in=True)]
    model = room(one, Scripted(OfferOutcome(answer_after_s=0.5, talk_s=1.5)),
                 options=options(strategy="linear"))
    call(model, 0.0)  # talks from 0.5 to 2.0
    call(model, 0.3)  # checks at 0.3, 1.3, 2.3…
    model.run(T0 + 5)
    assert rings(model) == [(0.0, 0, "a1"), (2.3, 1, "a1")]


def test_a_paused_or_logged_out_agent_is_rung_again_once_ready_or_logged_in() -> None:
    model = room([agent("a1", ARM_N1=1, logged_in=True)],
                 FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=2.0)))
    model.feature("a1", "pause")
    model.feature("nobody", "logout")  # an agent the room does not know: nothing
    call(model, 0.5)
    model.agenda.at(T0 + 3.2, lambda: model.feature("a1", "ready"))
    model.agenda.at(T0 + 7.2, lambda: model.feature("a1", "logout"))
    call(model, 7.5)
    model.agenda.at(T0 + 9.2, lambda: model.feature("a1", "login"))
    model.run(T0 + 20)
    assert rings(model) == [(3.5, 0, "a1"), (9.5, 1, "a1")]


# ---------------------------------------------------------------------- retry


def test_after_a_ring_time_out_the_caller_waits_retry_seconds_before_ringing_again() -> None:
    one = [agent("a1", ARM_N1=1, logged_in=True)]
    model = room(one, Scripted(OfferOutcome(kind="noanswer")),
                 options=options(strategy="linear"))
    call(model, 0.5)
    model.run(T0 + 30)
    assert rings(model) == [(0.5, 0, "a1"), (20.5, 0, "a1")]  # 15 s ringing, 5 s retry
    assert answered(model, 0) == 21.5

    model = room(one, Scripted(OfferOutcome(kind="noanswer")),
                 options=options(strategy="linear", timeout_s=8, retry_s=2))
    call(model, 0.5)
    model.run(T0 + 30)
    assert rings(model) == [(0.5, 0, "a1"), (10.5, 0, "a1")]


# ---------------------------------------------------------------------- wrap-up


def test_wrap_up_after_a_call_of_one_queue_does_not_hold_the_member_for_another() -> None:
    both = [agent("a1", ARM_N1=1, AMU_N2=1, logged_in=True)]
    behaviour = Scripted(OfferOutcome(answer_after_s=1.0, talk_s=9.0),  # N1: 0 → 10
                         OfferOutcome(answer_after_s=1.0, talk_s=2.0))  # N2: 10.7 → 13.7
    model = room(both, behaviour, options=options(strategy="linear", wrapup_s=30))
    call(model, 0.0)
    call(model, 0.7, "116117")
    call(model, 0.9)
    model.run(T0 + 60)
    # N2's caller gets the agent at its first check after the N1 call ended; N1's next
    # caller waits for N1's wrap-up: 30 whole seconds after second 10
    assert rings(model) == [(0.0, 0, "a1"), (10.7, 1, "a1"), (40.9, 2, "a1")]


# ---------------------------------------------------------------------- queue rules

BACKUPS = [agent("p1", ARM_N1=1, logged_in=True),
           agent("b1", AMU_N2=1, ARM_N1=2, logged_in=True)]


def _busy_primary_then(caller_rules: AppQueueOptions) -> AppQueueModel:
    """The primary talks from 0.1 on; a second caller joins at 0.3."""
    model = room(BACKUPS, Scripted(OfferOutcome(answer_after_s=0.1, talk_s=1000.0),
                                   OfferOutcome(answer_after_s=0.5, talk_s=60.0)),
                 options=caller_rules)
    call(model, 0.0)
    call(model, 0.3)
    model.run(T0 + 60)
    return model


def test_a_rule_opens_the_backups_at_the_try_after_its_whole_second() -> None:
    limited = options(strategy="linear", max_penalty=0, rules=(parse_penaltychange("10,1"),))
    model = _busy_primary_then(limited)
    # tries at 0.3, 5.3, 10.3 ring nobody (the backup is out of range); the rule is
    # applied after the try of second 10: the backup rings at 15.3, answers at 15.8
    assert rings(model) == [(0.0, 0, "p1"), (15.3, 1, "b1")]
    answer = answered(model, 1)
    assert answer is not None and 15 <= answer <= 16


def test_without_a_limit_the_backup_rings_at_once_and_with_one_never() -> None:
    assert rings(_busy_primary_then(options(strategy="linear"))) == [
        (0.0, 0, "p1"), (0.3, 1, "b1")]
    assert rings(_busy_primary_then(options(strategy="linear", max_penalty=0))) == [
        (0.0, 0, "p1")]


def test_a_rule_due_during_a_retry_waits_for_the_try_after_the_next() -> None:
    limited = options(strategy="linear", max_penalty=0, rules=(parse_penaltychange("12,+1"),))
    model = _busy_primary_then(limited)
    # second 15's try still has the old limit; the rule comes after it: 20.3
    assert rings(model) == [(0.0, 0, "p1"), (20.3, 1, "b1")]


def test_a_rule_is_applied_at_the_one_second_checks_of_a_caller_not_yet_served() -> None:
    """Both busy: the caller checks every second and takes its rules then; the backup,
    freed at 12.0, rings at the next check."""
    model = room(BACKUPS, Scripted(OfferOutcome(answer_after_s=0.1, talk_s=1000.0),
                                   OfferOutcome(answer_after_s=0.1, talk_s=11.9)),
                 options=options(strategy="linear", max_penalty=0,
                                 rules=(parse_penaltychange("10,+1"),)))
    call(model, 0.0)  # the primary, until the end
    call(model, 0.0, "116117")  # the backup's own queue: 0.1 → 12.0
    call(model, 0.3)
    model.run(T0 + 30)
    assert rings(model)[-1] == (12.3, 2, "b1")


# ---------------------------------------------------------------------- weight


@pytest.mark.parametrize("weighted", [False, True])
def test_weight_keeps_a_shared_member_for_the_heavier_queue(weighted: bool) -> None:
    shared = [agent("x", ARM_N1=1, AMU_N2=1, logged_in=True)]
    n1 = QueueOptions(strategy="linear", weight=10 if weighted else 0)
    model = room(shared, Scripted(OfferOutcome(answer_after_s=1.0, talk_s=4.0)),
                 options=AppQueueOptions(default=QueueOptions(strategy="linear"),
                                         queues={"ARM_N1": n1}))
    call(model, 0.0)  # x talks from 1.0 to 5.0
    call(model, 0.1, "116117")  # N2's caller checks at 5.1
    call(model, 0.6)  # N1's caller checks at 5.6
    model.run(T0 + 10)
    if weighted:
        assert rings(model)[1:] == [(5.6, 2, "x")]
    else:  # whichever caller's check comes first
        assert rings(model)[1:] == [(5.1, 1, "x")]


# ---------------------------------------------------------------------- order


def test_callers_are_served_by_priority_then_arrival() -> None:
    one = [agent("a1", ARM_N1=1, logged_in=True)]
    model = room(one, FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=10.0)),
                 options=options(strategy="linear"))
    call(model, 0.0)
    call(model, 0.2, priority=5)
    call(model, 0.4, priority=5)
    call(model, 0.6, priority=0)  # life-threatening: QUEUE_PRIO 9
    model.run(T0 + 60)
    assert [rank for _, rank, _ in rings(model)] == [0, 3, 1, 2]


def test_a_transferred_caller_joins_the_target_queue_at_its_tail() -> None:
    agents = [agent("a1", ARM_N1=1, logged_in=True), agent("b1", AMU_N2=1, logged_in=True)]
    behaviour = Scripted(OfferOutcome(answer_after_s=1.0, talk_s=5.0, transfer_to="AMU_N2"),
                         OfferOutcome(answer_after_s=1.0, talk_s=20.0),
                         OfferOutcome(answer_after_s=1.0, talk_s=20.0))
    model = room(agents, behaviour, options=options(strategy="linear"))
    call(model, 0.0)  # a1 from 1.0 to 6.0, then to N2
    call(model, 0.5, "116117")  # b1 from 1.5 to 21.5
    model.run(T0 + 60)
    transferred = model.records()[0]
    assert transferred.queues == ["ARM_N1", "AMU_N2"]
    assert [leg.agent for leg in transferred.legs] == ["a1", "b1"]
    assert transferred.legs[1].entered_at == transferred.legs[0].ended_at
    # behind N2's own caller: b1 is free at 21.5, rung at the check of 22.0, answers
    assert transferred.legs[1].wait_s == pytest.approx(17.0)
    assert transferred.wait_s == pytest.approx(1.0) and transferred.outcome == "answered"


# ---------------------------------------------------------------------- strategies


def test_linear_starts_from_the_first_member_and_rrmemory_goes_round() -> None:
    three = [agent(f"a{n}", ARM_N1=1, logged_in=True) for n in (1, 2, 3)]
    for strategy, expected in (("linear", ["a1", "a1", "a1", "a1"]),
                               ("rrmemory", ["a1", "a2", "a3", "a1"])):
        model = room(three, FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=2.0)),
                     options=options(strategy=strategy))
        for n in range(4):
            call(model, 10.0 * n)
        model.run(T0 + 60)
        assert [a for _, _, a in rings(model)] == expected, strategy


def test_leastrecent_and_fewestcalls_count_per_queue() -> None:
    two = [agent("a1", ARM_N1=1, logged_in=True), agent("a2", ARM_N1=1, logged_in=True)]
    for strategy in ("leastrecent", "fewestcalls"):
        model = room(two, FixedBehaviour(OfferOutcome(answer_after_s=1.0, talk_s=2.0)),
                     options=options(strategy=strategy))
        for n in range(3):
            call(model, 10.0 * n)
        model.run(T0 + 60)
        # nobody called yet: a tie (the later member); then the other, then back
        assert [a for _, _, a in rings(model)] == ["a2", "a1", "a2"], strategy


# ---------------------------------------------------------------------- rules file


def test_queuerules_are_read_as_app_queue_reads_them() -> None:
    rules = parse_queuerules("""
        [expand] ; two steps
        penaltychange => 45,2,0
        penaltychange => 15,+1
        penaltychange => 15,,-1
        [other]
        penaltychange => 5,-1
    """)
    assert list(rules) == ["expand", "other"]
    expand = rules["expand"]
    assert [r.after_s for r in expand] == [15, 15, 45]  # by seconds, ties in file order
    limits: tuple[int | None, int | None] = (0, 1)
    for rule in expand:
        limits = rule.apply(*limits)
    assert limits == (2, 0)
    assert rules["other"][0].apply(0, None) == (0, None)  # never below 0; unset stays
    assert PenaltyChange(10, 1, False).apply(None, None) == (None, None)
    for bad, why in (("10", "SECONDS,MAX"), ("x,1", "whole number of 0 or more"),
                     ("10,1,0,2", "not modelled"), ("10,one", "not a whole number")):
        with pytest.raises(ValueError, match=why):
            parse_penaltychange(bad)
    with pytest.raises(ValueError, match="line 2"):
        parse_queuerules("[r]\nmember => PJSIP/a\n")


def test_configurations_cover_every_strategy_autofill_and_rules() -> None:
    config = site(BACKUPS)
    configurations = appqueue_configurations(config)
    assert len(configurations) == len(STRATEGIES) * 4
    expanding = configurations["linear+autofill+rules"].for_queue("ARM_N1")
    assert expanding.autofill and expanding.max_penalty == 0
    assert expanding.rules == expansion_rules([10.0])
    assert [r.conf() for r in expanding.rules] == ["penaltychange => 10,+1"]
    assert configurations["ringall"].for_queue("ARM_N1") == QueueOptions()


# ---------------------------------------------------------------------- a whole day


def test_a_shipped_scenario_plays_and_every_call_is_accounted() -> None:
    config, scenario = load_day(SCENARIOS / "sas-large-transfers-morning.toml")
    scenario = msgspec.structs.replace(scenario, duration_s=3600)
    placed = sum(item.kind == "call" for item in plan(scenario, config, 7))
    for name, chosen in appqueue_configurations(config).items():
        records = play_appqueue_day(config, scenario, seed=7, options=chosen)
        summary = summarize(records, config)
        assert summary.counts.offered == placed, name
        assert summary.accounted() and summary.counts.answered > 0, name
        assert {r.outcome for r in records} <= {"answered", "abandoned", "waiting"}, name
        assert any(r.queues[:2] == ["ARM_N1", "OSNP"] for r in records), name
    day = AppQueueDay(config, scenario, seed=7)
    assert msgspec.json.encode(day.play()) == msgspec.json.encode(day.play())


def test_the_same_caller_talks_as_long_as_in_the_fast_day() -> None:
    """One agent, every offer answered: each caller's first offer is drawn from the
    same seed in both rooms, so its talk time is the same whoever waited longer."""
    config, scenario = load_day(SCENARIOS / "sas-large-transfers-morning.toml")
    scenario = msgspec.structs.replace(
        scenario, duration_s=5400,
        calls=msgspec.structs.replace(scenario.calls, per_day={"15": 400}),
        agents=msgspec.structs.replace(scenario.agents, no_answer_rate=0.0, transfers={}),
        staffing=[msgspec.structs.replace(scenario.staffing[0], counts={"ARM_N1": 1})])
    router = {r.arrived_at: r for r in play_day(config, scenario, seed=3).records}
    model = {r.arrived_at: r for r in play_appqueue_day(config, scenario, seed=3)}
    assert len(model) > 10 and model.keys() == router.keys()
    talks = [(model[at].legs[0].talk_s, router[at].legs[0].talk_s) for at in model
             if model[at].legs[0].talk_s is not None and router[at].legs[0].talk_s is not None]
    assert len(talks) > 10
    assert all(ours == theirs for ours, theirs in talks)
