"""Few-shot learning on fixed features: episodes, methods, evaluation.

The shared layers of a trained model turn examples into feature vectors; a few-shot
method classifies query examples of *novel* classes from a handful of labelled
support examples. Everything here works on cached feature arrays.

Example::

    episodes = sample_episodes(novel_y, n_way=5, k_shot=1, n_query=15, n_episodes=600)
    result = evaluate_episodes(novel_f, novel_y, episodes, "simpleshot",
                               context={"base_mean": base_f.mean(axis=0)})
    print(result)  # simpleshot: 61.23 ± 0.80 % (600 episodes, 0.04 s)
"""

# Importing the method modules registers them.
from transferkit.fewshot import bd_cspn, logistic, prototypes, soft_kmeans  # noqa: F401
from transferkit.fewshot.episodes import Episode, check_novel, sample_episodes
from transferkit.fewshot.evaluate import EpisodeResult, confidence_interval, evaluate_episodes
from transferkit.fewshot.registry import (
    FEWSHOT_METHODS,
    FewShotMethod,
    get_fewshot_method,
    register_fewshot,
)

__all__ = [
    "FEWSHOT_METHODS",
    "Episode",
    "EpisodeResult",
    "FewShotMethod",
    "check_novel",
    "confidence_interval",
    "evaluate_episodes",
    "get_fewshot_method",
    "register_fewshot",
    "sample_episodes",
]
