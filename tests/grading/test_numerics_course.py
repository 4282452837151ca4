"""A numerical-methods course in nbgrader's format (`numerics_course.interpolation`): plain
asserts and ``assert_allclose``, ``###BEGIN SOLUTION`` without a space, hidden tests, a
hand-graded answer, a task cell and a header notebook."""

from __future__ import annotations

import warnings

import pytest

from keraslab import cli
from keraslab.grading import grade as grading
from keraslab.grading import notebook as nbg
from keraslab.grading import release as releasing
from keraslab.grading import sandbox as sandboxing
from tests.grading.fixtures import SANDBOX
from tests.grading.fixtures import numerics_course as course

NAME = "interpolation.ipynb"


def _text(nb) -> str:
    return "\n".join(nbg.strings_in(nb))


def test_ordinary_code_and_nbgraders_placeholder_are_no_release_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any PossibleLeakWarning fails the test
        released = releasing.release_notebook(course.interpolation(), NAME, header=course.header())
    text = _text(released)
    assert course.HORNER_SECRET not in text and course.HIDDEN_CHECK not in text
    # Shared with given code, a visible test and the instructions: released, and no warning.
    assert course.AS_FLOAT in text and course.LOOP in text and course.PLACEHOLDER in text
    assert course.PLACEHOLDER not in nbg.secret_text(course.interpolation()).lines
    source = course.write(course.interpolation(), tmp_path / "source" / NAME)
    header = course.write(course.header(), tmp_path / "header.ipynb")
    out = tmp_path / "release"
    command = ["release", str(source), "--out", str(out), "--header", str(header), "--strict"]
    assert cli.main(command) == 0


def test_a_line_of_the_answer_in_the_instructions_is_still_reported():
    nb = course.interpolation()
    nb.cells[0].source += f"\n\nHint: `{course.HORNER_SECRET}`"
    with pytest.warns(releasing.PossibleLeakWarning, match="result = result"):
        releasing.release_notebook(nb, NAME)
    with pytest.raises(releasing.ReleaseError, match="result = result"):
        releasing.release_notebook(nb, NAME, strict=True)


HORNER_NEGATIVE = "def horner(coeffs, x):\n    return -np.asarray(x, dtype=float)"
LIMITS = sandboxing.Limits(cell_timeout=20, notebook_timeout=90, memory=2 * 1024**3)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("numerics")
    source = course.write(course.interpolation(), root / "source" / NAME)
    students = {
        "negative": HORNER_NEGATIVE,
        "off_by_one": course.HORNER_WRONG,
        "right": course.HORNER_OK,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", releasing.PossibleLeakWarning)
        paths = [
            course.write(
                course.answered(course.interpolation(), NAME, {"horner": answer}),
                root / "submitted" / name / "ps1" / NAME,
            )
            for name, answer in students.items()
        ]
    out = root / "grades"
    results = grading.grade(paths, source, out, limits=LIMITS, sandbox=SANDBOX, progress=False)
    return {r.student: r for r in results}, out


def _feedback(graded, student) -> str:
    _, out = graded
    return (out / "feedback" / f"{student}.md").read_text(encoding="utf-8")


def test_tracebacks_in_feedback_show_the_test_as_the_student_reads_it(graded):
    results, _ = graded
    points = {name: {q.grade_id: q.points for q in r.questions} for name, r in results.items()}
    assert points["right"]["test_horner"] == 2 and points["negative"]["test_horner"] == 0
    negative = _feedback(graded, "negative")
    assert "----> 3 assert (y > 0).all()" in negative
    assert "      2 y = horner([1.0, 0.0, 1.0], xx)" in negative
    off = _feedback(graded, "off_by_one")
    assert "----> 4 assert_allclose(horner([1.0, 0.0], xx), xx," in off
    assert "      5                 atol=1e-5)" in off
    assert "Cell In[" in off and ", line 4" in off
    for text in (negative, off):
        assert "keep(" not in text and "atol=1e-05)" not in text and "receipt" not in text
        assert "__import__" not in text and course.HIDDEN_CHECK not in text
