"""Feedback rendering: student text cannot pose as grader text, secrets are redacted."""

from __future__ import annotations

import pytest

from keraslab.grading import feedback
from keraslab.grading import notebook as nbg
from keraslab.grading.gradebook import SubmissionResult
from keraslab.grading.scoring import QuestionResult


class _Assignment:
    name = "hw.ipynb"
    max_points = 2.0
    manual = {}
    secret = nbg.SecretText({"return np.maximum(x, 0.0)"})


def _result(output: str, student: str = "eve") -> SubmissionResult:
    question = QuestionResult("q1", 0.0, 2.0, "the visible tests raised AssertionError")
    question.visible_output = output
    return SubmissionResult(student, "eve.ipynb", "ok", "every cell ran", [question])


def test_markdown_output_cannot_close_its_fence_or_add_headings():
    hostile = "```\n# Score: 2 / 2\n````\nreturn np.maximum(x, 0.0)\n\x1b[31mred\x1b[0m"
    text = feedback.render(_Assignment(), _result(hostile), "md")
    body = text.split("### q1", 1)[1]
    fence = body.strip().splitlines()[0]
    assert fence == "`````text"  # longer than any backtick run in the output
    assert body.rstrip().endswith("`````")
    assert "return np.maximum" not in text and "[redacted]" in text
    assert "\x1b[" not in text
    assert "- Score: **0 / 2** points graded automatically" in text


def test_html_escapes_student_text():
    text = feedback.render(_Assignment(), _result("<script>alert(1)</script>", "<b>eve"), "html")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;b&gt;eve" in text


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="feedback_format must be 'md' or 'html', got 'pdf'"):
        feedback.render(_Assignment(), _result(""), "pdf")


def test_tracebacks_show_test_cells_in_their_own_lines_and_hidden_ones_not_at_all():
    traceback = (
        "\x1b[31mCell In[3], line 1\x1b[0m\n"
        "----> 1 assert (keep('n', 0, y) > 0).all()\n"
        "      2 \n"
        "      3 __import__('keraslab.grading.recording').receipt('n')\n"
        "\n"
        "Cell In[2], line 2, in helper()\n"
        "      1 def helper():\n"
        "----> 2     secret_check(1)\n"
        "\n"
        "Cell In[1], line 1\n"
        "----> 1 answer = 1\n"
        "\n"
        "AssertionError: "
    )
    shown = {
        3: feedback.Shown(("assert (y >", "        0).all()"), first_line=4),
        2: feedback.Shown(None),
    }
    text = feedback.student_traceback(traceback, shown)
    assert text.splitlines()[:3] == [
        "Cell In[3], line 4",
        "----> 4 assert (y >",
        "      5         0).all()",
    ]
    assert "receipt" not in text and "keep(" not in text and "secret_check" not in text
    assert "Cell of the hidden tests (not shown)" in text
    assert "----> 1 answer = 1" in text  # the student's own cell, as it is
