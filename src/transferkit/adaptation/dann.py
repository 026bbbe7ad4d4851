"""DANN: domain-adversarial loss on the features themselves.

A domain discriminator ``D`` classifies shared-layer features as source (1) or target
(0); a gradient reversal layer ``R`` in front of it makes the features maximise the
same loss that ``D`` minimises::

    L_dann = 1/2 * ( mean_source BCE(D(R(f_s)), 1) + mean_target BCE(D(R(f_t)), 0) )

The full objective is ``L_task(source) + L_dann`` with the reversal scale ``coeff``
warmed up by :func:`transferkit.adaptation.grl.warmup_coeff`.

References:
    Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015.
    Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016.
"""

from __future__ import annotations

import torch
from torch import nn

from transferkit.adaptation.domain_discriminator import domain_adversarial_loss


def dann_loss(
    discriminator: nn.Module, f_s: torch.Tensor, f_t: torch.Tensor, coeff: float = 1.0
) -> torch.Tensor:
    """The DANN domain loss.

    Args:
        discriminator: Maps (B, D) to logits (B,), e.g. ``DomainDiscriminator(D)``; its
            parameters must be in the optimiser.
        f_s: Source features (Bs, D).
        f_t: Target features (Bt, D).
        coeff: Gradient reversal scale for the features.

    Returns:
        Scalar loss; add it to the source task loss and minimise the sum.
    """
    return domain_adversarial_loss(discriminator, f_s, f_t, coeff)
