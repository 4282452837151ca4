"""Argument checks shared by keraslab's layers; each error names the argument and the value."""

from __future__ import annotations

import numbers

import keras


def check_rate(rate, name="rate"):
    """Checks a drop probability: a real number in [0, 1)."""
    if (
        isinstance(rate, bool)
        or not isinstance(rate, numbers.Real)
        or not 0.0 <= float(rate) < 1.0
    ):
        raise ValueError(
            f"{name} must be a float in the range [0, 1). Received: {name}={rate!r}"
        )
    return float(rate)


def check_positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ValueError(f"{name} must be a positive number. Received: {name}={value!r}")
    return float(value)


def check_axis(axis):
    """Checks a channels axis: an integer (its range is checked in `build`)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"axis must be an integer. Received: axis={axis!r}")
    return axis


def check_epsilon(epsilon):
    """Checks the small positive number added to a variance or a norm."""
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon!r}")
    return float(epsilon)


def check_size_pair(value, name):
    """Checks an int >= 1 or a pair of them; returns a pair."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in pair
    ):
        raise ValueError(
            f"{name} must be a positive integer or a pair of positive integers. "
            f"Received: {name}={value!r}"
        )
    return int(pair[0]), int(pair[1])


def check_rank(input_shape, allowed, layer_name, what="inputs"):
    rank = len(input_shape)
    if rank not in allowed:
        expected = " or ".join(str(r) for r in sorted(allowed))
        raise ValueError(
            f"{layer_name} expects {what} of rank {expected}. "
            f"Received: {what} with shape {tuple(input_shape)} (rank {rank})"
        )


def check_data_format(data_format):
    """Resolves None to Keras's global image data format and checks the value."""
    resolved = keras.config.image_data_format() if data_format is None else data_format
    if resolved not in ("channels_last", "channels_first"):
        raise ValueError(
            "data_format must be 'channels_last', 'channels_first' or None (the global "
            f"setting). Received: data_format={data_format!r}"
        )
    return resolved
