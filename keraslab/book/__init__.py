"""The textbook's tools: ``keraslab book build``, ``keraslab book check`` and ``keraslab book pdf``.

- :mod:`keraslab.book.build`: builds one edition of the book of the current checkout (or of
  ``--source``), strictly;
- :mod:`keraslab.book.scan`: the static scan of a built site (no instructor text in the student
  edition, nothing from another host);
- :mod:`keraslab.book.check`: every page of a built site opened in headless Chromium (Playwright)
  and audited with axe-core; :mod:`keraslab.book.interact` uses its quizzes and dropdowns with
  the mouse and the keyboard;
- :mod:`keraslab.book.pdf`: one edition printed as one PDF;
- :mod:`keraslab.book.cli`: the command line.
"""

from keraslab.book.build import (
    BUILD_FOLDER,
    EDITIONS,
    NOTEBOOK_PAGES,
    OK_MARKER,
    build,
    default_cache,
    default_out,
    filter_toc,
    find_book,
    notebook_for_the_book,
    sync_notebooks,
    toc_pages,
)
from keraslab.book.cli import configure_parser, main
from keraslab.book.scan import BookError, scan_site

__all__ = [
    "BUILD_FOLDER", "EDITIONS", "NOTEBOOK_PAGES", "OK_MARKER", "BookError", "build",
    "configure_parser", "default_cache", "default_out", "filter_toc", "find_book", "main",
    "notebook_for_the_book", "scan_site", "sync_notebooks", "toc_pages",
]
