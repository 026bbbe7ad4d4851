"""Deep CORAL: align the second-order statistics of source and target features.

With unbiased feature covariances of the source (n_s, d) and target (n_t, d) batches::

    C = 1/(n - 1) * (F - 1 mean(F))^T (F - 1 mean(F))        (d, d)

the loss is the squared Frobenius distance, scaled by the feature size::

    L_coral = ||C_s - C_t||_F^2 / (4 d^2)

Reference:
    Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation",
    ECCV 2016 Workshops (TASK-CV), LNCS 9915.
"""

from __future__ import annotations

import torch

from transferkit.errors import TransferkitError


def _covariance(f: torch.Tensor) -> torch.Tensor:
    centred = f - f.mean(dim=0, keepdim=True)  # (n, d)
    return centred.T @ centred / (f.shape[0] - 1)  # (d, d)


def coral_loss(f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
    """CORAL distance between source and target feature covariances.

    Args:
        f_s: Source features (n_s, d), n_s >= 2.
        f_t: Target features (n_t, d), n_t >= 2; n_t may differ from n_s.

    Returns:
        Scalar float32 loss (computed in float32 even under autocast, because
        covariances of half-precision features are unreliable).
    """
    if f_s.dim() != 2 or f_t.dim() != 2 or f_s.shape[1] != f_t.shape[1]:
        raise TransferkitError(
            f"f_s and f_t must be (batch, d) with the same d, got {tuple(f_s.shape)} and {tuple(f_t.shape)}.",
            "pass 2-D feature batches from the same shared layers.",
        )
    if f_s.shape[0] < 2 or f_t.shape[0] < 2:
        raise TransferkitError(
            f"coral_loss needs at least 2 examples per domain for a covariance, got {f_s.shape[0]} and {f_t.shape[0]}.",
            "use batches of 2 or more.",
        )
    d = f_s.shape[1]
    with torch.autocast(device_type=f_s.device.type, enabled=False):
        diff = _covariance(f_s.float()) - _covariance(f_t.float())
        return diff.pow(2).sum() / (4.0 * d * d)
