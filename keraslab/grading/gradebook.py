"""The gradebook: one row per submission, points graded by hand, and the final export.

``keraslab grade`` writes, in its output folder:

- ``gradebook.csv``: one row per submission, sorted by student, with the points of each
  auto-graded question and, separately, the auto, manual (answers graded by hand) and task
  points, their maxima, the cells still waiting for hand grading, the status and the feedback
  file.
- ``hand_grading.csv``: one row per student and cell graded by hand, for the instructor to
  fill in (``points``, ``comment``). Answers left as released are filled in with 0, as
  nbgrader does. Re-grading keeps what the instructor entered.

``keraslab gradebook GRADES... --out final.csv`` adds the hand-given points to the automatic
ones and writes one CSV per course an LMS can import: a row per student, a column per graded
notebook, the total and the maximum.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

from keraslab.grading.scoring import QuestionResult

HAND_GRADING_FILE = "hand_grading.csv"
GRADEBOOK_FILE = "gradebook.csv"
HAND_COLUMNS = ["student", "grade_id", "kind", "max_points", "points", "comment"]
# A refusal names this many of the cells still waiting for hand grading, then counts the rest.
SHOWN_WAITING = 10
# nbgrader's course layout: submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb
NBGRADER_STEPS = ("submitted", "autograded", "feedback")


@dataclasses.dataclass
class HandGraded:
    """A cell graded by hand: ``points`` is `None` until the instructor enters it."""

    grade_id: str
    kind: str  # "manual" (an answer) or "task"
    max_points: float
    points: float | None = None
    note: str = ""


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
    hand: list[HandGraded] = dataclasses.field(default_factory=list)
    feedback_file: str = ""
    flags: list[str] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> float:
        """Points graded automatically."""
        return sum(q.points for q in self.questions)

    def hand_points(self, kind: str) -> float:
        return sum(h.points or 0.0 for h in self.hand if h.kind == kind)

    @property
    def waiting(self) -> list[str]:
        """Cells still to be graded by hand."""
        return [h.grade_id for h in self.hand if h.points is None]


def zero_results(assignment, reason: str) -> list[QuestionResult]:
    """No points for any question, for ``reason`` (a submission that was not graded)."""
    return [QuestionResult(q.grade_id, 0.0, q.points, reason) for q in assignment.questions]


def hand_graded(assignment, unchanged=(), missing=()) -> list[HandGraded]:
    """The cells graded by hand for one submission; unanswered answers already score 0."""
    items = []
    for gid, points in assignment.manual.items():
        item = HandGraded(gid, "manual", points)
        if gid in unchanged or gid in missing:
            item.points = 0.0
            item.note = "left as released" if gid in unchanged else "deleted"
        items.append(item)
    items += [HandGraded(gid, "task", points) for gid, points in assignment.tasks.items()]
    return items


def _nbgrader_student(path: Path) -> str | None:
    parts = path.parts
    if len(parts) >= 4 and parts[-4] in NBGRADER_STEPS:
        return parts[-3]
    return None


def student_names(paths, notebook: str | None = None) -> list[str]:
    """Names for the gradebook, one per path, all different.

    nbgrader's layout ``submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb`` names the student;
    otherwise file stems, or folder names when every file has the same name. Two files of
    one student are told apart by their file names, except the one named ``notebook`` (the
    assignment's).
    """
    paths = [Path(p) for p in paths]
    nbgrader = [_nbgrader_student(p) for p in paths]
    if all(nbgrader) and paths:
        names = list(nbgrader)
    else:
        names = [p.stem for p in paths]
        if len(set(names)) < len(names):
            parents = [p.parent.name or p.stem for p in paths]
            if len(set(parents)) == len(parents):
                names = parents
    counts = defaultdict(int)
    for name in names:
        counts[name] += 1
    names = [
        f"{name} ({path.stem})"
        if counts[name] > 1 and path.stem != name and path.name != notebook
        else name
        for name, path in zip(names, paths, strict=True)
    ]
    unique, seen = [], defaultdict(int)
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


_UNSAFE = re.compile(r"[^\w.()-]+")


def safe_file_name(student: str) -> str:
    """A file name for a student's feedback that keeps their name readable, Unicode included."""
    name = unicodedata.normalize("NFC", student)
    name = _UNSAFE.sub("_", name).strip("._") or "student"
    return name[:100]


def ascii_file_name(name: str) -> str:
    """``name`` with each non-ASCII character spelled as its code point (``Zo\u00eb`` ->
    ``Zo-u00eb``), for file systems that take only ASCII names."""
    return "".join(c if c.isascii() else f"-u{ord(c):04x}" for c in name)


def feedback_file_names(students, suffix: str) -> list[str]:
    """One feedback file name per student, never two alike even on a file system that
    ignores case or normalizes Unicode (``Zo\u00eb`` and ``Zo\u00e9`` stay apart)."""
    names, taken = [], set()
    for student in students:
        stem = safe_file_name(student)
        candidate, number = stem, 1
        while unicodedata.normalize("NFKC", candidate).casefold() in taken:
            number += 1
            candidate = f"{stem}-{number}"
        taken.add(unicodedata.normalize("NFKC", candidate).casefold())
        names.append(f"{candidate}.{suffix}")
    return names


def _number(value: float) -> str:
    return f"{value:g}"


def write_gradebook(assignment, results: list[SubmissionResult], path: Path) -> None:
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
                "manual",
                "manual_max",
                "task",
                "task_max",
                "waiting_for_hand_grading",
                "status",
                "tampered",
                "missing",
                "flags",
                "submission",
                "feedback",
                "message",
            ]
        )
        for result in sorted(results, key=lambda r: r.student):
            by_id = {q.grade_id: q.points for q in result.questions}
            writer.writerow(
                [
                    result.student,
                    *(_number(by_id.get(gid, 0.0)) for gid in ids),
                    _number(result.total),
                    _number(assignment.max_points),
                    _number(result.hand_points("manual")),
                    _number(assignment.manual_max),
                    _number(result.hand_points("task")),
                    _number(assignment.task_max),
                    " ".join(result.waiting),
                    result.status,
                    " ".join(result.tampered),
                    " ".join(result.missing),
                    "; ".join(result.flags),
                    result.path,
                    result.feedback_file,
                    result.message,
                ]
            )


def _read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def update_hand_grading(results: list[SubmissionResult], path: Path) -> None:
    """Writes ``hand_grading.csv``, keeping points and comments the instructor entered.

    Points already entered for a student and cell win over those the grader fills in, and the
    results' `HandGraded` items get them, so the gradebook shows them too.
    """
    earlier = {}
    if path.exists():
        earlier = {(row.get("student"), row.get("grade_id")): row for row in _read_rows(path)}
    rows = []
    for result in sorted(results, key=lambda r: r.student):
        for item in result.hand:
            old = earlier.pop((result.student, item.grade_id), None) or {}
            if (old.get("points") or "").strip():
                item.points = parse_points(old["points"], path, result.student, item)
            rows.append(
                {
                    "student": result.student,
                    "grade_id": item.grade_id,
                    "kind": item.kind,
                    "max_points": _number(item.max_points),
                    "points": "" if item.points is None else _number(item.points),
                    "comment": old.get("comment") or item.note,
                }
            )
    # Rows of students not graded this time are kept: nothing the instructor entered is lost.
    rows += [{column: row.get(column, "") for column in HAND_COLUMNS} for row in earlier.values()]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HAND_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def parse_points(text: str, path: Path, student: str, item: HandGraded) -> float:
    try:
        points = float(text)
    except ValueError:
        points = None
    if points is None or not 0 <= points <= item.max_points:
        raise ValueError(
            f"{path}: points for {student!r} on {item.grade_id!r} must be a number from 0 to "
            f"{item.max_points:g}, got {text!r}"
        )
    return points


def final_grades(grade_dirs, out: Path, *, allow_waiting: bool = False) -> list[dict]:
    """Adds hand-given points to each gradebook and writes one row per student to ``out``.

    Args:
        grade_dirs: output folders of ``keraslab grade``, one per notebook of the course.
        out: the CSV to write: ``student``, one column per folder, ``total``, ``max_points``.
        allow_waiting: count cells not yet graded by hand as 0 instead of refusing.

    Raises:
        ValueError: a folder has no gradebook, points are out of range, or (without
            ``allow_waiting``) cells are still waiting for hand grading.
    """
    columns, totals, maxima, waiting = [], defaultdict(dict), {}, []
    for folder in map(Path, grade_dirs):
        gradebook = folder / GRADEBOOK_FILE
        if not gradebook.exists():
            raise ValueError(f"no {GRADEBOOK_FILE} in {str(folder)!r}: run keraslab grade first")
        column = folder.name
        if column in columns:
            column = str(folder)
        columns.append(column)
        hand = defaultdict(float)
        hand_file = folder / HAND_GRADING_FILE
        rows = _read_rows(hand_file) if hand_file.exists() else []
        for row in rows:
            text = (row.get("points") or "").strip()
            if not text:
                waiting.append(f"{row['student']} {row['grade_id']} ({column})")
                continue
            item = HandGraded(row["grade_id"], row.get("kind", ""), float(row["max_points"]))
            hand[row["student"]] += parse_points(text, hand_file, row["student"], item)
        for row in _read_rows(gradebook):
            if row["status"] == "wrong-notebook":
                continue  # another notebook's file, graded in its own folder
            totals[row["student"]][column] = float(row["total"]) + hand[row["student"]]
            maxima[column] = (
                float(row["max_points"]) + float(row["manual_max"]) + float(row["task_max"])
            )
    if waiting and not allow_waiting:
        raise ValueError(
            f"{len(waiting)} cell(s) still wait for hand grading (fill in their points in "
            f"{HAND_GRADING_FILE}): " + "; ".join(waiting[:SHOWN_WAITING])
            + (f"; and {len(waiting) - SHOWN_WAITING} more" if len(waiting) > SHOWN_WAITING else "")
        )
    rows = []
    for student in sorted(totals):
        scores = [totals[student].get(column, 0.0) for column in columns]
        rows.append(
            {
                "student": student,
                **{c: _number(s) for c, s in zip(columns, scores, strict=True)},
                "total": _number(sum(scores)),
                "max_points": _number(sum(maxima.values())),
            }
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["student", *columns, "total", "max_points"])
        writer.writeheader()
        writer.writerows(rows)
    return rows
