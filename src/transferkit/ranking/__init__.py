"""Transferability scores: rank source models for a target task before fine-tuning.

Each score reads the target examples' features (from the source model's shared
layers), their labels and, for some scores, the source head's soft predictions, and
returns one float; higher means the source model is expected to transfer better.
Scores are only comparable between source models scored on the same target data.

Example:
    >>> from transferkit.ranking import list_scores, score_features
    >>> score = score_features("logme", features, labels)  # doctest: +SKIP

Adding a score means adding one file here that uses :func:`register_score`; every
public module of this package is imported below, which registers its scores.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from transferkit.ranking._registry import (
    SCORES,
    ScoreInfo,
    get_score,
    list_scores,
    register_score,
)


def _register_builtin_scores() -> None:
    """Import every non-underscore module of this package; each registers its scores."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_register_builtin_scores()

__all__ = ["SCORES", "ScoreInfo", "get_score", "list_scores", "register_score", "score_features"]


def score_features(
    name: str,
    features: np.ndarray,
    labels: np.ndarray,
    source_probs: np.ndarray | None = None,
) -> float:
    """Compute the transferability score ``name``.

    Args:
        name: A registered score, see :func:`list_scores`.
        features: (N, D) target features from the source model's shared layers.
        labels: (N,) integer target labels.
        source_probs: (N, Cs) source head probabilities; needed by ``leep`` and ``nce``.

    Returns:
        The score; higher means more transferable.

    Raises:
        TransferkitError: Unknown ``name`` or invalid inputs.
    """
    info = get_score(name)
    return float(info.fn(features, labels, source_probs))
