"""A small room kept busy: the scenario the chaos tests and the failover benchmark
break things in (sas-small, every caller patient, short talks, 15 only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def busy_room_toml(*, name: str, duration_s: int, speed: float, seed: int,
                   drain_s: int = 600, per_day: int = 8000, arm: int = 3,
                   chaos: str = "", foreign_channels: int = 0) -> str:
    """The scenario's TOML text (a file, so that ``acd simulate`` can be given it)."""
    extra = "".join([f'chaos = "{chaos}"\n' if chaos else "",
                     f"foreign_channels = {foreign_channels}\n" if foreign_channels else ""])
    return f"""
site = "config/sas-small.toml"
name = "{name}"
start = "2026-03-10T09:00:00"
duration_s = {duration_s}
speed = {speed}
seed = {seed}
drain_s = {drain_s}
{extra}
[calls]
per_day = {{ "15" = {per_day} }}
patience_s = [900, 1200]

[agents]
answer_after_s = [1, 2]
no_answer_rate = 0.0
talk_s = {{ ARM_N1 = [20, 40] }}
default_talk_s = [20, 40]

[[staffing]]
at = "09:00"
counts = {{ ARM_N1 = {arm} }}
"""


def write_busy_room(path: Path, **settings: Any) -> Path:
    """:func:`busy_room_toml` written to ``path``."""
    path.write_text(busy_room_toml(**settings), encoding="utf-8")
    return path
