"""The systemd units of deploy/systemd: ``systemd-analyze verify`` and ``security`` (from
Debian's ``systemd`` package, which ``.ci/run`` installs; without it these tests fail,
they are never skipped), and every command, flag, credential and path they name exists
in the package and in the install doc."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from acd.cli import build_parser
from acd.config.secrets import AMI_SECRET_CREDENTIAL, REDIS_PASSWORD_CREDENTIAL
from acd.http.tokens import TOKENS_CREDENTIAL
from tests.support.paths import REPO

UNITS = REPO / "deploy" / "systemd"
MAIN = UNITS / "acd.service"
TEMPLATE = UNITS / "acd@.service"
INSTALL_DOC = REPO / "docs" / "install.md"
PREFIX = "/opt/acd/current"
VENV = REPO / ".venv"


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze not found: install Debian's systemd package "
                    "(apt-get install systemd), as .ci/run does", pytrace=False)
    return path


def directives(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of every directive, in order (keys may repeat)."""
    section, found = "", []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def values(path: Path, key: str) -> list[str]:
    return [v for _s, k, v in directives(path) if k == key]


def credentials(unit: Path) -> dict[str, str]:
    """``LoadCredential=ID:PATH`` lines of ``unit``: {ID: PATH}."""
    return dict(v.split(":", 1) for v in values(unit, "LoadCredential"))


def credentials_named_in_the_install_doc() -> set[str]:
    """Every credential docs/install.md names: "credential `NAME`" and
    "LoadCredential=NAME:"."""
    doc = INSTALL_DOC.read_text(encoding="utf-8")
    return (set(re.findall(r"credential `([a-z0-9-]+)`", doc))
            | set(re.findall(r"LoadCredential=([a-z0-9-]+):", doc)))


def localised(unit: Path, into: Path, etc: Path) -> Path:
    """A copy of ``unit`` whose paths point into this checkout's virtualenv and a
    temporary /etc/acd, so that verify finds every executable and file."""
    text = unit.read_text(encoding="utf-8")
    text = text.replace(PREFIX, str(VENV)).replace("/etc/acd/", f"{etc}/")
    copy = into / unit.name
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.fixture
def unit_root(tmp_path: Path) -> Path:
    etc = tmp_path / "etc-acd"
    etc.mkdir()
    for name in ("acd.toml", "standby.toml"):
        shutil.copy(REPO / "config" / "lab.toml", etc / name)
    for path in credentials(MAIN).values():  # each must exist, as install.sh makes them
        (etc / Path(path).name).write_text("")
    units = tmp_path / "units"
    units.mkdir()
    localised(MAIN, units, etc)
    localised(TEMPLATE, units, etc)
    (units / "acd@standby.service").symlink_to("acd@.service")
    return units


def test_units_pass_systemd_analyze_verify(unit_root: Path) -> None:
    assert (VENV / "bin" / "acd").is_file(), "run make install first"
    done = subprocess.run([systemd_analyze(), "verify", "--man=no", "acd.service",
                           "acd@standby.service"], cwd=unit_root, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_verify_catches_a_missing_executable(tmp_path: Path) -> None:
    """The check above means something: the same unit with a wrong path fails."""
    unit = tmp_path / "acd.service"
    unit.write_text(MAIN.read_text().replace(PREFIX, str(tmp_path / "nowhere")))
    done = subprocess.run([systemd_analyze(), "verify", "--man=no", "acd.service"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0 and "is not executable" in done.stderr


@pytest.mark.parametrize("unit", ["acd.service", "acd@standby.service"])
def test_sandbox_exposure_is_low(unit_root: Path, unit: str) -> None:
    """``systemd-analyze security`` scores exposure 0 (locked) to 10 (unprotected);
    --threshold=20 fails above 2.0."""
    done = subprocess.run([systemd_analyze(), "security", "--offline=yes", "--no-pager",
                           "--threshold=20", unit], cwd=unit_root, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout[-800:] + done.stderr


@pytest.mark.parametrize("unit", [MAIN, TEMPLATE])
def test_commands_are_real_acd_subcommands_and_flags(unit: Path) -> None:
    parser = build_parser()
    commands = values(unit, "ExecStartPre") + values(unit, "ExecStart")
    assert len(commands) == 2
    for command in commands:
        program, *argv = command.replace("%i", "standby").split()
        assert program == f"{PREFIX}/bin/acd"
        args = parser.parse_args(argv)  # SystemExit on an unknown command or flag
        assert args.command in ("check-config", "run")
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["acd"] == "acd.cli:main"  # what makes <venv>/bin/acd


@pytest.mark.parametrize("unit", [MAIN, TEMPLATE])
def test_credentials_are_the_ones_acd_reads(unit: Path) -> None:
    assert credentials(unit) == {AMI_SECRET_CREDENTIAL: "/etc/acd/ami-secret",
                                 TOKENS_CREDENTIAL: "/etc/acd/api-tokens",
                                 REDIS_PASSWORD_CREDENTIAL: "/etc/acd/redis-password"}


@pytest.mark.parametrize("unit", [MAIN, TEMPLATE])
def test_every_credential_the_install_doc_names_is_loaded(unit: Path) -> None:
    """A secret the doc tells the admin to write reaches the service: its unit line is
    in both units, and the doc shows that line and the file it reads."""
    named = credentials_named_in_the_install_doc()
    assert {AMI_SECRET_CREDENTIAL, TOKENS_CREDENTIAL, REDIS_PASSWORD_CREDENTIAL} <= named
    loaded = credentials(unit)
    assert named == set(loaded), f"{unit.name} loads {sorted(loaded)}, the doc names " \
                                 f"{sorted(named)}"
    doc = INSTALL_DOC.read_text(encoding="utf-8")
    for name, path in loaded.items():
        assert f"LoadCredential={name}:{path}" in doc, name


def test_paths_match_the_install_doc() -> None:
    """(deploy/install.sh is run by tests/e2e/test_install.py, which checks that every path
    the installed units name exists after an install.)"""
    doc = INSTALL_DOC.read_text(encoding="utf-8")
    paths = {"/etc/acd/acd.toml", "/etc/acd/ami-secret", "/etc/acd/api-tokens",
             "/etc/acd/redis-password",
             "/opt/acd/current", "/opt/acd/releases", "/etc/systemd/system"}
    for path in paths:
        assert path in doc, f"docs/install.md does not mention {path}"
    for command in values(MAIN, "ExecStart") + values(MAIN, "ExecStartPre"):
        assert command in doc, f"docs/install.md does not show {command}"


def test_readiness_watchdog_restart_and_sandbox_settings() -> None:
    settings = {k: v for _s, k, v in directives(MAIN)}
    assert settings["Type"] == "notify" and settings["Restart"] == "on-failure"
    assert settings["WatchdogSec"] and settings["DynamicUser"] == "yes"
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                       ("CapabilityBoundingSet", ""), ("MemoryDenyWriteExecute", "yes"),
                       ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX")]:
        assert settings[key] == value, key
    assert "ReadWritePaths" not in settings  # acd writes nothing to disk


def test_the_template_is_the_main_unit_with_its_instance_config() -> None:
    def service(path: Path) -> list[tuple[str, str]]:
        return [(k, v) for s, k, v in directives(path) if s in ("Service", "Install")]

    main = [(k, v.replace("acd.toml", "%i.toml")) for k, v in service(MAIN)]
    expected = [(k, "acd@%i" if k == "SyslogIdentifier" else v) for k, v in main]
    assert service(TEMPLATE) == expected


def test_the_descriptor_limit_leaves_room_for_the_http_connection_cap() -> None:
    """``LimitNOFILE=`` above ``[http] max_connections`` by a margin for the AMI and
    Redis links, journald and Python itself: the cap is reached before the process
    runs out of descriptors (which would make /healthz unreachable)."""
    from acd.config import HttpConfig

    for unit in (MAIN, TEMPLATE):
        (limit,) = values(unit, "LimitNOFILE")
        assert int(limit) >= HttpConfig().max_connections + 256, unit.name
