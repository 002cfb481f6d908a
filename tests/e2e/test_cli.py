"""The ``acd`` command as operators call it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import acd
from tests.support.paths import REPO


def test_check_config_accepts_the_example_sites() -> None:
    sites = sorted(str(p) for p in (REPO / "config").glob("*.toml"))
    result = acd("check-config", *sites)
    # the only problem allowed: a secret file an example names for a production host
    problems = result.stderr.splitlines()
    assert all(": ami.secret_file: no such file: /etc/acd/" in line for line in problems), \
        result.stderr
    assert result.stdout.count(": ok (") + len(problems) == len(sites)


def test_check_config_warns_of_a_ring_timeout_racing_the_dialplan(tmp_path: Path) -> None:
    racing = tmp_path / "racing.toml"
    racing.write_text((REPO / "config" / "sas-small.toml").read_text(encoding="utf-8")
                      .replace("ring_timeout_s = 20.0", "ring_timeout_s = 10.0", 1),
                      encoding="utf-8")
    result = acd("check-config", str(racing))
    assert result.returncode == 0
    assert f"{racing}: ok (" in result.stdout
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"{racing}: warning: [routing] ring_timeout_s = 10 ")
    assert "ACD_RING = 15 s" in warning


def small_site_with(path: Path, routing_line: str) -> Path:
    """config/sas-small.toml with one more ``[routing]`` line, written at ``path``."""
    site = REPO / "config" / "sas-small.toml"
    path.write_text(site.read_text(encoding="utf-8").replace(
        "[routing]\n", f"[routing]\n{routing_line}\n", 1), encoding="utf-8")
    return path


def test_check_config_explains_the_backups_rule(tmp_path: Path) -> None:
    spare = REPO / "config" / "sas-small.toml"
    fixed = small_site_with(tmp_path / "fixed.toml", 'backups = "fixed"')
    result = acd("check-config", str(spare), str(fixed))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(f'{spare}: routing: backups = "spare": ') and
               "can spare them" in line and "risk of 0.1" in line for line in lines)
    assert any(line.startswith(f'{fixed}: routing: backups = "fixed": ') and
               "ARM_N1 10 s" in line for line in lines)


def test_check_config_explains_the_ring_groups(tmp_path: Path) -> None:
    site = REPO / "config" / "sas-small.toml"
    one = small_site_with(tmp_path / "one.toml", "ring_phones = 1")
    result = acd("check-config", str(site), str(one))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"{site}: routing: ring_phones = 3: a caller rings up to 3 free agents" \
        " of the same level at once, the first to answer takes it; only agents no other" \
        " caller or warm transfer waits for" in lines
    assert f"{one}: routing: ring_phones = 1: one phone rings at a time for a caller" in lines


def test_check_config_rejects_with_file_key_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[site]\nname = "x"\ndepartement = "59"\ntimezone = "Europe/Lile"\n\n'
                   '[[agents]]\nid = "a1"\ndevice = "PJSIP/a1"\nskills = { XYZ = 1 }\n'
                   '[[agents]]\nid = "a1"\ndevice = "PJSIP/a2"\nskills = { MG = 1 }\n')
    good = REPO / "config" / "sas-small.toml"
    result = acd("check-config", str(good), str(bad))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert f"{bad}: site.timezone: unknown time zone 'Europe/Lile'" in lines
    assert any(line.startswith(f"{bad}: agents[0].skills.XYZ: unknown skill") for line in lines)
    assert any(line.startswith(f"{bad}: agents[1].id: duplicate agent id 'a1'")
               for line in lines)
    assert f"{good}: ok" in result.stdout


def test_check_config_checks_the_secret_files_it_names(tmp_path: Path) -> None:
    secret = tmp_path / "ami-secret"
    secret.write_text("not printed")
    site = '[site]\nname = "x"\ndepartement = "59"\n'
    good = tmp_path / "good.toml"
    good.write_text(site + f'[ami]\nsecret_file = "{secret}"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text(site + f'[ami]\nsecret_file = "{tmp_path}/missing"\n'
                   f'[api]\ntokens_file = "{tmp_path}"\n'
                   f'[redis]\npassword_file = "{tmp_path}/gone"\n')
    result = acd("check-config", str(good), str(bad))
    assert result.returncode == 1
    assert f"{good}: ok" in result.stdout
    assert result.stderr.splitlines() == [
        f"{bad}: ami.secret_file: no such file: {tmp_path}/missing",
        f"{bad}: api.tokens_file: not a regular file: {tmp_path}",
        f"{bad}: redis.password_file: no such file: {tmp_path}/gone"]
    assert "not printed" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["run", "check-config", "replay"])
def test_every_command_has_help(command: str) -> None:
    result = acd(command, "--help")
    assert result.returncode == 0
    assert f"usage: acd {command}" in result.stdout


def test_unknown_command_is_refused() -> None:
    result = acd("fly")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
