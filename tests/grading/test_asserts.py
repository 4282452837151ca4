"""Plain asserts decided in the grader: instrumentation and decisions, without a kernel.

The values a kernel would send are made here with `recording.keep`'s own encoding, so the
checks see exactly what they would see from a real kernel.
"""

from __future__ import annotations

import builtins

import numpy as np

from keraslab.grading import asserts, recording

NONCE = "0123456789abcdef" * 2
NAMES = asserts.Names(
    frozenset({"relu", "clip_norm", "RESULT"}), frozenset({"np"}), ["import numpy as np"]
)


def _kept(values: dict) -> asserts.Kept:
    outputs = [
        {
            "output_type": "display_data",
            "data": {
                recording.LEAF_MIME: {
                    "nonce": NONCE,
                    "index": index,
                    "value": recording.encode_exact(value),
                }
            },
        }
        for index, value in values.items()
    ]
    return asserts.kept_values(outputs, NONCE)


def _decide(source: str, values: dict) -> str:
    code, checks = asserts.instrument(source, NONCE, NAMES)
    assert len(checks) == 1, code
    return asserts.decide(checks[0], _kept(values), asserts.GraderScope(NAMES.imports))


def test_the_kernel_runs_the_test_as_written_with_its_values_kept():
    source = "_v = np.array([3.0, 4.0])\nassert np.allclose(clip_norm(_v, 1.0), [0.6, 0.8]), 'x'"
    code, checks = asserts.instrument(source, NONCE, NAMES)
    assert code.splitlines()[0] == "_v = np.array([3.0, 4.0])"
    assert f"keep('{NONCE}', 0, clip_norm(_v, 1.0))" in code and code.endswith(", 'x'")
    assert [c.expression for c in checks] == ["np.allclose(__keraslab_leaves__[0], [0.6, 0.8])"]
    # The rewritten code computes the same thing (keep returns its value).
    namespace = {"np": np, "clip_norm": lambda v, m: v * (m / np.linalg.norm(v))}
    exec(compile(code, "<test>", "exec"), namespace)


def test_patched_builtins_and_numpy_in_the_kernel_change_nothing_in_the_grader():
    # In the kernel `abs` and `np.allclose` may be anything; the grader uses its own.
    assert _decide("assert abs(relu(-2.0)) < 1e-9", {0: 2.0}) == asserts.FAIL
    assert _decide("assert abs(relu(-2.0)) < 1e-9", {0: 0.0}) == asserts.PASS
    assert _decide("assert np.allclose(relu(x), [0, 1])", {0: [0, 2], 1: None}) == asserts.FAIL
    assert builtins.abs(-1) == 1


def test_values_keep_their_exact_types():
    assert _decide("assert relu(1) == (1, 2)", {0: [1, 2]}) == asserts.FAIL
    assert _decide("assert relu(1) == (1, 2)", {0: (1, 2)}) == asserts.PASS
    assert _decide("assert type(RESULT) is int", {0: 3}) == asserts.PASS
    assert _decide("assert type(RESULT) is int", {0: 3.0}) == asserts.FAIL


def test_assert_functions_are_checks_that_must_not_raise():
    source = "np.testing.assert_allclose(relu(np.array([1.0, -2.0])), [1.0, 0.0])"
    assert _decide(source, {0: np.array([1.0, 0.0])}) == asserts.PASS
    assert _decide(source, {0: np.array([1.0, -2.0])}) == asserts.FAIL


def test_missing_duplicated_or_unsendable_values():
    code, (check,) = asserts.instrument("assert relu(1) == 1", NONCE, NAMES)
    scope = asserts.GraderScope(NAMES.imports)
    assert asserts.decide(check, _kept({}), scope) == asserts.FAIL  # never sent
    payload = {"nonce": NONCE, "index": 0, "value": recording.encode_exact(1)}
    twice = [{"data": {recording.LEAF_MIME: payload}}] * 2
    assert asserts.decide(check, asserts.kept_values(twice, NONCE), scope) == asserts.FAIL
    other = [{"data": {recording.LEAF_MIME: {**payload, "nonce": "f" * 32}}}]
    assert asserts.decide(check, asserts.kept_values(other, NONCE), scope) == asserts.FAIL
    unsendable = [{"data": {recording.LEAF_MIME: {**payload, "unrecordable": True}}}]
    unsendable[0]["data"][recording.LEAF_MIME].pop("value")
    assert asserts.decide(check, asserts.kept_values(unsendable, NONCE), scope) == (
        asserts.UNDECIDED
    )


def test_statements_the_grader_cannot_replay_are_left_to_the_kernel():
    for source in (
        "assert all(relu(i) >= 0 for i in range(3))",
        "for i in range(3):\n    assert relu(i) >= 0",
        "x = 1; assert relu(x) == 1",
        "%time assert relu(1) == 1",
        "assert np.allclose(1.0, 1.0)",  # nothing of the student's in it
    ):
        assert asserts.instrument(source, NONCE, NAMES) == (source, []), source


def test_keep_returns_its_value_and_marks_what_cannot_be_sent():
    marker = object()
    assert recording.keep(NONCE, 0, marker) is marker
    for value in (None, True, 7, 2.5, 1j, "s", b"b", (1, [2, {3}]), {"a": (1,)}, np.int8(3)):
        decoded = recording.decode_exact(recording.encode_exact(value))
        assert type(decoded) is type(value) and decoded == value
    array = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(recording.decode_exact(recording.encode_exact(array)), array)


def test_answers_taken_from_keraslab_itself_are_flagged():
    from pathlib import Path

    from keraslab.grading import assignment as assignments

    lab2 = Path(__file__).resolve().parents[2] / "solutions" / "lab2_normalization.ipynb"
    assignment = assignments.Assignment.from_path(lab2)
    assert "loss_noise" in assignment.names.solution
    borrowed = [
        "from keraslab.diagnostics import loss_noise",
        "import keraslab.diagnostics as kd\nnoise = kd.loss_noise",
        "from keraslab.diagnostics.callbacks import loss_noise as mine\nloss_noise = mine",
    ]
    assert assignments.keraslab_answers(assignment, borrowed) == [
        "keraslab.diagnostics.callbacks.loss_noise",
        "keraslab.diagnostics.loss_noise",
    ]
    own = ["import numpy as np\ndef loss_noise(losses):\n    return np.std(np.diff(losses))"]
    assert assignments.keraslab_answers(assignment, own) == []


def test_a_part_is_cut_after_each_assert_the_grader_decides():
    code = "x = 1\nassert relu(x) == 1\nprint(x)\nassert relu(\n    x\n) == 1\n# done"
    assert asserts.split(code, NAMES) == [
        (1, "x = 1\nassert relu(x) == 1"),
        (3, "print(x)\nassert relu(\n    x\n) == 1"),
    ]
    assert asserts.split("%time x = 1", NAMES) == [(1, "%time x = 1")]


def test_instrumented_code_keeps_every_line_in_its_place():
    code = "assert relu(\n    x\n) == 1\nprint(x)"
    instrumented, (check,) = asserts.instrument(code, NONCE, NAMES)
    lines = instrumented.split("\n")
    assert len(lines) == 4 and lines[1:] == ["", "", "print(x)"]
    assert check.line == 1
