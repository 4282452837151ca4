"""A numerical-methods course in nbgrader's format (`numerics_course.interpolation`): plain
asserts and ``assert_allclose``, ``###BEGIN SOLUTION`` without a space, hidden tests, a
hand-graded answer, a task cell and a header notebook."""

from __future__ import annotations

import warnings

import pytest

from keraslab import cli
from keraslab.grading import notebook as nbg
from keraslab.grading import release as releasing
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
