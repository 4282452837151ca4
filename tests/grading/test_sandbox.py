"""The sandbox fails closed: without bubblewrap, grading refuses unless the instructor asks for
no sandbox by name. A missing bwrap is simulated with a PATH that lacks it."""

from __future__ import annotations

import pytest

from keraslab import cli
from keraslab.grading import grade as grading
from keraslab.grading import sandbox as sandboxing
from tests.grading.fixtures import numerics_course as course


@pytest.fixture
def no_bwrap(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    sandboxing.bwrap_problem.cache_clear()
    yield
    sandboxing.bwrap_problem.cache_clear()


@pytest.fixture
def assignment(tmp_path):
    source = course.write(course.one_unit(), tmp_path / "source" / "unit.ipynb")
    student = course.write(
        course.answered(course.one_unit(), "unit.ipynb", {"f": course.F_OK, "g": course.G_OK}),
        tmp_path / "alice.ipynb",
    )
    return source, student


def test_auto_refuses_to_grade_without_bubblewrap_and_says_how_to_get_it(
    no_bwrap, assignment, tmp_path, capsys
):
    source, student = assignment
    out = tmp_path / "grades"
    command = ["grade", str(student), "--against", str(source), "--out", str(out)]
    assert cli.main([*command, "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "bubblewrap (bwrap) is not installed" in error
    assert "apt-get install bubblewrap" in error and "--sandbox none" in error
    assert not (out / "gradebook.csv").exists()
    with pytest.raises(sandboxing.SandboxUnavailable, match="apt-get install bubblewrap"):
        grading.grade([student], source, out, progress=False)
    with pytest.raises(sandboxing.SandboxUnavailable, match="--sandbox none"):
        sandboxing.resolve_sandbox("auto")


def test_no_sandbox_is_graded_only_when_asked_for_by_name(no_bwrap, assignment, tmp_path, capsys):
    source, student = assignment
    out = tmp_path / "grades"
    limits = ["--cell-timeout", "10", "--memory", "2G", "--no-progress"]
    command = ["grade", str(student), "--against", str(source), "--out", str(out), *limits]
    assert cli.main([*command, "--sandbox", "none"]) == 0
    captured = capsys.readouterr()
    assert "warning: no sandbox (--sandbox none)" in captured.err
    assert "graded 1 submission(s): 1 ok" in captured.out
