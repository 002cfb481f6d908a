"""The engine's shape: collaborators composed by the facade, not a class hierarchy.

No class of ``acd.core`` inherits behaviour from another ``acd`` class (data types,
enums and Protocols aside), no module imports another's private name nor reaches into
another object's private members, and every module stays under 500 lines."""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
from pathlib import Path
from typing import Protocol

import msgspec
import pytest

import acd.core
from acd.config import Config
from acd.core.engine import Engine
from acd.core.state import capture
from acd.core.timerkind import TimerKind

CORE = Path(acd.core.__file__).parent
MODULES = sorted(p for p in CORE.glob("*.py") if p.name != "__init__.py")


def _is_data_type(cls: type) -> bool:
    return issubclass(cls, msgspec.Struct | enum.Enum | tuple) or (
        Protocol in cls.__mro__)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_core_class_inherits_behaviour_from_another_acd_class(path: Path) -> None:
    module = importlib.import_module(f"acd.core.{path.stem}")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__ or _is_data_type(cls):
            continue
        acd_bases = [b for b in cls.__bases__ if b.__module__.startswith("acd.")]
        assert not acd_bases, f"{cls.__qualname__} inherits from {acd_bases}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_core_module_reaches_into_private_names(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            assert not [a.name for a in node.names if a.name.startswith("_")], \
                f"{path.name}:{node.lineno} imports a private name"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            owner = node.value
            assert isinstance(owner, ast.Name) and owner.id in ("self", "cls"), \
                f"{path.name}:{node.lineno} reaches into .{node.attr}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_core_modules_stay_under_500_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) < 500


def test_every_timer_kind_has_its_handler(site_config: Config) -> None:
    engine = Engine(site_config)
    assert set(engine.call_timers) | set(engine.agent_timers) == set(TimerKind)


def test_the_snapshot_is_the_captured_state(site_config: Config) -> None:
    engine = Engine(site_config)
    assert engine.snapshot() == capture(engine.state)
