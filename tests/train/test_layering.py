"""The engine (`keraslab.train`) never imports the course's labs (`keraslab.labs`), which sit above it."""

import ast
from pathlib import Path

import keraslab

PACKAGE = Path(keraslab.__file__).parent


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_train_never_imports_labs():
    offenders = {path.name: name for path in (PACKAGE / "train").glob("*.py") for name in _imported_modules(path)
                 if name == "keraslab.labs" or name.startswith("keraslab.labs.")}
    assert not offenders, offenders


def test_the_checker_sees_imports_inside_functions(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from keraslab.labs import run_lab\n")
    assert "keraslab.labs" in set(_imported_modules(tmp_path / "m.py"))
