"""``acd check-pbx``: run the checks against the site's Asterisk, one line each."""

from __future__ import annotations

import asyncio

from acd.config.load import load_config
from acd.config.secrets import ami_secret
from acd.tools.pbxcheck.checks import check_pbx, exit_status


def check_pbx_command(config_path: str, timeout_s: float) -> int:
    """Print every finding; 1 if any says FIX."""
    config = load_config(config_path)
    findings = asyncio.run(check_pbx(config, ami_secret(config), timeout_s=timeout_s))
    for finding in findings:
        print(finding.line())
    return exit_status(findings)
