"""Prediction entropy and the certainty weights built from it.

Shannon entropy (natural log) of a predicted class distribution ``p`` (B, C)::

    H(p_i) = -sum_c p_ic * log p_ic            (0 <= H <= log C)

``entropy_loss`` is its batch mean, the entropy-minimisation regulariser of
Grandvalet & Bengio, "Semi-supervised Learning by Entropy Minimization", NeurIPS 2004;
it is also used to rank or select confident target examples.

``entropy_weights`` is the certainty weighting shared by CDAN+E (Long et al., NeurIPS
2018, Eq. 9) and MCC (Jin et al., ECCV 2020, Eq. 3)::

    w_i = 1 + exp(-H(p_i)),      W_i = B * w_i / sum_j w_j        (so sum_i W_i = B)

Confident predictions (low entropy) count up to twice as much as uniform ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from transferkit.errors import TransferkitError


def _check_2d(x: torch.Tensor, name: str) -> None:
    if x.dim() != 2:
        raise TransferkitError(
            f"{name} must be 2-D (batch, classes), got shape {tuple(x.shape)}.",
            "flatten extra dimensions first.",
        )


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Per-example entropy of probabilities.

    Args:
        probs: Class probabilities (B, C), rows summing to 1.

    Returns:
        Entropies in nats (B,).
    """
    _check_2d(probs, "probs")
    # Clamp inside the log only: 0 * log(tiny) is 0, and the gradient stays finite at p=0.
    tiny = torch.finfo(probs.dtype).tiny
    return -(probs * probs.clamp_min(tiny).log()).sum(dim=1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Per-example entropy of ``softmax(logits)``, via ``log_softmax`` for stability.

    Args:
        logits: Unnormalised scores (B, C).

    Returns:
        Entropies in nats (B,).
    """
    _check_2d(logits, "logits")
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1)


def entropy_loss(logits: torch.Tensor) -> torch.Tensor:
    """Mean prediction entropy, to minimise on unlabelled target data.

    Args:
        logits: Unnormalised scores (B, C).

    Returns:
        Scalar mean entropy in nats.
    """
    return entropy_from_logits(logits).mean()


def entropy_weights(probs: torch.Tensor) -> torch.Tensor:
    """Certainty weights ``1 + exp(-H)`` normalised to sum to the batch size.

    Args:
        probs: Class probabilities (B, C).

    Returns:
        Detached weights (B,) in ``(0, B)`` that sum to B. Detached because, as in
        both papers, the weights re-weight a loss and are not themselves trained.
    """
    with torch.no_grad():
        w = 1.0 + torch.exp(-entropy(probs.detach()))
        return probs.shape[0] * w / w.sum()
