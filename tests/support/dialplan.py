"""The shipped Asterisk configuration read as data: a line parser for
``extensions.conf`` (contexts, extensions, steps) and for ``manager.conf``-style files."""

from __future__ import annotations

import dataclasses
import re

from tests.support.paths import REPO

DIALPLANS = REPO / "dialplans"
EXTENSIONS = DIALPLANS / "extensions_acd.conf"
GLOBALS = DIALPLANS / "globals_acd.conf"
MANAGER = DIALPLANS / "manager_acd.conf"
FEATURES_CONF = DIALPLANS / "features_acd.conf"
QUEUES = DIALPLANS / "queues_acd.conf"


# --- a line parser for extensions.conf -----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    context: str
    exten: str
    prio: int
    label: str | None
    app: str
    args: str
    line: int


_EXTEN_RE = re.compile(r"^(exten|same)\s*=>?\s*(.*)$")
_PRIO_RE = re.compile(r"^(\d+|n)(?:\(([^)]*)\))?$")


def strip_comment(line: str) -> str:
    """Cut at the first ``;`` that is not escaped as ``\\;``."""
    match = re.search(r"(?<!\\);", line)
    return (line[: match.start()] if match else line).strip()


def split_app(text: str) -> tuple[str, str]:
    if "(" not in text:
        return text.strip(), ""
    name, _, rest = text.partition("(")
    assert rest.endswith(")"), f"unbalanced application call: {text!r}"
    return name.strip(), rest[:-1]


def parse_dialplan(text: str) -> dict[str, dict[str, list[Step]]]:
    """``{context: {exten: [steps in priority order]}}``; ``include =>`` is ignored."""
    contexts: dict[str, dict[str, list[Step]]] = {}
    context: str | None = None
    exten: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = strip_comment(raw)
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            context = header.group(1)
            assert context not in contexts, f"line {number}: [{context}] defined twice"
            contexts[context] = {}
            exten = None
            continue
        match = _EXTEN_RE.match(line)
        if not match:
            assert line.startswith("include"), f"line {number}: unexpected {line!r}"
            continue
        assert context is not None, f"line {number}: extension outside a context"
        kind, body = match.groups()
        body = body.lstrip(">").strip()
        if kind == "exten":
            exten, prio_text, app_text = (part.strip() for part in body.split(",", 2))
        else:
            assert exten is not None, f"line {number}: 'same' before any 'exten'"
            prio_text, app_text = (part.strip() for part in body.split(",", 1))
        prio_match = _PRIO_RE.match(prio_text)
        assert prio_match, f"line {number}: bad priority {prio_text!r}"
        steps = contexts[context].setdefault(exten, [])
        if prio_match.group(1) == "n":
            assert steps, f"line {number}: priority n with no priority 1"
            prio = steps[-1].prio + 1
        else:
            prio = int(prio_match.group(1))
        app, args = split_app(app_text)
        steps.append(Step(context, exten, prio, prio_match.group(2), app, args, number))
    return contexts


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """manager.conf: ``[section]`` then ``key = value``; a repeated key must not occur."""
    sections: dict[str, dict[str, str]] = {}
    section: dict[str, str] | None = None
    for raw in text.splitlines():
        line = strip_comment(raw)
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            section = sections.setdefault(header.group(1), {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"unexpected line {raw!r}"
        assert section is not None, f"line outside a section: {raw!r}"
        assert key.strip() not in section, f"repeated key {key.strip()!r}"
        section[key.strip()] = value.strip()
    return sections
