"""``coral``: Deep CORAL, aligning second-order feature statistics (Sun & Saenko, ECCV-W 2016).

The squared Frobenius distance between source and target feature covariances, scaled by
``1 / (4 d^2)`` (:func:`transferkit.adaptation.coral_loss`), is added to the task loss::

    L = CE(h(phi(x_s)), y_s) + w_l * CE(h(phi(x_l)), y_l)
        + trade_off * ||C_s - C_t||_F^2 / (4 d^2)

The paper picks the weight so that at the end of training both losses are of the same
order; with the ``1 / (4 d^2)`` scaling the CORAL term of a source model is already of
the order of its source cross-entropy (e.g. 0.02 vs 0.06 on MNIST features), so the
default is ``trade_off = 1``. Training machinery in ``methods/_adapt.py``.
"""

from __future__ import annotations

from torch import nn

from transferkit.adaptation import coral_loss
from transferkit.methods._adapt import AdaptParams, Step, adapt
from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.models import TransferModel


class CORALParams(AdaptParams):
    trade_off: float = 1.0


class CORALTerm(nn.Module):
    needs_strong_view = False

    def __init__(self, p: CORALParams) -> None:
        super().__init__()
        self.p = p

    def forward(self, step: Step):
        return self.p.trade_off * coral_loss(step.f_s, step.f_t)


@register_method
class CORAL(Method):
    name = "coral"
    description = "Deep CORAL: match source and target feature covariances"
    Params = CORALParams
    min_shots = 0
    needs_same_classes = True

    def terms(self, task: TransferTask, model: TransferModel) -> list:
        return [CORALTerm(self.params)]

    def fit(self, task: TransferTask) -> TransferModel:
        return adapt(task, self.params, lambda m: self.terms(task, m), self.name)
