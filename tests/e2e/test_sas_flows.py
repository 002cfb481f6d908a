"""The SAS flows end to end: the shipped scenarios, shortened, played by the simulator
and the real router over loopback TCP. In every one, the simulator's own log of
hangups shows that the router hung up no caller."""

from __future__ import annotations

from datetime import date, datetime, time

import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from acd.config.load import load_config
from acd.core.records import CallRecord
from acd.tools.simulate.run import RunResult, run_scenario
from acd.tools.simulate.scenario import Scenario, load_scenario, resolve_site
from acd.tools.summary import render
from tests.support.paths import REPO

SCENARIOS = REPO / "config" / "scenarios"


async def play(name: str, *, duration_s: float, speed: float = 600.0) -> RunResult:
    path = SCENARIOS / name
    scenario = load_scenario(path)
    scenario = msgspec.structs.replace(scenario, duration_s=duration_s)
    config = load_config(resolve_site(scenario, path))
    result = await run_scenario(config, scenario, speed=speed)
    assert result.hung_up_by_router == []
    assert result.summary.accounted()
    assert len(result.records) == result.calls_placed
    return result


def local(record: CallRecord) -> time:
    return datetime.fromisoformat(record.arrived_at).time()


async def test_transfers_keep_one_record_with_every_leg() -> None:
    result = await play("sas-large-transfers-morning.toml", duration_s=2400)
    chains = [r for r in result.records if len(r.legs) >= 3]
    assert chains, "some calls went N1 → OSNP → MG"
    for record in chains:
        assert record.queues[:2] == ["ARM_N1", "OSNP"]
        answered = [leg for leg in record.legs if leg.answered_at is not None]
        assert all(leg.wait_s is not None and leg.talk_s is not None for leg in answered)
        # QS counts the first pick-up only: the record's wait is the first leg's
        assert record.wait_s == record.legs[0].wait_s
    assert any(r.queues[:4] == ["ARM_N1", "OSNP", "MG", "OSNP"] for r in result.records)
    assert {r.outcome for r in result.records} <= {"answered", "abandoned", "overflowed"}


async def test_warm_transfers_hand_the_caller_over_and_never_drop_it() -> None:
    result = await play("sas-large-warm-transfers-morning.toml", duration_s=2400)
    warm = [r for r in result.records
            if any((a.queue == "ARM_N1" and b.queue == "AMU_N2") or
                   (a.queue == "OSNP" and b.queue == "MG")
                   for a, b in zip(r.legs, r.legs[1:], strict=False))]
    assert warm, "some calls were handed over warm"
    for record in warm:
        for first, second in zip(record.legs, record.legs[1:], strict=False):
            if (first.queue, second.queue) not in (("ARM_N1", "AMU_N2"), ("OSNP", "MG")):
                continue
            # the first agent talked until the second answered: one instant ends the
            # first leg and starts the second's talk; the consultation is the second
            # leg's wait (from the request), inside the first leg's talk
            assert first.ended_at == second.answered_at
            assert first.answered_at is not None and second.answered_at is not None
            assert first.answered_at <= second.entered_at <= second.answered_at
        assert record.wait_s == record.legs[0].wait_s
    counts: dict[tuple[str, str, str], float] = {}
    busy: dict[str, float] = {}
    for family in text_string_to_metric_families(result.metrics_text.decode()):
        for sample in family.samples:
            if sample.name == "acd_transfers_total":
                labels = sample.labels
                counts[(labels["from_queue"], labels["to_queue"], labels["result"])] = \
                    sample.value
            elif sample.name == "acd_offers_busy_total":
                busy[sample.labels["kind"]] = busy.get(sample.labels["kind"], 0) + sample.value
    for kind in (("ARM_N1", "AMU_N2"), ("OSNP", "MG")):
        requested = counts.get((*kind, "requested"), 0)
        ended = sum(v for (a, b, r), v in counts.items() if (a, b) == kind
                    and r in ("connected", "cancelled", "fallback_original_queue",
                              "fallback_overflow"))
        assert requested > 0 and requested == ended
    assert counts.get(("ARM_N1", "OSNP", "ringing"), 0) == 0  # N1 → OSNP stays cold
    # agents.busy_rate: phones answering busy (a caller's Dial, a warm Originate)
    assert sum(busy.values()) > 0


async def test_saturated_room_overflows_to_partners() -> None:
    result = await play("sas-large-saturated-overflow.toml", duration_s=2400)
    overflowed = [r for r in result.records if r.outcome == "overflowed"]
    assert overflowed
    assert {r.partner for r in overflowed} <= {"sas62", "sas80"}
    assert all(r.overflows[-1].result == "answered" for r in overflowed)


async def test_failing_partner_trunks_send_every_call_back_to_be_answered_here() -> None:
    result = await play("sas-large-partner-trunk-failure.toml", duration_s=3000)
    failed = [r for r in result.records
              if any(o.result not in ("answered", "tried") for o in r.overflows)]
    assert failed, "calls were tried at a failing partner"
    for record in failed:
        assert record.outcome in ("answered", "overflowed")
        if record.outcome == "answered":
            assert record.agent is not None and record.partner is None
    after = [r for r in result.records if local(r) >= time(8, 31)]
    assert after
    assert all(r.outcome == "answered" for r in after)


async def test_saturday_noon_switches_116117_to_the_pdsa_queue() -> None:
    path = SCENARIOS / "sas-small-saturday-116117.toml"
    scenario = load_scenario(path)
    scenario = msgspec.structs.replace(
        scenario, start=scenario.start.replace(hour=11, minute=30))
    config = load_config(resolve_site(scenario, path))
    result = await run_scenario(config, msgspec.structs.replace(scenario, duration_s=3600),
                                speed=600)
    assert result.hung_up_by_router == []
    before = [r for r in result.records if local(r) < time(12)]
    after = [r for r in result.records if local(r) >= time(12)]
    assert before and after
    for record in before:
        assert record.period == "sas"
        assert record.queues[0] == "ARM_N1"
    for record in after:
        assert record.period == "pdsa"
        assert record.queues[0] == ("MG" if record.number == "116117" else "ARM_N1")


async def test_good_friday_in_moselle_forwards_116117_to_the_pdsa() -> None:
    result = await play("sas-57-good-friday.toml", duration_s=2400)
    assert {r.period for r in result.records} == {"pdsa"}
    for record in result.records:
        if record.number in ("116117", "0387000000"):
            assert record.outcome == "forwarded"
            assert record.partner == "PDSA"
        else:
            assert record.outcome in ("answered", "abandoned")


@pytest.mark.parametrize("name", ["sas-large-morning-peak.toml"])
async def test_live_counters_match_the_call_records(name: str) -> None:
    result = await play(name, duration_s=2400, speed=600)
    samples: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(result.metrics_text.decode()):
        for sample in family.samples:
            if sample.labels.get("queue") == "ARM_N1":
                key = (sample.name, sample.labels.get("period", ""))
                samples[key] = samples.get(key, 0.0) + sample.value
    records = result.records
    answered = [r for r in records if r.outcome == "answered" and r.queues[0] == "ARM_N1"]
    period = records[0].period
    assert samples[("acd_calls_offered_total", period)] == len(records)
    assert samples[("acd_calls_answered_total", period)] == len(answered)
    within = sum(1 for r in answered if r.wait_s is not None and r.wait_s < 30)
    assert samples[("acd_calls_answered_within_30s_total", period)] == within
    assert within == result.summary.counts.qs30_within
    assert samples[("acd_calls_abandoned_total", period)] == result.summary.counts.abandoned


def short_demo() -> Scenario:
    """The demo morning shortened: 07:30 to 08:30, the pile-up moved to 08:05."""
    path = SCENARIOS / "sas-large-demo-morning.toml"
    scenario = load_scenario(path)
    shift = datetime(2000, 1, 1, 9, 30) - datetime(2000, 1, 1, 8, 5)
    pile_up = [msgspec.structs.replace(
        event, at=(datetime.combine(date(2000, 1, 1), time.fromisoformat(event.at))
                   - shift).time().isoformat())
        for event in scenario.script
        if event.call is not None and event.call.caller_name.startswith("Accident")]
    return msgspec.structs.replace(
        scenario, start=scenario.start.replace(hour=7, minute=30), duration_s=3600,
        drain_s=600, script=pile_up)


async def test_the_demo_morning_shows_the_whole_room() -> None:
    scenario = short_demo()
    config = load_config(REPO / "config" / "sas-large.toml")
    result = await run_scenario(config, scenario, speed=900)
    assert result.hung_up_by_router == []
    assert result.summary.accounted()
    summary = result.summary
    for queue in ("ARM_N1", "AMU_N2", "OSNP", "MG"):
        assert summary.queues[queue].answered > 0, queue
    for pair in (("ARM_N1", "AMU_N2"), ("ARM_N1", "OSNP"), ("OSNP", "MG")):
        assert summary.transfers[pair].connected > 0, pair
    assert sum(p.taken for p in summary.overflows.values()) > 0  # the pile-up
    assert set(summary.forwarded) <= {"116117", "0320334455"}
    assert sum(summary.forwarded.values()) > 0  # before 08:00
    forwarded = [r for r in result.records if r.outcome == "forwarded"]
    assert all(local(r) < time(8) and r.period == "pdsa" for r in forwarded)
    text = render(summary)
    for queue in ("ARM_N1", "AMU_N2", "OSNP", "MG"):
        assert any(line.startswith(f"  {queue} ") for line in text.splitlines())
    assert "  ARM_N1 → AMU_N2 " in text and "QS 60 s at N1: " in text
