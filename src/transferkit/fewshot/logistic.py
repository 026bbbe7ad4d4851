"""Linear probe: multinomial logistic regression on the support features.

The non-metric baseline of few-shot learning on fixed features, e.g. Tian, Wang,
Krishnan, Tenenbaum and Isola (2020), "Rethinking Few-Shot Image Classification: a
Good Embedding Is All You Need?", ECCV. Solved here in numpy by Nesterov's accelerated
gradient, all episodes of a batch at once: an episode is tiny (S <= a few hundred
rows), and a general solver's setup cost (~30 ms per episode for scikit-learn's lbfgs)
would dominate a 600-episode evaluation.
"""

from __future__ import annotations

import numpy as np

from transferkit.fewshot.features import (
    center_normalize,
    centring_mean,
    check_episode,
    softmax,
    transpose,
)
from transferkit.fewshot.registry import register_fewshot


@register_fewshot(
    "logistic",
    description="Logistic regression on the support features (linear probe baseline).",
    transductive=False,
    batched=True,
)
def logistic(
    support_f: np.ndarray,
    support_y: np.ndarray,
    query_f: np.ndarray,
    n_way: int,
    *,
    base_mean: np.ndarray | None = None,
    l2: float = 0.01,
    max_steps: int = 500,
    tol: float = 1e-5,
) -> np.ndarray:
    """Fits ``softmax(x @ W + b)`` to the support set and applies it to the queries.

    Minimises ``mean cross-entropy + l2 / 2 * ||W||^2`` (the bias is not penalised) on
    features centred and L2-normalised as in SimpleShot.

    Args:
        support_f: (S, D) support features, or (E, S, D) for E episodes at once.
        support_y: (S,) or (E, S) labels ``0 .. n_way - 1``.
        query_f: (Q, D) or (E, Q, D) query features.
        n_way: Number of classes.
        base_mean: (D,) mean feature of the source (base) classes, or None for the
            support mean.
        l2: Weight penalty; larger gives smoother, less confident probabilities.
            (scikit-learn's ``C`` corresponds to ``l2 = 1 / (C * S)``.)
        max_steps: Most gradient steps. At the default ``l2``, 30 to 60 steps reach
            ``tol`` on normalised features; ten times smaller ``l2`` needs about
            twice as many.
        tol: Stop once no gradient entry exceeds this; the loss is then within
            about ``D * C * tol**2 / l2`` of its minimum.

    Returns:
        (Q, n_way) or (E, Q, n_way) probabilities, float64.
    """
    support_f, onehot, query_f = check_episode(support_f, support_y, query_f, n_way, base_mean)
    mean = centring_mean(support_f, base_mean)
    x = center_normalize(support_f, mean)  # (..., S, D)
    query = center_normalize(query_f, mean)  # (..., Q, D)
    w, b = _fit(x, onehot, l2, max_steps, tol)  # (..., D, n_way), (..., 1, n_way)
    return softmax(query @ w + b)


def _fit(
    x: np.ndarray, onehot: np.ndarray, l2: float, max_steps: int, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nesterov's accelerated gradient, every episode of a batch at once.

    Args:
        x: (..., S, D) features.
        onehot: (..., S, C) labels.
        l2: Weight penalty.
        max_steps: Most steps.
        tol: An episode stops once all its gradient entries are below this.

    Returns:
        Weights (..., D, C) and bias (..., 1, C).
    """
    n = x.shape[-2]
    xb = np.concatenate([x, np.ones((*x.shape[:-1], 1))], axis=-1)  # (..., S, D + 1)
    xb_t = transpose(xb) / n  # (..., D + 1, S); the last weight row is the bias
    penalty = np.full((x.shape[-1] + 1, 1), l2)
    penalty[-1] = 0.0
    # The softmax cross-entropy Hessian is at most 1/2 of the second moment of xb; its
    # top eigenvalue bounds the curvature, hence the step size.
    top = np.linalg.svd(xb, compute_uv=False)[..., :1, None] ** 2 / n  # (..., 1, 1)
    lipschitz = 0.5 * top + l2
    step = 1.0 / lipschitz
    root_kappa = np.sqrt(lipschitz / max(l2, 1e-12))
    momentum = (root_kappa - 1.0) / (root_kappa + 1.0)

    theta = np.zeros((*xb.shape[:-2], xb.shape[-1], onehot.shape[-1]))  # (..., D + 1, C)
    prev = theta
    # Episodes stop one by one, so an episode's answer does not depend on its batch.
    active = np.ones((*xb.shape[:-2], 1, 1), dtype=bool)
    for i in range(max_steps):
        # Look ahead along the momentum direction, then step downhill from there.
        look = theta + momentum * (theta - prev)
        logits = xb @ look  # (..., S, C)
        p = np.exp(logits - logits.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        grad = xb_t @ (p - onehot) + penalty * look
        prev, theta = theta, np.where(active, look - step * grad, theta)
        # Checking every step would cost as much as the step itself.
        if i % 10 == 9:
            active &= np.abs(grad).max(axis=(-2, -1), keepdims=True) >= tol
            if not active.any():
                break
    return theta[..., :-1, :], theta[..., -1:, :]
