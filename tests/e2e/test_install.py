"""deploy/install.sh in a temporary root: a wheel of this checkout becomes a release
under /opt/acd/releases, current switches to it only if it accepts /etc/acd/acd.toml,
secrets are made once and never overwritten, a second run changes nothing, and an
upgrade can be rolled back.

The wheel is installed without its dependencies (no network in the tests): the
scripts run with PYTHONPATH on this checkout's virtualenv, which provides them."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.paths import REPO

INSTALL = REPO / "deploy" / "install.sh"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the sources (a build writes beside them)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "acd", src / "acd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(src)],
                   check=True, timeout=120, capture_output=True)
    (built,) = out.glob("acd-*.whl")
    return built


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACD_PIP_OPTS": "--no-deps --no-index",
           "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    return subprocess.run([str(INSTALL), "--root", str(root), *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def tree(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every file and link under root (but the virtualenvs' contents): mode and
    content or target."""
    found: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if "/releases/" in rel and rel.count("/") > 3:
            continue
        info = path.lstat()
        if path.is_symlink():
            found[rel] = (info.st_mode, os.readlink(path))
        elif path.is_file():
            found[rel] = (stat.S_IMODE(info.st_mode), path.read_bytes())
    return found


def unit_paths(unit: Path) -> set[str]:
    """Absolute paths a unit's commands and credentials name (%i as "acd")."""
    found = set()
    for line in unit.read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("ExecStartPre", "ExecStart", "LoadCredential"):
            for word in value.replace("%i", "acd").replace(":", " ").split():
                if word.startswith("/"):
                    found.add(word)
    return found


@pytest.mark.slow
def test_install_upgrade_refused_upgrade_and_rollback(tmp_path: Path, wheel: Path) -> None:
    root = tmp_path / "root"
    (root / "etc" / "asterisk").mkdir(parents=True)
    first = install(root, str(wheel))
    assert first.returncode == 0, first.stderr
    version = wheel.name.split("-")[1]
    opt = root / "opt" / "acd"
    assert os.readlink(opt / "current") == f"releases/{version}"
    acd = opt / "current" / "bin" / "acd"
    assert acd.is_file()
    etc = root / "etc" / "acd"
    secret = (etc / "ami-secret").read_text()
    assert len(secret) == 48
    assert stat.S_IMODE((etc / "ami-secret").stat().st_mode) == 0o600
    assert (etc / "api-tokens").read_text() == ""
    assert stat.S_IMODE((etc / "api-tokens").stat().st_mode) == 0o600
    assert (etc / "redis-password").read_text() == ""  # no password until the admin writes one
    assert stat.S_IMODE((etc / "redis-password").stat().st_mode) == 0o600
    assert (root / "etc/systemd/system/acd.service").read_bytes() == \
        (REPO / "deploy/systemd/acd.service").read_bytes()
    assert (root / "etc/systemd/system/acd@.service").is_file()
    assert (root / "etc/asterisk/acd/extensions_acd.conf").is_file()
    assert "write " + str(etc / "acd.toml") in first.stdout

    # The operator writes the config; then every path the units name exists.
    shutil.copy(etc / "acd.toml.example", etc / "acd.toml")
    for unit in ("acd.service", "acd@.service"):
        named = unit_paths(root / "etc/systemd/system" / unit)
        assert named >= {"/opt/acd/current/bin/acd", "/etc/acd/ami-secret",
                         "/etc/acd/api-tokens", "/etc/acd/redis-password"}
        for path in named:
            assert (root / path.lstrip("/")).exists(), f"{unit}: {path} not installed"

    # A second run changes nothing.
    before = tree(root)
    again = install(root, str(wheel))
    assert again.returncode == 0, again.stderr
    assert f"release {version} already installed" in again.stdout
    assert tree(root) == before

    # An upgrade (the same wheel named 9.9.9) becomes current...
    upgrade = install(root, "--version", "9.9.9", str(wheel))
    assert upgrade.returncode == 0, upgrade.stderr
    assert os.readlink(opt / "current") == "releases/9.9.9"
    assert (etc / "ami-secret").read_text() == secret  # never overwritten
    # ... and is rolled back.
    back = install(root, "--rollback", version)
    assert back.returncode == 0, back.stderr
    assert os.readlink(opt / "current") == f"releases/{version}"

    # A config the release refuses: current stays where it was, the problem is named.
    (etc / "acd.toml").write_text('[site]\nname = "x"\ndepartement = "59"\n'
                                  '[routing]\nring_timeout_s = -1\n')
    refused = install(root, "--rollback", "9.9.9")
    assert refused.returncode == 1
    assert "routing.ring_timeout_s" in refused.stderr
    assert "current unchanged" in refused.stderr
    assert os.readlink(opt / "current") == f"releases/{version}"
    missing = install(root, "--rollback", "0.0.0")
    assert missing.returncode == 1 and "no release 0.0.0" in missing.stderr
