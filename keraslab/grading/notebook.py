"""nbgrader-compatible cell metadata and markers, on plain `nbformat`.

A graded notebook marks its cells the way nbgrader does, in ``cell.metadata["nbgrader"]``:

- **solution cell** (``solution: true``): the student's answer. In a code cell the instructor's
  answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (or the whole cell is
  the answer); a markdown answer cell may be one answer or hold the same markers.
- **test cell** (``grade: true, solution: false``, code): worth ``points``. Visible checks are
  plain code; hidden checks sit between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.
- **task / manually graded cell** (``grade: true`` on a markdown cell or on a solution cell):
  graded by hand. Markdown may hold a mark scheme between ``=== BEGIN MARK SCHEME ===`` and
  ``=== END MARK SCHEME ===``.
- **locked cell** (``locked: true``): read-only for students; restored by the grader.

Every such cell has a unique ``grade_id``; ``schema_version`` is 3 (nbgrader 0.6 and later).
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

# Marker kinds, keyed by the text that opens a region.
MARKERS = {
    "solution": (BEGIN_SOLUTION, END_SOLUTION),
    "hidden tests": (BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS),
    "mark scheme": (BEGIN_MARK_SCHEME, END_MARK_SCHEME),
}

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


def is_manually_graded(cell) -> bool:
    return is_grade(cell) and not is_test(cell)


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


def marker_regions(source: str, kind: str) -> list[tuple[int, int]]:
    """Line spans ``(begin, end)`` of each ``kind`` region, markers included (0-based, inclusive).

    Raises:
        ValueError: a region is opened twice, closed without being opened, or never closed.
    """
    begin_text, end_text = MARKERS[kind]
    regions, opened = [], None
    for number, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if stripped == begin_text:
            if opened is not None:
                raise ValueError(f"line {number + 1}: {begin_text!r} inside an open {kind} region")
            opened = number
        elif stripped == end_text:
            if opened is None:
                raise ValueError(f"line {number + 1}: {end_text!r} without {begin_text!r}")
            regions.append((opened, number))
            opened = None
        elif begin_text in line or end_text in line:
            raise ValueError(
                f"line {number + 1}: a {kind} marker must stand alone on its line, got {line!r}"
            )
    if opened is not None:
        raise ValueError(f"line {opened + 1}: {begin_text!r} is never closed by {end_text!r}")
    return regions


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
            version = meta.get("schema_version", SCHEMA_VERSION)
            if version != SCHEMA_VERSION:
                problems.append(
                    f"{label}: nbgrader schema_version {version!r} is not supported "
                    f"(expected {SCHEMA_VERSION})"
                )
        if is_grade(cell) or is_solution(cell) or is_locked(cell):
            gid = grade_id(cell)
            if gid is None:
                problems.append(f"{label}: graded, solution and locked cells need a grade_id")
            elif gid in seen_ids:
                problems.append(f"{label}: grade_id {gid!r} is also used by cell {seen_ids[gid]}")
            else:
                seen_ids[gid] = index
        if is_grade(cell):
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
    if problems:
        raise NotebookFormatError(f"notebook {name!r}:\n  " + "\n  ".join(problems))


def _replace_regions(source: str, regions, replacement) -> str:
    """Replaces each line span with ``replacement(indent)`` lines, keeping the marker's indent."""
    lines = source.splitlines()
    for begin, end in reversed(regions):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        lines[begin : end + 1] = [indent + text for text in replacement] if replacement else []
    return "\n".join(lines)


def clear_solution(cell) -> None:
    """Replaces the instructor's answer by nbgrader's stub."""
    source = cell_source(cell)
    regions = marker_regions(source, "solution")
    if cell.cell_type == "code":
        cell.source = (
            _replace_regions(source, regions, CODE_STUB) if regions else "\n".join(CODE_STUB)
        )
    else:
        cell.source = (
            _replace_regions(source, regions, [MARKDOWN_STUB]) if regions else MARKDOWN_STUB
        )


def clear_region(cell, kind: str) -> None:
    source = cell_source(cell)
    regions = marker_regions(source, kind)
    if regions:
        cell.source = _replace_regions(source, regions, []).rstrip("\n")


def split_hidden_tests(source: str) -> list[tuple[bool, str]]:
    """Splits a test cell into ``(hidden, code)`` parts in order, dropping the marker lines."""
    lines = source.splitlines()
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


def _is_distinctive(line: str) -> bool:
    return (
        len(line) >= MIN_SECRET_LINE_LENGTH
        and not _IMPORT_LINE.match(line)
        and line not in CODE_STUB
        and line != MARKDOWN_STUB
    )


def secret_regions(nb) -> list[list[str]]:
    """The distinctive lines of each solution, hidden-test and mark-scheme region, per region."""
    regions = []
    for cell in nb.cells:
        source = cell_source(cell)
        lines = source.splitlines()
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
