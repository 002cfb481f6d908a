"""The shipped Asterisk configuration keeps the contract the router relies on.

``dialplans/`` is checked three ways: ``asterisklint dialplan-check`` must find nothing;
the names the router uses (``acd.config.DialplanNames`` defaults) must be exactly the
ones in the files; and the contexts are *run* by a small interpreter of the handful of
applications they use, so a failed agent offer or partner overflow provably sends the
caller back to ``[holding]`` instead of hanging up. The interpreter substitutes variables before
splitting arguments at commas, as Asterisk does, so header forging through the caller
name is tested too.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from acd.config import STANDARD_SKILLS, AmiConfig, DialplanNames, PartnerConfig, RoutingConfig
from acd.config.load import load_config
from tests.support.dialplan import (
    DIALPLANS,
    EXTENSIONS,
    FEATURES_CONF,
    GLOBALS,
    MANAGER,
    QUEUES,
    Step,
    parse_dialplan,
    parse_ini,
    split_app,
    strip_comment,
)

EXAMPLE_CONFIGS = sorted((DIALPLANS.parent / "config").glob("*.toml"))
README = DIALPLANS / "README.md"

NAMES = DialplanNames()
NUMBERS = ("15", "116117", "0144556677")
# every value DIALSTATUS can take after Dial returns with the caller still there
FAILED_DIALSTATUS = ("NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL", "INVALIDARGS")
TRANSFER_CONTEXT = "acd-transfer"
#: the transfer feature codes acd-connect enables (features_acd.conf's applicationmap)
AGENT_FEATURES = ("acd-to-osnp", "acd-to-mg", "acd-to-amu", "acd-to-arm")


@pytest.fixture(scope="module")
def dialplan() -> dict[str, dict[str, list[Step]]]:
    return parse_dialplan(EXTENSIONS.read_text(encoding="utf-8"))


def _all_steps(plan: dict[str, dict[str, list[Step]]]) -> list[Step]:
    return [step for extens in plan.values() for steps in extens.values() for step in steps]


# --- a tiny interpreter for the applications these contexts use ----------------------


class Unsupported(Exception):
    """The dialplan uses something the interpreter does not model: extend it."""


@dataclasses.dataclass
class Run:
    """What one channel did: the UserEvents it sent, the Dials, and how it stopped."""

    events: list[tuple[str, dict[str, str]]] = dataclasses.field(default_factory=list)
    dials: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    trace: list[Step] = dataclasses.field(default_factory=list)
    #: "hangup" (Hangup() or fell off the extension), "caller-gone" (hung up in Dial),
    #: "holding" (reached the holding context's first step: the caller waits again), or
    #: "returned" (a subroutine started with ``gosub=True`` returned)
    end: str = ""
    variables: dict[str, str] = dataclasses.field(default_factory=dict)


def _split_args(data: str) -> list[str]:
    """Asterisk's standard argument split: commas, with ``\\`` escapes and quotes."""
    args, current, quoted, escaped = [], [], False, False
    for char in data:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
    args.append("".join(current))
    return args


def _arithmetic(text: str, where: Step) -> bool:
    """``$[a > b & c - d > e]`` on integers (after substitution): the operators the
    fail-open check uses, with Asterisk's precedence (``-`` over ``>`` over ``&``)."""
    match = re.fullmatch(r"\$\[(.*)\]", text)
    if not match or not re.fullmatch(r"[0-9 &>-]+", match.group(1)):
        raise Unsupported(f"line {where.line}: expression {text!r}")

    def value(term: str) -> int:
        first, *rest = (int(x) for x in term.split(" - "))
        return first - sum(rest)

    def comparison(part: str) -> bool:
        left, _, right = part.partition(" > ")
        return value(left.strip()) > value(right.strip()) if right else value(left) != 0

    return all(comparison(part.strip()) for part in match.group(1).split(" & "))


class Channel:
    def __init__(self, plan: dict[str, dict[str, list[Step]]], variables: dict[str, str],
                 dial_status: str = "ANSWER", bridge_result: str = "SUCCESS",
                 queue_status: str = "ANSWER") -> None:
        self.plan = plan
        self.vars = dict(variables)
        self.dial_status = dial_status
        self.bridge_result = bridge_result
        self.queue_status = queue_status
        self.stack: list[tuple[str, str, int, dict[str, str | None]]] = []
        self.run = Run()
        #: the channel's clock (epoch seconds): Answer() takes Asterisk's half second
        self.time = CALLER_TIME

    # variables and expressions ----------------------------------------------------

    def _lookup(self, expr: str, where: Step) -> str:
        if expr == "CALLERID(name)":
            return self.vars.get("CALLERID(name)", "")
        if expr == "EPOCH":
            return str(int(self.time))
        strftime = re.fullmatch(r"STRFTIME\(,,(.*)\)", expr)
        if strftime:
            return self._strftime(strftime.group(1), where)
        cut = re.fullmatch(r"CUT\((.*)\)", expr)
        if cut:
            # CUT(var,delimiter,field): the field-th piece, "" past the last one
            name, delimiter, field = _split_args(cut.group(1))
            if not field.isdigit() or len(delimiter) != 1:
                raise Unsupported(f"line {where.line}: ${{{expr}}}")
            pieces = self.vars.get(name, "").split(delimiter)
            return pieces[int(field) - 1] if int(field) <= len(pieces) else ""
        func = re.fullmatch(r"REPLACE\((.*)\)", expr)
        if func:
            name, *rest = _split_args(func.group(1))
            chars = rest[0] if rest else ""
            replacement = rest[1] if len(rest) > 1 else ""
            return "".join(replacement if c in chars else c for c in self.vars.get(name, ""))
        sub = re.fullmatch(r"([A-Z_][A-Z0-9_]*)(?::(\d+))?", expr)
        if not sub:
            raise Unsupported(f"line {where.line}: ${{{expr}}}")
        name = sub.group(1)
        value = where.exten if name == "EXTEN" else self.vars.get(name, "")
        return value[int(sub.group(2)):] if sub.group(2) else value

    def _strftime(self, fmt: str, where: Step) -> str:
        """``STRFTIME(,,fmt)`` of the channel's clock, for the formats the dialplan uses:
        ``%s`` (epoch seconds) and Asterisk's own ``%[n]q`` (fractions of a second, n
        digits, 3 by default, truncated as Asterisk's microseconds are)."""
        seconds = int(self.time)
        micros = round((self.time - seconds) * 1_000_000)

        def field(match: re.Match[str]) -> str:
            if match.group(2) == "s":
                return str(seconds)
            digits = int(match.group(1) or 3)
            return f"{micros:06d}"[:digits]

        if re.sub(r"%(\d?)([sq])", "", fmt).count("%"):
            raise Unsupported(f"line {where.line}: STRFTIME format {fmt!r}")
        return re.sub(r"%(\d?)([sq])", field, fmt)

    def substitute(self, text: str, where: Step) -> str:
        # innermost ${...} first, as nested references resolve inside out
        pattern = re.compile(r"\$\{([^${}]*)\}")
        while (match := pattern.search(text)) is not None:
            text = text[: match.start()] + self._lookup(match.group(1), where) + text[match.end():]
        return text

    @staticmethod
    def condition(text: str, where: Step) -> bool:
        match = re.fullmatch(r'\$\["(.*)" (=|!=) "(.*)"\]', text)
        if not match:
            return _arithmetic(text, where)
        equal = match.group(1) == match.group(3)
        return equal if match.group(2) == "=" else not equal

    def _set(self, data: str) -> None:
        name, _, value = data.partition("=")
        local = re.fullmatch(r"LOCAL\((.*)\)", name)
        if local:
            name = local.group(1)
            frame_locals = self.stack[-1][3]
            frame_locals.setdefault(name, self.vars.get(name))
        self.vars[name.lstrip("_")] = value

    # control flow -----------------------------------------------------------------

    def _resolve(self, target: str, where: Step) -> tuple[str, str, int]:
        parts = [p.strip() for p in _split_args(target)]
        context, exten = where.context, where.exten
        if len(parts) == 3:
            context, exten, prio = parts
        elif len(parts) == 2:
            exten, prio = parts
        else:
            (prio,) = parts
        if prio.isdigit():
            return context, exten, int(prio)
        for step in self._steps(context, exten):
            if step.label == prio:
                return context, exten, step.prio
        raise AssertionError(f"line {where.line}: no label {prio!r} in {context},{exten}")

    def _steps(self, context: str, exten: str) -> list[Step]:
        extens = self.plan.get(context)
        assert extens is not None, f"no context [{context}]"
        if exten in extens:
            return extens[exten]
        for name, steps in extens.items():
            if name.startswith("_") and asterisk_pattern(name).fullmatch(exten):
                return steps
        raise AssertionError(f"no extension {exten!r} in [{context}]")

    def start(self, context: str, exten: str, *, max_steps: int = 200,
              gosub: bool = False) -> Run:
        """Run from ``context,exten,1``; with ``gosub``, as a subroutine called from
        outside the dialplan (a features.conf applicationmap), up to its Return()."""
        if gosub:
            self.stack.append((_OUTSIDE, "", 0, {}))
        position: tuple[str, str, int] | None = (context, exten, 1)
        for _ in range(max_steps):
            assert position is not None
            context, exten, prio = position
            if context == _OUTSIDE:
                self.run.end = "returned"
                break
            if ((context, exten, prio) == (NAMES.holding_context, NAMES.holding_exten, 1)
                    and self.run.trace):
                self.run.end = "holding"
                break
            steps = [s for s in self._steps(context, exten) if s.prio == prio]
            if not steps:
                # no such priority: Asterisk ends the call (autofallthrough)
                self.run.end = "hangup"
                break
            step = dataclasses.replace(steps[0], exten=exten)
            self.run.trace.append(step)
            position = self._execute(step, step.app, step.args)
            if position is None:
                break
        else:
            raise AssertionError(f"no end after {max_steps} steps: {self.run.trace[-5:]}")
        self.run.variables = self.vars
        return self.run

    def _execute(self, step: Step, app: str, raw: str) -> tuple[str, str, int] | None:
        following = (step.context, step.exten, step.prio + 1)
        if app == "ExecIf":
            # the condition is evaluated before the application's own arguments
            cond, _, action = raw.partition("?")
            if self.condition(self.substitute(cond, step), step):
                inner_app, inner_args = split_app(action)
                return self._execute(step, inner_app, inner_args)
            return following
        if app == "GotoIf":
            cond, _, targets = raw.partition("?")
            if_true, _, if_false = targets.partition(":")
            target = if_true if self.condition(self.substitute(cond, step), step) else if_false
            return self._resolve(target, step) if target else following
        data = self.substitute(raw, step)
        if app == "Set":
            self._set(data)
        elif app == "Answer":
            self.time += ANSWER_WAIT_S
        elif app in ("MusicOnHold", "Playback"):
            pass
        elif app == "UserEvent":
            name, *fields = _split_args(data)
            headers: dict[str, str] = {}
            for field in fields:
                # app_userevent: an argument without ':' is skipped; only the value
                # is stripped; a repeated key replaces the earlier one
                if ":" in field:
                    key, _, value = field.partition(":")
                    headers[key] = value.strip()
            self.run.events.append((name, headers))
        elif app == "Goto":
            return self._resolve(data, step)
        elif app == "Gosub":
            match = re.fullmatch(r"([^,]+),([^,]+),(\d+)\((.*)\)", raw)
            if not match:
                raise Unsupported(f"line {step.line}: Gosub({raw})")
            arguments = _split_args(self.substitute(match.group(4), step))
            saved: dict[str, str | None] = {}
            for index, value in enumerate(arguments, start=1):
                saved[f"ARG{index}"] = self.vars.get(f"ARG{index}")
                self.vars[f"ARG{index}"] = value
            self.stack.append((step.context, step.exten, step.prio + 1, saved))
            return match.group(1), match.group(2), int(match.group(3))
        elif app == "Return":
            context, exten, prio, saved = self.stack.pop()
            for name, previous in saved.items():
                if previous is None:
                    self.vars.pop(name, None)
                else:
                    self.vars[name] = previous
            return context, exten, prio
        elif app == "Dial":
            device, timeout, options = [*_split_args(data), "", ""][:3]
            self.run.dials.append((device, timeout, options))
            if not device.partition("/")[2]:
                # app_dial returns -1 without a technology/resource: Asterisk sets
                # DIALSTATUS=INVALIDARGS and hangs the caller up
                self.run.end = "hangup"
                return None
            if self.dial_status == "CANCEL":
                self.run.end = "caller-gone"
                return None
            self.vars["DIALSTATUS"] = self.dial_status
        elif app == "Bridge":
            peer, options = [*_split_args(data), ""][:2]
            self.run.dials.append(("Bridge", peer, options))
            if not peer:
                # app_bridge returns -1 without a channel: Asterisk hangs the caller up
                self.run.end = "hangup"
                return None
            if self.bridge_result == "CANCEL":
                self.run.end = "caller-gone"
                return None
            self.vars["BRIDGERESULT"] = self.bridge_result
        elif app == "Queue":
            self.run.dials.append(("Queue", data, ""))
            if self.queue_status == "ANSWER":
                # no option c: Asterisk hangs the caller up when the member hangs up
                self.run.end = "hangup"
                return None
            if self.queue_status == "CANCEL":
                self.run.end = "caller-gone"
                return None
            self.vars["QUEUESTATUS"] = self.queue_status
        elif app == "Hangup":
            self.run.end = "hangup"
            return None
        else:
            raise Unsupported(f"line {step.line}: application {app}")
        return following


#: Asterisk's Answer() of a ringing channel waits up to 500 ms for the first media frame
ANSWER_WAIT_S = 0.5

#: the pseudo-context a subroutine run with ``gosub=True`` returns to
_OUTSIDE = "<outside the dialplan>"


def asterisk_pattern(pattern: str) -> re.Pattern[str]:
    """Regex for an Asterisk extension pattern (``_`` prefix, X Z N [..] . !)."""
    assert pattern.startswith("_")
    out, i = [], 1
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            end = pattern.index("]", i)
            out.append("[" + pattern[i + 1 : end] + "]")
            i = end
        else:
            out.append({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}
                       .get(char.upper(), re.escape(char)))
        i += 1
    return re.compile("".join(out))


#: the channel's clock when it enters the dialplan (``${EPOCH}`` is its whole seconds)
CALLER_TIME = 1795329358.0625

CALLER = {
    "UNIQUEID": "1795329358.0",
    # ${EPOCH} when the call starts (the interpreter's clock, CALLER_TIME, moves on)
    "EPOCH": "1795329358",
    "CALLERID(name)": "Hélène Dupré",
    "ACD_MOH": "default",
    "ACD_RING": "15",
    "ACD_HOLD_S": "5",
    "ACD_FAILOPEN_S": "10",
    "ACD_FAILOPEN_QUEUE": "acd-front-office",
    # the router's heartbeat, a second ago
    "ACD_HEARTBEAT": "1795329357",
}


def _call(plan: dict[str, dict[str, list[Step]]], number: str, **extra: str) -> Run:
    return Channel(plan, {**CALLER, **extra}).start("incoming", number)


def _connect(plan: dict[str, dict[str, list[Step]]], exten: str, dial_status: str,
             **extra: str) -> Run:
    variables = {**CALLER, NAMES.dial_var: "PJSIP/arm01", **extra}
    return Channel(plan, variables, dial_status).start(NAMES.connect_context, exten)


def _overflow(plan: dict[str, dict[str, list[Step]]], partner: str, dial_status: str,
              **extra: str) -> Run:
    variables = {**CALLER, NAMES.partner_dial_var: "PJSIP/sas62/15",
                 NAMES.partner_ring_var: "20", **extra}
    return Channel(plan, variables, dial_status).start(NAMES.overflow_context, partner)


# --- asterisklint -----------------------------------------------------------------------


def _asterisklint(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "asterisklint"
    assert script.exists(), f"asterisklint is a dev dependency; not found at {script}"
    env = {k: v for k, v in os.environ.items() if k != "ALINT_IGNORE"}
    return subprocess.run([sys.executable, str(script), *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def _site_extensions_conf(directory: Path, dialplan_file: Path = EXTENSIONS) -> Path:
    """A minimal site extensions.conf that includes ours as the README says."""
    conf = directory / "extensions.conf"
    conf.write_text(
        "[general]\nstatic=yes\nwriteprotect=yes\nclearglobalvars=no\n\n"
        f'[globals]\n#include "{GLOBALS}"\n\n'
        f'#include "{dialplan_file}"\n\n'
        "[from-trunk]\n"
        + "".join(f"exten => {n},1,Goto(incoming,{n},1)\n" for n in NUMBERS)
        + "\n[agent-phones]\ninclude => acd-features\n",
        encoding="utf-8",
    )
    return conf


# asterisklint prints one "file:line CODE: message" line per issue (E_ errors, W_
# warnings, H_ hints, I_ info), on stderr
_LINT_ISSUE = re.compile(r"^\S+:\d+ [EWHI]_[A-Z0-9_]+: ", re.MULTILINE)


def test_asterisklint_finds_nothing(tmp_path: Path) -> None:
    result = _asterisklint("dialplan-check", "--func-odbc=",
                           str(_site_extensions_conf(tmp_path)))
    output = result.stdout + result.stderr
    assert _LINT_ISSUE.findall(output) == [], output
    assert "Traceback" not in output, output
    assert result.returncode == 0, output


def test_asterisklint_reads_every_included_context(tmp_path: Path) -> None:
    """A lint of an empty or unreadable include would pass; make sure ours was read."""
    result = _asterisklint("dialplan-show", str(_site_extensions_conf(tmp_path)))
    assert result.returncode == 0, result.stderr
    shown = set(re.findall(r"^\[ Context '([^']+)'", result.stdout, re.MULTILINE))
    assert shown >= {"incoming", "acd-announce", "holding", NAMES.failopen_context,
                     NAMES.connect_context,
                     TRANSFER_CONTEXT, NAMES.overflow_context, "acd-features",
                     "from-trunk", "agent-phones"}


def test_asterisklint_would_report_a_broken_goto(tmp_path: Path) -> None:
    """Negative control: the check above is able to fail on this dialplan."""
    broken = tmp_path / "broken_acd.conf"
    broken.write_text(EXTENSIONS.read_text(encoding="utf-8")
                      .replace("Goto(holding,s,1)", "Goto(holdnig,s,1)"), encoding="utf-8")
    result = _asterisklint("dialplan-check", "--func-odbc=",
                           str(_site_extensions_conf(tmp_path, broken)))
    assert result.returncode == 1
    assert "E_DP_GOTO_NOCONTEXT" in result.stderr


# --- contexts and names ------------------------------------------------------------------


def test_every_context_the_router_uses_exists(dialplan: dict[str, dict[str, list[Step]]]) -> None:
    assert {"incoming", "holding", NAMES.connect_context, NAMES.overflow_context,
            TRANSFER_CONTEXT, "acd-features"} <= dialplan.keys()
    assert (NAMES.connect_context, NAMES.holding_context) == ("acd-connect", "holding")
    assert NAMES.overflow_context == "acd-overflow"
    assert {NAMES.warm_context, NAMES.warm_bridge_context} <= dialplan.keys()
    assert (NAMES.warm_context, NAMES.warm_bridge_context) == ("acd-warm", "acd-warm-bridge")
    # the router Redirects callers back to wait at <holding_context>,<holding_exten>,1
    assert NAMES.holding_exten in dialplan[NAMES.holding_context]
    # the legacy connect form of the recordings: Redirect to acd-connect,s,1
    assert "s" in dialplan[NAMES.connect_context]


def test_userevent_names_are_exactly_the_router_defaults(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    used = {_split_args(step.args)[0] for step in _all_steps(dialplan)
            if step.app == "UserEvent"}
    expected = {
        NAMES.call_waiting_event, NAMES.arrival_event, NAMES.connecting_event,
        NAMES.dial_end_event,
        NAMES.agent_login_event, NAMES.agent_logout_event, NAMES.agent_pause_event,
        NAMES.agent_ready_event, NAMES.transfer_event, NAMES.overflow_trying_event,
        NAMES.overflow_end_event, NAMES.warm_answered_event,
    }
    assert used == expected
    assert expected == {"AcdCallWaiting", "AcdCallArrived", "AcdConnecting", "AcdDialEnd",
                        "AcdAgentLogin", "AcdAgentLogout", "AcdAgentPause", "AcdAgentReady",
                        "AcdTransfer", "AcdOverflowTrying", "AcdOverflowEnd",
                        "AcdWarmAnswered"}


def test_variable_names_are_the_router_defaults() -> None:
    assert (NAMES.agent_var, NAMES.dial_var, NAMES.ring_var) == (
        "ACD_AGENT", "ACD_DIAL", "ACD_RING")
    assert (NAMES.partner_dial_var, NAMES.partner_ring_var) == (
        "ACD_PARTNER_DIAL", "ACD_PARTNER_RING")
    assert (NAMES.number_var, NAMES.arrived_var, NAMES.priority_var) == (
        "ACD_NUMBER", "ACD_ARRIVED", "ACD_PRIORITY")
    assert (NAMES.warm_peer_var, NAMES.warm_call_var) == ("ACD_WARM_PEER", "ACD_WARM_CALL")


def test_readme_documents_every_setting_and_name() -> None:
    readme = README.read_text(encoding="utf-8")
    for setting in NAMES.__struct_fields__:
        value = getattr(NAMES, setting)
        assert re.search(rf"\| `{setting}` \| `{re.escape(value)}` \|", readme), (
            f"README.md must list [dialplan] {setting} = {value!r}")
    for context in ("incoming", "acd-announce", "holding", "acd-features", TRANSFER_CONTEXT,
                    NAMES.overflow_context, NAMES.warm_context, NAMES.warm_bridge_context,
                    NAMES.failopen_context):
        assert f"`{context}`" in readme
    for code in ("*71", "*72", "*73", "*74", "*81", "*82", "*83", "*84"):
        assert code in readme
    assert "`features_acd.conf`" in readme
    assert "#".join(AGENT_FEATURES) in readme


# --- [incoming] ------------------------------------------------------------------------


@pytest.mark.parametrize("number", NUMBERS)
def test_a_call_is_announced_then_waits(dialplan: dict[str, dict[str, list[Step]]],
                                        number: str) -> None:
    run = _call(dialplan, number)
    assert run.end == "holding"
    assert run.events == [
        (NAMES.arrival_event, {"Number": number, "Uniqueid": CALLER["UNIQUEID"]}),
        (NAMES.call_waiting_event, {"Number": number, "Uniqueid": CALLER["UNIQUEID"],
                                    "CallerName": "Hélène Dupré"})]
    assert run.variables[NAMES.number_var] == number
    assert NAMES.priority_var not in run.variables
    # the arrival before Answer() and its half second (the announcement), the waiting
    # caller after it
    apps = [step.app for step in run.trace]
    told = [n for n, app in enumerate(apps) if app == "UserEvent"]
    assert told[0] < apps.index("Answer") < told[1]


def test_a_caller_reaching_acd_announce_is_told_before_anything_can_stop_it(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    """Only Set and ExecIf before the arrival event: nothing waits, so a caller who
    hangs up during the announcement has been told of."""
    steps = dialplan["acd-announce"]["s"]
    before = steps[:[step.app for step in steps].index("UserEvent")]
    assert [step.app for step in before] == ["Set", "ExecIf"]
    assert _split_args(steps[len(before)].args)[0] == NAMES.arrival_event


@pytest.mark.parametrize("priority", ["", "0"])
def test_the_arrival_is_when_the_caller_joins_the_queue_to_the_millisecond(
    dialplan: dict[str, dict[str, list[Step]]], priority: str,
) -> None:
    """ACD_ARRIVED (the wait's start when the router missed the announcement) is the
    time the caller is handed to the router, after Answer()'s half second and the
    announcement, in milliseconds: never ${EPOCH}'s whole seconds before Answer()."""
    given = {**dialplan, "incoming": {"15": [
        Step("incoming", "15", 1, None, "Gosub",
             f"acd-announce,s,1(${{EXTEN}}{',' + priority if priority else ''})", 0),
        Step("incoming", "15", 2, None, "Goto", "holding,s,1", 0)]}}
    run = Channel(given, CALLER).start("incoming", "15")
    assert run.end == "holding"
    assert run.variables[NAMES.arrived_var] == "1795329358.562"  # .0625 + 0.5, truncated
    sets = [n for n, step in enumerate(run.trace)
            if step.app == "Set" and step.args.startswith(f"__{NAMES.arrived_var}=")]
    announced = [n for n, step in enumerate(run.trace) if step.app == "UserEvent"
                 and _split_args(step.args)[0] == NAMES.call_waiting_event]
    assert len(sets) == len(announced) == 1
    assert sets[0] > announced[0]


def test_the_numbers_share_one_subroutine(dialplan: dict[str, dict[str, list[Step]]]) -> None:
    assert set(dialplan["incoming"]) == set(NUMBERS)
    for number, steps in dialplan["incoming"].items():
        assert [(s.app, s.args) for s in steps] == [
            ("Gosub", "acd-announce,s,1(${EXTEN})"), ("Goto", "holding,s,1")], number
    sets = [s.args for s in _all_steps(dialplan) if s.app == "Set"]
    # inherited (__) so the agent legs carry them too
    assert f"__{NAMES.number_var}=${{ARG1}}" in sets
    assert f"__{NAMES.arrived_var}=${{STRFTIME(,,%s.%3q)}}" in sets


def test_a_priority_is_announced_only_when_given(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    # the documented way to give one: a second Gosub argument
    given = {**dialplan, "incoming": {"15": [
        Step("incoming", "15", 1, None, "Gosub", "acd-announce,s,1(${EXTEN},0)", 0),
        Step("incoming", "15", 2, None, "Goto", "holding,s,1", 0)]}}
    run = Channel(given, CALLER).start("incoming", "15")
    assert dict(run.events)[NAMES.call_waiting_event]["Priority"] == "0"
    assert run.variables[NAMES.priority_var] == "0"
    # set earlier by the site's trunk context: kept and announced
    preset = _call(dialplan, "116117", **{NAMES.priority_var: "3"})
    assert dict(preset.events)[NAMES.call_waiting_event]["Priority"] == "3"
    # never an empty Priority header: it would repeat the channel's own Priority:
    # neither in the waiting event without one, nor ever in the arrival event
    assert "Priority" not in dict(_call(dialplan, "116117").events)[NAMES.call_waiting_event]
    assert all("Priority" not in dict(r.events)[NAMES.arrival_event] for r in (run, preset))


def test_a_caller_name_cannot_forge_headers(dialplan: dict[str, dict[str, list[Step]]]) -> None:
    run = _call(dialplan, "15", **{"CALLERID(name)": "Dupré, Hélène,Priority: 0,Number: 17"})
    (_, told), (name, headers) = run.events
    assert told == {"Number": "15", "Uniqueid": CALLER["UNIQUEID"]}
    assert name == NAMES.call_waiting_event
    assert headers["Number"] == "15"
    assert "Priority" not in headers
    assert headers["CallerName"] == "Dupré HélènePriority: 0Number: 17"


# --- [holding] -------------------------------------------------------------------------

_HANGUP_APPS = {"Hangup", "SoftHangup", "Busy", "Congestion", "ChannelRedirect"}


def test_holding_loops_forever_without_hanging_up(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    steps = dialplan["holding"]["s"]
    assert set(dialplan["holding"]) == {"s"}
    assert not {s.app for s in steps} & _HANGUP_APPS
    assert [(s.app, s.args) for s in steps][1:] == [
        ("MusicOnHold", "${ACD_MOH},${ACD_HOLD_S}"), ("Goto", "holding,s,1")]
    run = Channel(dialplan, CALLER).start("holding", "s")
    assert run.end == "holding"
    assert run.dials == []


# --- fail open ---------------------------------------------------------------------------


def test_the_simulator_runs_the_same_fail_open_check(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    from acd.sim.failopen import fail_open_test

    first = dialplan["holding"]["s"][0]
    assert first.app == "GotoIf"
    assert first.args == fail_open_test(NAMES.heartbeat_var) + f"{NAMES.failopen_context},s,1"


@pytest.mark.parametrize(("heartbeat_age", "limit", "fails_open"), [
    (1, "10", False), (10, "10", False), (11, "10", True), (3600, "10", True),
    (3600, "", False), (3600, "0", False)])
def test_holding_fails_open_when_the_heartbeat_is_stale(
    dialplan: dict[str, dict[str, list[Step]]], heartbeat_age: int, limit: str,
    fails_open: bool,
) -> None:
    now = int(CALLER["EPOCH"])
    variables = {**CALLER, "ACD_HEARTBEAT": str(now - heartbeat_age), "ACD_FAILOPEN_S": limit}
    run = Channel(dialplan, variables, queue_status="TIMEOUT").start("holding", "s")
    assert run.end == "holding"  # back to the loop either way: never hung up
    queued = [d for d in run.dials if d[0] == "Queue"]
    assert queued == ([("Queue", "acd-front-office", "")] if fails_open else [])


def test_a_pbx_that_never_heard_its_router_fails_open(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    lines = [strip_comment(line) for line in GLOBALS.read_text(encoding="utf-8").splitlines()]
    values = dict(line.split("=", 1) for line in lines if line)
    unheard = {k: v for k, v in CALLER.items() if k != NAMES.heartbeat_var}  # never set
    run = Channel(dialplan, {**unheard, **values}, queue_status="TIMEOUT").start("holding", "s")
    assert ("Queue", "acd-front-office", "") in run.dials


def test_failopen_context_exists_and_never_hangs_up(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    steps = dialplan[NAMES.failopen_context]["s"]
    assert set(dialplan[NAMES.failopen_context]) == {"s"}
    assert not {s.app for s in steps} & _HANGUP_APPS
    assert [s.app for s in steps] == ["Queue", "Goto"]
    # no option c: the caller is hung up only when the agent ended an answered call
    assert _split_args(steps[0].args)[1:2] in ([], [""])
    for status in ("TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL",
                   "LEAVEUNAVAIL", "CONTINUE", "WITHDRAW"):
        run = Channel(dialplan, CALLER, queue_status=status).start(NAMES.failopen_context, "s")
        assert run.end == "holding", status
    answered = Channel(dialplan, CALLER).start(NAMES.failopen_context, "s")
    assert answered.end == "hangup"  # Asterisk's own, after the conversation


def test_failopen_queue_is_defined_with_the_front_office() -> None:
    text = QUEUES.read_text(encoding="utf-8")
    sections = re.findall(r"^\[([^\]]+)\]", text, re.MULTILINE)
    assert sections == [NAMES.failopen_queue]
    settings = dict(re.findall(r"^(\w+) = (\S+)", text, re.MULTILINE))
    # nobody is turned away or dropped from the queue; a phone in a call is not rung;
    # every free member rings at once (autofill)
    assert settings["joinempty"] == "yes"
    assert settings["leavewhenempty"] == "no"
    assert settings["ringinuse"] == "no"
    assert settings["autofill"] == "yes"
    # keywords Asterisk 22 warns about ("Unknown keyword in queue", live README)
    assert not {"leaveempty", "eventwhencalled"} & settings.keys()
    # members are dynamic: the router adds, pauses and removes them over AMI
    assert re.findall(r"^member\s*=>", text, re.MULTILINE) == []


# --- [acd-connect] ---------------------------------------------------------------------


def test_the_agent_pattern_matches_ids_but_not_s(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    patterns = [e for e in dialplan[NAMES.connect_context] if e.startswith("_")]
    assert len(patterns) == 1
    regex = asterisk_pattern(patterns[0])
    for agent in ("1001", "arm01", "ARM_N1.poste-3", "x" * 64, "s1"):
        assert regex.fullmatch(agent), agent
    for special in ("s", "h", "i", "t", "T", "a"):
        assert not regex.fullmatch(special), special


def test_every_example_agent_can_be_rung(dialplan: dict[str, dict[str, list[Step]]]) -> None:
    """The router Redirects to acd-connect,<agent id>,1: the id must match the pattern."""
    (pattern,) = [e for e in dialplan[NAMES.connect_context] if e.startswith("_")]
    ids = [agent.id for path in EXAMPLE_CONFIGS for agent in load_config(path).agents]
    assert ids
    assert [i for i in ids if not asterisk_pattern(pattern).fullmatch(i)] == []


@pytest.mark.parametrize("form", ["agent-id", "legacy"])
def test_an_answered_call_ends_with_the_agent(dialplan: dict[str, dict[str, list[Step]]],
                                              form: str) -> None:
    if form == "agent-id":
        run = _connect(dialplan, "arm01", "ANSWER")
    else:
        run = _connect(dialplan, "s", "ANSWER", **{NAMES.agent_var: "arm01"})
    assert run.variables[NAMES.agent_var] == "arm01"
    assert run.dials == [("PJSIP/arm01", "15", "gt")]
    assert run.events == [
        (NAMES.connecting_event, {"Agent": "arm01"}),
        (NAMES.dial_end_event, {"Agent": "arm01", "DialStatus": "ANSWER"}),
    ]
    assert run.end == "hangup"


@pytest.mark.parametrize("status", FAILED_DIALSTATUS)
def test_a_failed_offer_sends_the_caller_back_to_holding(
    dialplan: dict[str, dict[str, list[Step]]], status: str,
) -> None:
    run = _connect(dialplan, "arm01", status)
    assert run.end == "holding"
    assert not [s for s in run.trace if s.app in _HANGUP_APPS]
    assert run.events[-1] == (NAMES.dial_end_event, {"Agent": "arm01", "DialStatus": status})


def test_without_a_dial_string_the_caller_is_not_hung_up(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    run = _connect(dialplan, "arm01", "ANSWER", **{NAMES.dial_var: ""})
    assert run.dials == []  # Dial() with no device would hang the caller up
    assert run.end == "holding"
    assert run.events[-1] == (NAMES.dial_end_event,
                              {"Agent": "arm01", "DialStatus": "INVALIDARGS"})


def test_a_caller_who_hangs_up_while_ringing_gets_no_dial_end(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    run = _connect(dialplan, "arm01", "CANCEL")
    assert run.end == "caller-gone"
    assert [name for name, _ in run.events] == [NAMES.connecting_event]


def test_the_dial_uses_the_router_variables(dialplan: dict[str, dict[str, list[Step]]]) -> None:
    (dial,) = [s for s in _all_steps(dialplan)
               if s.app == "Dial" and s.context == NAMES.connect_context]
    device, timeout, options = _split_args(dial.args)
    assert (device, timeout) == (f"${{{NAMES.dial_var}}}", f"${{{NAMES.ring_var}}}")
    assert "g" in options  # carry on after the agent hangs up, so AcdDialEnd is sent
    assert "T" not in options  # the caller must not be able to transfer the agent
    # the only Hangup of acd-connect is behind DIALSTATUS = ANSWER
    hangups = [s for s in _all_steps(dialplan)
               if s.context == NAMES.connect_context and s.app in _HANGUP_APPS]
    assert [s.label for s in hangups] == ["answered"]


# --- [acd-features] --------------------------------------------------------------------

FEATURES = {
    "*71": (NAMES.agent_login_event, {}),
    "*72": (NAMES.agent_logout_event, {}),
    "*73": (NAMES.agent_pause_event, {"Reason": "break"}),
    "*731": (NAMES.agent_pause_event, {"Reason": "1"}),
    "*7342": (NAMES.agent_pause_event, {"Reason": "42"}),
    "*74": (NAMES.agent_ready_event, {}),
}


@pytest.mark.parametrize(("code", "expected"), FEATURES.items(), ids=FEATURES.keys())
def test_feature_codes(dialplan: dict[str, dict[str, list[Step]]], code: str,
                       expected: tuple[str, dict[str, str]]) -> None:
    run = Channel(dialplan, {}).start("acd-features", code)
    assert run.events == [expected]
    assert [s.app for s in run.trace] == ["UserEvent", "Playback", "Hangup"]
    assert run.trace[1].args == "beep"
    assert run.end == "hangup"


@pytest.mark.parametrize("device", ["PJSIP", "PJSIP/", "arm01"])
def test_a_dial_string_without_a_resource_is_not_dialled(
    dialplan: dict[str, dict[str, list[Step]]], device: str,
) -> None:
    """Dial() of ``tech`` or ``tech/`` would hang the caller up, like an empty one."""
    run = _connect(dialplan, "arm01", "ANSWER", **{NAMES.dial_var: device})
    assert run.dials == []
    assert run.end == "holding"
    assert run.events[-1][1]["DialStatus"] == "INVALIDARGS"


def test_acd_connect_enables_the_transfer_codes_for_the_agent(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    steps = dialplan[NAMES.connect_context]["s"]
    sets = [i for i, s in enumerate(steps) if s.app == "Set"
            and s.args == f"__DYNAMIC_FEATURES={'#'.join(AGENT_FEATURES)}"]
    dials = [i for i, s in enumerate(steps) if s.app == "Dial"]
    assert len(sets) == 1 and sets[0] < dials[0]
    run = _connect(dialplan, "arm01", "NOANSWER")
    assert run.variables["DYNAMIC_FEATURES"] == "#".join(AGENT_FEATURES)


# --- [acd-transfer] and features_acd.conf ----------------------------------------------


def parse_applicationmap(text: str) -> dict[str, tuple[str, str, str, str]]:
    """features.conf ``[applicationmap]``: name → (code, activate-on, app, app args)."""
    entries: dict[str, tuple[str, str, str, str]] = {}
    section = None
    for raw in text.splitlines():
        line = strip_comment(raw)
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            section = header.group(1)
            continue
        assert section == "applicationmap", f"line outside [applicationmap]: {raw!r}"
        name, arrow, rest = line.partition("=>")
        assert arrow, f"not a feature: {raw!r}"
        code, activate_on, application = (part.strip() for part in rest.split(",", 2))
        app, args = split_app(application)
        assert name.strip() not in entries, f"feature {name.strip()} defined twice"
        entries[name.strip()] = (code, activate_on, app, args)
    return entries


@pytest.fixture(scope="module")
def applicationmap() -> dict[str, tuple[str, str, str, str]]:
    return parse_applicationmap(FEATURES_CONF.read_text(encoding="utf-8"))


def test_the_transfer_codes_gosub_into_acd_transfer(
    dialplan: dict[str, dict[str, list[Step]]],
    applicationmap: dict[str, tuple[str, str, str, str]],
) -> None:
    # exactly the features acd-connect enables, nothing more, nothing less
    assert tuple(applicationmap) == AGENT_FEATURES
    (pattern,) = dialplan[TRANSFER_CONTEXT]
    targets = {}
    for code, activate_on, app, args in applicationmap.values():
        # run on the channel that pressed the code: the agent's leg, in the bridge
        assert activate_on.split("/")[0] == "self"
        assert app == "Gosub"
        context, target, priority = _split_args(args)
        assert (context, priority) == (TRANSFER_CONTEXT, "1")
        assert asterisk_pattern(pattern).fullmatch(target), target
        targets[code] = target
    assert targets == {"*81": "OSNP", "*82": "MG", "*83": "AMU_N2", "*84": "ARM_N1"}
    assert set(targets.values()) == set(STANDARD_SKILLS)
    # no code is a prefix of another or of the agents' own codes (*71-*74)
    codes = [*targets, "*71", "*72", "*73", "*74"]
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]


@pytest.mark.parametrize("target", [*STANDARD_SKILLS, "PSY"])
def test_a_transfer_code_sends_the_target_from_the_agent_leg(
    dialplan: dict[str, dict[str, list[Step]]], target: str,
) -> None:
    # the agent's leg inherits ACD_NUMBER & co but never ACD_AGENT
    agent_leg = {NAMES.number_var: "15", NAMES.arrived_var: CALLER["EPOCH"]}
    run = Channel(dialplan, agent_leg).start(TRANSFER_CONTEXT, target, gosub=True)
    assert run.events == [(NAMES.transfer_event, {"Target": target})]
    assert run.end == "returned"
    assert not [s for s in run.trace if s.app in _HANGUP_APPS or s.app == "Goto"]


def test_a_transfer_code_pressed_by_the_caller_sends_nothing(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    """ActivatedBy is not honoured: the caller's channel has the codes too."""
    caller = {**CALLER, NAMES.agent_var: "arm01"}
    run = Channel(dialplan, caller).start(TRANSFER_CONTEXT, "OSNP", gosub=True)
    assert run.events == []
    assert run.end == "returned"


def test_the_transfer_pattern_matches_queues_only(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    (pattern,) = dialplan[TRANSFER_CONTEXT]
    regex = asterisk_pattern(pattern)
    for queue in (*STANDARD_SKILLS, "PSY", "PEDIATRIE"):
        assert regex.fullmatch(queue), queue
    for other in ("s", "h", "i", "t", "T", "osnp", "15"):
        assert not regex.fullmatch(other), other


# --- [acd-overflow] --------------------------------------------------------------------


def test_an_answered_overflow_ends_with_the_partner(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    run = _overflow(dialplan, "sas62", "ANSWER")
    assert run.dials == [("PJSIP/sas62/15", "20", "g")]
    assert run.events == [
        (NAMES.overflow_trying_event, {"Partner": "sas62"}),
        (NAMES.overflow_end_event, {"Partner": "sas62", "DialStatus": "ANSWER"}),
    ]
    assert run.end == "hangup"
    # neither the caller nor the partner SAS keeps the agents' transfer codes
    assert run.variables["DYNAMIC_FEATURES"] == ""


@pytest.mark.parametrize("status", FAILED_DIALSTATUS)
def test_a_failed_overflow_sends_the_caller_back_to_holding(
    dialplan: dict[str, dict[str, list[Step]]], status: str,
) -> None:
    run = _overflow(dialplan, "sas62", status)
    assert run.end == "holding"
    assert not [s for s in run.trace if s.app in _HANGUP_APPS]
    assert run.events[-1] == (NAMES.overflow_end_event,
                              {"Partner": "sas62", "DialStatus": status})


@pytest.mark.parametrize("dial", ["", "PJSIP", "sas62/"])
def test_an_overflow_without_a_dial_string_is_not_dialled(
    dialplan: dict[str, dict[str, list[Step]]], dial: str,
) -> None:
    run = _overflow(dialplan, "sas62", "ANSWER", **{NAMES.partner_dial_var: dial})
    assert run.dials == []
    assert run.end == "holding"
    assert run.events == [
        (NAMES.overflow_trying_event, {"Partner": "sas62"}),
        (NAMES.overflow_end_event, {"Partner": "sas62", "DialStatus": "INVALIDARGS"}),
    ]


def test_a_caller_who_hangs_up_while_the_partner_rings_gets_no_end_event(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    run = _overflow(dialplan, "sas62", "CANCEL")
    assert run.end == "caller-gone"
    assert [name for name, _ in run.events] == [NAMES.overflow_trying_event]


def test_the_overflow_dial_uses_the_router_variables(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    (dial,) = [s for s in _all_steps(dialplan)
               if s.app == "Dial" and s.context == NAMES.overflow_context]
    device, timeout, options = _split_args(dial.args)
    assert (device, timeout) == (f"${{{NAMES.partner_dial_var}}}",
                                 f"${{{NAMES.partner_ring_var}}}")
    assert options == "g"  # carry on after the call; nobody may transfer
    hangups = [s for s in _all_steps(dialplan)
               if s.context == NAMES.overflow_context and s.app in _HANGUP_APPS]
    assert [s.label for s in hangups] == ["answered"]


def test_the_partner_pattern_matches_partner_names(
    dialplan: dict[str, dict[str, list[Step]]],
) -> None:
    (pattern,) = dialplan[NAMES.overflow_context]
    regex = asterisk_pattern(pattern)
    for name in ("sas62", "SAS-80.nord", "62", "x" * 64):
        assert regex.fullmatch(name), name
    for special in ("s", "h", "i", "t", "T"):
        assert not regex.fullmatch(special), special
    partners = [p.name for path in EXAMPLE_CONFIGS for p in load_config(path).partners]
    assert [n for n in partners if not regex.fullmatch(n)] == []


# --- globals and manager.conf ------------------------------------------------------------


def test_globals_defaults() -> None:
    lines = [strip_comment(line) for line in GLOBALS.read_text(encoding="utf-8").splitlines()]
    values = dict(line.split("=", 1) for line in lines if line)
    # no [section]: the file is included inside the site's [globals]
    assert not [line for line in lines if line.startswith("[")]
    assert values == {NAMES.ring_var: "15", NAMES.partner_ring_var: "20", "ACD_MOH": "default",
                      "ACD_WARM_HOLD": "10", "ACD_HOLD_S": "5", "ACD_FAILOPEN_S": "10",
                      "ACD_FAILOPEN_QUEUE": NAMES.failopen_queue}
    # Dial gives up when the router would take the offer back anyway
    assert float(values[NAMES.ring_var]) == RoutingConfig().ring_timeout_s
    # the fallback for a caller the router did not give ACD_PARTNER_RING
    assert float(values[NAMES.partner_ring_var]) == PartnerConfig(
        name="x", dial="PJSIP/x/15").ring_timeout_s


# Classes that allow each action, from ast_manager_register_xml_core() in Asterisk 22's
# main/manager.c; an action is allowed if the user holds any one of them.
ACTION_CLASSES = {
    "Redirect": {"call"},
    "Setvar": {"call"},
    "Getvar": {"call", "reporting"},
    "BlindTransfer": {"call"},
    "Status": {"system", "call", "reporting"},
    "CoreShowChannels": {"system", "reporting"},
    # warm transfers ring the target agent (Context/Exten form, never an Application)
    "Originate": {"originate"},
    # the fail-open queue's dynamic members follow the router's agents (app_queue.c)
    "QueueAdd": {"agent"},
    "QueueRemove": {"agent"},
    "QueuePause": {"agent"},
    # acd check-pbx with the router's own user
    "ShowDialPlan": {"config", "reporting"},
    "CoreSettings": {"system", "reporting"},
}
FORBIDDEN_ACTIONS = {
    "Command": {"command"},
    "ModuleLoad": {"system"},
    "GetConfig": {"system", "config"},
    "UpdateConfig": {"config"},
    "Reload": {"system", "config"},
}


def _classes(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def test_manager_general_section() -> None:
    general = parse_ini(MANAGER.read_text(encoding="utf-8"))["general"]
    assert general["enabled"] == "yes"
    assert general["port"] == str(AmiConfig().port) == "5038"
    assert general["bindaddr"] == AmiConfig().host == "127.0.0.1"
    assert general["timestampevents"] == "yes"
    assert general["displayconnects"] == "no"


def test_manager_user_has_least_privilege() -> None:
    sections = parse_ini(MANAGER.read_text(encoding="utf-8"))
    user = sections[AmiConfig().username]
    read, write = _classes(user["read"]), _classes(user["write"])
    assert read == {"system", "call", "user", "agent"}
    assert "all" not in read | write
    assert not write & {"command", "system", "config", "user"}
    for action, classes in ACTION_CLASSES.items():
        assert write & classes, f"the router could not send {action}"
    for action, classes in FORBIDDEN_ACTIONS.items():
        assert not write & classes, f"the router must not be able to send {action}"
    assert user["deny"] == "0.0.0.0/0.0.0.0"
    assert user["permit"] == "127.0.0.1/255.255.255.255"
    # only a placeholder is ever committed
    assert user["secret"] == "CHANGE-ME"


# --- warm transfers ---------------------------------------------------------------------


def test_the_warm_target_announces_its_answer_then_waits_for_the_caller(
        dialplan: dict[str, dict[str, list[Step]]]) -> None:
    agent = Channel(dialplan, {NAMES.warm_call_var: "1795329452.43", "ACD_MOH": "default",
                               "ACD_WARM_HOLD": "10"})
    run = agent.start(NAMES.warm_context, "osnp01")
    assert run.events == [(NAMES.warm_answered_event,
                           {"Agent": "osnp01", "Call": "1795329452.43"})]
    apps = [step.app for step in run.trace]
    assert apps.index("UserEvent") < apps.index("MusicOnHold")
    # the agent's own channel, after ACD_WARM_HOLD without the caller
    assert run.end == "hangup"
    assert run.variables["DYNAMIC_FEATURES"] == "#".join(AGENT_FEATURES)


def test_a_failed_warm_originate_runs_no_agent_step(
        dialplan: dict[str, dict[str, list[Step]]]) -> None:
    """Asterisk runs ``[acd-warm]``'s ``failed`` extension on a dummy channel when the
    Originate fails, and answers the router only when it ends (live 06e, 06f): an
    exact ``failed`` extension that hangs up at once, not the agent pattern."""
    assert "failed" in dialplan[NAMES.warm_context]
    (pattern,) = [e for e in dialplan[NAMES.warm_context] if e.startswith("_")]
    assert asterisk_pattern(pattern).fullmatch("failed")  # why the exact one is needed
    dummy = Channel(dialplan, {NAMES.warm_call_var: "1795329452.43", "ACD_MOH": "default",
                               "ACD_WARM_HOLD": "10"})
    run = dummy.start(NAMES.warm_context, "failed")
    assert run.events == []
    assert [step.app for step in run.trace] == ["Hangup"]
    ids = [agent.id for path in EXAMPLE_CONFIGS for agent in load_config(path).agents]
    assert "failed" not in ids


def _warm_bridge(plan: dict[str, dict[str, list[Step]]], result: str,
                 peer: str = "PJSIP/osnp01-0000002b") -> Run:
    caller = Channel(plan, {**CALLER, NAMES.warm_peer_var: peer}, bridge_result=result)
    return caller.start(NAMES.warm_bridge_context, "osnp01")


def test_the_warm_bridge_ends_like_an_answered_call(
        dialplan: dict[str, dict[str, list[Step]]]) -> None:
    run = _warm_bridge(dialplan, "SUCCESS")
    assert run.dials == [("Bridge", "PJSIP/osnp01-0000002b", "x")]
    assert run.events == [(NAMES.dial_end_event, {"Agent": "osnp01", "DialStatus": "ANSWER"})]
    assert run.end == "hangup"
    assert run.variables[NAMES.agent_var] == "osnp01"  # [acd-transfer] stays silent here


@pytest.mark.parametrize("result", ["NONEXISTENT", "FAILURE", "LOOP"])
def test_a_failed_warm_bridge_returns_the_caller_to_holding(
        dialplan: dict[str, dict[str, list[Step]]], result: str) -> None:
    run = _warm_bridge(dialplan, result)
    assert run.end == "holding"
    assert run.events == [(NAMES.dial_end_event, {"Agent": "osnp01", "DialStatus": result})]


def test_a_warm_bridge_without_a_peer_is_not_attempted(
        dialplan: dict[str, dict[str, list[Step]]]) -> None:
    run = _warm_bridge(dialplan, "SUCCESS", peer="")
    assert run.dials == [] and run.end == "holding"
    assert run.events == [(NAMES.dial_end_event,
                           {"Agent": "osnp01", "DialStatus": "INVALIDARGS"})]
