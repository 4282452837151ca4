"""``keraslab book pdf``: the whole book, one edition, as one PDF.

The book is built as one HTML page (Sphinx's ``singlehtml`` builder, from the same sources and
execution cache as the site, so nothing is executed again), opened in the system Chromium once
MathJax has typeset every formula, and printed with Playwright: A4, a printed table of contents
at the front, PDF bookmarks for every heading, tagged for screen readers. Nothing is fetched
from the network. The PDF is then read back with pypdf and checked (:func:`check_pdf`), and
copied into the edition's site, where the front page links to it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from keraslab.book.build import build, default_cache, default_out, find_book, toc_pages
from keraslab.book.check import (
    LAB_RESULTS_PAGE,
    WAIT_READY,
    BrowserError,
    chromium_browser,
    list_pages,
    serve,
)
from keraslab.book.scan import BookError

PDF_NAMES = {"student": "keraslab-book.pdf", "instructor": "keraslab-book-instructor.pdf"}
# The single page's table of contents: every chapter's title, linked (a link in the PDF).
_TABLE_OF_CONTENTS = """
() => {
  const article = document.querySelector('article') || document.body;
  const headings = Array.from(article.querySelectorAll('section > h1, section > h2'))
    .filter(h => h.closest('section').id);
  const nav = document.createElement('nav');
  nav.className = 'keraslab-print-toc';
  nav.setAttribute('aria-label', 'Table of contents');
  nav.innerHTML = '<h1>Contents</h1>';
  const list = document.createElement('ol');
  for (const h of headings) {
    const item = document.createElement('li');
    item.className = 'keraslab-toc-' + h.tagName.toLowerCase();
    const link = document.createElement('a');
    link.href = '#' + h.closest('section').id;
    link.textContent = h.textContent.replace(/[#\\u00b6]\\s*$/, '').trim();
    item.append(link);
    list.append(item);
  }
  nav.append(list);
  article.prepend(nav);
  return headings.length;
}
"""
_PRINT_CSS = """
.keraslab-print-toc { break-after: page; }
.keraslab-print-toc ol { list-style: none; padding-left: 0; }
.keraslab-print-toc .keraslab-toc-h2 { padding-left: 1.5em; }
.toctree-wrapper > section { break-before: page; }
/* a hidden code cell's "Show code cell source" button means nothing on paper */
details.hide:not([open]) { display: none; }
"""
_FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#444">'
           '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def print_pdf(page_dir: Path, pdf: Path, *, chromium: str | None = None,
              timeout: float = 600.0) -> int:
    """Print the one page of a single-page build (``page_dir``) to ``pdf``; returns the number
    of headings in its printed table of contents."""
    from playwright.sync_api import Error

    pages = list_pages(page_dir)  # index.html only redirects to the root page
    if len(pages) != 1:
        raise BookError(f"a single-page build has one page, {page_dir} has {pages}")
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with chromium_browser(chromium) as browser, serve(page_dir) as base_url:
        try:
            return _print(browser, f"{base_url}/{pages[0]}", pdf, timeout)
        except Error as exc:
            raise BrowserError(f"printing {pages[0]} failed: {exc}") from exc


def _print(browser, url: str, pdf: Path, timeout: float) -> int:
    page = browser.new_page()
    page.set_default_timeout(timeout * 1000)
    page.goto(url, wait_until="load")
    page.evaluate(WAIT_READY)
    if page.evaluate("() => document.querySelectorAll('.math:not(:has(mjx-container))').length"):
        raise BookError("MathJax left formulas untypeset in the single page; the PDF would "
                        "show raw TeX")
    headings = page.evaluate(_TABLE_OF_CONTENTS)
    page.add_style_tag(content=_PRINT_CSS)
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format="A4", print_background=True, outline=True, tagged=True,
             display_header_footer=True, header_template="<span></span>",
             footer_template=_FOOTER,
             margin={"top": "15mm", "bottom": "15mm", "left": "15mm", "right": "15mm"})
    page.close()
    return headings


# --------------------------------------------------------------------------- what it must hold


def page_title(source: Path, name: str) -> str | None:
    """The title (first level-1 heading) of a book page from its source file."""
    import json

    md = source / f"{name}.md"
    if md.is_file():
        fenced = False
        for line in md.read_text(encoding="utf-8").splitlines():
            if line.startswith(("```", "~~~")):
                fenced = not fenced
            elif not fenced and line.startswith("# "):
                return _plain(line[2:])
        return None
    notebook = source / f"{name}.ipynb"
    if notebook.is_file():
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "markdown" and text.lstrip().startswith("# "):
                return _plain(text.lstrip()[2:].splitlines()[0])
    return None


def _plain(title: str) -> str:
    return re.sub(r"[`*_]|\{[a-z:]+\}", "", title).strip()


def _squeezed(text: str) -> str:
    # Text pulled from a PDF breaks lines and may split words: compare without any whitespace.
    return re.sub(r"\s+", "", text).replace("\u2019", "'").lower()


def check_pdf(pdf: Path, titles: dict[str, str], lab_pages: list[str]) -> list[str]:
    """What is wrong with a printed book: a page's title (``titles``: page name -> title)
    missing from its text or its bookmarks, raw TeX left in the text, a lab (``lab_pages``)
    without a figure on its pages."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    texts = [page.extract_text() or "" for page in reader.pages]
    whole = _squeezed(" ".join(texts))
    problems = [f"the title of {name} ({title!r}) is not in the PDF's text"
                for name, title in titles.items() if _squeezed(title) not in whole]
    raw = sorted({m for m in re.findall(r"\\(?:frac|sigma|mathrm|operatorname|sqrt)\b", " ".join(texts))})
    if raw:
        problems.append(f"raw TeX in the PDF's text (MathJax did not typeset it): {raw}")
    bookmarks = _bookmark_pages(reader)
    # Chromium may repeat a wrapped heading's first line in its bookmark: match by containment.
    starts = {_squeezed(t): bookmarks.get(_squeezed(t), next(
        (page for mark, page in bookmarks.items() if _squeezed(t) in mark), None))
        for t in titles.values()}
    missing = [t for t in titles.values() if starts[_squeezed(t)] is None]
    if missing:
        problems.append(f"{len(missing)} page title(s) without a bookmark, e.g. {missing[:3]}")
    ordered = sorted({page for page in starts.values() if page is not None})
    for name in lab_pages:
        first = starts.get(_squeezed(titles.get(name, "")))
        if first is None:
            continue
        end = next((p for p in ordered if p > first), len(reader.pages))
        if not any(len(reader.pages[i].images) for i in range(first, max(end, first + 1))):
            problems.append(f"{name} ({titles[name]!r}) has no figure on its pages "
                            f"{first + 1}-{max(end, first + 1)}")
    return problems


def _bookmark_pages(reader) -> dict[str, int]:
    """Squeezed bookmark title -> page index, for every bookmark at any depth."""
    found: dict[str, int] = {}

    def walk(entries):
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                found.setdefault(_squeezed(entry.title), reader.get_destination_page_number(entry))

    walk(reader.outline)
    return found


# --------------------------------------------------------------------------- the command


def book_titles(source: Path, toc_path: Path) -> dict[str, str]:
    import yaml

    pages = toc_pages(yaml.safe_load(toc_path.read_text(encoding="utf-8")))
    titles = {name: page_title(source, name) for name in pages}
    return {name: title for name, title in titles.items() if title}


def make_pdf(*, edition: str = "student", source: Path | None = None, out: Path | None = None,
             cache: Path | None = None, chromium: str | None = None) -> Path:
    """Build the single page of one edition, print it, check the PDF and copy it into the
    edition's site ``out/html``, where the front page links to it (``out`` and ``cache`` as for
    :func:`keraslab.book.build.build`; the site must be built first)."""
    source = find_book(source)
    out = Path(out) if out is not None else default_out(source, edition)
    site = out / "html"
    if not (site / "index.html").is_file():
        raise BookError(f"no built site at {site}: run `keraslab book build"
                        f"{' --instructor' if edition == 'instructor' else ''}` first")
    page_dir = build(edition=edition, out=out, cache=cache or default_cache(source),
                     source=source, builder="singlehtml")
    pdf = out / PDF_NAMES[edition]
    headings = print_pdf(page_dir, pdf, chromium=chromium)
    titles = book_titles(source, out / "_toc.yml")
    labs = [name for name in titles if LAB_RESULTS_PAGE.fullmatch(f"{name}.html")]
    problems = check_pdf(pdf, titles, labs)
    if problems:
        raise BookError(f"the PDF {pdf} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    shutil.copy2(pdf, site / pdf.name)
    print(f"book: {edition} edition as one PDF ({headings} headings in its contents, "
          f"{len(titles)} page titles found, {pdf.stat().st_size / 1e6:.1f} MB) at {site / pdf.name}")
    return site / pdf.name
