"""Grading a course kept in nbgrader's format, end to end: layout, points by hand, final export.

One grade call per notebook of the fixture course (`tests.grading.fixtures.nbgrader_course`),
since kernel start-ups dominate.
"""

from __future__ import annotations

import csv
import io
import warnings

import pytest

from keraslab import cli
from keraslab.grading import grade as grading
from keraslab.grading import release as releasing
from keraslab.grading import sandbox as sandboxing
from tests.grading.fixtures import SANDBOX
from tests.grading.fixtures import nbgrader_course as course

LIMITS = sandboxing.Limits(cell_timeout=10, notebook_timeout=60, memory=2 * 1024**3)

pytestmark = pytest.mark.timeout(240)


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    source = course.write_source(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", releasing.PossibleLeakWarning)
        problem1, problem2 = course.problem1(), course.problem2()
        students = {
            "bitdiddle": course.answered(
                problem1,
                "problem1.ipynb",
                {"squares": course.SQUARES_OK, "explain": "Because there is nothing to square."},
            ),
            "hacker": course.answered(
                problem1, "problem1.ipynb", {"squares": course.SQUARES_PARTIAL}
            ),
            "lazy": course.released(problem1, "problem1.ipynb"),
        }
        for student, nb in students.items():
            course.write(nb, course.submission_path(root, student, "problem1.ipynb"))
        # hacker also handed in problem2, answered; lazy handed it in as released.
        course.write(
            course.answered(problem2, "problem2.ipynb", {"essay": "Squares are nice."}),
            course.submission_path(root, "hacker", "problem2.ipynb"),
        )
        course.write(
            course.released(problem2, "problem2.ipynb"),
            course.submission_path(root, "lazy", "problem2.ipynb"),
        )
    return root, source


@pytest.fixture(scope="module")
def problem1_graded(course_dir):
    root, source = course_dir
    log = io.StringIO()
    # The whole submitted/ folder: problem2 files are in it too.
    results = grading.grade(
        [root / "submitted"],
        source / "problem1.ipynb",
        root / "grades" / "problem1",
        limits=LIMITS,
        sandbox=SANDBOX,
        progress=log,
    )
    return {r.student: r for r in results}, log.getvalue()


@pytest.fixture(scope="module")
def problem2_graded(course_dir):
    root, source = course_dir
    results = grading.grade(
        sorted((root / "submitted").glob("*/ps1/problem2.ipynb")),
        source / "problem2.ipynb",
        root / "grades" / "problem2",
        limits=LIMITS,
        sandbox=SANDBOX,
        progress=False,
    )
    return {r.student: r for r in results}


def test_rows_are_named_by_student_from_nbgrader_layout(problem1_graded):
    results, _ = problem1_graded
    assert set(results) == {"bitdiddle", "hacker", "lazy", "hacker (problem2)", "lazy (problem2)"}


def test_another_notebook_of_the_assignment_is_flagged_not_graded(problem1_graded):
    results, _ = problem1_graded
    for name in ("hacker (problem2)", "lazy (problem2)"):
        result = results[name]
        assert (result.status, result.total) == ("wrong-notebook", 0)
        assert "not a submission of problem1.ipynb" in result.message


def test_auto_points_match_nbgrader(problem1_graded):
    results, _ = problem1_graded
    points = {name: {q.grade_id: q.points for q in results[name].questions} for name in results}
    assert points["bitdiddle"] == {"correct_squares": 1, "squares_hidden": 1, "reads_data": 1}
    # Right for small inputs, wrong on the hidden n = 10, and it does not raise for n < 1.
    assert points["hacker"] == {"correct_squares": 0, "squares_hidden": 0, "reads_data": 1}
    assert points["lazy"] == {"correct_squares": 0, "squares_hidden": 0, "reads_data": 1}
    assert all(results[n].status == "ok" for n in ("bitdiddle", "hacker", "lazy"))


def test_the_assignment_files_and_nbgrader_environment_reach_the_kernel(problem1_graded):
    results, _ = problem1_graded
    reads = {q.grade_id: q.reason for q in results["bitdiddle"].questions}["reads_data"]
    assert reads == "passed"


def test_gradebook_carries_auto_manual_and_task_points_separately(course_dir, problem1_graded):
    root, _ = course_dir
    rows = {r["student"]: r for r in _rows(root / "grades" / "problem1" / "gradebook.csv")}
    bitdiddle, lazy = rows["bitdiddle"], rows["lazy"]
    assert (bitdiddle["total"], bitdiddle["max_points"]) == ("3", "3")
    assert (bitdiddle["manual_max"], bitdiddle["task_max"]) == ("3", "4")
    assert bitdiddle["waiting_for_hand_grading"] == "explain plot_task"
    # An answer left as released scores 0 at once, as in nbgrader; the task still waits.
    assert (lazy["manual"], lazy["waiting_for_hand_grading"]) == ("0", "plot_task")


def test_hand_grading_csv_then_one_final_export(course_dir, problem1_graded, problem2_graded):
    root, source = course_dir
    grades = root / "grades"
    hand = grades / "problem1" / "hand_grading.csv"
    rows = _rows(hand)
    lazy_explain = next(r for r in rows if (r["student"], r["grade_id"]) == ("lazy", "explain"))
    assert (lazy_explain["points"], lazy_explain["comment"]) == ("0", "left as released")
    final = grades / "final.csv"
    command = ["gradebook", str(grades / "problem1"), str(grades / "problem2"), "--out", str(final)]
    assert cli.main(command) == 2  # cells still wait for hand grading
    given = {("bitdiddle", "explain"): "2.5", ("bitdiddle", "plot_task"): "4"}
    given |= {("hacker", "explain"): "1", ("hacker", "plot_task"): "0"}
    given |= {("lazy", "plot_task"): "0"}
    for row in rows:
        row["points"] = given.get((row["student"], row["grade_id"]), row["points"] or "0")
    with open(hand, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    hand2 = grades / "problem2" / "hand_grading.csv"
    rows2 = _rows(hand2)
    for row in rows2:
        row["points"] = row["points"] or "1.5"
    with open(hand2, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows2[0]))
        writer.writeheader()
        writer.writerows(rows2)
    assert cli.main(command) == 0
    final_rows = {r["student"]: r for r in _rows(final)}
    assert final_rows["bitdiddle"]["problem1"] == "9.5"  # 3 auto + 2.5 + 4
    assert final_rows["hacker"]["problem2"] == "1.5"
    assert final_rows["lazy"]["problem2"] == "0"  # left as released
    assert final_rows["hacker"]["max_points"] == "12"
    # Re-grading keeps the points the instructor entered.
    grading.grade(
        [course.submission_path(root, "bitdiddle", "problem1.ipynb")],
        source / "problem1.ipynb",
        grades / "problem1",
        limits=LIMITS,
        sandbox=SANDBOX,
        progress=False,
    )
    kept = {(r["student"], r["grade_id"]): r["points"] for r in _rows(hand)}
    assert kept[("bitdiddle", "explain")] == "2.5" and kept[("hacker", "explain")] == "1"


def test_manual_only_notebook_gives_rows_waiting_for_hand_grading(problem2_graded):
    hacker, lazy = problem2_graded["hacker"], problem2_graded["lazy"]
    assert (hacker.status, hacker.questions, hacker.waiting) == ("ok", [], ["essay"])
    assert (lazy.waiting, [h.points for h in lazy.hand]) == ([], [0.0])


def test_feedback_tells_what_is_graded_by_hand(course_dir, problem1_graded):
    root, _ = course_dir
    text = (root / "grades" / "problem1" / "feedback" / "lazy.md").read_text()
    assert "explain (answer): 0 / 3 points, left as released" in text
    assert "plot_task (task, 4 points): graded by hand later" in text
    assert "Two points per labelled axis" not in text  # the mark scheme


def test_progress_lines_while_grading_a_course(problem1_graded):
    _, log = problem1_graded
    lines = log.splitlines()
    assert "running the solution notebook problem1.ipynb" in lines[0]
    assert sum("] " in line for line in lines) == 5
