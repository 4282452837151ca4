"""``keraslab grade``: score submissions against a solution notebook.

For each submission the grader rebuilds the notebook from the assignment: locked and test cells
come from the solution notebook (hidden tests included), restored by ``grade_id`` and re-added
when deleted; the student's answer cells and extra cells are kept in place. The notebook runs
in a fresh, sandboxed, limited kernel (`keraslab.grading.sandbox`), each test cell's visible and
hidden parts as separate requests ending with a nonce receipt. Results recorded with
`keraslab.grading.record` are compared in this process with those of the solution notebook,
which runs once in a clean kernel (cached by the notebook's SHA-256). See `keraslab.grading` for
the threat model.

The stages live in their own modules: `keraslab.grading.assignment` (the solution prepared for
grading, merging a submission into it, planning the steps), `keraslab.grading.asserts` (plain
asserts decided in the grader), `keraslab.grading.execute` (running steps in a kernel),
`keraslab.grading.reference` (the solution's reference run and its cache),
`keraslab.grading.scoring` (points per question), `keraslab.grading.gradebook` (rows, hand
grading, final export), `keraslab.grading.feedback` and `keraslab.grading.cli` (the command
lines). This module grades one submission and runs the pool that grades them all.

Writes ``OUT/gradebook.csv``, ``OUT/hand_grading.csv`` and ``OUT/feedback/STUDENT.md`` (or
``.html``). Re-running on the same files gives the same table.

Examples:

```
keraslab grade submitted/*/ps1/problem1.ipynb --against source/ps1/problem1.ipynb --out grades/
keraslab grade alice.ipynb bob.ipynb --against solutions/01_init.ipynb --out grades/ \\
    --jobs 2 --cell-timeout 60 --notebook-timeout 600 --memory 6G --feedback html
```
"""

from __future__ import annotations

import concurrent.futures
import sys
import time
import traceback
from pathlib import Path

from keraslab.grading import feedback as feedback_module
from keraslab.grading import notebook as nbg
from keraslab.grading import sandbox as sandboxing
from keraslab.grading.assignment import (
    Assignment,
    is_other_notebook,
    keraslab_answers,
    merge,
    plan,
    read_submission,
)
from keraslab.grading.execute import run_notebook
from keraslab.grading.gradebook import (
    GRADEBOOK_FILE,
    HAND_GRADING_FILE,
    SubmissionResult,
    ascii_file_name,
    feedback_file_names,
    hand_graded,
    student_names,
    update_hand_grading,
    write_gradebook,
    zero_results,
)
from keraslab.grading.reference import cached_reference, compute_reference
from keraslab.grading.scoring import cell_ender, score


def grade_submission(assignment, reference, path, student, *, sandbox, limits) -> SubmissionResult:
    """Grades one submission; never raises (a grader bug becomes a ``grader-error`` row)."""
    start = time.monotonic()
    result = SubmissionResult(student, str(path), "ok", "", [], sandbox=sandbox)
    try:
        try:
            path = Path(path)
            raw, student_nb = read_submission(path)
        except (OSError, UnicodeDecodeError, nbg.NotebookFormatError) as error:
            result.status = "unreadable"
            result.message = f"not a readable notebook: {error}"
            result.questions = zero_results(assignment, "the submission could not be read")
            result.hand = hand_graded(assignment)
            return result
        merged = merge(assignment, student_nb.cells)
        if is_other_notebook(assignment, merged):
            result.status = "wrong-notebook"
            result.message = (
                f"not a submission of {assignment.name}: it has none of its graded cells "
                "(another notebook of the assignment?)"
            )
            result.questions = zero_results(assignment, f"not graded: not {assignment.name}")
            return result  # nothing to grade by hand either: it belongs to another notebook
        result.tampered, result.missing = merged.tampered, merged.missing
        result.flags = [
            f"uses {name}" for name in keraslab_answers(assignment, merged.student_code)
        ]
        result.hand = hand_graded(assignment, merged.unchanged, merged.missing)
        steps = plan(merged.cells, assignment.names)
        execution = run_notebook(
            steps,
            raw,
            path.name,
            sandbox=sandbox,
            limits=limits,
            files=assignment.files,
            ends_cell=cell_ender(assignment, reference),
        )
        result.status = execution.status
        result.message = execution.message
        if execution.truncated:
            result.message += (
                f"; output beyond {limits.output_bytes // 1024**2} MB was dropped "
                "(results and receipts were kept)"
            )
        result.startup_seconds = execution.startup_seconds
        result.run_seconds = execution.run_seconds
        result.questions = score(assignment, steps, execution, reference)
        if any(r.error_name == "MemoryError" for r in execution.results):
            result.message += "; a cell ran out of memory"
    except Exception as error:  # every submission must get a row, whatever went wrong
        result.status = "grader-error"
        result.message = f"grader error: {type(error).__name__}: {error}"
        result.questions = zero_results(assignment, "not graded (grader error)")
        traceback.print_exc(file=sys.stderr)
    finally:
        result.total_seconds = time.monotonic() - start
    return result


class Progress:
    """What the grader is doing, on ``stream``: a bar on a terminal, else a line per event.

    Args:
        stream: where to write; `None` writes nothing.
    """

    def __init__(self, stream, total: int):
        self.stream = stream
        self.total = total
        self.done = 0
        self.bar = None
        self.terminal = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def line(self, text: str) -> None:
        if self.stream is None:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def reference_started(self, assignment, cached: bool) -> None:
        if cached:
            self.line(f"keraslab grade: reference results of {assignment.name} from the cache")
        else:
            self.line(
                f"keraslab grade: running the solution notebook {assignment.name} for the "
                "reference results (one kernel, before any submission)..."
            )

    def reference_finished(self, assignment, seconds: float, problems) -> None:
        self.line(f"keraslab grade: reference ready in {seconds:.0f} s")
        for problem in problems:
            self.line(f"keraslab grade: warning: {problem}; grading anyway")

    def start_submissions(self) -> None:
        if self.terminal:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc="grading", unit="notebook", file=self.stream)

    def submission_finished(self, result: SubmissionResult, max_points: float) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        else:
            self.line(
                f"keraslab grade: [{self.done}/{self.total}] {result.student}: {result.status}, "
                f"{result.total:g}/{max_points:g} points in {result.total_seconds:.0f} s"
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
    progress=True,
    strict: bool = False,
    files: bool = True,
) -> list[SubmissionResult]:
    """Grades submissions against a solution notebook and writes gradebook and feedback.

    Args:
        submissions: notebook files, or folders searched recursively for ``*.ipynb``.
        against: the solution notebook. Other files in its folder (data, images) are copied
            next to each submission in its sandbox.
        out: folder for ``gradebook.csv``, ``hand_grading.csv`` and ``feedback/``.
        jobs: submissions graded at the same time (each runs its own kernel).
        limits: time and memory limits; `Limits()` by default.
        sandbox: ``"auto"`` or ``"bwrap"`` (bubblewrap, required) or ``"none"`` (no sandbox:
            student code can read any file this user can).
        feedback_format: ``"md"`` or ``"html"``.
        cache_dir: where the solution's reference results are cached; ``OUT/.reference-cache``
            by default.
        progress: `True` reports progress on stderr (a bar on a terminal, else a line per
            submission), `False` not at all; or a stream to write the lines to.
        strict: refuse a solution notebook that fails its own tests instead of warning.
        files: copy the other files of the solution's folder (data, images) next to each
            submission; folders of notebooks or grades are never copied.

    Returns:
        One `SubmissionResult` per submission, in the order given.

    Raises:
        GradingSetupError: the solution notebook is invalid (or, with ``strict``, fails its
            own tests).
        SandboxUnavailable: bubblewrap cannot run here and ``sandbox`` is not ``"none"``.
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
    cache_dir = out / ".reference-cache" if cache_dir is None else cache_dir
    # Never copy grades, caches or submissions into a sandbox as "assignment files".
    assignment = Assignment.from_path(against, exclude=[out, cache_dir, *paths], files=files)
    stream = sys.stderr if progress is True else (progress or None)
    reporter = Progress(stream, len(paths))
    reporter.reference_started(assignment, cached_reference(assignment, cache_dir) is not None)
    start = time.monotonic()
    reference = compute_reference(
        assignment, cache_dir=cache_dir, sandbox=sandbox, limits=limits, strict=strict
    )
    reporter.reference_finished(assignment, time.monotonic() - start, reference.problems)
    results = _grade_all(
        assignment, reference, paths, reporter, jobs=jobs, sandbox=sandbox, limits=limits
    )
    if reference.problems:
        for result in results:
            result.message += "; the solution notebook fails some of its own tests (see the log)"
    _write_results(assignment, results, out, feedback_format)
    return results


def _grade_all(assignment, reference, paths, reporter, *, jobs, sandbox, limits):
    """Grades every submission, ``jobs`` at a time; results in the order of ``paths``."""
    names = student_names(paths, assignment.name)
    results: list[SubmissionResult | None] = [None] * len(paths)
    reporter.start_submissions()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                pool.submit(
                    grade_submission,
                    assignment,
                    reference,
                    path,
                    name,
                    sandbox=sandbox,
                    limits=limits,
                ): index
                for index, (path, name) in enumerate(zip(paths, names, strict=True))
            }
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                results[futures[future]] = result
                reporter.submission_finished(result, assignment.max_points)
    finally:
        reporter.close()
    return results


def _write_results(assignment, results, out: Path, feedback_format: str) -> None:
    """Writes the feedback files, ``hand_grading.csv`` and ``gradebook.csv`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    for result, file_name in zip(
        results, feedback_file_names([r.student for r in results], feedback_format), strict=True
    ):
        result.feedback_file = write_feedback(
            feedback_dir, file_name, feedback_module.render(assignment, result, feedback_format)
        )
    update_hand_grading(results, out / HAND_GRADING_FILE)
    write_gradebook(assignment, results, out / GRADEBOOK_FILE)


def write_feedback(folder: Path, file_name: str, text: str) -> str:
    """Writes one feedback file; returns its path relative to the output folder.

    A file system that refuses the Unicode name gets the name spelled in ASCII.
    """
    try:
        (folder / file_name).write_text(text, encoding="utf-8")
    except (UnicodeEncodeError, OSError):
        file_name = ascii_file_name(file_name)
        (folder / file_name).write_text(text, encoding="utf-8")
    return f"{folder.name}/{file_name}"


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

