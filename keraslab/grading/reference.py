"""The solution's reference results: its run, what went wrong in it, and their cache.

The solution notebook runs once per assignment in a clean kernel, built the way a submission
is; what its test cells record is the reference every submission is compared with. The
records are cached by the notebook's SHA-256. A solution whose own tests fail is still used:
the problems are kept with the reference and reported once (nbgrader grades such a source too).
"""

from __future__ import annotations

import json
from pathlib import Path

from keraslab.grading import asserts, recording
from keraslab.grading.assignment import Assignment, GradingSetupError, merge, plan
from keraslab.grading.execute import run_notebook
from keraslab.grading.scoring import Record, cell_ender, part_problem, records_by_question

REFERENCE_FORMAT = 4


class Reference(dict):
    """``grade_id -> [Record]`` of the solution notebook, and what went wrong running it.

    Attributes:
        problems: one sentence per cell of the solution that failed (empty when it ran
            cleanly).
    """

    def __init__(self, records=(), problems=(), checks=None):
        super().__init__(records)
        self.problems = list(problems)
        # grade_id -> per test part -> per check: held in the grader for the solution.
        self.checks = dict(checks or {})


def run_solution(assignment: Assignment, *, sandbox, limits):
    """Runs the solution notebook in a clean kernel, built the way a submission is.

    Returns:
        `(steps, execution)`: the planned steps and, in `execution.results`, each step's
        status, error and outputs (stdout and stderr streams included), in the same order.
    """
    steps = plan(merge(assignment, assignment.solution.cells).cells, assignment.names)
    execution = run_notebook(
        steps,
        None,
        assignment.name,
        sandbox=sandbox,
        limits=limits,
        files=assignment.files,
        ends_cell=cell_ender(assignment),
    )
    return steps, execution


def check_outcomes(assignment: Assignment, steps, execution) -> dict[str, list[list[bool]]]:
    """Per question, per test part (in order), whether each check held in the grader.

    Only checks that hold for the solution are enforced on students.
    """
    outcomes: dict[str, list[list[bool]]] = {}
    for step, result in zip(steps, execution.results, strict=True):
        if step.kind == "cell":
            continue
        kept = asserts.kept_values(result.outputs, step.nonce)
        outcomes.setdefault(step.grade_id, []).append(
            [asserts.decide(check, kept, assignment.scope) == asserts.PASS for check in step.checks]
        )
    return outcomes


def reference_problems(assignment: Assignment, steps, execution) -> list[str]:
    """What went wrong in the solution's own run: one sentence per failing cell."""
    problems = []
    first_raised = None  # the first non-test cell that raised: usually the cause of what follows
    for step, result in zip(steps, execution.results, strict=True):
        if step.kind == "cell":
            # An instructor may show an error on purpose; a cell that never finished is a bug.
            problem = (
                None
                if result.status in ("ok", "error")
                else f"did not finish ({execution.message})"
            )
            if result.status == "error" and first_raised is None:
                first_raised = (step, result)
        else:
            problem = None if result.status == "skipped" else part_problem(
                step, result, execution.message
            )
        if problem:
            detail = f" ({result.error_name}: {result.error_value})" if result.error_name else ""
            cause = ""
            if first_raised is not None:
                earlier, raised = first_raised
                cause = (
                    f"; an earlier cell, {earlier.grade_id or earlier.cell_index!r}, raised "
                    f"{raised.error_name}: {raised.error_value}"
                )
            problems.append(
                f"the solution notebook {assignment.name!r} fails its own cell "
                f"{step.grade_id or step.cell_index!r}: {problem}{detail}{cause}"
            )
    return problems


def cache_file(assignment: Assignment, cache_dir) -> Path | None:
    """Where the reference of this exact solution notebook is cached (`None`: no cache)."""
    if cache_dir is None:
        return None
    return Path(cache_dir) / f"reference-{assignment.sha256[:24]}.json"


def _read_cache(path: Path | None, assignment: Assignment) -> Reference | None:
    if path is None or not path.exists():
        return None
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("format") != REFERENCE_FORMAT or cached.get("sha256") != assignment.sha256:
            return None
        return Reference(
            {
                gid: [
                    Record(
                        r["key"],
                        recording.decode(r["value"]),
                        r["atol"],
                        r["rtol"],
                        r.get("description", ""),
                        bool(r.get("hidden", False)),
                    )
                    for r in records
                ]
                for gid, records in cached["records"].items()
            },
            cached.get("problems", []),
            cached.get("checks", {}),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged cache is recomputed


def _write_cache(path: Path, assignment: Assignment, reference: Reference) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    records = {
        gid: [
            {
                "key": r.key,
                "value": recording.encode(r.value),
                "atol": r.atol,
                "rtol": r.rtol,
                "description": r.description,
                "hidden": r.hidden,
            }
            for r in items
        ]
        for gid, items in reference.items()
    }
    payload = {
        "format": REFERENCE_FORMAT,
        "sha256": assignment.sha256,
        "problems": reference.problems,
        "checks": reference.checks,
        "records": records,
    }
    path.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")


def cached_reference(assignment: Assignment, cache_dir) -> Reference | None:
    """The cached reference of this exact solution notebook, or `None`."""
    return _read_cache(cache_file(assignment, cache_dir), assignment)


def compute_reference(
    assignment: Assignment, *, cache_dir, sandbox, limits, run=None, strict: bool = True
) -> Reference:
    """Runs the solution notebook in a clean kernel (unless its reference is cached); returns
    its records per question.

    Args:
        run: an earlier `run_solution` result to use instead of running the notebook again.
        strict: raise when the solution fails its own tests; otherwise return the records it
            made anyway, with the problems in `Reference.problems`.

    Raises:
        GradingSetupError: (``strict`` only) a cell of the solution notebook does not finish
            or a test part fails.
    """
    path = cache_file(assignment, cache_dir)
    reference = _read_cache(path, assignment)
    if reference is None:
        steps, execution = run or run_solution(assignment, sandbox=sandbox, limits=limits)
        reference = Reference(
            records_by_question(steps, execution),
            reference_problems(assignment, steps, execution),
            check_outcomes(assignment, steps, execution),
        )
        if path is not None:
            _write_cache(path, assignment, reference)
    if strict and reference.problems:
        raise GradingSetupError(reference.problems[0])
    return reference
