"""What is graded: a solution notebook prepared for grading, and each submission merged into it.

`Assignment` holds what the grader restores (locked and test cells, hidden tests included),
the questions (auto-graded test cells), the cells graded by hand (answers and tasks), the
secret text to redact, and the assignment's other files. `merge` rebuilds the notebook to run
from the assignment and a student's answers; `plan` turns it into the steps the kernel runs,
each test cell split into visible and hidden parts ending with a nonce receipt.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import secrets
import warnings
from collections import defaultdict
from pathlib import Path

import nbformat

from keraslab.grading import asserts, protocol, syntax
from keraslab.grading import notebook as nbg
from keraslab.grading import release as releasing
from keraslab.grading.execute import Step

# A submission file may be this large; its saved outputs are dropped on reading, and what is
# left (sources, metadata) must fit in MAX_SUBMISSION_BYTES.
MAX_FILE_BYTES = 1024**3
MAX_SUBMISSION_BYTES = 64 * 1024**2
STATUSES = (
    "ok",
    "timeout",
    "kernel-died",
    "kernel-failed",
    "unreadable",
    "wrong-notebook",
    "grader-error",
)
# Cells keraslab's release adds; a submission made with another tool does not have them.
RELEASE_CELL_IDS = frozenset({releasing.BADGE_CELL_ID, releasing.INSTALL_CELL_ID})


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
        manual: ``grade_id -> points`` of answer cells graded by hand.
        tasks: ``grade_id -> points`` of task cells, graded by hand.
        secret: solution, hidden-test and mark-scheme text, for redaction.
        sha256: hash of the solution notebook's bytes.
        files: the assignment's other files, ``{relative path: file}``, copied next to each
            submission in its sandbox.
    """

    name: str
    solution: nbformat.NotebookNode
    template: nbformat.NotebookNode
    released_sources: dict
    questions: list[Question]
    manual: dict
    secret: nbg.SecretText
    sha256: str
    tasks: dict = dataclasses.field(default_factory=dict)
    files: dict = dataclasses.field(default_factory=dict)
    names: asserts.Names | None = None
    scope: asserts.GraderScope | None = None

    @classmethod
    def from_path(cls, path, *, exclude=(), files: bool = True) -> Assignment:
        """Reads a solution notebook.

        Args:
            exclude: paths never copied as assignment files.
            files: copy the other files of the notebook's folder next to each submission.
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise GradingSetupError(
                f"cannot read --against notebook {str(path)!r}: {error}"
            ) from None
        try:
            solution = nbg.parse_notebook(raw.decode("utf-8"), str(path))
            with warnings.catch_warnings():
                # Shared lines are the release's business; grading needs no warning about them.
                warnings.simplefilter("ignore", releasing.PossibleLeakWarning)
                template = releasing.release_notebook(solution, path.name, keep_hidden_tests=True)
                released = releasing.release_notebook(solution, path.name)
            files = releasing.assignment_files(path.parent) if files else {}
        except (nbg.NotebookFormatError, UnicodeDecodeError) as error:
            raise GradingSetupError(str(error)) from None
        excluded = [Path(p).resolve() for p in exclude]
        files = {
            relative: file
            for relative, file in files.items()
            if not any(file.resolve().is_relative_to(e) for e in excluded)
        }
        questions = [
            Question(nbg.grade_id(c), nbg.points(c)) for c in template.cells if nbg.is_test(c)
        ]
        manual = {nbg.grade_id(c): nbg.points(c) for c in template.cells if nbg.is_graded_answer(c)}
        tasks = {
            nbg.grade_id(c): nbg.points(c)
            for c in template.cells
            if nbg.is_manually_graded(c) and not nbg.is_graded_answer(c)
        }
        names = asserts.assignment_names(template)
        if not (questions or manual or tasks):
            raise GradingSetupError(
                f"{str(path)!r} has no graded cells (nbgrader grade: true or task: true)"
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
            manual=manual,
            tasks=tasks,
            secret=nbg.secret_text(solution),
            sha256=hashlib.sha256(raw).hexdigest(),
            files=files,
            names=names,
            scope=asserts.GraderScope(names.imports),
        )

    @property
    def max_points(self) -> float:
        """Points graded automatically."""
        return sum(q.points for q in self.questions)

    @property
    def manual_max(self) -> float:
        return sum(self.manual.values())

    @property
    def task_max(self) -> float:
        return sum(self.tasks.values())

    @property
    def total_max(self) -> float:
        return self.max_points + self.manual_max + self.task_max


def read_submission(path: Path) -> tuple[bytes, nbformat.NotebookNode]:
    """Reads a submission with its saved outputs dropped: ``(notebook bytes, notebook)``.

    Outputs are the student's old results, never graded; dropping them first means a notebook
    saved with heavy outputs is still graded.

    Raises:
        OSError, UnicodeDecodeError, nbg.NotebookFormatError: it cannot be read.
    """
    if path.stat().st_size > MAX_FILE_BYTES:
        raise nbg.NotebookFormatError(f"larger than {MAX_FILE_BYTES // 1024**2} MB")
    text = path.read_bytes().decode("utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        data = None  # parse_notebook says what is wrong with it
    if isinstance(data, dict) and isinstance(data.get("cells"), list):
        for cell in data["cells"]:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        if isinstance(data.get("metadata"), dict):
            data["metadata"].pop("widgets", None)
        text = json.dumps(data, ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_SUBMISSION_BYTES:
        raise nbg.NotebookFormatError(
            f"larger than {MAX_SUBMISSION_BYTES // 1024**2} MB without its outputs"
        )
    nb = nbg.parse_notebook(text, path.name)
    return text.encode("utf-8"), nb


@dataclasses.dataclass
class Merged:
    """The notebook to run for one submission.

    Attributes:
        cells: the cells, in order.
        tampered: locked or test cells the student edited (restored).
        missing: graded cells the student deleted (re-added).
        unchanged: answer cells left as released.
        matched: how many of the assignment's cells the submission has, by grade_id.
    """

    cells: list
    tampered: list[str]
    missing: list[str]
    unchanged: list[str] = dataclasses.field(default_factory=list)
    matched: int = 0
    student_code: list[str] = dataclasses.field(default_factory=list)


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
    tampered, missing, unchanged = [], [], []
    solution_ids = {nbg.grade_id(c) for c in assignment.template.cells if nbg.is_solution(c)}
    for template_cell in assignment.template.cells:
        gid = nbg.grade_id(template_cell)
        if gid is None:
            continue
        student_cell = answers.get(gid)
        released = assignment.released_sources[gid]
        if gid in RELEASE_CELL_IDS:
            pass  # not the instructor's cells: never reported
        elif student_cell is None:
            missing.append(gid)
        elif (student_cell["cell_type"], nbg.cell_source(student_cell)) == released:
            if nbg.is_solution(template_cell):
                unchanged.append(gid)
        elif not nbg.is_solution(template_cell):
            tampered.append(gid)
        if nbg.is_solution(template_cell) and student_cell is not None:
            cell = _plain_cell(student_cell["cell_type"], nbg.cell_source(student_cell))
        else:
            cell = _plain_cell(template_cell.cell_type, nbg.cell_source(template_cell))
        cell.metadata["nbgrader"] = dict(template_cell.metadata["nbgrader"])
        cells.append(cell)
        cells.extend(extras[gid])
    matched = len(set(answers) - RELEASE_CELL_IDS)
    student_code = [
        nbg.cell_source(cell)
        for gid, cell in answers.items()
        if cell.get("cell_type") == "code" and gid in solution_ids
    ] + [
        nbg.cell_source(cell)
        for group in extras.values()
        for cell in group
        if cell.cell_type == "code"
    ]
    return Merged(cells, tampered, missing, unchanged, matched, student_code)


def keraslab_answers(assignment: Assignment, student_code) -> list[str]:
    """What the student's own code takes from keraslab among the names the exercise asks
    for (``keraslab.diagnostics.loss_noise`` for a ``loss_noise`` answer), for the gradebook:
    the sandbox mounts the package, so such an answer runs and scores."""
    wanted = assignment.names.solution if assignment.names else frozenset()
    found = set()
    for source in student_code:
        tree = syntax.parse_cell(source)
        if tree is None:
            continue
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keraslab"):
                for alias in node.names:
                    if alias.name == "*" or {alias.name, alias.asname} & wanted:
                        found.add(f"{node.module}.{alias.name}")
                    else:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("keraslab"):
                        aliases[alias.asname or alias.name.split(".")[0]] = (
                            alias.name if alias.asname else alias.name.split(".")[0]
                        )
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in wanted:
                dotted = _dotted(node.value)
                if dotted is None:
                    continue
                head, _, rest = dotted.partition(".")
                if head in aliases:
                    module = aliases[head] + (f".{rest}" if rest else "")
                    found.add(f"{module}.{node.attr}")
    return sorted(found)


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def is_other_notebook(assignment: Assignment, merged: Merged) -> bool:
    """A submission that shares none of the assignment's graded cells is another notebook."""
    return merged.matched == 0 and bool(set(assignment.released_sources) - RELEASE_CELL_IDS)


def _plain_cell(cell_type: str, source: str):
    if cell_type == "code":
        return nbformat.v4.new_code_cell(source)
    if cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(source)
    return nbformat.v4.new_raw_cell(source)


def plan(cells, names: asserts.Names | None = None) -> list[Step]:
    """Turns merged cells into steps: test cells split into visible and hidden parts.

    With ``names`` (`Assignment.names`), plain asserts of test parts are instrumented to be
    decided in the grader (`keraslab.grading.asserts`), and each part is cut after each such
    assert, so that a cell can end at the first one that fails.
    """
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
            line[:1].isspace() and nbg.is_marker_line(line, "hidden tests")
            for line in source.split("\n")
        )
        if indented_marker or not all(syntax.parse_cell(code) for _, code in parts):
            # Markers inside a block cannot be split on; run the cell whole and show nothing.
            lines = [line for line in source.split("\n") if not nbg.is_marker_line(line)]
            parts = [(True, "\n".join(lines))]
        if not parts:
            parts = [(False, "pass")]
        part = 0
        for hidden, code in parts:
            pieces = asserts.split(code, names) if names is not None else [(1, code)]
            for first_line, piece in pieces:
                nonce = secrets.token_hex(16)
                run, checks = piece, []
                if names is not None:
                    run, checks = asserts.instrument(piece, nonce, names)
                steps.append(
                    Step(
                        run + protocol.receipt_call(nonce),
                        "hidden" if hidden else "visible",
                        gid,
                        index,
                        nonce,
                        checks,
                        shown=piece,
                        first_line=first_line,
                        part=part,
                    )
                )
                part += 1
    return steps
