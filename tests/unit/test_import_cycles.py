"""No import circle inside a package, type-only imports (``if TYPE_CHECKING:``) included.

A circle, even one Python never runs, means no module of it can be read, tested or
replaced without the others. ``acd/core``'s direction is also kept by import-linter
(its layers contract, ``pyproject.toml``); this test sees type-only imports too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.importgraph import cycles, import_graph
from tests.support.paths import REPO


@pytest.mark.parametrize("package", [
    "acd/core",
    "acd/sim",
    "acd/service",
])
def test_no_import_circle_inside(package: str) -> None:
    assert cycles(import_graph(REPO / package)) == []


def test_a_type_only_import_closes_a_circle(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import B\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    from pkg import a\n")
    (package / "c.py").write_text("from .a import A\n")
    assert cycles(import_graph(package, tmp_path)) == [["pkg.a", "pkg.b"]]


def test_one_direction_is_no_circle(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.a import A\n")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("import os\n")
    assert cycles(import_graph(package, tmp_path)) == []
