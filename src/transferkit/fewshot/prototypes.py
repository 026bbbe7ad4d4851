"""SimpleShot: nearest class mean on centred, L2-normalised features.

Wang, Chao, Weinberger and van der Maaten (2019), "SimpleShot: Revisiting
Nearest-Neighbor Classification for Few-Shot Learning", arXiv:1911.04623.
"""

from __future__ import annotations

import numpy as np

from transferkit.fewshot.features import (
    center_normalize,
    centring_mean,
    check_episode,
    class_means,
    softmax,
    sq_distances,
)
from transferkit.fewshot.registry import register_fewshot


@register_fewshot(
    "simpleshot",
    description="Nearest class mean on centred, L2-normalised features (Wang et al., 2019).",
    transductive=False,
    batched=True,
)
def simpleshot(
    support_f: np.ndarray,
    support_y: np.ndarray,
    query_f: np.ndarray,
    n_way: int,
    *,
    base_mean: np.ndarray | None = None,
    scale: float = 10.0,
) -> np.ndarray:
    """Classifies each query by its distance to the class means of the support.

    Features are centred on ``base_mean`` (the source classes' mean feature, as in the
    paper) or, when it is None, on the support mean, then L2-normalised. Prototypes
    are the class means of the normalised support features.

    Args:
        support_f: (S, D) support features, or (E, S, D) for E episodes at once.
        support_y: (S,) or (E, S) labels ``0 .. n_way - 1``.
        query_f: (Q, D) or (E, Q, D) query features.
        n_way: Number of classes.
        base_mean: (D,) mean feature of the source (base) classes, or None.
        scale: Inverse temperature; probabilities are ``softmax(-scale * distance**2)``.
            Changes confidence, never the predicted class.

    Returns:
        (Q, n_way) or (E, Q, n_way) probabilities, float64.
    """
    support_f, onehot, query_f = check_episode(support_f, support_y, query_f, n_way, base_mean)
    mean = centring_mean(support_f, base_mean)
    support = center_normalize(support_f, mean)  # (..., S, D)
    query = center_normalize(query_f, mean)  # (..., Q, D)
    prototypes = class_means(support, onehot)  # (..., n_way, D)
    return softmax(-scale * sq_distances(query, prototypes))
