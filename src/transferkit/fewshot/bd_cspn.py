"""BD-CSPN: prototype rectification by bias diminishing.

Liu, Song and Qin (2020), "Prototype Rectification for Few-Shot Learning", ECCV.
Two biases of the support-mean prototype are reduced:

* cross-class bias (the "shift term"): support and query sets are offset from each
  other; adding ``mean(support) - mean(query)`` to every query closes the gap;
* intra-class bias: a few shots give a poor class mean; confident pseudo-labelled
  queries are added, each example weighted by its cosine similarity to the prototype.
"""

from __future__ import annotations

import numpy as np

from transferkit.fewshot.features import (
    center_normalize,
    centring_mean,
    check_episode,
    class_means,
    cosine,
    softmax,
    transpose,
)
from transferkit.fewshot.registry import register_fewshot


@register_fewshot(
    "bd_cspn",
    description="Shift term + prototypes rectified with pseudo-labelled queries (Liu et al., 2020).",
    transductive=True,
    batched=True,
)
def bd_cspn(
    support_f: np.ndarray,
    support_y: np.ndarray,
    query_f: np.ndarray,
    n_way: int,
    *,
    base_mean: np.ndarray | None = None,
    scale: float = 10.0,
    top_z: int | None = None,
) -> np.ndarray:
    """Cosine classifier on rectified prototypes.

    1. Centre (on ``base_mean``, else the support mean) and L2-normalise all features.
    2. Shift term: ``query += mean(support) - mean(query)``.
    3. Pseudo-label every query by its most similar support class mean (cosine).
    4. Each rectified prototype is the mean of its support examples and pseudo-labelled
       queries, weighted by ``softmax(scale * cos(x, prototype))`` within the class.
    5. Probabilities are ``softmax(scale * cos(query, rectified prototype))``.

    Args:
        support_f: (S, D) support features, or (E, S, D) for E episodes at once.
        support_y: (S,) or (E, S) labels ``0 .. n_way - 1``.
        query_f: (Q, D) or (E, Q, D) query features.
        n_way: Number of classes.
        base_mean: (D,) mean feature of the source (base) classes, or None.
        scale: The paper's epsilon (10): inverse temperature of the cosine weights and
            of the output.
        top_z: Keep only the ``top_z`` most confident pseudo-labelled queries of each
            class; None keeps them all.

    Returns:
        (Q, n_way) or (E, Q, n_way) probabilities, float64.
    """
    support_f, onehot, query_f = check_episode(support_f, support_y, query_f, n_way, base_mean)
    mean = centring_mean(support_f, base_mean)
    support = center_normalize(support_f, mean)  # (..., S, D)
    query = center_normalize(query_f, mean)  # (..., Q, D)
    shift, rectified = rectify(support, onehot, query, n_way, scale=scale, top_z=top_z)
    return softmax(scale * cosine(query + shift, rectified))


def rectify(
    support: np.ndarray,
    onehot: np.ndarray,
    query: np.ndarray,
    n_way: int,
    *,
    scale: float = 10.0,
    top_z: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 2-4 of :func:`bd_cspn` on centred, L2-normalised features.

    Exposed so that a model can keep the result: ``methods/transductive.py`` stores the
    shift and the rectified prototypes as its specific layers.

    Args:
        support: (..., S, D) normalised support features.
        onehot: (..., S, n_way) their labels.
        query: (..., Q, D) normalised query (unlabelled) features.
        n_way, scale, top_z: As in :func:`bd_cspn`.

    Returns:
        The shift term (..., 1, D), added to every query, and the rectified prototypes
        (..., n_way, D); queries are classified by ``cos(query + shift, prototype)``.
    """
    shift = support.mean(axis=-2, keepdims=True) - query.mean(axis=-2, keepdims=True)
    query = query + shift

    prototypes = class_means(support, onehot)  # (..., n_way, D)
    sim = cosine(query, prototypes)  # (..., Q, n_way)
    pseudo = np.eye(n_way)[sim.argmax(axis=-1)]  # (..., Q, n_way)
    if top_z is not None:
        pseudo = pseudo * (_rank_in_class(sim) < top_z)[..., None]

    x = np.concatenate([support, query], axis=-2)  # (..., S + Q, D)
    member = np.concatenate([onehot, pseudo], axis=-2)  # (..., S + Q, n_way)
    # Softmax within each class: non-members get -inf, and each class's largest logit
    # (a support example always exists) is subtracted so exp() neither over- nor
    # underflows.
    logits = np.where(member > 0, scale * cosine(x, prototypes), -np.inf)  # (..., S + Q, n_way)
    w = np.exp(logits - logits.max(axis=-2, keepdims=True))
    return shift, transpose(w) @ x / w.sum(axis=-2)[..., None]  # (..., 1, D), (..., n_way, D)


def _rank_in_class(sim: np.ndarray) -> np.ndarray:
    """Each query's confidence rank among queries given the same pseudo-label (0 = most).

    Args:
        sim: (..., Q, n_way) similarities to the prototypes.

    Returns:
        (..., Q) integer ranks; ties go to the earlier query.
    """
    label = sim.argmax(axis=-1)  # (..., Q)
    conf = sim.max(axis=-1)  # (..., Q)
    same = label[..., :, None] == label[..., None, :]  # (..., Q, Q)
    earlier = np.tri(conf.shape[-1], k=-1, dtype=bool)  # [i, j]: j < i
    ahead = (conf[..., None, :] > conf[..., :, None]) | (
        (conf[..., None, :] == conf[..., :, None]) & earlier
    )
    return (same & ahead).sum(axis=-1)
