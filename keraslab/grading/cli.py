"""The grading command lines: ``keraslab grade`` and ``keraslab gradebook``.

```
keraslab grade submitted/*/ps1/problem1.ipynb --against source/ps1/problem1.ipynb \\
    --out grades/ps1/problem1
# fill in grades/ps1/problem1/hand_grading.csv, then:
keraslab gradebook grades/ps1/problem1 grades/ps1/problem2 --out grades/ps1/final.csv
```
"""

from __future__ import annotations

import os
import sys
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
    except (grading.GradingSetupError, ValueError, RuntimeError) as error:
        print(f"keraslab grade: error: {error}", file=sys.stderr)
        return 2
    counts = defaultdict(int)
    for result in results:
        counts[result.status] += 1
    summary = ", ".join(f"{counts[s]} {s}" for s in grading.STATUSES if counts[s])
    waiting = sum(len(r.waiting) for r in results)
    print(
        f"graded {len(results)} submission(s): {summary}; gradebook: "
        f"{Path(args.out) / grading.GRADEBOOK_FILE}"
        + (
            f"; {waiting} cell(s) wait for hand grading in "
            f"{Path(args.out) / grading.HAND_GRADING_FILE}"
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


# `keraslab.cli` calls these by module: one module serves two subcommands.
def configure_parser(parser) -> None:
    if parser.prog.split()[-1] == "gradebook":
        configure_gradebook_parser(parser)
    else:
        configure_grade_parser(parser)


def main(args) -> int:
    if args.command == "gradebook":
        return gradebook_main(args)
    return grade_main(args)
