"""Faults on demand for ``acd simulate``: the ``--chaos`` list and its scenario key.

    router-kill@60+5,redis-stop@120+30,pbx-restart@200,leader-kill@300,ami-drop@400+2

Each item is ``<kind>@<at>[+<duration>]``, times in seconds of scenario time from its
start:

* ``router-kill@T+D`` — SIGKILL of the router process at T, started again D seconds
  later (D defaults to 0: at once; either way it stays down as long as its start takes);
* ``redis-stop@T+D`` — the run's Redis server is killed at T and started again D
  seconds later (D required);
* ``pbx-restart@T[+D]`` — the simulated Asterisk restarts as Asterisk does (Shutdown,
  every channel hung up, sockets closed, FullyBooted at the next login), listening
  again after D seconds (default: at once);
* ``dialplan-reload@T`` — ``dialplan reload`` on the simulated Asterisk: the
  ``[globals]`` of its extensions.conf set again (:mod:`acd.sim.reload`); no caller may
  fail open for it while the router is healthy;
* ``pbx-crash@T[+D]`` — the simulated Asterisk dies without a word (no Hangup, no
  Shutdown: killed, its host lost), sockets closed, listening again after D seconds
  (default: at once), empty;
* ``ami-drop@T[+D]`` — the AMI link is cut (every session closed, no listener for D
  seconds, default: at once) while the router process and Asterisk's calls live on;
* ``leader-kill@T[+D]`` — SIGKILL of the leader of the router pair (two routers are
  run); started again as a standby after D seconds, or never without D.

In ``--json`` mode each fault prints, when it fires, a line
``{"fault": "router-kill", "at_s": 60, "duration_s": 5}`` (``duration_s`` null for a
leader-kill whose router is not started again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["router-kill", "redis-stop", "pbx-restart", "pbx-crash", "ami-drop",
                    "leader-kill", "dialplan-reload"]
KINDS: tuple[FaultKind, ...] = ("router-kill", "redis-stop", "pbx-restart", "pbx-crash",
                                "ami-drop", "leader-kill", "dialplan-reload")

_ITEM = re.compile(r"(?P<kind>[a-z-]+)@(?P<at>\d+(?:\.\d+)?)(?:\+(?P<dur>\d+(?:\.\d+)?))?")


class ChaosError(ValueError):
    """A ``--chaos`` list that cannot be read; the message names the item."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    #: scenario seconds from its start
    at_s: float
    #: scenario seconds the fault lasts; None when not given
    duration_s: float | None = None

    def line(self) -> dict[str, object]:
        """The ``--json`` line printed when the fault fires."""
        return {"fault": self.kind, "at_s": _number(self.at_s),
                "duration_s": None if self.duration_s is None else _number(self.duration_s)}

    def describe(self) -> str:
        extra = "" if not self.duration_s else f" for {_number(self.duration_s)} s"
        return f"fault: {self.kind} at {_number(self.at_s)} s{extra}"


def parse_chaos(text: str) -> list[Fault]:
    """``"router-kill@60+5,pbx-restart@200"`` → faults in time order; ChaosError."""
    faults: list[Fault] = []
    for raw in (item.strip() for item in text.split(",")):
        if not raw:
            continue
        match = _ITEM.fullmatch(raw)
        if match is None:
            raise ChaosError(f"{raw!r} is not <kind>@<seconds>[+<seconds>] "
                             f"(e.g. router-kill@60+5)")
        kind = match["kind"]
        if kind not in KINDS:
            raise ChaosError(f"{raw!r}: unknown fault {kind!r} (known: {', '.join(KINDS)})")
        duration = float(match["dur"]) if match["dur"] is not None else None
        if kind == "redis-stop" and duration is None:
            raise ChaosError(f"{raw!r}: redis-stop needs a duration (redis-stop@T+D)")
        if kind in ("router-kill", "pbx-restart", "pbx-crash", "ami-drop") \
                and duration is None:
            duration = 0.0  # back at once (a process start, a listener reopened)
        faults.append(Fault(kind, float(match["at"]), duration))
    return sorted(faults, key=lambda f: f.at_s)


def needs_pair(faults: list[Fault]) -> bool:
    return any(f.kind == "leader-kill" for f in faults)


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value
