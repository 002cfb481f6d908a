"""Site configs: the shipped examples load, and broken files are refused clearly.

A refused file must say ``file: key.path: problem`` so an operator can fix it without
reading code; the tests check the key path and the problem text, not only the raise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from acd.config import STANDARD_SKILLS, Config
from acd.config.load import load_config
from acd.errors import ConfigError
from tests.support.paths import REPO

CONFIG_DIR = REPO / "config"
EXAMPLES = sorted(CONFIG_DIR.glob("*.toml"))


# --- the shipped examples ------------------------------------------------------------


def test_examples_are_present() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"sas-large.toml", "sas-small.toml", "lab.toml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads(path: Path) -> None:
    config = load_config(path)
    assert config.agents
    # 15 always reaches the front office.
    assert config.numbers["15"].queue == "ARM_N1"
    # Every skill section carries the role label the DGOS talk-time indicators need.
    assert all(skill.role for skill in config.skills.values())


def _holders(config: Config, skill: str, level: int = 1) -> list[str]:
    return [a.id for a in config.agents if a.skills.get(skill) == level]


def test_large_example_shape() -> None:
    config = load_config(CONFIG_DIR / "sas-large.toml")
    assert config.site.departement == "59"
    assert config.site.timezone == "Europe/Paris"
    assert len(config.agents) >= 35
    for skill in STANDARD_SKILLS:
        assert _holders(config, skill), f"no level-1 agent for {skill}"
    # N1/N2 rotation: both halves of the ARM pool exist.
    assert any(a.skills == {"ARM_N1": 1, "AMU_N2": 2} for a in config.agents)
    assert any(a.skills == {"AMU_N2": 1, "ARM_N1": 2} for a in config.agents)
    # ARM are not put on OSNP seats.
    assert not any({"ARM_N1", "OSNP"} <= a.skills.keys() for a in config.agents)
    assert {n: e.queue for n, e in config.numbers.items()} == {
        "15": "ARM_N1",
        "116117": "ARM_N1",
        "0320334455": "ARM_N1",
    }
    assert config.redis is not None
    # No secret file: the units hand each secret over as a credential; a file named here
    # would be read by the units' DynamicUser, which cannot read root's /etc/acd files.
    assert config.ami.secret_file is None and config.redis.password_file is None
    assert config.api.tokens_file is None
    assert (config.http.bind, config.http.port) == ("127.0.0.1", 8080)
    logged_in = [a for a in config.agents if a.logged_in]
    assert 0 < len(logged_in) < len(config.agents)


def test_small_example_shape() -> None:
    config = load_config(CONFIG_DIR / "sas-small.toml")
    assert len(config.agents) <= 12
    assert config.redis is None
    for skill in STANDARD_SKILLS:
        assert _holders(config, skill), f"no level-1 agent for {skill}"


def test_lab_example_shape() -> None:
    config = load_config(CONFIG_DIR / "lab.toml")
    ids = ["1001", "1002", "1003", "1004"]
    assert [a.id for a in config.agents] == ids
    assert [a.device for a in config.agents] == [f"Local/{i}@agents" for i in ids]
    assert all(a.logged_in for a in config.agents)
    assert (config.ami.host, config.ami.port) == ("127.0.0.1", 5038)
    assert config.http.port == 8080


# --- broken files ----------------------------------------------------------------------

#: A valid file; each broken case below changes exactly one thing in it.
BASE = """\
[site]
name = "Test SAS"
departement = "59"
timezone = "Europe/Paris"

[ami]
host = "127.0.0.1"
username = "acd"

[routing]
ring_timeout_s = 15
orphan_requeue_s = 3
max_missed_offers = 2

[skills.ARM_N1]
role = "ARM front office"
wrap_up_s = 5
expansion_s = [15, 45]

[[agents]]
id = "arm01"
device = "PJSIP/arm01"
skills = { ARM_N1 = 1, AMU_N2 = 2 }

[[agents]]
id = "arm02"
device = "PJSIP/arm02"
skills = { AMU_N2 = 1, ARM_N1 = 2 }

[[agents]]
id = "mg01"
device = "PJSIP/mg01"
skills = { MG = 1 }
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _broken(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    return BASE.replace(old, new)


def _refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert info.value.code == "config_invalid"
    return info.value


def _assert_problem(error: ConfigError, path: Path, key: str, *fragments: str) -> None:
    """One line reads ``<file>: <key>: <problem>`` and the problem holds every fragment."""
    prefix = f"{path}: {key or '(file)'}: "
    lines = [line for line in error.lines() if line.startswith(prefix)]
    assert lines, f"no line for {key!r} in {error.lines()}"
    assert any(all(f in line[len(prefix) :] for f in fragments) for line in lines), lines


def test_base_is_valid(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, BASE))
    assert [a.id for a in config.agents] == ["arm01", "arm02", "mg01"]


@pytest.mark.parametrize(
    ("old", "new", "key", "fragments"),
    [
        pytest.param(
            "skills = { MG = 1 }",
            "skills = { XYZ = 1 }",
            "agents[2].skills.XYZ",
            ("unknown skill 'XYZ'", "ARM_N1", "MG"),
            id="unknown-skill",
        ),
        pytest.param(
            'id = "arm02"',
            'id = "arm01"',
            "agents[1].id",
            ("duplicate agent id 'arm01'", "agents[0]"),
            id="duplicate-id",
        ),
        pytest.param(
            'device = "PJSIP/arm02"',
            'device = "PJSIP/arm01"',
            "agents[1].device",
            ("'PJSIP/arm01'", "agents[0]"),
            id="duplicate-device",
        ),
        pytest.param(
            "ring_timeout_s = 15",
            "ring_timeout_s = -1",
            "routing.ring_timeout_s",
            ("> 0",),
            id="negative-ring-timeout",
        ),
        pytest.param(
            "orphan_requeue_s = 3",
            "orphan_requeue_s = -3",
            "routing.orphan_requeue_s",
            (">= 0",),
            id="negative-orphan-delay",
        ),
        pytest.param(
            "wrap_up_s = 5",
            "wrap_up_s = -3",
            "skills.ARM_N1.wrap_up_s",
            (">= 0",),
            id="negative-wrap-up",
        ),
        pytest.param(
            "expansion_s = [15, 45]",
            "expansion_s = [45, 15]",
            "skills.ARM_N1.expansion_s",
            ("must not decrease",),
            id="decreasing-expansion",
        ),
        pytest.param(
            'timezone = "Europe/Paris"',
            'timezone = "Europe/Pariss"',
            "site.timezone",
            ("unknown time zone 'Europe/Pariss'",),
            id="bad-timezone",
        ),
        pytest.param(
            'timezone = "Europe/Paris"',
            'timezone = "../../etc/passwd"',
            "site.timezone",
            ("unknown time zone",),
            id="timezone-path",
        ),
        pytest.param(
            "ring_timeout_s = 15",
            "ring_timout_s = 15",
            "routing",
            ("unknown field", "ring_timout_s"),
            id="unknown-key",
        ),
        pytest.param(
            "[routing]",
            "[rooting]",
            "",
            ("unknown field", "rooting"),
            id="unknown-section",
        ),
        pytest.param(
            "max_missed_offers = 2",
            'max_missed_offers = "two"',
            "routing.max_missed_offers",
            ("Expected `int`", "got `str`"),
            id="wrong-type-str",
        ),
        pytest.param(
            'departement = "59"',
            "departement = 59",
            "site.departement",
            ("Expected `str`", "got `int`"),
            id="wrong-type-int",
        ),
        pytest.param(
            'departement = "59"\n',
            "",
            "site",
            ("missing required field", "departement"),
            id="missing-departement",
        ),
        pytest.param(
            'departement = "59"',
            'departement = "5"',
            "site.departement",
            ("regex",),
            id="bad-departement",
        ),
    ],
)
def test_broken_file_is_refused(
    tmp_path: Path, old: str, new: str, key: str, fragments: tuple[str, ...]
) -> None:
    path = _write(tmp_path, _broken(old, new))
    _assert_problem(_refused(path), path, key, *fragments)


def test_secret_in_ami_section_is_refused_and_not_echoed(tmp_path: Path) -> None:
    path = _write(tmp_path, _broken('username = "acd"', 'username = "acd"\nsecret = "s3cr3t!"'))
    error = _refused(path)
    _assert_problem(error, path, "ami.secret", "must not be in the config file", "ACD_AMI_SECRET")
    assert "s3cr3t!" not in str(error)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    lineno = BASE.splitlines().index("[routing]") + 1
    path = _write(tmp_path, _broken("[routing]", "[routing"))
    _assert_problem(_refused(path), path, "", "TOML syntax error", f"line {lineno}")


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.replace("Test SAS", "Sécurité").encode("latin-1"))
    _assert_problem(_refused(path), path, "", "not UTF-8")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    _assert_problem(_refused(path), path, "", "cannot read file", "No such file")


def test_directory_is_refused(tmp_path: Path) -> None:
    _assert_problem(_refused(tmp_path), tmp_path, "", "cannot read file", "directory")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files whatever their mode"
)
def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE)
    path.chmod(0)
    try:
        _assert_problem(_refused(path), path, "", "cannot read file", "Permission denied")
    finally:
        path.chmod(0o600)


def test_bad_skill_name_on_agent_names_the_agent(tmp_path: Path) -> None:
    path = _write(tmp_path, _broken("skills = { MG = 1 }", "skills = { mg = 1 }"))
    error = _refused(path)
    _assert_problem(error, path, "agents[2].skills.mg", "upper case")
    assert "$." not in str(error)


def test_infinite_delay_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _broken("ring_timeout_s = 15", "ring_timeout_s = inf"))
    _assert_problem(_refused(path), path, "routing.ring_timeout_s", "<= 86400")
