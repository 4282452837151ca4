"""nbgrader-compatible cell metadata and markers, on plain `nbformat`.

A graded notebook marks its cells the way nbgrader does, in ``cell.metadata["nbgrader"]``:

- **solution cell** (``solution: true``): the student's answer. In a code cell the instructor's
  answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (or the whole cell is
  the answer); a markdown answer cell may be one answer or hold the same markers.
- **test cell** (``grade: true, solution: false``, code): worth ``points``. Visible checks are
  plain code; hidden checks sit between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.
- **manually graded answer** (``grade: true`` on a solution cell): graded by hand; an answer
  left as released scores 0, as in nbgrader.
- **task cell** (``task: true``, markdown): graded by hand. It may hold a mark scheme between
  ``=== BEGIN MARK SCHEME ===`` and ``=== END MARK SCHEME ===``. (A markdown cell with
  ``grade: true`` and no ``solution`` is read the same way.)
- **locked cell** (``locked: true``): read-only for students; restored by the grader.

Markers are found as nbgrader finds them: a line that *contains* ``BEGIN SOLUTION`` (so
``###BEGIN SOLUTION`` and ``# BEGIN SOLUTION`` count) opens a region, and the whole line goes;
a line containing ``END SOLUTION`` closes it (a stray one is dropped). Cells are split on
``"\n"``, so a trailing newline after the end marker survives, as in nbgrader's release.

Every such cell has a unique ``grade_id``; ``schema_version`` is 3 (nbgrader 0.6 and later).
nbgrader's ``### AUTOTEST`` directives are refused with an error (not implemented here).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from pathlib import Path

import nbformat

SCHEMA_VERSION = 3

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "### END HIDDEN TESTS"
BEGIN_MARK_SCHEME = "=== BEGIN MARK SCHEME ==="
END_MARK_SCHEME = "=== END MARK SCHEME ==="

CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"
# What placeholders say, in nbgrader's stubs and in courses' own ("ENTER YOUR CODE HERE").
PLACEHOLDER_TEXTS = ("YOUR CODE HERE", "YOUR ANSWER HERE")

# Marker kinds: the canonical marker lines, as instructors write them.
MARKERS = {
    "solution": (BEGIN_SOLUTION, END_SOLUTION),
    "hidden tests": (BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS),
    "mark scheme": (BEGIN_MARK_SCHEME, END_MARK_SCHEME),
}
# What makes a line a marker: nbgrader's delimiters, found anywhere in the line.
DELIMITERS = {
    "solution": ("BEGIN SOLUTION", "END SOLUTION"),
    "hidden tests": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    "mark scheme": ("BEGIN MARK SCHEME", "END MARK SCHEME"),
}
AUTOTEST_DIRECTIVE = "AUTOTEST"

# Secret lines shorter than this are too generic (``return x``) to search for in other text.
MIN_SECRET_LINE_LENGTH = 16
_IMPORT_LINE = re.compile(r"^(import\s+\S|from\s+\S+\s+import\s)")


class NotebookFormatError(ValueError):
    """A notebook's nbgrader metadata or markers are inconsistent, or it cannot be read."""


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Reads a notebook as nbformat v4, raising `NotebookFormatError` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NotebookFormatError(f"cannot read notebook {str(path)!r}: {error}") from error
    return parse_notebook(text, name=str(path))


def parse_notebook(text: str, name: str = "<notebook>") -> nbformat.NotebookNode:
    """Parses notebook JSON text as nbformat v4, raising `NotebookFormatError`."""
    if not text.strip():
        raise NotebookFormatError(f"notebook {name!r} is empty")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for bad input
        raise NotebookFormatError(
            f"notebook {name!r} is not valid notebook JSON: {error}"
        ) from error
    if not isinstance(nb.get("cells"), list):
        raise NotebookFormatError(f"notebook {name!r} has no list of cells")
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: str | Path) -> None:
    """Writes a notebook with stable formatting, so that releases are byte-for-byte repeatable."""
    Path(path).write_text(notebook_text(nb), encoding="utf-8")


def notebook_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def nbgrader_metadata(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_solution(cell) -> bool:
    return bool(nbgrader_metadata(cell).get("solution", False))


def is_grade(cell) -> bool:
    return bool(nbgrader_metadata(cell).get("grade", False))


def is_test(cell) -> bool:
    """An autograded test cell: a code cell with ``grade`` and without ``solution``."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


def is_locked(cell) -> bool:
    """nbgrader's rule: solution cells are never locked, test cells always are."""
    if is_solution(cell):
        return False
    if is_grade(cell):
        return True
    return bool(nbgrader_metadata(cell).get("locked", False))


def is_task(cell) -> bool:
    """A task cell graded by hand: nbgrader's ``task: true``, or a graded non-answer markdown cell."""
    if bool(nbgrader_metadata(cell).get("task", False)):
        return True
    return cell.get("cell_type") == "markdown" and is_grade(cell) and not is_solution(cell)


def is_manually_graded(cell) -> bool:
    """Graded by hand: an answer cell with ``grade: true``, or a task cell."""
    return (is_grade(cell) and not is_test(cell)) or is_task(cell)


def is_graded_answer(cell) -> bool:
    """An answer graded by hand (a solution cell with ``grade: true``), not a task."""
    return is_grade(cell) and is_solution(cell)


def grade_id(cell) -> str | None:
    value = nbgrader_metadata(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def points(cell) -> float:
    return float(nbgrader_metadata(cell).get("points", 0) or 0)


def cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def compute_checksum(cell) -> str:
    """nbgrader's cell checksum, so checksums written here read the same in nbgrader."""
    digest = hashlib.md5()  # nbgrader's choice; a change detector, not a security measure
    digest.update(cell_source(cell).encode("utf-8"))
    digest.update(cell["cell_type"].encode("utf-8"))
    digest.update(str(is_grade(cell)).encode("utf-8"))
    digest.update(str(is_solution(cell)).encode("utf-8"))
    digest.update(str(is_locked(cell)).encode("utf-8"))
    digest.update((grade_id(cell) or "").encode("utf-8"))
    if is_grade(cell):
        digest.update(str(points(cell)).encode("utf-8"))
    return digest.hexdigest()


def _cell_label(index: int, cell) -> str:
    gid = grade_id(cell)
    return f"cell {index}" + (f" (grade_id {gid!r})" if gid else "")


def is_marker_line(line: str, kind: str | None = None) -> bool:
    """Whether nbgrader reads ``line`` as a marker (of ``kind``, or of any kind)."""
    kinds = [kind] if kind else list(DELIMITERS)
    return any(text in line for k in kinds for text in DELIMITERS[k])


def marker_regions(source: str, kind: str) -> list[tuple[int, int]]:
    """Line spans ``(begin, end)`` of each ``kind`` region, markers included (0-based, inclusive).

    Lines are ``source.split("\n")``; a stray end marker is no region (nbgrader drops it).

    Raises:
        ValueError: a region is opened inside another, or never closed.
    """
    begin_text, end_text = DELIMITERS[kind]
    regions, opened = [], None
    for number, line in enumerate(source.split("\n")):
        if begin_text in line:
            if opened is not None:
                raise ValueError(f"line {number + 1}: {begin_text!r} inside an open {kind} region")
            opened = number
        elif end_text in line and opened is not None:
            regions.append((opened, number))
            opened = None
    if opened is not None:
        raise ValueError(f"line {opened + 1}: {begin_text!r} is never closed by {end_text!r}")
    return regions


def clear_markers(source: str, kind: str, stub: tuple[str, ...] | None = None) -> tuple[str, bool]:
    """Removes every ``kind`` region (markers and stray end markers too), as nbgrader does.

    Each region becomes ``stub``'s lines at the begin marker's indent (nothing if `None`).

    Returns:
        ``(new source, whether a region was found)``.

    Raises:
        ValueError: as `marker_regions`.
    """
    marker_regions(source, kind)  # the same errors, with line numbers
    begin_text, end_text = DELIMITERS[kind]
    kept: list[str] = []
    inside = found = False
    for line in source.split("\n"):
        if begin_text in line:
            inside = found = True
            indent = line[: len(line) - len(line.lstrip())]
            kept += [indent + text for text in stub or ()]
        elif end_text in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept), found


def autotest_lines(source: str) -> list[str]:
    """nbgrader ``### AUTOTEST`` / ``### HASHED AUTOTEST`` directive lines of a code cell."""
    return [
        line.strip()
        for line in source.split("\n")
        if AUTOTEST_DIRECTIVE in line and line.strip().startswith("#")
    ]


def validate(nb, name: str = "<notebook>") -> None:
    """Checks nbgrader metadata and markers; raises `NotebookFormatError` naming every problem."""
    problems = []
    seen_ids: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        label = _cell_label(index, cell)
        meta = nbgrader_metadata(cell)
        source = cell_source(cell)
        if "nbgrader" in cell.get("metadata", {}) and not isinstance(
            cell.metadata["nbgrader"], dict
        ):
            problems.append(f"{label}: metadata 'nbgrader' must be a mapping")
        if meta:
            version = meta.get("schema_version")
            if version is None:
                problems.append(
                    f"{label}: nbgrader metadata without schema_version (nbgrader's schema 0, "
                    "before nbgrader 0.5): upgrade it with `nbgrader update`"
                )
            elif version != SCHEMA_VERSION:
                problems.append(
                    f"{label}: nbgrader schema_version {version!r} is not supported "
                    f"(expected {SCHEMA_VERSION})"
                )
        if is_grade(cell) or is_solution(cell) or is_locked(cell) or is_task(cell):
            gid = grade_id(cell)
            if gid is None:
                problems.append(f"{label}: graded, solution and locked cells need a grade_id")
            elif gid in seen_ids:
                problems.append(f"{label}: grade_id {gid!r} is also used by cell {seen_ids[gid]}")
            else:
                seen_ids[gid] = index
        if is_grade(cell) or is_task(cell):
            try:
                if points(cell) < 0:
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(
                    f"{label}: points must be a number >= 0, got {meta.get('points')!r}"
                )
        for kind in MARKERS:
            try:
                regions = marker_regions(source, kind)
            except ValueError as error:
                problems.append(f"{label}: unbalanced {kind} markers: {error}")
                continue
            if not regions:
                continue
            if kind == "solution" and not is_solution(cell):
                problems.append(
                    f"{label}: {BEGIN_SOLUTION!r} in a cell without solution metadata "
                    "(set nbgrader.solution: true)"
                )
            if kind == "hidden tests" and not is_test(cell):
                problems.append(
                    f"{label}: {BEGIN_HIDDEN_TESTS!r} outside a test cell "
                    "(a code cell with nbgrader.grade: true and solution: false)"
                )
            if kind == "mark scheme" and cell.get("cell_type") != "markdown":
                problems.append(f"{label}: {BEGIN_MARK_SCHEME!r} belongs in a markdown cell")
        autotests = autotest_lines(source) if cell.get("cell_type") == "code" else []
        if autotests:
            problems.append(
                f"{label}: nbgrader's AUTOTEST directives are not supported ({autotests[0]!r}): "
                "write the test as code (assert statements, or keraslab.grading.record)"
            )
    if problems:
        raise NotebookFormatError(f"notebook {name!r}:\n  " + "\n  ".join(problems))


def clear_solution(cell) -> None:
    """Replaces the instructor's answer by nbgrader's stub (the whole cell without markers)."""
    source = cell_source(cell)
    stub = CODE_STUB if cell.cell_type == "code" else (MARKDOWN_STUB,)
    cleared, found = clear_markers(source, "solution", stub)
    cell.source = cleared if found else "\n".join(stub)


def clear_region(cell, kind: str) -> None:
    cell.source = clear_markers(cell_source(cell), kind)[0]


def split_hidden_tests(source: str) -> list[tuple[bool, str]]:
    """Splits a test cell into ``(hidden, code)`` parts in order, dropping the marker lines."""
    lines = source.split("\n")
    parts: list[tuple[bool, str]] = []
    position = 0
    for begin, end in marker_regions(source, "hidden tests"):
        parts.append((False, "\n".join(lines[position:begin])))
        parts.append((True, "\n".join(lines[begin + 1 : end])))
        position = end + 1
    parts.append((False, "\n".join(lines[position:])))
    return [(hidden, code) for hidden, code in parts if code.strip()]


@dataclasses.dataclass
class SecretText:
    """What a student must never see: answers, hidden tests and mark schemes of one notebook."""

    lines: set[str]

    def find_in(self, text: str) -> list[str]:
        """The secret lines that occur in ``text``, plus any marker, sorted."""
        found = {line for line in self.lines if line in text}
        found |= {marker for marker in ALL_MARKERS if marker in text}
        return sorted(found)

    def redact(self, text: str, replacement: str = "[redacted]") -> str:
        for line in sorted(self.lines, key=len, reverse=True):
            text = text.replace(line, replacement)
        for marker in ALL_MARKERS:
            text = text.replace(marker, replacement)
        return text


ALL_MARKERS = tuple(marker for pair in MARKERS.values() for marker in pair)


def is_placeholder(line: str) -> bool:
    """A line that asks for the student's work (``# YOUR CODE HERE``, nbgrader's
    ``# ... ENTER YOUR CODE HERE ...``, ``YOUR ANSWER HERE``): never secret."""
    upper = line.upper()
    return any(text in upper for text in PLACEHOLDER_TEXTS) or line in CODE_STUB


def _is_distinctive(line: str) -> bool:
    return (
        len(line) >= MIN_SECRET_LINE_LENGTH
        and not _IMPORT_LINE.match(line)
        and not is_placeholder(line)
    )


def _raw_secret_regions(nb) -> list[list[str]]:
    regions = []
    for cell in nb.cells:
        source = cell_source(cell)
        lines = source.split("\n")
        spans = []
        if is_solution(cell):
            solution_spans = marker_regions(source, "solution")
            spans += solution_spans or [(-1, len(lines))]
        spans += marker_regions(source, "hidden tests")
        spans += marker_regions(source, "mark scheme")
        for begin, end in spans:
            stripped = (line.strip() for line in lines[begin + 1 : end])
            distinctive = [line for line in stripped if _is_distinctive(line)]
            if distinctive:
                regions.append(distinctive)
    return regions


def _public_sources(nb):
    """``(cell, source)`` of every cell as students get it: without its secret regions."""
    for cell in nb.cells:
        source = cell_source(cell)
        try:
            if is_solution(cell):
                source, found = clear_markers(source, "solution")
                source = source if found else ""
            source = clear_markers(source, "hidden tests")[0]
            source = clear_markers(source, "mark scheme")[0]
        except ValueError:
            source = ""  # unbalanced markers: `validate` reports them
        yield cell, source


def public_text(nb) -> str:
    """Everything a student may see of a notebook: sources without their secret regions,
    and the notebook's and cells' metadata (outputs are not released)."""
    pieces = strings_in({k: v for k, v in nb.get("metadata", {}).items() if k != "widgets"})
    for cell, source in _public_sources(nb):
        pieces += strings_in(cell.get("metadata", {}))
        pieces.append(source)
    return "\n".join(pieces)


def public_code(nb) -> str:
    """The code students get: code cells without their secret regions (given code, the
    visible part of tests, the code around answers)."""
    return "\n".join(
        source for cell, source in _public_sources(nb) if cell.get("cell_type") == "code"
    )


def shared_secret_lines(nb) -> list[str]:
    """Lines of secret regions that the notebook's instructions or metadata also show
    students: not secret, but maybe a leak the instructor did not mean (a hint that gives the
    answer away). A line that also stands in code students get (given code, a visible test)
    is ordinary code, and a placeholder is no answer: neither is reported."""
    shown, code = public_text(nb), public_code(nb)
    return sorted(
        {
            line
            for region in _raw_secret_regions(nb)
            for line in region
            if line in shown and line not in code
        }
    )


def secret_regions(nb) -> list[list[str]]:
    """The distinctive lines of each solution, hidden-test and mark-scheme region, per region.

    A line the notebook also shows outside those regions is not secret and is left out.
    """
    shown = public_text(nb)
    regions = [[line for line in region if line not in shown] for region in _raw_secret_regions(nb)]
    return [region for region in regions if region]


def secret_text(nb) -> SecretText:
    """Collects the distinctive lines of every solution, hidden-test and mark-scheme region."""
    return SecretText({line for region in secret_regions(nb) for line in region})


def strings_in(node) -> list[str]:
    """Every string inside a JSON-like tree (a notebook, its metadata, its outputs)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in strings_in(key) + strings_in(value)]
    if isinstance(node, (list, tuple)):
        return [s for item in node for s in strings_in(item)]
    return []


def deep_copy(nb):
    return copy.deepcopy(nb)
