"""The static scan of a built site: nothing for the instructor in the student edition, and
nothing loaded from another host.

The first is the course's one leak scanner, :func:`keraslab.grading.leaks.find_leaks` (the one
``keraslab release --scan`` runs), with its markers: nbgrader's solution, hidden-test and
mark-scheme delimiters and the ``instructor-only`` tag of the book's instructor blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

from keraslab.grading import leaks

__all__ = ["BookError", "scan_site"]


class BookError(RuntimeError):
    """A build or check problem, with a message meant for the reader of the terminal."""


# Resources a page would fetch from another host (links the reader may click are fine).
_EXTERNAL_IN_HTML = [
    re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<link\b(?=[^>]*\brel\s*=\s*[\"']?(?:stylesheet|preload|modulepreload|icon|preconnect|dns-prefetch|prefetch))[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"<(?:img|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]+", re.I),
    re.compile(r"@import\s+(?:url\()?\s*[\"']?(?:https?:)?//[^\"'\s)]+", re.I),
    re.compile(r"url\(\s*[\"']?(?:https?:)?//[^\"'\s)]+", re.I),
]
_EXTERNAL_IN_CSS = _EXTERNAL_IN_HTML[3:]


def scan_site(site: Path, *, edition: str = "student") -> list[str]:
    """Static checks of a built site: no resource from another host in any page or stylesheet,
    and (student edition) no solution, hidden-test or instructor-only text anywhere.
    """
    site = Path(site)
    if not (site / "index.html").is_file():
        raise BookError(f"no built site at {site} (run `keraslab book build` first)")
    problems = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        rel = path.relative_to(site).as_posix()
        if rel.startswith("_static/mathjax/"):
            continue  # MathJax itself: its source mentions CDNs it is configured not to use
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in _EXTERNAL_IN_HTML if path.suffix == ".html" else _EXTERNAL_IN_CSS:
            for match in pattern.finditer(text):
                problems.append(f"{rel}: loads from another host: {match.group(0)[:160]}")
    if edition == "student":
        for leak in leaks.find_leaks([site]):
            problems.append(f"{leak.file.relative_to(site).as_posix()}: instructor-only text in "
                            f"the student edition: {leak.text!r}")
    return problems
