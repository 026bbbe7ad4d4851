"""Specific layers: the task head (dense -> logits; softmax lives in the loss).

Two kinds, named in the model's JSON config under ``"specific"`` so that
:meth:`TransferModel.load` rebuilds the right modules before loading the weights:

* ``"linear"`` (default, also when the key is absent): dense, or dense-ReLU-dense;
* ``"normalised"``: :class:`NormalisedFeatures` then dense. The head of the prototype
  classifiers (``methods/prototypes.py``, ``methods/transductive.py``), whose dense
  weights are the class prototypes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SPECIFIC_KINDS = ("linear", "normalised")


class NormalisedFeatures(nn.Module):
    """Centres features, scales them to unit L2 norm, adds a shift and normalises again.

    ``z = (f - center) / ||f - center||``, output ``(z + shift) / ||z + shift||``: the
    "CL2N" transform of SimpleShot (Wang et al., 2019, arXiv:1911.04623) followed by the
    shift term of BD-CSPN (Liu et al., ECCV 2020). With ``shift = 0`` (the default) the
    second normalisation changes nothing. Both vectors are buffers, saved with the
    weights. (B, D) -> (B, D).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("center", torch.zeros(dim))
        self.register_buffer("shift", torch.zeros(dim))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        z = F.normalize(f.flatten(1) - self.center, dim=1, eps=1e-12)
        return F.normalize(z + self.shift, dim=1, eps=1e-12)


def build_specific(in_dim: int, num_classes: int, hidden: int = 0, kind: str = "linear") -> nn.Module:
    """Specific layers of ``kind`` (see the module docstring). Output: (B, num_classes) logits.

    ``"linear"``: a dense layer, or dense-ReLU-dense when ``hidden > 0``.
    ``"normalised"``: centre + L2-normalise, then a dense layer (``hidden`` is ignored).
    """
    if kind == "normalised":
        return nn.Sequential(NormalisedFeatures(in_dim), nn.Linear(in_dim, num_classes))
    if kind != "linear":
        raise ValueError(f"unknown specific-layer kind {kind!r}; use one of {SPECIFIC_KINDS}")
    if hidden > 0:
        return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
    return nn.Sequential(nn.Linear(in_dim, num_classes))
