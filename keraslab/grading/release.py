"""``keraslab release``: student notebooks from solution notebooks.

A release strips answers (replaced by ``# YOUR CODE HERE`` / ``raise NotImplementedError()``),
hidden tests, mark schemes, outputs and execution counts; locks read-only cells; records
nbgrader checksums; drops the ``celltoolbar`` setting (as nbgrader does); and, for notebooks
that import keraslab, puts an "Open in Colab" badge and a Colab-only install cell first.
Header and footer notebooks (nbgrader's ``IncludeHeaderFooter``) can be added around it. The
assignment's other files (data, images) are copied next to the released notebooks.

It refuses what nbgrader refuses: unbalanced markers, markers in cells of the wrong kind,
metadata of nbgrader's schema 0, AUTOTEST directives (not implemented). A line of a solution,
hidden test or mark scheme that the notebook also shows elsewhere is not secret: where it
stands in the instructions or metadata (a hint that gives the answer away) it is reported as a
possible leak, a warning, or an error with ``--strict``; where it stands in code students get
(given code, a visible test) it is ordinary code, and a placeholder (``# ... ENTER YOUR CODE
HERE ...``) is no answer: neither is reported.

Examples:

```
keraslab release solutions/*.ipynb --out exercises/          # write the student notebooks
keraslab release solutions/ --out exercises/ --check         # CI: exercises/ is up to date
keraslab release solutions/ --out exercises/ --scan book/_build/html   # CI: no leaks
```
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import nbformat

from keraslab import _project
from keraslab.grading import leaks
from keraslab.grading import notebook as nbg

COLAB_DIR = "exercises"
BADGE_CELL_ID = "keraslab-colab-badge"
CODE_FRONT_END_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")
INSTALL_CELL_ID = "keraslab-colab-install"


class ReleaseError(nbg.NotebookFormatError):
    """A notebook cannot be released safely."""


class PossibleLeakWarning(UserWarning):
    """Text of a secret region that the notebook's instructions or metadata also show."""


_IMPORTS_KERASLAB = re.compile(r"^\s*(import\s+keraslab\b|from\s+keraslab[\s.])", re.MULTILINE)


def imports_keraslab(nb) -> bool:
    """Whether a code cell imports keraslab (the Colab cells install it; others need none)."""
    return any(
        cell.get("cell_type") == "code" and _IMPORTS_KERASLAB.search(nbg.cell_source(cell))
        for cell in nb.cells
    )


def _possible_leak_message(name: str, lines: list[str]) -> str:
    return (
        f"notebook {name!r}: {len(lines)} line(s) of solution, hidden-test or mark-scheme text "
        "also stand where students see them (instructions or metadata), so they are released: "
        + "; ".join(repr(line) for line in lines[:5])
        + ("" if len(lines) <= 5 else f" (and {len(lines) - 5} more)")
    )


def colab_url(name: str, colab_dir: str = COLAB_DIR) -> str:
    """Colab's address of the released notebook ``name`` in ``colab_dir`` of the course's
    repository (:func:`keraslab._project.repository`: a fork's own)."""
    return _project.repository().colab_url(colab_dir.strip("/") + "/" + name)


def _locked_metadata(cell_id: str) -> dict:
    return {
        "grade": False,
        "grade_id": cell_id,
        "locked": True,
        "schema_version": nbg.SCHEMA_VERSION,
        "solution": False,
    }


def colab_cells(name: str, colab_dir: str = COLAB_DIR) -> list:
    """The badge cell and the install cell that every released notebook starts with."""
    repository = _project.repository()  # read once: the badge and the install cell agree
    badge = nbformat.v4.new_markdown_cell(
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({repository.colab_url(colab_dir.strip('/') + '/' + name)})",
        id=BADGE_CELL_ID,
    )
    requirement = repository.requirement()
    install = nbformat.v4.new_code_cell(
        "# In Google Colab this installs keraslab (Colab already has TensorFlow); elsewhere it\n"
        "# does nothing. Run it first.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        "    subprocess.run(\n"
        f'        [sys.executable, "-m", "pip", "install", "-q", "{requirement}"], check=True\n'
        "    )",
        id=INSTALL_CELL_ID,
    )
    for cell in (badge, install):
        cell.metadata["nbgrader"] = _locked_metadata(cell.id)
        cell.metadata["nbgrader"]["checksum"] = nbg.compute_checksum(cell)
        cell.metadata["nbgrader"]["cell_type"] = cell.cell_type
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    return [badge, install]


def release_notebook(
    nb,
    name: str,
    *,
    colab_dir: str | None = COLAB_DIR,
    keep_hidden_tests: bool = False,
    strict: bool = False,
    header=None,
    footer=None,
):
    """Makes the student version of a solution notebook.

    Args:
        nb: the solution notebook (nbformat v4); it is not modified.
        name: the released file's name, used in the Colab badge and in error messages.
        colab_dir: the repository folder that holds released notebooks, for the badge link;
            `None` adds no Colab cells. Only notebooks that import keraslab get them.
        keep_hidden_tests: keep hidden tests (and their markers) in test cells. The grader
            uses this to build the notebook it runs; a student must never get it.
        strict: refuse (instead of warning about) secret lines the notebook also shows
            students elsewhere.
        header, footer: notebooks whose cells go before and after the notebook's own.

    Returns:
        A new notebook.

    Raises:
        ReleaseError: markers are unbalanced or misplaced, or released text would leak.

    Warns:
        PossibleLeakWarning: secret lines that also stand where students see them.
    """
    if header is not None or footer is not None:
        nb = nbg.deep_copy(nb)
        nb.cells = [
            *(nbg.deep_copy(header).cells if header is not None else []),
            *nb.cells,
            *(nbg.deep_copy(footer).cells if footer is not None else []),
        ]
    try:
        nbg.validate(nb, name)
    except nbg.NotebookFormatError as error:
        raise ReleaseError(str(error)) from None
    if not keep_hidden_tests:
        _report_shared_lines(nb, name, strict)
    released = nbg.deep_copy(nb)
    cells = [
        cell for cell in released.cells if cell.get("id") not in (BADGE_CELL_ID, INSTALL_CELL_ID)
    ]
    for cell in cells:
        _release_cell(cell, keep_hidden_tests)
    # Saved widget state is output in disguise; the cell toolbar is nbgrader's editing view.
    released.metadata.pop("widgets", None)
    released.metadata.pop("celltoolbar", None)
    if colab_dir is not None and imports_keraslab(nb):
        cells = colab_cells(name, colab_dir) + cells
    released.cells = cells
    if not keep_hidden_tests:
        _refuse_leaks(released, nb, name)
    return released


def _report_shared_lines(nb, name: str, strict: bool) -> None:
    shared = nbg.shared_secret_lines(nb)
    if shared and strict:
        raise ReleaseError(
            _possible_leak_message(name, shared)
            + ". Mark them as a solution, hidden test or mark scheme, or reword them."
        )
    if shared:
        # stacklevel: the warning names the caller of release_notebook.
        warnings.warn(_possible_leak_message(name, shared), PossibleLeakWarning, stacklevel=3)


def _release_cell(cell, keep_hidden_tests: bool) -> None:
    """Turns one cell of a (copied) solution notebook into the student's, in place."""
    cell.source = nbg.cell_source(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
        # A code cell's output state (collapse, scroll, timing) is noise in a release; other
        # cells keep all their metadata, as in nbgrader (its ClearOutput).
        for key in CODE_FRONT_END_KEYS:
            cell.metadata.pop(key, None)
    if nbg.is_solution(cell):
        # Images pasted into an answer are part of the answer.
        cell.pop("attachments", None)
        nbg.clear_solution(cell)
    if nbg.is_test(cell) and not keep_hidden_tests:
        nbg.clear_region(cell, "hidden tests")
    if cell.cell_type == "markdown":
        nbg.clear_region(cell, "mark scheme")
    meta = nbg.nbgrader_metadata(cell)
    if meta:
        meta["schema_version"] = nbg.SCHEMA_VERSION
        if nbg.is_grade(cell) or nbg.is_solution(cell) or nbg.is_locked(cell):
            meta["checksum"] = nbg.compute_checksum(cell)
            meta["cell_type"] = cell.cell_type  # as nbgrader's ComputeChecksums does
    if nbg.is_locked(cell):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    elif nbg.is_solution(cell):
        cell.metadata.pop("editable", None)
        cell.metadata["deletable"] = False


def _refuse_leaks(released, nb, name: str) -> None:
    found = leaks.notebook_leaks(released, nb)
    if found:
        raise ReleaseError(
            f"notebook {name!r}: the release would still contain secret text: "
            + "; ".join(repr(line) for line in found[:5])
            + ("" if len(found) <= 5 else f" (and {len(found) - 5} more)")
            + ". Mark it as a solution, hidden test or mark scheme, or reword it."
        )


def collect_notebooks(paths) -> list[Path]:
    """Expands files and folders (searched recursively) into a sorted list of notebooks."""
    notebooks = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            notebooks += sorted(
                p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
            )
        elif path.is_file():
            notebooks.append(path)
        else:
            raise FileNotFoundError(f"no such notebook or folder: {str(path)!r}")
    return notebooks


def assignment_files(folder) -> dict[str, Path]:
    """The other files of an assignment folder (data, images...): ``{relative path: file}``.

    Left out: notebooks, hidden files and folders, caches, and any folder below that holds
    notebooks or a gradebook (submissions, grades of an earlier run: never copy other
    students' work or marks next to a submission).

    Raises:
        ReleaseError: they add up to more than `MAX_ASSIGNMENT_FILE_BYTES` (keep the
            assignment in a folder of its own, or pass ``--no-files``).
    """
    folder = Path(folder)
    found, total = {}, 0
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d != "__pycache__" and not _holds_work(root_path / d)
        )
        for name in sorted(files):
            path = root_path / name
            if name.startswith(".") or path.suffix == ".ipynb" or path.is_symlink():
                continue
            if not path.is_file():
                continue
            total += path.stat().st_size
            if total > MAX_ASSIGNMENT_FILE_BYTES:
                raise ReleaseError(
                    f"the files next to the notebooks in {str(folder)!r} add up to more than "
                    f"{MAX_ASSIGNMENT_FILE_BYTES // 1024**2} MB: keep each assignment in a "
                    "folder of its own, or pass --no-files"
                )
            found[path.relative_to(folder).as_posix()] = path
    return found


MAX_ASSIGNMENT_FILE_BYTES = 200 * 1024**2
_WORK_FILES = ("gradebook.csv", "hand_grading.csv")


def _holds_work(directory: Path) -> bool:
    """A folder of notebooks (submissions) or grades, directly inside."""
    try:
        return any(
            entry.suffix == ".ipynb" or entry.name in _WORK_FILES for entry in directory.iterdir()
        )
    except OSError:
        return True


def release_files(
    solutions,
    out_dir,
    *,
    colab_dir: str | None = COLAB_DIR,
    strict: bool = False,
    header=None,
    footer=None,
    files: bool = True,
) -> dict[Path, str | bytes]:
    """Releases every solution notebook; returns ``{target path: released JSON text}``, plus
    the assignment's other files (``{target path: bytes}``) from the notebooks' folders.

    Nothing is written: `main` writes (or, with ``--check``, compares) the result, so a refused
    notebook never leaves a half-written folder.
    """
    out_dir = Path(out_dir)
    released: dict[Path, str | bytes] = {}
    folders = []
    for source in collect_notebooks(solutions):
        target = out_dir / source.name
        if target in released:
            raise ReleaseError(f"two solution notebooks are both named {source.name!r}")
        nb = nbg.read_notebook(source)
        released[target] = nbg.notebook_text(
            release_notebook(
                nb, source.name, colab_dir=colab_dir, strict=strict, header=header, footer=footer
            )
        )
        if source.parent not in folders:
            folders.append(source.parent)
    for folder in folders if files else []:
        for relative, path in assignment_files(folder).items():
            target = out_dir / relative
            if path.resolve() != target.resolve():
                released.setdefault(target, path.read_bytes())
    return released


def sync_differences(released: dict[Path, str], out_dir) -> list[str]:
    """How ``out_dir`` differs from a fresh release: missing, stale or extra notebooks."""
    out_dir = Path(out_dir)
    problems = []
    for target, text in sorted(released.items()):
        if not target.exists():
            problems.append(f"{target}: missing (run keraslab release)")
        elif isinstance(text, bytes):
            if target.read_bytes() != text:
                problems.append(
                    f"{target}: differs from the assignment's file (run keraslab release)"
                )
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{target}: differs from a fresh release (run keraslab release)")
    if out_dir.is_dir():
        for extra in sorted(set(out_dir.glob("*.ipynb")) - set(released)):
            problems.append(f"{extra}: has no solution notebook")
    return problems
