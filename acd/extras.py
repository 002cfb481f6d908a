"""Which optional part of acd (an *extra*: ``plan``, ``load``…) brings a module.

A command that needs an extra the install lacks (``acd plan`` without ``acd[plan]``)
says which one to install instead of ending in a traceback. The answer is read from
acd's own installed metadata (``Requires-Dist: scipy>=1.11; extra == "plan"``), so the
rule is the one ``pyproject.toml`` writes, not a second list.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def extra_providing(module: str | None) -> str | None:
    """The extra whose requirements name the distribution of top-level ``module``
    (``numpy`` → ``plan``), or None when no extra names it."""
    if not module:
        return None
    top = _normalized(module.partition(".")[0])
    try:
        declared = requires("acd") or []
    except PackageNotFoundError:
        return None
    for requirement in declared:
        name, extra = _REQUIREMENT.match(requirement), _EXTRA.search(requirement)
        if name and extra and _normalized(name.group(1)) == top:
            return extra.group(1)
    return None
