"""What an instructor meets around the gradebook: refusals that say how much waits, a hand-grading
file that always has its columns, and releases that keep the metadata nbgrader keeps."""

from __future__ import annotations

import csv

from keraslab import cli
from keraslab.grading import gradebook
from keraslab.grading import release as releasing
from tests.grading.fixtures import numerics_course as course

GRADEBOOK_COLUMNS = ["student", "total", "max_points", "manual_max", "task_max", "status"]


def _write_csv(path, columns, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)


def test_a_refusal_lists_ten_waiting_cells_then_says_how_many_more(tmp_path, capsys):
    folder = tmp_path / "grades" / "ps1"
    folder.mkdir(parents=True)
    students = [f"student{n:02d}" for n in range(19)]
    _write_csv(
        folder / gradebook.GRADEBOOK_FILE,
        GRADEBOOK_COLUMNS,
        [dict(zip(GRADEBOOK_COLUMNS, [s, 3, 3, 3, 1, "ok"], strict=True)) for s in students],
    )
    waiting = [
        {"student": s, "grade_id": gid, "kind": "manual", "max_points": 1, "points": ""}
        for s in students
        for gid in ("q1", "q2", "q3")
    ]
    _write_csv(folder / gradebook.HAND_GRADING_FILE, gradebook.HAND_COLUMNS, waiting)
    assert cli.main(["gradebook", str(folder), "--out", str(tmp_path / "final.csv")]) == 2
    error = capsys.readouterr().err
    assert "57 cell(s) still wait for hand grading" in error
    assert error.count("(ps1)") == 10
    assert error.rstrip().endswith("and 47 more")


def test_hand_grading_csv_has_its_columns_when_no_cell_is_graded_by_hand(tmp_path):
    path = tmp_path / gradebook.HAND_GRADING_FILE
    result = gradebook.SubmissionResult("alice", "alice.ipynb", "ok", "", [])
    gradebook.update_hand_grading([result], path)
    assert path.read_text(encoding="utf-8").splitlines() == [",".join(gradebook.HAND_COLUMNS)]


def test_release_keeps_the_cell_metadata_nbgrader_keeps():
    # nbgrader's ClearOutput (nbconvert's ClearOutputPreprocessor) drops `collapsed` and
    # `scrolled` from code cells only; markdown cells keep all their metadata.
    nb = course.interpolation()
    nb.cells[0].metadata.update({"collapsed": True, "scrolled": False, "tags": ["intro"]})
    nb.cells[2].metadata.update({"collapsed": True, "scrolled": True, "tags": ["given"]})
    released = releasing.release_notebook(nb, "interpolation.ipynb")
    by_id = {cell.id: cell for cell in released.cells}
    assert by_id["intro"].metadata == {"collapsed": True, "scrolled": False, "tags": ["intro"]}
    assert by_id["given"].metadata == {"tags": ["given"]}

