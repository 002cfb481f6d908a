"""Queue rules (``queuerules.conf``): how a caller's penalty limits change with its wait.

A rule list is a section of ``penaltychange`` lines::

    [backups-after-15s]
    penaltychange => 15,+1      ; after 15 s, QUEUE_MAX_PENALTY one higher
    penaltychange => 45,2,0     ; after 45 s, at most 2 and at least 0

``SECONDS,MAX[,MIN]``: a value with a sign (or an empty one) is relative to the
caller's current limit, one without is absolute. Rules are kept in order of their
seconds (lines with equal seconds in file order), as app_queue inserts them.

How app_queue applies them (``update_qe_rule``): a rule changes a limit only if the
caller has one (the dialplan set ``QUEUE_MAX_PENALTY`` / ``QUEUE_MIN_PENALTY`` before
``Queue()``); an unset limit stays unset. A limit a relative change would take below
0 is 0. When a rule applies is the model's business (:mod:`acd.tools.appqueue.model`):
on whole seconds of wait, at the caller's next one-second check or retry.

Where Asterisk logs a warning and skips a malformed line, the parser raises
:class:`ValueError` naming the line: a typo must not silently change a comparison.
The fourth field of newer Asterisk versions (``QUEUE_RAISE_PENALTY``) is not modelled
and is refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class PenaltyChange:
    """One ``penaltychange`` line."""

    #: whole seconds after the caller joined the queue
    after_s: int
    #: the new QUEUE_MAX_PENALTY, or the change to it (``max_relative``)
    max_value: int = 0
    max_relative: bool = True
    #: the new QUEUE_MIN_PENALTY, or the change to it (``min_relative``)
    min_value: int = 0
    min_relative: bool = True

    def apply(self, max_penalty: int | None, min_penalty: int | None
              ) -> tuple[int | None, int | None]:
        """The caller's limits after this rule (None: no limit, left alone)."""
        return (_changed(max_penalty, self.max_value, self.max_relative),
                _changed(min_penalty, self.min_value, self.min_relative))

    def conf(self) -> str:
        """The line as ``queuerules.conf`` writes it."""
        def value(number: int, relative: bool) -> str:
            return f"{number:+d}" if relative else str(number)
        text = f"penaltychange => {self.after_s},{value(self.max_value, self.max_relative)}"
        if not (self.min_relative and self.min_value == 0):
            text += f",{value(self.min_value, self.min_relative)}"
        return text


def _changed(limit: int | None, value: int, relative: bool) -> int | None:
    if limit is None:
        return None
    return max(0, limit + value if relative else value)


def parse_penaltychange(value: str) -> PenaltyChange:
    """The value of one ``penaltychange`` line: ``SECONDS,MAX[,MIN]``."""
    fields = [f.strip() for f in value.split(",")]
    if len(fields) < 2:
        raise ValueError(f"penaltychange {value!r}: give SECONDS,MAX[,MIN]")
    if len(fields) > 3:
        raise ValueError(f"penaltychange {value!r}: a fourth field (QUEUE_RAISE_PENALTY) "
                         "is not modelled")
    seconds, maximum = fields[0], fields[1]
    if not seconds.isdigit():
        raise ValueError(f"penaltychange {value!r}: the seconds must be a whole number "
                         "of 0 or more")
    max_value, max_relative = _limit(maximum, value)
    min_value, min_relative = (0, True) if len(fields) < 3 or not fields[2] \
        else _limit(fields[2], value)
    return PenaltyChange(after_s=int(seconds), max_value=max_value, max_relative=max_relative,
                         min_value=min_value, min_relative=min_relative)


def _limit(text: str, line: str) -> tuple[int, bool]:
    """(value, relative) of one limit field; empty means "no change"."""
    if not text:
        return 0, True
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"penaltychange {line!r}: {text!r} is not a whole number")
    return int(text), text[0] in "+-"


def in_order(rules: Sequence[PenaltyChange]) -> tuple[PenaltyChange, ...]:
    """Rules by their seconds, equal seconds in the order given."""
    return tuple(sorted(rules, key=lambda rule: rule.after_s))


def parse_queuerules(text: str) -> dict[str, tuple[PenaltyChange, ...]]:
    """Every rule list of a ``queuerules.conf`` text, by section name."""
    lists: dict[str, list[PenaltyChange]] = {}
    current: list[PenaltyChange] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = lists.setdefault(line[1:-1].strip(), [])
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.removeprefix(">").strip()
        if not sep or key != "penaltychange":
            raise ValueError(f"queuerules line {number}: {raw.strip()!r} is not a "
                             "penaltychange line")
        if current is None:
            raise ValueError(f"queuerules line {number}: a rule before any [section]")
        try:
            current.append(parse_penaltychange(value))
        except ValueError as exc:
            raise ValueError(f"queuerules line {number}: {exc}") from exc
    return {name: in_order(rules) for name, rules in lists.items()}


def expansion_rules(expansion_s: Sequence[float]) -> tuple[PenaltyChange, ...]:
    """Rules that open a queue to its backups as the router's skill expansion does:
    one more penalty level after each ``expansion_s`` delay (whole seconds, rounded
    up), for a caller that joins with ``QUEUE_MAX_PENALTY=0`` (level 1 only)."""
    return in_order([PenaltyChange(after_s=math.ceil(delay), max_value=1)
                     for delay in expansion_s])
