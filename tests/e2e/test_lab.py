"""The lab stack: compose.yaml's structure (no container engine runs here), and the
same stack by hand (deploy/lab/run-by-hand: redis-server, acd sim, acd run, Debian's
prometheus) with Prometheus evaluating our recording rules against the live router."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from acd.cli import build_parser
from acd.config.load import load_config
from tests.support.paths import REPO
from tests.support.redisproc import answers, free_port

LAB = REPO / "deploy" / "lab"
COMPOSE = LAB / "compose.yaml"
RULES = REPO / "deploy" / "prometheus" / "rules"
SECRET = "lab-secret-for-the-by-hand-test"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def host_path(spec: str) -> Path:
    return (LAB / spec.split(":", 1)[0]).resolve()


def test_compose_has_the_whole_stack() -> None:
    services = compose()["services"]
    assert set(services) == {"redis", "sim", "acd", "prometheus", "grafana"}
    assert services["acd"]["depends_on"] == ["sim", "redis"]
    ports = {name: s.get("ports", []) for name, s in services.items()}
    assert ports["acd"] == ["127.0.0.1:8080:8080"]
    assert ports["prometheus"] == ["127.0.0.1:9090:9090"]
    assert ports["grafana"] == ["127.0.0.1:3000:3000"]
    for published in (p for published_ports in ports.values() for p in published_ports):
        assert published.startswith("127.0.0.1:"), "the lab listens on loopback only"


def test_compose_mounts_files_of_this_repository() -> None:
    data = compose()
    for name, service in data["services"].items():
        for volume in service.get("volumes", []):
            assert host_path(volume).exists(), f"{name}: {volume}: no such file in the repo"
    mounts = {v.split(":")[1]: host_path(v) for v in data["services"]["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/rules"] == RULES.resolve()
    grafana = {v.split(":")[1]: host_path(v) for v in data["services"]["grafana"]["volumes"]}
    assert grafana["/var/lib/grafana/dashboards/acd"] == (REPO / "deploy/grafana/dashboards")
    provider = yaml.safe_load(grafana["/etc/grafana/provisioning/dashboards/acd.yml"]
                              .read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/acd"
    build = data["services"]["sim"]["build"]
    assert (LAB / build["context"] / build["dockerfile"]).is_file()
    assert (LAB / build["context"] / "pyproject.toml").is_file()


def test_compose_datasource_is_the_one_the_dashboards_use() -> None:
    """The board names no data source uid: its ``datasource`` variable (saved value
    ``${DS_PROMETHEUS}``, replaced only by an import) falls back to the default
    Prometheus, which both provisioning files make theirs."""
    lab = yaml.safe_load((LAB / "grafana-datasource.yml").read_text())["datasources"]
    shipped = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml")
                             .read_text())["datasources"]
    for sources in (lab, shipped):
        assert [(s["type"], s["isDefault"]) for s in sources] == [("prometheus", True)]
    assert lab[0]["uid"] == shipped[0]["uid"]
    assert lab[0]["url"] == "http://prometheus:9090"
    board = json.loads((REPO / "deploy/grafana/dashboards/acd-supervisor.json").read_text())
    source = next(v for v in board["templating"]["list"] if v["name"] == "datasource")
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    assert source["current"]["value"] == "${DS_PROMETHEUS}"
    assert lab[0]["uid"] not in json.dumps(board)


def test_compose_commands_are_real_acd_commands_and_the_config_is_valid() -> None:
    data = compose()
    parser = build_parser()
    config_path = "/etc/acd/acd.toml"
    for name in ("sim", "acd"):
        service = data["services"][name]
        args = parser.parse_args(service["command"])  # SystemExit on an unknown flag
        assert args.config == config_path
        assert f"./acd.toml:{config_path}:ro" in service["volumes"]
        assert service["environment"]["CREDENTIALS_DIRECTORY"] == "/run/secrets"
        assert service["secrets"] == ["ami-secret"]  # read as credential ami-secret
    sim = parser.parse_args(data["services"]["sim"]["command"])
    assert sim.host == "0.0.0.0" and sim.port == 5038 and sim.calls_per_hour > 0
    config = load_config(LAB / "acd.toml")
    assert (config.ami.host, config.ami.port) == ("sim", sim.port)
    assert config.redis is not None and config.redis.url == "redis://redis:6379/0"
    assert (config.http.bind, config.http.port) == ("0.0.0.0", 8080)
    prometheus = yaml.safe_load((LAB / "prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["acd:8080"]
    assert prometheus["rule_files"] == ["/etc/prometheus/rules/acd.rules.yml",
                                        "/etc/prometheus/rules/acd.alerts.yml"]
    assert data["secrets"]["ami-secret"]["file"] == "./ami-secret"
    assert "/deploy/lab/ami-secret" in (REPO / ".gitignore").read_text().splitlines()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)


def _query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    body = _get(url)
    assert body["status"] == "success"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _first_recording_rule() -> str:
    for line in (RULES / "acd.rules.yml").read_text().splitlines():
        if line.strip().startswith("- record: "):
            return line.split(": ", 1)[1].strip()
    raise AssertionError("no recording rule")


@pytest.mark.slow
def test_by_hand_stack_prometheus_evaluates_our_rules_against_a_live_router(
        tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None or shutil.which("redis-server") is None:
        pytest.fail("prometheus and redis-server are needed: apt-get install prometheus "
                    "redis-server, as .ci/run does", pytrace=False)
    ports = {name: free_port() for name in ("REDIS", "AMI", "HTTP", "PROMETHEUS")}
    env = {**os.environ, "ACD": str(REPO / ".venv" / "bin" / "acd"),
           "ACD_LAB_DIR": str(tmp_path), "ACD_LAB_INTERVAL": "1s",
           "ACD_AMI_SECRET": SECRET,
           "ACD_LAB_SPEED": "30", "ACD_LAB_CALLS_PER_HOUR": "150",
           **{f"ACD_LAB_{name}_PORT": str(port) for name, port in ports.items()}}
    lab = subprocess.Popen([str(LAB / "run-by-hand")], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    prom = ports["PROMETHEUS"]
    rule = _first_recording_rule()
    try:
        assert lab.stdout is not None
        ready = lab.stdout.readline()
        while ready and not ready.startswith("lab ready"):
            ready = lab.stdout.readline()
        assert ready.startswith("lab ready"), lab.stderr.read() if lab.stderr else ""
        assert answers("127.0.0.1", ports["REDIS"])
        deadline = time.monotonic() + 30
        samples: list[dict[str, Any]] = []
        while not samples and time.monotonic() < deadline:
            time.sleep(0.5)
            samples = _query(prom, rule)
        assert samples, f"no sample of {rule}; logs in {tmp_path}"
        assert {s["metric"]["queue"] for s in samples} >= {"ARM_N1"}
        assert 0.0 <= float(samples[0]["value"][1]) <= 1.0
        up = _query(prom, 'acd_ami_connected{job="acd"}')
        assert [s["value"][1] for s in up] == ["1"]
        groups = _get(f"http://127.0.0.1:{prom}/api/v1/rules")["data"]["groups"]
        by_name = {r["name"]: r for g in groups for r in g["rules"]}
        assert by_name[rule]["health"] == "ok" and by_name[rule]["type"] == "recording"
        shipped = [line.split(": ", 1)[1].strip() for line in
                   (RULES / "acd.rules.yml").read_text().splitlines()
                   if line.strip().startswith("- record: ")]
        assert set(shipped) <= set(by_name)  # every recording rule loaded
        assert all(by_name[name]["health"] == "ok" for name in shipped
                   if by_name[name]["lastEvaluation"] > "0001")
        assert "AcdRouterAbsent" in by_name and by_name["AcdRouterAbsent"]["health"] == "ok"
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        out, err = lab.communicate(timeout=20)
    logs = (tmp_path / "acd.log").read_text()
    assert '"event": "router_stopped"' in logs
    assert '"event": "call_answered"' in logs
    assert SECRET not in logs + (tmp_path / "sim.log").read_text() + out + err


def test_image_copies_only_what_exists_and_is_not_ignored() -> None:
    dockerfile = (LAB / "Dockerfile").read_text().splitlines()
    copied = [word for line in dockerfile if line.startswith("COPY ")
              for word in line.split()[1:-1]]
    assert copied == ["pyproject.toml", "README.md", "acd"]
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert "*" in ignore  # everything else stays out (.venv, .git)
    for name in copied:
        assert (REPO / name).exists() and (f"!{name}" in ignore or f"!{name}/" in ignore)


def test_compose_prometheus_config_is_valid_for_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: apt-get install prometheus", pytrace=False)
    config = (LAB / "prometheus.yml").read_text().replace("/etc/prometheus/rules",
                                                          str(RULES))
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
