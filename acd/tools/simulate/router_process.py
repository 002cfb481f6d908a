"""One ``acd run`` started as a subprocess, killed and started again on demand.

Used by ``acd simulate --chaos`` (:mod:`acd.tools.simulate.chaos_run`) and the chaos tests: the
process's JSON log lines are read and kept (with the life they belong to and when
they came), its call records go to a file (``--records-out``), its stderr to another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from acd.config import Config
from acd.core.records import CallRecord
from acd.tools.tomlwrite import dumps

#: a router process must log what is awaited within this many real seconds
ROUTER_START_TIMEOUT_S = 30.0


class RouterProcess:
    """One ``acd run`` of the run, started (again) on demand; its log is kept."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str], speed: float) -> None:
        self.name = name
        self.workdir = workdir
        self.env = env
        self.speed = speed
        self.records_path = workdir / f"{name}.records.jsonl"
        self.config_path = workdir / f"{name}.toml"
        self.process: asyncio.subprocess.Process | None = None
        #: every JSON log line of every life of this router
        self.lines: list[dict[str, Any]] = []
        self.starts = 0
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, config: Config) -> None:
        self.config_path.write_text(dumps(msgspec.to_builtins(config)), encoding="utf-8")
        stderr = (self.workdir / f"{self.name}.stderr").open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "acd.cli", "run", "--config", str(self.config_path),
                "--speed", f"{self.speed:g}", "--records-out", str(self.records_path),
                stdout=asyncio.subprocess.PIPE, stderr=stderr, env=self.env,
                limit=1 << 20)  # log lines are short; a long one must not stop the reader
        finally:
            stderr.close()
        self.starts += 1
        self._reader = asyncio.create_task(self._read(self.process, self.starts))

    async def _read(self, process: asyncio.subprocess.Process, life: int) -> None:
        assert process.stdout is not None
        while raw := await process.stdout.readline():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                line["_life"] = life
                line["_at"] = time.monotonic()
                self.lines.append(line)
                self._changed.set()

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first log line of this router's current life matching ``predicate``
        (RuntimeError if the router exits, TimeoutError after ROUTER_START_TIMEOUT_S)."""
        async with asyncio.timeout(ROUTER_START_TIMEOUT_S):
            while True:
                for line in self.lines:
                    if line["_life"] == self.starts and predicate(line):
                        return line
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited (status "
                                       f"{self.process.returncode if self.process else '?'}); "
                                       f"see {self.workdir / (self.name + '.stderr')}")
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.2)

    async def kill(self) -> None:
        """SIGKILL: no clean-up, no lock release, no last records."""
        if self.alive and self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> None:
        """SIGTERM and wait (the router stops within 5 s), SIGKILL otherwise."""
        if self.alive and self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader

    def records(self) -> list[CallRecord]:
        if not self.records_path.exists():
            return []
        decoder = msgspec.json.Decoder(CallRecord)
        out = []
        for raw in self.records_path.read_bytes().splitlines():
            with contextlib.suppress(msgspec.DecodeError):  # a line cut by SIGKILL
                out.append(decoder.decode(raw))
        return out
