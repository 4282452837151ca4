"""Every package the course's code imports is declared in pyproject.toml for the install that runs
that code.

Each install runs some of the code: the core dependencies run the library and, in Colab, the
exercise notebooks (with the TensorFlow the user picks: the `cpu` or `gpu` extra, or Colab's
own); `grade` the release and grading tools and the solution notebooks' hidden tests; `lab` the
exercise notebooks a student opens locally; `book` the book tools, the book's Sphinx extension
and the code cells of its pages.
The imports are read statically (ast) from every module and notebook, including imports inside
functions, and followed through keraslab's own modules: a grading module that imports
`keraslab._project` needs whatever `_project` imports. An import inside `try: ... except
ImportError` is optional and not counted. Which distribution provides an import name is asked of
the installed environment (`importlib.metadata.packages_distributions`), so `yaml` is PyYAML
and `sklearn` scikit-learn as pip itself sees them.

The real-environment checks are CI's steps that install keraslab as users do (.ci/run:
`instructor`, `colab`, `student`) and run the code there.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "keraslab"

# What each install runs: (extras, code). Code is a list of (folder or glob, kind).
INSTALLS = {
    # Colab: keraslab with no extra over Colab's image, running the exercises.
    "core": ((), [("keraslab", "package"), ("exercises/*.ipynb", "ipynb")]),
    "cpu": (("cpu",), [("keraslab", "package")]),
    "gpu": (("gpu",), [("keraslab", "package")]),
    "grade": (("cpu", "grade"), [("keraslab/grading", "package"), ("solutions/*.ipynb", "ipynb")]),
    "lab": (("cpu", "lab"), [("exercises/*.ipynb", "ipynb")]),
    "book": (
        ("cpu", "book"),
        [("keraslab/book", "package"), ("book/_ext/*.py", "py"), ("book/**/*.md", "myst")],
    ),
}
# Modules that belong to an extra rather than to the core install.
EXTRA_PACKAGES = {"keraslab.grading": "grade", "keraslab.book": "book"}
# The core install leaves TensorFlow to the user: one of these extras, or Colab's own.
TENSORFLOW_EXTRAS = ("cpu", "gpu")


# ---- pyproject ---------------------------------------------------------------------------------


def _name(requirement: str) -> str:
    """The normalized distribution name of a requirement string (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _self_extras(requirement: str) -> list[str]:
    """The extras of a `keraslab[...]` requirement (an extra that includes others)."""
    match = re.fullmatch(r"\s*keraslab\[([a-z0-9,\s-]+)\]\s*", requirement)
    return [e.strip() for e in match.group(1).split(",")] if match else []


def declared(pyproject: dict, extras) -> set[str]:
    """The distribution names the core dependencies and `extras` install (directly)."""
    project = pyproject["project"]
    optional = project.get("optional-dependencies", {})
    names, todo, seen = {_name(r) for r in project["dependencies"]}, list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise KeyError(f"pyproject.toml has no extra {extra!r}")
        for requirement in optional[extra]:
            todo += _self_extras(requirement)
            if not _self_extras(requirement):
                names.add(_name(requirement))
    return names


@functools.cache
def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


# ---- imports, read statically -------------------------------------------------------------------


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = []
    if isinstance(handler.type, ast.Name):
        names = [handler.type.id]
    elif isinstance(handler.type, ast.Tuple):
        names = [e.id for e in handler.type.elts if isinstance(e, ast.Name)]
    return bool({"ImportError", "ModuleNotFoundError"} & set(names))


def _optional_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside `try:` bodies whose handlers catch ImportError."""
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            for statement in node.body:
                optional |= {id(n) for n in ast.walk(statement)}
    return optional


def imported_names(source: str, module: str = "") -> set[str]:
    """Every module name `source` imports, anywhere in it, optional imports left out.

    `from a import b` counts as both `a` and `a.b` (b may be a submodule); relative imports are
    resolved against `module` (the dotted name of the module that holds `source`).
    """
    tree = ast.parse(source)
    optional = _optional_nodes(tree)
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: len(module.split(".")) - node.level]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return {n for n in names if n}


def notebook_code(path: Path) -> str:
    """The code cells of a notebook, shell and magic lines left out."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join(_python_only("".join(c["source"])) for c in cells if c["cell_type"] == "code")


def myst_code(path: Path) -> str:
    """The `{code-cell}` blocks of a MyST Markdown page, their options left out."""
    blocks = re.findall(
        r"^```\{code-cell\}[^\n]*\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S
    )
    code = []
    for block in blocks:
        block = re.sub(r"\A---\n.*?\n---\n", "", block, flags=re.S)
        code.append(
            _python_only("\n".join(line for line in block.splitlines() if not line.startswith(":")))
        )
    return "\n".join(code)


def _python_only(code: str) -> str:
    return "\n".join(
        "" if line.lstrip().startswith(("!", "%")) else line for line in code.splitlines()
    )


# ---- the import graph ---------------------------------------------------------------------------


@dataclasses.dataclass
class Source:
    label: str  # a path relative to the repository
    module: str  # its dotted name when it is a keraslab module, else ""
    imports: set[str]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def package_sources() -> dict[str, Source]:
    """Every keraslab module by dotted name."""
    sources = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        is_package = path.name == "__init__.py"
        imports = imported_names(
            path.read_text(encoding="utf-8"), module + (".__init__" if is_package else "")
        )
        sources[module] = Source(str(path.relative_to(REPO)), module, imports)
    return sources


def _inside(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _owner(module: str, prefix: str) -> bool:
    """Whether `module` is checked with the code of `prefix`: it lies inside it, and not inside
    a folder of an extra (`EXTRA_PACKAGES`) unless `prefix` is that folder."""
    nested = [
        p for p in EXTRA_PACKAGES if _inside(module, p) and p != prefix and _inside(p, prefix)
    ]
    return _inside(module, prefix) and not nested


def sources_for(code) -> list[Source]:
    """The sources an install runs, from `INSTALLS`' code list."""
    found = []
    for pattern, kind in code:
        if kind == "package":
            prefix = pattern.replace("/", ".")
            found += [s for m, s in package_sources().items() if _owner(m, prefix)]
            continue
        read = {
            "ipynb": notebook_code,
            "py": lambda p: p.read_text(encoding="utf-8"),
            "myst": myst_code,
        }[kind]
        for path in sorted(REPO.glob(pattern)):
            if "_build" not in path.parts:
                found.append(Source(str(path.relative_to(REPO)), "", imported_names(read(path))))
    return found


def third_party(names) -> set[str]:
    """Top-level names of imports that are neither the standard library nor keraslab."""
    tops = {n.split(".")[0] for n in names}
    return {
        t for t in tops if t not in sys.stdlib_module_names and t not in ("keraslab", "__future__")
    }


def reachable_imports(source: Source) -> dict[str, str]:
    """Third-party import name -> the keraslab source that imports it, following keraslab's own
    imports from `source` (all of them: a lazy import runs when its function does)."""
    modules, found, todo, seen = package_sources(), {}, [source], set()
    while todo:
        current = todo.pop()
        if current.label in seen:
            continue
        seen.add(current.label)
        for name in sorted(third_party(current.imports)):
            found.setdefault(name, current.label)
        for name in current.imports:
            if name in modules:
                todo.append(modules[name])
    return found


# ---- which distribution provides an import name --------------------------------------------


@functools.cache
def _installed_providers() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def providers(import_name: str) -> set[str]:
    """The normalized names of the installed distributions that provide `import_name`.

    TensorFlow is provided by `tensorflow` (the `gpu` extra, Colab) and `tensorflow-cpu` (the
    `cpu` extra) alike; only one of them is installed at a time.
    """
    names = {_name(d) for d in _installed_providers().get(import_name, [])}
    if names & {"tensorflow", "tensorflow-cpu"}:
        names |= {"tensorflow", "tensorflow-cpu"}
    return names


def undeclared(install: str, pyproject: dict | None = None) -> list[str]:
    """`path: import name (distributions that provide it)`, one for each third-party import that
    the code `install` runs reaches and the install does not declare (the first path found)."""
    pyproject = pyproject or _pyproject()
    extras, code = INSTALLS[install]
    have = declared(pyproject, extras)
    tensorflow_picked = not extras and _tensorflow_from_extras(pyproject)
    problems = {}
    for source in sources_for(code):
        for name, where in reachable_imports(source).items():
            wanted = providers(name)
            if wanted & have or (name == "tensorflow" and tensorflow_picked):
                continue
            label = where if where == source.label else f"{source.label} -> {where}"
            problems.setdefault(
                f"{name} ({', '.join(sorted(wanted)) or 'not installed here'})", label
            )
    return [f"{label}: {name}" for name, label in sorted(problems.items())]


def _tensorflow_from_extras(pyproject: dict) -> bool:
    """Whether each of the `cpu` and `gpu` extras installs a TensorFlow."""
    return all(declared(pyproject, (e,)) & providers("tensorflow") for e in TENSORFLOW_EXTRAS)


# ---- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("install", list(INSTALLS))
def test_every_import_of_the_code_an_install_runs_is_declared(install):
    assert undeclared(install) == []


def test_modules_of_an_extra_are_checked_with_that_extra():
    """Each keraslab module needing more than the core install lies in a folder `INSTALLS`
    checks with its extra, so a new grading or book module is checked as such."""
    for prefix, extra in EXTRA_PACKAGES.items():
        extras, code = INSTALLS[extra]
        assert extra in extras and (prefix.replace(".", "/"), "package") in code


def test_the_check_finds_pyyaml_missing_from_the_grading_install():
    """The defect found by hand: `keraslab grade` with only `[cpu,grade]` failed on `import yaml`
    (keraslab._project, reached from the grading modules). With PyYAML taken out of the declared
    dependencies, the check names it, and the path by which grading reaches it."""
    if "yaml" not in third_party(package_sources()["keraslab._project"].imports):
        pytest.skip("keraslab._project no longer imports yaml")
    pyproject = json.loads(json.dumps(_pyproject()))
    project = pyproject["project"]
    project["dependencies"] = [r for r in project["dependencies"] if _name(r) != "pyyaml"]
    for extra, requirements in project["optional-dependencies"].items():
        project["optional-dependencies"][extra] = [r for r in requirements if _name(r) != "pyyaml"]
    problems = undeclared("grade", pyproject)
    assert any(
        re.fullmatch(r"keraslab/grading/\w+\.py -> keraslab/_project\.py: yaml \(pyyaml\)", p)
        for p in problems
    ), problems


def test_imports_are_read_from_functions_and_optional_ones_are_left_out():
    source = (
        "import numpy as np\n"
        "def f():\n    import yaml\n    from sklearn.datasets import load_digits\n"
        "try:\n    import absl.logging\nexcept ImportError:\n    pass\n"
        "from . import sibling\n"
    )
    names = imported_names(source, "keraslab.data.offline")
    assert third_party(names) == {"numpy", "yaml", "sklearn"}
    assert "keraslab.data.sibling" in names


def test_providers_come_from_the_installed_distributions():
    assert providers("yaml") == {"pyyaml"}
    assert providers("sklearn") == {"scikit-learn"}
    assert {"tensorflow", "tensorflow-cpu"} <= providers("tensorflow")


def test_each_tensorflow_extra_installs_a_tensorflow():
    assert _tensorflow_from_extras(_pyproject())
    assert not declared(_pyproject(), ()) & providers("tensorflow"), (
        "TensorFlow must not be a core dependency: Colab ships its own"
    )
