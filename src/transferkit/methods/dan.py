"""``dan``: Deep Adaptation Network, multi-kernel MMD between source and target (Long et al., ICML 2015).

The squared multi-kernel maximum mean discrepancy between source and target features,
and between source and target softmax predictions (DAN adapts the last layers, feature
*and* classifier; Sec. 3.1 of the paper), is added to the task loss::

    L = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l)
        + trade_off * [ MK-MMD^2(phi(x_s), phi(x_t)) + MK-MMD^2(g(x_s), g(x_t)) ]

with Gaussian kernels at bandwidths {1/4, 1/2, 1, 2, 4} x the median pairwise distance,
equally weighted (estimator: :func:`transferkit.adaptation.mk_mmd`), ``g`` the softmax
output. ``on_predictions: false`` keeps only the feature term. Training machinery in
``methods/_adapt.py``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from transferkit.adaptation import mk_mmd
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.models import TransferModel


class DANParams(AdaptParams):
    trade_off: float = 1.0
    on_predictions: bool = True


class DANTerm(nn.Module):
    needs_strong_view = False

    def __init__(self, p: DANParams) -> None:
        super().__init__()
        self.p = p

    def forward(self, step: Step):
        loss = mk_mmd(step.f_s, step.f_t)
        if self.p.on_predictions:
            loss = loss + mk_mmd(F.softmax(step.z_s, dim=1), F.softmax(step.z_t, dim=1))
        return self.p.trade_off * loss


@register_method
class DAN(Method):
    name = "dan"
    description = "Multi-kernel MMD between source and target features and predictions (DAN)"
    Params = DANParams
    min_shots = 0
    needs_same_classes = True

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        return [DANTerm(self.params)]

    def fit(self, task: TransferTask) -> TransferModel:
        return adapt(task, self.params, lambda m: self.terms(task, m), self.name)
