"""``keraslab book build``: the textbook site, built strictly, in one of two editions.

The build is strict (the equivalent of ``jupyter-book build -W -n --keep-going``): any Sphinx
warning, broken reference or failing notebook cell fails it. Notebook outputs are cached by the
hash of their code, so a rebuild after a prose edit re-executes nothing.

Two editions come from the same sources:

- the student edition (default) holds no instructor-only block and no exercise-notebook solution
  or hidden test; the build scans its own output to make sure (:mod:`keraslab.book.scan`);
- the instructor edition (``--instructor``) adds the Sphinx tag ``instructor`` (``{only}
  instructor`` blocks appear) and shows the chapters' exercise solutions open.

The course notebooks appear in the book as pages under ``notebooks/``, copied there at build
time (never executed): the released student notebooks from ``exercises/`` in the student
edition, the solution notebooks from ``solutions/`` (solutions, hidden tests and mark schemes
included) in the instructor edition.

The book built is the one of the checkout the command runs in (the current folder, or the
nearest folder above it that holds ``book/_toc.yml``), or the book folder given with
``--source``; its notebooks come from the folders beside it, and its build goes to its own
``_build`` folder. The installed keraslab's own files are never used, so a fork builds its book.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import time
from pathlib import Path

from keraslab.book.scan import BookError, scan_site

BUILD_FOLDER = "_build"
EDITIONS = ("student", "instructor")
SOURCE_SUFFIXES = (".md", ".ipynb", ".rst")
OK_MARKER = ".keraslab-build-ok"
BUILDERS = ("html", "singlehtml")
NOTEBOOK_PAGES = "notebooks"

# --------------------------------------------------------------------------- which book


def _is_book(folder: Path) -> bool:
    return (folder / "_toc.yml").is_file() and (folder / "_config.yml").is_file()


def find_book(source: Path | str | None = None) -> Path:
    """The book folder to work on: ``source`` when given (it must hold ``_toc.yml`` and
    ``_config.yml``), else the current folder if it is a book, else ``book/`` of the nearest
    folder at or above the current one that has it."""
    if source is not None:
        source = Path(source).resolve()
        if not _is_book(source):
            raise BookError(f"--source {str(source)!r} is not a book folder "
                            "(it needs _toc.yml and _config.yml)")
        return source
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        for candidate in (folder, folder / "book"):
            if _is_book(candidate):
                return candidate
    raise BookError(f"no book in {here} or a folder above it (a checkout of the course has "
                    "book/_toc.yml and book/_config.yml); run in a checkout or pass --source BOOK")


def default_out(source: Path, edition: str = "student") -> Path:
    """Where a book's edition is built: ``SOURCE/_build`` (``SOURCE/_build/instructor``)."""
    out = Path(source) / BUILD_FOLDER
    return out / "instructor" if edition == "instructor" else out


def default_cache(source: Path) -> Path:
    """The execution cache both editions of a book share."""
    return Path(source) / BUILD_FOLDER / ".jupyter_cache"


# --------------------------------------------------------------------------- table of contents


def _page_exists(source: Path, name: str) -> bool:
    return any((source / f"{name}{suffix}").is_file() for suffix in SOURCE_SUFFIXES)


def filter_toc(toc: dict, source: Path, exclude: tuple[str, ...] | list[str] = ()
               ) -> tuple[dict, list[str]]:
    """Return ``toc`` without the pages whose file does not exist yet (or whose name matches a
    glob in ``exclude``), and the names of the pages left out.

    Parts left empty are dropped. The root page must exist.
    """
    if not _page_exists(source, toc["root"]):
        raise BookError(f"the book's root page {toc['root']!r} is missing in {source}")
    missing: list[str] = []

    def keep(entries):
        kept = []
        for entry in entries:
            name = entry.get("file")
            if name is not None and (not _page_exists(source, name)
                                     or any(fnmatch.fnmatch(name, g) for g in exclude)):
                missing.append(name)
                continue
            entry = dict(entry)
            for key in ("sections", "chapters"):
                if key in entry:
                    entry[key] = keep(entry[key])
                    if not entry[key]:
                        del entry[key]
            kept.append(entry)
        return kept

    result = dict(toc)
    if "parts" in toc:
        parts = []
        for part in toc["parts"]:
            part = dict(part)
            part["chapters"] = keep(part.get("chapters", []))
            if part["chapters"]:
                parts.append(part)
        result["parts"] = parts
    for key in ("chapters", "sections"):
        if key in toc:
            result[key] = keep(toc[key])
    return result, missing


def toc_pages(toc: dict) -> list[str]:
    """Every page name in a toc, root first."""
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("sections", "chapters"):
                walk(entry.get(key, []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    walk(toc.get("sections", []))
    return pages


def _write_if_changed(path: Path, text: str) -> None:
    # An unchanged file keeps its mtime, so Sphinx sees no reason to re-read anything.
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- notebooks


def notebook_for_the_book(nb, name: str, edition: str, repository=None):
    """A course notebook as a book page: outputs cleared, the Colab badge image (a resource
    from another host) turned into a plain link, and in the instructor edition a note that
    the page shows the solution notebook. The links name ``repository`` (a
    :class:`keraslab._project.Repository`; default: the checkout's setting)."""
    import nbformat

    from keraslab import _project
    from keraslab.grading import release

    repository = repository or _project.repository()
    released_path = f"{release.COLAB_DIR.strip('/')}/{name}"

    cells = []
    for cell in nb.cells:
        if cell.get("id") == release.BADGE_CELL_ID:
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    link = nbformat.v4.new_markdown_cell(
        f"[Open the student notebook in Colab]({repository.colab_url(released_path)}) · "
        f"[download it]({repository.raw_url(released_path)})",
        id="keraslab-book-links",  # fixed ids: an unchanged notebook gives an unchanged page
    )
    intro = [link]
    if edition == "instructor":
        intro.append(nbformat.v4.new_markdown_cell(
            "```{note}\nInstructor edition: this is the solution notebook, with its solutions, hidden "
            "tests and mark schemes. Students get the released copy from `exercises/`.\n```",
            id="keraslab-book-instructor-note"))
    # The title leads the page (it comes after the Colab install cell in a release), then the links.
    titles = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")]
    if titles:
        title = cells.pop(titles[0])
        nb.cells = [title] + intro + cells
    else:
        nb.cells = intro + cells
    return nb


def sync_notebooks(source: Path, edition: str, repo: Path | None = None) -> list[str]:
    """Copy the course notebooks of an edition into ``source/notebooks`` (see the module
    docstring) from ``repo`` (default: the folder that holds the book); unchanged files keep
    their time stamps. Returns the page names."""
    import nbformat

    from keraslab import _project

    source = Path(source)
    repo = Path(repo) if repo is not None else source.resolve().parent
    config = source / "_config.yml"
    repository = _project.read_repository(config) if config.is_file() else _project.repository()
    origin = repo / ("solutions" if edition == "instructor" else "exercises")
    target = Path(source) / NOTEBOOK_PAGES
    wanted = {}
    for path in sorted(origin.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        page = notebook_for_the_book(nb, path.name, edition, repository)
        wanted[path.name] = nbformat.writes(page) + "\n"
    if not wanted and not target.exists():
        return []
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        _write_if_changed(target / name, text)
    return [f"{NOTEBOOK_PAGES}/{Path(n).stem}" for n in wanted]


# --------------------------------------------------------------------------- build


def build(*, edition: str = "student", out: Path | None = None, cache: Path | None = None,
          clean: bool = False, source: Path | None = None, exclude: list[str] | tuple = (),
          builder: str = "html") -> Path:
    """Build one edition of a book into ``out/BUILDER`` and return that folder.

    ``source`` is the book folder (default: see :func:`find_book`), ``out`` the build folder
    (default: :func:`default_out`) and ``cache`` the execution cache (default: ``out``'s).
    ``builder`` is ``html`` (the site) or ``singlehtml`` (the whole book as one page, which
    ``keraslab book pdf`` prints).

    Raises :class:`BookError` when Sphinx reports any warning, a cell fails, or the output holds
    instructor-only text (student edition) or a resource from another host.
    """
    import yaml

    if edition not in EDITIONS:
        raise BookError(f"edition must be one of {EDITIONS}, not {edition!r}")
    if builder not in BUILDERS:
        raise BookError(f"builder must be one of {BUILDERS}, not {builder!r}")
    source = find_book(source)
    out = Path(out).resolve() if out is not None else default_out(source, edition)
    cache = Path(cache).resolve() if cache is not None else out / ".jupyter_cache"
    if clean:
        for path in (out, cache):
            if path.exists():
                shutil.rmtree(path)
    out.mkdir(parents=True, exist_ok=True)
    cache.parent.mkdir(parents=True, exist_ok=True)

    sync_notebooks(source, edition)
    toc, missing = filter_toc(yaml.safe_load((source / "_toc.yml").read_text(encoding="utf-8")),
                              source, exclude)
    if missing:
        print(f"book: left out of this build (not written yet or excluded): {', '.join(missing)}")
    toc_path = out / "_toc.yml"
    _write_if_changed(toc_path, yaml.safe_dump(toc, sort_keys=False))

    # A build that failed leaves Sphinx's environment saying its pages are up to date, and
    # Sphinx does not repeat warnings for pages it does not re-read: after a failure (or on the
    # first build) re-read every page. Notebook outputs still come from the execution cache.
    marker = out / (OK_MARKER if builder == "html" else f"{OK_MARKER}-{builder}")
    fresh = not marker.exists() or marker.read_text(encoding="utf-8").strip() != edition
    marker.unlink(missing_ok=True)

    # Kernels inherit the environment: keep TensorFlow quiet and single-machine friendly.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    from jupyter_book.sphinx import build_sphinx

    html = out / builder
    started = time.monotonic()
    result = build_sphinx(
        source,
        html,
        use_external_toc=True,
        noconfig=True,
        path_config=str(source / "_config.yml"),
        confoverrides={
            "external_toc_path": toc_path.as_posix(),
            "keraslab_edition": edition,
            "nb_execution_cache_path": cache.as_posix(),
            "nitpicky": True,
            "latex_individualpages": False,
        },
        doctreedir=out / (".doctrees" if builder == "html" else f".doctrees-{builder}"),
        builder=builder,
        freshenv=fresh,
        warningiserror=True,
        keep_going=True,
    )
    elapsed = time.monotonic() - started
    if isinstance(result, Exception):
        raise BookError(f"the build failed with an exception: {result!r}")
    if result != 0:
        raise BookError(f"the build failed after {elapsed:.0f} s (warnings or failing cells "
                        "above; every warning counts as an error)")

    problems = scan_site(html, edition=edition)
    if problems:
        listed = "\n  ".join(problems[:20])
        raise BookError(f"the built site has {len(problems)} problem(s):\n  {listed}")
    marker.write_text(edition, encoding="utf-8")
    print(f"book: built in {elapsed:.0f} s")
    return html
