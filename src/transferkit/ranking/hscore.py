r"""H-score with a shrinkage (Ledoit-Wolf) estimate of the feature covariance.

Bao, Li, Huang, Zheng, Zhu & Xu, "An Information-Theoretic Approach to
Transferability in Task Transfer Learning", ICIP 2019 (the H-score);
Ibrahim, Ponomareva & Mazumder, "Newer is not always better: Rethinking
transferability metrics, their peculiarities, stability and performance",
ICLR 2023 (the shrinkage fix used here).

The H-score is :math:`\mathrm{tr}\big(\mathrm{cov}(f)^{-1}\,\mathrm{cov}(\mathbb{E}[f \mid y])\big)`:
between-class spread of the features measured in units of their total spread. With
D comparable to N the empirical :math:`\mathrm{cov}(f)` is ill-conditioned and its
inverse explodes, which makes the plain H-score unreliable. Ibrahim et al. replace it
with the Ledoit-Wolf estimate :math:`\Sigma_\alpha = (1-\alpha)\Sigma + \alpha\mu I`
(:math:`\mu = \mathrm{tr}\,\Sigma / D`, :math:`\alpha` chosen in closed form) and
scale the between-class covariance by the same :math:`1-\alpha`:

.. math::
    \mathcal{H}_\alpha = \mathrm{tr}\big(\Sigma_\alpha^{-1} (1-\alpha)\,
    \mathrm{cov}(\mathbb{E}[f \mid y])\big),
    \quad \mathrm{cov}(\mathbb{E}[f \mid y]) = \sum_c \frac{n_c}{N}
    (\mu_c - \bar f)(\mu_c - \bar f)^\top .

Both covariances use the 1/N normalisation. The score is at most C - 1 (the rank of
the between-class covariance) and is invariant to a global rescaling of the features.
"""

from __future__ import annotations

import numpy as np

from transferkit.ranking._inputs import check_inputs
from transferkit.ranking._registry import register_score


@register_score(
    "hscore",
    "Between-class over total feature covariance, Ledoit-Wolf shrunk (Bao et al. ICIP 2019; "
    "Ibrahim et al. ICLR 2023).",
)
def hscore(
    features: np.ndarray, labels: np.ndarray, source_probs: np.ndarray | None = None
) -> float:
    """Shrinkage H-score of target features; higher means more transferable.

    Args:
        features: (N, D) target features from the source model's shared layers.
        labels: (N,) integer target labels.
        source_probs: Ignored; accepted so every score has the same signature.

    Returns:
        The score, in [0, C - 1]; 0 when every feature is constant.
    """
    from sklearn.covariance import ledoit_wolf

    inputs = check_inputs(features, labels, source_probs)
    f, y = inputs.features, inputs.labels
    centred = f - f.mean(axis=0)
    if not centred.any():
        return 0.0  # constant features carry no information about the labels
    total, shrinkage = ledoit_wolf(centred)  # (D, D), float in [0, 1]
    one_hot = np.eye(inputs.num_classes)[y]  # (N, C)
    counts = one_hot.sum(axis=0)  # (C,)
    class_means = (one_hot.T @ centred) / counts[:, None]  # (C, D), already centred
    between = (class_means * (counts / len(y))[:, None]).T @ class_means  # (D, D)
    return float((1.0 - shrinkage) * _trace_inv_times(total, between))


def _trace_inv_times(sym_pd: np.ndarray, other: np.ndarray) -> float:
    """tr(sym_pd^-1 other) via eigh, dropping eigenvalues at round-off level.

    The shrunk covariance is positive definite unless shrinkage is 0 and the
    features are rank-deficient; the cut-off handles that case as a pseudo-inverse.
    """
    eigvals, eigvecs = np.linalg.eigh(sym_pd)
    keep = eigvals > eigvals.max() * len(eigvals) * np.finfo(np.float64).eps
    rotated = eigvecs[:, keep].T @ other @ eigvecs[:, keep]  # (r, r)
    return float(np.sum(np.diag(rotated) / eigvals[keep]))
