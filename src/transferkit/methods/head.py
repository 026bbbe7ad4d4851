"""``head``: shared layers frozen, specific layers trained (linear probe).

Objective, with the source-trained shared layers phi_s fixed:

    min_W  (1/n) sum_i CE(W phi_s(x_i), y_i) + lambda ||W||^2

Features phi_s(x) are computed once and cached (frozen BatchNorm keeps source
statistics), so training costs almost nothing. Classic "off-the-shelf features"
transfer (Donahue et al., ICML 2014, DeCAF; Yosinski et al., NeurIPS 2014). W starts from
the source's specific layers when the classes are the same, from scratch otherwise.
"""

from __future__ import annotations

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.methods.finetune import start_from_source
from transferkit.models import TransferModel
from transferkit.train.probe import fit_probe


class HeadParams(Params):
    steps: PositiveInt = 300
    lr: PositiveFloat = 1e-2
    weight_decay: NonNegativeFloat = 1e-3


@register_method
class Head(Method):
    name = "head"
    description = "Freeze the shared layers, train new specific layers on cached features (linear probe)"
    Params = HeadParams

    def fit(self, task: TransferTask) -> TransferModel:
        p = self.params
        model = start_from_source(task).freeze("all")
        t = task.target
        fit_probe(model, t.x_labelled, t.y_labelled, steps=p.steps, lr=p.lr,
                  weight_decay=p.weight_decay, on_log=task.log("head"))  # fmt: skip
        return model.eval()
