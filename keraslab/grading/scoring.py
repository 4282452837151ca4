"""Points per question, decided in the grader's process from one notebook run.

A test cell scores its points when each of its parts ran to its end (the kernel replied "ok"
and echoed the part's nonce receipt) and every result it recorded matches the solution's.
Reasons are written by the grader: a hidden check is named by the sentence its test gave
(``record(..., description=...)``) or by its number, never by its key or expected value.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from typing import NamedTuple

from keraslab.grading import asserts, protocol, recording
from keraslab.grading import feedback as feedback_module
from keraslab.grading.assignment import Assignment
from keraslab.grading.execute import Execution, Step

# Visible-test output kept per question for the feedback (which shows less still).
MAX_VISIBLE_OUTPUT_CHARS = 100_000
MAX_DESCRIPTION_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# An error's name as the feedback may show it (a student's exception class may be named anything).
_ERROR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,80}$")


class Record(NamedTuple):
    """One result a test cell recorded."""

    key: str
    value: object
    atol: float
    rtol: float
    description: str = ""
    hidden: bool = False


MALFORMED = Record("<malformed>", None, 0.0, 0.0)


def _description(payload) -> str:
    text = payload.get("description") or ""
    if not isinstance(text, str):
        raise ValueError
    return _CONTROL.sub(" ", text)[:MAX_DESCRIPTION_CHARS].strip()


def records_by_question(steps: list[Step], execution: Execution) -> dict[str, list[Record]]:
    """Decoded `Record` s of each test cell, in order."""
    found: dict[str, list[Record]] = defaultdict(list)
    for step, result in zip(steps, execution.results, strict=True):
        if step.kind == "cell":
            continue
        for payload in protocol.payloads(result.outputs, recording.RECORD_MIME):
            try:
                key = payload["key"]
                value = recording.decode(payload["value"])
                atol, rtol = float(payload["atol"]), float(payload["rtol"])
                if not isinstance(key, str):
                    raise ValueError
                description = _description(payload)
            except (KeyError, TypeError, ValueError, AttributeError):
                found[step.grade_id].append(MALFORMED)
                continue
            found[step.grade_id].append(
                Record(key, value, atol, rtol, description, step.kind == "hidden")
            )
    return found


@dataclasses.dataclass
class QuestionResult:
    grade_id: str
    points: float
    max_points: float
    reason: str
    visible_output: str = ""


def _error_label(name: str | None) -> str:
    return name if name and _ERROR_NAME.match(name) else "an error"


def part_problem(step: Step, result, run_message: str = "") -> str | None:
    """Why one part of a test cell does not count, or `None`; ``run_message`` says why the
    run ended (for a part that never ran)."""
    where = "hidden tests" if step.kind == "hidden" else "visible tests"
    if result.status == "not-run":
        return f"did not run ({run_message})"
    if result.status == "skipped":
        return "did not run: an earlier part of the cell failed"
    if result.status == "died":
        return f"the kernel died during the {where}"
    if result.status == "timeout":
        return f"the {where} hit the time limit"
    if result.status == "error":
        return f"the {where} raised {_error_label(result.error_name)}"
    if not protocol.has_receipt(result.outputs, step.nonce):
        return f"the {where} did not run to their end (the kernel skipped or altered them)"
    return None


def check_problem(assignment, step: Step, result, reference) -> str | None:
    """Why a part's asserts fail when the grader decides them, or `None`.

    Only the checks that held for the solution (``reference.checks``) are enforced.
    """
    held = getattr(reference, "checks", {}).get(step.grade_id, [])
    if not step.checks or step.part >= len(held) or assignment.scope is None:
        return None
    kept = asserts.kept_values(result.outputs, step.nonce)
    for number, check in enumerate(step.checks):
        if number < len(held[step.part]) and held[step.part][number]:
            if asserts.decide(check, kept, assignment.scope) != asserts.PASS:
                if step.kind == "hidden":
                    return "the hidden tests fail when the grader checks them"
                line = step.first_line + check.line - 1
                return f"the visible tests fail when the grader checks line {line}"
    return None


def cell_ender(assignment, reference=None):
    """``ends_cell`` for `keraslab.grading.execute.execute_steps`: a test cell ends at its
    first part that fails, in the kernel or (given the solution's ``reference``) when the
    grader decides its asserts."""

    def ends_cell(step: Step, result) -> bool:
        return (
            part_problem(step, result) is not None
            or check_problem(assignment, step, result, reference) is not None
        )

    return ends_cell


def shown_steps(steps, execution: Execution) -> dict:
    """The kernel's execution count of each test step -> what the student reads of it
    (`keraslab.grading.feedback.Shown`), to show tracebacks in the cell's own lines."""
    shown = {}
    for step, result in zip(steps, execution.results, strict=True):
        if step.is_test and result.execution_count is not None:
            lines = None if step.kind == "hidden" else tuple((step.shown or "").split("\n"))
            shown[result.execution_count] = feedback_module.Shown(lines, step.first_line)
    return shown


def _visible_output(parts, shown: dict) -> str:
    pieces, size = [], 0
    for step, result in parts:
        if step.kind != "visible":
            continue
        text = feedback_module.output_text(result.outputs, shown)
        pieces.append(text[: MAX_VISIBLE_OUTPUT_CHARS - size])
        size += len(pieces[-1])
        if size >= MAX_VISIBLE_OUTPUT_CHARS:
            break
    return "".join(pieces)


def score(
    assignment: Assignment, steps, execution: Execution, reference: dict
) -> list[QuestionResult]:
    """Points per question: every part ran, raised nothing, and every record matches."""
    student_records = records_by_question(steps, execution)
    shown = shown_steps(steps, execution)
    parts = defaultdict(list)
    for step, result in zip(steps, execution.results, strict=True):
        if step.kind != "cell":
            parts[step.grade_id].append((step, result))
    results = []
    for question in assignment.questions:
        gid = question.grade_id
        reason = None
        for step, result in parts.get(gid, []):
            reason = part_problem(step, result, execution.message) or check_problem(
                assignment, step, result, reference
            )
            if reason:
                break
        if not parts.get(gid):
            reason = "did not run"
        if reason is None:
            reason = _compare_records(student_records.get(gid, []), reference.get(gid, []))
        results.append(
            QuestionResult(
                gid,
                0.0 if reason else question.points,
                question.points,
                reason or "passed",
                _visible_output(parts.get(gid, []), shown),
            )
        )
    return results


def _check_label(record: Record, number: int) -> str:
    """How feedback names a check: the test's sentence, else its key if visible, else a number."""
    if record.description:
        return record.description
    if not record.hidden:
        return f"result {record.key!r}"
    return f"hidden check {number}"


def _compare_records(student: list, reference: list) -> str | None:
    expected: dict[str, list[Record]] = defaultdict(list)
    for item in reference:
        expected[item.key].append(Record(*item) if not isinstance(item, Record) else item)
    got = defaultdict(list)
    for item in student:
        got[item[0]].append(item[1])
    for number, (key, records) in enumerate(expected.items(), start=1):
        label = _check_label(records[0], number)
        if not got.get(key):
            return f"{label}: no result was recorded"
        if len(got[key]) != len(records):
            return f"{label}: recorded {len(got[key])} times, expected {len(records)}"
        for value, ref in zip(got[key], records, strict=True):
            difference = recording.compare(
                value, ref.value, atol=ref.atol, rtol=ref.rtol, detail=not ref.hidden
            )
            if difference:
                if not ref.description and not ref.hidden:
                    return f"{label} {difference}"
                return f"{label}: {difference}"
    return None
