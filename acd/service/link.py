"""What the router tells about its AMI link: up and resynchronised, or down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkChange:
    """The link came up and was resynchronised (``up``), or dropped."""

    up: bool
    #: what the resync found, or why the link dropped
    detail: str
    #: channels Asterisk listed at the resync (0 when down)
    channels: int = 0


#: told each change of the link, after the engine has been given it
LinkListener = Callable[[LinkChange], None]
