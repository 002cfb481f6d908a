"""A run's summary from its call records: what ``acd demo`` and ``acd simulate`` print.

Computed only from the router's own call records (never from a simulator's
bookkeeping), with the DGOS definitions:

* *answered* means picked up by a person; the wait runs from the call's arrival in its
  first queue to that first pick-up (``wait_s`` of the record);
* QS 30 s = calls answered within 30 s / calls answered, for calls whose first queue
  is the front office (ARM_N1); abandoned calls are not in the denominator;
* calls still waiting when the run stops are counted apart, neither answered nor
  abandoned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from acd.config import STANDARD_SKILLS, Config
from acd.core.records import CallRecord

FRONT_OFFICE = STANDARD_SKILLS[0]


@dataclass
class QueueFigures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waiting: int = 0
    waits: list[float] = field(default_factory=list)

    @property
    def mean_wait(self) -> float | None:
        return sum(self.waits) / len(self.waits) if self.waits else None

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 90)


@dataclass
class Summary:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waiting: int = 0
    other: int = 0
    #: the other calls by outcome ("forwarded" to a PDSA line, "overflowed" to a
    #: partner SAS, "lost" in an Asterisk restart…)
    other_outcomes: dict[str, int] = field(default_factory=dict)
    qs30_numerator: int = 0
    qs30_denominator: int = 0
    #: answered at a time no router saw (found talking at a resync): counted in
    #: ``answered``, left out of QS 30 s (their wait is not known)
    answered_wait_unknown: int = 0
    queues: dict[str, QueueFigures] = field(default_factory=dict)
    #: role → legs answered by agents of that role's skill
    handled_by_role: dict[str, int] = field(default_factory=dict)

    @property
    def qs30(self) -> float | None:
        if not self.qs30_denominator:
            return None
        return self.qs30_numerator / self.qs30_denominator

    def accounted(self) -> bool:
        """Every offered call is answered, abandoned, still waiting or other."""
        return self.offered == self.answered + self.abandoned + self.waiting + self.other


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarize(records: Iterable[CallRecord], config: Config | None = None) -> Summary:
    summary = Summary()
    for record in records:
        summary.offered += 1
        first_queue = record.queues[0] if record.queues else FRONT_OFFICE
        figures = summary.queues.setdefault(first_queue, QueueFigures())
        figures.offered += 1
        if record.wait_s is not None:  # picked up by a person here (first pick-up)
            summary.answered += 1
            figures.answered += 1
            figures.waits.append(record.wait_s)
            if first_queue == FRONT_OFFICE:
                summary.qs30_denominator += 1
                summary.qs30_numerator += record.wait_s < 30.0
        elif record.outcome == "answered":  # picked up while no router saw it
            summary.answered += 1
            figures.answered += 1
            summary.answered_wait_unknown += 1
        elif record.outcome == "abandoned":
            summary.abandoned += 1
            figures.abandoned += 1
        elif record.outcome == "waiting":
            summary.waiting += 1
            figures.waiting += 1
        else:
            summary.other += 1
            summary.other_outcomes[record.outcome] = \
                summary.other_outcomes.get(record.outcome, 0) + 1
        for leg in record.legs:
            if leg.answered_at is not None:
                role = _role(leg.queue, config)
                summary.handled_by_role[role] = summary.handled_by_role.get(role, 0) + 1
    return summary


def _role(queue: str, config: Config | None) -> str:
    if config is not None and queue in config.skills and config.skills[queue].role:
        return config.skills[queue].role
    return queue


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def render(summary: Summary, title: str = "Summary") -> str:
    """The summary table printed at the end of a run."""
    qs30 = summary.qs30
    lines = [
        title,
        f"  offered {summary.offered}   answered {summary.answered}   "
        f"abandoned {summary.abandoned}   still waiting {summary.waiting}"
        + "".join(f"   {outcome} {count}"
                  for outcome, count in sorted(summary.other_outcomes.items())),
        "  QS 30 s at N1: " + ("—" if qs30 is None else
                                f"{qs30:.1%} ({summary.qs30_numerator}/"
                                f"{summary.qs30_denominator} answered within 30 s)"),
        "",
        f"  {'queue':<10} {'offered':>8} {'answered':>9} {'abandoned':>10} "
        f"{'waiting':>8} {'mean wait':>10} {'p90 wait':>9}",
    ]
    for name in sorted(summary.queues):
        q = summary.queues[name]
        lines.append(f"  {name:<10} {q.offered:>8} {q.answered:>9} {q.abandoned:>10} "
                     f"{q.waiting:>8} {_seconds(q.mean_wait):>10} {_seconds(q.p90_wait):>9}")
    if summary.handled_by_role:
        lines += ["", "  calls handled per role"]
        for role in sorted(summary.handled_by_role):
            lines.append(f"  {role:<24} {summary.handled_by_role[role]:>6}")
    return "\n".join(lines)
