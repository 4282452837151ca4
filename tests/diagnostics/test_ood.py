import numpy as np
import pytest

from keraslab.diagnostics import auroc, max_softmax_auroc


def _pairwise_auroc(inside, outside):
    """The definition itself: the share of (in, out) pairs where the in-distribution score is
    higher, ties counting one half."""
    inside, outside = np.asarray(inside)[:, None], np.asarray(outside)[None, :]
    return float(np.mean((inside > outside) + 0.5 * (inside == outside)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_matches_scikit_learn_and_the_pairwise_definition(seed):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    # Rounded scores, so that ties within and across the two sets are common.
    inside = np.round(rng.normal(0.6, 0.2, 300), 1)
    outside = np.round(rng.normal(0.4, 0.2, 200), 1)
    labels = np.r_[np.ones(300), np.zeros(200)]
    expected = roc_auc_score(labels, np.r_[inside, outside])
    assert auroc(inside, outside) == pytest.approx(expected, abs=1e-12)
    assert auroc(inside, outside) == pytest.approx(_pairwise_auroc(inside, outside), abs=1e-12)


def test_auroc_ends_and_symmetry():
    assert auroc([0.9, 0.8], [0.1, 0.2, 0.3]) == 1.0
    assert auroc([0.1, 0.2], [0.8, 0.9]) == 0.0
    assert auroc([0.5, 0.5], [0.5]) == 0.5  # all tied: no separation
    rng = np.random.default_rng(3)
    a, b = rng.uniform(size=50), rng.uniform(size=70)
    assert auroc(a, b) == pytest.approx(1 - auroc(b, a), abs=1e-12)


def test_max_softmax_auroc_scores_the_largest_probability():
    confident = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]])
    unsure = np.array([[0.4, 0.3, 0.3], [0.34, 0.33, 0.33], [0.1, 0.85, 0.05]])
    # In-distribution maxima 0.9, 0.8; out 0.4, 0.34, 0.85: 5 of 6 pairs higher.
    assert max_softmax_auroc(confident, unsure) == pytest.approx(5 / 6)


@pytest.mark.parametrize("bad", [[], [[0.5]], [0.5, float("nan")]])
def test_auroc_rejects_bad_scores_naming_the_argument(bad):
    with pytest.raises(ValueError, match="in_scores"):
        auroc(bad, [0.1])


def test_max_softmax_auroc_rejects_different_classes():
    with pytest.raises(ValueError, match="same classes"):
        max_softmax_auroc(np.full((2, 3), 1 / 3), np.full((2, 4), 0.25))
