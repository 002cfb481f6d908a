"""The Grafana board and the Prometheus rules ask only for what the router exports.

Every ``expr`` of the dashboard and of the rule files is parsed for metric names; each
must be a series of a real scrape of a router's ``/metrics`` (so this test cannot
drift from the code) or a recording rule of ``deploy/prometheus/rules``. The
dashboard's queries must also be valid PromQL (checked by promtool)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.metricsroom import full_scrape
from tests.support.paths import REPO
from tests.support.promtool import recording_rule_names, rule_exprs, run_promtool

GRAFANA = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "acd-supervisor.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDER = GRAFANA / "provisioning" / "dashboards" / "acd.yml"

#: PromQL words that look like identifiers and are not metrics
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "offset", "bool", "inf", "nan", "start", "end"}
#: Grafana's own variables, replaced by durations when the query is checked by promtool
_GRAFANA_VARIABLES = {"$__range": "1d", "$__rate_interval": "1m", "$__interval": "1m"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not function
    calls, keywords, label names (in ``by (...)``, ``on (...)``, matchers) or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\$\{?\w+\}?", "", text)                  # Grafana variables
    text = re.sub(r"\[[^\]]*\]", "", text)                   # ranges, subqueries
    text = re.sub(r"\{[^}]*\}", "{}", text)                  # label matchers
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ",
                  text)                                       # label lists
    text = re.sub(r"\boffset\s+-?\w+", " ", text)             # offset 5m
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # collapsed rows keep their panels
    return found


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in panels(dashboard())
            for target in panel.get("targets", [])]


@pytest.fixture(scope="module")
def known_names() -> set[str]:
    """Series the router exports (from a real scrape) and the recorded rules."""

    async def scrape() -> str:  # a Router needs a running loop
        return full_scrape()

    text = asyncio.run(scrape()) + store_scrape() + http_scrape()
    return {s.name for family in text_string_to_metric_families(text)
            for s in family.samples} | recording_rule_names()


def store_scrape() -> str:
    """What a router with ``[redis]`` adds (acd.store's metrics)."""
    from prometheus_client import CollectorRegistry, generate_latest

    from acd.store.metrics import StoreMetrics

    registry = CollectorRegistry()
    StoreMetrics(registry, lambda: 0).written([0.01])
    return generate_latest(registry).decode()


def http_scrape() -> str:
    """What the HTTP server adds (acd.http.guard's connection metrics)."""
    from collections.abc import Iterable

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.metrics_core import Metric

    from acd.http.guard import ConnectionGuard

    guard = ConnectionGuard(8, 1.0)

    class Guarded:
        def collect(self) -> Iterable[Metric]:
            return guard.metrics()

    registry = CollectorRegistry()
    registry.register(Guarded())
    return generate_latest(registry).decode()


def test_metric_name_reader() -> None:
    expr = ('sum by (queue) (increase(acd_a_total{queue="ARM_N1", state!="x y"}[$__range]))'
            ' / on (queue) group_left (skill) (acd:b:ratio_1h > 0) and ignoring (le) acd_c'
            ' == bool 1e-3 unless histogram_quantile(0.9, rate(acd_d_bucket[5m] offset 1h))'
            ' or absent(acd_e) * -Inf')
    assert metric_names(expr) == {"acd_a_total", "acd:b:ratio_1h", "acd_c", "acd_d_bucket",
                                  "acd_e"}


def test_every_dashboard_query_reads_only_what_the_router_exports(
        known_names: set[str]) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        unknown = names - known_names
        assert not unknown, f"{expr!r} reads {sorted(unknown)}, not exported by the router"


def test_every_rule_reads_only_what_the_router_exports(known_names: set[str]) -> None:
    for expr in rule_exprs():
        unknown = metric_names(expr) - known_names
        assert not unknown, f"{expr!r} reads {sorted(unknown)}, not exported by the router"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    rules = []
    for n, expr in enumerate(dashboard_exprs()):
        for variable, duration in _GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, duration)
        assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
        rules.append({"record": f"dashboard:query_{n}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    # JSON is YAML: promtool reads this file as a rules file and parses every query
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_covers_the_supervisor_wall() -> None:
    board = dashboard()
    assert board["uid"] == "acd-supervisor"
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == ["The room now", "Service level today (DGOS definitions)",
                    "Abandons, overflow and bascule", "Transfers between filières",
                    "System health"]
    everything = " ".join(dashboard_exprs())
    for name in ("acd_queue_waiting_calls", "acd_queue_oldest_wait_seconds", "acd_agents",
                 "acd_calls_answered_within_30s_total", "acd_calls_answered_within_60s_total",
                 "acd:qs30:ratio_1h", "acd:qs60:ratio_1h", "acd_calls_abandoned_total",
                 "acd_overflow_total", "acd_transfers_total", "acd_ami_connected",
                 "acd_event_loop_lag_seconds", "acd_routing_decision_seconds_bucket"):
        assert name in everything, f"the board does not show {name}"


def test_dashboard_layout_and_data_source() -> None:
    board = dashboard()
    uid = re.search(r"^\s*uid: (\S+)\s*$", DATASOURCE.read_text(encoding="utf-8"), re.M)
    assert uid is not None
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": uid.group(1)}
            assert target["expr"].strip()
    provider = PROVIDER.read_text(encoding="utf-8")
    assert "type: file" in provider and "apiVersion: 1" in provider
