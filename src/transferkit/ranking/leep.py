r"""LEEP: Log Expected Empirical Prediction.

Nguyen, Hassner, Seeger & Archambeau, "LEEP: A New Measure to Evaluate
Transferability of Learned Representations", ICML 2020.

With :math:`\theta(x_i) \in \Delta^{C_s}` the source head's soft prediction for target
example i, the empirical joint of target label y and source label z is
:math:`\hat P(y, z) = \frac{1}{N}\sum_{i: y_i = y} \theta(x_i)_z`, the conditional
:math:`\hat P(y \mid z) = \hat P(y, z) / \sum_{y'} \hat P(y', z)`, and

.. math::
    \mathrm{LEEP} = \frac{1}{N}\sum_{i=1}^N \log \sum_{z} \hat P(y_i \mid z)\, \theta(x_i)_z ,

the average log-likelihood of the "expected empirical predictor" that relabels the
source head's output through :math:`\hat P(y \mid z)`. It is always <= 0; higher is
better.
"""

from __future__ import annotations

import numpy as np

from transferkit.ranking._inputs import check_inputs
from transferkit.ranking._registry import register_score


@register_score(
    "leep",
    "Log-likelihood of the source head relabelled through P(y|z) (Nguyen et al., ICML 2020).",
    needs_source_probs=True,
)
def leep(features: np.ndarray, labels: np.ndarray, source_probs: np.ndarray | None = None) -> float:
    """LEEP of the source head on the target data; higher means more transferable.

    Args:
        features: (N, D) target features; only checked, LEEP reads the source head.
        labels: (N,) integer target labels.
        source_probs: (N, Cs) source head softmax outputs on the target examples.

    Returns:
        The LEEP score, in (-inf, 0].
    """
    inputs = check_inputs(features, labels, source_probs, needs_source_probs=True)
    theta, y = inputs.source_probs, inputs.labels
    n = len(y)
    joint = np.eye(inputs.num_classes)[y].T @ theta / n  # (C, Cs) P(y, z)
    marginal_z = joint.sum(axis=0)  # (Cs,)
    # A source class no example puts mass on has P(z) = 0; its P(y|z) is never used
    # (theta[:, z] is 0 everywhere), so any finite value avoids 0/0.
    conditional = joint / np.where(marginal_z > 0, marginal_z, 1.0)  # (C, Cs) P(y|z)
    likelihood = np.einsum("iz,iz->i", theta, conditional[y])  # (N,)
    # Strictly positive in exact arithmetic: P(y_i, z) >= theta_iz / N.
    return float(np.mean(np.log(np.maximum(likelihood, np.finfo(np.float64).tiny))))
