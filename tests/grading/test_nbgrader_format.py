"""Reading and releasing notebooks as nbgrader does (no kernel runs here).

The expected texts follow nbgrader's documented behaviour: a line that contains ``BEGIN
SOLUTION`` opens a region and is replaced by the stub at its indent, the region's lines and the
end-marker line go, everything else (including the trailing newline) stays; ``celltoolbar``
is removed from the notebook's metadata; checksums are nbgrader's MD5 of source, type, flags,
id and points.
"""

from __future__ import annotations

import hashlib
import time
import warnings

import nbformat
import pytest

from keraslab import cli
from keraslab.grading import feedback
from keraslab.grading import gradebook as gradebooks
from keraslab.grading import notebook as nbg
from keraslab.grading import release as releasing
from keraslab.grading.assignment import Assignment, GradingSetupError
from keraslab.grading.gradebook import student_names
from tests.grading.fixtures import nbgrader_course as course


def _released_problem1():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", releasing.PossibleLeakWarning)
        return releasing.release_notebook(course.problem1(), "problem1.ipynb")


def _by_id(nb):
    return {nbg.grade_id(c): c for c in nb.cells if nbg.grade_id(c)}


def test_markers_without_a_space_are_markers_and_the_trailing_newline_stays():
    cells = _by_id(_released_problem1())
    assert cells["squares"].source == (
        "def squares(n):\n"
        '    """Compute the squares of numbers from 1 to n."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
    )
    # A markdown answer with markers keeps its instructions.
    assert cells["explain"].source == (
        "Explain why `squares` raises for `n < 1`.\n\nYOUR ANSWER HERE"
    )
    assert cells["plot_task"].source == "Plot the squares and label the axes.\n"


def test_release_drops_celltoolbar_and_writes_nbgrader_checksums():
    released = _released_problem1()
    assert "celltoolbar" not in released.metadata
    checked = 0
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        checked += 1
        digest = hashlib.md5()
        for text in (
            cell.source,
            cell.cell_type,
            str(bool(meta.get("grade"))),
            str(bool(meta.get("solution"))),
            # nbgrader's rule: answers are never locked, graded cells always.
            str(not meta.get("solution") and bool(meta.get("grade") or meta.get("locked"))),
            meta["grade_id"],
        ):
            digest.update(text.encode("utf-8"))
        if meta.get("grade"):
            digest.update(str(float(meta["points"])).encode("utf-8"))
        assert meta["checksum"] == digest.hexdigest(), meta["grade_id"]
    assert checked == 6


def test_lines_also_shown_to_students_are_a_warning_not_a_refusal():
    with pytest.warns(releasing.PossibleLeakWarning, match="also stand where students see them"):
        released = releasing.release_notebook(course.problem1(), "problem1.ipynb")
    assert any(course.SHARED_LINE in text for text in nbg.strings_in(released))
    secret = nbg.secret_text(course.problem1())
    assert course.SHARED_LINE not in secret.lines
    assert "except ValueError:" not in secret.lines  # a visible test has it too
    assert "return [i ** 2 for i in range(1, n + 1)]" in secret.lines
    with pytest.raises(releasing.ReleaseError, match="example_string"):
        releasing.release_notebook(course.problem1(), "problem1.ipynb", strict=True)


def test_release_cli_warns_and_copies_the_assignment_files(tmp_path, capsys):
    source = course.write_source(tmp_path)
    out = tmp_path / "release" / course.ASSIGNMENT
    assert cli.main(["release", str(source), "--out", str(out)]) == 0
    assert "warning: notebook 'problem1.ipynb'" in capsys.readouterr().err
    assert (out / "data.txt").read_text() == course.DATA_TEXT
    assert cli.main(["release", str(source), "--out", str(out), "--check"]) == 0
    (out / "data.txt").write_text("changed")
    assert cli.main(["release", str(source), "--out", str(out), "--check"]) == 1
    assert "data.txt: differs from the assignment's file" in capsys.readouterr().err
    assert cli.main(["release", str(source), "--out", str(out), "--strict"]) == 2


def test_notebooks_without_keraslab_get_no_colab_cells():
    ids = [c.get("id") for c in _released_problem1().cells]
    assert releasing.BADGE_CELL_ID not in ids and releasing.INSTALL_CELL_ID not in ids


def test_header_and_footer_notebooks_frame_the_release(tmp_path, capsys):
    header = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Course header")])
    footer = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Honour code")])
    source = course.write_source(tmp_path)
    for name, nb in (("header.ipynb", header), ("footer.ipynb", footer)):
        course.write(nb, tmp_path / name)
    out = tmp_path / "release"
    command = ["release", str(source / "problem2.ipynb"), "--out", str(out)]
    command += ["--header", str(tmp_path / "header.ipynb")]
    assert cli.main([*command, "--footer", str(tmp_path / "footer.ipynb")]) == 0
    cells = nbg.read_notebook(out / "problem2.ipynb").cells
    assert (cells[0].source, cells[-1].source) == ("Course header", "Honour code")


def test_task_cells_and_answers_graded_by_hand_are_counted_separately(tmp_path):
    path = course.write(course.problem1(), tmp_path / "problem1.ipynb")
    assignment = Assignment.from_path(path)
    assert [q.grade_id for q in assignment.questions] == [
        "correct_squares",
        "squares_hidden",
        "reads_data",
    ]
    assert (assignment.max_points, assignment.manual_max, assignment.task_max) == (3, 3, 4)
    assert assignment.total_max == 10
    manual_only = Assignment.from_path(
        course.write(course.problem2(), tmp_path / "problem2.ipynb")
    )
    assert (manual_only.questions, manual_only.manual) == ([], {"essay": 2.0})


def test_schema_0_and_autotest_notebooks_are_refused_with_a_reason():
    old = course.problem2()
    del old.cells[1].metadata["nbgrader"]["schema_version"]
    with pytest.raises(releasing.ReleaseError, match="upgrade it with `nbgrader update`"):
        releasing.release_notebook(old, "old.ipynb")
    autotest = course.problem1()
    autotest.cells[2].source = "### AUTOTEST squares(1); squares(2)"
    with pytest.raises(releasing.ReleaseError, match="AUTOTEST directives are not supported"):
        releasing.release_notebook(autotest, "auto.ipynb")
    hashed = course.problem1()
    hashed.cells[2].source = "### HASHED AUTOTEST squares(3)"
    with pytest.raises(releasing.ReleaseError, match="HASHED AUTOTEST"):
        releasing.release_notebook(hashed, "auto.ipynb")


@pytest.mark.timeout(20)
def test_cleaning_a_megabyte_line_takes_no_longer_than_a_short_one():
    # A stall here (a pattern that backtracks over the whole line) ends in the timeout.
    secret = nbg.SecretText({"return [i ** 2 for i in range(1, n + 1)]"})
    start = time.perf_counter()
    for line in ("x" * 1_000_000, "/" * 1_000_000, "\x1b[" + "1;" * 500_000):
        text = feedback.clean_output(line + "\n", secret)
        assert len(text) < feedback.MAX_OUTPUT_CHARS + 100
        assert text.endswith("more characters]")
    assert time.perf_counter() - start < 10


def test_student_names_follow_nbgrader_layout_and_stay_apart():
    paths = [
        "submitted/bitdiddle/ps1/problem1.ipynb",
        "submitted/hacker/ps1/problem1.ipynb",
        "submitted/hacker/ps1/problem2.ipynb",
    ]
    assert student_names(paths, "problem1.ipynb") == [
        "bitdiddle",
        "hacker",
        "hacker (problem2)",
    ]


def test_feedback_file_names_differ_for_every_student():
    students = ["Zo\u00eb", "Zo\u00e9", "zo\u00eb", "Zoe\u0308", "a/b", "a_b", "..", ""]
    names = gradebooks.feedback_file_names(students, "md")
    assert names[:2] == ["Zo\u00eb.md", "Zo\u00e9.md"]
    folded = [nbg_name.casefold() for nbg_name in names]
    assert len(set(folded)) == len(students)
    assert all("/" not in name and not name.startswith(".") for name in names)
    assert gradebooks.ascii_file_name("Zo\u00eb.md") == "Zo-u00eb.md"


def test_assignment_files_never_include_submissions_or_grades(tmp_path):
    source = course.write_source(tmp_path)
    (source / "images").mkdir()
    (source / "images" / "jupyter.png").write_bytes(b"\x89PNG")
    (source / ".secret").write_text("hidden")
    for folder, name in (("grades", "gradebook.csv"), ("submitted", "alice.ipynb")):
        (source / folder).mkdir()
        (source / folder / name).write_text("{}")
        (source / folder / "notes.txt").write_text("other students' work")
    assert sorted(releasing.assignment_files(source)) == ["data.txt", "images/jupyter.png"]
    assignment = Assignment.from_path(source / "problem1.ipynb", files=False)
    assert assignment.files == {}


def test_grading_refuses_autotest_notebooks_with_a_reason(tmp_path):
    autotest = course.problem1()
    autotest.cells[2].source = "### AUTOTEST squares(1)"
    path = course.write(autotest, tmp_path / "auto.ipynb")
    with pytest.raises(GradingSetupError, match="AUTOTEST directives are not supported"):
        Assignment.from_path(path)


def test_final_export_refuses_points_out_of_range_and_missing_gradebooks(tmp_path):
    folder = tmp_path / "problem1"
    folder.mkdir()
    columns = "student,total,max_points,manual_max,task_max,status"
    (folder / "gradebook.csv").write_text(f"{columns}\nalice,2,3,3,4,ok\n")
    hand = folder / "hand_grading.csv"
    hand.write_text("student,grade_id,kind,max_points,points,comment\nalice,explain,manual,3,5,\n")
    with pytest.raises(ValueError, match="points for 'alice' on 'explain' must be a number"):
        gradebooks.final_grades([folder], tmp_path / "final.csv")
    hand.write_text("student,grade_id,kind,max_points,points,comment\nalice,explain,manual,3,,\n")
    with pytest.raises(ValueError, match="1 cell\\(s\\) still wait for hand grading"):
        gradebooks.final_grades([folder], tmp_path / "final.csv")
    rows = gradebooks.final_grades([folder], tmp_path / "final.csv", allow_waiting=True)
    assert rows == [{"student": "alice", "problem1": "2", "total": "2", "max_points": "10"}]
    with pytest.raises(ValueError, match="no gradebook.csv in"):
        gradebooks.final_grades([tmp_path / "nothing"], tmp_path / "final.csv")
