"""``acd run`` as a child process: a minimal site for it and a reader of its JSON log."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

SECRET = "s3cret-for-tests"

CONFIG = """
[site]
name = "SAS lab"
departement = "21"

[ami]
host = "127.0.0.1"
port = {port}
keepalive_s = 1
keepalive_timeout_s = 1
reconnect_initial_s = 0.1
reconnect_max_s = 0.5

[http]
bind = "127.0.0.1"
port = 0

[[agents]]
id = "1001"
device = "Local/1001@agents"
skills = {{ ARM_N1 = 1 }}
logged_in = true
"""


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
