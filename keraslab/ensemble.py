"""Ensembles of trained models: averaging, majority voting, stacking, and their evaluation.

Every function accepts either trained Keras models (called with `predict` on `x`) or
their already computed class probabilities, so a lab can ensemble saved predictions
without keeping the models in memory.
"""

from __future__ import annotations

import numpy as np


def member_probabilities(members, x=None, batch_size=256):
    """Stacks members' class probabilities into an array `(members, n, classes)`.

    Args:
        members: a list of Keras models and/or probability arrays `(n, classes)`.
        x: inputs for the models (needed when a member is a model).
        batch_size: prediction batch size.

    Returns:
        A float64 array `(members, n, classes)`.
    """
    if len(members) == 0:
        raise ValueError("`members` must not be empty. Received: members=[]")
    probs = []
    for m in members:
        if hasattr(m, "predict"):
            if x is None:
                raise ValueError("`x` is required when members are models. Received: x=None")
            probs.append(np.asarray(m.predict(x, batch_size=batch_size, verbose=0), np.float64))
        else:
            probs.append(np.asarray(m, np.float64))
    shapes = {p.shape for p in probs}
    if len(shapes) != 1 or len(probs[0].shape) != 2:
        raise ValueError(f"Members must give probabilities of one shape (n, classes). Received shapes: {sorted(shapes)}")
    return np.stack(probs)


def average(members, x=None, weights=None):
    """Soft voting: the (weighted) mean of the members' probabilities.

    Args:
        members: models or probability arrays (see `member_probabilities`).
        x: inputs, when members are models.
        weights: optional non-negative weight per member.

    Returns:
        Probabilities `(n, classes)`.

    Example:
    >>> average([np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])]).tolist()
    [[0.5, 0.5]]
    """
    p = member_probabilities(members, x)
    if weights is None:
        return p.mean(axis=0)
    w = np.asarray(weights, np.float64)
    if w.shape != (len(p),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"`weights` must be {len(p)} non-negative numbers, not all zero. Received: weights={weights!r}")
    return np.tensordot(w / w.sum(), p, axes=1)


def majority_vote(members, x=None):
    """Hard voting: each member votes for its top class; the most votes win.

    Ties are broken by the summed probabilities of the tied classes (then by the lower
    class index), so the result is deterministic.

    Args:
        members: models or probability arrays.
        x: inputs, when members are models.

    Returns:
        Predicted class indices `(n,)`.

    Example:
    >>> p = [np.array([[0.6, 0.4]]), np.array([[0.4, 0.6]]), np.array([[0.9, 0.1]])]
    >>> majority_vote(p).tolist()
    [0]
    """
    p = member_probabilities(members, x)
    n_classes = p.shape[2]
    votes = np.zeros(p.shape[1:], np.float64)
    top = p.argmax(axis=2)
    for m in range(len(p)):
        votes[np.arange(p.shape[1]), top[m]] += 1
    # Votes are integers, probability sums are < members: adding a scaled sum only breaks ties.
    tie_break = p.sum(axis=0) / (len(p) * n_classes + 1)
    return (votes + tie_break).argmax(axis=1)


class StackingEnsemble:
    """Stacking: a logistic regression learns how to combine the members' probabilities.

    Fit it on predictions for data the members were **not** trained on (a held-out split),
    otherwise it learns to trust whichever member overfits most.

    Args:
        C: inverse regularization strength of the logistic regression.

    Example:
    >>> stack = StackingEnsemble().fit(holdout_probs, y_holdout)  # doctest: +SKIP
    >>> stack.predict(test_probs)  # doctest: +SKIP
    """

    def __init__(self, C=1.0):
        self.C = C
        self.model_ = None

    @staticmethod
    def _features(p):
        # Log-probabilities make the combiner's linear model act like a product of experts.
        return np.log(np.clip(p, 1e-7, 1.0)).transpose(1, 0, 2).reshape(p.shape[1], -1)

    def fit(self, members, y, x=None):
        """Fits the combiner on held-out predictions and integer labels `y`."""
        from sklearn.linear_model import LogisticRegression

        p = member_probabilities(members, x)
        y = np.asarray(y)
        if y.ndim == 2:
            y = y.argmax(axis=1)
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(self._features(p), y)
        self.n_classes_ = p.shape[2]
        return self

    def predict_proba(self, members, x=None):
        """Combined probabilities `(n, classes)`."""
        if self.model_ is None:
            raise ValueError("StackingEnsemble must be fitted before predict_proba.")
        p = member_probabilities(members, x)
        out = np.zeros((p.shape[1], self.n_classes_))
        out[:, self.model_.classes_] = self.model_.predict_proba(self._features(p))
        return out

    def predict(self, members, x=None):
        """Predicted class indices `(n,)`."""
        return self.predict_proba(members, x).argmax(axis=1)


def evaluate(members, y, x=None, holdout=None, labels=None):
    """Accuracy of each member and of averaging, voting and (with a holdout) stacking.

    Args:
        members: models or probability arrays on the evaluation data.
        y: integer (or one-hot) labels of the evaluation data.
        x: evaluation inputs, when members are models.
        holdout: optional `(members_on_holdout, y_holdout[, x_holdout])` to fit stacking.
        labels: optional member names (default "member_0", ...).

    Returns:
        A dict: `members` ({name: accuracy}), `best_member`, `mean_member`, `average`,
        `vote`, and `stacking` when a holdout was given, plus `gain_over_best` (average
        minus best member).

    Example:
    >>> p = [np.eye(2)[[0, 1, 1]], np.eye(2)[[0, 0, 1]], np.eye(2)[[1, 1, 1]]]
    >>> evaluate(p, [0, 1, 1])["vote"]
    1.0
    """
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.argmax(axis=1)
    p = member_probabilities(members, x)
    names = labels or [f"member_{i}" for i in range(len(p))]
    singles = {n: float((pm.argmax(1) == y).mean()) for n, pm in zip(names, p, strict=True)}
    result = {
        "members": singles,
        "best_member": max(singles.values()),
        "mean_member": float(np.mean(list(singles.values()))),
        "average": float((p.mean(0).argmax(1) == y).mean()),
        "vote": float((majority_vote(p) == y).mean()),
    }
    if holdout is not None:
        hold_members, y_hold, *rest = holdout
        stack = StackingEnsemble().fit(hold_members, y_hold, x=rest[0] if rest else None)
        result["stacking"] = float((stack.predict(p) == y).mean())
    result["gain_over_best"] = result["average"] - result["best_member"]
    return result
