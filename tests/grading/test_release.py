"""Release: stripping, locking, Colab cells, refusals, and the sync and leak checks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from keraslab import _project, cli
from keraslab.grading import leaks
from keraslab.grading import notebook as nbg
from keraslab.grading import release as releasing
from tests.grading.fixtures import notebooks as fx

REPO = Path(__file__).resolve().parents[2]
SOLUTION_NOTEBOOKS = sorted((REPO / "solutions").glob("*.ipynb"))


def _all_text(nb) -> str:
    return "\n".join(nbg.strings_in(nb))


def test_release_strips_every_secret_and_keeps_the_exercise():
    solution = fx.solution_notebook()
    released = releasing.release_notebook(solution, fx.ASSIGNMENT_NAME)
    text = _all_text(released)

    for secret in (fx.RELU_SOLUTION, fx.RELU_HIDDEN, fx.SOFTMAX_HIDDEN, fx.CLIP_HIDDEN):
        assert secret not in text
    assert "Full marks only if the derivative" not in text  # mark scheme
    assert "does not vanish through many layers" not in text  # markdown answer
    for marker in nbg.ALL_MARKERS:
        assert marker not in text
    assert nbg.secret_text(solution).find_in(text) == []

    by_id = {nbg.grade_id(c): c for c in released.cells if nbg.grade_id(c)}
    assert by_id["relu_answer"].source == (
        'def relu(x):\n    """Rectified linear unit, elementwise."""\n'
        "    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert by_id["why_relu_answer"].source == nbg.MARKDOWN_STUB
    assert by_id["relu_test"].source.startswith("assert np.allclose(relu(")
    assert by_id["clip_test"].source == ""
    assert by_id["sketch_task"].source.strip() == "Sketch ReLU and its derivative."
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in released.cells
        if c.cell_type == "code"
    )


def test_release_locks_cells_and_records_nbgrader_checksums():
    released = fx.released_notebook()
    for cell in released.cells:
        meta = nbg.nbgrader_metadata(cell)
        if not meta:
            continue
        assert meta["schema_version"] == 3
        assert meta["checksum"] == nbg.compute_checksum(cell)
        if nbg.is_locked(cell):
            assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
        if nbg.is_solution(cell):
            assert cell.metadata.get("editable", True) is True


def test_release_starts_with_colab_badge_and_colab_only_install_cell():
    badge, install = fx.released_notebook().cells[:2]
    assert badge.cell_type == "markdown" and "colab-badge.svg" in badge.source
    repository = _project.repository().name
    assert f"colab.research.google.com/github/{repository}/blob/" in badge.source
    assert badge.source.endswith(f"/exercises/{fx.ASSIGNMENT_NAME})")
    assert install.cell_type == "code"
    assert 'if "google.colab" in sys.modules:' in install.source
    assert f"git+{_project.repository().url}@" in install.source
    assert "tensorflow" not in install.source.split("import sys", 1)[1]
    # Outside Colab the cell is a no-op (and cheap), so graded runs can execute it.
    namespace = {}
    exec(install.source, namespace)


def test_release_is_repeatable_byte_for_byte():
    solution = fx.solution_notebook()
    first = releasing.release_notebook(solution, fx.ASSIGNMENT_NAME)
    second = releasing.release_notebook(solution, fx.ASSIGNMENT_NAME)
    assert nbg.notebook_text(first) == nbg.notebook_text(second)


def _with_cell(source, cell_type="code", **meta):
    nb = fx.solution_notebook()
    cell = (nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell)(
        source
    )
    if meta:
        meta = {"schema_version": 3, "grade_id": "extra", **meta}
        cell.metadata["nbgrader"] = {k: v for k, v in meta.items() if v is not None}
    nb.cells.append(cell)
    return nb


@pytest.mark.parametrize(
    ("nb", "message"),
    [
        (
            _with_cell("x = 1\n### BEGIN SOLUTION\ny = 2", solution=True),
            "is never closed",
        ),
        (
            _with_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", solution=True),
            "inside an open solution region",
        ),
        (
            _with_cell("### BEGIN SOLUTION\nsecret_answer = 42\n### END SOLUTION"),
            "in a cell without solution metadata",
        ),
        (
            _with_cell("### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS", solution=True),
            "outside a test cell",
        ),
        (
            _with_cell("=== BEGIN MARK SCHEME ===\nx\n=== END MARK SCHEME ===", locked=True),
            "belongs in a markdown cell",
        ),
        (
            _with_cell("assert True", grade=True, points=1, schema_version=None),
            "without schema_version (nbgrader's schema 0",
        ),
        (
            _with_cell("### AUTOTEST relu(x); relu(-x)", grade=True, points=1),
            "AUTOTEST directives are not supported",
        ),
        (_with_cell("assert True", grade=True, points="many"), "points must be a number"),
        (_with_cell("assert True", grade=True, points=1, schema_version=1), "schema_version"),
    ],
)
def test_release_refuses_bad_markers_and_metadata(nb, message):
    with pytest.raises(releasing.ReleaseError, match="cell 11") as caught:
        releasing.release_notebook(nb, "bad.ipynb")
    assert message in str(caught.value)
    assert "bad.ipynb" in str(caught.value)


def test_solution_text_left_in_a_visible_cell_is_a_warning_or_strictly_refused():
    nb = fx.solution_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(f"Hint: try `{fx.RELU_SOLUTION}`"))
    with pytest.warns(releasing.PossibleLeakWarning, match="also stand where students see"):
        released = releasing.release_notebook(nb, "leaky.ipynb")
    assert f"Hint: try `{fx.RELU_SOLUTION}`" in _all_text(released)
    with pytest.raises(releasing.ReleaseError, match="also stand where students see") as caught:
        releasing.release_notebook(nb, "leaky.ipynb", strict=True)
    assert fx.RELU_SOLUTION in str(caught.value)


def test_secret_text_in_metadata_counts_as_shown_to_students():
    nb = fx.solution_notebook()
    nb.cells[0].metadata["tags"] = [fx.SOFTMAX_HIDDEN]
    with pytest.raises(releasing.ReleaseError, match="np.random.default_rng"):
        releasing.release_notebook(nb, "leaky.ipynb", strict=True)


def test_release_refuses_duplicate_grade_ids():
    nb = fx.solution_notebook()
    nb.cells[2].metadata["nbgrader"]["grade_id"] = "imports"
    with pytest.raises(releasing.ReleaseError, match="grade_id 'imports' is also used by cell 1"):
        releasing.release_notebook(nb, "dup.ipynb")


def test_release_cli_writes_checks_sync_and_scans_for_leaks(tmp_path, capsys):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    fx.write(fx.solution_notebook(), solutions / fx.ASSIGNMENT_NAME)
    out = tmp_path / "exercises"

    assert cli.main(["release", str(solutions), "--out", str(out)]) == 0
    released = out / fx.ASSIGNMENT_NAME
    assert nbg.secret_text(fx.solution_notebook()).find_in(released.read_text()) == []
    assert cli.main(["release", str(solutions), "--out", str(out), "--check"]) == 0

    released.write_text(released.read_text().replace("YOUR CODE HERE", "my edit"))
    (out / "orphan.ipynb").write_text("{}")
    assert cli.main(["release", str(solutions), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "numpy_basics.ipynb: differs from a fresh release" in err
    assert "orphan.ipynb: has no solution notebook" in err

    site = tmp_path / "site"
    site.mkdir()
    (site / "clean.html").write_text("<p>x = np.zeros(3)</p>")
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(site)]) == 0
    escaped = (
        "<pre>_v = np.array([3.0, 4.0])\nassert np.allclose(clip_norm(_v, 1.0), [0.6, 0.8])</pre>"
    )
    (site / "page.html").write_text(escaped.replace("<pre>", "<pre>&#x27;").replace("[", "&#91;"))
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(site)]) == 1
    assert f"page.html: contains {fx.CLIP_HIDDEN!r}" in capsys.readouterr().err

    (site / "page.html").unlink()
    # Syntax highlighting wraps every token in its own tag; the scan must see through that.
    hidden_region = ["_v = np.array([3.0, 4.0])", fx.CLIP_HIDDEN]
    highlighted = "\n".join(
        " ".join(f'<span class="n">{token}</span>' for token in line.split(" "))
        for line in hidden_region
    )
    (site / "highlighted.html").write_text(f"<pre>{highlighted}</pre>")
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(site)]) == 1
    assert "highlighted.html: contains" in capsys.readouterr().err

    # One short line shared with a solution is common code, not a leak of the region.
    (site / "highlighted.html").write_text(f"<pre>{hidden_region[0]}</pre>")
    assert cli.main(["release", str(solutions), "--out", str(out), "--scan", str(site)]) == 0
    # A released notebook is held to its own solution line by line.
    released.write_text(released.read_text().replace("YOUR CODE HERE", hidden_region[0]))
    notebooks = {fx.ASSIGNMENT_NAME: fx.solution_notebook()}
    assert [str(leak) for leak in leaks.find_leaks([released], notebooks)] == [
        f"{released}: contains {hidden_region[0]!r}"
    ]


def test_release_cli_refuses_bad_notebook_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    fx.write(_with_cell("### BEGIN SOLUTION\nx = 1"), bad)
    out = tmp_path / "out"
    assert cli.main(["release", str(bad), "--out", str(out)]) == 2
    assert "unbalanced solution markers" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written
    assert cli.main(["release", str(tmp_path / "nope.ipynb"), "--out", str(out)]) == 2
    assert "no such notebook or folder" in capsys.readouterr().err


@pytest.mark.parametrize("solution", SOLUTION_NOTEBOOKS, ids=lambda p: p.name)
def test_course_solution_releases_without_leaks(solution):
    nb = nbg.read_notebook(solution)
    released = releasing.release_notebook(nb, solution.name)  # raises on any leak
    assert nbg.secret_text(nb).find_in(_all_text(released)) == []


def test_exercises_folder_is_a_fresh_release_of_solutions():
    released = releasing.release_files(SOLUTION_NOTEBOOKS, REPO / "exercises")
    assert releasing.sync_differences(released, REPO / "exercises") == []
    if SOLUTION_NOTEBOOKS:
        solutions = {path.name: nbg.read_notebook(path) for path in SOLUTION_NOTEBOOKS}
        assert leaks.find_leaks([REPO / "exercises"], solutions) == []
