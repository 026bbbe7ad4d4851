"""Episodic evaluation with a trained source model: features once, then many episodes.

The shared layers are frozen, so an image's feature never changes: :func:`cache_features`
computes the features of every novel-class example once (eval mode, no grad, batched),
and every method that works on features (the few-shot functions, ``prototypes``,
``transductive``) solves all its episodes from that array in a fraction of a second.

Methods that train a network (``scratch``, ``finetune``, ...) cannot share anything
between episodes, but the frozen pretrained shared layers' features of every example
(``EpisodeSetting.features``), which ``head`` and the probe stages read; they run on the
first ``train_episodes`` episodes only (the same
support and query sets the feature methods see), one :class:`TransferTask` per episode
whose labelled examples are the support set and whose unlabelled examples are the
queries (the transductive setting).
"""

from __future__ import annotations

import inspect
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from transferkit.config import MethodSpec
from transferkit.data.splits import TargetData
from transferkit.errors import TransferkitError, TransferkitWarning, did_you_mean, user_stacklevel
from transferkit.fewshot.episodes import Episode
from transferkit.fewshot.evaluate import EpisodeResult, class_counts, confidence_interval, evaluate_episodes
from transferkit.fewshot.registry import FEWSHOT_METHODS, FewShotMethod, get_fewshot_method
from transferkit.methods import METHODS, Method, TransferTask, get_method
from transferkit.methods._pretrained_rate import for_task
from transferkit.methods.prototypes import BASE_EXAMPLES, features, source_feature_mean
from transferkit.models import TransferModel
from transferkit.train.feature_cache import remembered_features
from transferkit.train.supervised import predict_proba


@dataclass(frozen=True)
class FeatureCache:
    """Features of the novel-class examples, computed once by frozen shared layers.

    Attributes:
        features: (N, D) float64, row i for example i.
        labels: (N,) class ids.
        base_mean: (D,) mean feature of the source (base) examples, or None.
        blocks: Shared blocks the features come from (None: all).
        seconds: Time spent computing them.
        base_means: The base mean of each source subsample size asked for (``base_examples``);
            ``base_mean`` is the first's.
    """

    features: np.ndarray
    labels: np.ndarray
    base_mean: np.ndarray | None
    blocks: int | None
    seconds: float
    base_means: dict[int, np.ndarray | None] = field(default_factory=dict)


def cache_features(
    model: TransferModel,
    x: torch.Tensor,
    labels: np.ndarray,
    source_x: torch.Tensor | None = None,
    *,
    blocks: int | None = None,
    base_examples: int | Sequence[int] = BASE_EXAMPLES,
    seed: int = 0,
) -> FeatureCache:
    """Computes the features of ``x`` (N, *input_shape) and the base mean, once.

    Args:
        model: The source model; its shared layers are used frozen, in eval mode.
        labels: (N,) class ids of ``x``.
        source_x: Source (base) training inputs, for the centring mean; None: no base mean.
        blocks: Use the output of the first ``blocks`` shared blocks (None: all).
        base_examples, seed: Size and seed of the source subsample for the base mean
            (the same rule as the ``prototypes`` method); several sizes: a base mean for each
            (methods given other ``base_examples``).
    """
    start = time.perf_counter()
    f = features(model, x, blocks)
    sizes = [base_examples] if isinstance(base_examples, int) else list(dict.fromkeys(base_examples)) or [BASE_EXAMPLES]
    means = {n: source_feature_mean(model, source_x, n, seed, blocks) for n in sizes}
    return FeatureCache(f, np.asarray(labels), means[sizes[0]], blocks, time.perf_counter() - start, means)


@dataclass(frozen=True)
class EpisodicMethod:
    """A method as the episodic evaluation runs it.

    Attributes:
        label: Its name in results.
        fewshot: The few-shot function that solves its episodes on cached features, or
            None for a method that trains a network per episode.
        context: Options for ``fewshot``.
        base_examples: How many source examples the base mean ``fewshot`` receives averages
            (the method's ``base_examples``); None: it receives none (centred on the support).
        method: The registered transfer method, if it is one.
    """

    label: str
    fewshot: FewShotMethod | None = None
    context: dict = field(default_factory=dict)
    base_examples: int | None = None
    method: Method | None = None

    @property
    def uses_base_mean(self) -> bool:
        return self.base_examples is not None

    @property
    def on_features(self) -> bool:
        return self.fewshot is not None

    @property
    def uses_source(self) -> bool:
        """Whether its result depends on the source model (a few-shot run always has one):
        ``auto`` uses it when there is one, so it runs once per source seed, as ``head`` does."""
        return self.on_features or self.method.uses_source or self.method.optional_source


def resolve_methods(specs: Sequence[MethodSpec]) -> list[EpisodicMethod]:
    """Looks up each name among the few-shot functions, then the transfer methods.

    Transfer methods with an ``episodic()`` hook (``prototypes``, ``transductive``) run as
    their few-shot function on cached features; the others train per episode.

    Raises:
        TransferkitError: An unknown name (both registries listed) or bad parameters.
    """
    out, failed = [], []
    for spec in specs:
        try:
            if spec.name in FEWSHOT_METHODS:
                fn = get_fewshot_method(spec.name)
                bad = sorted(set(spec.params) - set(fn.options) | ({"base_mean"} & set(spec.params)))
                if bad:
                    allowed = [o for o in fn.options if o != "base_mean"]
                    raise TransferkitError(
                        f"few-shot method {spec.name!r} has no option {', '.join(bad)}.",
                        f"use: {', '.join(allowed) or 'no options'} (the base mean is computed for you).",
                    )
                _check_numbers(spec.name, fn, spec.params)
                base = BASE_EXAMPLES if "base_mean" in fn.options else None  # (centred on the base mean by default)
                out.append(EpisodicMethod(spec.name, fn, dict(spec.params), base))
            elif spec.name in METHODS and METHODS[spec.name].needs_same_classes:
                raise TransferkitError(
                    f"method {spec.name!r} predicts the source's classes (domain adaptation), so it cannot "
                    "learn the novel classes of an episode.",
                    f"use one of: {', '.join(sorted(FEWSHOT_METHODS) + _episode_methods())}.",
                )
            elif spec.name in METHODS:
                method = get_method(spec.name, **spec.params)
                if hasattr(method, "episodic"):
                    name, context, base_examples = method.episodic()
                    out.append(EpisodicMethod(spec.name, get_fewshot_method(name), context, base_examples, method))
                else:
                    out.append(EpisodicMethod(spec.name, method=method))
            else:
                known = sorted(FEWSHOT_METHODS) + _episode_methods()
                raise TransferkitError(
                    f"unknown few-shot method {spec.name!r}.", f"use one of: {did_you_mean(spec.name, known)}."
                )
        except TransferkitError as e:  # every method's problem at once, as the config's fields
            failed.append((spec.name, e))
    if failed:
        first = failed[0][1]
        also = f" Also invalid: {', '.join(repr(n) for n, _ in failed[1:])}." if len(failed) > 1 else ""
        raise TransferkitError(first.problem.rstrip() + also, first.fix) from None
    _refuse_twins(out)
    return out


def _check_numbers(name: str, fn: FewShotMethod, params: dict) -> None:
    """Options annotated as numbers must be numbers (a list or a string failed deep inside)."""
    hints = {p.name: str(p.annotation) for p in inspect.signature(fn.predict).parameters.values()}
    for key, value in params.items():
        hint = hints.get(key, "")
        kinds = {k for k in ("int", "float") if k in hint.replace("|", " ").split()}
        if not kinds or (value is None and "None" in hint):
            continue
        whole = kinds == {"int"}
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            kind = "a whole number" if whole else "a number"
            raise TransferkitError(f"few-shot method {name!r}: option {key} must be {kind}"
                                   f"{' or null' if 'None' in hint else ''}, got {value!r}.",
                                   f"give {key} {kind}, not a list or a text.")  # fmt: skip


def _refuse_twins(methods: Sequence[EpisodicMethod]) -> None:
    """Two names for one computation (``transductive`` and ``bd_cspn``, ``prototypes`` and
    ``simpleshot``) with the same options would be two rows of identical numbers, read as
    two methods that agree."""
    seen: dict[tuple, str] = {}
    for m in methods:
        if m.fewshot is None:
            continue
        params = inspect.signature(m.fewshot.predict).parameters.values()
        options = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "base_mean"}
        options.update(m.context)
        if not m.fewshot.transductive:  # a temperature then changes confidences, never the predicted class
            options.pop("scale", None)
        key = (m.fewshot.name, tuple(sorted((k, repr(v)) for k, v in options.items())), m.base_examples)
        if key in seen:
            raise TransferkitError(
                f"few-shot methods {seen[key]!r} and {m.label!r} are the same computation ({m.fewshot.name}) with the "
                "same options: they would give two rows of identical numbers.",
                "list one of them, or give them different options to compare.",
            )
        seen[key] = m.label


def _episode_methods() -> list[str]:
    """Transfer methods that can learn an episode's classes from its support set."""
    return sorted(n for n, m in METHODS.items() if not m.needs_same_classes and n not in FEWSHOT_METHODS)


def evaluate_on_features(method: EpisodicMethod, cache: FeatureCache, episodes: Sequence[Episode]) -> EpisodeResult:
    """All ``episodes`` of a feature method on the cached features."""
    context = dict(method.context)
    if method.uses_base_mean:
        context["base_mean"] = cache.base_means[method.base_examples]
    result = evaluate_episodes(cache.features, cache.labels, episodes, method.fewshot, context)
    return replace(result, method=method.label)


@dataclass
class EpisodeSetting:
    """What a per-episode transfer task is built from.

    Attributes:
        x: (N, *input_shape) prepared novel-class inputs (episodes index into them).
        class_names: Name of every class id in the labels.
        new_model: ``new_model(classes)`` builds a fresh model for an episode's classes.
        source_model: Trained source model, or None.
        source_x, source_y: Source training split, or None.
        source_classes: Source class names.
        seed: Run seed; episode i of a task uses ``seed * 100003 + i``.
    """

    x: torch.Tensor
    class_names: list[str]
    new_model: Callable[[list[str]], TransferModel]
    source_model: TransferModel | None = None
    source_x: torch.Tensor | None = None
    source_y: torch.Tensor | None = None
    source_classes: list[str] | None = None
    seed: int = 0
    features: torch.Tensor | None = None  # (N, D): frozen pretrained shared layers' features of x, computed once

    def task(self, episode: Episode, index: int) -> TransferTask:
        """The episode as a transfer task: support labelled, queries unlabelled."""
        device = self.x.device
        classes = [self.class_names[int(c)] for c in episode.classes]
        target = TargetData(
            self.x[torch.as_tensor(episode.support_idx, device=device)],
            torch.as_tensor(episode.support_y, device=device),
            self.x[torch.as_tensor(episode.query_idx, device=device)],
            episode.n_way,
        )
        return TransferTask(
            target, classes, self.seed * 100003 + index, lambda: self.new_model(classes), self.source_model,
            source_x=self.source_x, source_y=self.source_y, source_classes=self.source_classes,
        )  # fmt: skip


def evaluate_trained(
    method: EpisodicMethod,
    setting: EpisodeSetting,
    episodes: Sequence[Episode],
    progress: Callable[[int], None] | None = None,
) -> EpisodeResult:
    """Fits ``method`` on each episode's support set and scores its queries.

    Args:
        progress: Called with the number of episodes done, after each one.
    """
    start = time.perf_counter()
    accuracies, predictions, choices = [], [], {}
    notes: dict[str, list[int]] = {}  # a method's note, without its per-episode seed -> [episodes, first episode]
    others: set = set()  # other warnings said so far
    for i, episode in enumerate(episodes):
        task = setting.task(episode, i)
        torch.manual_seed(task.seed)
        fitted, rate = for_task(method.method, task)  # pretrained shared layers: a lower default rate
        if rate and i == 0:
            warnings.warn(rate, TransferkitWarning, stacklevel=user_stacklevel())
        known = [] if setting.features is None else [  # its rows' features, computed once: no forward pass again
            (task.target.x_labelled, setting.features[torch.as_tensor(episode.support_idx)]),
            (task.target.x_unlabelled, setting.features[torch.as_tensor(episode.query_idx)])]  # fmt: skip
        with warnings.catch_warnings(record=True) as said, remembered_features(setting.source_model, known):
            warnings.simplefilter("always")  # (the method's notes: once for all episodes, below)
            model = fitted.fit(task)
            pred = predict_proba(model, task.target.x_unlabelled).argmax(dim=1).cpu().numpy()
        for w in said:
            if issubclass(w.category, TransferkitWarning):  # "head (seed 100003, 25 labelled examples): ..."
                key = re.sub(r"\(seed \d+, ", "(", str(w.message))
                notes.setdefault(key, [0, i])[0] += 1
            elif (w.category, str(w.message)) not in others:  # a library's: once, as its own filters would
                others.add((w.category, str(w.message)))
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        chose = (model.config.get("auto_decision") or {}).get("method")
        if chose is not None:  # auto: which method it picked, for the report
            choices[chose] = choices.get(chose, 0) + 1
        accuracies.append(float((pred == episode.query_y).mean()))
        predictions.append(pred)
        if progress is not None:
            progress(i + 1)
    k = len(episodes[0].support_y) // len(episodes[0].classes) if episodes else 0  # (which K, beside the others)
    for note, (count, first) in notes.items():
        warnings.warn(f"{method.label}, K = {k}, {count} of {len(episodes)} episodes (the first: episode {first} of "
                      f"source seed {setting.seed}): {note}", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    accuracies = np.asarray(accuracies)
    mean, ci95 = confidence_interval(accuracies)
    ids = np.arange(len(setting.class_names))  # episodes index class_names by class id
    correct, total = class_counts(episodes, predictions, ids)
    return EpisodeResult(method.label, accuracies, mean, ci95, time.perf_counter() - start, ids, correct, total,
                         choices or None)  # fmt: skip


def predict_episode(method: EpisodicMethod, cache: FeatureCache, episode: Episode) -> np.ndarray:
    """Predicted query labels (in the episode's numbering) of a feature method, (Q,)."""
    context = dict(method.context)
    if method.uses_base_mean:
        context["base_mean"] = cache.base_means[method.base_examples]
    f = cache.features
    probs = method.fewshot(f[episode.support_idx], episode.support_y, f[episode.query_idx], episode.n_way, **context)
    return probs.argmax(axis=-1)
