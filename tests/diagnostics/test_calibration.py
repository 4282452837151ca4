import numpy as np
import pytest

from keraslab.diagnostics import expected_calibration_error, reliability_diagram


def _ece_reference(labels, probs, num_bins):
    """ECE written directly from its definition, one bin at a time."""
    conf = probs.max(1)
    pred = probs.argmax(1)
    total = 0.0
    for b in range(num_bins):
        lo, hi = b / num_bins, (b + 1) / num_bins
        in_bin = (conf > lo) & (conf <= hi) if b else (conf >= lo) & (conf <= hi)
        if in_bin.any():
            total += in_bin.mean() * abs((pred[in_bin] == labels[in_bin]).mean() - conf[in_bin].mean())
    return total


@pytest.mark.parametrize("num_bins", [1, 10, 15])
def test_ece_matches_numpy_reference(num_bins):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2000, 5)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 5, 2000)
    assert expected_calibration_error(labels, probs, num_bins) == pytest.approx(_ece_reference(labels, probs, num_bins), abs=1e-12)


def test_one_hot_labels_accepted():
    probs = np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    labels = np.array([0, 0, 1])
    assert expected_calibration_error(np.eye(2)[labels], probs) == expected_calibration_error(labels, probs)


def test_calibrated_predictions_have_small_ece():
    """Labels drawn so that the top class is right with probability = confidence:
    the ECE is only sampling noise (n=20000, 10 bins: well below 0.02)."""
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.5, 1.0, 20000)
    probs = np.stack([conf, 1 - conf], 1)
    labels = np.where(rng.uniform(size=20000) < conf, 0, 1)
    assert expected_calibration_error(labels, probs, 10) < 0.02


def test_overconfident_model_ece_equals_gap():
    """Always 90% confident, right 60% of the time: ECE = 0.3 exactly."""
    probs = np.tile([0.9, 0.1], (10, 1))
    labels = np.array([0] * 6 + [1] * 4)
    d = reliability_diagram(labels, probs, num_bins=10)
    assert d["ece"] == pytest.approx(0.3)
    assert d["mce"] == pytest.approx(0.3)
    assert d["count"][8] == 10 and sum(d["count"]) == 10
    assert np.isnan(d["accuracy"][0])


def test_errors():
    with pytest.raises(ValueError, match="num_bins"):
        reliability_diagram([0], [[1.0, 0.0]], num_bins=0)
    with pytest.raises(ValueError, match="y_true"):
        reliability_diagram([0, 1], [[1.0, 0.0]])
