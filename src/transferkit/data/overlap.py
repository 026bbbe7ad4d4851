"""Leak check: target test examples that also appear, input for input, in the source.

A source that holds the target's test examples trains the source model on what it is
scored on: ``source_only`` and every transfer method then look better than they are
(e.g. ``mnist5k`` as the source of ``mnist5k[0-4]``). Inputs are compared exactly, in the
form they were loaded in (a rescaled or resized copy is not recognised).
"""

from __future__ import annotations

import hashlib

import numpy as np

from transferkit.errors import TransferkitError

# More than this share of the test split found in the source is a leak, not a few stray
# duplicates (real data sets hold some exact duplicates; they are reported, not refused).
LEAK_SHARE = 0.05


def _keys(domain, idx: np.ndarray | None = None) -> list:
    """One hashable key per example: the text itself, or a digest of the input's bytes."""
    rows = range(len(domain.y)) if idx is None else idx
    texts = getattr(domain, "texts", None)
    if texts is not None:
        return [texts[i] for i in rows]
    flat = np.ascontiguousarray(domain.x.reshape(len(domain.x), -1))
    return [hashlib.blake2b(flat[i].tobytes(), digest_size=16).digest() for i in rows]


def count_test_in_source(source, target, test_idx: np.ndarray) -> int:
    """How many of ``target``'s examples at ``test_idx`` appear exactly among ``source``'s inputs."""
    if source is None or len(test_idx) == 0:
        return 0
    if (getattr(source, "texts", None) is None) != (getattr(target, "texts", None) is None):
        return 0
    if getattr(source, "texts", None) is None and source.x.shape[1:] != target.x.shape[1:]:
        return 0  # inputs of another shape cannot be the same examples
    seen = set(_keys(source))
    return sum(k in seen for k in _keys(target, np.asarray(test_idx)))


def check_test_not_in_source(source, target, test_idx: np.ndarray) -> int:
    """Refuses a source holding more than ``LEAK_SHARE`` of the test split; returns the count."""
    n = count_test_in_source(source, target, test_idx)
    m = len(test_idx)
    if n > LEAK_SHARE * m:
        raise TransferkitError(
            f"{n} of the target's {m} test examples are also in the source {source.name!r}: the source model "
            "would be trained on the examples every method is scored on, and all transfer results would be inflated.",
            "use a source without the target's examples (other classes or another data set), or remove them "
            "from the source file.",
        )
    return n
