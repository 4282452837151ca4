"""Feedback rendering: student text cannot pose as grader text, secrets are redacted."""

from __future__ import annotations

import pytest

from keraslab.grading import feedback
from keraslab.grading import grade as grading
from keraslab.grading import notebook as nbg


class _Assignment:
    name = "hw.ipynb"
    max_points = 2.0
    manual = {}
    secret = nbg.SecretText({"return np.maximum(x, 0.0)"})


def _result(output: str, student: str = "eve") -> grading.SubmissionResult:
    question = grading.QuestionResult("q1", 0.0, 2.0, "the visible tests raised AssertionError")
    question.visible_output = output
    return grading.SubmissionResult(student, "eve.ipynb", "ok", "every cell ran", [question])


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
