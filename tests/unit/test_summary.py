"""The summary of ``acd simulate`` and ``acd demo``, from call records written by hand:
a row per queue, QS 30 s and QS 60 s, transfers per pair of queues, overflows per
partner, calls forwarded to the PDSA line, and the live line."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from acd.core.model import Outcome
from acd.core.records import CallRecord, LegRecord, OverflowRecord
from acd.tools.simulate.command import live_line, summary_json
from acd.tools.simulate.run import Progress, RunResult
from acd.tools.summary import render, summarize

DAY = "2026-01-13T09:"


def leg(queue: str, entered: str, answered: str | None = None, ended: str | None = None,
        wait_s: float | None = None) -> LegRecord:
    return LegRecord(queue=queue, agent="a1" if answered else None,
                     entered_at=DAY + entered, answered_at=answered and DAY + answered,
                     ended_at=ended and DAY + ended, wait_s=wait_s,
                     talk_s=1.0 if answered and ended else None)


def record(uid: str, legs: list[LegRecord], *, outcome: str, wait_s: float | None,
           ended: str | None = "59:00", number: str = "15", partner: str | None = None,
           overflows: list[OverflowRecord] | None = None) -> CallRecord:
    answered = next((lg for lg in legs if lg.answered_at), None)
    return CallRecord(
        uniqueid=uid, linkedid=uid, number=number, caller_name="x",
        queues=[lg.queue for lg in legs], arrived_at=legs[0].entered_at,
        answered_at=answered.answered_at if answered else None,
        ended_at=ended and DAY + ended, outcome=Outcome(outcome),
        agent=answered.agent if answered else None, wait_s=wait_s, priority=5,
        channel=f"PJSIP/trunk-{uid}", legs=legs, partner=partner,
        overflows=overflows or [])


def attempt(partner: str, result: str) -> OverflowRecord:
    return OverflowRecord(partner=partner, at=DAY + "01:00", result=result)


def morning() -> list[CallRecord]:
    return [
        # N1 (12 s) → OSNP (cold, 40 s) → MG (warm, 8 s): one call, three visits
        record("c1", [leg("ARM_N1", "00:00", "00:12", "01:00", 12.0),
                      leg("OSNP", "01:00", "01:40", "03:00", 40.0),
                      leg("MG", "02:52", "03:00", "09:00", 8.0)],
                outcome="answered", wait_s=12.0),
        # N1 (45 s) → AMU_N2 (warm, 20 s)
        record("c2", [leg("ARM_N1", "00:00", "00:45", "02:00", 45.0),
                      leg("AMU_N2", "01:40", "02:00", "05:00", 20.0)],
                outcome="answered", wait_s=45.0),
        # N1 (70 s) → OSNP, where the caller hangs up before anyone answers
        record("c3", [leg("ARM_N1", "00:00", "01:10", "02:00", 70.0),
                      leg("OSNP", "02:00")], outcome="answered", wait_s=70.0),
        # N1 (5 s), the agent leg lost, answered again in N1: one visit, no transfer
        record("c4", [leg("ARM_N1", "00:00", "00:05", "00:30", 5.0),
                      leg("ARM_N1", "00:30", "00:40", "02:00", 10.0)],
                outcome="answered", wait_s=5.0),
        # N1 → OSNP, still waiting there when the run stops
        record("c5", [leg("ARM_N1", "00:00", "00:20", "01:00", 20.0),
                      leg("OSNP", "01:00")], outcome="answered", wait_s=20.0,
               ended=None),
        # abandoned at N1
        record("c6", [leg("ARM_N1", "00:00")], outcome="abandoned", wait_s=None),
        # still waiting at N1
        record("c7", [leg("ARM_N1", "00:00")], outcome="waiting", wait_s=None, ended=None),
        # SAS 62 did not answer, SAS 80 took the call
        record("c8", [leg("ARM_N1", "00:00")], outcome="overflowed", wait_s=None,
               partner="sas80", overflows=[attempt("sas62", "noanswer"),
                                           attempt("sas80", "answered")]),
        # 116 117 and the local number in PDSA hours: to the PDSA line
        record("c9", [leg("ARM_N1", "00:00")], outcome="forwarded", wait_s=None,
               number="116117", partner="PDSA", overflows=[attempt("PDSA", "answered")]),
        record("c10", [leg("ARM_N1", "00:00")], outcome="forwarded", wait_s=None,
               number="0320334455", partner="PDSA",
               overflows=[attempt("PDSA", "answered")]),
    ]


def test_each_queue_a_call_entered_has_its_row() -> None:
    summary = summarize(morning())
    rows = {name: (q.offered, q.answered, q.abandoned, q.waiting)
            for name, q in summary.queues.items()}
    assert rows == {
        "ARM_N1": (10, 5, 1, 1),
        "OSNP": (3, 1, 1, 1),
        "MG": (1, 1, 0, 0),
        "AMU_N2": (1, 1, 0, 0),
    }
    # a queue's wait runs from entering it to the pick-up there
    assert summary.queues["OSNP"].waits == [40.0]
    assert summary.queues["AMU_N2"].mean_wait == 20.0
    assert summary.queues["ARM_N1"].waits == [12.0, 45.0, 70.0, 5.0, 20.0]
    assert summary.queues["ARM_N1"].p90_wait == 70.0
    # the call-level counts are unchanged: one call, counted once
    counts = summary.counts
    assert (counts.offered, counts.answered, counts.abandoned, counts.waiting) == (10, 5, 1, 1)
    assert summary.other_outcomes == {"overflowed": 1, "forwarded": 2}
    assert summary.accounted()


def test_qs30_and_qs60_count_first_pick_ups_at_n1() -> None:
    counts = summarize(morning()).counts
    assert (counts.qs30_within, counts.qs_answered) == (3, 5)
    assert counts.qs60_within == 4
    assert counts.qs60.value == 0.8


def test_qs60_counts_a_wait_strictly_under_60_s() -> None:
    records = [record(f"q{n}", [leg("ARM_N1", "00:00", "01:00", "02:00", wait)],
                      outcome="answered", wait_s=wait)
               for n, wait in enumerate([29.999, 30.0, 59.999, 60.0])]
    counts = summarize(records).counts
    assert (counts.qs30_within, counts.qs60_within, counts.qs_answered) == (1, 3, 4)


def test_transfers_are_counted_per_pair_of_queues() -> None:
    summary = summarize(morning())
    moves = {pair: (t.count, t.connected) for pair, t in summary.transfers.items()}
    assert moves == {
        ("ARM_N1", "OSNP"): (3, 1),
        ("OSNP", "MG"): (1, 1),
        ("ARM_N1", "AMU_N2"): (1, 1),
    }


def test_overflows_per_partner_and_forwards_to_the_pdsa_line() -> None:
    summary = summarize(morning())
    overflows = {p: (f.tried, f.taken) for p, f in summary.overflows.items()}
    assert overflows == {"sas62": (1, 0), "sas80": (1, 1)}
    assert summary.forwarded == {"116117": 1, "0320334455": 1}


def test_the_printed_summary_has_every_section() -> None:
    text = render(summarize(morning()), title="Summary — test")
    lines = text.splitlines()
    assert "  QS 30 s at N1: 60.0% (3/5 answered within 30 s)" in lines
    assert "  QS 60 s at N1: 80.0% (4/5 answered within 60 s)" in lines
    rows = [line.split()[0] for line in lines
            if line.split() and line.split()[0] in ("ARM_N1", "AMU_N2", "OSNP", "MG")]
    assert rows[:4] == ["ARM_N1", "AMU_N2", "OSNP", "MG"]  # in the order of a call's path
    assert lines[lines.index(next(x for x in lines if x.startswith("  OSNP ")))].split() \
        == ["OSNP", "3", "1", "1", "1", "40.0", "s", "40.0", "s"]
    assert any(line.split() == ["ARM_N1", "→", "OSNP", "3", "1"] for line in lines)
    assert any(line.split() == ["OSNP", "→", "MG", "1", "1"] for line in lines)
    assert any(line.split() == ["sas80", "1", "1"] for line in lines)
    assert "  forwarded to the PDSA line: 2 (0320334455 1, 116117 1)" in lines


def test_the_json_summary_adds_fields_and_keeps_the_old_ones() -> None:
    records = morning()
    summary = summarize(records)
    data = summary_json(summary, RunResult(records=records, summary=summary,
                                           calls_placed=10))
    for key in ("offered", "answered", "abandoned", "waiting", "other", "other_outcomes",
                "qs30", "qs30_answered_within_30s", "qs30_answered", "queues",
                "handled_by_role", "calls_placed", "callers_hung_up_by_router"):
        assert key in data
    assert set(data["queues"]["OSNP"]) == {"offered", "answered", "abandoned", "waiting",
                                           "mean_wait_s", "p90_wait_s"}
    assert (data["qs60"], data["qs60_answered_within_60s"]) == (0.8, 4)
    assert {"from": "ARM_N1", "to": "AMU_N2", "count": 1, "connected": 1} in \
        data["transfers"]
    assert data["overflows"] == {"sas62": {"tried": 1, "taken": 0},
                                 "sas80": {"tried": 1, "taken": 1}}
    assert data["forwarded_by_number"] == {"0320334455": 1, "116117": 1}


def test_the_live_line_shows_each_filiere_on_one_line() -> None:
    progress = Progress(sim_time=1_768_293_720.0,  # 09:42 in Paris
                        waiting={"ARM_N1": 12, "AMU_N2": 3, "OSNP": 10, "MG": 4, "MRH": 0,
                                 "PSY": 0},
                        agents={"available": 3, "on_call": 18, "wrap_up": 4},
                        answered=1234, abandoned=56, qs30=0.87, overflowed=12)
    line = live_line(progress, ZoneInfo("Europe/Paris"))
    assert line.startswith("09:42  waiting: N1 12 · AMU 3 · OSNP 10 · MG 4  agents free 3/25")
    assert "overflowed 12" in line and "QS 30 s 87%" in line
    assert "\n" not in line and len(line) <= 120
    quiet = Progress(sim_time=1_768_293_720.0, waiting={"ARM_N1": 0, "PSY": 2}, agents={},
                     answered=0, abandoned=0, qs30=None)
    assert "waiting: N1 0 · AMU 0 · OSNP 0 · MG 0 · PSY 2  agents free 0/0" in \
        live_line(quiet, ZoneInfo("Europe/Paris"))
