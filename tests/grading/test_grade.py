"""Grading: hostile and honest submissions, each with the score it must get.

All submissions are graded in one call (two at a time), since kernel start-ups dominate.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest

from keraslab import cli
from keraslab.grading import grade as grading
from keraslab.grading import notebook as nbg
from keraslab.grading import sandbox as sandboxing
from keraslab.grading.assignment import Assignment, GradingSetupError
from keraslab.grading.gradebook import student_names
from tests.grading.fixtures import SANDBOX
from tests.grading.fixtures import notebooks as fx

HAS_BWRAP = sandboxing.bwrap_problem() is None
# Output beyond 2 MB is dropped: the "loud" submission prints more than that.
LIMITS = sandboxing.Limits(
    cell_timeout=5, notebook_timeout=60, memory=2 * 1024**3, output_bytes=2 * 1024**2
)
ADVERSARIAL = [s for s in fx.SUBMISSIONS if HAS_BWRAP or not s.needs_sandbox]
RENAMED = "Copy of numpy_basics (3)"
# Two students whose names differ in one accented letter (an ASCII-only file name merges them).
ACCENTED = ("Zo\u00eb", "Zo\u00e9")
MEGABYTE_LINE = "print('#' * 1_000_000)"  # one line without spaces or newlines
LOUD = fx.Submission(
    "loud",
    {
        "relu_answer": fx.RELU_OK.replace("    return", f"    {MEGABYTE_LINE}\n    return"),
        "softmax_answer": fx.SOFTMAX_OK.replace(
            "    return", f"    {MEGABYTE_LINE}\n    {MEGABYTE_LINE}\n    return"
        ),
        "clip_answer": fx.CLIP_OK,
    },
    fx.FULL,
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    solution = root / "solutions" / fx.ASSIGNMENT_NAME
    solution.parent.mkdir()
    fx.write(fx.solution_notebook(), solution)
    submissions = root / "submissions"
    submissions.mkdir()
    for submission in ADVERSARIAL:
        fx.write(fx.build_submission(submission), submissions / f"{submission.name}.ipynb")
    fx.write(fx.released_notebook(), submissions / "unanswered.ipynb")
    shutil.copy(solution, submissions / "the_solution.ipynb")
    correct = fx.SUBMISSIONS[0]
    fx.write(fx.build_submission(correct), submissions / f"{RENAMED}.ipynb")
    for name in ACCENTED:
        fx.write(fx.build_submission(correct), submissions / f"{name}.ipynb")
    fx.write(fx.build_submission(LOUD), submissions / "loud.ipynb")
    # Downloaded from another tool: without the cells keraslab's release adds.
    plain = fx.build_submission(correct)
    plain.cells = [c for c in plain.cells if not c.get("id", "").startswith("keraslab-colab")]
    fx.write(plain, submissions / "no_colab_cells.ipynb")
    # Saved with 70 MB of outputs, which the grader never looks at.
    heavy = fx.build_submission(correct)
    first_code = next(c for c in heavy.cells if c.cell_type == "code")
    first_code.outputs = [{"output_type": "stream", "name": "stdout", "text": "z" * 70 * 1024**2}]
    fx.write(heavy, submissions / "saved_outputs.ipynb")
    (submissions / "empty.ipynb").write_text("")
    (submissions / "corrupt.ipynb").write_text('{"cells": [{"cell_type": "code", "sou')
    return root, solution, submissions


PROGRESS = io.StringIO()


@pytest.fixture(scope="module")
def graded(workspace):
    root, solution, submissions = workspace
    missing = submissions / "vanished.ipynb"
    results = grading.grade(
        [submissions, missing],
        solution,
        root / "grades",
        jobs=2,
        limits=LIMITS,
        sandbox=SANDBOX,
        progress=PROGRESS,
    )
    return {r.student: r for r in results}


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    "submission",
    [
        pytest.param(
            s,
            id=s.name,
            marks=pytest.mark.skipif(
                s.needs_sandbox and not HAS_BWRAP,
                reason="without bubblewrap a kernel can read the solution notebook (documented)",
            ),
        )
        for s in fx.SUBMISSIONS
    ],
)
def test_adversarial_submission_gets_exactly_its_score(graded, submission):
    result = graded[submission.name]
    assert result.status == submission.status, result.message
    got = {q.grade_id: q.points for q in result.questions}
    assert got == submission.expected, [(q.grade_id, q.reason) for q in result.questions]


def test_neutered_and_forged_tests_say_why_they_scored_zero(graded):
    transformer = {q.grade_id: q.reason for q in graded["input_transformer"].questions}
    assert all("did not run to their end" in reason for reason in transformer.values())
    forged = {q.grade_id: q.reason for q in graded["fake_score"].questions}
    assert forged["softmax_test"] == "hidden check 1: values differ"


def test_solution_notebook_scores_full_marks(graded):
    result = graded["the_solution"]
    assert (result.status, result.total) == ("ok", fx.MAX_POINTS)


def test_unanswered_release_scores_zero_without_crashing(graded):
    result = graded["unanswered"]
    assert result.status == "ok"
    assert result.total == 0
    assert {q.reason for q in result.questions} >= {"the visible tests raised NotImplementedError"}


def test_renamed_file_is_graded_under_its_own_name(graded):
    assert graded[RENAMED].total == fx.MAX_POINTS


def test_unreadable_submissions_still_get_a_row(graded):
    for name in ("empty", "corrupt", "vanished"):
        result = graded[name]
        assert result.status == "unreadable"
        assert result.total == 0
    assert "is empty" in graded["empty"].message
    assert "not valid notebook JSON" in graded["corrupt"].message


def test_tampered_and_deleted_cells_are_restored_and_reported(graded):
    result = graded["tampers_with_tests"]
    assert result.tampered == ["relu_test"]
    assert result.missing == ["clip_test"]


def test_gradebook_has_one_sorted_row_per_submission(workspace, graded):
    root, _, _ = workspace
    rows = _rows(root / "grades" / "gradebook.csv")
    assert [row["student"] for row in rows] == sorted(graded)
    assert list(rows[0]) == [
        "student",
        "relu_test",
        "softmax_test",
        "clip_test",
        "total",
        "max_points",
        "manual",
        "manual_max",
        "task",
        "task_max",
        "waiting_for_hand_grading",
        "status",
        "tampered",
        "missing",
        "flags",
        "submission",
        "feedback",
        "message",
    ]
    by_student = {row["student"]: row for row in rows}
    for submission in ADVERSARIAL:
        row = by_student[submission.name]
        assert float(row["total"]) == submission.expected_total
        assert row["status"] == submission.status
    assert by_student["tampers_with_tests"]["tampered"] == "relu_test"
    assert by_student["fake_score"]["total"] == "2"


def test_feedback_never_contains_solutions_or_hidden_tests(workspace, graded):
    root, _, _ = workspace
    secret = nbg.secret_text(fx.solution_notebook())
    files = sorted((root / "grades" / "feedback").glob("*.md"))
    assert len(files) == len(graded)
    for file in files:
        text = file.read_text()
        assert secret.find_in(text) == [], file.name
        for hidden in (fx.RELU_HIDDEN, fx.SOFTMAX_HIDDEN, fx.CLIP_HIDDEN, 'record("relu"'):
            assert hidden not in text, file.name
        assert "_hidden_x" not in text and "_hidden_logits" not in text, file.name
        assert ".receipt(" not in text, file.name
    echoed = (root / "grades" / "feedback" / "echoes_hidden_tests.md").read_text()
    assert "[redacted]" in echoed


def test_feedback_shows_grader_score_and_fenced_visible_output(workspace):
    root, _, _ = workspace
    text = (root / "grades" / "feedback" / "fake_score.md").read_text()
    assert "- Score: **2 / 6** points graded automatically" in text
    assert "| relu_test | 2 / 2 | passed |" in text
    # The student's own "score" appears only inside the fenced test output.
    fenced = text.split("## Output of the visible tests", 1)[1]
    assert "Score: 6 / 6 points" in fenced
    assert "Score: 6 / 6" not in text.split("## Output of the visible tests", 1)[0]
    assert "visible relu test passed" in fenced
    noisy = (root / "grades" / "feedback" / "noisy_stderr.md").read_text()
    assert "- Score: **6 / 6**" in noisy


def test_regrading_gives_the_same_rows_and_html_feedback(workspace, graded, capsys):
    root, solution, submissions = workspace
    chosen = [submissions / f"{name}.ipynb" for name in ("correct", "wrong", "corrupt")]
    out = root / "regrade"
    status = cli.main(
        [
            "grade",
            *map(str, chosen),
            "--against",
            str(solution),
            "--out",
            str(out),
            "--cache-dir",
            str(root / "grades" / ".reference-cache"),
            "--cell-timeout",
            "5",
            "--memory",
            "2G",
            "--feedback",
            "html",
            "--sandbox",
            SANDBOX,
            "--no-progress",
        ]
    )
    assert status == 0
    assert "graded 3 submission(s): 2 ok, 1 unreadable" in capsys.readouterr().out
    first = {row["student"]: row for row in _rows(root / "grades" / "gradebook.csv")}
    for row in _rows(out / "gradebook.csv"):
        expected = dict(first[row["student"]])
        expected["feedback"] = expected["feedback"].removesuffix(".md") + ".html"
        assert row == expected
    html = (out / "feedback" / "correct.html").read_text()
    assert "<b>6 / 6</b>" in html and "<!DOCTYPE html>" in html
    assert nbg.secret_text(fx.solution_notebook()).find_in(html) == []


def test_reference_is_cached_by_notebook_hash(workspace, graded):
    root, solution, _ = workspace
    cached = list((root / "grades" / ".reference-cache").glob("reference-*.json"))
    assert len(cached) == 1
    assignment = Assignment.from_path(solution)
    assert assignment.sha256[:24] in cached[0].name


def test_solution_that_fails_its_own_tests_is_graded_anyway_and_reported_once(tmp_path):
    nb = fx.solution_notebook()
    nb.cells[2].source = nb.cells[2].source.replace(fx.RELU_SOLUTION, "return x")
    broken = tmp_path / "broken.ipynb"
    fx.write(nb, broken)
    alice, bob = tmp_path / "alice.ipynb", tmp_path / "bob.ipynb"
    fx.write(fx.released_notebook(), alice)
    fx.write(fx.build_submission(fx.SUBMISSIONS[0]), bob)
    log = io.StringIO()
    results = grading.grade(
        [alice, bob], broken, tmp_path / "out", limits=LIMITS, sandbox=SANDBOX, progress=log
    )
    by_name = {r.student: r for r in results}
    # The source's relu fails its own visible test; the questions it does not touch are graded
    # as usual (relu_test is compared with what the broken source recorded).
    assert (by_name["alice"].status, by_name["alice"].total) == ("ok", 0)
    bob = {q.grade_id: q.points for q in by_name["bob"].questions}
    assert (bob["softmax_test"], bob["clip_test"]) == (3.0, 1.0)
    warnings = [line for line in log.getvalue().splitlines() if "warning" in line]
    assert len(warnings) == 1, log.getvalue()
    assert "fails its own cell 'relu_test'" in warnings[0] and "grading anyway" in warnings[0]
    assert "earlier cell" not in warnings[0]
    assert all("fails some of its own tests" in r.message for r in results)
    # On request it is refused, naming the cause: a solution cell that raises.
    nb.cells[2].source = "import numpy as np\nraise RuntimeError('setup broke')"
    fx.write(nb, broken)
    with pytest.raises(GradingSetupError, match="raised RuntimeError: setup broke"):
        grading.grade(
            [alice],
            broken,
            tmp_path / "out2",
            limits=LIMITS,
            sandbox=SANDBOX,
            progress=False,
            strict=True,
        )
    assert (
        cli.main(
            [
                "grade",
                str(alice),
                "--against",
                str(broken),
                "--out",
                str(tmp_path / "out2"),
                "--strict",
                "--sandbox",
                SANDBOX,
                "--no-progress",
            ]
        )
        == 2
    )


def test_grade_rejects_bad_arguments(tmp_path, capsys):
    solution = tmp_path / "s.ipynb"
    fx.write(fx.solution_notebook(), solution)
    with pytest.raises(ValueError, match="jobs must be >= 1, got 0"):
        grading.grade([solution], solution, tmp_path / "o", jobs=0)
    with pytest.raises(ValueError, match="cell_timeout must be > 0 seconds, got -1"):
        sandboxing.Limits(cell_timeout=-1)
    assert (
        cli.main(
            [
                "grade",
                str(solution),
                "--against",
                str(solution),
                "--out",
                str(tmp_path / "o"),
                "--memory",
                "lots",
            ]
        )
        == 2
    )
    assert "memory size must look like 512M or 4G, got 'lots'" in capsys.readouterr().err


def test_fallback_without_sandbox_and_notebook_deadline(workspace, graded):
    root, solution, submissions = workspace
    stubborn = fx.Submission(
        "stubborn_loop",
        {
            "relu_answer": fx.RELU_OK,
            # Swallows the interrupt, so only the notebook deadline can stop it.
            "softmax_answer": (
                "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
                "    except KeyboardInterrupt:\n        pass"
            ),
        },
        {"relu_test": 2.0, "softmax_test": 0.0, "clip_test": 0.0},
        status="timeout",
    )
    path = root / "stubborn_loop.ipynb"
    fx.write(fx.build_submission(stubborn), path)
    limits = sandboxing.Limits(cell_timeout=3, notebook_timeout=12, memory=2 * 1024**3)
    results = grading.grade(
        [path, submissions / "exits.ipynb"],
        solution,
        root / "fallback",
        limits=limits,
        sandbox="none",
        cache_dir=root / "grades" / ".reference-cache",
        progress=False,
    )
    by_name = {r.student: r for r in results}
    loop = by_name["stubborn_loop"]
    assert loop.status == "timeout"
    assert "ran longer than 12 s and was stopped" in loop.message
    assert {q.grade_id: q.points for q in loop.questions} == stubborn.expected
    assert loop.total_seconds < 30
    exits = by_name["exits"]
    assert (exits.sandbox, exits.status, exits.total) == ("none", "kernel-died", 5.0)


def test_student_names_come_from_files_or_their_folders():
    assert student_names(["a/x.ipynb", "b/y.ipynb"]) == ["x", "y"]
    assert student_names(["alice/hw.ipynb", "bob/hw.ipynb"]) == ["alice", "bob"]
    assert student_names(["s/hw.ipynb", "s/hw.ipynb"]) == ["hw", "hw-2"]


def test_heavy_output_is_dropped_but_never_the_receipts(graded):
    result = graded["loud"]
    assert (result.status, result.total) == ("ok", fx.MAX_POINTS), result.questions
    assert "output beyond 2 MB was dropped (results and receipts were kept)" in result.message


def test_megabyte_lines_are_cut_in_the_feedback(workspace, graded):
    root, _, _ = workspace
    text = (root / "grades" / "feedback" / "loud.md").read_text()
    assert "more characters]" in text
    assert len(text) < 20_000


def test_saved_outputs_are_dropped_on_reading(workspace, graded):
    _, _, submissions = workspace
    assert (submissions / "saved_outputs.ipynb").stat().st_size > 70 * 1024**2
    result = graded["saved_outputs"]
    assert (result.status, result.total) == ("ok", fx.MAX_POINTS), result.message


def test_feedback_files_are_one_per_student_and_keep_their_names(workspace, graded):
    root, _, _ = workspace
    folder = root / "grades" / "feedback"
    rows = {row["student"]: row for row in _rows(root / "grades" / "gradebook.csv")}
    files = [rows[name]["feedback"] for name in ACCENTED]
    assert files == [f"feedback/{name}.md" for name in ACCENTED]
    for name, file in zip(ACCENTED, files, strict=True):
        assert f"- Student: {name}" in (root / "grades" / file).read_text()
    assert len({row["feedback"] for row in rows.values()}) == len(rows)
    assert len(list(folder.iterdir())) == len(rows)


def test_cells_added_by_the_release_are_never_reported_missing(graded):
    result = graded["no_colab_cells"]
    assert (result.status, result.total, result.missing) == ("ok", fx.MAX_POINTS, [])


def test_hidden_checks_are_named_by_their_sentence_never_their_key(workspace, graded):
    root, _, _ = workspace
    reasons = {q.grade_id: q.reason for q in graded["visible_only"].questions}
    assert reasons["relu_test"] == f"{fx.RELU_DESCRIPTION}: values differ"
    assert reasons["softmax_test"] == "hidden check 1: values differ"
    text = (root / "grades" / "feedback" / "visible_only.md").read_text()
    assert "'relu'" not in text and "'softmax'" not in text
    assert "largest absolute difference" not in text


def test_progress_is_a_line_per_submission_when_not_on_a_terminal(graded):
    lines = PROGRESS.getvalue().splitlines()
    assert "running the solution notebook numpy_basics.ipynb" in lines[0]
    assert lines[1].startswith("keraslab grade: reference ready in ")
    finished = [line for line in lines[2:] if "] " in line]
    assert len(finished) == len(graded)
    assert finished[-1].startswith(f"keraslab grade: [{len(graded)}/{len(graded)}] ")


COURSE_SOLUTIONS = sorted((Path(__file__).resolve().parents[2] / "solutions").glob("*.ipynb"))


@pytest.mark.skipif(
    not os.environ.get("KERASLAB_GRADE_COURSE"),
    reason="grading the TensorFlow course notebooks takes minutes; set KERASLAB_GRADE_COURSE=1",
)
@pytest.mark.parametrize("solution", COURSE_SOLUTIONS, ids=lambda p: p.name)
@pytest.mark.timeout(1800)
def test_course_solution_scores_full_marks_and_its_release_zero(solution, tmp_path):
    from keraslab.grading import release as releasing

    released = tmp_path / "unanswered.ipynb"
    released.write_text(
        nbg.notebook_text(releasing.release_notebook(nbg.read_notebook(solution), solution.name))
    )
    results = grading.grade(
        [solution, released], solution, tmp_path / "out", sandbox=SANDBOX, progress=False
    )
    by_name = {r.student: r for r in results}
    assignment = Assignment.from_path(solution)
    assert by_name[solution.stem].total == assignment.max_points
    assert (by_name["unanswered"].status, by_name["unanswered"].total) == ("ok", 0)
