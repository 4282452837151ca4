"""Checks a gradebook that `keraslab grade` wrote: each named row has status ok and the score
asked for. Used by .ci/run's colab and instructor steps.

    python .ci/expect_grades.py GRADES_DIR ROW=full|zero [ROW=full|zero ...]

`full` wants every automatically graded point (total == max_points > 0); `zero` wants none
(total == 0). Any other row, a missing row or a status other than ok fails the check.
"""

import csv
import sys
from pathlib import Path


def check(gradebook: Path, wanted: dict[str, str]) -> list[str]:
    with gradebook.open(newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    problems = [f"unexpected row {name!r}" for name in rows if name not in wanted]
    for name, score in wanted.items():
        row = rows.get(name)
        if row is None:
            problems.append(f"no row {name!r}")
            continue
        total, most = float(row["total"]), float(row["max_points"])
        if row["status"] != "ok":
            problems.append(f"{name}: status {row['status']!r} ({row['message']})")
        elif score == "full" and not (most > 0 and total == most):
            problems.append(
                f"{name}: {total:g} of {most:g} points, wanted full marks ({row['message']})"
            )
        elif score == "zero" and total != 0:
            problems.append(f"{name}: {total:g} of {most:g} points, wanted 0")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    grades, wanted = Path(argv[0]), {}
    for item in argv[1:]:
        name, _, score = item.rpartition("=")
        if not name or score not in ("full", "zero"):
            print(f"expect_grades: want ROW=full or ROW=zero, got {item!r}", file=sys.stderr)
            return 2
        wanted[name] = score
    problems = check(grades / "gradebook.csv", wanted)
    for problem in problems:
        print(f"expect_grades: {grades}: {problem}", file=sys.stderr)
    if not problems:
        print(f"expect_grades: {grades}: " + ", ".join(f"{n} {s}" for n, s in wanted.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
