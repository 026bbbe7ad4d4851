"""``dann``: domain-adversarial training of the shared layers (DANN).

A domain discriminator ``D`` (MLP, one logit = P(source)) learns to tell source features
from target features; a gradient reversal layer ``R`` makes the shared layers ``phi``
maximise the loss ``D`` minimises, so the features become domain-invariant while staying
discriminative for the classes (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016)::

    L = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l)
        + trade_off * 1/2 [ mean_s BCE(D(R_lam(phi(x_s))), 1) + mean_t BCE(D(R_lam(phi(x_t))), 0) ]

``R_lam`` reverses and scales the gradient by ``lam(p) = 2 / (1 + exp(-gamma p)) - 1``,
``p`` the fraction of training done (``gamma = 10``, JMLR 2016 Sec. 5.2.2); target rows are
the labelled (k-shot) and unlabelled target examples. Shared training machinery
(one forward over source + target, domain-specific BatchNorm statistics, label-free
checkpoint selection) is in ``methods/_adapt.py``.
"""

from __future__ import annotations

from torch import nn

from transferkit.adaptation import DomainDiscriminator, dann_loss, warmup_coeff
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.models import TransferModel


class DANNParams(AdaptParams):
    trade_off: float = 1.0
    gamma: float = 10.0
    hidden: int = 256


class DANNTerm(nn.Module):
    needs_strong_view = False

    def __init__(self, feature_dim: int, p: DANNParams) -> None:
        super().__init__()
        self.discriminator = DomainDiscriminator(feature_dim, p.hidden)
        self.p = p

    def forward(self, step: Step):
        coeff = warmup_coeff(min(1.0, step.progress), 1.0, self.p.gamma)
        return self.p.trade_off * dann_loss(self.discriminator, step.f_s, step.f_t, coeff)


@register_method
class DANN(Method):
    name = "dann"
    uses_unlabelled = True
    description = "Domain-adversarial training: a gradient-reversed domain discriminator on the features (DANN)"
    Params = DANNParams
    min_shots = 0
    needs_same_classes = True
    trains_on_source = True  # source batches beside the target's (methods/_adapt.py)

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        return [DANNTerm(model.shared.out_dim, self.params)]

    def fit(self, task: TransferTask) -> TransferModel:
        return adapt(task, self.params, lambda m: self.terms(task, m), self.name)
