"""``mcc``: Minimum Class Confusion on the unlabelled target (Jin et al., ECCV 2020).

The class-confusion matrix of temperature-scaled, certainty-weighted target predictions
is made close to diagonal (see :func:`transferkit.adaptation.mcc_loss` for its formula)::

    L = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l) + trade_off * L_mcc(h(phi(x_u)) / T)

with ``T = 2.5`` and ``trade_off = 1`` as in the paper. MCC needs no domain discriminator
and works on top of other methods; it is computed on the unlabelled target rows only
(labelled ones are already trained by cross-entropy). Training machinery (one forward
over source + target, domain-specific BatchNorm statistics, label-free checkpoint
selection) is in ``methods/_adapt.py``.
"""

from __future__ import annotations

from pydantic import Field
from torch import nn

from transferkit.adaptation import mcc_loss
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.models import TransferModel


class MCCParams(AdaptParams):
    trade_off: float = 1.0
    temperature: float = Field(2.5, gt=0)  # (refused at once, naming the method, not when the loss first runs)


class MCCTerm(nn.Module):
    needs_strong_view = False

    def __init__(self, p: MCCParams) -> None:
        super().__init__()
        self.p = p

    def forward(self, step: Step):
        return self.p.trade_off * mcc_loss(step.z_u, self.p.temperature)


@register_method
class MCC(Method):
    name = "mcc"
    uses_unlabelled = True
    description = "Minimum class confusion on unlabelled target predictions (MCC)"
    Params = MCCParams
    min_shots = 0
    needs_same_classes = True
    trains_on_source = True  # source batches beside the target's (methods/_adapt.py)

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        return [MCCTerm(self.params)]

    def fit(self, task: TransferTask) -> TransferModel:
        return adapt(task, self.params, lambda m: self.terms(task, m), self.name)
