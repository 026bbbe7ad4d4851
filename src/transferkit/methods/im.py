"""``im``: information maximisation on the unlabelled target (SHOT-IM, with the source kept).

Target predictions ``p_i = softmax(h(phi(x_i)))`` should be individually confident and
globally diverse: minimise the mean entropy and maximise the entropy of the mean
prediction (Krause, Perona & Gomes, "Discriminative Clustering by Regularized Information
Maximization", NeurIPS 2010; used for adaptation by Liang, Hu & Feng, "Do We Really Need
to Access the Source Data? Source Hypothesis Transfer for Unsupervised Domain
Adaptation", ICML 2020)::

    L_im = 1/B sum_i H(p_i) - diversity * H(1/B sum_i p_i)      (diversity = 1 by default)
    L    = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l) + trade_off * L_im

The diversity term keeps entropy minimisation from collapsing every target example onto
a few classes. Unlike SHOT we keep training on the labelled source (it is available
here) and the head is trained, not frozen. Computed on the unlabelled target rows.
Training machinery in ``methods/_adapt.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from transferkit.adaptation import entropy, entropy_loss
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.models import TransferModel


class IMParams(AdaptParams):
    trade_off: float = 1.0
    diversity: float = 1.0


def information_maximisation_loss(logits: torch.Tensor, diversity: float = 1.0) -> torch.Tensor:
    """``mean_i H(p_i) - diversity * H(mean_i p_i)`` for logits (B, C); in [-log C, log C]."""
    mean_p = F.softmax(logits, dim=1).mean(dim=0, keepdim=True)  # (1, C)
    return entropy_loss(logits) - diversity * entropy(mean_p)[0]


class IMTerm(nn.Module):
    needs_strong_view = False

    def __init__(self, p: IMParams) -> None:
        super().__init__()
        self.p = p

    def forward(self, step: Step):
        return self.p.trade_off * information_maximisation_loss(step.z_u, self.p.diversity)


@register_method
class IM(Method):
    name = "im"
    uses_unlabelled = True
    description = "Information maximisation on target predictions: confident yet diverse (SHOT-IM, source kept)"
    Params = IMParams
    min_shots = 0
    needs_same_classes = True
    trains_on_source = True  # source batches beside the target's (methods/_adapt.py)

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        return [IMTerm(self.params)]

    def fit(self, task: TransferTask) -> TransferModel:
        return adapt(task, self.params, lambda m: self.terms(task, m), self.name)
