"""The kernel's surroundings: what it can see, reach and print."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from keraslab.grading import sandbox as sandboxing
from keraslab.grading.assignment import plan
from keraslab.grading.execute import Step, execute_steps

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sandboxing.bwrap_problem() is not None, reason="needs a working bubblewrap")
def test_sandboxed_kernel_sees_only_its_scratch_dir_and_no_network(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    workdir, _ = sandboxing.scratch_layout(scratch)
    (workdir / "alice.ipynb").write_text("{}")
    steps = [
        Step("import os\nprint(sorted(os.listdir('.')))"),
        Step(f"print(sorted(os.listdir({str(REPO)!r})))"),
        Step(f"print(os.path.exists({str(tmp_path)!r} + '/secret.txt'))"),
        Step(
            "import socket\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
            "    print('network')\n"
            "except OSError:\n"
            "    print('no network')"
        ),
        Step("print('x' * 200_000)"),
    ]
    (tmp_path / "secret.txt").write_text("the answer")
    limits = sandboxing.Limits(cell_timeout=10, notebook_timeout=60, output_bytes=50_000)
    execution = execute_steps(steps, scratch, sandbox="bwrap", limits=limits)
    texts = ["".join(o.get("text", "") for o in r.outputs) for r in execution.results]
    assert execution.status == "ok"
    assert texts[0] == "['alice.ipynb']\n"
    # The repository shows only what the kernel needs: no solutions, tests or gradebooks.
    assert set(eval(texts[1])) <= {"keraslab", ".venv"}
    assert texts[2] == "False\n"
    assert texts[3] == "no network\n"
    assert execution.truncated and texts[4] == ""


def test_hidden_tests_inside_a_block_run_whole_and_hidden():
    cell = nbformat.v4.new_code_cell(
        "def check():\n"
        "    assert True\n"
        "    ### BEGIN HIDDEN TESTS\n"
        "    assert 1 + 1 == 2\n"
        "    ### END HIDDEN TESTS\n"
        "check()"
    )
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "schema_version": 3}
    steps = plan([cell])
    assert [s.kind for s in steps] == ["hidden"]
    assert "BEGIN HIDDEN" not in steps[0].source and "assert 1 + 1 == 2" in steps[0].source
    assert steps[0].source.rstrip().endswith(f'.receipt("{steps[0].nonce}")')


def test_visible_and_hidden_parts_are_separate_steps_with_fresh_nonces():
    cell = nbformat.v4.new_code_cell(
        "a = 1\n### BEGIN HIDDEN TESTS\nassert a == 1\n### END HIDDEN TESTS\nprint(a)"
    )
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "schema_version": 3}
    first, second = plan([cell]), plan([cell])
    assert [s.kind for s in first] == ["visible", "hidden", "visible"]
    nonces = {s.nonce for s in first} | {s.nonce for s in second}
    assert len(nonces) == 6
