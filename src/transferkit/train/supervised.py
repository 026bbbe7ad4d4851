"""Supervised training on labelled examples: the building block most methods share."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from transferkit.devices import device_of
from transferkit.models import TransferModel
from transferkit.train.augment import augmenter
from transferkit.train.loop import batches, run_steps


def fit_supervised(
    model: TransferModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    groups: list[dict],
    steps: int,
    batch_size: int,
    seed: int,
    augment: bool | str = True,
    penalty: Callable[[], torch.Tensor] | None = None,
    on_log: Callable[[int, float], None] | None = None,
    log_every: int | None = None,
    class_weight: torch.Tensor | None = None,
) -> list[tuple[int, float]]:
    """Minimise cross-entropy (+ ``penalty()``) on (x, y) with Adam and a cosine schedule.

    Args:
        x: (N, *input_shape) inputs; y: (N,) labels.
        groups: Parameter groups from :meth:`TransferModel.param_groups`.
        class_weight: (C,) each class's weight in the cross-entropy (a weighted mean over the
            batch), or None.
    """
    gen = torch.Generator().manual_seed(seed)
    it = batches(len(y), batch_size, gen)
    move = augmenter(augment, tuple(x.shape[1:]), model.config.get("architecture", "auto"))
    optimizer = torch.optim.AdamW(groups)

    def loss_fn(step: int) -> torch.Tensor:
        idx = next(it)
        xb = move(x[idx], gen) if move else x[idx]
        out = model(xb)
        loss = F.cross_entropy(out, y[idx], weight=None if class_weight is None else class_weight.to(out.device))
        return loss + penalty() if penalty is not None else loss

    per_epoch = min(batch_size, len(y)) / len(y)
    log = None if on_log is None else (lambda step, loss: on_log(step, loss, step * per_epoch))
    return run_steps(model, loss_fn, optimizer, steps, log_every or max(1, steps // 20), log)


@torch.inference_mode()
def predict_proba(model: TransferModel, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """(N, *input_shape) -> (N, C) class probabilities, in eval mode, in batches, on the
    model's device (``x`` may be elsewhere, e.g. on the CPU: one batch at a time moves)."""
    model.eval()
    from transferkit.train.feature_cache import frozen_features, is_frozen_pretrained

    if is_frozen_pretrained(model):  # a probed pretrained encoder: features from the disk cache
        return F.softmax(model.specific(frozen_features(model, x).to(model.device)), dim=1)
    device = device_of(model)
    return torch.cat([F.softmax(model(x[i : i + batch_size].to(device)), dim=1) for i in range(0, len(x), batch_size)])


@torch.no_grad()  # not inference_mode: cached features feed autograd (head training)
def extract_features(model: TransferModel, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """(N, *input_shape) -> (N, D) shared-layer features, computed once in eval mode."""
    model.eval()
    device = device_of(model)
    return torch.cat([model.features(x[i : i + batch_size].to(device)) for i in range(0, len(x), batch_size)])
