"""The record format: round trips, hostile payloads, and comparisons."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from keraslab.grading import notebook as nbg
from keraslab.grading import record
from keraslab.grading.recording import compare, decode, encode


@pytest.mark.parametrize(
    "value",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([True, False]),
        3,
        2.5,
        "text",
        None,
        [1, (2.0, "x")],
        {"a": np.ones(2), "b": [None]},
        np.array(np.nan),
        np.arange(4, dtype=">i4"),
    ],
)
def test_encode_decode_round_trip(value):
    decoded = decode(encode(value))
    assert compare(decoded, decode(encode(value)), atol=0, rtol=0) is None


def test_record_outside_a_kernel_does_nothing():
    assert record("q", np.ones(3)) is None


def test_unrecordable_values_raise_type_error():
    with pytest.raises(TypeError, match="cannot record a value of type object"):
        encode(object())
    with pytest.raises(TypeError, match="dict keys must be strings"):
        encode({1: 2})
    with pytest.raises(TypeError, match="record key must be a non-empty string, got 3"):
        record(3, 1.0)


@pytest.mark.parametrize(
    "payload",
    [
        {"t": "array", "dtype": "|O", "shape": [1], "data": ""},
        {"t": "array", "dtype": "<f8", "shape": [3], "data": base64.b64encode(b"x" * 8).decode()},
        {"t": "array", "dtype": "<f8", "shape": [-1], "data": ""},
        {"t": "pickle", "v": "gASVAAAAAAAAAAB9lC4="},
        "not a dict",
    ],
)
def test_decode_rejects_malformed_or_unsafe_payloads(payload):
    with pytest.raises((ValueError, TypeError)):
        decode(payload)


def test_compare_uses_the_given_tolerances_and_explains_differences():
    reference = decode(encode(np.array([1.0, 2.0])))
    close = decode(encode(np.array([1.0, 2.0 + 1e-7])))
    far = decode(encode(np.array([1.0, 2.5])))
    assert compare(close, reference, atol=1e-6, rtol=0) is None
    assert compare(far, reference, atol=1e-6, rtol=0) == (
        "values differ (largest absolute difference 0.5)"
    )
    assert "shape" in compare(decode(encode(np.ones(3))), reference, atol=1, rtol=1)
    assert compare(decode(encode("a")), decode(encode("b")), atol=1, rtol=1) == "differs"
    nan = decode(encode(np.array([np.nan])))
    assert compare(nan, nan, atol=0, rtol=0) is None
    assert compare(decode(encode(np.array([0.0]))), nan, atol=1e9, rtol=0) is not None


def test_secret_text_redaction_ignores_generic_lines():
    import nbformat

    cell = nbformat.v4.new_code_cell(
        "### BEGIN SOLUTION\nimport numpy as np\nx = 1\nreturn_value = compute_the_answer(x)\n"
        "### END SOLUTION"
    )
    cell.metadata["nbgrader"] = {"solution": True, "grade_id": "a", "schema_version": 3}
    secret = nbg.secret_text(nbformat.v4.new_notebook(cells=[cell]))
    assert secret.lines == {"return_value = compute_the_answer(x)"}
    assert secret.redact("a\nreturn_value = compute_the_answer(x)\n") == "a\n[redacted]\n"
