"""``keraslab book``: the command line of the book tools (build, check, pdf)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keraslab.book.build import build, default_cache, default_out, find_book
from keraslab.book.scan import BookError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="book_action", metavar="ACTION")
    build = sub.add_parser(
        "build",
        help="build the site (strict: any warning or failing cell fails)",
        description="Build the textbook site with Jupyter Book, strictly (-W -n --keep-going).",
    )
    build.add_argument("--instructor", action="store_true",
                       help="build the instructor edition (solutions visible)")
    build.add_argument("--out", type=Path, default=None,
                       help="build directory; the site goes to OUT/html "
                            "(default: SOURCE/_build, or SOURCE/_build/instructor with --instructor)")
    build.add_argument("--clean", action="store_true",
                       help="remove the build directory and the execution cache first")
    build.add_argument("--cache", type=Path, default=None,
                       help="notebook execution cache (default: SOURCE/_build/.jupyter_cache, "
                            "or OUT/.jupyter_cache when --out is given)")
    build.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                       help="leave out toc pages whose name matches GLOB (e.g. 'part3/*'); "
                            "for quick partial builds while writing")
    build.add_argument("--source", type=Path, default=None, metavar="BOOK",
                       help="the book folder to build (default: book/ of the checkout of the "
                            "current folder)")

    check = sub.add_parser(
        "check",
        help="open every page of a built site in headless Chromium and check it",
        description="Check a built site in a real browser: no external request, no console "
                    "error, math rendered, quizzes and solutions work with mouse and keyboard, "
                    "figures load and have alt text, no serious or critical accessibility "
                    "violation (axe-core).",
    )
    check.add_argument("--site", type=Path, default=None,
                       help="the built site (default: SOURCE/_build/html)")
    check.add_argument("--source", type=Path, default=None, metavar="BOOK",
                       help="the book folder whose site to check (default: book/ of the checkout "
                            "of the current folder)")
    check.add_argument("--screenshot", type=Path, default=None,
                       help="where to save a screenshot of one chapter "
                            "(default: SITE/../screenshots/chapter.png)")
    check.add_argument("--chromium", default=None, help="Chromium executable (default: found on PATH)")
    check.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per page")
    check.add_argument("--instructor", action="store_true",
                       help="check the instructor edition (default site: SOURCE/_build/instructor/html; "
                            "solutions may be shown open)")

    pdf = sub.add_parser(
        "pdf",
        help="print the whole book (one edition) to one PDF, linked from the site's front page",
        description="Build the book as one HTML page, print it in headless Chromium (maths "
                    "typeset, figures, a table of contents, bookmarks), check the PDF and copy "
                    "it into the built site. Build the site first.",
    )
    pdf.add_argument("--instructor", action="store_true",
                     help="the instructor edition (its own PDF, in its own site)")
    pdf.add_argument("--source", type=Path, default=None, metavar="BOOK",
                     help="the book folder (default: book/ of the checkout of the current folder)")
    pdf.add_argument("--chromium", default=None, help="Chromium executable (default: found on PATH)")


def main(args: argparse.Namespace) -> int:
    action = getattr(args, "book_action", None)
    try:
        if action == "build":
            edition = "instructor" if args.instructor else "student"
            source = find_book(args.source)
            out = args.out or default_out(source, edition)
            cache = args.cache
            if cache is None:
                cache = default_cache(source) if args.out is None else out / ".jupyter_cache"
            site = build(edition=edition, out=out, cache=cache, clean=args.clean,
                         source=source, exclude=args.exclude)
            print(f"book: {edition} edition at {site / 'index.html'}")
            return 0
        if action == "check":
            from keraslab.book.check import BrowserError, check_site

            edition = "instructor" if args.instructor else "student"
            site = args.site or default_out(find_book(args.source), edition) / "html"
            try:
                report = check_site(site, screenshot=args.screenshot, chromium=args.chromium,
                                    timeout=args.timeout, hidden_solutions=not args.instructor)
            except BrowserError as exc:
                raise BookError(str(exc)) from exc
            print(report.summary())
            return 0 if report.ok else 1
        if action == "pdf":
            from keraslab.book.check import BrowserError
            from keraslab.book.pdf import make_pdf

            try:
                make_pdf(edition="instructor" if args.instructor else "student",
                         source=args.source, chromium=args.chromium)
            except BrowserError as exc:
                raise BookError(str(exc)) from exc
            return 0
    except BookError as exc:
        print(f"keraslab book: {exc}", file=sys.stderr)
        return 1
    print("usage: keraslab book {build,check,pdf} [options]  (see keraslab book ACTION --help)",
          file=sys.stderr)
    return 2
