"""The book's build and browser check.

The full book takes minutes to build, so CI builds it once with ``keraslab book build`` and checks
it with ``keraslab book check``. These tests build a one-chapter book with the real configuration
(math, a figure, a jupyterquiz quiz, an exercise with a solution), check it in Chromium, print it
as one PDF, and make sure the checks fail on pages that are broken. Set ``KERASLAB_BOOK_SITE`` to a built site to also
check that site here.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from keraslab import book

REPO = Path(__file__).resolve().parents[2]

CHAPTER = textwrap.dedent('''\
    ---
    jupytext:
      text_representation: {extension: .md, format_name: myst}
    kernelspec: {display_name: Python 3, language: python, name: python3}
    ---

    # A chapter

    The variance of a sum is $\\operatorname{Var}(y) = n \\operatorname{Var}(w) \\operatorname{Var}(x)$,
    as {cite:t}`he2015` use:

    $$\\sigma^2 = \\frac{2}{n_\\text{in}}$$

    ```{code-cell} ipython3
    :tags: [hide-input]
    import matplotlib.pyplot as plt
    from keraslab import plots
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("fan-in")
    ax.set_title("A straight line")
    plots.show(fig)
    ```

    ```{code-cell} ipython3
    :tags: [remove-input]
    from jupyterquiz import display_quiz
    display_quiz([
        {"question": "Pick B.", "type": "multiple_choice", "answers": [
            {"answer": "A", "correct": False, "feedback": "Not A."},
            {"answer": "B", "correct": True, "feedback": "Yes, B."}]},
        {"question": "Type 0.25 squared.", "type": "numeric", "precision": 3, "answers": [
            {"type": "range", "range": [0.0624, 0.0626], "correct": True, "feedback": "Right."},
            {"type": "default", "feedback": "Square it."}]},
    ], shuffle_answers=False)
    ```

    ```{exercise}
    :label: ex-one

    Why?
    ```

    ```{solution} ex-one
    :class: dropdown

    Because the secret answer is forty-two.
    ```

    ```{exercise}
    :label: ex-two

    Derive it.
    ```

    `````{only} instructor
    ````{solution} ex-two
    :class: dropdown

    A derivation for the instructor, not for students.
    ````
    `````

    ```{only} instructor
    Teaching note: only for teachers. Answers go between `### BEGIN SOLUTION` and
    `### END SOLUTION`.
    ```
    ''')


def _mini_book(root: Path) -> Path:
    source = root / "src"
    source.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(REPO / "book" / name, source / name)
    for name in ("_ext", "images"):
        shutil.copytree(REPO / "book" / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (source / "intro.md").write_text("# Home\n\nA one-chapter book.\n")
    (source / "chapter.md").write_text(CHAPTER)
    (source / "bibliography.md").write_text("# References\n\n```{bibliography}\n```\n")
    toc = {"format": "jb-book", "root": "intro",
           "chapters": [{"file": "chapter"}, {"file": "bibliography"}, {"file": "not-written"}]}
    (source / "_toc.yml").write_text(yaml.safe_dump(toc))
    return source


@pytest.fixture(scope="module")
def mini_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    source = _mini_book(root)
    student = book.build(edition="student", out=root / "student", source=source)
    instructor = book.build(edition="instructor", out=root / "instructor", source=source,
                            cache=root / "student" / ".jupyter_cache")
    return student, instructor


def _chromium_or_skip():
    from keraslab.book.check import BrowserError, find_chromium

    try:
        return find_chromium()
    except BrowserError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


# --------------------------------------------------------------------------- no browser


def test_toc_lists_the_fixed_file_names():
    toc = yaml.safe_load((REPO / "book" / "_toc.yml").read_text())
    pages = book.toc_pages(toc)
    for name in ("intro", "foundations/preprocessing", "foundations/activations",
                 "part1/xavier-he", "part1/comparison", "part2/batchnorm", "part3/mixup-cutmix",
                 "pitfalls", "quizzes/part1", "labs/index", "instructor", "api", "bibliography"):
        assert name in pages
    assert len(pages) == len(set(pages))


def test_filter_toc_drops_missing_and_excluded_pages(tmp_path):
    for name in ("intro", "a/one", "a/two", "b/three"):
        (tmp_path / f"{name}.md").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.md").write_text("# x\n")
    toc = {"root": "intro", "parts": [
        {"caption": "A", "chapters": [{"file": "a/one"}, {"file": "a/two"}, {"file": "a/gone"}]},
        {"caption": "B", "chapters": [{"file": "b/three"}]},
        {"caption": "C", "chapters": [{"file": "c/none"}]},
    ]}
    kept, missing = book.filter_toc(toc, tmp_path, exclude=["b/*"])
    assert book.toc_pages(kept) == ["intro", "a/one", "a/two"]
    assert missing == ["a/gone", "b/three", "c/none"]
    assert [p["caption"] for p in kept["parts"]] == ["A"]
    with pytest.raises(book.BookError, match="root page"):
        book.filter_toc({"root": "nothing"}, tmp_path)


def test_references_have_the_required_keys():
    import pybtex.database

    entries = pybtex.database.parse_file(REPO / "book" / "references.bib").entries
    for key in ("glorot2010 he2015 mishkin2015 ioffe2015 ba2016 ulyanov2016 wu2018 salimans2016 "
                "miyato2018 srivastava2014 wan2013 ghiasi2018 huang2016 zhang2018 yun2019 "
                "devries2017 zhong2020 santurkar2018 saxe2014 klambauer2017 loshchilov2019 "
                "yosinski2014 goyal2017 zhang2019fixup lecun1998").split():
        assert key in entries, key
        assert entries[key].fields.get("title") and entries[key].fields.get("year"), key


def test_scan_site_flags_external_resources_and_instructor_text(tmp_path):
    (tmp_path / "index.html").write_text('<html><a href="https://example.org">a link is fine</a>'
                                         '<script src="_static/x.js"></script></html>')
    assert book.scan_site(tmp_path) == []
    (tmp_path / "page.html").write_text(
        '<script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/f.css">'
        "<pre>### BEGIN HIDDEN TESTS</pre>")
    (tmp_path / "style.css").write_text("@font-face { src: url(https://fonts.example.org/a.woff2) }")
    problems = book.scan_site(tmp_path)
    assert len([p for p in problems if "another host" in p]) == 3
    assert any("BEGIN HIDDEN TESTS" in p for p in problems)
    assert not any("HIDDEN" in p for p in book.scan_site(tmp_path, edition="instructor"))


# --------------------------------------------------------------------------- built mini book


@pytest.mark.slow
def test_editions_differ_only_where_they_should(mini_site):
    student, instructor = mini_site
    student_page = (student / "chapter.html").read_text()
    instructor_page = (instructor / "chapter.html").read_text()
    assert "only for teachers" not in student_page
    assert "only for teachers" in instructor_page
    assert "forty-two" in student_page  # a self-check answer, hidden in a dropdown
    # An exercise whose solution is for the instructor edition only (Parts 2 and 3).
    assert "Derive it." in student_page and "Derive it." in instructor_page
    assert "derivation for the instructor" not in student_page
    assert "derivation for the instructor" in instructor_page
    assert 'class="solution dropdown' in student_page
    assert 'class="solution dropdown' not in instructor_page
    assert not (student / "_sources").exists()
    assert not (student / "not-written.html").exists()
    assert (student / "_static" / "mathjax" / "tex-chtml.js").is_file()
    # the figure's alt text says what it shows (its PNG's description), not where the file is
    assert 'alt="Figure: A straight line: line plot against fan-in"' in student_page
    assert book.scan_site(student) == []
    # Scanned as if it were the student edition, the instructor edition is caught, even though
    # the marker is split into one <span> per word in the HTML.
    leaks = book.scan_site(instructor, edition="student")
    assert any("BEGIN SOLUTION" in p and p.startswith("chapter.html") for p in leaks), leaks


@pytest.mark.slow
def test_a_failing_cell_fails_the_build(tmp_path):
    source = _mini_book(tmp_path)
    (source / "chapter.md").write_text(CHAPTER.replace("plots.show(fig)", "plots.show(fig)\n1 / 0"))
    with pytest.raises(book.BookError, match="build failed"):
        book.build(out=tmp_path / "out", source=source)
    # The next build re-reads the page instead of trusting the failed run's environment.
    with pytest.raises(book.BookError, match="build failed"):
        book.build(out=tmp_path / "out", source=source)


@pytest.mark.slow
def test_browser_check_passes_on_a_good_site_and_catches_broken_pages(mini_site, tmp_path):
    from keraslab.book.check import check_site

    chromium = _chromium_or_skip()
    student, _ = mini_site
    site = tmp_path / "site"
    shutil.copytree(student, site)
    report = check_site(site, chromium=chromium, screenshot=tmp_path / "shot.png")
    assert report.ok, report.summary()
    chapter = next(p for p in report.pages if p.page == "chapter.html")
    assert chapter.stats["quiz_mc"] == 1 and chapter.stats["quiz_numeric"] == 1
    assert chapter.stats["solutions"] == 1
    assert chapter.stats["exercises"] == 2
    assert chapter.stats["mathjax"] >= 2 and chapter.stats["images"] >= 1
    # Tab reached both answers of the multiple-choice group, the numeric box, the solution's
    # button and the hidden code cell's dropdown, and Enter opened that dropdown
    assert chapter.stats["keyboard_targets"] == 5 and chapter.stats["dropdowns"] == 1
    assert report.accessibility_counts()[2] == 0
    assert (tmp_path / "shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page = (site / "chapter.html").read_text()
    figure = next((site / "_images").glob("*.png")).name
    script = "<script>{}</script></body>".format
    broken = {
        "external.html": page.replace("</head>",
                                      '<script src="https://cdn.example.org/x.js"></script></head>'),
        "console.html": page.replace("</body>", script("console.error('boom')")),
        "rawmath.html": page.replace('_static/mathjax/tex-chtml.js', '_static/missing.js'),
        "rawtex.html": page.replace("</article>", "<p>it is $\\sqrt{2/n}$</p></article>"),
        "image.html": page.replace("</article>", '<img src="_images/none.png" alt="A plot"></article>'),
        # Clicks that never reach the quiz's answer buttons: no feedback appears.
        "quiz.html": page.replace("</body>", script(
            "document.addEventListener('click', e => { if (e.target.closest('.MCButton')) "
            "e.stopPropagation(); }, true)")),
        "solution.html": page.replace("solution dropdown", "solution"),
        # Accessibility: a figure without alt text and an input without a label.
        "alt.html": page.replace("</article>", f'<img src="_images/{figure}"></article>'),
        "label.html": page.replace("</article>", '<input type="text" name="x"></article>'),
        # Keyboard: quiz answers Tab skips, and keys that never reach the quiz.
        "tab.html": page.replace("</body>", script(
            "addEventListener('load', () => setTimeout(() => document.querySelectorAll("
            "'.Quiz input').forEach(i => i.tabIndex = -1), 0))")),
        "keys.html": page.replace("</body>", script(
            "for (const t of ['keydown', 'keypress', 'keyup']) document.addEventListener(t, e => {"
            " if (e.target.closest('.Quiz, .solution')) { e.stopPropagation(); e.preventDefault(); }"
            " }, true)")),
    }
    for name, text in broken.items():
        assert text != page, name
        (site / name).write_text(text)
    report = check_site(site, chromium=chromium, pages=sorted(broken),
                        screenshot=tmp_path / "shot2.png")
    by_page = {p.page: " | ".join(p.problems) for p in report.pages}
    assert "another host: https://cdn.example.org/x.js" in by_page["external.html"]
    assert "boom" in by_page["console.html"]
    assert "not typeset" in by_page["rawmath.html"]
    assert "raw TeX in the text" in by_page["rawtex.html"] and "sqrt{2/n}" in by_page["rawtex.html"]
    assert "none.png" in by_page["image.html"]
    assert "quiz question 1: a wrong answer given with the mouse" in by_page["quiz.html"]
    assert "shown without a click" in by_page["solution.html"]
    assert "accessibility: image-alt (critical" in by_page["alt.html"]
    assert "images without alt text" in by_page["alt.html"]
    assert "accessibility: label (critical" in by_page["label.html"]
    assert "3 quiz answer(s) or dropdown(s) not reached with Tab" in by_page["tab.html"]
    assert "quiz question 1: a right answer given with the keyboard" in by_page["keys.html"]
    assert "quiz question 2: a right answer given with the keyboard" in by_page["keys.html"]
    assert "solution 1 stays hidden after Enter" in by_page["keys.html"]
    # each fault is caught where it is, and nowhere else
    for name in broken:
        assert by_page[name], name
    assert "accessibility" not in by_page["tab.html"] + by_page["keys.html"]
    assert not report.ok


@pytest.mark.slow
def test_the_book_prints_as_one_pdf_with_titles_formulas_and_figures(mini_site, tmp_path):
    from pypdf import PdfReader

    from keraslab.book import pdf

    chromium = _chromium_or_skip()
    student, _ = mini_site
    root = student.parent.parent
    made = pdf.make_pdf(source=root / "src", out=root / "student",
                        cache=root / "student" / ".jupyter_cache", chromium=chromium)
    assert made == student / "keraslab-book.pdf" and made.is_file()  # in the site, beside index.html
    reader = PdfReader(made)
    text = "".join(p.extract_text() for p in reader.pages)
    squeezed = "".join(text.split())
    for title in ("Home", "A chapter", "References", "Contents"):
        assert title.replace(" ", "") in squeezed, title
    assert "\\frac" not in text and "\\operatorname" not in text  # typeset, not raw TeX
    assert "Var(" in squeezed and "\u03c3" in squeezed  # the formulas' text: Var(y), sigma
    assert sum(len(p.images) for p in reader.pages) >= 1
    assert "forty-two" in text and "only for teachers" not in text  # the student edition
    # check_pdf finds each fault: a title the book does not hold, a "lab" without a figure
    titles = pdf.book_titles(root / "src", root / "student" / "_toc.yml")
    assert titles == {"intro": "Home", "chapter": "A chapter", "bibliography": "References"}
    assert pdf.check_pdf(made, titles, ["chapter"]) == []
    problems = pdf.check_pdf(made, {**titles, "gone": "A missing chapter"}, ["chapter", "intro"])
    assert len(problems) == 3, problems
    assert "A missing chapter" in problems[0] and "without a bookmark" in problems[1]
    assert problems[2].startswith("intro ('Home') has no figure")
    # the instructor edition: its own PDF, in its own site, with what only teachers see
    _, instructor = mini_site
    made = pdf.make_pdf(edition="instructor", source=root / "src", out=root / "instructor",
                        cache=root / "student" / ".jupyter_cache", chromium=chromium)
    assert made == instructor / "keraslab-book-instructor.pdf"
    text = "".join(p.extract_text() for p in PdfReader(made).pages)
    assert "only for teachers" in text and "derivation for the instructor" in text


def test_the_front_page_links_each_editions_pdf():
    from keraslab.book.pdf import PDF_NAMES

    intro = (REPO / "book" / "intro.md").read_text()
    for name in PDF_NAMES.values():
        assert f'href="{name}"' in intro


@pytest.mark.skipif(not os.environ.get("KERASLAB_BOOK_SITE"), reason="KERASLAB_BOOK_SITE not set")
def test_built_book_in_the_browser():
    from keraslab.book.check import check_site

    report = check_site(Path(os.environ["KERASLAB_BOOK_SITE"]), chromium=_chromium_or_skip())
    assert report.ok, report.summary()


def test_course_notebooks_become_pages_of_the_right_edition(tmp_path):
    """Student pages are the released notebooks (no solution text, no image from another
    host); instructor pages are the solutions; every notebook is listed in the toc."""
    from keraslab.grading import notebook as nbg

    toc = book.toc_pages(yaml.safe_load((REPO / "book" / "_toc.yml").read_text()))
    student = book.sync_notebooks(tmp_path / "s", "student", repo=REPO)
    instructor = book.sync_notebooks(tmp_path / "i", "instructor", repo=REPO)
    names = sorted(p.stem for p in (REPO / "solutions").glob("*.ipynb"))
    assert sorted(Path(p).name for p in student) == sorted(Path(p).name for p in instructor) == names
    assert set(student) <= set(toc), "every course notebook has a place in _toc.yml"
    for name in names:
        page = (tmp_path / "s" / "notebooks" / f"{name}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in page and "HIDDEN TESTS" not in page
        assert "colab-badge.svg" not in page and "Open the student notebook in Colab" in page
        solution = (tmp_path / "i" / "notebooks" / f"{name}.ipynb").read_text()
        assert "BEGIN SOLUTION" in solution and "Instructor edition" in solution
    first = nbg.read_notebook(tmp_path / "s" / "notebooks" / f"{names[0]}.ipynb")
    assert nbg.cell_source(first.cells[0]).startswith("# ")  # the title stays the first heading
    # an unchanged notebook is not rewritten (no-op rebuilds stay no-ops); a stale one goes
    page = tmp_path / "s" / "notebooks" / f"{names[0]}.ipynb"
    before = page.stat().st_mtime_ns
    (tmp_path / "s" / "notebooks" / "old.ipynb").write_text("{}")
    book.sync_notebooks(tmp_path / "s", "student", repo=REPO)
    assert page.stat().st_mtime_ns == before
    assert not (tmp_path / "s" / "notebooks" / "old.ipynb").exists()


def test_the_leak_scan_looks_for_every_marker_the_grading_tools_define(tmp_path):
    """One set of markers: the book's scan is built from keraslab.grading.notebook's."""
    from keraslab.grading import notebook as nbg

    words = [word for pair in nbg.DELIMITERS.values() for word in pair]
    assert len(words) == 6
    (tmp_path / "index.html").write_text("<p>fine</p>")
    assert book.scan_site(tmp_path) == []
    for word in words + ["instructor-only"]:
        (tmp_path / "p.html").write_text(f"<p>x {word} y</p>")
        assert [p for p in book.scan_site(tmp_path) if word in p], word
    # Highlighted code splits a marker over tags and entities; the reader's text joins it.
    (tmp_path / "p.html").write_text('<span class="c1">###&nbsp;</span><span>BEGIN</span>\n'
                                     '<span> MARK</span> <span>SCHEME</span>')
    assert [p for p in book.scan_site(tmp_path) if "BEGIN MARK SCHEME" in p], book.scan_site(tmp_path)
