"""``lora``: low-rank adapters in the shared layers, trained with the head (via PEFT).

With the source weights W frozen, each adapted layer computes W x + (alpha / r) B A x;
only A (r x d_in), B (d_out x r) and the specific layers W_h train:

    min_{A, B, W_h}  (1/n) sum_i CE(W_h phi_{W + (alpha/r) B A}(x_i), y_i)

Hu et al., ICLR 2022, "LoRA: Low-Rank Adaptation of Large Language Models". As in
``finetune``, the head is probed first (Kumar et al., ICLR 2022). Default adapted layers
(``target_modules``): the query and value projections of a transformer (timm ViT's fused
``qkv`` layer whole, keys included); for MobileNetV2
the pointwise convolutions of the two blocks next to the classifier (see
``transferkit.models.adapters``). Checkpoints hold the adapters, the head and BatchNorm
statistics only. Needs ``pip install "transferkit[peft]"``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from transferkit.methods._bn_batch import bn_for_batch
from transferkit.methods._probe_guard import ProbeGuard
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.methods.finetune import start_from_source
from transferkit.models import TransferModel
from transferkit.models.adapters import apply_lora, mark_trainable
from transferkit.train.probe import fit_probe
from transferkit.train.supervised import fit_supervised


class LoraParams(Params):
    r: PositiveInt = 8
    alpha: PositiveFloat = 16.0
    dropout: NonNegativeFloat = 0.0
    target_modules: list[str] | None = None
    probe_steps: PositiveInt = 300
    steps: PositiveInt = 200
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 1e-3
    adapter_lr_mult: PositiveFloat = 1.0
    weight_decay: NonNegativeFloat = 0.0
    bn: Literal["train", "frozen"] = "train"
    augment: bool = True


@register_method
class Lora(Method):
    name = "lora"
    description = "Probe the head, then train low-rank adapters in the shared layers with it (LoRA, via PEFT)"
    Params = LoraParams
    optional_imports = ("peft",)

    def fit(self, task: TransferTask) -> TransferModel:
        p, t = self.params, task.target
        model = start_from_source(task).freeze("all")
        fit_probe(model, t.x_labelled, t.y_labelled, steps=p.probe_steps, on_log=task.log("head"),
                  class_weight=t.class_weight)  # fmt: skip
        guard = ProbeGuard(task, model)
        model.freeze(0).set_bn_policy(bn_for_batch(self.name, p.bn, len(task.target.y_labelled), p.batch_size))
        apply_lora(model, p.r, p.alpha, p.dropout, p.target_modules)
        mark_trainable(model)
        model.to(next(model.specific.parameters()).device)  # the adapters are created on the CPU
        fit_supervised(
            model, t.x_labelled, t.y_labelled,
            groups=model.param_groups(p.lr * p.adapter_lr_mult, p.lr, p.weight_decay),
            steps=p.steps, batch_size=p.batch_size, seed=task.seed, augment=p.augment, on_log=task.log("lora"),
            class_weight=t.class_weight,
        )  # fmt: skip
        return guard.result(model, self.name, "Lower lr or adapter_lr_mult, or try bn: frozen.")
