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
