"""One builder of site configurations: a test says how its room differs from a small
default site (``[site]`` and nothing else), and gets the TOML text.

A test whose exact TOML text is the point (a parse error, a comment, a key spelling)
keeps its text inline instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from acd.config import Config
from acd.config.load import parse_config

# the tests' rooms on one backups rule or the other
from acd.tools.plan.policies import with_backups as with_backups

Scalar = str | int | float | bool
Value = Scalar | Sequence[Scalar] | Mapping[str, Scalar]
Table = Mapping[str, Value]


def _value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    return "[" + ", ".join(_value(v) for v in value) + "]"


def _table(header: str, table: Table) -> str:
    return f"\n{header}\n" + "".join(f"{key} = {_value(v)}\n" for key, v in table.items())


def agent(agent_id: str, device: str | None = None, *, logged_in: bool | None = None,
          **skills: int) -> dict[str, Value]:
    """One ``[[agents]]`` entry; the phone is ``PJSIP/<id>`` unless given."""
    entry: dict[str, Value] = {"id": agent_id, "device": device or f"PJSIP/{agent_id}",
                               "skills": skills}
    if logged_in is not None:
        entry["logged_in"] = logged_in
    return entry


def partner(name: str, **keys: Scalar) -> dict[str, Value]:
    """One ``[[partners]]`` entry: a partner SAS reached at ``PJSIP/<name>/15``."""
    return {"name": name, "dial": f"PJSIP/{name}/15", **keys}


def local_agents(*ids: str, skill: str = "ARM_N1", logged_in: bool = True,
                 level: int = 1) -> list[dict[str, Value]]:
    """Agents whose phones are the simulator's ``Local/<id>@agents``."""
    return [{"id": agent, "device": f"Local/{agent}@agents", "skills": {skill: level},
             "logged_in": logged_in} for agent in ids]


def site_toml(name: str, *, departement: str = "59",
              sections: Mapping[str, Table] | None = None,
              skills: Mapping[str, Table] | None = None,
              numbers: Mapping[str, str] | None = None,
              agents: Sequence[Table] = (),
              partners: Sequence[Table] = ()) -> bytes:
    """A site's TOML: ``[site]``, then each of ``sections`` (``{"routing": {...}}``,
    ``ami``, ``http``, ``redis``, ``transfers``…), ``[skills.X]``, ``[numbers."N"]``
    (queue), ``[[agents]]``, ``[[partners]]`` in that order."""
    text = _table("[site]", {"name": name, "departement": departement}).lstrip("\n")
    for section, table in (sections or {}).items():
        text += _table(f"[{section}]", table)
    for skill, table in (skills or {}).items():
        text += _table(f"[skills.{skill}]", table)
    for number, queue in (numbers or {}).items():
        text += _table(f'[numbers."{number}"]', {"queue": queue})
    for entry in agents:
        text += _table("[[agents]]", entry)
    for entry in partners:
        text += _table("[[partners]]", entry)
    return text.encode()


#: the engine tests' room: two ARM agents, an AMU who also takes ARM, a logged-out MG;
#: one phone rung at a time (ring groups have their own tests: test_ring_group.py)
SITE_TOML = site_toml(
    "SAS test",
    sections={"routing": {"ring_timeout_s": 10, "max_missed_offers": 2,
                          "orphan_requeue_s": 3, "ring_phones": 1}},
    skills={"ARM_N1": {"wrap_up_s": 5, "expansion_s": [20, 60]},
            "AMU_N2": {"wrap_up_s": 0, "expansion_s": [30]}},
    numbers={"15": "ARM_N1", "116117": "ARM_N1"},
    agents=[agent("arm01", ARM_N1=1, AMU_N2=2, logged_in=True),
            agent("arm02", ARM_N1=1, logged_in=True),
            agent("amu01", AMU_N2=1, ARM_N1=2, logged_in=True),
            agent("mg01", MG=1)])


def site_config() -> Config:
    """:data:`SITE_TOML` parsed."""
    return parse_config(SITE_TOML, "test-site.toml")


#: :data:`SITE_TOML` with two OSNP agents and warm transfers (30 s to find a target)
WARM_SITE_TOML = SITE_TOML + b"""
[[agents]]
id = "osnp01"
device = "PJSIP/osnp01"
skills = { OSNP = 1 }
logged_in = true

[[agents]]
id = "osnp02"
device = "PJSIP/osnp02"
skills = { OSNP = 1 }
logged_in = true

[transfers]
mode = "warm"
warm_max_wait_s = 30
"""
