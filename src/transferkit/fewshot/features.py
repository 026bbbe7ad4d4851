"""Feature operations shared by the few-shot methods: checks, centring, prototypes.

Centring then L2-normalising ("CL2N") is the SimpleShot recipe (Wang et al., 2019,
arXiv:1911.04623): subtracting the mean feature of the base classes removes the
direction all features share, so angles between features say more about the class.
"""

from __future__ import annotations

import numpy as np

from transferkit.errors import TransferkitError
from transferkit.inputs import as_array  # tensors on any device: numpy cannot read a GPU tensor


def check_episode(
    support_f: np.ndarray,
    support_y: np.ndarray,
    query_f: np.ndarray,
    n_way: int,
    base_mean: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validates an episode (or a batch of E episodes) and converts it for computing.

    Args:
        support_f: (S, D) or (E, S, D) support features.
        support_y: (S,) or (E, S) labels in ``0 .. n_way - 1``, every class present.
        query_f: (Q, D) or (E, Q, D) query features.
        n_way: Number of classes.
        base_mean: (D,) or None.

    Returns:
        ``support_f`` float64, ``onehot`` (..., S, n_way) float64 labels,
        ``query_f`` float64.
    """
    support_f = np.asarray(as_array(support_f), dtype=np.float64)
    query_f = np.asarray(as_array(query_f), dtype=np.float64)
    support_y = np.asarray(as_array(support_y))
    if (
        support_f.ndim not in (2, 3)
        or query_f.ndim != support_f.ndim
        or support_f.shape[:-2] != query_f.shape[:-2]
        or support_f.shape[-1] != query_f.shape[-1]
    ):
        raise TransferkitError(
            f"Support and query features must be (S, D) and (Q, D) with the same D (or "
            f"(E, S, D) and (E, Q, D) for E episodes), got {support_f.shape} and "
            f"{query_f.shape}.",
            "pass one feature vector per row, from the same shared layers.",
        )
    if support_y.shape != support_f.shape[:-1] or not np.issubdtype(support_y.dtype, np.integer):
        raise TransferkitError(
            f"support_y must hold one integer label per support row, shape "
            f"{support_f.shape[:-1]}, got shape {support_y.shape} and dtype {support_y.dtype}.",
            "pass Episode.support_y.",
        )
    if support_y.min() < 0 or support_y.max() >= n_way:
        raise TransferkitError(
            f"support_y must lie in 0..{n_way - 1} for n_way={n_way}, got labels "
            f"{support_y.min()}..{support_y.max()}.",
            "renumber the support classes 0..n_way-1 (sample_episodes does this).",
        )
    onehot = np.eye(n_way)[support_y]  # (..., S, n_way)
    missing = np.flatnonzero((onehot.sum(axis=-2) == 0).reshape(-1, n_way).any(axis=0))
    if missing.size:
        raise TransferkitError(
            f"Every class 0..{n_way - 1} needs a support example, but class(es) "
            f"{missing.tolist()} have none.",
            "draw episodes with sample_episodes, or lower n_way to the classes present.",
        )
    if base_mean is not None and np.shape(as_array(base_mean)) != (support_f.shape[-1],):
        raise TransferkitError(
            f"base_mean must be one feature vector ({support_f.shape[-1]},), got shape "
            f"{np.shape(as_array(base_mean))}.",
            "pass base_features.mean(axis=0) computed on the source (base) classes.",
        )
    if not (np.isfinite(support_f).all() and np.isfinite(query_f).all()):
        raise TransferkitError(
            "The episode's features contain NaN or infinite values.",
            "check the cached features; recompute them if the model diverged.",
        )
    return support_f, onehot, query_f


def centring_mean(support_f: np.ndarray, base_mean: np.ndarray | None) -> np.ndarray:
    """The vector features are centred on: ``base_mean`` if given, else the support mean.

    The base mean (SimpleShot's choice) comes from many examples of the source
    classes; the support mean is the fallback when no base features are kept, and
    with few shots it is a noisier estimate of the common direction.

    Args:
        support_f: (..., S, D).
        base_mean: (D,) or None.

    Returns:
        (D,) or (..., 1, D), to broadcast against (..., S, D).
    """
    if base_mean is None:
        return support_f.mean(axis=-2, keepdims=True)
    return np.asarray(as_array(base_mean), dtype=np.float64)


def center_normalize(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Subtracts ``mean`` then scales every row to unit L2 norm. x: (..., D) -> (..., D)."""
    x = x - mean
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def transpose(x: np.ndarray) -> np.ndarray:
    """Swaps the last two axes. (..., A, B) -> (..., B, A)."""
    return np.swapaxes(x, -1, -2)


def class_means(f: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Prototypes: the mean feature of each class.

    Args:
        f: (..., S, D) features.
        onehot: (..., S, C) their labels, one-hot (or soft weights).

    Returns:
        (..., C, D).
    """
    return transpose(onehot) @ f / onehot.sum(axis=-2)[..., None]


def sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances. a: (..., Q, D), b: (..., C, D) -> (..., Q, C)."""
    aa = (a * a).sum(axis=-1)[..., :, None]
    bb = (b * b).sum(axis=-1)[..., None, :]
    return np.maximum(aa - 2.0 * a @ transpose(b) + bb, 0.0)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarities. a: (..., Q, D), b: (..., C, D) -> (..., Q, C)."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ transpose(b)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis. (..., C) -> (..., C)."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)
