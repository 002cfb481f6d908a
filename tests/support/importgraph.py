"""The import graph of a package read from its source, type-only imports included.

import-linter checks the layers between packages; this finds circles inside one
package, including those hidden under ``if TYPE_CHECKING:`` that Python never runs
but a reader still has to follow. ``python -m tests.support.importgraph acd/sim``
prints each circle (its modules, one strongly connected component per line).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

from tests.support.paths import REPO


def module_name(path: Path, root: Path = REPO) -> str:
    """``acd/sim/pbx.py`` → ``acd.sim.pbx``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path, modules: Collection[str]) -> Iterator[str]:
    """The modules of ``modules`` that ``path`` imports, relative imports resolved:
    ``from a import b`` imports the module ``a.b`` if there is one, else ``a``."""
    is_init = path.name == "__init__.py"
    here = module_name(path, root).split(".")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here if is_init else here[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in modules else base


def import_graph(directory: Path, root: Path = REPO) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports (itself excluded); module
    names are paths relative to ``root``."""
    modules = {module_name(p, root): p for p in sorted(directory.rglob("*.py"))}
    return {name: {m for m in _imports(path, root, modules) if m in modules and m != name}
            for name, path in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def main(argv: list[str]) -> int:
    status = 0
    for directory in argv or ["acd/core", "acd/sim", "acd/service"]:
        found = cycles(import_graph((REPO / directory).resolve()))
        print(f"{directory}: {len(found)} circle(s)")
        for component in found:
            print(f"  {len(component)} modules: {' '.join(component)}")
        status = status or int(bool(found))
    return status


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    raise SystemExit(main(sys.argv[1:]))
