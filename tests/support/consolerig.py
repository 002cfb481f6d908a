"""The console's room for the browser tests: ``acd sim`` (with its control port) and
``acd run`` as two processes, as a site runs them, with an API tokens file; calls
placed through the simulator's control port, API calls with a bearer token."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from acd.tools.simulate.redis_process import free_port
from tests.support.sites import partner, site_toml

SUPERVISOR = "console-supervisor-token-0123456789"
READER = "console-reader-token-0123456789"
AGENT_ARM02 = "console-agent-arm02-token-0123456789"
TOKENS = f"""
["{SUPERVISOR}"]
role = "supervisor"
name = "sup-lefebvre"

["{READER}"]
role = "reader"
name = "mur-de-salle"

["{AGENT_ARM02}"]
role = "agent"
name = "poste arm02"
agent = "arm02"
"""
AMI_SECRET = "console-rig-ami-secret"
#: the room: two ARM at N1, one ARM N2 AMU, one OSNP, one GP regulator, a partner SAS
AGENTS = (("arm01", "ARM_N1"), ("arm02", "ARM_N1"), ("amu01", "AMU_N2"),
          ("osnp01", "OSNP"), ("mg01", "MG"))


def rig_site(ami_port: int, http_port: int, tokens: Path) -> str:
    return site_toml(
        "SAS 21 console", departement="21",
        sections={"ami": {"host": "127.0.0.1", "port": ami_port, "keepalive_s": 1,
                          "keepalive_timeout_s": 1, "reconnect_initial_s": 0.1,
                          "reconnect_max_s": 0.5},
                  "http": {"bind": "127.0.0.1", "port": http_port},
                  "api": {"tokens_file": str(tokens)}},
        skills={"ARM_N1": {"wrap_up_s": 0, "expansion_s": [600]}},
        numbers={"15": "ARM_N1", "116117": "ARM_N1"},
        agents=[{"id": agent, "device": f"Local/{agent}@agents", "skills": {skill: 1},
                 "logged_in": True} for agent, skill in AGENTS],
        partners=[partner("sas89")]).decode()


@dataclass
class ConsoleRig:
    """A running simulator and router; :attr:`base` is the console's origin."""

    base: str
    control: str
    router: asyncio.subprocess.Process
    sim: asyncio.subprocess.Process
    http: aiohttp.ClientSession

    async def place_call(self, number: str = "15", **fields: Any) -> dict[str, Any]:
        """A caller dialling ``number``; returns once the dialplan announced it."""
        async with self.http.post(f"{self.control}/calls",
                                  json={"number": number, **fields}) as response:
            assert response.status == 201, await response.text()
            placed: dict[str, Any] = await response.json()
            return placed

    async def api(self, method: str, path: str, token: str,
                  body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.base}/api/v1/{path}", json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status, await response.json()

    async def stop_router(self) -> None:
        if self.router.returncode is None:
            self.router.send_signal(signal.SIGTERM)
            async with asyncio.timeout(10):
                await self.router.wait()


async def _healthy(http: aiohttp.ClientSession, url: str,
                   process: asyncio.subprocess.Process, within_s: float = 20.0) -> None:
    async with asyncio.timeout(within_s):
        while True:
            assert process.returncode is None, f"exited before {url} answered"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def console_rig(workdir: Path, *, talk_s: float = 600.0) -> AsyncIterator[ConsoleRig]:
    """The simulator and the router, up and resynchronised, for the block."""
    ami_port, http_port, control_port = free_port(), free_port(), free_port()
    tokens = workdir / "api-tokens.toml"
    tokens.write_text(TOKENS, encoding="utf-8")
    config = workdir / "site.toml"
    config.write_text(rig_site(ami_port, http_port, tokens), encoding="utf-8")
    env = {**os.environ, "ACD_AMI_SECRET": AMI_SECRET}
    acd = (sys.executable, "-m", "acd.cli")
    processes: list[asyncio.subprocess.Process] = []
    with (workdir / "sim.log").open("wb") as sim_log, \
            (workdir / "router.log").open("wb") as router_log:
        try:
            sim = await asyncio.create_subprocess_exec(
                *acd, "sim", "--config", str(config), "--port", str(ami_port),
                "--control-port", str(control_port), "--answer-after-s", "0.3",
                "--talk-s", str(talk_s), "--no-answer-rate", "0", env=env,
                stdout=sim_log, stderr=asyncio.subprocess.STDOUT)
            processes.append(sim)
            async with aiohttp.ClientSession() as http:
                control = f"http://127.0.0.1:{control_port}"
                await _healthy(http, f"{control}/healthz", sim)
                router = await asyncio.create_subprocess_exec(
                    *acd, "run", "--config", str(config), env=env, stdout=router_log,
                    stderr=asyncio.subprocess.STDOUT)
                processes.append(router)
                base = f"http://127.0.0.1:{http_port}"
                await _healthy(http, f"{base}/healthz", router)
                yield ConsoleRig(base, control, router, sim, http)
        finally:
            for process in reversed(processes):
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        async with asyncio.timeout(10):
                            await process.wait()
                    except TimeoutError:
                        process.kill()
                        await process.wait()
