"""``acd run`` as a child process: a minimal site for it and a reader of its JSON log."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.support.sites import local_agents, site_toml

SECRET = "s3cret-for-tests"

def run_config(port: int) -> str:
    """A small site for ``acd run``: AMI at ``127.0.0.1:port``, HTTP on a free port."""
    return site_toml(
        "SAS lab", departement="21",
        sections={"ami": {"host": "127.0.0.1", "port": port, "keepalive_s": 1,
                          "keepalive_timeout_s": 1, "reconnect_initial_s": 0.1,
                          "reconnect_max_s": 0.5},
                  "http": {"bind": "127.0.0.1", "port": 0}},
        agents=local_agents("1001")).decode()


async def start_router(config: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd.cli", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)


async def read_log_until(process: asyncio.subprocess.Process, event: str,
                         lines: list[dict[str, object]]) -> dict[str, object]:
    assert process.stdout is not None
    async with asyncio.timeout(10):
        while True:
            raw = await process.stdout.readline()
            assert raw, f"router exited before logging {event}: {lines}"
            line: dict[str, object] = json.loads(raw)
            lines.append(line)
            if line["event"] == event:
                return line
