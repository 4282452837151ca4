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
