"""The layers import downward only, and no module imports itself back through others.

docs/architecture.md draws the same picture; this test is what keeps the two honest. Every
import counts, also those inside functions: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Bottom to top: a package may import the packages below it, never those above or beside it.
LAYERS = [
    {"schemas"},
    {"ingest", "importers"},
    {"storage"},
    {"pipelines"},
    {"planning"},
    {"report"},
    {"flows"},
    {"microradar"},
]
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}
# Developer tools sit beside the product: they may use it, the product never uses them, but for
# the command line's `generate` and `demo`, which exist to run the generator.
TOOLS = {"tools", "bench"}
MAY_USE_TOOLS = {"microradar.commands.demo"}


def modules() -> dict[str, Path]:
    found = {}
    for package in [*LEVEL, *TOOLS]:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules `path` imports (relative ones resolved against `name`). `from a import b`
    is an arrow to the module a.b when there is one, else to a."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: -node.level] if not path.name == "__init__.py" else name.split(".")
                base = ".".join(parent + ([base] if base else []))
            out |= {
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            }
    return {i for i in out if i.split(".")[0] in LEVEL or i.split(".")[0] in TOOLS}


MODULES = modules()
GRAPH = {
    name: {i for i in imports(path, name, set(MODULES)) if i in MODULES and i != name}
    for name, path in MODULES.items()
}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.split(".")[0] in LEVEL))
def test_a_product_module_imports_only_its_own_package_and_lower_layers(name):
    package = name.split(".")[0]
    bad = []
    for target in sorted(GRAPH[name]):
        other = target.split(".")[0]
        if other in TOOLS:
            if name not in MAY_USE_TOOLS:
                bad.append(f"{target} (a developer tool)")
        elif other != package and LEVEL[other] >= LEVEL[package]:
            bad.append(f"{target} (layer {other} is not below {package})")
    assert not bad, f"{name} imports upward or sideways: {', '.join(bad)}"


def test_no_module_imports_itself_back():
    """No import cycle between modules: depth-first search for a back edge."""
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_the_layer_table_knows_every_package():
    """A new top-level package must be placed in LAYERS (and in docs/architecture.md)."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "sql"}
    assert packages <= set(LEVEL) | TOOLS, f"place these in LAYERS: {sorted(packages - set(LEVEL) - TOOLS)}"
