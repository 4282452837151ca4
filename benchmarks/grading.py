"""What grading costs beyond running the notebook, and how many notebooks per minute.

Uses the NumPy-only assignment of the grading tests, so kernel start-up and the grader's own
work dominate (a course notebook that trains a model adds its own run time on top). Prints:

- plain: median seconds to execute the graded notebook with plain nbclient (new kernel, no
  sandbox, no limits): the cost of "just running it";
- graded: median seconds per submission inside the grader, one at a time (merge, sandbox,
  limits, receipts, comparison), and the difference: the grader's overhead. It can be negative:
  the grader kills a finished kernel where nbclient waits for a polite shutdown;
- grader_own_work: time per submission outside kernel start-up and cell execution (reading,
  merging, planning, scoring, killing the kernel);
- throughput: submissions per minute with ``--jobs`` workers, reference already cached.

    python benchmarks/grading.py [--submissions 8] [--jobs 2] [--repeats 3] [--sandbox auto]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from keraslab.grading import grade as grading  # noqa: E402
from keraslab.grading import sandbox as sandboxing  # noqa: E402
from keraslab.grading.assignment import Assignment, merge  # noqa: E402
from tests.grading.fixtures import notebooks as fx  # noqa: E402


def plain_execution_seconds(notebook_path: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        nb = nbformat.read(notebook_path, as_version=4)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            NotebookClient(nb, timeout=120, resources={"metadata": {"path": scratch}}).execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=8, help="submissions per timing")
    parser.add_argument("--jobs", type=int, default=2, help="workers for the throughput run")
    parser.add_argument("--repeats", type=int, default=3, help="plain executions to time")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto")
    args = parser.parse_args(argv)
    if args.submissions < 1 or args.jobs < 1 or args.repeats < 1:
        parser.error("--submissions, --jobs and --repeats must be >= 1")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        solution = root / fx.ASSIGNMENT_NAME
        fx.write(fx.solution_notebook(), solution)
        submissions = []
        for index in range(args.submissions):
            path = root / "submissions" / f"student{index:03d}.ipynb"
            path.parent.mkdir(exist_ok=True)
            fx.write(fx.build_submission(fx.SUBMISSIONS[0]), path)
            submissions.append(path)
        # What the grader runs for a submission, as a plain notebook (answers in place).
        merged = merge(
            Assignment.from_path(solution), nbformat.read(submissions[0], 4).cells
        )
        plain_nb = nbformat.v4.new_notebook(cells=merged.cells)
        plain_path = root / "plain.ipynb"
        nbformat.write(plain_nb, plain_path)

        plain = plain_execution_seconds(plain_path, args.repeats)
        cache = root / "cache"
        limits = sandboxing.Limits(cell_timeout=120, notebook_timeout=600)
        start = time.perf_counter()
        grading.grade(
            [solution],
            solution,
            root / "warm",
            limits=limits,
            sandbox=args.sandbox,
            cache_dir=cache,
            progress=False,
        )
        reference_seconds = time.perf_counter() - start  # reference run + one submission

        results = grading.grade(
            submissions,
            solution,
            root / "serial",
            jobs=1,
            limits=limits,
            sandbox=args.sandbox,
            cache_dir=cache,
            progress=False,
        )
        per_submission = statistics.median(r.total_seconds for r in results)
        startup = statistics.median(r.startup_seconds for r in results)
        own_work = statistics.median(
            r.total_seconds - r.startup_seconds - r.run_seconds for r in results
        )

        start = time.perf_counter()
        parallel = grading.grade(
            submissions,
            solution,
            root / "parallel",
            jobs=args.jobs,
            limits=limits,
            sandbox=args.sandbox,
            cache_dir=cache,
            progress=False,
        )
        wall = time.perf_counter() - start
        assert all(r.total == fx.MAX_POINTS for r in results + parallel), "benchmark misgraded"

    report = {
        "sandbox": sandboxing.resolve_sandbox(args.sandbox),
        "submissions": args.submissions,
        "plain_execution_s": round(plain, 3),
        "graded_per_submission_s": round(per_submission, 3),
        "grader_overhead_s": round(per_submission - plain, 3),
        "kernel_startup_in_grader_s": round(startup, 3),
        "grader_own_work_s": round(own_work, 3),
        "first_run_with_reference_s": round(reference_seconds, 3),
        "jobs": args.jobs,
        "throughput_per_minute": round(60 * args.submissions / wall, 1),
        "parallel_wall_s": round(wall, 3),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
