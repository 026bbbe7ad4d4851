"""CDAN: domain-adversarial loss conditioned on the classifier's predictions.

The discriminator sees the joint of features ``f`` (B, D) and softmax predictions
``g`` (B, C) through the multilinear map, the flattened outer product::

    h = f (x) g,    h_i[d * C + c] = f_id * g_ic                          (B, D*C)

When ``D*C`` is too large (here > 4096) the randomized multilinear map replaces it,
with Gaussian matrices ``R_f`` (D, d_out) and ``R_g`` (C, d_out) drawn once at
construction and never trained::

    h = (f R_f) * (g R_g) / sqrt(d_out)        (element-wise product, B x d_out)

whose inner products approximate those of ``f (x) g`` in expectation (Long et al.,
Theorem 1). ``g`` is detached, as in the paper: the classifier is trained by the task
loss, the adversarial gradient reaches it only through ``f``.

With entropy conditioning (CDAN+E) each example is weighted by its certainty,
``w = 1 + exp(-H(g))`` normalised to sum to the batch size in each domain, so
confident, transferable examples dominate::

    L = 1/2 * ( sum_s w_s BCE(D(R(h_s)), 1) / sum_s w_s + sum_t w_t BCE(D(R(h_t)), 0) / sum_t w_t )

with ``R`` the gradient reversal layer.

Reference:
    Long, Cao, Wang & Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from transferkit.adaptation.domain_discriminator import DomainDiscriminator, domain_adversarial_loss
from transferkit.adaptation.entropy import entropy_weights
from transferkit.errors import TransferkitError

# Above this D*C the full outer product is replaced by the randomized map (memory and
# discriminator size grow as D*C; e.g. 2048 features x 31 classes = 63,488 inputs).
MAX_MULTILINEAR_DIM = 4096


def multilinear_map(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Flattened outer product of features and predictions.

    Args:
        f: Features (B, D).
        g: Predictions (B, C).

    Returns:
        ``h`` (B, D*C) with ``h[:, d * C + c] = f[:, d] * g[:, c]``.
    """
    return (f.unsqueeze(2) * g.unsqueeze(1)).flatten(1)  # (B, D, C) -> (B, D*C)


class RandomizedMultilinearMap(nn.Module):
    """``h = (f R_f) * (g R_g) / sqrt(out_dim)`` with fixed Gaussian ``R_f``, ``R_g``.

    The matrices are buffers: saved in checkpoints and moved by ``.to()``, not trained.

    Args:
        feature_dim: D.
        num_classes: C.
        out_dim: d_out, the size of ``h``.
    """

    def __init__(self, feature_dim: int, num_classes: int, out_dim: int = 1024) -> None:
        super().__init__()
        self.register_buffer("r_f", torch.randn(feature_dim, out_dim))  # (D, d_out)
        self.register_buffer("r_g", torch.randn(num_classes, out_dim))  # (C, d_out)
        self.out_dim = out_dim

    def forward(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Map features and predictions to the discriminator's input.

        Args:
            f: Features (B, D).
            g: Predictions (B, C).

        Returns:
            ``h`` (B, out_dim).
        """
        return (f @ self.r_f) * (g @ self.r_g) / math.sqrt(self.out_dim)


class CDANLoss(nn.Module):
    """CDAN(+E) loss with its own domain discriminator.

    Holds trainable parameters: add ``cdan_loss.parameters()`` to the optimiser.

    Args:
        feature_dim: D, size of the shared-layer features.
        num_classes: C, number of classes.
        randomized: Use the randomized multilinear map. ``None`` picks it when
            ``feature_dim * num_classes > MAX_MULTILINEAR_DIM``.
        out_dim: Size of the randomized map's output (ignored without randomization).
        hidden: Hidden width of the discriminator.
        entropy_conditioning: Weight examples by ``1 + exp(-H(g))`` (CDAN+E).
    """

    def __init__(
        self,
        feature_dim: int,
        num_classes: int,
        randomized: bool | None = None,
        out_dim: int = 1024,
        hidden: int = 256,
        entropy_conditioning: bool = True,
    ) -> None:
        super().__init__()
        if feature_dim < 1 or num_classes < 2 or out_dim < 1:
            raise TransferkitError(
                f"CDANLoss needs feature_dim >= 1, num_classes >= 2 and out_dim >= 1, got "
                f"feature_dim={feature_dim}, num_classes={num_classes}, out_dim={out_dim}.",
                "pass the feature width, the number of classes (2+) and a positive out_dim.",
            )
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.randomized = (
            feature_dim * num_classes > MAX_MULTILINEAR_DIM if randomized is None else randomized
        )
        self.entropy_conditioning = entropy_conditioning
        self.random_map = (
            RandomizedMultilinearMap(feature_dim, num_classes, out_dim) if self.randomized else None
        )
        in_dim = out_dim if self.randomized else feature_dim * num_classes
        self.discriminator = DomainDiscriminator(in_dim, hidden)

    def _map(self, f: torch.Tensor, g: torch.Tensor, domain: str) -> torch.Tensor:
        if f.dim() != 2 or f.shape[1] != self.feature_dim:
            raise TransferkitError(
                f"{domain} features must be (batch, {self.feature_dim}), got {tuple(f.shape)}.",
                "pass the shared-layer output that CDANLoss(feature_dim=...) was built for.",
            )
        if g.shape != (f.shape[0], self.num_classes):
            raise TransferkitError(
                f"{domain} predictions must be ({f.shape[0]}, {self.num_classes}), got {tuple(g.shape)}.",
                "pass the classifier's logits or probabilities for the same batch.",
            )
        g = g.detach()
        # A cheap guard for the commonest mistake: logits instead of probabilities.
        if not torch.allclose(g.sum(1), torch.ones_like(g[:, 0]), atol=1e-2) or bool((g < 0).any()):
            raise TransferkitError(
                f"{domain} predictions must be probabilities (rows >= 0 summing to 1).",
                "pass softmax(logits, dim=1), not the logits.",
            )
        return self.random_map(f, g) if self.random_map is not None else multilinear_map(f, g)

    def forward(
        self,
        f_s: torch.Tensor,
        g_s: torch.Tensor,
        f_t: torch.Tensor,
        g_t: torch.Tensor,
        coeff: float = 1.0,
    ) -> torch.Tensor:
        """The CDAN(+E) domain loss of one source and one target batch.

        Args:
            f_s: Source features (Bs, D).
            g_s: Source softmax predictions (Bs, C); detached here.
            f_t: Target features (Bt, D).
            g_t: Target softmax predictions (Bt, C); detached here.
            coeff: Gradient reversal scale for the features.

        Returns:
            Scalar loss; add it to the source task loss and minimise the sum.
        """
        h_s = self._map(f_s, g_s, "source")
        h_t = self._map(f_t, g_t, "target")
        w_s = entropy_weights(g_s) if self.entropy_conditioning else None
        w_t = entropy_weights(g_t) if self.entropy_conditioning else None
        return domain_adversarial_loss(self.discriminator, h_s, h_t, coeff, w_s, w_t)
