r"""LogME: the log marginal evidence of a Bayesian linear model on the features.

You, Liu, Wang & Long, "LogME: Practical Assessment of Pre-trained Models for
Transfer Learning", ICML 2021.

For each target class c, the one-hot column :math:`y \in \{0,1\}^N` is modelled as
:math:`y = F w + \varepsilon` with prior :math:`w \sim N(0, \alpha^{-1} I_D)` and noise
:math:`\varepsilon \sim N(0, \beta^{-1} I_N)`. With :math:`A = \alpha I + \beta F^\top F`
and :math:`m = \beta A^{-1} F^\top y`, the log evidence is

.. math::
    \mathcal{L}(\alpha, \beta) = \tfrac{N}{2}\log\beta + \tfrac{D}{2}\log\alpha
    - \tfrac{N}{2}\log 2\pi - \tfrac{\beta}{2}\lVert F m - y\rVert^2
    - \tfrac{\alpha}{2} m^\top m - \tfrac{1}{2}\log\lvert A\rvert .

:math:`\alpha, \beta` are set by MacKay's fixed point
:math:`\gamma = \sum_i \beta\sigma_i^2 / (\alpha + \beta\sigma_i^2)`,
:math:`\alpha \leftarrow \gamma / m^\top m`,
:math:`\beta \leftarrow (N - \gamma) / \lVert F m - y\rVert^2`, where :math:`\sigma_i`
are the singular values of F, from two starts (see :func:`_maximise_evidence`). The score is :math:`\frac{1}{C}\sum_c \mathcal{L}_c / N`.

The SVD of F is computed once and shared by all classes; every iteration is then
O(rank * C), so the cost is one (D, D) Gram matrix and its eigendecomposition.
"""

from __future__ import annotations

import numpy as np

from transferkit.ranking._inputs import check_inputs
from transferkit.ranking._registry import register_score

_MAX_ITER = 200
_RTOL = 1e-8
# Noise precision cap: noise std 1e-6 on 0/1 targets is already a perfect fit. Without
# it, labels that lie exactly in the span of fewer than N feature directions (e.g.
# one-hot features) would have unbounded evidence.
_MAX_BETA = 1e12


@register_score(
    "logme",
    "Log marginal evidence of a Bayesian linear model on the features (You et al., ICML 2021).",
)
def logme(
    features: np.ndarray, labels: np.ndarray, source_probs: np.ndarray | None = None
) -> float:
    """LogME of target features; higher means more transferable.

    Args:
        features: (N, D) target features from the source model's shared layers.
        labels: (N,) integer target labels.
        source_probs: Ignored; accepted so every score has the same signature.

    Returns:
        Mean over classes of the maximised log evidence divided by N (unbounded, a
        few units around 0 in practice; compare only between models scored on the
        same data).
    """
    inputs = check_inputs(features, labels, source_probs)
    f, y = inputs.features, inputs.labels
    n = len(f)
    targets = np.eye(inputs.num_classes)[y]  # (N, C) one-hot
    sigma2, z2 = _spectrum(f, targets)  # (r,), (r, C)
    y_norm2 = targets.sum(axis=0)  # (C,) ||y_c||^2 = class counts for one-hot columns
    # Part of ||y||^2 outside the column space of F: no choice of w can fit it.
    outside = np.maximum(y_norm2 - z2.sum(axis=0), 0.0)  # (C,)
    evidence = _maximise_evidence(sigma2, z2, outside, n)
    return float(np.mean(evidence) / n)


def _spectrum(f: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared singular values of F and squared projections of targets on U.

    Returns:
        ``sigma2`` (r,) nonzero squared singular values, and ``z2`` (r, C) with
        ``z2[i, c] = (u_i^T y_c)^2`` for the left singular vectors u_i.
    """
    n, d = f.shape
    if n > d:
        # F = U S V^T  =>  F^T F = V S^2 V^T and U^T Y = S^-1 V^T F^T Y; the (D, D)
        # eigendecomposition is several times faster than a thin SVD of a tall F.
        sigma2, v = np.linalg.eigh(f.T @ f)
        keep = _nonzero(sigma2, n, d)
        sigma2 = sigma2[keep]
        z2 = (v[:, keep].T @ (f.T @ targets)) ** 2 / sigma2[:, None]
    else:
        # Wide F (few-shot): F F^T = U S^2 U^T is only (N, N).
        sigma2, u = np.linalg.eigh(f @ f.T)
        keep = _nonzero(sigma2, n, d)
        sigma2 = sigma2[keep]
        z2 = (u[:, keep].T @ targets) ** 2
    return sigma2, z2


def _nonzero(sigma2: np.ndarray, n: int, d: int) -> np.ndarray:
    """Mask of squared singular values above the Gram matrix's round-off.

    Eigenvalues of F^T F carry absolute error of about eps * max eigenvalue, so smaller
    ones are noise; dividing by them would blow up ``z2``.
    """
    return sigma2 > max(sigma2.max(), 0.0) * max(n, d) * np.finfo(np.float64).eps


def _maximise_evidence(
    sigma2: np.ndarray, z2: np.ndarray, outside: np.ndarray, n: int
) -> np.ndarray:
    """Fixed-point iteration over (alpha, beta) for all classes at once, from two starts.

    With more dimensions than examples the evidence can have two maxima (a broad prior with
    noisy labels, or a narrow one with an exact fit), and a start at alpha = beta = 1 (LogME's
    code) stopped on the lower one depending on the features' scale: a review's 10 x 50
    features scored -0.093 at x 0.01 and -0.0008 at x 1 (a log Bayes factor of 5.5 between
    a feature set and itself, above auto's bar of 3 for strong evidence). Both starts
    here put alpha on the features' own scale (the mean squared singular value), one with
    beta = 1 and one near an exact fit (beta = 1e6, alpha 1e6 times smaller); each class keeps
    the higher maximum, so the score is invariant to rescaling the features.

    Args:
        sigma2: (r,) squared singular values of F.
        z2: (r, C) squared projections of each class's target on U.
        outside: (C,) squared norm of each target outside the column space of F.
        n: Number of examples N.

    Returns:
        (C,) maximised log evidence per class.
    """
    scale = float(sigma2.mean()) if len(sigma2) and sigma2.mean() > 0 else 1.0
    return np.maximum(_fixed_point(sigma2, z2, outside, n, scale, 1.0),
                      _fixed_point(sigma2, z2, outside, n, scale * 1e-6, 1e6))  # fmt: skip


def _fixed_point(
    sigma2: np.ndarray, z2: np.ndarray, outside: np.ndarray, n: int, alpha0: float, beta0: float
) -> np.ndarray:
    """MacKay's fixed point from (``alpha0``, ``beta0``) for every class: (C,) log evidence there."""
    s = sigma2[:, None]  # (r, 1)
    tiny = np.finfo(np.float64).tiny
    alpha = np.full(z2.shape[1], alpha0)
    beta = np.full(z2.shape[1], beta0)
    for _ in range(_MAX_ITER):
        gamma, m2, res2 = _posterior_stats(s, z2, outside, alpha, beta)
        new_beta = np.minimum(np.maximum(n - gamma, tiny) / np.maximum(res2, tiny), _MAX_BETA)
        # Features that explain nothing send alpha to infinity (w = 0). Past
        # beta * max(sigma^2) / eps the evidence no longer changes, so stop there
        # instead of overflowing.
        alpha_cap = new_beta * max(sigma2.max(initial=0.0), 1.0) / np.finfo(np.float64).eps
        new_alpha = np.clip(gamma / np.maximum(m2, tiny), tiny, alpha_cap)
        done = np.all(np.abs(new_alpha - alpha) <= _RTOL * new_alpha) and np.all(
            np.abs(new_beta - beta) <= _RTOL * new_beta
        )
        alpha, beta = new_alpha, new_beta
        if done:
            break
    _, m2, res2 = _posterior_stats(s, z2, outside, alpha, beta)
    # D/2 log(alpha) - 1/2 log|A| collapses to -1/2 sum log(1 + beta s / alpha): the
    # null-space directions of F contribute alpha / alpha = 1.
    return (
        0.5 * n * np.log(beta)
        - 0.5 * n * np.log(2 * np.pi)
        - 0.5 * beta * res2
        - 0.5 * alpha * m2
        - 0.5 * np.log1p(beta * s / alpha).sum(axis=0)
    )


def _posterior_stats(
    s: np.ndarray, z2: np.ndarray, outside: np.ndarray, alpha: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """gamma, m^T m and ||F m - y||^2 per class, all (C,), in the SVD basis."""
    denom = alpha + beta * s  # (r, C)
    gamma = (beta * s / denom).sum(axis=0)
    m2 = (beta**2 * s * z2 / denom**2).sum(axis=0)
    res2 = ((alpha / denom) ** 2 * z2).sum(axis=0) + outside
    return gamma, m2, res2
