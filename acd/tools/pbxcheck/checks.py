"""``acd check-pbx --config FILE``: before going live, is the site's Asterisk ready?

It logs in to AMI as the router does (``[ami]`` of the config, the router's secret)
and prints one line per check: ``ok``, ``warn`` (works, but not as the project ships
it: fix it when you can) or ``FIX`` (routing would break: the command exits 1). It
changes nothing on the PBX except one global variable of its own (``ACD_CHECK_PBX``,
set and read back to prove the router's ``Setvar``/``Getvar`` permission). Checks:

* the AMI login, Asterisk's version (``CoreSettings``; the project is recorded
  against 22), ``timestampevents`` (events carry ``Timestamp:``; only seen if Asterisk
  sends an event the user reads while the check runs);
* the AMI permissions the router needs, each proven by a harmless action: global
  ``Setvar`` and its ``Getvar`` (class call), ``Status`` (reporting), ``Redirect`` and
  ``Originate`` without a channel (answered "Channel not specified" when allowed,
  "Permission denied" when not), ``QueuePause`` of a phone that is no member (agent);
* every context and extension of ``dialplans/extensions_acd.conf`` with the names of
  ``[dialplan]`` and one ``[incoming]`` extension per ``[numbers]`` entry
  (``ShowDialPlan``; :mod:`acd.config.dialplan`);
* the globals of ``globals_acd.conf`` (``Getvar``), ``ACD_RING`` against ``[routing]
  ring_timeout_s``, and the router's heartbeat (its age; unset before any router ran);
* the fail-open queue (``QueueStatus``): it exists, its strategy, its members
  (dynamic, front-office phones of the config: any other member is a ``FIX``, the
  queue would ring it when the router is silent), and ``autofill`` (``GetConfig``,
  which the router's user may not read: then a ``warn`` says what to look at);
* the music-on-hold class ``ACD_MOH`` (``Command: moh show classes``; again a ``warn``
  when the router's user may not run it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from acd.ami.frames import AmiMessage
from acd.config import Config, is_front_office
from acd.config.dialplan import GLOBALS, QUEUE_REJECTED, QUEUE_SETTINGS, dialplan_extensions
from acd.errors import AmiError
from acd.tools.pbxcheck.session import CheckSession

Level = Literal["ok", "warn", "FIX"]
#: the Asterisk major version the project is recorded against
RECORDED_MAJOR = 22
#: the global variable check-pbx sets and reads back
CHECK_VAR = "ACD_CHECK_PBX"
DENIED = "Permission denied"


@dataclass(frozen=True)
class Finding:
    level: Level
    what: str
    detail: str

    def line(self) -> str:
        return f"{self.level:<4} {self.what}: {self.detail}"


def exit_status(findings: list[Finding]) -> int:
    """1 if anything would break routing."""
    return 1 if any(f.level == "FIX" for f in findings) else 0


class _Checker:
    def __init__(self, config: Config, ami: CheckSession) -> None:
        self.config = config
        self.ami = ami
        self.findings: list[Finding] = []

    def add(self, level: Level, what: str, detail: str) -> None:
        self.findings.append(Finding(level, what, detail))

    async def ask(self, action: str, *headers: tuple[str, str]) -> list[AmiMessage]:
        return await self.ami.request(action, *headers)

    # ---------------------------------------------------------------- Asterisk

    async def version(self) -> None:
        first = (await self.ask("CoreSettings"))[0]
        version = first.get("AsteriskVersion", "")
        if first.get("Response") != "Success" or not version:
            self.add("warn", "asterisk version", f"CoreSettings answered "
                     f"{first.get('Message', 'nothing')!r}: grant write = reporting")
            return
        major = re.match(r"(\d+)", version)
        if major and int(major.group(1)) == RECORDED_MAJOR:
            self.add("ok", "asterisk version", version)
        else:
            self.add("warn", "asterisk version", f"{version}: the project is recorded "
                     f"against Asterisk {RECORDED_MAJOR}; test your site's behaviour")

    def timestamps(self) -> None:
        seen = [e for e in self.ami.events if e.get("Event") != "FullyBooted"]
        if not seen:
            self.add("warn", "timestampevents", "no event came while checking, cannot "
                     "tell: manager.conf [general] must say timestampevents = yes")
        elif all("Timestamp" in e for e in seen):
            self.add("ok", "timestampevents", f"events carry Timestamp: ({len(seen)} seen)")
        else:
            self.add("warn", "timestampevents", "events come without Timestamp: set "
                     "timestampevents = yes in manager.conf [general] (the router then "
                     "runs on Asterisk's clock)")

    # ---------------------------------------------------------------- permissions

    async def permissions(self) -> None:
        stamp = str(int(time.time()))
        set_ = (await self.ask("Setvar", ("Variable", CHECK_VAR), ("Value", stamp)))[0]
        got = (await self.ask("Getvar", ("Variable", CHECK_VAR)))[0]
        if set_.get("Response") == "Success" and got.get("Value") == stamp:
            self.add("ok", "permission call", "global Setvar and Getvar work")
        else:
            self.add("FIX", "permission call", f"Setvar/Getvar refused "
                     f"({set_.get('Message') or got.get('Message')!r}): manager.conf user "
                     f"{self.config.ami.username} needs write = call")
        status = (await self.ask("Status", ("Channel", "acd-check-pbx/none")))[0]
        self._allowed("permission reporting", status, "Status", "reporting", fatal=True)
        for action, cls, fatal in (("Redirect", "call", True),
                                   ("Originate", "originate", False)):
            answer = (await self.ask(action))[0]
            self._allowed(f"permission {cls} ({action})", answer, action, cls, fatal=fatal)
        queue = self.config.dialplan.failopen_queue
        pause = (await self.ask("QueuePause", ("Queue", queue),
                                ("Interface", "Local/acd-check-pbx@invalid"),
                                ("Paused", "false")))[0]
        self._allowed("permission agent", pause, "QueuePause", "agent", fatal=False)

    def _allowed(self, what: str, answer: AmiMessage, action: str, cls: str, *,
                 fatal: bool) -> None:
        if answer.get("Message") == DENIED:
            self.add("FIX" if fatal else "warn", what, f"{action} refused: add {cls} to "
                     f"write = of manager.conf user {self.config.ami.username}")
        else:
            self.add("ok", what, f"{action} allowed")

    # ---------------------------------------------------------------- dialplan

    async def dialplan(self) -> None:
        plan = dialplan_extensions(self.config.dialplan, self.config.numbers)
        for context, wanted in plan.items():
            answer = await self.ask("ShowDialPlan", ("Context", context))
            if answer[0].get("Response") != "Success":
                problem = answer[0].get("Message", "")
                if problem == DENIED:
                    self.add("FIX", f"context {context}", "ShowDialPlan refused: add "
                             "reporting to write = of the router's manager.conf user")
                else:
                    self.add("FIX", f"context {context}", f"missing ({problem}): "
                             "#include extensions_acd.conf, then dialplan reload")
                continue
            present = {m.get("Extension") for m in answer if m.get("Event") == "ListDialplan"}
            missing = [e for e in wanted if e not in present]
            if missing:
                self.add("FIX", f"context {context}", f"missing extension(s) "
                         f"{', '.join(missing)}: use extensions_acd.conf as shipped")
            else:
                self.add("ok", f"context {context}", ", ".join(wanted))

    async def globals(self) -> None:
        config = self.config
        values: dict[str, str] = {}
        for name in GLOBALS:
            answer = (await self.ask("Getvar", ("Variable", name)))[0]
            values[name] = answer.get("Value", "")
        for name, shipped in GLOBALS.items():
            value = values[name]
            if name == "ACD_FAILOPEN_S" and _number(value) <= 0:
                self.add("warn", f"global {name}", f"{value or 'empty'}: fail open is off")
            elif not value:
                self.add("FIX", f"global {name}", f"unset: #include globals_acd.conf inside "
                         f"[globals] (shipped value {shipped})")
            elif name == "ACD_FAILOPEN_QUEUE" and value != config.dialplan.failopen_queue:
                self.add("FIX", f"global {name}", f"{value!r} but [dialplan] "
                         f"failopen_queue is {config.dialplan.failopen_queue!r}")
            elif name == "ACD_RING" and config.routing.ring_timeout_s \
                    + config.routing.ring_grace_s <= _number(value):
                self.add("warn", f"global {name}", f"{value} s, but [routing] ring_timeout_s "
                         f"{config.routing.ring_timeout_s:g} (+ grace) ends offers first: "
                         "make them equal")
            else:
                self.add("ok", f"global {name}", value)
        heartbeat = config.dialplan.heartbeat_var
        beat = (await self.ask("Getvar", ("Variable", heartbeat)))[0].get("Value", "")
        if not beat:
            self.add("warn", f"global {heartbeat}", "unset: no router has connected yet, "
                     "callers fail open until one does (it must never be in [globals])")
        else:
            self.add("ok", f"global {heartbeat}",
                     f"{max(0, int(time.time() - _number(beat)))} s old")

    # ---------------------------------------------------------------- fail open

    async def queue(self) -> None:
        name = self.config.dialplan.failopen_queue
        answer = await self.ask("QueueStatus", ("Queue", name))
        params = [m for m in answer if m.get("Event") == "QueueParams"]
        if not params:
            self.add("FIX", f"queue {name}", "missing: #include queues_acd.conf from "
                     "queues.conf, then module reload app_queue.so")
            return
        strategy = params[0].get("Strategy", "")
        self.add("ok" if strategy == QUEUE_SETTINGS["strategy"] else "warn",
                 f"queue {name} strategy",
                 strategy if strategy == QUEUE_SETTINGS["strategy"]
                 else f"{strategy}: queues_acd.conf ships {QUEUE_SETTINGS['strategy']}")
        self._members(name, [m for m in answer if m.get("Event") == "QueueMember"])
        await self._queue_file(name)

    def _members(self, name: str, members: list[AmiMessage]) -> None:
        front = {a.device for a in self.config.agents if is_front_office(a.skills)}
        static = [m["Location"] for m in members if m.get("Membership") == "static"]
        foreign = [m["Location"] for m in members if m.get("Location") not in front]
        what = f"queue {name} members"
        if foreign:
            # recordings live t3-25 and t3-07c: such members held callers in unanswered
            # rings, or took them, while the router was silent
            self.add("FIX", what, f"{', '.join(foreign)} not a front-office phone of the "
                     "config (ARM_N1 level 1): the queue rings it when the router is "
                     f"silent; remove it (queue remove member <interface> from {name}, or "
                     "its member => line); the router removes a dynamic one when it "
                     "connects")
        elif static:
            self.add("warn", what, f"static member(s) {', '.join(static)}: remove the "
                     "member => lines, the router manages the members")
        elif not members:
            self.add("warn", what, "none yet: the router adds its logged-in front-office "
                     "agents when it starts")
        else:
            paused = sum(m.get("Paused") == "1" for m in members)
            self.add("ok", what, f"{len(members)} dynamic, {paused} paused")

    async def _queue_file(self, name: str) -> None:
        first = (await self.ask("GetConfig", ("Filename", "queues.conf"),
                                ("Category", name)))[0]
        if first.get("Response") != "Success":
            self.add("warn", f"queue {name} autofill", f"cannot read queues.conf "
                     f"({first.get('Message', '')}): check that queues_acd.conf is "
                     "included as shipped (autofill = yes)")
            return
        settings = dict(v.split("=", 1) for k, v in first.items()
                        if k.startswith("Line-") and "=" in v)
        autofill = settings.get("autofill", "no")
        if autofill == "yes":
            self.add("ok", f"queue {name} autofill", "yes")
        else:
            self.add("warn", f"queue {name} autofill", f"{autofill}: set autofill = yes, "
                     "or the queue serves one caller at a time")
        rejected = [k for k in QUEUE_REJECTED if k in settings]
        if rejected:
            self.add("warn", f"queue {name} keywords", f"{', '.join(rejected)}: Asterisk 22 "
                     "rejects them; use queues_acd.conf as shipped")

    async def music(self) -> None:
        answer = (await self.ask("Getvar", ("Variable", "ACD_MOH")))[0]
        moh = answer.get("Value", "") or "default"
        first = (await self.ask("Command", ("Command", "moh show classes")))[0]
        if first.get("Response") != "Success":
            self.add("warn", "music on hold", f"cannot list the classes "
                     f"({first.get('Message', '')}): check musiconhold.conf has [{moh}]")
            return
        classes = {line.split(":", 1)[1].strip() for line in first.get_all("Output")
                   if line.startswith("Class:")}
        if moh in classes:
            self.add("ok", "music on hold", f"class {moh}")
        else:
            self.add("FIX", "music on hold", f"class {moh!r} missing: [holding] would spin "
                     "(MusicOnHold returns at once)")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


async def check_pbx(config: Config, secret: str, *, timeout_s: float = 5.0,
                    events_wait_s: float = 2.0) -> list[Finding]:
    """Every check, in order; a failed login or connection is the only finding."""
    ami_config = config.ami
    try:
        async with CheckSession(ami_config.host, ami_config.port, timeout_s) as ami:
            login = await ami.login(ami_config.username, secret)
            if login.get("Response") != "Success":
                return [Finding("FIX", "ami login", f"{login.get('Message', '')}: user "
                                f"{ami_config.username} and the router's secret")]
            checker = _Checker(config, ami)
            checker.add("ok", "ami login", f"{ami_config.host}:{ami_config.port} as "
                        f"{ami_config.username} ({ami.banner or 'no banner'})")
            steps: list[Callable[[], Awaitable[None]]] = [
                checker.version, checker.permissions, checker.dialplan, checker.globals,
                checker.queue, checker.music]
            for step in steps:
                await step()
            await ami.wait_events(events_wait_s)
            checker.timestamps()
            return checker.findings
    except (AmiError, TimeoutError, OSError) as exc:
        return [Finding("FIX", "ami", f"{exc or type(exc).__name__}")]
