"""``bitfit``: only the bias terms of the shared layers train, with the head.

With every shared weight matrix W frozen at its source value and b the shared biases
(for MobileNetV2: the BatchNorm shifts; for a transformer: every linear and LayerNorm bias):

    min_{b, W_h}  (1/n) sum_i CE(W_h phi_{W, b}(x_i), y_i)

Ben Zaken, Ravfogel & Goldberg, ACL 2022, "BitFit: Simple Parameter-efficient
Fine-tuning for Transformer-based Masked Language-models". The head is probed first, as
in ``finetune``. No extra dependency. Checkpoints hold the biases, the head and BatchNorm
statistics only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from transferkit.methods._bn_batch import bn_for_batch
from transferkit.methods._probe_guard import ProbeGuard
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.methods.finetune import start_from_source
from transferkit.models import TransferModel
from transferkit.models.adapters import apply_bitfit, mark_trainable
from transferkit.train.probe import fit_probe
from transferkit.train.supervised import fit_supervised


class BitFitParams(Params):
    probe_steps: PositiveInt = 300
    steps: PositiveInt = 200
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 5e-3  # biases are few; they take a larger rate than full fine-tuning
    weight_decay: NonNegativeFloat = 0.0
    bn: Literal["train", "frozen"] = "train"
    augment: bool = True


@register_method
class BitFit(Method):
    name = "bitfit"
    description = "Probe the head, then train only the biases of the shared layers with it (BitFit)"
    Params = BitFitParams

    def fit(self, task: TransferTask) -> TransferModel:
        p, t = self.params, task.target
        model = start_from_source(task).freeze("all")
        fit_probe(model, t.x_labelled, t.y_labelled, steps=p.probe_steps, on_log=task.log("head"),
                  class_weight=t.class_weight)  # fmt: skip
        guard = ProbeGuard(task, model)
        model.freeze(0).set_bn_policy(bn_for_batch(self.name, p.bn, len(task.target.y_labelled), p.batch_size))
        apply_bitfit(model)
        mark_trainable(model)
        fit_supervised(
            model, t.x_labelled, t.y_labelled, groups=model.param_groups(p.lr, p.lr, p.weight_decay),
            steps=p.steps, batch_size=p.batch_size, seed=task.seed, augment=p.augment, on_log=task.log("bitfit"),
            class_weight=t.class_weight,
        )  # fmt: skip
        return guard.result(model, self.name, "Lower lr, or try bn: frozen.")
