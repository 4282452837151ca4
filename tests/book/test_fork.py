"""A fork of the course: its one repository setting reaches every link, and `keraslab book build`
builds the book of the checkout it runs in, not the one keraslab was installed from."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml

from keraslab import _project, book, cli
from keraslab.grading import release

REPO = Path(__file__).resolve().parents[2]
FORK_URL = "https://github.com/a-teacher/my-course"
FORK_BRANCH = "spring"


def _fork_config(checkout: Path, url: str = FORK_URL, branch: str = FORK_BRANCH) -> Path:
    """A checkout whose book/_config.yml is the course's with the repository setting changed."""
    config = yaml.safe_load((REPO / "book" / "_config.yml").read_text())
    config["repository"] = {**config["repository"], "url": url, "branch": branch}
    (checkout / "book").mkdir(parents=True)
    (checkout / "book" / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return checkout / "book"


def test_the_course_config_names_the_course_repository():
    repository = _project.read_repository(REPO / "book" / "_config.yml")
    assert repository.url == "https://github.com/keraslab/keraslab"
    assert repository.branch == "main"


def test_a_forks_setting_reaches_the_badges_and_install_cells(tmp_path, monkeypatch):
    _fork_config(tmp_path / "fork")
    (tmp_path / "fork" / "solutions").mkdir()
    monkeypatch.chdir(tmp_path / "fork" / "solutions")  # any folder of the checkout
    badge, install = release.colab_cells("01_initialization.ipynb")
    assert ("https://colab.research.google.com/github/a-teacher/my-course/blob/spring/"
            "exercises/01_initialization.ipynb") in badge.source
    assert "keraslab/keraslab" not in badge.source
    assert f"keraslab @ git+{FORK_URL}@{FORK_BRANCH}" in install.source
    assert _project.repository().name == "a-teacher/my-course"
    assert release.colab_url("x.ipynb") == _project.repository().colab_url("exercises/x.ipynb")


def test_keraslab_release_in_a_fork_writes_the_forks_badges(tmp_path, monkeypatch):
    fork = tmp_path / "fork"
    _fork_config(fork)
    shutil.copy(REPO / "solutions" / "09_spot_the_bug.ipynb", tmp_path / "nb.ipynb")
    (fork / "solutions").mkdir()
    shutil.copy(tmp_path / "nb.ipynb", fork / "solutions" / "09_spot_the_bug.ipynb")
    monkeypatch.chdir(fork)
    assert cli.main(["release", "solutions", "--out", "exercises"]) == 0
    released = nbformat.read(fork / "exercises" / "09_spot_the_bug.ipynb", as_version=4)
    first = "".join(released.cells[0].source) + "".join(released.cells[1].source)
    assert "github/a-teacher/my-course/blob/spring/exercises/09_spot_the_bug.ipynb" in first
    assert "keraslab/keraslab" not in first


def test_a_forks_setting_reaches_the_books_notebook_links(tmp_path):
    source = _fork_config(tmp_path / "fork")
    (tmp_path / "fork" / "exercises").mkdir()
    shutil.copy(REPO / "exercises" / "09_spot_the_bug.ipynb", tmp_path / "fork" / "exercises")
    pages = book.sync_notebooks(source, "student")  # notebooks from the folder beside the book
    assert pages == ["notebooks/09_spot_the_bug"]
    text = (source / "notebooks" / "09_spot_the_bug.ipynb").read_text()
    assert f"{FORK_URL}/raw/{FORK_BRANCH}/exercises/09_spot_the_bug.ipynb" in text
    assert "github/a-teacher/my-course/blob/spring/exercises/09_spot_the_bug.ipynb" in text


def test_outside_a_checkout_the_course_repository_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _project.find_checkout() is None
    assert _project.repository() == _project.Repository(_project.DEFAULT_URL, "main")


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "a-teacher/my-course"])
def test_a_setting_colab_cannot_open_is_refused_with_its_value(tmp_path, url):
    source = _fork_config(tmp_path / "fork", url=url)
    with pytest.raises(ValueError, match="repository.url") as error:
        _project.read_repository(source / "_config.yml")
    assert repr(url) in str(error.value)


def test_find_book_takes_the_current_checkout_and_refuses_a_folder_without_a_book(tmp_path,
                                                                                 monkeypatch):
    source = _fork_config(tmp_path / "fork")
    (source / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "fork" / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "fork" / "deep" / "er")
    assert book.find_book() == source.resolve()
    assert book.default_out(source) == source / "_build"
    with pytest.raises(book.BookError, match="--source .*not a book folder"):
        book.find_book(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(book.BookError, match="no book in"):
        book.find_book()


FORK_INTRO = textwrap.dedent("""\
    # The fork's own course

    Install it with:

    ```text
    pip install "keraslab @ git+{{ repository_url }}@{{ repository_branch }}"
    ```
    """)


@pytest.mark.slow
def test_book_build_in_a_copy_builds_the_copys_book(tmp_path, monkeypatch):
    """`keraslab book build`, run in a copy of a checkout, builds that copy's book into that
    copy's book/_build, with the copy's repository in its install commands."""
    source = _fork_config(tmp_path / "fork")
    for name in ("references.bib",):
        shutil.copy(REPO / "book" / name, source / name)
    for name in ("_ext", "images"):
        shutil.copytree(REPO / "book" / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (source / "intro.md").write_text(FORK_INTRO)
    (source / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "intro"}))
    monkeypatch.chdir(tmp_path / "fork")
    assert cli.main(["book", "build"]) == 0
    page = (source / "_build" / "html" / "intro.html").read_text()
    assert "The fork’s own course" in page or "The fork's own course" in page
    assert f"git+{FORK_URL}@{FORK_BRANCH}" in page
    assert "{{ repository_url }}" not in page
