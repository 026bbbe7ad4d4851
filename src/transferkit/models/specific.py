"""Specific layers: the task head (dense -> logits; softmax lives in the loss)."""

from __future__ import annotations

from torch import nn


def build_specific(in_dim: int, num_classes: int, hidden: int = 0) -> nn.Module:
    """A linear head, or dense-ReLU-dense when ``hidden > 0``. Output: (B, num_classes) logits."""
    if hidden > 0:
        return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
    return nn.Sequential(nn.Linear(in_dim, num_classes))
