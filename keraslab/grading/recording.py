"""Recording a student's results for a comparison made outside their kernel.

A hidden test cell computes the student's result on test inputs and hands it to `record`:

```python
### BEGIN HIDDEN TESTS
from keraslab.grading import record
x = np.random.default_rng(0).normal(size=(4, 5))
record("relu", relu(x), atol=1e-6, description="relu of a random 4x5 matrix")
### END HIDDEN TESTS
```

The optional ``description`` is what the student's feedback names the check by when it fails
("relu of a random 4x5 matrix: values differ"); a failing hidden check without one is named
by its number, never by its key, and never with the expected value or the size of the error.

`record` holds no expected value and decides nothing. It publishes the value as a display
output with its own MIME type; the grader reads it from the messages of the cell being
executed, so each record is tied to the test cell that produced it. The same cells run once
on the solution notebook in a clean kernel to give the reference values (and the tolerances:
those a student's kernel sends are ignored), and the grader compares the two in its own
process with `compare`. Outside a Jupyter kernel `record` does nothing.

Values may be numbers, booleans, strings, `None`, NumPy arrays, anything with ``numpy()`` or
``__array__`` (TensorFlow, JAX and Keras tensors), and lists, tuples and string-keyed dicts of
these. They travel as JSON with arrays in base64: decoding never runs code (no pickle).
"""

from __future__ import annotations

import base64
import math

RECORD_MIME = "application/vnd.keraslab.record+json"
RECEIPT_MIME = "application/vnd.keraslab.receipt+json"
DEFAULT_ATOL = 1e-6
DEFAULT_RTOL = 1e-5
MAX_DEPTH = 32
_NUMERIC_KINDS = "biufc"


def encode(value, _depth: int = 0):
    """Turns a result into JSON-safe data; raises `TypeError` for values it cannot compare."""
    if _depth > MAX_DEPTH:
        raise TypeError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None:
        return {"t": "none"}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, (list, tuple)):
        return {"t": "list", "v": [encode(item, _depth + 1) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("dict keys must be strings to be recorded")
        return {"t": "dict", "v": {key: encode(item, _depth + 1) for key, item in value.items()}}
    import numpy as np

    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except Exception as error:
        raise TypeError(f"cannot record a value of type {type(value).__name__}: {error}") from None
    if array.dtype.kind == "U":
        return {"t": "list", "v": [encode(item, _depth + 1) for item in array.tolist()]}
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"cannot record a value of type {type(value).__name__} (dtype {array.dtype}); "
            "record numbers, arrays, strings or lists of them"
        )
    little_endian = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "t": "array",
        "dtype": little_endian.dtype.str,
        "shape": list(little_endian.shape),
        "data": base64.b64encode(little_endian.tobytes()).decode("ascii"),
    }


def decode(data, _depth: int = 0):
    """Inverse of `encode` for data from an untrusted kernel; raises `ValueError` if malformed."""
    import numpy as np

    if _depth > MAX_DEPTH or not isinstance(data, dict):
        raise ValueError("malformed record")
    kind = data.get("t")
    if kind == "none":
        return None
    if kind == "str" and isinstance(data.get("v"), str):
        return data["v"]
    if kind == "list" and isinstance(data.get("v"), list):
        return [decode(item, _depth + 1) for item in data["v"]]
    if kind == "dict" and isinstance(data.get("v"), dict):
        return {str(key): decode(item, _depth + 1) for key, item in data["v"].items()}
    if kind == "array":
        dtype = np.dtype(str(data.get("dtype")))
        shape = data.get("shape")
        if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject:
            raise ValueError(f"record has unsupported dtype {dtype}")
        if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ):
            raise ValueError("record has a malformed shape")
        raw = base64.b64decode(str(data.get("data", "")), validate=True)
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise ValueError("record data does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape)
    raise ValueError("malformed record")


def _publish(mime: str, payload: dict, text: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import publish_display_data
    except ImportError:
        return
    if get_ipython() is None:
        return
    publish_display_data({mime: payload, "text/plain": text})


def record(
    key: str,
    value,
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    description: str | None = None,
) -> None:
    """Records a result under ``key`` for the grader to compare with the reference solution's.

    Args:
        key: names the result within its test cell, e.g. ``"relu"``.
        value: the student's result on the test inputs (see the module docstring for types).
        atol: absolute tolerance for numbers. Only the value recorded by the solution counts.
        rtol: relative tolerance for numbers, as in `numpy.allclose`.
        description: one sentence for the student's feedback: what quantity, on what kind of
            input (never the expected value). Only the solution's counts.

    Raises:
        TypeError: ``key`` or ``description`` is not a string, or ``value`` cannot be recorded.
    """
    if not isinstance(key, str) or not key:
        raise TypeError(f"record key must be a non-empty string, got {key!r}")
    if description is not None and not isinstance(description, str):
        raise TypeError(f"record description must be a string, got {description!r}")
    payload = {"key": key, "value": encode(value), "atol": float(atol), "rtol": float(rtol)}
    if description:
        payload["description"] = description
    _publish(RECORD_MIME, payload, f"<recorded {key!r} for grading>")


def receipt(nonce: str) -> None:
    """Marks the end of a test cell part; the grader appends this call with a fresh nonce."""
    _publish(RECEIPT_MIME, {"nonce": str(nonce)}, "")


def _describe_difference(student, reference, atol, rtol, detail=True) -> str | None:
    """`None` when ``student`` matches ``reference``, else a short reason without the reference."""
    import numpy as np

    if isinstance(reference, np.ndarray):
        if not isinstance(student, np.ndarray):
            return f"is a {type(student).__name__}, not an array of numbers"
        if student.shape != reference.shape:
            return f"has shape {student.shape}, which is not the expected shape"
        if reference.dtype.kind == "b":
            if student.dtype.kind != "b" or not np.array_equal(student, reference):
                return "boolean values differ"
            return None
        if reference.size == 0:
            return None
        with np.errstate(all="ignore"):
            is_complex = "c" in (student.dtype.kind, reference.dtype.kind)
            s = student.astype(np.complex128 if is_complex else np.float64)
            r = reference.astype(s.dtype)
            if np.allclose(s, r, atol=atol, rtol=rtol, equal_nan=True):
                return None
            difference = np.abs(s - r)
        finite = difference[np.isfinite(difference)]
        if not detail:
            return "values differ"
        largest = f"{finite.max():.3g}" if finite.size else "nan/inf"
        return f"values differ (largest absolute difference {largest})"
    if isinstance(reference, list):
        if not isinstance(student, list):
            return f"is a {type(student).__name__}, not a sequence"
        if len(student) != len(reference):
            return f"has {len(student)} items, not the expected number"
        for index, (s, r) in enumerate(zip(student, reference, strict=True)):
            reason = _describe_difference(s, r, atol, rtol, detail)
            if reason:
                return f"item {index} {reason}"
        return None
    if isinstance(reference, dict):
        if not isinstance(student, dict) or set(student) != set(reference):
            return "has different keys"
        for key in sorted(reference):
            reason = _describe_difference(student[key], reference[key], atol, rtol, detail)
            if reason:
                return f"[{key!r}] {reason}"
        return None
    if student != reference or type(student) is not type(reference):
        return "differs"
    return None


def compare(student, reference, *, atol: float, rtol: float, detail: bool = True) -> str | None:
    """Compares two decoded values; returns `None` if they match, else a reason.

    ``detail=False`` leaves out the size of a numeric difference (for hidden checks: with a
    scalar, the student's value and the difference would give the expected value away).
    """
    return _describe_difference(student, reference, atol, rtol, detail)


# Exact values, for plain asserts decided in the grader (`keraslab.grading.asserts`): there an
# int must stay an int and a tuple a tuple, or ``f(x) == (1, 2)`` would change its answer.
LEAF_MIME = "application/vnd.keraslab.leaf+json"
_EXACT_SEQUENCES = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}


def encode_exact(value, _depth: int = 0):
    """Encodes a value keeping its Python type; raises `TypeError` for anything else.

    Plain values (None, bool, int, float, complex, str, bytes), lists, tuples, sets, dicts of
    them, NumPy arrays and scalars; tensors (``numpy()`` / ``__array__``) become arrays.
    """
    if _depth > MAX_DEPTH:
        raise TypeError(f"value nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": value.hex()}
    if kind is complex:
        return {"t": "complex", "re": value.real.hex(), "im": value.imag.hex()}
    if kind is str:
        return {"t": "str", "v": value}
    if kind is bytes:
        return {"t": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if kind in _EXACT_SEQUENCES:
        items = [encode_exact(item, _depth + 1) for item in value]
        return {"t": _EXACT_SEQUENCES[kind], "v": items}
    if kind is dict:
        pairs = [
            [encode_exact(k, _depth + 1), encode_exact(v, _depth + 1)] for k, v in value.items()
        ]
        return {"t": "dict", "v": pairs}
    import numpy as np

    if isinstance(value, np.generic):
        return {"t": "npscalar", "v": _exact_array(np.asarray(value))}
    if isinstance(value, np.ndarray) and kind is np.ndarray:
        return {"t": "ndarray", "v": _exact_array(value)}
    if hasattr(value, "numpy") and callable(value.numpy):
        return {"t": "ndarray", "v": _exact_array(np.asarray(value.numpy()))}
    if hasattr(value, "__array__") and not isinstance(value, np.ndarray):
        return {"t": "ndarray", "v": _exact_array(np.asarray(value))}
    raise TypeError(f"a {kind.__name__} cannot be sent to the grader")


def _exact_array(array):
    if array.dtype.kind not in _NUMERIC_KINDS or array.dtype.hasobject:
        raise TypeError(f"an array of dtype {array.dtype} cannot be sent to the grader")
    # Flat, with the shape apart: `encode` would give a 0-d array one dimension.
    return {"shape": list(array.shape), "flat": encode(array.reshape(-1))}


def decode_exact(data, _depth: int = 0):
    """Inverse of `encode_exact` for data from an untrusted kernel; `ValueError` if malformed."""
    if _depth > MAX_DEPTH or not isinstance(data, dict):
        raise ValueError("malformed value")
    kind, item = data.get("t"), data.get("v")
    if kind == "none":
        return None
    if kind == "bool" and isinstance(item, bool):
        return item
    if kind == "int" and isinstance(item, str) and len(item) <= 4300:
        return int(item)
    if kind == "float" and isinstance(item, str):
        return float.fromhex(item)
    if kind == "complex":
        return complex(float.fromhex(str(data.get("re"))), float.fromhex(str(data.get("im"))))
    if kind == "str" and isinstance(item, str):
        return item
    if kind == "bytes" and isinstance(item, str):
        return base64.b64decode(item, validate=True)
    sequences = {name: kind_ for kind_, name in _EXACT_SEQUENCES.items()}
    if kind in sequences and isinstance(item, list):
        return sequences[kind](decode_exact(x, _depth + 1) for x in item)
    if kind == "dict" and isinstance(item, list):
        pairs = []
        for pair in item:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError("malformed value")
            pairs.append((decode_exact(pair[0], _depth + 1), decode_exact(pair[1], _depth + 1)))
        return dict(pairs)
    if kind in ("ndarray", "npscalar") and isinstance(item, dict):
        flat, shape = decode(item.get("flat"), _depth + 1), item.get("shape")
        if not hasattr(flat, "dtype") or not isinstance(shape, list):
            raise ValueError("malformed value")
        try:
            array = flat.reshape([int(n) for n in shape])
        except (TypeError, ValueError) as error:
            raise ValueError(f"malformed value: {error}") from None
        return array[()] if kind == "npscalar" else array.copy()
    raise ValueError("malformed value")


def keep(nonce: str, index: int, value):
    """Sends one value of a plain assert to the grader and returns it unchanged.

    The grader rewrites ``assert f(x) == y`` so that ``f(x)`` goes through this call; it
    decides the assert itself on the values kept (see `keraslab.grading.asserts`).
    """
    try:
        payload = {"nonce": str(nonce), "index": int(index), "value": encode_exact(value)}
    except (TypeError, ValueError, OverflowError):
        payload = {"nonce": str(nonce), "index": int(index), "unrecordable": True}
    _publish(LEAF_MIME, payload, "")
    return value
