"""Calibration: expected calibration error and the data of a reliability diagram."""

from __future__ import annotations

import numpy as np


def _confidence_and_correct(y_true, probs):
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2:
        raise ValueError(f"`probs` must have shape (n, classes). Received: shape={probs.shape}")
    y_true = np.asarray(y_true)
    if y_true.ndim == 2:  # one-hot or soft labels: the arg-max class
        y_true = y_true.argmax(axis=1)
    if y_true.shape != (probs.shape[0],):
        raise ValueError(f"`y_true` must have {probs.shape[0]} labels. Received: shape={y_true.shape}")
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_true).astype(np.float64)
    return confidence, correct


def reliability_diagram(y_true, probs, num_bins=15):
    """Bins predictions by confidence and compares accuracy with confidence in each bin.

    Bins are equal-width on [0, 1]; bin `b` holds confidences in `(b/B, (b+1)/B]` (the
    first bin also holds exactly 0).

    Args:
        y_true: integer labels `(n,)` or one-hot labels `(n, classes)`.
        probs: predicted probabilities `(n, classes)`.
        num_bins: number of bins.

    Returns:
        A dict of lists (JSON-ready): `bin_edges` (B+1), `confidence` (mean confidence per
        bin, NaN when empty), `accuracy` (per bin, NaN when empty), `count` (per bin),
        plus `ece` and `mce` (maximum calibration error over non-empty bins).

    Example:
    >>> d = reliability_diagram([0, 1], [[0.9, 0.1], [0.8, 0.2]], num_bins=10)
    >>> round(d["ece"], 3)
    0.45
    """
    if not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
        raise ValueError(f"`num_bins` must be a positive integer. Received: num_bins={num_bins!r}")
    confidence, correct = _confidence_and_correct(y_true, probs)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    index = np.clip(np.ceil(confidence * num_bins).astype(int) - 1, 0, num_bins - 1)
    count = np.bincount(index, minlength=num_bins).astype(np.float64)
    sum_conf = np.bincount(index, weights=confidence, minlength=num_bins)
    sum_acc = np.bincount(index, weights=correct, minlength=num_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, sum_conf / count, np.nan)
        mean_acc = np.where(count > 0, sum_acc / count, np.nan)
    gaps = np.abs(mean_acc - mean_conf)
    n = max(len(confidence), 1)
    ece = float(np.nansum(count / n * gaps))
    mce = float(np.nanmax(gaps)) if (count > 0).any() else 0.0
    return {
        "bin_edges": edges.tolist(),
        "confidence": mean_conf.tolist(),
        "accuracy": mean_acc.tolist(),
        "count": count.astype(int).tolist(),
        "ece": ece,
        "mce": mce,
    }


def expected_calibration_error(y_true, probs, num_bins=15):
    """Expected calibration error: `sum_b (n_b / n) * |accuracy_b - confidence_b|`.

    Confidence is the top-class probability and accuracy whether the top class is right,
    binned as in `reliability_diagram`.

    Args:
        y_true: integer labels `(n,)` or one-hot labels `(n, classes)`.
        probs: predicted probabilities `(n, classes)`.
        num_bins: number of equal-width confidence bins.

    Returns:
        A Python float in [0, 1].

    Example:
    >>> expected_calibration_error([0, 0], [[1.0, 0.0], [1.0, 0.0]])
    0.0
    """
    return reliability_diagram(y_true, probs, num_bins)["ece"]
