"""Few-shot evaluation: a method's accuracy over many episodes, with a 95 % interval.

Features are precomputed (cached) by the shared layers; nothing here touches a model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from transferkit.errors import TransferkitError
from transferkit.fewshot.episodes import Episode
from transferkit.fewshot.registry import FewShotMethod, get_fewshot_method
from transferkit.inputs import as_array


@dataclass(frozen=True)
class EpisodeResult:
    """Accuracy of one few-shot method over a set of episodes.

    Attributes:
        method: Registry name of the method.
        accuracies: Query accuracy of each episode, (E,), in [0, 1].
        mean: Mean accuracy.
        ci95: Half-width of the 95 % confidence interval of the mean,
            ``t_{0.975, E-1} * std / sqrt(E)`` (sample std, ``ddof=1``); NaN for one episode.
        seconds: Wall-clock time spent gathering features, predicting and scoring, all
            episodes together.
        class_ids: Original class ids, sorted, that ``class_correct`` and ``class_total``
            count: how many of each class's queries were classified correctly, and how
            many there were, over all episodes (their ratio is the class's accuracy, its
            recall); None when not recorded.
        choices: For ``auto``, how many episodes it chose each method for; None otherwise.
    """

    method: str
    accuracies: np.ndarray
    mean: float
    ci95: float
    seconds: float
    class_ids: np.ndarray | None = None
    class_correct: np.ndarray | None = None
    class_total: np.ndarray | None = None
    choices: dict[str, int] | None = None  # ``auto``: the method it chose, episodes each

    @property
    def interval(self) -> tuple[float, float]:
        """(low, high) of the 95 % confidence interval."""
        return self.mean - self.ci95, self.mean + self.ci95

    def as_dict(self) -> dict[str, float | int | str]:
        """A JSON-ready summary (no per-episode accuracies)."""
        return {
            "method": self.method,
            "mean": self.mean,
            "ci95": self.ci95,
            "n_episodes": len(self.accuracies),
            "seconds": self.seconds,
        }

    def __str__(self) -> str:
        return (
            f"{self.method}: {100 * self.mean:.2f} ± {100 * self.ci95:.2f} % "
            f"({count_episodes(len(self.accuracies))}, {self.seconds:.2f} s)"
        )


def count_episodes(n: int) -> str:
    """The words for ``n`` episodes: "1 episode", "600 episodes"."""
    return f"{n} episode{'' if n == 1 else 's'}"


def confidence_interval(accuracies: np.ndarray, std_floor: float = 0.0) -> tuple[float, float]:
    """Mean and 95 % half-width ``t_{0.975, n-1} * max(std(ddof=1), std_floor) / sqrt(n)``. accuracies: (E,).

    ``std_floor``: the resolution of one accuracy (one query of an episode), so that a few
    episodes that happen to score alike are not shown as an exact result.

    Student's t rather than the normal 1.96: identical to three digits at the usual 600
    episodes (1.964), but honest for the few episodes a network-training baseline runs
    (n = 2: 12.7, not 1.96).
    """
    from scipy import stats

    accuracies = np.asarray(accuracies, dtype=np.float64)
    mean = float(accuracies.mean())
    n = len(accuracies)
    if n < 2:
        return mean, float("nan")
    return mean, float(stats.t.ppf(0.975, n - 1) * max(accuracies.std(ddof=1), std_floor) / np.sqrt(n))


def class_counts(
    episodes: Sequence[Episode], predictions: Sequence[np.ndarray], class_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Correct and total queries of each class, over the episodes.

    Args:
        episodes: The episodes, in the order of ``predictions``.
        predictions: Each episode's predicted query labels in its own numbering, (Q,).
        class_ids: (C,) sorted original class ids, every id the episodes use among them.

    Returns:
        ``correct`` (C,) and ``total`` (C,), int64, aligned with ``class_ids``.
    """
    correct = np.zeros(len(class_ids), dtype=np.int64)
    total = np.zeros(len(class_ids), dtype=np.int64)
    for ep, pred in zip(episodes, predictions, strict=True):
        true = np.searchsorted(class_ids, np.asarray(ep.classes)[ep.query_y])  # positions in class_ids
        total += np.bincount(true, minlength=len(class_ids))
        correct += np.bincount(true[np.asarray(pred) == ep.query_y], minlength=len(class_ids))
    return correct, total


def evaluate_episodes(
    features: np.ndarray,
    labels: np.ndarray,
    episodes: Sequence[Episode],
    method: str | FewShotMethod,
    context: Mapping[str, object] | None = None,
) -> EpisodeResult:
    """Runs a few-shot method on every episode and scores its query predictions.

    Args:
        features: (N, D) cached features of the novel-class examples.
        labels: (N,) their original class ids; checked against the episodes, so that
            features, labels and episodes come from the same set.
        episodes: From :func:`sample_episodes` on ``labels``.
        method: A registered name (see ``FEWSHOT_METHODS``) or a ``FewShotMethod``.
        context: Keyword arguments for the method: ``base_mean`` (D,), the mean
            feature of the source (base) classes, and hyper-parameters (e.g.
            ``{"scale": 10.0}``); see ``FewShotMethod.options``.

    Returns:
        Per-episode accuracies, their mean, the 95 % half-width and the time taken.
    """
    if isinstance(method, str):
        method = get_fewshot_method(method)
    features = np.asarray(as_array(features))
    labels = np.asarray(as_array(labels))
    if features.ndim != 2 or labels.shape != (len(features),):
        raise TransferkitError(
            f"features must be (N, D) and labels (N,), got {features.shape} and {labels.shape}.",
            "pass one cached feature vector per example and one label per example.",
        )
    if not episodes:
        raise TransferkitError("No episodes to evaluate.", "draw some with sample_episodes.")
    _check_episodes_match(labels, episodes)
    context = dict(context or {})

    start = time.perf_counter()
    accuracies, predictions = [], []
    for group in _groups(episodes, method.batched, features.shape[1]):
        support_idx = np.stack([ep.support_idx for ep in group])  # (E, S)
        query_idx = np.stack([ep.query_idx for ep in group])  # (E, Q)
        support_y = np.stack([ep.support_y for ep in group])  # (E, S)
        query_y = np.stack([ep.query_y for ep in group])  # (E, Q)
        if method.batched:
            probs = method(
                features[support_idx], support_y, features[query_idx], group[0].n_way, **context
            )  # (E, Q, n_way)
        else:
            probs = method(
                features[support_idx[0]],
                support_y[0],
                features[query_idx[0]],
                group[0].n_way,
                **context,
            )[None]  # (1, Q, n_way)
        pred = probs.argmax(axis=-1)  # (E, Q)
        accuracies.append((pred == query_y).mean(axis=-1))
        predictions.extend(pred)
    accuracies = np.concatenate(accuracies)
    seconds = time.perf_counter() - start
    mean, ci95 = confidence_interval(accuracies)
    ids = np.unique(labels)
    correct, total = class_counts(episodes, predictions, ids)
    return EpisodeResult(method.name, accuracies, mean, ci95, seconds, ids, correct, total)


def _groups(episodes: Sequence[Episode], batched: bool, dim: int) -> Iterator[list[Episode]]:
    """Runs of consecutive episodes of one shape, small enough to solve together.

    A batch holds about 2**23 feature values (64 MiB in float64) at most, so 600
    episodes of 64-dim features go in one call and 2048-dim ones in chunks.
    """
    group: list[Episode] = []
    for ep in episodes:
        s, q, _ = _shape(ep)
        most = max(1, 2**23 // (dim * (s + q))) if batched else 1
        if group and (len(group) >= most or _shape(ep) != _shape(group[0])):
            yield group
            group = []
        group.append(ep)
    if group:
        yield group


def _shape(ep: Episode) -> tuple[int, int, int]:
    return len(ep.support_idx), len(ep.query_idx), ep.n_way


def _check_episodes_match(labels: np.ndarray, episodes: Sequence[Episode]) -> None:
    """Refuses episodes drawn from other labels: an index out of range or a wrong class."""
    top = max(max(ep.support_idx.max(), ep.query_idx.max()) for ep in episodes)
    if top >= len(labels):
        raise TransferkitError(
            f"An episode uses example {top}, but there are only {len(labels)} features.",
            "sample the episodes from the same labels as the features.",
        )
    for i, ep in enumerate(episodes):
        idx = np.concatenate([ep.support_idx, ep.query_idx])
        y = np.concatenate([ep.support_y, ep.query_y])
        if not np.array_equal(labels[idx], ep.classes[y]):
            raise TransferkitError(
                f"Episode {i} disagrees with the labels: its examples' classes are not "
                f"the episode's classes {ep.classes.tolist()}.",
                "sample the episodes from the same labels as the features.",
            )
