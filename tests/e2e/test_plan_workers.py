"""The planner's worker processes: a day asked ahead and then not needed stops in its
worker, and the days a pool plays are the days one process plays."""

from __future__ import annotations

import msgspec

from acd.config import Config
from acd.tools.fastday import load_day
from acd.tools.plan.evaluation import DayPool, Key, Player
from acd.tools.plan.staffing import Counts, grid_of, roles_of
from acd.tools.simulate.scenario import Scenario
from tests.support.paths import REPO

PEAK = REPO / "config" / "scenarios" / "sas-large-morning-peak.toml"


def peak_hour() -> tuple[Config, Scenario]:
    """08:00–09:00 of the morning peak on its own staffing."""
    config, scenario = load_day(PEAK)
    return config, msgspec.structs.replace(
        scenario, start=scenario.start.replace(hour=8), duration_s=3600, script=[])


def staffing(people: int, player: Player) -> list[Counts]:
    """``people`` at the front office in every interval."""
    return [{"ARM_N1": people} for _ in player.grid.starts]


def six_at_the_front(seeds: list[int], pool: DayPool) -> tuple[Player, list[Counts], Key]:
    """A player of the peak hour on ``seeds``, six ARM in every interval, and its key."""
    config, scenario = peak_hour()
    player = Player(config, scenario, grid_of(scenario, config, 1800), seeds, pool)
    staff = staffing(6, player)
    return player, staff, player.key(staff, roles_of(config))


def test_days_dropped_while_in_the_workers_hands_are_stopped_not_played() -> None:
    with DayPool(1) as pool:
        player, staff, key = six_at_the_front([1, 2, 3], pool)
        config = player.config
        player.ask(staff, key, 3)
        futures = player.queued(key)
        # one worker: the first day is handed to it at once and the second waits in
        # its queue; neither can be cancelled any more, both are stopped (the third
        # is cancelled, or stopped if the pool has already queued it too)
        player.drop(key)
        ended = [None if future.cancelled() else future.result() for future in futures]
        assert ended == [None, None, None]
        assert sum(not future.cancelled() for future in futures) >= 1
        # a staffing asked for afterwards plays in full, on the same worker
        other = staffing(7, player)
        evaluation = player.play(other, player.key(other, roles_of(config)), 2)
        assert evaluation.seeds == 2 and player.days == 2
        assert all(day[0].offered > 0 for day in evaluation.per_seed)


def test_a_pool_plays_the_days_one_process_plays() -> None:
    config, scenario = peak_hour()
    grid = grid_of(scenario, config, 1800)
    alone = Player(config, scenario, grid, [4, 5], None)
    staff = staffing(6, alone)
    key = alone.key(staff, roles_of(config))
    expected = alone.play(staff, key, 2).per_seed
    with DayPool(2) as pool:
        player = Player(config, scenario, grid, [4, 5], pool)
        other = staffing(5, player)
        player.ask(other, player.key(other, roles_of(config)), 2)
        player.drop(player.key(other, roles_of(config)))
        got = player.play(staff, key, 2).per_seed
    assert got == expected and got[0] != got[1]


def test_days_asked_beyond_a_play_stay_queued_for_the_next_play() -> None:
    with DayPool(2) as pool:
        player, staff, key = six_at_the_front([1, 2, 3], pool)
        player.ask(staff, key, 3)  # the plan's extra seed asked with the first two
        first = player.play(staff, key, 2)
        assert first.seeds == 2 and player.days == 2
        # the third day was neither waited for nor lost: still queued, then taken
        assert len(player.queued(key)) == 1
        later = player.play(staff, key, 3)
        assert later.seeds == 3 and player.days == 3 and player.queued(key) == []
        # what a later play on fewer seeds finds: the days played, nothing asked
        assert player.play(staff, key, 1).seeds == 3 and player.days == 3
