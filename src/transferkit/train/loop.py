"""The training loop: one screen, read top to bottom.

Methods express *what* to minimise as ``loss_fn(batch_index) -> scalar``; this loop does
the rest (optimizer step, cosine schedule, logging every ``log_every`` steps). It stays
minimal on purpose: ``benchmarks/loop_overhead.py`` checks that it runs within 5 % of a
hand-written PyTorch loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

from transferkit.errors import TrainingDiverged


def batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless random mini-batches of indices into ``range(n)``; each epoch is a permutation."""
    batch_size = min(batch_size, n)
    while True:
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n - batch_size + 1, batch_size):
            yield perm[i : i + batch_size]


def cosine(step: int, steps: int, warmup: int = 0) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def run_steps(
    model: torch.nn.Module,
    loss_fn: Callable[[int], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    steps: int,
    log_every: int = 10,
    on_log: Callable[[int, float], None] | None = None,
    warmup: int = 0,
) -> list[tuple[int, float]]:
    """Minimise ``loss_fn`` for ``steps`` steps; returns [(step, loss)] every ``log_every`` steps."""
    base = [g["lr"] for g in optimizer.param_groups]
    history: list[tuple[int, float]] = []
    model.train()
    for step in range(steps):
        scale = cosine(step, steps, warmup)
        for g, lr in zip(optimizer.param_groups, base, strict=True):
            g["lr"] = lr * scale
        loss = loss_fn(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % log_every == 0 or step == steps - 1:
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"training diverged: the loss became {value} at step {step + 1} of {steps}.",
                    "lower the method's learning rate (lr), and check the inputs for NaN or extreme values.",
                )
            history.append((step + 1, value))
            if on_log is not None:
                on_log(step + 1, value)
    for g, lr in zip(optimizer.param_groups, base, strict=True):
        g["lr"] = lr
    model.eval()
    return history
