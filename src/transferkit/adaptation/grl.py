"""Gradient reversal layer and its warm-up schedule.

The gradient reversal layer (GRL) is the identity in the forward pass and multiplies
the incoming gradient by ``-coeff`` in the backward pass::

    R(x) = x,        dR/dx = -coeff * I

Placed between the shared layers and a domain discriminator, it lets one optimiser
step *minimise* the discriminator's loss for the discriminator while *maximising* it
for the features (the min-max game of domain-adversarial training) without a second
optimiser or alternating updates.

``coeff`` is usually warmed up from 0 to ``max_coeff`` so that the noisy early
discriminator does not wreck the features::

    coeff(p) = max_coeff * (2 / (1 + exp(-gamma * p)) - 1),   p = step / total_steps in [0, 1]

References:
    Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015.
    Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand & Lempitsky,
    "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016 (Sec. 5.2.2 gives
    the schedule with gamma = 10).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from transferkit.errors import TransferkitError


class GradientReverse(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by ``-coeff``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        # view_as, not x itself: returning the input unchanged would not record the node.
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad_output, None


def grad_reverse(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Reverse (and scale) the gradient flowing back through ``x``.

    Args:
        x: Any tensor, e.g. features (B, D).
        coeff: Scale of the reversed gradient (>= 0); 0 cuts the gradient off.

    Returns:
        ``x`` unchanged, same shape; its gradient becomes ``-coeff * grad``.
    """
    coeff = float(coeff)
    if not coeff >= 0.0:  # also catches NaN
        raise TransferkitError(
            f"grad_reverse coeff must be >= 0, got {coeff}.",
            "pass a non-negative scale (the sign flip is what grad_reverse adds).",
        )
    return GradientReverse.apply(x, coeff)


def warmup_coeff(progress: float, max_coeff: float = 1.0, gamma: float = 10.0) -> float:
    """The DANN schedule for the reversal coefficient.

    Args:
        progress: Fraction of training done, ``p = step / total_steps`` in [0, 1].
        max_coeff: Value approached at the end of training.
        gamma: Steepness; 10 as in Ganin et al. (2016).

    Returns:
        ``max_coeff * (2 / (1 + exp(-gamma * progress)) - 1)``: 0 at ``progress=0``,
        about ``0.9999 * max_coeff`` at ``progress=1`` with ``gamma=10``.
    """
    if not 0.0 <= progress <= 1.0:
        raise TransferkitError(
            f"warmup_coeff progress must be in [0, 1], got {progress}.",
            "pass step / total_steps.",
        )
    return max_coeff * (2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0)
