"""The target splits: a fixed test split, and k labelled examples per class per seed.

The test split is drawn once, stratified, from ``split_seed`` alone, so every run seed
and every method is scored on the same held-out examples. From the remaining pool each
run seed draws ``k`` labelled examples per class; the rest of the pool is handed to
methods *without labels* (:class:`TargetData` has no field that holds them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from transferkit.errors import TransferkitError


@dataclass(frozen=True)
class TestSplit:
    test_idx: np.ndarray
    pool_idx: np.ndarray


def no_test_split(n: int) -> TestSplit:
    """Every example in the pool, none held out (few-shot: episodes hold their own queries)."""
    return TestSplit(np.zeros(0, dtype=np.int64), np.arange(n))


@dataclass(frozen=True)
class TargetData:
    """What a method may see of the target: labelled k-shot examples and unlabelled inputs.

    Attributes:
        x_labelled: (k * C, ...) inputs with labels ``y_labelled``.
        y_labelled: (k * C,) labels.
        x_unlabelled: (U, ...) pool inputs; their labels are not here on purpose.
        num_classes: Number of target classes.
    """

    x_labelled: torch.Tensor
    y_labelled: torch.Tensor
    x_unlabelled: torch.Tensor
    num_classes: int

    @property
    def shots(self) -> int:
        return len(self.y_labelled) // self.num_classes if self.num_classes else 0


def make_test_split(
    y: np.ndarray, test_fraction: float = 0.3, split_seed: int = 0, classes: list[str] | None = None
) -> TestSplit:
    """Stratified split of ``y`` into a test part and a pool, depending on ``split_seed`` only.

    ``classes``: names of the class ids, for the errors."""
    if not 0.0 < test_fraction < 1.0:
        raise TransferkitError(f"test_fraction={test_fraction} must be between 0 and 1.", "use e.g. 0.3.")
    rng = np.random.default_rng(split_seed)
    test, pool = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_fraction))
        name = repr(classes[int(c)]) if classes is not None and int(c) < len(classes) else str(int(c))
        if len(idx) < 2:
            raise TransferkitError(
                f"class {name} has {len(idx)} example: too few to split into test and pool.",
                "give every class at least 2 examples (better 10+).",
            )
        if n_test == 0:  # round(n f) >= 1 needs n f > 0.5 (Python rounds 0.5 to 0)
            least = math.floor(1000 * 0.5 / len(idx)) / 1000 + 0.001
            raise TransferkitError(
                f"test_fraction={test_fraction} of class {name}'s {len(idx)} examples rounds to no test example.",
                f"use test_fraction {least:.3f} or more, or add examples of that class.",
            )
        if n_test == len(idx):  # round(n f) <= n - 1 needs n f < n - 0.5
            most = math.ceil(1000 * (len(idx) - 0.5) / len(idx)) / 1000 - 0.001
            raise TransferkitError(
                f"test_fraction={test_fraction} of class {name}'s {len(idx)} examples leaves none for training.",
                f"use test_fraction {most:.3f} or less, or add examples of that class.",
            )
        test.append(idx[:n_test])
        pool.append(idx[n_test:])
    return TestSplit(np.sort(np.concatenate(test)), np.sort(np.concatenate(pool)))


def draw_shots(
    y: np.ndarray, pool_idx: np.ndarray, k: int, seed: int, classes: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` labelled indices per class from the pool (seeded), and the unlabelled rest."""
    if k < 0:
        raise TransferkitError(f"shots={k} is negative.", "use 0 (no labels) or more.")
    rng = np.random.default_rng([seed, k, 7919])
    labelled = []
    for c in np.unique(y):
        idx = pool_idx[y[pool_idx] == c]
        if len(idx) < k:
            name = classes[c] if classes else str(int(c))
            raise TransferkitError(
                f"target class {name!r} has {len(idx)} examples in the training pool, fewer than shots={k}.",
                "lower `shots`, lower `test_fraction`, or add examples of that class.",
            )
        labelled.append(rng.choice(idx, size=k, replace=False))
    lab = np.sort(np.concatenate(labelled)) if labelled else np.empty(0, dtype=np.int64)
    unl = np.setdiff1d(pool_idx, lab)
    return lab, unl
