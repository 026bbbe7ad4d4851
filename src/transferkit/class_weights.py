"""Class weights for the losses on the labelled target examples (``TransferClassifier(class_weight=)``).

Every method that fits a loss on the labelled examples weighs each example alike by default,
so with labels drawn unevenly the large classes dominate it and the small ones pay: ``head``
on digits 5-9 drawn 71/24/9/5/3 (from a source of digits 0-4) found 6 % of the rarest class's
test examples, balanced accuracy 56.9 %; with ``"balanced"``, 44 % and 73.0 %
(``benchmarks/diagnostics/class_weight.py``, 3 draws; BENCHMARKS.md "Session 37"). As scikit-learn's
``class_weight``, ``"balanced"`` gives class c the weight n / (C n_c), so each class weighs
alike in the loss; a dict gives some classes their own (the others 1). The protocol's k-shot
draws are balanced, so ``transferkit run`` needs none there; its ``shots: all`` labels the whole
training pool, in the target's own mix, and its ``class_weight: balanced`` gives these weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch

from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.inputs import label_key, plain

IMBALANCED_FIT = 3.0  # largest / smallest class among fit's labels: from here fit warns without class_weight


def class_weights(spec, y: np.ndarray, labels: np.ndarray, method) -> torch.Tensor | None:
    """(C,) float32 weights of ``labels``' classes (``y``: their ids 0..C-1) from ``spec`` (None,
    ``"balanced"`` or {label: weight}), or None; a warning when ``spec`` is None, the labels
    are strongly imbalanced and ``method`` would weigh them."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(labels))
    weighs = getattr(method, "weighs_classes", True) and getattr(method, "uses_target_labels", True)
    if spec is None:
        note = imbalance_note(counts, labels, "y", f"{method.name}'s training", "class_weight='balanced'",
                              "scoring='balanced_accuracy'") if weighs else None  # fmt: skip
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
        return None
    if not len(y) and (spec == "balanced" or isinstance(spec, Mapping)):  # fit(None, None, X_unlabelled=...): k = 0
        warnings.warn("fit was given no labelled examples, so class_weight changes nothing: it weighs the losses on "
                      "labelled ones.", TransferkitWarning, stacklevel=user_stacklevel())
        weighs = True  # (said once)
    if isinstance(spec, str) and spec == "balanced":
        return balanced_weights(counts, method if not weighs else None)
    if isinstance(spec, Mapping):
        names = {label_key(v): i for i, v in enumerate(labels)}
        unknown = [k for k in spec if label_key(k) not in names]
        if unknown:
            raise TransferkitError(f"class_weight names {unknown[0]!r}, which is not one of y's classes "
                                   f"({', '.join(repr(plain(v)) for v in labels)[:200]}).",
                                   "key class_weight by the labels in y.")  # fmt: skip
        w = np.ones(len(labels))
        for k, v in spec.items():
            if not isinstance(v, int | float | np.number) or not np.isfinite(v) or v <= 0:
                raise TransferkitError(f"class_weight gives class {k!r} the weight {v!r}.",
                                       "give each class a positive number.")  # fmt: skip
            w[names[label_key(k)]] = float(v)
    else:
        raise TransferkitError(f"class_weight={spec!r} is not a class weighting.",
                               "use None, 'balanced', or a dict {label: weight}.")
    _weighs_nothing(method if not weighs else None)
    return torch.tensor(w, dtype=torch.float32)


def balanced_weights(counts: np.ndarray, unweighing=None) -> torch.Tensor:
    """(C,) float32 ``"balanced"`` weights n / (C n_c) of classes with ``counts`` (1 for a class without
    examples); ``unweighing``: a method that fits no loss on the labelled examples, said to be unchanged."""
    counts = np.asarray(counts)
    w = np.where(counts > 0, counts.sum() / (max(1, np.count_nonzero(counts)) * np.maximum(counts, 1)), 1.0)
    _weighs_nothing(unweighing)
    return torch.tensor(w, dtype=torch.float32)


def _weighs_nothing(method) -> None:
    if method is not None:
        warnings.warn(f"method {method.name!r} fits no loss on the labelled examples (one mean per class, or none), "
                      "so class_weight changes nothing there.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip


def imbalance_note(counts: np.ndarray, labels, what: str, training: str, fix: str, judge: str) -> str | None:
    """The warning for labels whose largest class has ``IMBALANCED_FIT`` times its smallest's examples or more
    (``counts``: per class, of ``labels``), else None: ``what`` names the labels, ``training`` whose training
    weighs each example alike, ``fix`` the class weighting to set and ``judge`` where balanced accuracy is."""
    counts = np.asarray(counts)
    present = counts[counts > 0]
    if len(present) < 2 or present.max() < IMBALANCED_FIT * present.min():
        return None
    big, small = int(np.argmax(counts)), int(np.argmin(np.where(counts > 0, counts, counts.max() + 1)))
    return (f"{what} is imbalanced (class {plain(labels[big])!r}: {counts[big]} examples, {plain(labels[small])!r}: "
            f"{counts[small]}): each example weighs alike in {training}, so the small classes pay. {fix} weighs each "
            f"class alike; judge either with balanced accuracy ({judge}).")
