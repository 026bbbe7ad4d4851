"""Transductive soft k-means refinement of class prototypes.

Ren, Triantafillou, Ravi, Snell, Swersky, Tenenbaum, Larochelle and Zemel (2018),
"Meta-Learning for Semi-Supervised Few-Shot Classification", ICLR. Their
"soft k-means" step, with the unlabelled examples being the episode's queries and
without the distractor cluster.
"""

from __future__ import annotations

import numpy as np

from transferkit.fewshot.features import (
    center_normalize,
    centring_mean,
    check_episode,
    softmax,
    sq_distances,
    transpose,
)
from transferkit.fewshot.registry import register_fewshot


@register_fewshot(
    "soft_kmeans",
    description="Prototypes refined by soft k-means over the queries (Ren et al., 2018).",
    transductive=True,
    batched=True,
)
def soft_kmeans(
    support_f: np.ndarray,
    support_y: np.ndarray,
    query_f: np.ndarray,
    n_way: int,
    *,
    base_mean: np.ndarray | None = None,
    n_iter: int = 5,
    scale: float = 10.0,
) -> np.ndarray:
    """Nearest prototype, where prototypes also absorb the queries softly assigned to them.

    Start from the support class means; then, ``n_iter`` times, assign every query to
    every class with weight ``softmax(-scale * distance**2)`` and recompute each
    prototype as the weighted mean of its support examples (weight 1) and all queries.
    Features are centred and normalised as in SimpleShot.

    Args:
        support_f: (S, D) support features, or (E, S, D) for E episodes at once.
        support_y: (S,) or (E, S) labels ``0 .. n_way - 1``.
        query_f: (Q, D) or (E, Q, D) query features.
        n_way: Number of classes.
        base_mean: (D,) mean feature of the source (base) classes, or None for the
            support mean.
        n_iter: Refinement steps; 0 gives SimpleShot.
        scale: Inverse temperature of the soft assignment and of the output.

    Returns:
        (Q, n_way) or (E, Q, n_way) probabilities, float64.
    """
    support_f, onehot, query_f = check_episode(support_f, support_y, query_f, n_way, base_mean)
    mean = centring_mean(support_f, base_mean)
    support = center_normalize(support_f, mean)  # (..., S, D)
    query = center_normalize(query_f, mean)  # (..., Q, D)
    support_sum = transpose(onehot) @ support  # (..., n_way, D)
    support_count = onehot.sum(axis=-2)  # (..., n_way)
    prototypes = support_sum / support_count[..., None]
    for _ in range(n_iter):
        z = softmax(-scale * sq_distances(query, prototypes))  # (..., Q, n_way)
        weight = support_count + z.sum(axis=-2)  # (..., n_way)
        prototypes = (support_sum + transpose(z) @ query) / weight[..., None]
    return softmax(-scale * sq_distances(query, prototypes))
