"""Out-of-distribution detection: how well a score separates in-distribution inputs from others.

The baseline detector (Hendrycks & Gimpel, 2017) scores an input by its largest softmax
probability: a classifier should be less sure of an image from outside its training
distribution. `auroc` is the area under the ROC curve of such a score, the probability that a
random in-distribution input scores higher than a random out-of-distribution one (ties count
one half): 0.5 is no separation, 1.0 a perfect one.
"""

from __future__ import annotations

import numpy as np


def _scores(name, values):
    values = np.asarray(values, np.float64)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"`{name}` must be a non-empty 1-D array of finite scores. "
                         f"Received: {name} with shape {values.shape}")
    return values


def auroc(in_scores, out_scores):
    """Area under the ROC curve of a score that should be higher on in-distribution inputs.

    The Mann-Whitney form: with average ranks over both sets together, the rank sum of the
    in-distribution scores minus its least possible value, over the number of pairs. Ties
    between the two sets count one half, as the area under the ROC curve counts them.

    Args:
        in_scores: scores of the in-distribution inputs, `(n_in,)`.
        out_scores: scores of the out-of-distribution inputs, `(n_out,)`.

    Returns:
        A Python float in [0, 1].

    Example:
    >>> auroc([0.9, 0.8, 0.6], [0.7, 0.5])
    0.8333333333333334
    """
    from scipy.stats import rankdata

    inside, outside = _scores("in_scores", in_scores), _scores("out_scores", out_scores)
    ranks = rankdata(np.concatenate([inside, outside]))  # average ranks: ties share
    n_in, n_out = len(inside), len(outside)
    u = ranks[:n_in].sum() - n_in * (n_in + 1) / 2
    return float(u / (n_in * n_out))


def max_softmax_auroc(in_probs, out_probs):
    """`auroc` of the largest class probability: in-distribution test images against
    out-of-distribution ones, each `(n, classes)`.

    Raises:
        ValueError: when the two do not have the same number of classes.
    """
    in_probs, out_probs = np.asarray(in_probs, np.float64), np.asarray(out_probs, np.float64)
    if in_probs.ndim != 2 or out_probs.ndim != 2 or in_probs.shape[1] != out_probs.shape[1]:
        raise ValueError("`in_probs` and `out_probs` must be probabilities (n, classes) over the same classes. "
                         f"Received: shapes {in_probs.shape} and {out_probs.shape}")
    return auroc(in_probs.max(axis=1), out_probs.max(axis=1))
