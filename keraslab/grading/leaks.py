"""The leak scan: no solution, hidden-test, mark-scheme or instructor-only text where students look.

This is the course's one leak scanner. ``keraslab release ... --scan PATHS`` runs it over the
released notebooks and the built book, and ``keraslab book build`` runs it over its own student
edition (:func:`keraslab.book.scan.scan_site`), so both look for the same things the same way:

- a marker: nbgrader's delimiters (:data:`keraslab.grading.notebook.DELIMITERS`) or the
  ``instructor-only`` tag of the book's instructor blocks, in any scanned file;
- with solution notebooks given: in the released copy of a notebook (a ``.ipynb`` of the same
  name), any distinctive line of that notebook's secret regions; in any other file, a substantial
  part of one secret region of any solution notebook (see `MIN_LEAKED_LINES`).

Each file is searched as a reader or a program would see it: HTML both with its entities decoded
and as its text (:func:`keraslab._html.html_to_text`: highlighted code puts each token in its own
tag), JSON (notebooks included) also as the strings it holds (JSON writes ``"`` as ``\\"``), and
every run of white space as one space on both sides, since a page re-spaces code.

This module sits below :mod:`keraslab.book` (which imports the grading tools) and beside
:mod:`keraslab.grading.release`, so both can use it without importing each other.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from keraslab._html import html_to_text
from keraslab.grading import notebook as nbg

__all__ = ["MARKERS", "MIN_LEAKED_CHARACTERS", "MIN_LEAKED_LINES", "SCANNED_SUFFIXES", "Leak",
           "find_leaks", "notebook_leaks"]

# Text that marks instructor material wherever it stands.
MARKERS = tuple(word for pair in nbg.DELIMITERS.values() for word in pair) + ("instructor-only",)
_MARKER = re.compile("|".join(re.escape(marker) for marker in MARKERS))

# Files a person or a browser reads as text; images and fonts cannot hold a line of code.
SCANNED_SUFFIXES = frozenset({".ipynb", ".html", ".htm", ".xml", ".md", ".txt", ".tex", ".js",
                              ".json", ".css", ".py"})
_HTML_SUFFIXES = {".html", ".htm", ".xml"}
_JSON_SUFFIXES = {".ipynb", ".json"}

# A file other than a released notebook leaks a secret region when it holds MIN_LEAKED_LINES of
# the region's distinctive lines, or at least half of them adding up to MIN_LEAKED_CHARACTERS.
# A short line or two shared with a longer solution (``return variances``, a loop the book also
# teaches) is common code, not a leak; released notebooks get the exact per-line check.
MIN_LEAKED_LINES = 3
MIN_LEAKED_CHARACTERS = 40

_SPACE = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True)
class Leak:
    """A secret line or a marker found in a file."""

    file: Path
    text: str

    def __str__(self) -> str:
        return f"{self.file}: contains {self.text!r}"


def _one_space(text: str) -> str:
    return _SPACE.sub(" ", text)


def searched_texts(file: Path, raw: str) -> list[str]:
    """The texts of ``file`` (content ``raw``) that the scan searches, as the module docstring
    says: the raw text, or HTML decoded and as text, plus each string of a JSON file."""
    suffix = file.suffix.lower()
    texts = [raw]
    if suffix in _HTML_SUFFIXES:
        # Decoded as well as read as text: attribute values (tooltips, data-*) are not text.
        texts = [html.unescape(raw), html_to_text(raw)]
    elif suffix in _JSON_SUFFIXES:
        try:
            texts.extend(nbg.strings_in(json.loads(raw)))
        except ValueError:
            pass  # not JSON after all: its raw text is still searched
    return texts


def _files(paths: Iterable[Path | str]) -> list[Path]:
    files = []
    for raw in paths:
        root = Path(raw)
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(sorted(p for p in root.rglob("*") if p.is_file()))
        else:
            # A mistyped path would otherwise pass the scan with nothing scanned.
            raise ValueError(f"paths: no such file or folder to scan for leaks. Received: {str(raw)!r}")
    return [file for file in files if file.suffix.lower() in SCANNED_SUFFIXES]


def _own_lines(solution) -> list[str]:
    return sorted({_one_space(line) for line in nbg.secret_text(solution).lines})


def _in_strings(strings: Iterable[str], lines: list[str]) -> set[str]:
    # String by string (cell sources, outputs, metadata): a line never runs from one to the next.
    found = set()
    for string in strings:
        text = _one_space(string)
        found.update(_MARKER.findall(text))
        found.update(line for line in lines if line in text)
    return found


def notebook_leaks(released, solution) -> list[str]:
    """The markers and the distinctive secret lines of ``solution`` (a notebook) that any string
    of ``released`` (its released copy, as a notebook) holds, sorted. ``keraslab release``
    refuses a release with any; the file scan holds a released copy to the same rule."""
    return sorted(_in_strings(nbg.strings_in(released), _own_lines(solution)))


def _leaked_regions(regions: list[list[str]], text: str) -> list[str]:
    found = []
    for region in regions:
        present = [line for line in region if line in text]
        if len(present) >= MIN_LEAKED_LINES or (
            2 * len(present) >= len(region) and sum(map(len, present)) >= MIN_LEAKED_CHARACTERS
        ):
            found.extend(present)
    return found


def find_leaks(paths: Iterable[Path | str], solutions: Mapping[str, object] | None = None) -> list[Leak]:
    """Every leak in the files under ``paths`` (files or folders), file by file, sorted.

    Args:
        paths: files and folders to scan; each must exist.
        solutions: solution notebooks by file name (``{"01_init.ipynb": notebook}``), whose
            secret text is searched for; without them only markers are.

    Raises:
        ValueError: a path is neither a file nor a folder.
        OSError: a file cannot be read (the message names it).
    """
    solutions = dict(solutions or {})
    own = {name: _own_lines(nb) for name, nb in solutions.items()}
    regions = [[_one_space(line) for line in region]
               for nb in solutions.values() for region in nbg.secret_regions(nb)]
    found = []
    for file in _files(paths):
        try:
            raw = file.read_bytes().decode("utf-8", errors="replace")
        except OSError as error:
            raise OSError(f"cannot read {str(file)!r} for the leak scan: {error}") from error
        texts = searched_texts(file, raw)
        if file.suffix.lower() == ".ipynb" and file.name in own:
            # A released copy: its own solution's lines, each one a leak (the release's rule).
            lines = _in_strings(texts, own[file.name])
        else:
            text = _one_space("\n".join(texts))
            lines = set(_MARKER.findall(text)) | set(_leaked_regions(regions, text))
        found.extend(Leak(file, line) for line in sorted(lines))
    return found
