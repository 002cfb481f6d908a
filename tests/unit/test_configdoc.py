"""docs/config.md is generated from acd/config/schema.py and must not drift from it."""

from __future__ import annotations

import subprocess
import sys

import msgspec

from acd.config import schema as config
from acd.config.reference import REGENERATE, field_comments, render
from tests.support.paths import REPO

DOC = REPO / "docs" / "config.md"


def test_committed_reference_is_the_generated_one() -> None:
    committed = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
    assert committed == render(), (
        "docs/config.md is out of date with acd/config/schema.py; regenerate it with:\n"
        f"    {REGENERATE}\n(or: make config-doc) and commit the result")


def test_the_command_prints_the_reference() -> None:
    done = subprocess.run([sys.executable, "-m", "acd.cli", "config-reference"],
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout == render()


def test_every_key_of_every_table_is_in_the_reference() -> None:
    text = render()
    tables = {"[site]": config.SiteConfig, "[ami]": config.AmiConfig,
              "[routing]": config.RoutingConfig, "[skills.<SKILL>]": config.SkillConfig,
              '[numbers."<NUMBER>"]': config.NumberConfig, "[[agents]]": config.AgentConfig,
              "[[partners]]": config.PartnerConfig, "[overflow.<QUEUE>]": config.OverflowRule}
    for header, struct in tables.items():
        section = text.split(f"## `{header}`\n", 1)[1].split("\n## ", 1)[0]
        for name in struct.__struct_fields__:
            assert f"| `{name}` |" in section, (header, name)


def test_types_defaults_and_comments_come_from_the_structs() -> None:
    text = render()
    assert ("| `port` | integer (≥ 1, ≤ 65 535) | `5038` | manager.conf [general] port |"
            in text)
    assert "| `ring_timeout_s` | number (> 0, ≤ 86 400) | `15.0` | seconds an agent's" in text
    assert ('| `fallback` | list of one of `"original_queue"`, `"overflow"`, `"transferrer"` | '
            '`["transferrer", "original_queue", "overflow"]` |') in text
    assert "| `secret_file` | string, optional | unset |" in text
    assert "| `id` | string (matching `^[A-Za-z0-9_.-]{1,64}$`) | **required** |" in text
    # a two-line comment is joined; the comment of one field never leaks to the next
    comments = field_comments(config)["AmiConfig"]
    assert comments["keepalive_s"].startswith("a Ping is sent")
    assert comments["keepalive_timeout_s"].startswith("... and the link")
    assert comments["secret_file"].startswith("file holding the secret")
    assert msgspec.json.encode(comments)  # plain strings


def test_regeneration_is_written_in_the_contributor_docs() -> None:
    assert REGENERATE in (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
