"""What every collaborator of the engine works with: the room, the effects buffer,
the timers and the config, built once by the engine (:mod:`acd.core.engine`)."""

from __future__ import annotations

from typing import NamedTuple

from acd.config import Config
from acd.core.effects import Effects
from acd.core.room import RoomState
from acd.core.timers import Timers


class Context(NamedTuple):
    """Unpacked by each collaborator: ``self.state, self.fx, self.timers, self.config
    = context``."""

    state: RoomState
    fx: Effects
    timers: Timers
    config: Config

    @classmethod
    def of(cls, state: RoomState) -> Context:
        """A fresh effects buffer and timers over ``state``."""
        return cls(state, Effects(state), Timers(state), state.config)
