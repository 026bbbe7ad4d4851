"""The registry of transferability scores: one entry per score, looked up by name.

A score file registers its function with :func:`register_score`; everything else
(the CLI, reports, :func:`transferkit.ranking.score_features`) finds it by name here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from transferkit.errors import TransferkitError, did_you_mean

ScoreFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]


@dataclass(frozen=True)
class ScoreInfo:
    """One registered transferability score.

    Attributes:
        name: The name users pass to :func:`get_score`, e.g. ``"logme"``.
        description: One line saying what the score measures.
        needs_source_probs: True when the score reads the source head's soft
            predictions (LEEP, NCE); False when features and labels suffice.
        fn: ``fn(features, labels, source_probs) -> float``; higher means the source
            model is expected to transfer better to the target task.
    """

    name: str
    description: str
    needs_source_probs: bool
    fn: ScoreFn


SCORES: dict[str, ScoreInfo] = {}


def register_score(
    name: str, description: str, needs_source_probs: bool = False
) -> Callable[[ScoreFn], ScoreFn]:
    """Decorator that adds a score function to :data:`SCORES` under ``name``.

    Args:
        name: Registry key; must be unused.
        description: One-line description shown by :func:`list_scores`.
        needs_source_probs: Whether the score requires ``source_probs``.

    Returns:
        The decorator; it returns the function unchanged.
    """

    def decorator(fn: ScoreFn) -> ScoreFn:
        if name in SCORES:
            raise TransferkitError(
                f"Score name {name!r} is registered twice ({SCORES[name].fn.__module__} "
                f"and {fn.__module__}).",
                "give the new score a different name.",
            )
        SCORES[name] = ScoreInfo(name, description, needs_source_probs, fn)
        return fn

    return decorator


def get_score(name: str) -> ScoreInfo:
    """The :class:`ScoreInfo` registered as ``name``.

    Raises:
        TransferkitError: ``name`` is not a registered score.
    """
    if name == "source_only":  # a column of the table, not a score to ask for
        raise TransferkitError(
            "source_only is not a transferability score: it is the source head's accuracy on the labelled "
            "examples, shown in its own column for every candidate whose head names the target's classes.",
            f"leave it out of --scores (scores: {', '.join(sorted(SCORES))}).",
        )
    if name not in SCORES:
        raise TransferkitError(
            f"Unknown transferability score {name!r}.",
            f"use one of: {did_you_mean(name, sorted(SCORES))}.",
        )
    return SCORES[name]


def list_scores() -> list[tuple[str, str]]:
    """Every registered score as ``(name, one-line description)``, sorted by name."""
    return [(info.name, info.description) for info in sorted(SCORES.values(), key=lambda i: i.name)]
