"""The static scan of a built site: nothing for the instructor in the student edition, and
nothing loaded from another host.

The leak markers are the ones the grading tools define (:data:`keraslab.grading.notebook.DELIMITERS`:
nbgrader's solution, hidden-test and mark-scheme delimiters), plus the ``instructor-only`` tag
the book's own instructor blocks use, so the book and ``keraslab release`` look for the same text.
"""

from __future__ import annotations

import re
from pathlib import Path

from keraslab._html import html_to_text
from keraslab.grading import notebook as nbg

__all__ = ["FORBIDDEN_IN_STUDENT", "BookError", "html_to_text", "scan_site"]


class BookError(RuntimeError):
    """A build or check problem, with a message meant for the reader of the terminal."""


def _forbidden_in_student() -> re.Pattern:
    words = [word for pair in nbg.DELIMITERS.values() for word in pair] + ["instructor-only"]
    return re.compile("|".join(re.escape(word) for word in words))


# Text that must never reach the student edition.
FORBIDDEN_IN_STUDENT = _forbidden_in_student()

# Resources a page would fetch from another host (links the reader may click are fine).
_EXTERNAL_IN_HTML = [
    re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<link\b(?=[^>]*\brel\s*=\s*[\"']?(?:stylesheet|preload|modulepreload|icon|preconnect|dns-prefetch|prefetch))[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<(?:img|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"@import\s+(?:url\()?\s*[\"']?(?:https?:)?//[^\"'\s)]+", re.I),
    re.compile(r"url\(\s*[\"']?(?:https?:)?//[^\"'\s)]+", re.I),
]
_EXTERNAL_IN_CSS = _EXTERNAL_IN_HTML[3:]
SCANNED_SUFFIXES = {".html", ".css", ".js", ".txt", ".json", ".ipynb", ".md"}


def scan_site(site: Path, *, edition: str = "student") -> list[str]:
    """Static checks of a built site: no resource from another host in any page or stylesheet,
    and (student edition) no solution, hidden-test or instructor-only text anywhere.
    """
    site = Path(site)
    if not (site / "index.html").is_file():
        raise BookError(f"no built site at {site} (run `keraslab book build` first)")
    problems = []
    for path in sorted(site.rglob("*")):
        if not path.is_file() or path.suffix not in SCANNED_SUFFIXES:
            continue
        rel = path.relative_to(site).as_posix()
        if rel.startswith("_static/mathjax/"):
            continue  # MathJax itself: its source mentions CDNs it is configured not to use
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            patterns = _EXTERNAL_IN_HTML
        elif path.suffix == ".css":
            patterns = _EXTERNAL_IN_CSS
        else:
            patterns = []
        for pattern in patterns:
            for match in pattern.finditer(text):
                problems.append(f"{rel}: loads from another host: {match.group(0)[:160]}")
        if edition == "student" and not rel.startswith("_static/"):
            if path.suffix == ".html":
                text = html_to_text(text)
            for match in FORBIDDEN_IN_STUDENT.finditer(text):
                problems.append(f"{rel}: instructor-only text in the student edition: "
                                f"{match.group(0)!r}")
    return problems
