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
    problems: list[tuple[str, str]] = []
    try:
        config.zone()
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(("site.timezone", f"unknown time zone {config.site.timezone!r}"))
    known = set(config.skill_names())
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
            if skill_name not in known:
                problems.append((f"agents[{i}].skills.{skill_name}", f"unknown skill "
                                 f"{skill_name!r} (known: {', '.join(sorted(known))})"))
                continue
            reachable = len(config.skill(skill_name).expansion_s) + 1
            if level > reachable:
                problems.append((f"agents[{i}].skills.{skill_name}",
                                 f"level {level} never gets calls: skills.{skill_name}."
                                 f"expansion_s only opens levels up to {reachable}"))
    for number, entry in config.numbers.items():
        if not re.fullmatch(r"[0-9A-Za-z*#+]{1,32}", number):
            problems.append((f"numbers.{number}", "a number is digits (and * # +) only"))
        if entry.queue not in known:
            problems.append((f"numbers.{number}.queue", f"unknown skill {entry.queue!r}"))
    if not config.numbers:
        problems.append(("numbers", "no number: no call could reach this site"))
    if "15" in config.numbers and config.numbers["15"].queue != FRONT_OFFICE:
        problems.append(("numbers.15.queue", "15 always reaches ARM_N1 (the front office)"))
    for name, skill in config.skills.items():
        if skill.expansion_s != sorted(skill.expansion_s):
            problems.append((f"skills.{name}.expansion_s",
                             "delays must not decrease from one level to the next"))
    for kind in config.transfers.modes:
        parts = kind.split(">")
        if len(parts) != 2 or parts == ["*", "*"] or any(
                p != "*" and p not in known for p in parts):
            problems.append((f"transfers.modes.{kind}", "a transfer kind is \"FROM>TO\", "
                             "\"FROM>*\" or \"*>TO\" with known skills (e.g. "
                             "\"ARM_N1>AMU_N2\"); use transfers.mode for every kind"))
    if config.ami.keepalive_timeout_s >= config.ami.keepalive_s * 4:
        problems.append(("ami.keepalive_timeout_s", "must be shorter than 4 × keepalive_s"))
    if config.redis is not None:
        problems += _check_redis(config.redis)
    if config.ami.reconnect_initial_s > config.ami.reconnect_max_s:
        problems.append(("ami.reconnect_initial_s", "must not exceed ami.reconnect_max_s"))
    if config.leader is not None and config.leader.enabled and config.redis is None:
        problems.append(("leader", "an active/standby pair needs [redis]: the lock lives "
                         "there"))
    # [hours], numbers.*.pdsa, département and time zone
    problems += check_hours(config)
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
