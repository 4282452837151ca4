"""The README's example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    report = namespace["report"]
    assert len(report) == 3 and all(r.converged for r in report)


def test_readme_names_the_two_setup_commands_that_exist():
    text = README.read_text()
    assert "./dev.sh book" in text and "./dev.sh test" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "./dev.sh test" in ci


def test_readme_has_one_line_for_students_working_locally():
    """The line installs an extra that exists and holds JupyterLab, then opens the exercises."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    lines = [line for line in README.read_text().splitlines() if "jupyter lab exercises/" in line]
    assert len(lines) == 1, "one README line opens the exercises in JupyterLab"
    extras = re.search(r'pip install -e "\.\[([a-z,]+)\]"', lines[0])
    assert extras, lines[0]
    pyproject = tomllib.loads((README.parent / "pyproject.toml").read_text())
    optional = pyproject["project"]["optional-dependencies"]
    for extra in extras.group(1).split(","):
        assert extra in optional, extra
    assert any(d.startswith("jupyterlab") for e in extras.group(1).split(",") for d in optional[e])
    assert (README.parent / "exercises").is_dir()


# ---- install lines: each one the README and the notebooks give has a CI step that runs it ------

CI_RUN = README.parent / ".ci" / "run"
KERASLAB_INSTALL = re.compile(
    r'pip install (?:-q )?(?P<options>(?:-[ce] (?:\S+ )?)*)"?'
    r"(?:keraslab(?P<git_extras>\[[a-z,]+\])? @ git\+\S+?|\.(?P<local_extras>\[[a-z,]+\])?)"
    r'"?(?=[\s,\]"&]|$)'
)


def install_lines(text: str) -> list[tuple[str, frozenset[str], bool]]:
    """`(line, extras, editable)` of each `pip install` of keraslab in `text`."""
    found = []
    for line in text.splitlines():
        for match in KERASLAB_INSTALL.finditer(line):
            extras = (match["git_extras"] or match["local_extras"] or "[]")[1:-1]
            found.append((line.strip(), frozenset(filter(None, extras.split(","))),
                          "-e " in match["options"]))
    return found


def ci_installs() -> dict[str, set[tuple[frozenset[str], bool]]]:
    """`(extras, editable)` of each keraslab install in .ci/run, by the function that runs it."""
    installs, function = {}, None
    for line in CI_RUN.read_text().splitlines():
        if m := re.match(r"(\w+)\(\) \{", line):
            function = m.group(1)
        for _, extras, editable in install_lines(line):
            installs.setdefault(function, set()).add((extras, editable))
    return installs


def test_install_lines_are_read_with_their_extras():
    lines = install_lines('pip install "keraslab[cpu] @ git+https://github.com/a/b"  # laptop\n'
                          'x && .venv/bin/pip install -e ".[cpu,lab]" && jupyter lab\n'
                          'pip install -q -c constraints-colab.txt .\n'
                          'pip install "keraslab @ git+https://github.com/a/b@main"], check=True\n'
                          'pip install keraslab-other .venv/x\n')
    assert [(e, ed) for _, e, ed in lines] == [
        ({"cpu"}, False), ({"cpu", "lab"}, True), (frozenset(), False), (frozenset(), False)]


def _readme_and_notebook_install_lines():
    import json

    lines = install_lines(README.read_text())
    for notebook in sorted((README.parent / "exercises").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        # ["...", "pip", "install", "-q", "keraslab @ git+..."] read as a command line
        code = re.sub(r'",\s*"', " ", code)
        lines += [(f"{notebook.name}: {line}", extras, editable)
                  for line, extras, editable in install_lines(code)]
    return lines


def test_every_install_line_of_the_readme_and_the_notebooks_has_a_ci_step():
    """Same extras, same editable or not: the Colab line (no extra), the laptop line (cpu), the
    local students' line (editable cpu,lab) and the instructor's (cpu,grade)."""
    lines = _readme_and_notebook_install_lines()
    assert {(extras, editable) for _, extras, editable in lines} >= {
        (frozenset(), False), (frozenset({"cpu"}), False), (frozenset({"cpu", "lab"}), True),
        (frozenset({"cpu", "grade"}), False)}, lines
    assert any(".ipynb: " in name for name, _, _ in lines), "no exercise's install cell was read"
    run = {install for installs in ci_installs().values() for install in installs}
    for line, extras, editable in lines:
        assert (extras, editable) in run, f"no step of .ci/run installs keraslab as {line!r} does"


def test_the_steps_that_run_the_install_lines_are_ci_steps():
    installs = ci_installs()
    steps = re.search(r"-eq 0 \] && steps=\(([^)]*)\)$", CI_RUN.read_text(), re.M).group(1).split()
    for step in ("colab", "instructor", "student"):
        assert step in steps
        assert f"{step}_step" in installs, f".ci/run's {step} step installs keraslab itself"
    assert (frozenset(), False) in installs["colab_step"]
    assert installs["instructor_step"] == {(frozenset({"cpu", "grade"}), False)}
    assert installs["student_step"] == {
        (frozenset({"cpu"}), False), (frozenset({"cpu", "lab"}), True)}


# ---- Python versions: one range, said the same way everywhere ----------------------------------


def _pyproject():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((README.parent / "pyproject.toml").read_text())


def test_the_supported_python_range_is_the_same_in_pyproject_readme_dev_sh_and_ruff():
    pyproject = _pyproject()
    minors = sorted(int(c.rsplit(".", 1)[1]) for c in pyproject["project"]["classifiers"]
                    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    low, high = minors[0], minors[-1]
    assert minors == list(range(low, high + 1)), minors
    assert pyproject["project"]["requires-python"] == f">=3.{low}"
    # Ruff checks for the oldest supported Python (see pyproject's comment on target-version).
    assert pyproject["tool"]["ruff"]["target-version"] == f"py3{low}"
    stated = set(re.findall(r"Python (3\.\d+)-(3\.\d+)", README.read_text()))
    stated |= set(re.findall(r"Python (3\.\d+) to (3\.\d+)", README.read_text()))
    assert stated == {(f"3.{low}", f"3.{high}")}, stated
    dev_sh = (README.parent / "dev.sh").read_text()
    assert f"(3, {low}) <= sys.version_info[:2] < (3, {high + 1})" in dev_sh
    assert f"Python 3.{low}-3.{high} is required" in dev_sh
