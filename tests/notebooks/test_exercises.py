"""The course's exercise notebooks: they run, score full marks, and their releases score 0.

Every solution notebook in ``solutions/`` is graded twice against itself with the real grader
(`keraslab.grading.grade`): the solution, run top to bottom in a fresh sandboxed kernel, must
score every point against the reference the grader computes in another fresh kernel (so its
hidden tests are deterministic), raise nothing and print nothing on stderr in its test cells;
the released student notebook, with its ``raise NotImplementedError()`` stubs unanswered,
must score 0 on every question with status ``ok``. Kernel start-up and the TensorFlow import
dominate (about 10 s each on 2 cores), so each notebook is run exactly three times and two
notebooks are graded at once. A lab, which trains models, is run twice: its reference run is
also scored as the solution's submission.

Sync of ``exercises/`` with a fresh release and the leak scan are in
``tests/grading/test_release.py``; here are only the course-specific structure checks.

``KERASLAB_NOTEBOOKS=GLOB`` (e.g. ``lab2*``) grades only the matching notebooks, for a quick
check while writing one.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import fnmatch
import os
import shutil
import traceback
from pathlib import Path

import pytest

from keraslab.grading import notebook as nbg
from keraslab.grading import release as releasing
from keraslab.grading import sandbox as sandboxing
from keraslab.grading.assignment import Assignment, GradingSetupError, merge, plan
from keraslab.grading.execute import run_notebook
from keraslab.grading.grade import grade_submission
from keraslab.grading.gradebook import SubmissionResult
from keraslab.grading.reference import compute_reference, run_solution
from keraslab.grading.scoring import cell_ender, score
from tests.grading.fixtures import SANDBOX

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted(
    p
    for p in (REPO / "solutions").glob("*.ipynb")
    if fnmatch.fnmatch(p.name, os.environ.get("KERASLAB_NOTEBOOKS", "*"))
)
LABS = [p for p in SOLUTIONS if p.name.startswith("lab")]
# The from-scratch exercises share one layout, checked by `test_notebook_structure`.
FROM_SCRATCH = [
    p
    for p in SOLUTIONS
    if p.name
    in {
        "01_initialization.ipynb",
        "02_lsuv.ipynb",
        "03_batchnorm.ipynb",
        "04_layer_instance_group_norm.ipynb",
        "05_weight_spectral_norm.ipynb",
        "06_dropout_dropconnect.ipynb",
        "07_dropblock_stochastic_depth.ipynb",
        "08_mixup_cutmix_penalties.ipynb",
    }
]
# A lab's training cell runs a few small models in FAST mode: it gets more time than a test.
LIMITS = sandboxing.Limits(cell_timeout=240, notebook_timeout=420)
JOBS = int(os.environ.get("KERASLAB_NOTEBOOK_JOBS", "2"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclasses.dataclass
class Outcome:
    name: str
    max_points: float
    solution: list  # QuestionResult per autograded question
    solution_steps: list  # (Step, StepResult) of the solution's run
    released: SubmissionResult | None = None
    error: str | None = None


def _grade_one(path: Path, scratch: Path) -> Outcome:
    sandbox = SANDBOX
    lab = path in LABS
    try:
        assignment = Assignment.from_path(path)
        # A lab trains models for a minute: its reference run is also scored as the solution's
        # submission (its hidden tests are pure functions, deterministic by construction).
        run = run_solution(assignment, sandbox=sandbox, limits=LIMITS) if lab else None
        reference = compute_reference(
            assignment, cache_dir=None, sandbox=sandbox, limits=LIMITS, run=run
        )
    except GradingSetupError as error:
        return Outcome(path.name, 0.0, [], [], error=str(error))
    if lab:
        steps, execution = run
    else:
        # The solution as a student would submit it: run top to bottom, scored like any submission.
        raw = path.read_bytes()
        merged = merge(assignment, nbg.parse_notebook(raw.decode("utf-8")).cells)
        steps = plan(merged.cells, assignment.names)
        execution = run_notebook(
            steps,
            raw,
            path.name,
            sandbox=sandbox,
            limits=LIMITS,
            files=assignment.files,
            ends_cell=cell_ender(assignment, reference),
        )
    solution = score(assignment, steps, execution, reference)
    # The student's copy, unanswered.
    released = scratch / path.stem / path.name
    released.parent.mkdir(parents=True)
    nbg.write_notebook(releasing.release_notebook(nbg.read_notebook(path), path.name), released)
    result = grade_submission(
        assignment, reference, released, "unanswered", sandbox=sandbox, limits=LIMITS
    )
    return Outcome(
        path.name,
        assignment.max_points,
        solution,
        list(zip(steps, execution.results, strict=True)),
        released=result,
    )


def _grade_one_or_say_why(path: Path, scratch: Path) -> Outcome:
    try:
        return _grade_one(path, scratch)
    except Exception:  # one notebook's crash fails that notebook's tests, not all of them
        return Outcome(path.name, 0.0, [], [], error=traceback.format_exc())


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    if not SOLUTIONS:
        pytest.skip("no solution notebooks")
    scratch = tmp_path_factory.mktemp("exercises")
    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        futures = {path.name: pool.submit(_grade_one_or_say_why, path, scratch) for path in SOLUTIONS}
        results = {name: future.result() for name, future in futures.items()}
    shutil.rmtree(scratch, ignore_errors=True)
    return results


def _ids(paths):
    return [p.name for p in paths]


@pytest.mark.parametrize("name", _ids(SOLUTIONS))
def test_solution_runs_cleanly_and_scores_full_marks(outcomes, name):
    outcome = outcomes[name]
    assert outcome.error is None, outcome.error
    failing = [
        f"{step.grade_id or step.cell_index} ({step.kind}): {result.status} "
        f"{result.error_name or ''} {result.error_value or ''}"
        for step, result in outcome.solution_steps
        if result.status != "ok"
    ]
    assert failing == [], f"{name}: cells that did not run cleanly: {failing}"
    lost = {q.grade_id: q.reason for q in outcome.solution if q.points != q.max_points}
    assert lost == {}, f"{name}: questions without full marks: {lost}"
    assert sum(q.points for q in outcome.solution) == outcome.max_points > 0


@pytest.mark.parametrize("name", _ids(SOLUTIONS))
def test_solution_test_cells_print_nothing_on_stderr(outcomes, name):
    assert outcomes[name].error is None, outcomes[name].error
    noisy = {}
    for step, result in outcomes[name].solution_steps:
        if step.kind == "cell":
            continue
        text = "".join(
            str(o.get("text", ""))
            for o in result.outputs
            if o.get("output_type") == "stream" and o.get("name") == "stderr"
        )
        if text.strip():
            noisy[f"{step.grade_id} ({step.kind})"] = text[:300]
    assert noisy == {}, f"{name}: test cells wrote to stderr: {noisy}"


@pytest.mark.parametrize("name", _ids(SOLUTIONS))
def test_unanswered_release_scores_zero_without_crashing(outcomes, name):
    assert outcomes[name].error is None, outcomes[name].error
    result = outcomes[name].released
    assert result.status == "ok", f"{name}: {result.status}: {result.message}"
    assert result.questions, f"{name}: no question was graded"
    scored = {q.grade_id: q.points for q in result.questions if q.points}
    assert scored == {}, f"{name}: the unanswered notebook scored points: {scored}"
    if name in {p.name for p in FROM_SCRATCH}:  # each test fails at the stub it exercises
        for question in result.questions:
            assert "NotImplementedError" in question.reason, (
                f"{name}: {question.grade_id} failed for another reason: {question.reason}"
            )
    assert result.tampered == [] and result.missing == []


def _opening_cells(path, title):
    """Checks the opening every course notebook shares and returns its cells: a title with
    goals and time, a FAST parameters cell students can edit, a locked setup whose one library
    call silences TensorFlow before importing it."""
    nb = nbg.read_notebook(path)
    nbg.validate(nb, path.name)
    cells = nb.cells
    intro = nbg.cell_source(cells[0])
    assert cells[0].cell_type == "markdown" and intro.startswith(title)
    assert "Learning goals" in intro and "Estimated time" in intro
    parameters = cells[1]
    assert parameters.cell_type == "code" and "FAST = True" in nbg.cell_source(parameters)
    assert not nbg.is_locked(parameters), "Colab users must be able to set FAST = False"
    setup = cells[2]
    source = nbg.cell_source(setup)
    assert nbg.is_locked(setup) and nbg.grade_id(setup) == "setup"
    # One library call quiets TensorFlow and seeds everything, before TensorFlow is imported.
    assert source.index("keraslab.session.start(seed=0)") < source.index("import keras\n")
    assert "absl" not in source and "TF_CPP_MIN_LOG_LEVEL" not in source, "the call does that"
    assert "from keraslab.grading import record" in source
    return cells


@pytest.mark.parametrize("path", FROM_SCRATCH, ids=_ids(FROM_SCRATCH))
def test_notebook_structure(path):
    """Goals and time up front, a FAST parameters cell, a locked quiet setup, graded questions."""
    cells = _opening_cells(path, "# Exercise")

    tests = [c for c in cells if nbg.is_test(c)]
    answers = [c for c in cells if nbg.is_solution(c) and c.cell_type == "code"]
    written = [c for c in cells if nbg.is_manually_graded(c) and c.cell_type == "markdown"]
    assert tests and len(answers) == len(tests), "one test cell after each exercise cell"
    assert len(written) >= 2, "a few short written answers graded by hand"
    for index, cell in enumerate(cells):
        if nbg.is_solution(cell) and cell.cell_type == "code":
            following = cells[index + 1 : index + 3]
            assert any(nbg.is_test(c) for c in following), f"{nbg.grade_id(cell)}: no test follows"
    for cell in tests:
        parts = nbg.split_hidden_tests(nbg.cell_source(cell))
        visible = [code for hidden, code in parts if not hidden]
        hidden = [code for hidden, code in parts if hidden]
        gid = nbg.grade_id(cell)
        assert visible and "assert " in visible[0], f"{gid}: needs visible asserts"
        assert hidden and "record(" in hidden[0], f"{gid}: needs hidden tests that record"
        assert "default_rng(" in hidden[0], f"{gid}: hidden inputs should be freshly generated"
        assert nbg.points(cell) > 0


@pytest.mark.parametrize("path", FROM_SCRATCH, ids=_ids(FROM_SCRATCH))
def test_released_notebook_opens_in_colab_and_stubs_every_answer(path):
    released = nbg.read_notebook(REPO / "exercises" / path.name)
    badge, install = released.cells[:2]
    assert nbg.cell_source(badge).endswith(f"/exercises/{path.name})")
    assert "pip" in nbg.cell_source(install) and "google.colab" in nbg.cell_source(install)
    for cell in released.cells:
        source = nbg.cell_source(cell)
        if nbg.is_solution(cell) and cell.cell_type == "code":
            assert "raise NotImplementedError()" in source
        if nbg.is_test(cell):
            assert "record(" not in source, f"{nbg.grade_id(cell)}: hidden tests left in"


@pytest.mark.parametrize("path", LABS, ids=_ids(LABS))
def test_lab_structure(path):
    """A lab: goals and time up front, FAST parameters, a locked quiet setup, autograded
    helpers, one training cell over `keraslab.train`, and analysis questions graded by hand,
    each with a mark scheme for the grader."""
    cells = _opening_cells(path, "# Lab ")
    code = "\n".join(nbg.cell_source(c) for c in cells if c.cell_type == "code")
    assert "run_lab(" in code and "from keraslab" in code, "labs train through keraslab.train"
    tests = [c for c in cells if nbg.is_test(c)]
    assert tests and all(nbg.points(c) > 0 for c in tests)
    for cell in tests:
        parts = nbg.split_hidden_tests(nbg.cell_source(cell))
        assert any(hidden and "record(" in code for hidden, code in parts), nbg.grade_id(cell)
    written = [c for c in cells if nbg.is_manually_graded(c) and c.cell_type == "markdown"]
    assert len(written) >= 3, "a lab ends with written analysis questions"
    for cell in written:
        assert nbg.points(cell) > 0
        assert nbg.BEGIN_MARK_SCHEME in nbg.cell_source(cell), f"{nbg.grade_id(cell)}: no mark scheme"


@pytest.mark.parametrize("path", LABS, ids=_ids(LABS))
def test_released_lab_hides_mark_schemes_and_opens_in_colab(path):
    released = nbg.read_notebook(REPO / "exercises" / path.name)
    assert nbg.cell_source(released.cells[0]).endswith(f"/exercises/{path.name})")
    text = "\n".join(nbg.cell_source(c) for c in released.cells)
    assert nbg.BEGIN_MARK_SCHEME not in text and nbg.BEGIN_SOLUTION not in text
    assert "FAST = True" in text
