"""Training the specific layers on cached shared-layer features (a linear probe).

With the shared layers frozen their output never changes, so features are computed once
(:func:`extract_features`, BatchNorm in eval mode) and the head trains on the cache:
full-batch AdamW on a (N, D) matrix, thousands of times cheaper than forward passes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from transferkit.models import TransferModel
from transferkit.train.feature_cache import frozen_features
from transferkit.train.loop import run_steps


def fit_probe(
    model: TransferModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 300,
    lr: float = 1e-2,
    weight_decay: float = 1e-3,
    on_log: Callable[[int, float], None] | None = None,
) -> list[tuple[int, float]]:
    """Train ``model.specific`` on features of ``x`` (shared layers untouched)."""
    feats = frozen_features(model, x)  # (N, D), computed once (disk-cached for pretrained shared layers)
    head = model.specific
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    log = None if on_log is None else (lambda step, loss: on_log(step, loss, float(step)))  # full batch: 1 step = 1 epoch
    return run_steps(head, lambda _: F.cross_entropy(head(feats), y), optimizer, steps, max(1, steps // 20), log)
