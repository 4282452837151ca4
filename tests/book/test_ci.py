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
    assert _ci_steps() == ["tests", "book", "pdf", "check", "scan", "colab", "instructor", "student"]
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


def _function(name: str) -> str:
    """The body of a shell function of .ci/run."""
    match = re.search(rf"^{name}\(\) \{{\n(.*?)^\}}$", CI_RUN.read_text(), re.M | re.S)
    assert match, f".ci/run has no function {name}"
    return match.group(1)


def test_the_colab_step_installs_colabs_versions_first_then_keraslab_as_colab_does():
    body = _function("colab_step")
    image = body.index("pip install -q -r constraints-colab.txt")
    keraslab = body.index("pip install -q -c constraints-colab.txt .\n")
    assert image < keraslab, "Colab's packages are there before keraslab is installed"
    assert "pip show -q tensorflow" in body, "a second TensorFlow next to Colab's is refused"
    assert "pip check" in body
    for command in ("-m pytest tests/layers", "keraslab\" run lab1 --fast --offline"):
        assert command in body, command
    assert 'for notebook in "${EXERCISES[@]}"' in body and "grade_against_itself" in body
    grade = _function("grade_against_itself")
    assert 'grade "$3" --against "$3"' in grade and "expect_grades.py" in grade and "=full" in grade


def test_the_colab_constraints_pin_colabs_tensorflow_and_keras_and_say_where_they_were_read():
    text = (REPO / "constraints-colab.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.M))
    assert pins["tensorflow-cpu"] == "2.20.0" and pins["keras"] == "3.13.2" and "PyYAML" in pins
    assert "tensorflow" not in pins, "tensorflow-cpu stands for Colab's tensorflow on CI"
    assert re.search(r"Read on \d{4}-\d\d-\d\d from", text)
    assert re.search(r"googlecolab/backend-info at commit [0-9a-f]{40}", text)


def test_each_user_install_has_its_own_venv_that_git_ignores():
    text = CI_RUN.read_text()
    venvs = re.findall(r"\$\(ci_venv ([a-z]+) ", text)
    assert sorted(venvs) == ["colab", "instructor", "student"]
    assert "local venv=.ci-venvs/$1" in _function("ci_venv")
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert ".ci-venvs/" in ignored


def test_the_instructor_step_installs_the_grading_extra_only_then_releases_and_grades():
    body = _function("instructor_step")
    installs = re.findall(r"pip install (.*)", body)
    assert len(installs) == 1 and '".[cpu,grade]"' in installs[0], installs
    assert body.index("keraslab\" release solutions") < body.index("keraslab\" grade ")
    assert "unanswered=zero solved=full" in body
    assert 'keraslab" gradebook' in body


def test_each_user_install_imports_every_module_it_runs_from_outside_the_checkout():
    """Module-level imports in a real install, beside the static check of every import."""
    wanted = {"colab_step": "--skip keraslab.book", "instructor_step": "--skip keraslab.book",
              "student_step": "--skip keraslab.grading --skip keraslab.book"}
    for function, skip in wanted.items():
        body = _function(function)
        assert re.search(r'\(cd "\$tmp" && [^)]*import_all\.py" ' + re.escape(skip) + r"\)", body), function


def test_the_colab_constraints_cover_keraslabs_dependencies_within_their_ranges():
    """Each core dependency is pinned at Colab's version, or named as one Colab lacks; each pin
    lies in the range pyproject asks for (else the colab step's pip would refuse it)."""
    from packaging.requirements import Requirement

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    text = (REPO / "constraints-colab.txt").read_text()
    pins = {norm(n): v for n, v in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.M)}
    lacking = re.search(r"Colab does not preinstall[^:]*:\n# (.*)\.$", text, re.M)
    assert lacking, "constraints-colab.txt names the dependencies Colab lacks"
    lacking = {norm(n.strip()) for n in lacking.group(1).split(",")}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for line in pyproject["project"]["dependencies"]:
        requirement = Requirement(line)
        name = norm(requirement.name)
        assert (name in pins) != (name in lacking), f"{name}: pin it at Colab's version or name it"
        if name in pins:
            assert requirement.specifier.contains(pins[name]), (line, pins[name])
