"""Checks a released exercise notebook executed as a student opens it (`jupyter nbconvert
--execute --allow-errors`): the only errors are the unanswered stubs' NotImplementedError, so
every import and every cell that does not call a stub ran. Used by .ci/run's student step.

    python .ci/expect_stub_errors.py EXECUTED.ipynb
"""

import json
import sys

STUB_ERRORS = {"NotImplementedError"}


def errors(notebook: dict) -> list[tuple[int, str, str]]:
    """(cell index, error name, error value) of each error output of the notebook's code cells."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if output.get("output_type") == "error":
                found.append((index, output["ename"], output["evalue"]))
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        notebook = json.load(f)
    found = errors(notebook)
    others = [e for e in found if e[1] not in STUB_ERRORS]
    for index, name, value in others:
        print(f"expect_stub_errors: {argv[0]}: cell {index}: {name}: {value}", file=sys.stderr)
    if not found:
        print(f"expect_stub_errors: {argv[0]}: no stub raised NotImplementedError (not executed?)",
              file=sys.stderr)
        return 1
    if not others:
        print(f"expect_stub_errors: {argv[0]}: {len(found)} cells stopped at unanswered stubs, no other error")
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
