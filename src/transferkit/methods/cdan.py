"""``cdan``: conditional domain-adversarial training, CDAN+E (Long et al., NeurIPS 2018).

The discriminator sees the multilinear map ``h = phi(x) (x) g(x)`` of features and
(detached) softmax predictions ``g``, so it aligns the *joint* of features and classes
rather than the features alone; examples are weighted by certainty ``1 + exp(-H(g))``
(entropy conditioning). With ``R_lam`` the gradient reversal layer (DANN's schedule,
``lam(p) = 2 / (1 + exp(-10 p)) - 1``)::

    L = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l)
        + trade_off * 1/2 [ sum_s w_s BCE(D(R_lam(h_s)), 1) / sum_s w_s
                          + sum_t w_t BCE(D(R_lam(h_t)), 0) / sum_t w_t ]

(formula and randomized map: :mod:`transferkit.adaptation.cdan`). Training machinery in
``methods/_adapt.py``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from transferkit.adaptation import CDANLoss, warmup_coeff
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.models import TransferModel


class CDANParams(AdaptParams):
    trade_off: float = 1.0
    gamma: float = 10.0
    hidden: int = 256
    entropy_conditioning: bool = True


class CDANTerm(nn.Module):
    needs_strong_view = False

    def __init__(self, feature_dim: int, num_classes: int, p: CDANParams) -> None:
        super().__init__()
        self.loss = CDANLoss(feature_dim, num_classes, hidden=p.hidden, entropy_conditioning=p.entropy_conditioning)
        self.p = p

    def forward(self, step: Step):
        coeff = warmup_coeff(min(1.0, step.progress), 1.0, self.p.gamma)
        g_s, g_t = F.softmax(step.z_s, dim=1), F.softmax(step.z_t, dim=1)
        return self.p.trade_off * self.loss(step.f_s, g_s, step.f_t, g_t, coeff)


@register_method
class CDAN(Method):
    name = "cdan"
    uses_unlabelled = True
    description = "Conditional adversarial alignment of features x predictions, entropy-weighted (CDAN+E)"
    Params = CDANParams
    min_shots = 0
    needs_same_classes = True
    trains_on_source = True  # source batches beside the target's (methods/_adapt.py)

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        return [CDANTerm(model.shared.out_dim, len(task.classes), self.params)]

    def fit(self, task: TransferTask) -> TransferModel:
        return adapt(task, self.params, lambda m: self.terms(task, m), self.name)
