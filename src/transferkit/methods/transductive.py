"""``transductive``: prototypes corrected with the unlabelled target examples.

Features z(x) = (phi_s(x) - mu) / ||phi_s(x) - mu|| and support prototypes as in
``prototypes``. U is the set of unlabelled target examples: ``task.target.x_unlabelled``,
the target pool in the transfer protocol, the episode's queries in episodic evaluation.
Two algorithms; both end in a dense layer on normalised features, so the model saves,
loads and predicts like any other.

``bd_cspn`` (default; Liu, Song and Qin, ECCV 2020, "Prototype Rectification for
Few-Shot Learning"):

    delta = mean_support z - mean_U z                      (shift term)
    pseudo-label u in U by argmax_c cos(z(u) + delta, p_c)
    r_c   = sum_{x in S_c or pseudo c} w_x (z(x) [+ delta]),  w = softmax within class of s cos(., p_c)
    P(y = c | x) = softmax_c(s cos(z(x) + delta, r_c))

``soft_kmeans`` (Ren et al., ICLR 2018, "Meta-Learning for Semi-Supervised Few-Shot
Classification"), ``n_iter`` times:

    w_uc = softmax_c(-s ||z(u) - p_c||^2)
    p_c  = (sum_{i: y_i = c} z(x_i) + sum_u w_uc z(u)) / (k_c + sum_u w_uc)
    P(y = c | x) = softmax_c(-s ||z(x) - p_c||^2)

Without unlabelled examples both reduce to ``prototypes``. On cached features the same computations are the few-shot functions ``bd_cspn`` and
``soft_kmeans`` (``fewshot/``), whose code this file reuses.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import NonNegativeInt, PositiveFloat, PositiveInt

from transferkit.fewshot.bd_cspn import rectify
from transferkit.fewshot.features import center_normalize, centring_mean, check_episode
from transferkit.fewshot.registry import get_fewshot_method
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.methods.prototypes import (
    DEFAULT_SCALE,
    PrototypesParams,
    features,
    nearest_prototype,
    prototype_model,
    support_features,
)
from transferkit.models import TransferModel


class TransductiveParams(PrototypesParams):
    scale: PositiveFloat = DEFAULT_SCALE  # also weighs the unlabelled examples: a fixed temperature
    algorithm: Literal["bd_cspn", "soft_kmeans"] = "bd_cspn"
    n_iter: NonNegativeInt = 5  # soft_kmeans: refinement steps (0 gives ``prototypes``)
    top_z: PositiveInt | None = None  # bd_cspn: most confident pseudo-labels kept per class
    max_unlabelled: PositiveInt = 10000  # a seeded subsample of a larger pool


@register_method
class Transductive(Method):
    name = "transductive"
    uses_unlabelled = True
    description = "Prototypes rectified with the unlabelled target examples (BD-CSPN or soft k-means)"
    Params = TransductiveParams
    weighs_classes = False  # one mean per class (the unlabelled ones weighed by the model, not by class counts)

    def episodic(self) -> tuple[str, dict, int | None]:
        """See :meth:`Prototypes.episodic`."""
        p = self.params
        options = {"top_z": p.top_z} if p.algorithm == "bd_cspn" else {"n_iter": p.n_iter}
        return p.algorithm, {"scale": p.scale, **options}, p.base_examples if p.center == "source" else None

    def fit(self, task: TransferTask) -> TransferModel:
        p = self.params
        model, support_f, support_y, base_mean = support_features(task, p)
        n_way = len(task.classes)
        support_f, onehot, _ = check_episode(support_f, support_y, support_f[:1], n_way, base_mean)
        center = np.reshape(centring_mean(support_f, base_mean), -1)  # (D,)
        support = center_normalize(support_f, center)  # (S, D)
        sums, counts = onehot.T @ support, onehot.sum(axis=0)  # (C, D), (C,)
        unlabelled = self._unlabelled(task)
        if unlabelled is None or (p.algorithm == "soft_kmeans" and p.n_iter == 0):  # = ``prototypes``
            return prototype_model(model, task.classes, center, *nearest_prototype(sums / counts[:, None], p.scale))
        unl_f = features(model, unlabelled)  # (U, D)
        if p.algorithm == "bd_cspn":
            shift, rectified = rectify(support, onehot, center_normalize(unl_f, center), n_way,
                                       scale=p.scale, top_z=p.top_z)  # fmt: skip
            unit = rectified / np.maximum(np.linalg.norm(rectified, axis=1, keepdims=True), 1e-12)
            return prototype_model(model, task.classes, center, p.scale * unit, np.zeros(n_way), shift)
        # Soft assignments after n_iter - 1 refinements; one more update gives exactly the
        # prototypes the n_iter-step soft k-means classifies with.
        w = get_fewshot_method("soft_kmeans")(
            support_f, support_y, unl_f, n_way, base_mean=center, n_iter=p.n_iter - 1, scale=p.scale
        )  # (U, C)
        sums, counts = sums + w.T @ center_normalize(unl_f, center), counts + w.sum(axis=0)
        return prototype_model(model, task.classes, center, *nearest_prototype(sums / counts[:, None], p.scale))

    def _unlabelled(self, task: TransferTask) -> torch.Tensor | None:
        x = task.target.x_unlabelled
        if x is None or len(x) == 0:
            return None
        if len(x) > self.params.max_unlabelled:
            gen = torch.Generator().manual_seed(task.seed)
            x = x[torch.randperm(len(x), generator=gen)[: self.params.max_unlabelled].to(x.device)]
        return x
