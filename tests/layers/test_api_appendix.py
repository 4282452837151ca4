"""The book's API appendix names, per layer, the tests that show how it differs from Keras core
and keras-cv; those tests must exist, and every public layer must have its row."""

import ast
import re
from pathlib import Path

import pytest

from keraslab import layers as kl

ROOT = Path(__file__).resolve().parents[2]
APPENDIX = ROOT / "book" / "api.md"


def _section():
    text = APPENDIX.read_text()
    start = text.index("## How the layers differ from Keras core's and keras-cv's")
    return text[start : text.index("\n## ", start + 1)]


def _defined_names(path):
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


REFERENCES = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", _section())


def test_the_appendix_names_tests():
    assert len(REFERENCES) >= 10


@pytest.mark.parametrize("path, name", REFERENCES, ids=[f"{p}::{n}" for p, n in REFERENCES])
def test_each_named_test_exists(path, name):
    file = ROOT / path
    assert file.is_file(), f"{path} is named in book/api.md but does not exist"
    if name:
        assert name in _defined_names(file), f"{path}::{name} is named in book/api.md but not defined"


def test_every_public_layer_and_lsuv_has_a_row():
    rows = set(re.findall(r"^\| `(\w+)` \|", _section(), flags=re.MULTILINE))
    public = {name for name in kl.__all__ if name[0].isupper()} | {"lsuv_init"}
    assert public <= rows, f"no row for {sorted(public - rows)}"
