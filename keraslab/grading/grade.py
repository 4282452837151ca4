"""``keraslab grade``: score submissions against a solution notebook.

For each submission the grader rebuilds the notebook from the assignment: locked and test cells
come from the solution notebook (hidden tests included), restored by ``grade_id`` and re-added
when deleted; the student's answer cells and extra cells are kept in place. The notebook runs
in a fresh, sandboxed, limited kernel (`keraslab.grading.sandbox`), each test cell's visible and
hidden parts as separate requests ending with a nonce receipt. Results recorded with
`keraslab.grading.record` are compared in this process with those of the solution notebook,
which runs once in a clean kernel (cached by the notebook's SHA-256). See `keraslab.grading` for
the threat model.

Writes ``OUT/gradebook.csv`` (one row per submission, sorted by student: per-question points,
total, status, tampered and missing cells) and ``OUT/feedback/STUDENT.md`` (or ``.html``).
Re-running on the same files gives the same table.

Examples:

```
keraslab grade submissions/ --against solutions/01_init.ipynb --out grades/
keraslab grade alice.ipynb bob.ipynb --against solutions/01_init.ipynb --out grades/ \\
    --jobs 2 --cell-timeout 60 --notebook-timeout 600 --memory 6G --feedback html
```
"""

from __future__ import annotations

import ast
import concurrent.futures
import csv
import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import traceback
from collections import defaultdict
from pathlib import Path

import nbformat

from keraslab.grading import feedback as feedback_module
from keraslab.grading import notebook as nbg
from keraslab.grading import recording
from keraslab.grading import release as releasing
from keraslab.grading import sandbox as sandboxing
from keraslab.grading.execute import Execution, Step, execute_steps

REFERENCE_FORMAT = 1
MAX_SUBMISSION_BYTES = 64 * 1024**2
STATUSES = ("ok", "timeout", "kernel-died", "kernel-failed", "unreadable", "grader-error")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,80}$")


class GradingSetupError(RuntimeError):
    """The assignment itself cannot be graded (bad solution notebook, failing reference)."""


@dataclasses.dataclass
class Question:
    grade_id: str
    points: float


@dataclasses.dataclass
class Assignment:
    """A solution notebook prepared for grading.

    Attributes:
        name: the solution notebook's file name.
        template: the released notebook with hidden tests kept: the cells the grader restores.
        released_sources: ``grade_id -> (cell_type, source)`` as students received them.
        questions: the auto-graded test cells, in order.
        manual: ``grade_id -> points`` of cells graded by hand.
        secret: solution, hidden-test and mark-scheme text, for redaction.
        sha256: hash of the solution notebook's bytes.
    """

    name: str
    solution: nbformat.NotebookNode
    template: nbformat.NotebookNode
    released_sources: dict
    questions: list[Question]
    manual: dict
    secret: nbg.SecretText
    sha256: str

    @classmethod
    def from_path(cls, path) -> Assignment:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise GradingSetupError(
                f"cannot read --against notebook {str(path)!r}: {error}"
            ) from None
        try:
            solution = nbg.parse_notebook(raw.decode("utf-8"), str(path))
            template = releasing.release_notebook(solution, path.name, keep_hidden_tests=True)
            released = releasing.release_notebook(solution, path.name)
        except (nbg.NotebookFormatError, UnicodeDecodeError) as error:
            raise GradingSetupError(str(error)) from None
        questions = [
            Question(nbg.grade_id(c), nbg.points(c)) for c in template.cells if nbg.is_test(c)
        ]
        if not questions:
            raise GradingSetupError(
                f"{str(path)!r} has no test cells (code cells with nbgrader grade: true)"
            )
        return cls(
            name=path.name,
            solution=solution,
            template=template,
            released_sources={
                nbg.grade_id(c): (c.cell_type, nbg.cell_source(c))
                for c in released.cells
                if nbg.grade_id(c)
            },
            questions=questions,
            manual={
                nbg.grade_id(c): nbg.points(c) for c in template.cells if nbg.is_manually_graded(c)
            },
            secret=nbg.secret_text(solution),
            sha256=hashlib.sha256(raw).hexdigest(),
        )

    @property
    def max_points(self) -> float:
        return sum(q.points for q in self.questions)


@dataclasses.dataclass
class Merged:
    cells: list
    tampered: list[str]
    missing: list[str]


def merge(assignment: Assignment, student_cells) -> Merged:
    """Rebuilds the notebook to run from the assignment's cells and the student's answers.

    Cells with a ``grade_id`` of the assignment come in the assignment's order: locked and test
    cells from the assignment, answer cells from the student (the stub when deleted). Other
    student cells keep their place after the graded cell they followed.
    """
    known = {nbg.grade_id(c) for c in assignment.template.cells if nbg.grade_id(c)}
    answers: dict[str, object] = {}
    extras: dict[str | None, list] = defaultdict(list)
    anchor = None
    for cell in student_cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        gid = nbg.grade_id(cell)
        if gid in known and gid not in answers:
            answers[gid] = cell
            anchor = gid
        else:
            # A copy of a graded cell is just another student cell.
            extras[anchor].append(_plain_cell(cell["cell_type"], nbg.cell_source(cell)))
    cells = list(extras[None])
    tampered, missing = [], []
    for template_cell in assignment.template.cells:
        gid = nbg.grade_id(template_cell)
        if gid is None:
            continue
        student_cell = answers.get(gid)
        if student_cell is None:
            missing.append(gid)
        elif (student_cell["cell_type"], nbg.cell_source(student_cell)) != (
            assignment.released_sources[gid]
        ) and not nbg.is_solution(template_cell):
            tampered.append(gid)
        if nbg.is_solution(template_cell) and student_cell is not None:
            cell = _plain_cell(student_cell["cell_type"], nbg.cell_source(student_cell))
        else:
            cell = _plain_cell(template_cell.cell_type, nbg.cell_source(template_cell))
        cell.metadata["nbgrader"] = dict(template_cell.metadata["nbgrader"])
        cells.append(cell)
        cells.extend(extras[gid])
    return Merged(cells, tampered, missing)


def _plain_cell(cell_type: str, source: str):
    if cell_type == "code":
        return nbformat.v4.new_code_cell(source)
    if cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(source)
    return nbformat.v4.new_raw_cell(source)


def _parses(code: str) -> bool:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        ast.parse(TransformerManager().transform_cell(code))
        return True
    except (SyntaxError, ValueError):
        return False


def _receipt_call(nonce: str) -> str:
    return f'\n__import__("keraslab.grading.recording", fromlist=["receipt"]).receipt("{nonce}")'


def plan(cells) -> list[Step]:
    """Turns merged cells into steps: test cells split into visible and hidden parts."""
    steps = []
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or not nbg.cell_source(cell).strip():
            continue
        source = nbg.cell_source(cell)
        gid = nbg.grade_id(cell)
        if not nbg.is_test(cell):
            steps.append(Step(source, "cell", gid, index))
            continue
        parts = nbg.split_hidden_tests(source)
        indented_marker = any(
            line[:1].isspace() and line.strip() in nbg.MARKERS["hidden tests"]
            for line in source.splitlines()
        )
        if indented_marker or not all(_parses(code) for _, code in parts):
            # Markers inside a block cannot be split on; run the cell whole and show nothing.
            lines = [line for line in source.splitlines() if line.strip() not in nbg.ALL_MARKERS]
            parts = [(True, "\n".join(lines))]
        if not parts:
            parts = [(False, "pass")]
        for hidden, code in parts:
            nonce = secrets.token_hex(16)
            steps.append(
                Step(
                    code + _receipt_call(nonce),
                    "hidden" if hidden else "visible",
                    gid,
                    index,
                    nonce,
                )
            )
    return steps


def _collect(outputs, mime):
    return [
        o["data"][mime] for o in outputs if isinstance(o.get("data"), dict) and mime in o["data"]
    ]


def records_by_question(steps: list[Step], execution: Execution) -> dict[str, list]:
    """Decoded ``(key, value, atol, rtol)`` records of each test cell, in order."""
    found: dict[str, list] = defaultdict(list)
    for step, result in zip(steps, execution.results, strict=True):
        if step.kind == "cell":
            continue
        for payload in _collect(result.outputs, recording.RECORD_MIME):
            try:
                key = payload["key"]
                value = recording.decode(payload["value"])
                atol, rtol = float(payload["atol"]), float(payload["rtol"])
                if not isinstance(key, str):
                    raise ValueError
            except (KeyError, TypeError, ValueError):
                found[step.grade_id].append(("<malformed>", None, 0.0, 0.0))
                continue
            found[step.grade_id].append((key, value, atol, rtol))
    return found


@dataclasses.dataclass
class QuestionResult:
    grade_id: str
    points: float
    max_points: float
    reason: str
    visible_output: str = ""


def _error_label(name: str | None) -> str:
    return name if name and _IDENTIFIER.match(name) else "an error"


def _part_problem(step: Step, result, execution: Execution) -> str | None:
    """Why one part of a test cell does not count, or `None`."""
    where = "hidden tests" if step.kind == "hidden" else "visible tests"
    if result.status == "not-run":
        return f"did not run ({execution.message})"
    if result.status == "died":
        return f"the kernel died during the {where}"
    if result.status == "timeout":
        return f"the {where} hit the time limit"
    if result.status == "error":
        return f"the {where} raised {_error_label(result.error_name)}"
    if step.nonce not in [
        str(p.get("nonce")) for p in _collect(result.outputs, recording.RECEIPT_MIME)
    ]:
        return f"the {where} did not run to their end (the kernel skipped or altered them)"
    return None


def score(
    assignment: Assignment, steps, execution: Execution, reference: dict
) -> list[QuestionResult]:
    """Points per question: every part ran, raised nothing, and every record matches."""
    student_records = records_by_question(steps, execution)
    parts = defaultdict(list)
    for step, result in zip(steps, execution.results, strict=True):
        if step.kind != "cell":
            parts[step.grade_id].append((step, result))
    results = []
    for question in assignment.questions:
        gid = question.grade_id
        reason = None
        for step, result in parts.get(gid, []):
            reason = _part_problem(step, result, execution)
            if reason:
                break
        if not parts.get(gid):
            reason = "did not run"
        if reason is None:
            reason = _compare_records(student_records.get(gid, []), reference.get(gid, []))
        visible = "".join(
            feedback_module.output_text(result.outputs)
            for step, result in parts.get(gid, [])
            if step.kind == "visible"
        )
        results.append(
            QuestionResult(
                gid,
                0.0 if reason else question.points,
                question.points,
                reason or "passed",
                visible,
            )
        )
    return results


def _compare_records(student: list, reference: list) -> str | None:
    expected = defaultdict(list)
    for key, value, atol, rtol in reference:
        expected[key].append((value, atol, rtol))
    got = defaultdict(list)
    for key, value, _, _ in student:
        got[key].append(value)
    for key in expected:
        if not got.get(key):
            return f"no result recorded for {key!r}"
        if len(got[key]) != len(expected[key]):
            return f"{key!r} was recorded {len(got[key])} times, expected {len(expected[key])}"
        for value, (ref, atol, rtol) in zip(got[key], expected[key], strict=True):
            difference = recording.compare(value, ref, atol=atol, rtol=rtol)
            if difference:
                return f"result {key!r} {difference}"
    return None


def _scratch_dir() -> Path:
    # Short paths: Unix socket names are limited to about 100 bytes.
    return Path(tempfile.mkdtemp(prefix="klg-"))


def run_notebook(cells, submission_bytes: bytes | None, submission_name: str, *, sandbox, limits):
    steps = plan(cells)
    scratch = _scratch_dir()
    try:
        workdir, _ = sandboxing.scratch_layout(scratch)
        if submission_bytes is not None:
            (workdir / Path(submission_name).name).write_bytes(submission_bytes)
        execution = execute_steps(steps, scratch, sandbox=sandbox, limits=limits)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return steps, execution


def run_solution(assignment: Assignment, *, sandbox, limits):
    """Runs the solution notebook in a clean kernel, built the way a submission is.

    Returns:
        `(steps, execution)`: the planned steps and, in `execution.results`, each step's
        status, error and outputs (stdout and stderr streams included), in the same order.
    """
    merged = merge(assignment, assignment.solution.cells)
    return run_notebook(merged.cells, None, assignment.name, sandbox=sandbox, limits=limits)


def compute_reference(assignment: Assignment, *, cache_dir, sandbox, limits, run=None) -> dict:
    """Runs the solution notebook in a clean kernel; returns its records per question.

    Args:
        run: an earlier `run_solution` result to use instead of running the notebook again.

    Raises:
        GradingSetupError: a test cell of the solution notebook fails or does not finish.
    """
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"reference-{assignment.sha256[:24]}.json"
        if cache_file.exists():
            try:
                cached = json.loads(cache_file.read_text(encoding="utf-8"))
                if (
                    cached.get("format") == REFERENCE_FORMAT
                    and cached.get("sha256") == assignment.sha256
                ):
                    return {
                        gid: [
                            (r["key"], recording.decode(r["value"]), r["atol"], r["rtol"])
                            for r in records
                        ]
                        for gid, records in cached["records"].items()
                    }
            except (ValueError, KeyError, TypeError):
                pass  # a damaged cache is recomputed
    steps, execution = run or run_solution(assignment, sandbox=sandbox, limits=limits)
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
            problem = _part_problem(step, result, execution)
        if problem:
            detail = f" ({result.error_name}: {result.error_value})" if result.error_name else ""
            cause = ""
            if first_raised is not None:
                earlier, raised = first_raised
                cause = (
                    f"; an earlier cell, {earlier.grade_id or earlier.cell_index!r}, raised "
                    f"{raised.error_name}: {raised.error_value}"
                )
            raise GradingSetupError(
                f"the solution notebook {assignment.name!r} fails its own cell "
                f"{step.grade_id or step.cell_index!r}: {problem}{detail}{cause}"
            )
    records = records_by_question(steps, execution)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": REFERENCE_FORMAT,
            "sha256": assignment.sha256,
            "records": {
                gid: [
                    {"key": k, "value": recording.encode(v), "atol": a, "rtol": r}
                    for k, v, a, r in items
                ]
                for gid, items in records.items()
            },
        }
        cache_file.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
    return dict(records)


@dataclasses.dataclass
class SubmissionResult:
    """The outcome for one submission: one gradebook row and one feedback file."""

    student: str
    path: str
    status: str
    message: str
    questions: list[QuestionResult]
    tampered: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    sandbox: str = "none"
    startup_seconds: float = 0.0
    run_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def total(self) -> float:
        return sum(q.points for q in self.questions)


def _zero(assignment: Assignment, reason: str) -> list[QuestionResult]:
    return [QuestionResult(q.grade_id, 0.0, q.points, reason) for q in assignment.questions]


def grade_submission(assignment, reference, path, student, *, sandbox, limits) -> SubmissionResult:
    """Grades one submission; never raises (a grader bug becomes a ``grader-error`` row)."""
    import time

    start = time.monotonic()
    result = SubmissionResult(student, str(path), "ok", "", [], sandbox=sandbox)
    try:
        try:
            path = Path(path)
            if path.stat().st_size > MAX_SUBMISSION_BYTES:
                raise nbg.NotebookFormatError(f"larger than {MAX_SUBMISSION_BYTES // 1024**2} MB")
            raw = path.read_bytes()
            student_nb = nbg.parse_notebook(raw.decode("utf-8"), path.name)
        except (OSError, UnicodeDecodeError, nbg.NotebookFormatError) as error:
            result.status = "unreadable"
            result.message = f"not a readable notebook: {error}"
            result.questions = _zero(assignment, "the submission could not be read")
            return result
        merged = merge(assignment, student_nb.cells)
        result.tampered, result.missing = merged.tampered, merged.missing
        steps, execution = run_notebook(
            merged.cells, raw, path.name, sandbox=sandbox, limits=limits
        )
        result.status = execution.status
        result.message = execution.message
        if execution.truncated:
            result.message += f"; output beyond {limits.output_bytes // 1024**2} MB was dropped"
        result.startup_seconds = execution.startup_seconds
        result.run_seconds = execution.run_seconds
        result.questions = score(assignment, steps, execution, reference)
        if any(r.error_name == "MemoryError" for r in execution.results):
            result.message += "; a cell ran out of memory"
    except Exception as error:  # every submission must get a row, whatever went wrong
        result.status = "grader-error"
        result.message = f"grader error: {type(error).__name__}: {error}"
        result.questions = _zero(assignment, "not graded (grader error)")
        traceback.print_exc(file=sys.stderr)
    finally:
        result.total_seconds = time.monotonic() - start
    return result


def student_names(paths) -> list[str]:
    """Names for the gradebook: file stems, or folder names when every file has the same name."""
    paths = [Path(p) for p in paths]
    stems = [p.stem for p in paths]
    if len(set(stems)) < len(stems):
        parents = [p.parent.name or p.stem for p in paths]
        if len(set(parents)) == len(parents):
            stems = parents
    names, seen = [], defaultdict(int)
    for stem in stems:
        seen[stem] += 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


def write_gradebook(assignment: Assignment, results: list[SubmissionResult], path: Path) -> None:
    """One row per submission, sorted by student, with nothing that changes between runs."""
    ids = [q.grade_id for q in assignment.questions]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student",
                *ids,
                "total",
                "max_points",
                "status",
                "tampered",
                "missing",
                "submission",
                "message",
            ]
        )
        for result in sorted(results, key=lambda r: r.student):
            by_id = {q.grade_id: q.points for q in result.questions}
            writer.writerow(
                [
                    result.student,
                    *(f"{by_id.get(gid, 0.0):g}" for gid in ids),
                    f"{result.total:g}",
                    f"{assignment.max_points:g}",
                    result.status,
                    " ".join(result.tampered),
                    " ".join(result.missing),
                    result.path,
                    result.message,
                ]
            )


def _safe_file_name(student: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", student).strip(".") or "student"
    return name[:120]


def grade(
    submissions,
    against,
    out,
    *,
    jobs: int = 2,
    limits: sandboxing.Limits | None = None,
    sandbox: str = "auto",
    feedback_format: str = "md",
    cache_dir=None,
    progress: bool = True,
) -> list[SubmissionResult]:
    """Grades submissions against a solution notebook and writes gradebook and feedback.

    Args:
        submissions: notebook files, or folders searched recursively for ``*.ipynb``.
        against: the solution notebook.
        out: folder for ``gradebook.csv`` and ``feedback/``.
        jobs: submissions graded at the same time (each runs its own kernel).
        limits: time and memory limits; `Limits()` by default.
        sandbox: ``"auto"`` (bubblewrap if installed), ``"bwrap"`` (required) or ``"none"``.
        feedback_format: ``"md"`` or ``"html"``.
        cache_dir: where the solution's reference results are cached; ``OUT/.reference-cache``
            by default.
        progress: show a progress bar.

    Returns:
        One `SubmissionResult` per submission, in the order given.

    Raises:
        GradingSetupError: the solution notebook is invalid or fails its own tests.
        ValueError: an argument is out of range.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs!r}")
    if feedback_format not in ("md", "html"):
        raise ValueError(f"feedback_format must be 'md' or 'html', got {feedback_format!r}")
    limits = limits or sandboxing.Limits()
    sandbox = sandboxing.resolve_sandbox(sandbox)
    out = Path(out)
    paths = _submission_paths(submissions)
    assignment = Assignment.from_path(against)
    cache_dir = out / ".reference-cache" if cache_dir is None else cache_dir
    reference = compute_reference(assignment, cache_dir=cache_dir, sandbox=sandbox, limits=limits)
    names = student_names(paths)
    results: list[SubmissionResult | None] = [None] * len(paths)
    from tqdm.auto import tqdm

    with (
        concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool,
        tqdm(
            total=len(paths), desc="grading", unit="notebook", disable=not progress or None
        ) as bar,
    ):
        futures = {
            pool.submit(
                grade_submission, assignment, reference, path, name, sandbox=sandbox, limits=limits
            ): index
            for index, (path, name) in enumerate(zip(paths, names, strict=True))
        }
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
            bar.update(1)
    out.mkdir(parents=True, exist_ok=True)
    write_gradebook(assignment, results, out / "gradebook.csv")
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    for result in results:
        text = feedback_module.render(assignment, result, feedback_format)
        (feedback_dir / f"{_safe_file_name(result.student)}.{feedback_format}").write_text(
            text, encoding="utf-8"
        )
    return results


def _submission_paths(submissions) -> list[Path]:
    paths = []
    for raw in submissions:
        path = Path(raw)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            # A missing or odd file still gets its row (status "unreadable").
            paths.append(path)
    if not paths:
        raise ValueError(f"no submissions found in {[str(s) for s in submissions]!r}")
    return paths


def configure_parser(parser) -> None:
    parser.add_argument(
        "submissions", nargs="+", metavar="SUBMISSIONS", help="notebooks or folders of notebooks"
    )
    parser.add_argument("--against", required=True, help="the solution notebook")
    parser.add_argument("--out", required=True, help="folder for gradebook.csv and feedback/")
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="notebooks graded at once"
    )
    parser.add_argument("--cell-timeout", type=float, default=120.0, help="seconds per cell")
    parser.add_argument(
        "--notebook-timeout", type=float, default=900.0, help="seconds per notebook"
    )
    parser.add_argument(
        "--memory",
        default="8G",
        help="address-space limit of each kernel (e.g. 4G); 'none' for none",
    )
    parser.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="bubblewrap if installed (auto), always (bwrap) or never (none)",
    )
    parser.add_argument("--feedback", choices=("md", "html"), default="md", help="feedback format")
    parser.add_argument(
        "--cache-dir", help="reference results cache (default: OUT/.reference-cache)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(args) -> int:
    try:
        memory = None if str(args.memory).lower() == "none" else sandboxing.parse_size(args.memory)
        limits = sandboxing.Limits(
            cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout, memory=memory
        )
        if sandboxing.resolve_sandbox(args.sandbox) == "none":
            why = "--sandbox none" if args.sandbox == "none" else sandboxing.bwrap_problem()
            print(
                f"keraslab grade: warning: no sandbox ({why}): student code can read any file "
                "this user can",
                file=sys.stderr,
            )
        results = grade(
            args.submissions,
            args.against,
            args.out,
            jobs=args.jobs,
            limits=limits,
            sandbox=args.sandbox,
            feedback_format=args.feedback,
            cache_dir=args.cache_dir,
            progress=not args.no_progress,
        )
    except (GradingSetupError, ValueError, RuntimeError) as error:
        print(f"keraslab grade: error: {error}", file=sys.stderr)
        return 2
    counts = defaultdict(int)
    for result in results:
        counts[result.status] += 1
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    print(
        f"graded {len(results)} submission(s): {summary}; gradebook: {Path(args.out) / 'gradebook.csv'}"
    )
    return 1 if counts["grader-error"] else 0
