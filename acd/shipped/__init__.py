"""The example files that come with acd, found from any working directory.

``config/`` (the example sites and their scenarios) and ``dialplans/`` (the Asterisk
files) are the repository's folders; ``acd/shipped/`` links to them, so the wheel
carries them as package data and an installed ``acd`` finds them where it is installed.

The rule, for the commands that read a scenario or an example site (``simulate``,
``demo``, ``plan``, ``check-config``, ``route``, ``sim``): a path that exists is taken
as given; a relative one that does not is looked up among the shipped files, as a path
of the repository (``config/scenarios/sas-large-demo-morning.toml``) or as a bare
scenario name (``sas-large-demo-morning``). A site points at its own files with a
path that exists; ``acd run`` takes its configuration only as given.
"""

from __future__ import annotations

from pathlib import Path

#: where the shipped tree lies (``config/``, ``config/scenarios/``, ``dialplans/``)
ROOT = Path(__file__).resolve().parent
SCENARIOS = ROOT / "config" / "scenarios"


def locate(path: str | Path) -> Path:
    """``path`` if it exists (or is absolute); else the shipped file it names; else
    ``path`` unchanged, for the reader to report that it cannot be read."""
    given = Path(path)
    if given.exists() or given.is_absolute():
        return given
    for candidate in (ROOT / given, SCENARIOS / given, SCENARIOS / f"{given}.toml"):
        if candidate.is_file():
            return candidate
    return given


def shipped_scenarios() -> list[str]:
    """The names of the shipped scenarios, for a message that lists them."""
    return sorted(path.stem for path in SCENARIOS.glob("*.toml"))


def shown_path(path: Path) -> Path:
    """``path`` as a person would write it: a shipped file by its repository path
    (``config/sas-large.toml``), any other as it is."""
    try:
        return path.absolute().relative_to(ROOT)
    except ValueError:
        return path
