"""Input checks shared by every transferability score.

Each score calls :func:`check_inputs` first, so calling a score function directly is
as safe as going through :func:`transferkit.ranking.score_features`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from transferkit.errors import TransferkitError
from transferkit.inputs import as_array  # tensors on any device: numpy cannot read a GPU tensor

# Softmax outputs stored in float16/float32 drift from 1 by far less than this;
# anything further off is almost surely logits or unnormalised scores.
_ROW_SUM_ATOL = 1e-3


class ScoreInputs(NamedTuple):
    """Validated, float64 copies of a score's inputs.

    Attributes:
        features: (N, D) float64, all finite.
        labels: (N,) int64 in ``0..C-1`` with every class present (re-indexed).
        num_classes: C >= 2.
        source_probs: (N, Cs) float64 rows summing to 1, or None.
    """

    features: np.ndarray
    labels: np.ndarray
    num_classes: int
    source_probs: np.ndarray | None


def check_inputs(
    features: np.ndarray,
    labels: np.ndarray,
    source_probs: np.ndarray | None = None,
    needs_source_probs: bool = False,
) -> ScoreInputs:
    """Validate a score's inputs and convert them to float64 / int64.

    Labels are re-indexed to ``0..C-1`` over the classes actually present, so a
    subset of classes (e.g. labels ``{0, 3}``) is fine.

    Args:
        features: (N, D) target features from the source model's shared layers.
        labels: (N,) integer target labels.
        source_probs: (N, Cs) source head probabilities, or None.
        needs_source_probs: Raise if ``source_probs`` is None.

    Returns:
        The validated inputs.

    Raises:
        TransferkitError: A shape, dtype, value or class-count problem.
    """
    features = np.asarray(as_array(features))
    labels = np.asarray(as_array(labels))
    if features.ndim != 2:
        raise TransferkitError(
            f"features must be 2-D (N, D), got shape {features.shape}.",
            "flatten each example's features to one row, e.g. features.reshape(len(features), -1).",
        )
    if not np.issubdtype(features.dtype, np.number) or np.iscomplexobj(features):
        raise TransferkitError(
            f"features must be real numbers, got dtype {features.dtype}.",
            "pass a float array.",
        )
    features = features.astype(np.float64)
    if not np.isfinite(features).all():
        bad = np.argwhere(~np.isfinite(features))[0]
        raise TransferkitError(
            f"features contain NaN or inf (first at row {bad[0]}, column {bad[1]}: "
            f"{features[bad[0], bad[1]]}).",
            "drop or repair those examples before scoring.",
        )
    if labels.ndim != 1:
        raise TransferkitError(
            f"labels must be 1-D (N,), got shape {labels.shape}.",
            "pass one integer class index per example.",
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TransferkitError(
            f"labels must be integers, got dtype {labels.dtype}.",
            "convert class names or numbers to integer indices with numpy.unique(labels, return_inverse=True)[1].",
        )
    if len(labels) != len(features):
        raise TransferkitError(
            f"features have {len(features)} rows but labels have {len(labels)} entries.",
            "pass one label per feature row.",
        )
    classes, labels = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise TransferkitError(
            f"labels contain {len(classes)} class(es) {classes.tolist()}; a score needs at least 2.",
            "score on a target set with examples from at least two classes.",
        )
    probs = None if source_probs is None else _check_source_probs(source_probs, len(features))
    if needs_source_probs and probs is None:
        raise TransferkitError(
            "This score needs source_probs, the source head's softmax outputs, but got None.",
            "pass source_probs of shape (N, num_source_classes), or use a feature-only "
            "score such as 'logme'.",
        )
    return ScoreInputs(features, labels.astype(np.int64), len(classes), probs)


def _check_source_probs(source_probs: np.ndarray, n: int) -> np.ndarray:
    probs = np.asarray(as_array(source_probs))
    if probs.ndim != 2 or len(probs) != n:
        raise TransferkitError(
            f"source_probs must have shape (N={n}, num_source_classes), got {probs.shape}.",
            "pass one row of source-class probabilities per example.",
        )
    if not np.issubdtype(probs.dtype, np.number) or np.iscomplexobj(probs):
        raise TransferkitError(
            f"source_probs must be real numbers, got dtype {probs.dtype}.",
            "pass a float array.",
        )
    probs = probs.astype(np.float64)
    if not np.isfinite(probs).all():
        raise TransferkitError(
            f"source_probs contain NaN or inf (first in row {np.argwhere(~np.isfinite(probs))[0][0]}).",
            "drop or repair those examples before scoring.",
        )
    if (probs < 0).any():
        raise TransferkitError(
            f"source_probs must be non-negative, got min {probs.min():.4g}.",
            "pass probabilities (softmax of the source logits), not logits.",
        )
    sums = probs.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > _ROW_SUM_ATOL:
        raise TransferkitError(
            f"source_probs rows must sum to 1, row {worst} sums to {sums[worst]:.6g}.",
            "apply softmax to the source logits, e.g. torch.softmax(logits, dim=1).",
        )
    return probs / sums[:, None]
