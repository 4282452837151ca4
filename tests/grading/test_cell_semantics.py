"""A test cell is one unit, as in nbgrader: after its first failing statement nothing else of
the cell (visible or hidden part) runs, so nothing of it reaches later cells.

nbgrader sends a test cell to the kernel as one execution request; Python stops at the first
statement that raises, so an import in the hidden part of a failing cell never happens. The
oracle here is that behaviour, on `numerics_course.one_unit`: a student with a wrong ``f`` and a
right ``g`` gets 0 for ``test_g`` from nbgrader (``isclose`` is undefined there). keraslab adds
one case nbgrader cannot see: an assert the kernel passed but the grader decides failed (a
transformer made the kernel pass it) also ends its cell.
"""

from __future__ import annotations

import pytest

from keraslab.grading import grade as grading
from keraslab.grading import sandbox as sandboxing
from tests.grading.fixtures import SANDBOX
from tests.grading.fixtures import numerics_course as course

LIMITS = sandboxing.Limits(cell_timeout=10, notebook_timeout=60, memory=2 * 1024**3)
STUDENTS = {
    "right": ({"f": course.F_OK, "g": course.G_OK}, {"test_f": 1.0, "test_g": 1.0}),
    # nbgrader: test_f fails at its visible assert, so `isclose` is never imported: 0 and 0.
    "wrong_f": ({"f": course.F_WRONG, "g": course.G_OK}, {"test_f": 0.0, "test_g": 0.0}),
    # The kernel passes the assert on f; the grader decides it failed, and the cell ends there.
    "kernel_passes_f": (
        {"f": course.F_WRONG + "\n" + course.PASS_ASSERTS_ON_F, "g": course.G_OK},
        {"test_f": 0.0, "test_g": 0.0},
    ),
}

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_unit")
    source = course.write(course.one_unit(), root / "source" / "unit.ipynb")
    paths = [
        course.write(
            course.answered(course.one_unit(), "unit.ipynb", answers), root / f"{name}.ipynb"
        )
        for name, (answers, _) in STUDENTS.items()
    ]
    results = grading.grade(
        paths, source, root / "grades", limits=LIMITS, sandbox=SANDBOX, progress=False
    )
    return {r.student: r for r in results}


@pytest.mark.parametrize("student", list(STUDENTS))
def test_nothing_after_the_first_failing_statement_of_a_test_cell_reaches_later_cells(
    graded, student
):
    result = graded[student]
    assert result.status == "ok", result.message
    got = {q.grade_id: q.points for q in result.questions}
    assert got == STUDENTS[student][1], [(q.grade_id, q.reason) for q in result.questions]


def test_the_later_cell_fails_because_the_hidden_import_never_ran(graded):
    reasons = {q.grade_id: q.reason for q in graded["wrong_f"].questions}
    assert reasons["test_f"] == "the visible tests raised AssertionError"
    assert reasons["test_g"] == "the visible tests raised NameError"
    reasons = {q.grade_id: q.reason for q in graded["kernel_passes_f"].questions}
    assert reasons["test_f"] == "the visible tests fail when the grader checks line 1"
    assert reasons["test_g"] == "the visible tests raised NameError"
