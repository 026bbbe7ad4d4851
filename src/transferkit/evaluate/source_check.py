"""Is the trained source model better than chance? A source that learnt nothing is reported.

The source model is scored on its held-out validation split (never trained on). Accuracy
not clearly above chance, binomial z < 3 (the threshold ``auto`` uses to fall back to
scratch), means its features carry little learned signal: typically too few training
steps for a small source (``source.epochs`` counts passes over the data, so 300 images at
batch 128 get 3 steps an epoch), or labels that do not match the inputs.
"""

from __future__ import annotations

import math

Z_MIN = 3.0


def weak_source_warning(val_accuracy: float, n_classes: int, n_val: int, seed: int, steps: int | None = None,
                        ) -> str | None:  # fmt: skip
    """One sentence when ``val_accuracy`` on ``n_val`` held-out examples is not clearly above
    chance (1 / ``n_classes``); None when it is, or when there was no validation."""
    if val_accuracy != val_accuracy or n_val < 1 or n_classes < 2:  # NaN: no held-out source examples
        return None
    chance = 1.0 / n_classes
    z = (val_accuracy - chance) / math.sqrt(chance * (1 - chance) / n_val)
    if z >= Z_MIN:
        return None
    trained = f" It trained {steps} step{'s' if steps != 1 else ''};" if steps is not None else ""
    return (f"source model seed {seed}: validation accuracy {100 * val_accuracy:.1f} % is not clearly above chance "
            f"({100 * chance:.0f} % for {n_classes} classes; z = {z:.1f} on {n_val} held-out examples), so its "
            f"features hold little to transfer.{trained} raise source.epochs, or check the source labels.")  # fmt: skip


def source_steps(n_train: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps of the source training (as ``train.source.pretrain_source`` counts them)."""
    return max(1, epochs * n_train // batch_size)
