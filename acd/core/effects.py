"""What one input produces: the actions to send and the facts to publish."""

from __future__ import annotations

from typing import NamedTuple

from acd.ami.actions import Action
from acd.core import facts as f
from acd.core.room import RoomState


class Output(NamedTuple):
    commands: list[Action]
    facts: list[f.Fact]


class Effects:
    """The buffer the collaborators write to while the engine handles one input."""

    def __init__(self, state: RoomState) -> None:
        self._state = state
        self._commands: list[Action] = []
        self._facts: list[f.Fact] = []

    def begin(self) -> Output:
        """Start a new input: fresh buffers, returned as the input's output."""
        self._commands = []
        self._facts = []
        return Output(self._commands, self._facts)

    def command(self, *actions: Action) -> None:
        self._commands.extend(actions)

    def fact(self, fact: f.Fact) -> None:
        self._facts.append(fact)

    def ignore(self, what: str, detail: str) -> None:
        self._facts.append(f.InputIgnored(at=self._state.now, input=what, detail=detail))

    def repair(self, kind: str, subject: str, detail: str) -> None:
        self._facts.append(f.StateRepaired(at=self._state.now, kind=kind, subject=subject,
                                           detail=detail))
