"""SimClock: simulated time, timers in due order, frozen time inside callbacks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from acd.sim.clock import SimClock


async def test_timers_run_in_due_order_at_exact_simulated_times() -> None:
    clock = SimClock(speed=100.0, start_epoch=1_000.0)
    seen: list[tuple[str, float]] = []

    def record(label: str) -> None:
        seen.append((label, clock.now()))

    clock.call_at(1_002.0, lambda: record("b"))
    clock.call_at(1_001.0, lambda: record("a"))
    clock.call_at(1_002.0, lambda: record("c"))  # same due time: set after b
    cancelled = clock.call_at(1_001.5, lambda: record("never"))
    cancelled.cancel()

    def nested() -> None:
        record("outer")
        clock.call_later(0.25, lambda: record("inner"))

    clock.call_at(1_003.0, nested)
    started = time.monotonic()
    await clock.sleep(6.0)
    assert time.monotonic() - started < 1.0  # 6 simulated seconds at × 100
    assert seen == [("a", 1_001.0), ("b", 1_002.0), ("c", 1_002.0), ("outer", 1_003.0),
                    ("inner", 1_003.25)]
    assert clock.pending() == 0


async def test_now_runs_at_speed_and_never_goes_back() -> None:
    clock = SimClock(speed=50.0, start_epoch=5_000.0)
    first = clock.now()
    await asyncio.sleep(0.02)
    second = clock.now()
    assert 5_000.0 <= first < second
    assert second - first == pytest.approx(1.0, abs=0.5)
    stamps: list[float] = []
    clock.call_at(first, lambda: stamps.append(clock.now()))  # already past
    await asyncio.sleep(0.01)
    assert stamps and stamps[0] >= second


async def test_a_failing_timer_does_not_stop_the_others() -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    clock = SimClock(speed=100.0, start_epoch=0.0)
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    clock.call_at(1.0, boom)
    clock.call_at(2.0, lambda: ran.append("after"))
    await clock.sleep(6.0)
    loop.set_exception_handler(None)
    assert ran == ["after"]
    assert isinstance(errors[0]["exception"], RuntimeError)


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speed"):
        SimClock(speed=0)


def test_a_virtual_clock_stands_still_until_its_owner_runs_the_next_timer() -> None:
    clock = SimClock(start_epoch=1_000.0, virtual=True)  # no event loop running
    seen: list[tuple[str, float]] = []
    clock.call_at(1_005.0, lambda: seen.append(("b", clock.now())))
    clock.call_at(1_002.0, lambda: seen.append(("a", clock.now())))
    assert clock.now() == 1_000.0 and clock.next_due() == 1_002.0
    assert clock.run_next(1_010.0)
    assert seen == [("a", 1_002.0)] and clock.now() == 1_002.0
    assert not clock.run_next(1_004.0)  # b is not due by then: time moves to 1 004
    assert clock.now() == 1_004.0
    assert clock.run_next(1_010.0) and seen[-1] == ("b", 1_005.0)
    assert clock.next_due() is None
    clock.advance_to(1_003.0)  # never backwards
    assert clock.now() == 1_005.0
    with pytest.raises(RuntimeError):
        SimClock(start_epoch=0.0).run_next(1.0)
