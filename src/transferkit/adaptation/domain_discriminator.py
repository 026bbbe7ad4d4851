"""Domain discriminator and the domain-adversarial loss.

The discriminator ``D`` maps a feature (or a CDAN multilinear map) to one logit, the
log-odds that it came from the *source* domain. The loss is binary cross-entropy with
source = 1 and target = 0, on features passed through the gradient reversal layer
``R`` (:mod:`transferkit.adaptation.grl`), averaged per domain::

    L = 1/2 * ( sum_i w_i * BCE(D(R(f_i)), 1) / sum_i w_i       over source examples i
              + sum_j w_j * BCE(D(R(f_j)), 0) / sum_j w_j )     over target examples j

with ``w = 1`` unless weights are given. Minimising ``L`` trains ``D`` to tell the
domains apart, while the reversed gradient trains the features to confuse it. A
chance-level discriminator (logit 0) gives ``L = log 2``.

Averaging each domain separately follows the DANN objective (Ganin et al., JMLR 2016,
Eq. 9: the source and target domain losses are each normalised by their sample count),
so unequal batch sizes do not tilt the discriminator towards the larger domain.
Weighted per-domain means match CDAN+E (Long et al., NeurIPS 2018, Eq. 9).
The factor 1/2 is ours (as in common reimplementations), not the papers': it keeps ``L``
on the scale of one BCE. Eq. 9 adds the two domain losses, so the reversed gradient the
features get at ``trade_off = 1`` is that of the paper's ``lambda = 1/2`` (``lambda =
trade_off / 2``).

References:
    Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016.
    Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from transferkit.adaptation.grl import grad_reverse
from transferkit.errors import TransferkitError


class DomainDiscriminator(nn.Module):
    """MLP ``Linear-ReLU-Linear-ReLU-Linear(1)`` that outputs a source-vs-target logit.

    Args:
        in_dim: Size D of the input features.
        hidden: Width of the two hidden layers.
    """

    def __init__(self, in_dim: int, hidden: int = 256) -> None:
        super().__init__()
        if in_dim < 1 or hidden < 1:
            raise TransferkitError(
                f"DomainDiscriminator needs in_dim >= 1 and hidden >= 1, got in_dim={in_dim}, hidden={hidden}.",
                "pass the feature size of the shared layers as in_dim.",
            )
        self.in_dim = in_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Score each example's features.

        Args:
            f: Features (B, in_dim).

        Returns:
            Logits (B,); ``sigmoid(logit)`` is P(source).
        """
        return self.net(f).squeeze(1)


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None, name: str) -> torch.Tensor:
    if weights is None:
        return values.mean()
    if weights.shape != values.shape:
        raise TransferkitError(
            f"{name} must have shape {tuple(values.shape)} (one weight per example), got {tuple(weights.shape)}.",
            "pass one weight per example, or none.",
        )
    # Weights re-weight the loss; they are not trained through (e.g. CDAN entropy weights).
    weights = weights.detach().to(values.dtype)
    return (weights * values).sum() / weights.sum().clamp_min(torch.finfo(values.dtype).tiny)


def domain_adversarial_loss(
    discriminator: nn.Module,
    f_source: torch.Tensor,
    f_target: torch.Tensor,
    coeff: float = 1.0,
    weights_source: torch.Tensor | None = None,
    weights_target: torch.Tensor | None = None,
) -> torch.Tensor:
    """Domain-classification BCE on gradient-reversed features.

    Args:
        discriminator: Maps (B, D) to logits (B,), e.g. :class:`DomainDiscriminator`.
        f_source: Source features (Bs, D); labelled domain 1.
        f_target: Target features (Bt, D); labelled domain 0. Bt may differ from Bs.
        coeff: Gradient reversal scale for the features (see ``warmup_coeff``); the
            discriminator itself always gets the ordinary gradient.
        weights_source: Optional non-negative per-example weights (Bs,); detached.
        weights_target: Optional non-negative per-example weights (Bt,); detached.

    Returns:
        Scalar loss, the mean of the two per-domain (weighted) mean BCEs.
    """
    if f_source.dim() != 2 or f_target.dim() != 2 or f_source.shape[1] != f_target.shape[1]:
        raise TransferkitError(
            "f_source and f_target must be (batch, D) with the same D, got "
            f"{tuple(f_source.shape)} and {tuple(f_target.shape)}.",
            "pass 2-D feature batches from the same shared layers.",
        )
    if f_source.shape[0] == 0 or f_target.shape[0] == 0:
        raise TransferkitError(
            "domain_adversarial_loss needs at least one source and one target example.",
            "pass non-empty source and target batches.",
        )
    n_source = f_source.shape[0]
    # One discriminator call over both domains so BatchNorm-like layers (if any) see both.
    logits = discriminator(grad_reverse(torch.cat([f_source, f_target]), coeff))  # (Bs + Bt,)
    labels = torch.cat([logits.new_ones(n_source), logits.new_zeros(f_target.shape[0])])
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    loss_source = _weighted_mean(bce[:n_source], weights_source, "weights_source")
    loss_target = _weighted_mean(bce[n_source:], weights_target, "weights_target")
    return 0.5 * (loss_source + loss_target)
