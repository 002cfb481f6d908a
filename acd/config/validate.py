"""Checks across keys of a decoded site config, that types alone cannot express.

The rules of hours, numbers' PDSA destinations, département and time zone are those of
:mod:`acd.core.hours`, which itself only reads the schema: no import cycle.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfoNotFoundError

from acd.config.schema import FRONT_OFFICE, Config, RedisConfig
from acd.core.hours import check_config as check_hours


def validate(config: Config) -> list[tuple[str, str]]:
    """Checks across keys that types alone cannot express."""
    known = set(config.skill_names())
    return (_check_zone(config) + _check_agents(config, known)
            + _check_numbers(config, known) + _check_skills(config)
            + _check_transfer_modes(config, known) + _check_services(config)
            # [hours], numbers.*.pdsa, département and time zone
            + check_hours(config))


def _check_zone(config: Config) -> list[tuple[str, str]]:
    try:
        config.zone()
    except (ZoneInfoNotFoundError, ValueError):
        return [("site.timezone", f"unknown time zone {config.site.timezone!r}")]
    return []


def _check_agents(config: Config, known: set[str]) -> list[tuple[str, str]]:
    """Agents: unique ids and devices, and skills that exist at a level calls reach."""
    problems: list[tuple[str, str]] = []
    seen_ids: dict[str, int] = {}
    seen_devices: dict[str, int] = {}
    for i, agent in enumerate(config.agents):
        if agent.id in seen_ids:
            first = seen_ids[agent.id]
            problems.append((f"agents[{i}].id",
                             f"duplicate agent id {agent.id!r} (also agents[{first}])"))
        seen_ids.setdefault(agent.id, i)
        if agent.device in seen_devices:
            problems.append((f"agents[{i}].device", f"device {agent.device!r} is already used "
                             f"by agents[{seen_devices[agent.device]}]"))
        seen_devices.setdefault(agent.device, i)
        if not agent.skills:
            problems.append((f"agents[{i}].skills", "an agent needs at least one skill"))
        for skill_name, level in agent.skills.items():
            problem = _agent_skill_problem(config, known, skill_name, level)
            if problem is not None:
                problems.append((f"agents[{i}].skills.{skill_name}", problem))
    return problems


def _agent_skill_problem(config: Config, known: set[str], skill_name: str,
                         level: int) -> str | None:
    if skill_name not in known:
        return f"unknown skill {skill_name!r} (known: {', '.join(sorted(known))})"
    reachable = len(config.skill(skill_name).expansion_s) + 1
    if level > reachable:
        return (f"level {level} never gets calls: skills.{skill_name}."
                f"expansion_s only opens levels up to {reachable}")
    return None


def _check_numbers(config: Config, known: set[str]) -> list[tuple[str, str]]:
    """The number plan: at least one number, well-formed, to known queues, 15 to ARM_N1."""
    problems: list[tuple[str, str]] = []
    for number, entry in config.numbers.items():
        if not re.fullmatch(r"[0-9A-Za-z*#+]{1,32}", number):
            problems.append((f"numbers.{number}", "a number is digits (and * # +) only"))
        if entry.queue not in known:
            problems.append((f"numbers.{number}.queue", f"unknown skill {entry.queue!r}"))
    if not config.numbers:
        problems.append(("numbers", "no number: no call could reach this site"))
    if "15" in config.numbers and config.numbers["15"].queue != FRONT_OFFICE:
        problems.append(("numbers.15.queue", "15 always reaches ARM_N1 (the front office)"))
    return problems


def _check_skills(config: Config) -> list[tuple[str, str]]:
    return [(f"skills.{name}.expansion_s", "delays must not decrease from one level to the "
             "next")
            for name, skill in config.skills.items()
            if skill.expansion_s != sorted(skill.expansion_s)]


def _is_transfer_kind(kind: str, known: set[str]) -> bool:
    parts = kind.split(">")
    return (len(parts) == 2 and parts != ["*", "*"]
            and all(p == "*" or p in known for p in parts))


def _check_transfer_modes(config: Config, known: set[str]) -> list[tuple[str, str]]:
    return [(f"transfers.modes.{kind}", "a transfer kind is \"FROM>TO\", "
             "\"FROM>*\" or \"*>TO\" with known skills (e.g. "
             "\"ARM_N1>AMU_N2\"); use transfers.mode for every kind")
            for kind in config.transfers.modes if not _is_transfer_kind(kind, known)]


def _check_services(config: Config) -> list[tuple[str, str]]:
    """AMI timings, Redis, and the active/standby pair's need of Redis."""
    problems: list[tuple[str, str]] = []
    if config.ami.keepalive_timeout_s >= config.ami.keepalive_s * 4:
        problems.append(("ami.keepalive_timeout_s", "must be shorter than 4 × keepalive_s"))
    if config.redis is not None:
        problems += _check_redis(config.redis)
    if config.ami.reconnect_initial_s > config.ami.reconnect_max_s:
        problems.append(("ami.reconnect_initial_s", "must not exceed ami.reconnect_max_s"))
    if config.leader is not None and config.leader.enabled and config.redis is None:
        problems.append(("leader", "an active/standby pair needs [redis]: the lock lives "
                         "there"))
    return problems


def _check_redis(redis: RedisConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    parts = urlsplit(redis.url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        problems.append(("redis.url", f"scheme {parts.scheme!r}: use redis://, rediss:// "
                         "or unix://"))
    if parts.password:
        problems.append(("redis.url", "secrets must not be in the config file; use "
                         "ACD_REDIS_PASSWORD, redis.password_file or systemd credentials"))
    if redis.retry_initial_s > redis.retry_max_s:
        problems.append(("redis.retry_initial_s", "must not exceed redis.retry_max_s"))
    return problems
