"""The Grafana boards and the Prometheus rules ask only for what the router exports.

Every ``expr`` of every board of ``deploy/grafana/dashboards`` and of the rule files is
parsed for metric names; each must be a series of a real scrape of a router's
``/metrics`` (so this test cannot drift from the code), or for a rule a recording rule
of ``deploy/prometheus/rules``. The boards' queries must also be valid PromQL (checked
by promtool), each series they read must be chosen by the board's ``$job`` and
``$instance`` variables (an active/standby pair is two scrape targets), and a board
must import as Grafana's "Export for sharing externally" files do (``__inputs``, no
data source uid of one Grafana written in it)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.metricsroom import full_scrape
from tests.support.paths import REPO
from tests.support.promtool import recording_rule_names, rule_exprs, run_promtool

GRAFANA = REPO / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DASHBOARD = GRAFANA / "dashboards" / "acd-supervisor.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDER = GRAFANA / "provisioning" / "dashboards" / "acd.yml"

#: PromQL words that look like identifiers and are not metrics
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "offset", "bool", "inf", "nan", "start", "end"}
#: Grafana's own variables, replaced by durations when the query is checked by promtool
_GRAFANA_VARIABLES = {"$__range": "1d", "$__rate_interval": "1m", "$__interval": "1m"}
#: the boards' own variables, replaced by a regex matching any value for promtool
_BOARD_VARIABLES = {"$job": ".+", "$instance": ".+"}
#: the label matchers every series a board reads must carry
SCOPE = ('job=~"$job"', 'instance=~"$instance"')
#: the data source of every panel and query: the board's ``datasource`` variable
DATA_SOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: ``by (...)``, ``on (...)`` and the like: lists of label names, never series
_LABEL_LISTS = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not function
    calls, keywords, label names (in ``by (...)``, ``on (...)``, matchers) or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\$\{?\w+\}?", "", text)                  # Grafana variables
    text = re.sub(r"\[[^\]]*\]", "", text)                   # ranges, subqueries
    text = re.sub(r"\{[^}]*\}", "{}", text)                  # label matchers
    text = re.sub(_LABEL_LISTS, " ", text)                    # label lists
    text = re.sub(r"\boffset\s+-?\w+", " ", text)             # offset 5m
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def selectors(expr: str, name: str) -> list[str]:
    """The label matchers (the text between braces, "" when none) of every place the
    expression reads the series ``name``."""
    text = re.sub(_LABEL_LISTS, " ", expr)
    pattern = rf"(?<![\w:]){re.escape(name)}\s*(?:\{{([^}}]*)\}})?(?![\w:])"
    return [match.group(1) or "" for match in re.finditer(pattern, text)]


def variable_query(query: str) -> str:
    """The PromQL of a Grafana Prometheus variable query: the series selector of
    ``label_values(selector, label)``, the expression of ``query_result(expr)``."""
    labels = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query)
    if labels:
        return labels.group(1)
    result = re.fullmatch(r"\s*query_result\((.*)\)\s*", query)
    assert result, f"unexpected variable query {query!r}"
    return result.group(1)


def dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # collapsed rows keep their panels
    return found


def dashboard_exprs(path: Path = DASHBOARD) -> list[str]:
    return [target["expr"] for panel in panels(dashboard(path))
            for target in panel.get("targets", [])]


def variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in board.get("templating", {}).get("list", [])}


def data_sources(node: Any) -> list[Any]:
    """Every ``datasource`` value anywhere in a board (panels, targets, variables)."""
    if isinstance(node, dict):
        found = [node["datasource"]] if "datasource" in node else []
        return found + [d for value in node.values() for d in data_sources(value)]
    if isinstance(node, list):
        return [d for value in node for d in data_sources(value)]
    return []


@pytest.fixture(scope="module")
def exported_names() -> set[str]:
    """Series the router exports (from a real scrape of its collectors)."""

    async def scrape() -> str:  # a Router needs a running loop
        return full_scrape()

    text = asyncio.run(scrape()) + store_scrape() + http_scrape() + records_scrape()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture(scope="module")
def known_names(exported_names: set[str]) -> set[str]:
    """Series the router exports and the recorded rules."""
    return exported_names | recording_rule_names()


def store_scrape() -> str:
    """What a router with ``[redis]`` adds (acd.store's metrics)."""
    from prometheus_client import CollectorRegistry, generate_latest

    from acd.store.metrics import StoreMetrics

    registry = CollectorRegistry()
    StoreMetrics(registry, lambda: 0).written([0.01])
    return generate_latest(registry).decode()


def records_scrape() -> str:
    """What a router with ``--records-out`` adds (the file metrics of acd.service.recordfile)."""
    import tempfile
    from collections.abc import Iterable

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.metrics_core import Metric

    from acd.service.recordfile import RecordsFile

    with tempfile.TemporaryDirectory() as folder:
        records = RecordsFile(f"{folder}/records.jsonl")

        class Records:
            def collect(self) -> Iterable[Metric]:
                return records.metrics()

        registry = CollectorRegistry()
        registry.register(Records())
        text = generate_latest(registry).decode()
        records.close()
    return text


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


def test_the_selector_reader() -> None:
    expr = ('sum(a_total{job=~"$job", x="1"}) / a_total + rate(a_total_bucket[5m])'
            ' and on (a_total) b{}')
    assert selectors(expr, "a_total") == ['job=~"$job", x="1"', ""]
    assert selectors(expr, "b") == [""]
    assert variable_query("label_values(acd_x{a=\"b\"}, job)") == 'acd_x{a="b"}'
    assert variable_query("query_result(sort_desc(acd_x))") == "sort_desc(acd_x)"


def test_there_are_boards() -> None:
    assert DASHBOARD in DASHBOARDS


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_dashboard_query_reads_only_what_the_router_exports(
        path: Path, exported_names: set[str]) -> None:
    """Raw series only: a recorded rule has lost the job and instance labels, so the
    board could not show one router of a pair with it."""
    exprs = dashboard_exprs(path)
    assert len(exprs) >= 20
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        unknown = names - exported_names
        assert not unknown, f"{expr!r} reads {sorted(unknown)}, not exported by the router"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_dashboard_query_is_scoped_by_job_and_instance(path: Path) -> None:
    for expr in dashboard_exprs(path):
        for name in metric_names(expr):
            for matchers in selectors(expr, name):
                missing = [m for m in SCOPE if m not in matchers]
                assert not missing, f"{name} in {expr!r} lacks {', '.join(missing)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_imports_like_an_export_for_sharing(path: Path,
                                                      exported_names: set[str]) -> None:
    """Grafana's import asks for each ``__inputs`` data source and writes its uid where
    ``${DS_PROMETHEUS}`` stands; file provisioning does no such thing, so every panel
    names the ``datasource`` variable, whose saved value is that placeholder (on import:
    the chosen data source; when provisioned: not found, so Grafana takes the default
    Prometheus, as both provisioning files make theirs)."""
    board = dashboard(path)
    text = path.read_text(encoding="utf-8")
    inputs = board["__inputs"]
    assert [(i["name"], i["type"], i["pluginId"]) for i in inputs] == [
        ("DS_PROMETHEUS", "datasource", "prometheus")]
    assert set(re.findall(r"\$\{(DS_\w+)\}", text)) == {"DS_PROMETHEUS"}
    assert {"type": "datasource", "id": "prometheus", "name": "Prometheus",
            "version": "1.0.0"} in board["__requires"]
    found = variables(board)
    source = found["datasource"]
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    assert source["current"]["value"] == "${DS_PROMETHEUS}"
    for name in ("job", "instance"):
        variable = found[name]
        assert variable["type"] == "query" and variable["datasource"] == DATA_SOURCE
        assert variable["refresh"] == 1  # asked again each time the board is opened
        unknown = metric_names(variable_query(variable["query"])) - exported_names
        assert not unknown, f"variable {name} reads {sorted(unknown)}"
    assert '$job' in found["instance"]["query"]
    sources = data_sources(board)
    assert sources and all(s == DATA_SOURCE for s in sources), \
        [s for s in sources if s != DATA_SOURCE]
    provisioned = yaml.safe_load(DATASOURCE.read_text(encoding="utf-8"))["datasources"][0]
    assert provisioned["uid"] not in text


def test_the_board_shows_which_router_leads_and_what_it_survived() -> None:
    read = {panel["title"]: {name for target in panel.get("targets", [])
                             for name in metric_names(target["expr"])}
            for panel in panels(dashboard())}
    assert read["Leadership"] == {"acd_leader"}
    assert read["Input errors by hour"] == {"acd_input_errors_total"}
    assert read["Task restarts by hour"] == {"acd_task_restarts_total"}


def test_every_rule_reads_only_what_the_router_exports(known_names: set[str]) -> None:
    for expr in rule_exprs():
        unknown = metric_names(expr) - known_names
        assert not unknown, f"{expr!r} reads {sorted(unknown)}, not exported by the router"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_are_valid_promql(path: Path, tmp_path: Path) -> None:
    rules = []
    queries = [variable_query(v["query"]) for v in variables(dashboard(path)).values()
               if v["type"] == "query"]
    for n, expr in enumerate(dashboard_exprs(path) + queries):
        for variable, value in {**_GRAFANA_VARIABLES, **_BOARD_VARIABLES}.items():
            expr = expr.replace(variable, value)
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
                 "acd_calls_abandoned_total", "acd_overflow_total", "acd_transfers_total",
                 "acd_ami_connected", "acd_event_loop_lag_seconds",
                 "acd_routing_decision_seconds_bucket", "acd_leader", "acd_input_errors_total",
                 "acd_task_restarts_total"):
        assert name in everything, f"the board does not show {name}"


def test_dashboard_layout_and_data_source() -> None:
    board = dashboard()
    provisioned = yaml.safe_load(DATASOURCE.read_text(encoding="utf-8"))["datasources"]
    # the one Prometheus, the default: what the board's datasource variable falls back to
    assert [(d["type"], d["isDefault"]) for d in provisioned] == [("prometheus", True)]
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == DATA_SOURCE
            assert target["expr"].strip()
    provider = PROVIDER.read_text(encoding="utf-8")
    assert "type: file" in provider and "apiVersion: 1" in provider
