"""Minimum Class Confusion (MCC) on unlabelled target predictions.

For target logits ``z`` (B, C) and temperature ``T``:

1. Temperature-scaled predictions ``Y = softmax(z / T)``                         (B, C)
2. Certainty weights ``W_ii = B * (1 + exp(-H(Y_i))) / sum_j (1 + exp(-H(Y_j)))``,
   detached (see :func:`transferkit.adaptation.entropy.entropy_weights`)         (B,)
3. Class confusion ``C = Y^T W Y``, i.e. ``C_jk = sum_i W_ii Y_ij Y_ik``          (C, C)
4. Category normalisation ``C~_jk = C_jk / sum_j' C_j'k`` (each column divided by its
   sum; ``C`` is symmetric, so row and column sums are the same), so frequent classes do
   not dominate
5. ``L_mcc = 1/C * sum_j sum_{k != j} C~_jk = (sum(C~) - trace(C~)) / C``

Minimising it pushes each example towards a single class while keeping the classes
apart (less confusion between any two of them). Temperature 2.5 is the paper's default.

Reference:
    Jin, Wang, Long & Wang, "Minimum Class Confusion for Versatile Domain Adaptation",
    ECCV 2020.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from transferkit.adaptation.entropy import entropy_weights
from transferkit.errors import TransferkitError


def mcc_loss(logits_t: torch.Tensor, temperature: float = 2.5) -> torch.Tensor:
    """MCC loss on a batch of target logits.

    Args:
        logits_t: Target logits (B, C), C >= 2.
        temperature: Softmax temperature T > 0.

    Returns:
        Scalar float32 loss in [0, (C - 1) / C].
    """
    if logits_t.dim() != 2 or logits_t.shape[1] < 2:
        raise TransferkitError(
            f"logits_t must be (batch, classes) with at least 2 classes, got {tuple(logits_t.shape)}.",
            "pass the target logits, one row per example.",
        )
    if not temperature > 0:
        raise TransferkitError(
            f"temperature must be > 0, got {temperature}.", "the paper uses 2.5."
        )
    num_classes = logits_t.shape[1]
    with torch.autocast(device_type=logits_t.device.type, enabled=False):
        probs = F.softmax(logits_t.float() / temperature, dim=1)  # (B, C)
        weights = entropy_weights(probs)  # (B,)
        confusion = (probs * weights[:, None]).T @ probs  # (C, C)
        # tiny keeps an (underflowed) all-zero column at 0 instead of NaN.
        confusion = confusion / confusion.sum(dim=0, keepdim=True).clamp_min(
            torch.finfo(torch.float32).tiny
        )
        return (confusion.sum() - confusion.trace()) / num_classes
