"""A simulated day in one process: the engine and the simulator's PBX on a virtual
clock (:mod:`acd.tools.fastday.day`)."""

from acd.tools.fastday.day import DayRequest, DayResult, load_day, play_day

__all__ = ["DayRequest", "DayResult", "load_day", "play_day"]
