"""Reading Asterisk's replies to actions: errors, list items, timestamps. Pure helpers
of the connection (:mod:`acd.ami.client`) and the router driver."""

from __future__ import annotations

import math
from typing import Any

from acd.ami import actions as act
from acd.ami.drops import DropCounter
from acd.ami.events import MAX_TIMESTAMP, AmiEvent, UndecodableEvent, decode_message
from acd.errors import AmiActionFailed


def check_response(action: act.Action, response: Any) -> None:
    """Raise :class:`AmiActionFailed` when Asterisk answered ``Response: Error``."""
    first = response[0] if isinstance(response, list) else response
    if getattr(first, "response", "") == "Error":
        raise AmiActionFailed(action.name, first.message or "error")


def epoch_or(text: str, default: float) -> float:
    """``text`` as an epoch time, or ``default`` when it is not a sane one."""
    try:
        value = float(text)
    except ValueError:
        return default
    return value if math.isfinite(value) and 0 <= value <= MAX_TIMESTAMP else default


def as_list(response: Any) -> list[Any]:
    """A list action's messages (one message when it answered only one)."""
    return list(response) if isinstance(response, list) else [response]


def decode_list_item(message: Any, drops: DropCounter) -> AmiEvent | None:
    """One item of a list action as a typed event; an undecodable one is counted and
    skipped (that channel only, never the others)."""
    ami = getattr(message, "ami", None)
    if ami is None:
        return None
    try:
        return decode_message(ami)
    except UndecodableEvent as exc:
        drops.drop("undecodable", 1, str(exc))
        return None


def describe(exc: BaseException) -> str:
    """An exception in a log line: its type, and its message when it has one."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
