r"""NCE: Negative Conditional Entropy of target labels given hard source labels.

Tran, Nguyen & Hassner, "Transferability and Hardness of Supervised Classification
Tasks", ICCV 2019.

With the source head's hard prediction :math:`z_i = \arg\max_z \theta(x_i)_z` and the
empirical joint :math:`\hat P(y, z) = \frac{1}{N}\lvert\{i : y_i = y, z_i = z\}\rvert`,

.. math::
    \mathrm{NCE} = -H(Y \mid Z)
    = \sum_{y, z} \hat P(y, z) \log \frac{\hat P(y, z)}{\hat P(z)} .

It lies in :math:`[-\log C, 0]`; 0 means the source label determines the target label.
"""

from __future__ import annotations

import numpy as np

from transferkit.ranking._inputs import check_inputs
from transferkit.ranking._registry import register_score


@register_score(
    "nce",
    "Negative conditional entropy of target labels given argmax source labels (Tran et al., ICCV 2019).",
    needs_source_probs=True,
)
def nce(features: np.ndarray, labels: np.ndarray, source_probs: np.ndarray | None = None) -> float:
    """NCE of the source head on the target data; higher means more transferable.

    Args:
        features: (N, D) target features; only checked, NCE reads the source head.
        labels: (N,) integer target labels.
        source_probs: (N, Cs) source head softmax outputs; only their argmax is used.

    Returns:
        The NCE score, in [-log C, 0].
    """
    inputs = check_inputs(features, labels, source_probs, needs_source_probs=True)
    z = np.argmax(inputs.source_probs, axis=1)
    y = inputs.labels
    joint = np.zeros((inputs.num_classes, inputs.source_probs.shape[1]))  # (C, Cs)
    np.add.at(joint, (y, z), 1.0 / len(y))
    marginal_z = joint.sum(axis=0, keepdims=True)  # (1, Cs)
    nonzero = joint > 0  # 0 log 0 = 0
    ratio = joint[nonzero] / np.broadcast_to(marginal_z, joint.shape)[nonzero]
    return float(np.sum(joint[nonzero] * np.log(ratio)))
