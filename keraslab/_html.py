"""Text of an HTML page as a reader sees it, for the leak scan (:mod:`keraslab.grading.leaks`)."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def html_to_text(page: str) -> str:
    """The text of an HTML page: tags removed, entities decoded, runs of white space made one
    space. Highlighted code puts every token in its own tag, so a line split over several tags
    is whole again in this text."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", page)))
