"""``acd check-config``: load each file, check the secret files it names, say what its
routing choices do (:mod:`acd.config.explain`), print the warnings of a valid file
(:mod:`acd.config.warnings`)."""

from __future__ import annotations

import sys

from acd.config.explain import routing_explained
from acd.config.load import load_config
from acd.config.secrets import secret_file_problems
from acd.config.warnings import config_warnings
from acd.errors import ConfigError
from acd.shipped import locate


def check_config_command(files: list[str]) -> int:
    """0 when every file is valid and its secret files readable, else 1."""
    status = 0
    for path in files:
        try:
            config = load_config(locate(path))
        except ConfigError as exc:
            for line in exc.lines():
                print(line, file=sys.stderr)
            status = 1
            continue
        problems = secret_file_problems(config)
        if problems:
            for line in ConfigError(path, problems).lines():
                print(line, file=sys.stderr)
            status = 1
            continue
        print(f"{path}: ok ({config.site.name}, {len(config.agents)} agents, "
              f"skills {', '.join(config.skill_names())})")
        for sentence in routing_explained(config):
            print(f"{path}: {sentence}")
        for warning in config_warnings(config):
            print(f"{path}: warning: {warning}", file=sys.stderr)
    return status
