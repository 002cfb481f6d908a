"""The service's shape: adapters see ports, never the service; facts are logged from
one table."""

from __future__ import annotations

import ast
from pathlib import Path

from structlog.testing import capture_logs

from acd.core import facts as f
from acd.service.factlog import FACT_LOGS, log_fact
from tests.support.paths import REPO

ADAPTERS = ("acd/ami", "acd/core", "acd/http", "acd/metrics", "acd/store")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_adapter_imports_the_service() -> None:
    """The HTTP side, the metrics, the store, the AMI connection and the engine are typed
    against acd.core.ports, not against the router (type-checking imports included)."""
    offenders = {
        str(path.relative_to(REPO)): sorted(name for name in imported_modules(path)
                                           if name.startswith(("acd.service", "acd.app")))
        for package in ADAPTERS for path in sorted((REPO / package).rglob("*.py"))}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_service_and_adapter_modules_stay_small() -> None:
    sizes = {str(path.relative_to(REPO)): len(path.read_text().splitlines())
             for package in ("acd/service", "acd/http", "acd/metrics", "acd/testing")
             for path in (REPO / package).rglob("*.py")}
    assert sizes and {path: n for path, n in sizes.items() if n > 500} == {}


def test_a_requeued_call_is_not_logged_as_queued_again() -> None:
    with capture_logs() as logs:
        log_fact(f.CallQueued(at=1.0, call="c1", queue="ARM_N1", number="06******78",
                              priority=0, new=False))
        log_fact(f.CallQueued(at=1.0, call="c1", queue="ARM_N1", number="06******78",
                              priority=0, new=True))
    assert [(entry["event"], entry["log_level"], entry["call"]) for entry in logs] == [
        ("call_queued", "info", "c1")]


def test_repairs_and_ignored_inputs_are_logged_with_every_field() -> None:
    with capture_logs() as logs:
        log_fact(f.StateRepaired(at=2.0, kind="lost_hangup", subject="c1", detail="gone"))
        log_fact(f.InputIgnored(at=3.0, input="Hangup", detail="unknown channel"))
    assert logs == [
        {"event": "StateRepaired", "log_level": "warning", "at": 2.0,
         "kind": "lost_hangup", "subject": "c1", "detail": "gone"},
        {"event": "InputIgnored", "log_level": "warning", "at": 3.0, "input": "Hangup",
         "detail": "unknown channel"}]


def test_offers_are_not_logged() -> None:
    """An offer is counted (metrics) and streamed, not logged: the table leaves it out."""
    assert f.CallOffered not in FACT_LOGS
    with capture_logs() as logs:
        log_fact(f.CallOffered(at=1.0, call="c1", queue="ARM_N1", agent="1001"))
    assert logs == []
