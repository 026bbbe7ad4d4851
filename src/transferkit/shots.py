"""k, a run's labelled target examples per class: a whole number, or ``all``.

``target.shots: all`` labels every example of the training pool (the target less its fixed
test split), however many each class has; the unlabelled pool is then empty, and every seed
trains on the same examples (only the training randomness differs). Everywhere a k is kept
(summary.json, the CSVs, model names, the cache) it is the string ``"all"``, ordered after
every whole number.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

ALL = "all"
Shots = int | Literal["all"]


def shots_order(k) -> tuple[int, int]:
    """A sort key: the whole numbers in order, then ``all`` (also as summary.json's keys, strings)."""
    return (1, 0) if str(k) == ALL else (0, int(k))


def largest(shots) -> Shots:
    """The largest k of ``shots`` (``all`` when among them)."""
    return max(shots, key=shots_order)


def has_labels(k) -> bool:
    """Whether k gives the methods target labels (every k but 0; ``all`` too)."""
    return str(k) == ALL or int(k) > 0


def fewest_per_class(k: Shots, y: np.ndarray, pool_idx: np.ndarray) -> int:
    """The labelled examples of the smallest class at k: k, or at ``all`` the smallest class's training pool."""
    if k != ALL:
        return int(k)
    return min((int((y[pool_idx] == c).sum()) for c in np.unique(y)), default=0)


def shots_arg(text: str) -> Shots:
    """``--shots``: a whole number or ``all`` (argparse's type)."""
    import argparse

    if text.strip().lower() == ALL:
        return ALL
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a whole number nor all") from None


def labelled_counts_text(counts: dict) -> str:
    """'12 to 40 a class, 84 in all' of the labelled examples per class at ``all`` (``counts``: class -> n)."""
    n = list(counts.values())
    each = f"{min(n)} a class" if min(n) == max(n) else f"{min(n)} to {max(n)} a class"
    return f"{each}, {sum(n)} in all"
