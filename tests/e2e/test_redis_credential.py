"""The Redis password on the path the systemd units give it (docs/install.md, "Secrets"):
root's files in /etc/acd, copied by the units' ``LoadCredential=`` lines into
``$CREDENTIALS_DIRECTORY``, read there by ``acd run`` and used against a real
``redis-server --requirepass``; never in a log line nor in ``acd check-config``'s output.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import redis

from tests.support.acdrun import read_log_until
from tests.support.paths import REPO
from tests.support.redisproc import RedisProcess, free_port
from tests.support.sites import local_agents, site_toml

PASSWORD = "redis-password-from-a-credential-5c1e"
AMI_SECRET = "ami-secret-from-a-credential"
UNIT = REPO / "deploy" / "systemd" / "acd.service"
#: what an environment may carry that would bypass the credentials
BYPASSES = ("ACD_AMI_SECRET", "ACD_REDIS_PASSWORD", "ACD_API_TOKENS_FILE",
            "CREDENTIALS_DIRECTORY")


@pytest.fixture
def locked_redis() -> Iterator[RedisProcess]:
    """A Redis of this test's own that refuses every command without PASSWORD."""
    server = RedisProcess(password=PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.close()


def load_credentials(etc: Path, into: Path) -> Path:
    """What systemd does at the unit's start: each ``LoadCredential=ID:/etc/acd/NAME``
    of deploy/systemd/acd.service copies ``etc/NAME`` to ``into/ID``."""
    into.mkdir()
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key == "LoadCredential":
            name, path = value.split(":", 1)
            shutil.copyfile(etc / Path(path).name, into / name)
    return into


def installed_etc(tmp_path: Path, redis_password: str) -> Path:
    """/etc/acd as install.sh leaves it, then root writes the Redis password (with the
    newline a shell adds)."""
    etc = tmp_path / "etc-acd"
    etc.mkdir()
    (etc / "ami-secret").write_text(AMI_SECRET)
    (etc / "api-tokens").write_text("")
    (etc / "redis-password").write_text(f"{redis_password}\n" if redis_password else "")
    return etc


def site(tmp_path: Path, redis_url: str) -> Path:
    """A site with [redis] and no secret key: everything comes from the credentials.
    No Asterisk answers its AMI port: the store starts before the AMI session."""
    config = tmp_path / "site.toml"
    config.write_bytes(site_toml(
        "SAS credentials",
        sections={"ami": {"port": free_port(), "reconnect_initial_s": 0.1,
                          "reconnect_max_s": 0.3},
                  "http": {"bind": "127.0.0.1", "port": 0},
                  "redis": {"url": redis_url, "restore_timeout_s": 0.5}},
        agents=local_agents("1001")))
    return config


def unit_environment(credentials: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in BYPASSES}
    return {**base, "CREDENTIALS_DIRECTORY": str(credentials)}


async def store_health(port: int, *, until_written: bool) -> dict[str, object]:
    """The ``store`` part of /healthz (503 without AMI, still a body); ``until_written``:
    once the writer has written (``redis_up`` is unknown, false, before)."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(5):
        while True:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                store = (await response.json())["store"]
            assert isinstance(store, dict)
            if store["redis_up"] or not until_written:
                return store
            await asyncio.sleep(0.05)


async def run_until_started(config: Path, env: dict[str, str], *, until_written: bool,
                            ) -> tuple[list[dict[str, object]], dict[str, object], str]:
    """``acd run`` up to ``router_started``, its store's health, then SIGTERM: every log
    line, the health, and the whole output (stdout and stderr) as text."""
    router = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd.cli", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    lines: list[dict[str, object]] = []
    try:
        started = await read_log_until(router, "router_started", lines)
        port = int(str(started["http"]).rsplit(":", 1)[1])
        health = await store_health(port, until_written=until_written)
        router.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            out, err = await router.communicate()
    finally:
        if router.returncode is None:
            router.kill()
            await router.wait()
    lines += [json.loads(line) for line in out.decode().splitlines()]
    return lines, health, json.dumps(lines) + out.decode() + err.decode()


def event(lines: list[dict[str, object]], name: str) -> dict[str, object]:
    (found,) = [line for line in lines if line["event"] == name]
    return found


async def test_acd_run_reaches_a_password_redis_with_the_units_credential(
        tmp_path: Path, locked_redis: RedisProcess) -> None:
    etc = installed_etc(tmp_path, PASSWORD)
    credentials = load_credentials(etc, tmp_path / "credentials")
    config = site(tmp_path, locked_redis.url)
    lines, store, everything = await run_until_started(
        config, unit_environment(credentials), until_written=True)
    started = event(lines, "store_started")
    assert started["password_from"] == "credential redis-password"
    assert started["restore"] == "empty"  # read the (empty) saved state: authenticated
    assert store["redis_up"] is True
    assert "state_restore_failed" not in [line["event"] for line in lines]
    # the router wrote its state with the password: the keys are there
    client = redis.Redis(port=locked_redis.port, password=PASSWORD)
    try:
        assert client.keys(f"acd:{{{started['namespace']}}}:*")
    finally:
        client.close()
    assert PASSWORD not in everything and AMI_SECRET not in everything


@pytest.mark.parametrize(("written", "source"), [
    ("", "none"),  # the empty file install.sh leaves: no password sent
    ("not-the-password", "credential redis-password"),
])
async def test_without_the_right_password_redis_refuses_acd(
        tmp_path: Path, locked_redis: RedisProcess, written: str, source: str) -> None:
    """The other side of the test above: the same run, another credential, and Redis
    refuses it (the router starts without its saved state, as with Redis down)."""
    credentials = load_credentials(installed_etc(tmp_path, written),
                                   tmp_path / "credentials")
    config = site(tmp_path, locked_redis.url)
    lines, store, everything = await run_until_started(
        config, unit_environment(credentials), until_written=False)
    assert event(lines, "store_started")["password_from"] == source
    failed = event(lines, "state_restore_failed")
    assert str(failed["error"]).startswith("AuthenticationError")
    assert (store["restore"], store["redis_up"]) == ("failed", False)
    assert PASSWORD not in everything
    assert not written or written not in everything


def test_check_config_as_the_unit_runs_it_prints_no_secret(tmp_path: Path) -> None:
    """``ExecStartPre=`` runs ``acd check-config`` with the credentials directory set;
    by hand, ``redis.password_file`` names the file. Neither prints the password."""
    etc = installed_etc(tmp_path, PASSWORD)
    credentials = load_credentials(etc, tmp_path / "credentials")
    config = site(tmp_path, "redis://127.0.0.1:6379/0")
    by_hand = tmp_path / "by-hand.toml"
    by_hand.write_text(config.read_text().replace(
        "[redis]\n", f'[redis]\npassword_file = "{etc / "redis-password"}"\n'))
    for path in (config, by_hand):
        done = subprocess.run(
            [sys.executable, "-m", "acd.cli", "check-config", str(path)],
            env=unit_environment(credentials), capture_output=True, text=True,
            timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        assert f"{path}: ok" in done.stdout
        assert PASSWORD not in done.stdout + done.stderr
