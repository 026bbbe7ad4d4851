"""``self_training``: FixMatch-style pseudo-labels on the unlabelled target, alone or on a base method.

For each unlabelled target input ``x_u`` the model's prediction on a weak view ``a(x_u)``
gives a pseudo-label when it is confident enough; the prediction on a strong view
``A(x_u)`` is trained to agree with it (Sohn et al., "FixMatch: Simplifying Semi-Supervised
Learning with Consistency and Confidence", NeurIPS 2020)::

    q_u   = softmax(h(phi(a(x_u))))            (no gradient)
    L_st  = 1/B_u sum_u 1[max q_u >= tau] * CE(h(phi(A(x_u))), argmax q_u)
    L     = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l) + trade_off * L_st  [+ base term]

with ``tau = 0.95`` and ``trade_off = 1`` (FixMatch's defaults). Views: see
:mod:`transferkit.adaptation.augment` (images: shifts, then RandAugment-style distortion;
vectors: none, then 20 % of the entries masked with noise; texts: none, then 20 % of the
tokens deleted). With ``base`` set to another adaptation method
(``dann``, ``cdan``, ``dan``, ``coral``, ``mcc``, ``im``) its adaptation term is added
with ``base_params`` (the fields of the base's term, e.g. ``trade_off``; the training's own,
``steps``, ``lr``, ``bn``, ``selection``..., are self_training's), so e.g. ``mcc`` + self-training is
``{name: self_training, params: {base: mcc}}``. Source rows, weak target rows and strong
target rows go through the model in one forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from transferkit.errors import TransferkitError
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import METHODS, Method, TransferTask, get_method, register_method
from transferkit.models import TransferModel


class SelfTrainingParams(AdaptParams):
    threshold: float = Field(0.95, ge=0.0, le=1.0)
    trade_off: float = 1.0
    base: str | None = None
    base_params: dict = Field(default_factory=dict)


def pseudo_label_loss(
    z_weak: torch.Tensor, z_strong: torch.Tensor, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """FixMatch's unlabelled loss and its mask.

    Args:
        z_weak: Logits (B, C) on the weak views; detached here (they only make targets).
        z_strong: Logits (B, C) on the strong views of the same inputs.
        threshold: Confidence ``tau`` a pseudo-label needs.

    Returns:
        (loss, mask): the masked mean cross-entropy over all B rows, and the (B,) bool mask.
    """
    probs = F.softmax(z_weak.detach(), dim=1)
    confidence, pseudo = probs.max(dim=1)
    mask = confidence >= threshold
    loss = (F.cross_entropy(z_strong, pseudo, reduction="none") * mask).mean()
    return loss, mask


class SelfTrainingTerm(nn.Module):
    needs_strong_view = True

    def __init__(self, p: SelfTrainingParams) -> None:
        super().__init__()
        self.p = p

    def forward(self, step: Step):
        loss, _ = pseudo_label_loss(step.z_t[step.n_labelled :], step.z_u_strong, self.p.threshold)
        return self.p.trade_off * loss


@register_method
class SelfTraining(Method):
    name = "self_training"
    uses_unlabelled = True
    description = "FixMatch-style confident pseudo-labels with weak/strong consistency, alone or on a base DA method"
    Params = SelfTrainingParams
    min_shots = 0
    needs_same_classes = True
    trains_on_source = True  # source batches beside the target's (methods/_adapt.py)

    def __init__(self, **params) -> None:
        super().__init__(**params)
        p = self.params
        if p.base is None and p.base_params:
            raise TransferkitError(
                f"method 'self_training': base_params {sorted(p.base_params)} are given without a base, so nothing reads them.",
                "add base: <an adaptation method> (e.g. mcc), or drop base_params.",
            )
        # every field adaptation methods share: one training runs, on self_training's settings (its `bn` too,
        # not the base's default); the base contributes only its term (a review: `lr: 10` changed nothing)
        fixed = sorted(set(p.base_params) & set(AdaptParams.model_fields))
        if fixed:
            raise TransferkitError(
                f"method 'self_training': base_params {fixed} have no effect: the base adds only its term, and the "
                "training follows self_training's own settings.",
                f"set {', '.join(fixed)} on self_training itself.",
            )
        self._base()  # a misspelt base or base parameter fails here, before any training

    def _base(self) -> Method | None:
        p = self.params
        if p.base is None:
            return None
        if p.base == self.name or p.base not in METHODS or not hasattr(METHODS[p.base], "terms"):
            choices = sorted(n for n, c in METHODS.items() if hasattr(c, "terms") and n != self.name)
            raise TransferkitError(
                f"method 'self_training': base {p.base!r} is not an adaptation method.",
                f"use one of: {', '.join(choices)}.",
            )
        shared = {k: getattr(p, k) for k in ("steps", "batch_size", "augment")}  # the base's schedule follows ours
        return get_method(p.base, **{**shared, **p.base_params})

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        base = self._base()
        return [SelfTrainingTerm(self.params)] + (base.terms(task, model) if base else [])

    def fit(self, task: TransferTask) -> TransferModel:
        name = self.name if self.params.base is None else f"{self.name}+{self.params.base}"
        return adapt(task, self.params, lambda m: self.terms(task, m), name)
