"""``prototypes``: nearest class mean on centred, L2-normalised shared-layer features.

With phi_s the frozen source shared layers and mu the mean feature of the source
(base) examples, every example becomes a unit vector and each class a prototype:

    z(x) = (phi_s(x) - mu) / ||phi_s(x) - mu||
    p_c  = (1 / k_c) sum_{i: y_i = c} z(x_i)
    P(y = c | x) = softmax_c(-s ||z(x) - p_c||^2)

Nothing is trained. Since ||z(x)|| = 1, ``-s ||z - p_c||^2 = 2s p_c . z - s ||p_c||^2 +
const``: the classifier is exactly a dense layer with weights ``2 s p_c`` and bias
``-s ||p_c||^2`` on top of the centring and normalisation, so the specific layers are
``[NormalisedFeatures(mu), Linear]`` (kind ``"normalised"`` in models/specific.py) and
the model saves, loads and predicts like any other. Centring on the base mean is
SimpleShot's CL2N (Wang et al., 2019, arXiv:1911.04623); nearest class mean as in
Prototypical Networks (Snell et al., NeurIPS 2017). On cached features the same
classifier is the few-shot function ``simpleshot`` (``fewshot/prototypes.py``).

The inverse temperature ``s`` sets how sure the probabilities are, never which class wins.
By default (``scale: null``) it is matched on the labelled examples: the mean top probability
equals their leave-one-out accuracy, smoothed (:func:`matched_scale`); with one example per
class there is none to hold out and ``s = 10``. A fixed ``s = 10`` had put 0.75 on MNIST-5k →
optdigits at k = 5 to 20 where the accuracy was 0.86 to 0.90; matched, 0.82 to 0.89.
"""

from __future__ import annotations

import weakref
from typing import Literal

import numpy as np
import torch
from pydantic import PositiveFloat, PositiveInt

from transferkit.errors import TransferkitError
from transferkit.fewshot.features import center_normalize, centring_mean, check_episode, class_means
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.models import TransferModel
from transferkit.models.adapters import mark_frozen
from transferkit.models.specific import build_specific
from transferkit.train.supervised import extract_features

DEFAULT_SCALE = 10.0  # when no class has two labelled examples to hold one out (k = 1), and in episodes
BASE_EXAMPLES = 2000  # source examples averaged for the base mean, by default


class PrototypesParams(Params):
    # inverse temperature: changes confidence, never the argmax; None: matched on the labelled examples
    scale: PositiveFloat | None = None
    center: Literal["source", "support"] = "source"  # source: base mean (support mean if no source data)
    base_examples: PositiveInt = BASE_EXAMPLES  # source examples averaged for the base mean


@torch.no_grad()
def features(model: TransferModel, x: torch.Tensor, blocks: int | None = None, batch_size: int = 512) -> np.ndarray:
    """(N, *input_shape) -> (N, D) float64 features (eval mode, no grad, batched).

    ``blocks``: the output of the first ``blocks`` shared blocks, flattened; None: all of
    them (the shared layers' output, what the specific layers see).
    """
    if blocks is None:  # pretrained shared layers: read from (or written to) the feature cache, as a run's probe is
        if model.config.get("architecture") == "pretrained":
            from transferkit.train.feature_cache import frozen_features

            return frozen_features(model, x).flatten(1).double().cpu().numpy()
        return extract_features(model, x, batch_size).flatten(1).double().cpu().numpy()
    if not 1 <= blocks <= model.num_blocks:
        raise TransferkitError(
            f"blocks={blocks} is outside 1..{model.num_blocks}: the shared layers have {model.num_blocks} blocks.",
            f"choose 1..{model.num_blocks} (fewshot.blocks), or leave it out for all of them.",
        )
    model.eval()
    parts = [
        model.shared(model.normalise(x[i : i + batch_size]), upto=blocks).flatten(1)
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(parts).double().cpu().numpy()


def source_feature_mean(
    model: TransferModel,
    source_x: torch.Tensor | None,
    max_examples: int = BASE_EXAMPLES,
    seed: int = 0,
    blocks: int | None = None,
) -> np.ndarray | None:
    """Mean shared-layer feature of up to ``max_examples`` source examples, (D,); None without any.

    A seeded subsample: the mean of 2,000 examples is within a few hundredths of the full
    mean per dimension, at a fraction of the cost.
    """
    if source_x is None or len(source_x) == 0:
        return None
    if len(source_x) > max_examples:
        gen = torch.Generator().manual_seed(seed)
        keep = torch.randperm(len(source_x), generator=gen)[:max_examples].sort().values
        source_x = source_x[keep.to(source_x.device)]
    return features(model, source_x, blocks).mean(axis=0)


_BASE_MEANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # source model -> {key: its base mean}


def base_mean_of(source: TransferModel, model: TransferModel, source_x: torch.Tensor | None, max_examples: int,
                 seed: int) -> np.ndarray | None:  # fmt: skip
    """:func:`source_feature_mean` of ``model`` (a frozen copy of ``source``), computed once per
    source model, source inputs, sample and seed: a run fits prototypes and transductive at every
    k on the same source, and a pretrained text encoder took 5 s a fit re-encoding the same source
    texts (0.6 s with center: support). The key holds the parameters' in-place version counters,
    so a source changed in place is measured again."""
    if source_x is None or len(source_x) == 0:
        return None
    try:
        versions = tuple(t._version for t in source.state_dict(keep_vars=True).values())
    except RuntimeError:  # inference tensors (made under torch.inference_mode) keep no version: not cached
        return source_feature_mean(model, source_x, max_examples, seed)
    key = (source_x.data_ptr(), tuple(source_x.shape), str(source_x.dtype), str(source_x.device), max_examples, seed,
           versions)  # fmt: skip
    means = _BASE_MEANS.setdefault(source, {})
    if key not in means:
        means.clear()  # one entry a source: another seed or source sample replaces it
        means[key] = source_feature_mean(model, source_x, max_examples, seed)
    return means[key]


def support_features(
    task: TransferTask, p: PrototypesParams
) -> tuple[TransferModel, np.ndarray, np.ndarray, np.ndarray | None]:
    """A frozen copy of the source model, the labelled features (S, D), labels (S,) and the base mean."""
    model = task.source_model.copy().freeze("all").eval()
    support_f = features(model, task.target.x_labelled)
    support_y = task.target.y_labelled.cpu().numpy().astype(np.int64)
    base_mean = None
    if p.center == "source":
        base_mean = base_mean_of(task.source_model, model, task.source_x, p.base_examples, task.seed)
    return model, support_f, support_y, base_mean


def prototype_model(
    model: TransferModel,
    classes: list[str],
    center: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    shift: np.ndarray | None = None,
) -> TransferModel:
    """Installs a classifier on normalised features as the specific layers of ``model``.

    Logits are ``weight @ n(f) + bias`` with ``n`` the :class:`NormalisedFeatures` of
    ``center`` and ``shift`` (models/specific.py).

    Args:
        center: (D,) vector the features are centred on.
        weight: (C, D), e.g. ``2 s p_c`` for nearest prototype p_c.
        bias: (C,), e.g. ``-s ||p_c||^2``.
        shift: (D,) added after the first normalisation, or None.
    """
    n_classes, dim = weight.shape
    mark_frozen(model)  # shared layers as in the source: on a pretrained one the checkpoint is the head (90 MB less)
    device = next(model.shared.parameters()).device
    head = build_specific(dim, n_classes, kind="normalised").to(device)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)

    with torch.no_grad():
        head[0].center.copy_(tensor(center).reshape(-1))
        if shift is not None:
            head[0].shift.copy_(tensor(shift).reshape(-1))
        head[1].weight.copy_(tensor(weight))
        head[1].bias.copy_(tensor(bias))
    head.requires_grad_(False)
    model.specific = head
    model.config["classes"] = list(classes)
    model.config["specific"] = "normalised"
    return model.eval()


def matched_scale(z: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, dict]:
    """The inverse temperature at which the prototypes' mean top probability equals their
    leave-one-out accuracy on the labelled examples, smoothed by Laplace's rule of succession.

    Each labelled example of a class with two or more is classified against its class's mean
    without it and the other classes' full means; ``(right + 1) / (n + 2)`` of the n held out
    is the accuracy to match, never 1 (a handful of examples all right do not make certainty).
    Mean top probability rises with the scale, so a bisection on log scale finds it. With k - 1
    examples per prototype the held-out accuracy is, if anything, below the deployed
    model's: the probabilities err towards caution. Nothing but the labelled examples is used.

    Args:
        z: (S, D) centred, L2-normalised features.
        y: (S,) labels in 0..n_classes-1.

    Returns:
        The scale (``DEFAULT_SCALE`` when no class has two examples) and what it was matched on.
    """
    counts = np.bincount(y, minlength=n_classes)
    held = counts[y] >= 2
    if not held.any():
        return DEFAULT_SCALE, {"held_out": 0}
    sums = np.zeros((n_classes, z.shape[1]))
    np.add.at(sums, y, z)
    protos = sums / np.maximum(counts, 1)[:, None]
    zz = (z * z).sum(1)[:, None]  # (S, C) squared distances, without an (S, C, D) array (100 classes x 20 at D = 2048: 3 GB)
    d = np.maximum(zz - 2 * z @ protos.T + (protos * protos).sum(1)[None], 0.0)
    rows = np.flatnonzero(held)
    own = (sums[y[rows]] - z[rows]) / (counts[y[rows]] - 1)[:, None]  # each class's mean without the example
    d = d[rows]
    d[np.arange(len(rows)), y[rows]] = ((z[rows] - own) ** 2).sum(-1)
    d = d[:, counts > 0]  # classes with no labelled example have no prototype
    right = int((d.argmin(1) == np.searchsorted(np.flatnonzero(counts > 0), y[rows])).sum())
    target = (right + 1) / (len(rows) + 2)
    gaps = d - d.min(1, keepdims=True)  # top probability: 1 / sum_j exp(-s (d_j - d_min))

    def confidence(log_s: float) -> float:
        return float(np.mean(1.0 / np.exp(-np.exp(log_s) * gaps).sum(1)))

    lo, hi = np.log(1e-3), np.log(1e4)
    if confidence(lo) >= target:  # even near-uniform probabilities are as sure as the examples allow
        hi = lo
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if confidence(mid) < target else (lo, mid)
    return float(np.exp(hi)), {"held_out": len(rows), "right": right, "matched_confidence": target}


def nearest_prototype(prototypes: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Weight (C, D) and bias (C,) of ``softmax(-s ||z - p_c||^2)`` for unit-norm z."""
    return 2.0 * scale * prototypes, -scale * (prototypes * prototypes).sum(axis=1)


@register_method
class Prototypes(Method):
    name = "prototypes"
    description = "Nearest class mean on centred, L2-normalised shared features (SimpleShot); no training"
    Params = PrototypesParams
    weighs_classes = False  # one mean per class: how many examples a class has does not tilt it

    def episodic(self) -> tuple[str, dict, int | None]:
        """The few-shot function computing this classifier on cached features, its options, and
        how many source examples the base mean it is centred on averages (the caller supplies
        ``base_mean``), None when it is centred on the support."""
        p = self.params
        return "simpleshot", {"scale": p.scale or DEFAULT_SCALE}, p.base_examples if p.center == "source" else None

    def fit(self, task: TransferTask) -> TransferModel:
        p = self.params
        model, support_f, support_y, base_mean = support_features(task, p)
        support_f, onehot, _ = check_episode(support_f, support_y, support_f[:1], len(task.classes), base_mean)
        center = centring_mean(support_f, base_mean)
        z = center_normalize(support_f, center)
        prototypes = class_means(z, onehot)  # (C, D)
        scale = p.scale
        if scale is None:
            scale, matched = matched_scale(z, support_y, len(task.classes))
            model.config["prototype_scale"] = {"scale": scale, **matched}
        return prototype_model(model, task.classes, center, *nearest_prototype(prototypes, scale))
