"""Is the trained source model better than chance? A source that learnt nothing is reported.

The source model is scored on its held-out validation split (never trained on). Accuracy
not even plausibly above chance (the most frequent class's rate there), binomial z < 2
(one-sided p > 0.02; ``auto``, which acts on it, asks for z >= 3), suggests its features
carry little learned signal: typically too few training
steps for a small source (``source.epochs`` counts passes over the data, so 300 images at
batch 128 get 3 steps an epoch), or labels that do not match the inputs.
"""

from __future__ import annotations

import math

import numpy as np

Z_MIN = 2.0


def weak_source_warning(val_accuracy: float, val_labels, seed: int, steps: int | None = None) -> str | None:
    """One sentence when ``val_accuracy`` on the held-out examples labelled ``val_labels`` is
    not clearly above chance and nearer chance than 100 %; None when it is, when there was
    no validation, or when even 100 % could not be told from chance on so few examples.

    Chance is the rate of the most frequent class among ``val_labels`` (what always
    predicting that class scores), not 1 / classes: on an imbalanced source the two differ.
    """
    judged = not_above_chance(val_accuracy, val_labels)
    if judged is None:
        return None
    chance, z = judged
    n_val = len(val_labels)
    trained = f" It trained {steps} step{'s' if steps != 1 else ''};" if steps is not None else ""
    return (f"source model seed {seed}: validation accuracy {100 * val_accuracy:.1f} % is not clearly above chance "
            f"({100 * chance:.0f} %, always predicting its most frequent class; z = {z:.1f} on {n_val} held-out "
            f"examples), so its features may hold little to transfer.{trained} {'r' if trained else 'R'}aise "
            "source.epochs, or check the source labels.")  # fmt: skip


def chance_z(accuracy: float, labels) -> tuple[float, float] | None:
    """(chance, z): the rate of always predicting the most frequent of ``labels``, and the binomial
    z of ``accuracy`` on those examples against it; None with no examples or a single class."""
    labels = np.asarray(labels)
    n = len(labels)
    if n < 1:
        return None
    chance = float(np.bincount(labels).max()) / n
    if chance >= 1.0:
        return None
    return chance, (accuracy - chance) / math.sqrt(chance * (1 - chance) / n)


def not_above_chance(accuracy: float, labels) -> tuple[float, float] | None:
    """(chance, z) when ``accuracy`` on examples labelled ``labels`` is not clearly above chance
    (binomial z < 2 against the most frequent class's rate) and nearer chance than 100 %; None
    when it is above, when there are no examples, or when even 100 % could not be told from
    chance on so few."""
    judged = chance_z(accuracy, labels) if accuracy == accuracy else None  # NaN: no examples
    if judged is None:
        return None
    chance, z = judged
    sd = math.sqrt(chance * (1 - chance) / len(labels))
    if (1.0 - chance) / sd < Z_MIN:  # too few examples to judge either way
        return None
    if z >= Z_MIN or accuracy - chance > (1.0 - chance) / 2:  # nearer perfect than chance: a small
        return None  # split's low power, not a weak model (e.g. 26 of 27 right against 85 % chance)
    return chance, z


def labels_unused_note(method: str, accuracy: float, labels) -> str | None:
    """For a method that never trains on the labelled target examples (``source_only``,
    ``adabn``): they are held out from it, so its accuracy on them is an honest estimate.
    One sentence when that is not clearly above chance, else None."""
    judged = not_above_chance(accuracy, labels)
    if judged is None:
        return None
    chance, z = judged
    return (f"{method} does not train on the labelled target examples, and on those {len(labels)} it scores "
            f"{100 * accuracy:.1f} %, not clearly above chance ({100 * chance:.0f} %, always predicting their most "
            f"frequent class; z = {z:.1f}): the source's classifier, as it applies it, does not carry over to this "
            "target. 'head' or 'finetune' learn from those labels (method='auto' chooses).")


def source_steps(n_train: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps of the source training (as ``train.source.pretrain_source`` counts them)."""
    return max(1, epochs * n_train // batch_size)
