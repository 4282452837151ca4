"""The GitHub Actions workflow runs the steps of .ci/run, and only those, then publishes the
student edition of the book from main."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
CI_RUN = REPO / ".ci" / "run"


def _ci_steps() -> list[str]:
    """The steps `bash .ci/run` runs when given none, in order."""
    match = re.search(r"^\[ \$\{#steps\[@\]\} -eq 0 \] && steps=\(([^)]*)\)$", CI_RUN.read_text(), re.M)
    assert match, ".ci/run lost its default list of steps"
    return match.group(1).split()


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_ci_run_does_what_the_readme_and_the_issue_ask():
    text = CI_RUN.read_text()
    assert _ci_steps() == ["tests", "book", "pdf", "check", "scan"]
    for command in ("./dev.sh test", ".venv/bin/keraslab book build", ".venv/bin/keraslab book pdf",
                    ".venv/bin/keraslab book check",
                    ".venv/bin/keraslab release solutions --out exercises --check --scan exercises "
                    "book/_build/html"):
        assert command in text, command


def test_the_workflow_calls_every_step_of_ci_run_in_order_and_nothing_else():
    ci = _workflow()["jobs"]["ci"]
    runs = [step["run"].strip() for step in ci["steps"] if "run" in step]
    called = [r.removeprefix("bash .ci/run ").strip() for r in runs if r.startswith("bash .ci/run")]
    assert called == _ci_steps()
    others = [r for r in runs if not r.startswith("bash .ci/run")]
    # Anything else may only look for the browser: no second copy of a CI command.
    for run in others:
        assert not re.search(r"pytest|ruff|keraslab|dev\.sh", run), run


def test_the_workflow_publishes_the_student_edition_from_main_only():
    workflow = _workflow()
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert on["push"]["branches"] == ["main"]
    upload = next(s for s in workflow["jobs"]["ci"]["steps"]
                  if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "book/_build/html"  # never book/_build/instructor
    assert "refs/heads/main" in upload["if"] and "push" in upload["if"]
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == "ci"
    assert "refs/heads/main" in publish["if"]
    assert publish["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in publish["steps"])
