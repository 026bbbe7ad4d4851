r"""Probe scores: how well simple classifiers on the frozen features do, held out.

Two direct estimates of what a frozen-feature transfer would reach, in the spirit of
the k-NN and linear probes of Kornblith, Shlens & Le, "Do Better ImageNet Models
Transfer Better?", CVPR 2019. Both return an accuracy in [0, 1].

``knn``: leave-one-out k-NN accuracy. Features are centred (global mean removed) and
L2-normalised, similarity is the cosine :math:`s_{ij} = \hat f_i^\top \hat f_j`, and
each example is classified by a majority vote of its k most similar *other* examples,
ties broken by the summed similarity of the tied classes. :math:`k = \min(5, n_{min} - 1)`
with :math:`n_{min}` the smallest class size, so every held-out example still has k
examples of its own class left; when :math:`n_{min} = 1` this is 1-NN.

``linear_cv``: stratified k-fold accuracy of a multinomial logistic regression
(lbfgs, on standardised features), with :math:`k = \min(5, n_{min})` folds (shuffled,
fixed seed). When :math:`n_{min} = 1` no stratified split exists, so it falls back to
leave-one-out nearest-prototype accuracy: each example is assigned to the class whose
mean over the *other* examples is most cosine-similar.

In both, an example whose class has a single example can never be predicted
correctly once it is held out (no example of its class remains); it counts as an
error rather than being dropped, so the score stays an honest held-out accuracy.
"""

from __future__ import annotations

import warnings

import numpy as np

from transferkit.ranking._inputs import check_inputs
from transferkit.ranking._registry import register_score

_MAX_K = 5
_MAX_FOLDS = 5
_BLOCK = 1024  # rows of the similarity matrix held at once: 1024 x N float64


@register_score("knn", "Leave-one-out cosine k-NN accuracy on the centred features (k <= 5).")
def knn(features: np.ndarray, labels: np.ndarray, source_probs: np.ndarray | None = None) -> float:
    """Leave-one-out k-NN accuracy; higher means more transferable.

    Args:
        features: (N, D) target features from the source model's shared layers.
        labels: (N,) integer target labels.
        source_probs: Ignored; accepted so every score has the same signature.

    Returns:
        Accuracy in [0, 1].
    """
    inputs = check_inputs(features, labels, source_probs)
    x, y, c = _unit_rows(inputs.features), inputs.labels, inputs.num_classes
    k = max(1, min(_MAX_K, int(np.bincount(y).min()) - 1, len(y) - 1))
    correct = 0
    for start in range(0, len(y), _BLOCK):
        rows = np.arange(start, min(start + _BLOCK, len(y)))
        sim = x[rows] @ x.T  # (B, N)
        sim[np.arange(len(rows)), rows] = -np.inf  # leave the example itself out
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]  # (B, k), unordered
        near_sim = np.take_along_axis(sim, nearest, axis=1)
        votes = np.zeros((len(rows), c))
        np.add.at(votes, (np.arange(len(rows))[:, None], y[nearest]), 1.0)
        tie_break = np.zeros((len(rows), c))
        np.add.at(tie_break, (np.arange(len(rows))[:, None], y[nearest]), near_sim)
        # |tie_break| <= k <= 5, so 1e-3 * tie_break never outweighs a whole vote.
        predicted = np.argmax(votes + 1e-3 * tie_break, axis=1)
        correct += int(np.sum(predicted == y[rows]))
    return correct / len(y)


@register_score(
    "linear_cv", "Stratified cross-validated accuracy of a logistic-regression probe (lbfgs)."
)
def linear_cv(
    features: np.ndarray, labels: np.ndarray, source_probs: np.ndarray | None = None
) -> float:
    """Cross-validated linear-probe accuracy; higher means more transferable.

    Args:
        features: (N, D) target features from the source model's shared layers.
        labels: (N,) integer target labels.
        source_probs: Ignored; accepted so every score has the same signature.

    Returns:
        Accuracy in [0, 1] pooled over folds.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    inputs = check_inputs(features, labels, source_probs)
    f, y = inputs.features, inputs.labels
    n_splits = min(_MAX_FOLDS, int(np.bincount(y).min()))
    if n_splits < 2:
        return _loo_prototype_accuracy(f, y, inputs.num_classes)
    # scikit-learn's default 100 iterations: 1000 took minutes on 3,000 examples of 256 early-conv
    # features (still converging towards a separating fit) for the same accuracy within 0.2 points
    probe = make_pipeline(StandardScaler(), LogisticRegression(solver="lbfgs", max_iter=100))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        # A probe that has not fully converged is still a fair probe; don't spam users.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # 52 classes of 2 examples: "y could represent a regression problem", four times with sklearn's paths
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        predicted = cross_val_predict(probe, f, y, cv=folds)
    return float(np.mean(predicted == y))


def _unit_rows(f: np.ndarray) -> np.ndarray:
    """Centre the columns, then scale each row to unit L2 norm (zero rows stay zero)."""
    centred = f - f.mean(axis=0)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return centred / np.where(norms > 0, norms, 1.0)


def _loo_prototype_accuracy(f: np.ndarray, y: np.ndarray, num_classes: int) -> float:
    """Leave-one-out nearest-class-mean accuracy (cosine on centred, normalised rows)."""
    x = _unit_rows(f)
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)  # (C,)
    sums = np.zeros((num_classes, x.shape[1]))  # (C, D)
    np.add.at(sums, y, x)
    correct = 0
    for i in range(len(y)):
        own = y[i]
        loo_counts = counts.copy()
        loo_counts[own] -= 1
        loo_sums = sums.copy()
        loo_sums[own] -= x[i]
        present = loo_counts > 0  # a singleton class has no prototype left
        means = loo_sums[present] / loo_counts[present, None]
        means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-300)
        predicted = np.flatnonzero(present)[np.argmax(means @ x[i])]
        correct += int(predicted == own)
    return correct / len(y)
