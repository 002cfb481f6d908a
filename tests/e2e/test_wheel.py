"""The wheel as a user installs it: a fresh virtualenv with the wheel and the locked
runtime dependencies only (no extra), used from a directory that is not the checkout.

The dependencies come from uv.lock through uv's cache (``--offline``): the same
versions ``make install`` put there, no network in the test. (The whole path with pip
and the network, ``pip wheel .`` then ``pip install acd-*.whl`` in a new virtualenv,
is in docs/install.md.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.uvbin import uv


def run(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ of a fresh virtualenv holding the wheel of this checkout and the
    locked runtime dependencies, without any extra."""
    out = tmp_path_factory.mktemp("wheel")
    built = run(uv(), "build", "--wheel", "--quiet", "-o", str(out), str(REPO), cwd=out)
    assert built.returncode == 0, built.stderr
    (wheel,) = out.glob("acd-*.whl")
    venv = tmp_path_factory.mktemp("venv") / "acd"
    made = run(uv(), "venv", "--quiet", "--python", sys.executable, str(venv), cwd=out)
    assert made.returncode == 0, made.stderr
    # the locked runtime dependencies (no extra, not the project), then the wheel
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    synced = subprocess.run([uv(), "sync", "--quiet", "--frozen", "--offline",
                             "--no-install-project", "--project", str(REPO)],
                            cwd=out, env=env, capture_output=True, text=True, timeout=180,
                            check=False)
    assert synced.returncode == 0, synced.stderr
    added = run(uv(), "pip", "install", "--quiet", "--offline", "--no-deps", "--python",
                str(venv / "bin" / "python"), str(wheel), cwd=out)
    assert added.returncode == 0, added.stderr
    return venv / "bin"


@pytest.mark.slow
def test_the_wheel_carries_the_examples_and_finds_them_from_anywhere(
        installed: Path, tmp_path: Path) -> None:
    acd = str(installed / "acd")
    checked = run(acd, "check-config", "config/sas-small.toml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "config/sas-small.toml: ok" in checked.stdout
    simulated = run(acd, "simulate", "--scenario", "sas-small-saturday-116117",
                    "--speed", "2400", "--json", cwd=tmp_path)
    assert simulated.returncode == 0, simulated.stderr
    summary = json.loads(simulated.stdout.splitlines()[-1])["summary"]
    assert summary["calls_placed"] > 0
    assert summary["callers_hung_up_by_router"] == 0
    shipped = installed.parent / "lib" / "python3.11" / "site-packages" / "acd" / "shipped"
    assert (shipped / "dialplans" / "extensions_acd.conf").is_file()
    assert not list(tmp_path.iterdir())  # nothing written where it was run


@pytest.mark.slow
def test_the_demo_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    demo = run(str(installed / "acd"), "demo", "--speed", "2400", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "Summary — SAS 59" in demo.stdout
    assert "(config/sas-large.toml)" in demo.stdout


@pytest.mark.slow
def test_a_command_whose_extra_is_missing_names_it(installed: Path, tmp_path: Path) -> None:
    plan = run(str(installed / "acd"), "plan", "--scenario", "sas-large-winter-surge-day",
               "--target", "qs30>=0.90", cwd=tmp_path)
    assert plan.returncode == 2
    assert "pip install 'acd[plan]'" in plan.stderr
    assert "Traceback" not in plan.stderr
