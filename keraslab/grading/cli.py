"""The grading command lines: ``keraslab release``, ``keraslab grade`` and ``keraslab gradebook``.

`keraslab.cli` finds each subcommand's ``configure_<name>_parser`` and ``<name>_main`` here.
Each imports what it runs only when it runs, so ``keraslab release`` never loads the executor.

```
keraslab release source/ps1 --out release/ps1
keraslab grade submitted/*/ps1/problem1.ipynb --against source/ps1/problem1.ipynb \\
    --out grades/ps1/problem1
# fill in grades/ps1/problem1/hand_grading.csv, then:
keraslab gradebook grades/ps1/problem1 grades/ps1/problem2 --out grades/ps1/final.csv
```
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import defaultdict
from pathlib import Path

from keraslab.grading import sandbox as sandboxing


def configure_grade_parser(parser) -> None:
    parser.add_argument(
        "submissions", nargs="+", metavar="SUBMISSIONS", help="notebooks or folders of notebooks"
    )
    parser.add_argument("--against", required=True, help="the solution notebook")
    parser.add_argument(
        "--out", required=True, help="folder for gradebook.csv, hand_grading.csv and feedback/"
    )
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
        help="bubblewrap, refusing to grade where it cannot run (auto, bwrap: the same), or "
        "no sandbox at all (none)",
    )
    parser.add_argument("--feedback", choices=("md", "html"), default="md", help="feedback format")
    parser.add_argument(
        "--cache-dir", help="reference results cache (default: OUT/.reference-cache)"
    )
    parser.add_argument("--no-progress", action="store_true", help="report no progress")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a solution notebook that fails its own tests (default: warn, grade anyway)",
    )
    parser.add_argument(
        "--no-files",
        action="store_true",
        help="do not copy the other files of the solution's folder next to each submission",
    )


def grade_main(args) -> int:
    from keraslab.grading import grade as grading
    from keraslab.grading.assignment import STATUSES, GradingSetupError
    from keraslab.grading.gradebook import GRADEBOOK_FILE, HAND_GRADING_FILE

    try:
        memory = None if str(args.memory).lower() == "none" else sandboxing.parse_size(args.memory)
        limits = sandboxing.Limits(
            cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout, memory=memory
        )
        if sandboxing.resolve_sandbox(args.sandbox) == "none":
            print(
                "keraslab grade: warning: no sandbox (--sandbox none): student code can read "
                "any file this user can",
                file=sys.stderr,
            )
        results = grading.grade(
            args.submissions,
            args.against,
            args.out,
            jobs=args.jobs,
            limits=limits,
            sandbox=args.sandbox,
            feedback_format=args.feedback,
            cache_dir=args.cache_dir,
            progress=not args.no_progress,
            strict=args.strict,
            files=not args.no_files,
        )
    except (GradingSetupError, ValueError, RuntimeError) as error:
        print(f"keraslab grade: error: {error}", file=sys.stderr)
        return 2
    counts = defaultdict(int)
    for result in results:
        counts[result.status] += 1
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    waiting = sum(len(r.waiting) for r in results)
    print(
        f"graded {len(results)} submission(s): {summary}; gradebook: "
        f"{Path(args.out) / GRADEBOOK_FILE}"
        + (
            f"; {waiting} cell(s) wait for hand grading in "
            f"{Path(args.out) / HAND_GRADING_FILE}"
            if waiting
            else ""
        )
    )
    return 1 if counts["grader-error"] else 0


def configure_gradebook_parser(parser) -> None:
    parser.add_argument(
        "grades", nargs="+", metavar="GRADES", help="output folders of keraslab grade"
    )
    parser.add_argument("--out", required=True, help="the CSV to write (one row per student)")
    parser.add_argument(
        "--allow-waiting",
        action="store_true",
        help="count cells not yet graded by hand as 0 instead of refusing",
    )


def gradebook_main(args) -> int:
    from keraslab.grading import gradebook

    try:
        rows = gradebook.final_grades(args.grades, Path(args.out), allow_waiting=args.allow_waiting)
    except (ValueError, OSError, KeyError) as error:
        print(f"keraslab gradebook: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} student(s) to {args.out}")
    return 0


def configure_release_parser(parser) -> None:
    from keraslab.grading.release import COLAB_DIR

    parser.add_argument(
        "solutions", nargs="+", metavar="SOLUTIONS", help="solution notebooks or folders of them"
    )
    parser.add_argument(
        "--out", required=True, help="folder for the student notebooks (e.g. exercises/)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if --out differs from a fresh release (CI sync check)",
    )
    parser.add_argument(
        "--scan",
        nargs="+",
        metavar="PATH",
        help="also search these files or folders (e.g. the built book) for secret text; exit 1 "
        "if any is found",
    )
    parser.add_argument(
        "--colab-dir",
        default=COLAB_DIR,
        help=f"repository folder the Colab badge links to (default: {COLAB_DIR})",
    )
    parser.add_argument(
        "--no-colab", action="store_true", help="add neither the Colab badge nor the install cell"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse notebooks whose solution or hidden-test lines also stand in the "
        "instructions or metadata (default: warn)",
    )
    parser.add_argument(
        "--no-files",
        action="store_true",
        help="copy only notebooks, not the other files of the notebooks' folders",
    )
    parser.add_argument("--header", help="a notebook whose cells go first (nbgrader's header)")
    parser.add_argument("--footer", help="a notebook whose cells go last (nbgrader's footer)")


def _release(args):
    """The released files, or `None` after saying why there are none."""
    from keraslab.grading import notebook as nbg
    from keraslab.grading import release as releasing

    try:
        header = nbg.read_notebook(args.header) if args.header else None
        footer = nbg.read_notebook(args.footer) if args.footer else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", releasing.PossibleLeakWarning)
            released = releasing.release_files(
                args.solutions,
                args.out,
                colab_dir=None if args.no_colab else args.colab_dir,
                strict=args.strict,
                header=header,
                footer=footer,
                files=not args.no_files,
            )
    except (nbg.NotebookFormatError, FileNotFoundError) as error:
        print(f"keraslab release: error: {error}", file=sys.stderr)
        return None
    for warning in caught:
        print(f"keraslab release: warning: {warning.message}", file=sys.stderr)
    return released


def _check_sync(released, out) -> int:
    from keraslab.grading import release as releasing

    problems = releasing.sync_differences(released, out)
    for problem in problems:
        print(f"keraslab release: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{out}: in sync with {len(released)} solution notebook(s)")
    return 0


def _write_release(released, out) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    for target, content in released.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
            print(f"copied {target}")
        else:
            target.write_text(content, encoding="utf-8")
            print(f"released {target}")


def _scan(solution_paths, scanned) -> int:
    from keraslab.grading import leaks
    from keraslab.grading import notebook as nbg
    from keraslab.grading import release as releasing

    try:
        notebooks = releasing.collect_notebooks(solution_paths)
        found = leaks.find_leaks(scanned, {path.name: nbg.read_notebook(path) for path in notebooks})
    except (nbg.NotebookFormatError, OSError, ValueError) as error:
        print(f"keraslab release: error: {error}", file=sys.stderr)
        return 2
    for leak in found:
        print(f"keraslab release: leak: {leak}", file=sys.stderr)
    if found:
        return 1
    print(f"no solution, hidden-test or instructor-only text in {', '.join(scanned)}")
    return 0


def release_main(args) -> int:
    released = _release(args)
    if released is None:
        return 2
    status = 0
    if args.check:
        status = _check_sync(released, args.out)
    else:
        _write_release(released, args.out)
    if args.scan:
        scanned = _scan(args.solutions, args.scan)
        if scanned == 2:
            return 2
        status = status or scanned
    return status
