"""``gradual``: gradual unfreezing with discriminative learning rates (ULMFiT).

After a linear probe, stage s = 1..S unfreezes the top s shared blocks and trains for
``stage_steps`` steps; block l (0 = bottom, L-1 = top) trains at

    lr_l = lr * shared_lr_mult / decay^(L - 1 - l)          (decay = 2.6 in the paper)

and the head at ``lr`` (``shared_lr_mult`` 1 by default; for a pretrained text encoder
5e-5 / lr unless given, as in ``finetune``). Each stage minimises (1/n) sum_i CE(f(x_i), y_i) with a fresh
cosine schedule. Howard & Ruder, ACL 2018, "Universal Language Model Fine-tuning for
Text Classification". Lower layers hold the most general features, so they move last and
least. Frozen blocks keep their BatchNorm statistics (the TransferModel BN policy);
``bn: frozen`` keeps them in the unfrozen blocks too. ``max_stages`` bounds S (default:
every block group, e.g. 9 for MobileNetV2, 7 for MiniLM-L6). As in ``finetune``, stages that end
well above the probe's loss on the labelled examples give back the probed model, with a warning.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from transferkit.methods._bn_batch import bn_for_batch
from transferkit.methods._probe_guard import ProbeGuard
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.methods.finetune import start_from_source
from transferkit.models import TransferModel
from transferkit.train.probe import fit_probe
from transferkit.train.supervised import fit_supervised


class GradualParams(Params):
    probe_steps: PositiveInt = 300
    stage_steps: PositiveInt = 50
    max_stages: PositiveInt | None = None
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 1e-3
    shared_lr_mult: NonNegativeFloat = 1.0
    decay: PositiveFloat = 2.6
    weight_decay: NonNegativeFloat = 1e-4
    bn: Literal["train", "frozen"] = "train"
    augment: bool = True


def discriminative_groups(model: TransferModel, lr: float, decay: float, weight_decay: float,
                          shared_lr_mult: float = 1.0) -> list[dict]:  # fmt: skip
    """Optimizer groups: the head at ``lr``, each unfrozen block l at lr * shared_lr_mult / decay^(L-1-l)."""
    groups = [{"params": list(model.specific.parameters()), "lr": lr, "weight_decay": weight_decay}]
    n = model.num_blocks
    for i, block in enumerate(model.shared.blocks):
        params = [p for p in block.parameters() if p.requires_grad]
        if i >= model.frozen_depth and params:
            groups.append({"params": params, "lr": lr * shared_lr_mult / decay ** (n - 1 - i), "weight_decay": weight_decay})
    return groups


@register_method
class Gradual(Method):
    name = "gradual"
    description = "Unfreeze the shared blocks one at a time from the top, lower rates for lower blocks (ULMFiT)"
    Params = GradualParams

    def fit(self, task: TransferTask) -> TransferModel:
        p, t = self.params, task.target
        model = start_from_source(task).freeze("all")
        fit_probe(model, t.x_labelled, t.y_labelled, steps=p.probe_steps, on_log=task.log("head"),
                  class_weight=t.class_weight)  # fmt: skip
        guard = ProbeGuard(task, model)  # as finetune's: stages of 5 steps went from head's 82 % to 55 % (a trial)
        bn = bn_for_batch(self.name, p.bn, len(t.y_labelled), p.batch_size)
        n = model.num_blocks
        for stage in range(1, min(n, p.max_stages or n) + 1):
            model.freeze(n - stage).set_bn_policy(bn)
            fit_supervised(
                model, t.x_labelled, t.y_labelled, groups=discriminative_groups(model, p.lr, p.decay, p.weight_decay, p.shared_lr_mult),
                steps=p.stage_steps, batch_size=p.batch_size, seed=task.seed + 1000 * stage, augment=p.augment,
                on_log=task.log(f"unfreeze{stage}"), class_weight=t.class_weight,
            )  # fmt: skip
        return guard.result(model, self.name, "Lower lr or shared_lr_mult, or try bn: frozen.")
