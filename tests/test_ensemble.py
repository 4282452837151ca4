import keras
import numpy as np
import pytest

from keraslab import ensemble


def _noisy_members(y, n_classes, accuracies, rng):
    """Probability arrays whose top class is right with the given accuracies, errors independent."""
    members = []
    for acc in accuracies:
        wrong = rng.uniform(size=len(y)) > acc
        top = np.where(wrong, (y + rng.integers(1, n_classes, len(y))) % n_classes, y)
        p = rng.dirichlet(np.ones(n_classes), len(y)) * 0.4
        p[np.arange(len(y)), top] += 0.6
        members.append(p)
    return members


def test_average_equals_numpy_mean_and_weights():
    rng = np.random.default_rng(0)
    ps = [rng.dirichlet(np.ones(4), 10) for _ in range(3)]
    np.testing.assert_allclose(ensemble.average(ps), np.mean(ps, axis=0))
    np.testing.assert_allclose(ensemble.average(ps, weights=[1, 0, 0]), ps[0])
    with pytest.raises(ValueError, match="weights"):
        ensemble.average(ps, weights=[1, -1, 0])


def test_majority_vote_counts_and_breaks_ties_by_probability():
    a = np.array([[0.6, 0.4, 0.0], [0.1, 0.9, 0.0]])
    b = np.array([[0.0, 0.45, 0.55], [0.1, 0.0, 0.9]])
    c = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    assert ensemble.majority_vote([a, b, c]).tolist() == [0, 2]
    # Two members, one vote each (class 0 and class 2): the larger summed probability wins.
    d = np.array([[0.0, 0.3, 0.7]])
    assert ensemble.majority_vote([a[:1], d]).tolist() == [2]  # 0.7 > 0.6
    assert ensemble.majority_vote([a[:1], b[:1]]).tolist() == [0]  # 0.6 > 0.55

def test_independent_errors_make_ensembles_beat_members():
    """Five members at 60% accuracy with independent errors over 5 classes: averaging and
    voting are clearly better (binomial argument: > 0.7 with n=3000)."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 3000)
    members = _noisy_members(y, 5, [0.6] * 5, rng)
    result = ensemble.evaluate(members, y)
    assert result["best_member"] < 0.63
    assert result["average"] > 0.7 and result["vote"] > 0.7
    assert result["gain_over_best"] > 0.05


def test_stacking_learns_to_ignore_a_useless_member():
    rng = np.random.default_rng(2)
    y_hold, y_test = rng.integers(0, 3, 1500), rng.integers(0, 3, 1500)
    good_h, bad_h = _noisy_members(y_hold, 3, [0.85, 0.0], rng)  # bad: always wrong
    good_t, bad_t = _noisy_members(y_test, 3, [0.85, 0.0], rng)
    result = ensemble.evaluate([good_t, bad_t], y_test, holdout=([good_h, bad_h], y_hold))
    assert result["stacking"] >= result["members"]["member_0"] - 0.04  # linear combiner, not argmax
    assert result["stacking"] > result["average"]


def test_models_as_members():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    x = np.random.default_rng(3).normal(size=(8, 3)).astype("float32")
    p = ensemble.member_probabilities([model, model.predict(x, verbose=0)], x)
    np.testing.assert_allclose(p[0], p[1], rtol=1e-5)
    with pytest.raises(ValueError, match="x"):
        ensemble.average([model])
