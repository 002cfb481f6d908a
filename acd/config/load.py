"""Reading a site config: TOML decoded into the Structs of :mod:`acd.config.schema`.

Every problem is reported as ``file: key.path: problem`` so an operator can fix a file
without reading code. Unknown keys are errors (a typo must not silently fall back to a
default). Secrets never live in the file: see :mod:`acd.config.secrets`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated

import msgspec

from acd.config.schema import SKILL_NAME_RE, Config, NumberConfig, SkillConfig
from acd.config.validate import validate
from acd.errors import ConfigError

_PATH_RE = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def split_msgspec_error(text: str) -> tuple[str, str]:
    """msgspec says ``problem - at `$.a.b[0]` ``; we say ``a.b[0]`` and ``problem``."""
    match = _PATH_RE.search(text)
    if not match:
        return "", text
    path = match.group("path").lstrip(".")
    problem = text[: match.start()]
    return path, problem


def _check_entry(path: str, value: object, kind: object) -> list[tuple[str, str]]:
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        key, problem = split_msgspec_error(str(exc))
        return [(f"{path}.{key}" if key else path, problem)]
    return []


def _locate_in_tables(data: dict[str, object]) -> list[tuple[str, str]]:
    """Check keyed tables entry by entry: msgspec reports a bad entry of a dict as
    ``[...]``, and an operator needs to know which one."""
    problems: list[tuple[str, str]] = []
    skill_re = re.compile(SKILL_NAME_RE)
    skills = data.get("skills")
    if isinstance(skills, dict):
        for key, value in skills.items():
            if not skill_re.match(key):
                problems.append((f"skills.{key}", _SKILL_NAME_PROBLEM))
            problems += _check_entry(f"skills.{key}", value, SkillConfig)
    numbers = data.get("numbers")
    if isinstance(numbers, dict):
        for key, value in numbers.items():
            problems += _check_entry(f"numbers.{key}", value, NumberConfig)
    agents = data.get("agents")
    for i, agent in enumerate(agents if isinstance(agents, list) else []):
        levels = agent.get("skills") if isinstance(agent, dict) else None
        for key, value in (levels.items() if isinstance(levels, dict) else ()):
            if not skill_re.match(key):
                problems.append((f"agents[{i}].skills.{key}", _SKILL_NAME_PROBLEM))
            problems += _check_entry(f"agents[{i}].skills.{key}", value,
                                     Annotated[int, msgspec.Meta(ge=1, le=9)])
    return problems


_SKILL_NAME_PROBLEM = "a skill name is upper case letters, digits and _ (e.g. ARM_N1, PSY)"


def load_config(path: str | Path) -> Config:
    """Read, decode and check a site config; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [("", f"cannot read file: {exc.strerror}")]) from exc
    return parse_config(raw, str(path))


def parse_config(raw: bytes, name: str = "<config>") -> Config:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(name, [("", f"not UTF-8 text: {exc}")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, [("", f"TOML syntax error: {exc}")]) from exc
    if isinstance(data.get("ami"), dict) and "secret" in data["ami"]:
        raise ConfigError(name, [("ami.secret", "secrets must not be in the config file; "
                                  "use ACD_AMI_SECRET, ami.secret_file or systemd credentials")])
    located = _locate_in_tables(data)
    if located:
        raise ConfigError(name, located)
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        key, problem = split_msgspec_error(str(exc))
        raise ConfigError(name, [(key, problem)]) from exc
    problems = validate(config)
    if problems:
        raise ConfigError(name, problems)
    return config
