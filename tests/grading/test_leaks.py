"""The one leak scanner (`keraslab.grading.leaks`): what `keraslab release --scan` and the book's
own scan of its student edition both run.

The oracle is hand-written: each file below holds (or does not hold) a secret line or a marker
of the fixture notebook, written out literally, and the test names which one the scan must report.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from keraslab import book, cli
from keraslab.grading import leaks
from keraslab.grading import notebook as nbg
from tests.grading.fixtures import notebooks as fx

SOFTMAX_RECORD = 'record("softmax", softmax(_hidden_logits), atol=1e-8)'  # a hidden-test line


@pytest.fixture
def course(tmp_path):
    """A solutions folder with the fixture notebook, released into exercises/."""
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    fx.write(fx.solution_notebook(), solutions / fx.ASSIGNMENT_NAME)
    out = tmp_path / "exercises"
    assert cli.main(["release", str(solutions), "--out", str(out)]) == 0
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>x = np.zeros(3)</p>")
    return solutions, out, site


def _solutions(folder: Path) -> dict:
    return {path.name: nbg.read_notebook(path) for path in sorted(folder.glob("*.ipynb"))}


def test_the_fixture_line_is_a_secret_line():
    # The oracle above is a line the grading tools themselves call secret.
    assert SOFTMAX_RECORD in nbg.secret_text(fx.solution_notebook()).lines


def test_release_scan_and_the_books_scan_are_the_same_scanner(course, monkeypatch, capsys):
    solutions, out, site = course
    calls = []
    real = leaks.find_leaks

    def recording(paths, solutions=None):
        calls.append(sorted(Path(p).name for p in paths))
        return real(paths, solutions)

    monkeypatch.setattr(leaks, "find_leaks", recording)
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(site)]) == 0
    assert book.scan_site(site) == []
    assert calls == [["site"], ["site"]]


def test_a_marker_split_over_tags_and_entities_is_found_by_both(course, capsys):
    solutions, out, site = course
    # Highlighted code: a token per tag, a non-breaking space, a line break inside the marker.
    (site / "page.html").write_text('<span class="c1">###&nbsp;</span><span>BEGIN</span>\n'
                                    '<span> MARK</span> <span>SCHEME</span>')
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(site)]) == 1
    assert f"{site / 'page.html'}: contains 'BEGIN MARK SCHEME'" in capsys.readouterr().err
    assert any("page.html" in p and "BEGIN MARK SCHEME" in p for p in book.scan_site(site))


def test_instructor_only_text_is_a_leak_for_release_too(course, capsys):
    solutions, out, site = course
    (site / "notes.md").write_text("An instructor-only remark.\n")
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(site)]) == 1
    assert "notes.md: contains 'instructor-only'" in capsys.readouterr().err


def test_a_quoted_secret_line_is_found_in_a_notebook(course):
    """JSON writes a double quote as \\", so the raw text of a notebook never holds such a line."""
    solutions, out, _ = course
    released = out / fx.ASSIGNMENT_NAME
    nb = json.loads(released.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": [SOFTMAX_RECORD],
                        "outputs": [], "execution_count": None})
    released.write_text(json.dumps(nb))
    assert SOFTMAX_RECORD not in released.read_text()  # the case this test is about
    found = leaks.find_leaks([out], _solutions(solutions))
    assert [(leak.file, leak.text) for leak in found] == [(released, SOFTMAX_RECORD)]


def test_a_secret_line_with_its_spaces_changed_by_the_page_is_found(course):
    solutions, _, site = course
    # Pygments puts white space in spans of its own; html_to_text makes each run one space.
    region = ["norm_of_v = np.linalg.norm(v)",
              "return v if norm_of_v <= max_norm else v * (max_norm / norm_of_v)"]
    page = "\n".join(html.escape(line).replace(" ", '<span class="w">  </span>') for line in region)
    (site / "page.html").write_text(f"<pre>{page}</pre>")
    found = leaks.find_leaks([site], _solutions(solutions))
    assert sorted(leak.text for leak in found) == sorted(region)


def test_a_marker_in_static_files_is_found(course):
    # Nothing of the site is exempt: a leaked notebook copied into _static/ is still a leak.
    _, _, site = course
    (site / "_static").mkdir()
    (site / "_static" / "copy.js").write_text("// ### BEGIN SOLUTION\n")
    assert [(leak.file.name, leak.text) for leak in leaks.find_leaks([site])] == [
        ("copy.js", "BEGIN SOLUTION")]
    assert any("_static/copy.js" in p for p in book.scan_site(site))


def test_a_path_that_does_not_exist_is_refused_with_its_value(course, tmp_path, capsys):
    solutions, out, _ = course
    missing = tmp_path / "no-such-site"
    with pytest.raises(ValueError, match="paths") as error:
        leaks.find_leaks([missing])
    assert f"Received: {str(missing)!r}" in str(error.value)
    # A mistyped --scan path must fail the CI step, not pass it with nothing scanned.
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(missing)]) == 2
    assert "no-such-site" in capsys.readouterr().err


def test_an_unreadable_file_is_an_error_that_names_it(course, monkeypatch):
    _, _, site = course
    real = Path.read_bytes

    def failing(self):
        if self.name == "index.html":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", failing)
    with pytest.raises(OSError, match="index.html") as error:
        leaks.find_leaks([site])
    assert "Permission denied" in str(error.value)


def test_the_markers_are_the_grading_tools_delimiters_and_instructor_only():
    words = [word for pair in nbg.DELIMITERS.values() for word in pair]
    assert len(words) == 6
    assert set(leaks.MARKERS) == {*words, "instructor-only"}


def test_html_to_text_is_the_text_a_reader_sees():
    from keraslab._html import html_to_text

    assert html_to_text('<span>BEGIN</span>\n  <b>MARK</b>&amp;&nbsp;x') == "BEGIN MARK& x"
