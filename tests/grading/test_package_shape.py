"""The grading package's shape, read from its source with `ast`: no import cycle between its
modules (imports inside functions count too), and no private name used across modules."""

from __future__ import annotations

import ast
from pathlib import Path

import keraslab.grading

PACKAGE = "keraslab.grading"
FOLDER = Path(keraslab.grading.__file__).parent
MODULES = {path.stem: path for path in sorted(FOLDER.glob("*.py"))}


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"), str(MODULES[name]))


def _imports(tree: ast.Module) -> list[tuple[str, str, str]]:
    """``(module imported, name, bound as)`` for every import of the package, anywhere."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            for alias in node.names:
                module = alias.name if alias.name in MODULES else "__init__"
                found.append((module, alias.name, alias.asname or alias.name))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
            module = node.module.split(".")[2]
            found += [(module, alias.name, alias.asname or alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.append((alias.name.split(".")[2], "", alias.asname or alias.name))
    return found


def _graph() -> dict[str, set[str]]:
    return {
        name: {module for module, _, _ in _imports(_tree(name)) if module != name}
        for name in MODULES
    }


def _cycle(graph) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_grading_package_has_no_import_cycle():
    graph = _graph()
    assert "grade" in graph and "cli" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_no_private_name_is_used_across_modules():
    used = []
    for name in MODULES:
        tree = _tree(name)
        modules = set()
        for module, imported, bound in _imports(tree):
            if imported.startswith("_") and not imported.startswith("__"):
                used.append(f"{name} imports {module}.{imported}")
            if imported in MODULES or not imported:
                modules.add(bound.split(".")[0] if not imported else bound)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                used.append(f"{name} uses {node.value.id}.{node.attr}")
    assert used == []


def test_grade_holds_what_it_uses_and_re_exports_nothing_for_tests():
    tree = _tree("grade")
    imported = {bound for _, _, bound in _imports(tree)}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.value.id for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                  and isinstance(node.value, ast.Name)}
    assert imported - names - attributes == set()
