"""``scratch``: train shared + specific layers on the labelled target examples only.

Objective (target labels only; no source weights or examples):

    min_theta  (1/n) sum_i CE(f_theta(x_i), y_i)      over the k-shot target set

This is the baseline every transfer result is compared to. It sees the same labelled
examples, input scaling and augmentation as the transfer methods: in a run with a source, the
inputs are scaled as the source model reads them (its value range, images' size and frame),
so two runs of one target with two different sources train two slightly different
baselines: compare two sources by each run's gain over its own ``scratch``, not by one run's
transfer against the other's baseline. Its input normalisation (per-channel, or per-column,
mean and std) is the target's own, measured on the target's inputs outside the test split,
never the source model's: a source in other units would make the baseline pay for it (a
trial's column 400 times the source's: 77.8 % beside the source, 90.4 % alone, which had
turned a transfer method 3 points below scratch into a +9.6 gain). It also takes the source's
architecture (with a pretrained source, which has no small counterpart, the built-in
``cnn`` for images or ``textcnn`` for texts). Its fixed budget, 300 steps at lr 1e-3 (with
k examples per class, many epochs), is its own: the transfer methods have theirs (e.g.
``finetune``: 300 probe steps, then 200 of all layers), each listed in docs/methods.md.
"""

from __future__ import annotations

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.models import TransferModel
from transferkit.train.supervised import fit_supervised


class ScratchParams(Params):
    steps: PositiveInt = 300
    batch_size: int = Field(32, ge=2)  # BatchNorm needs 2 rows a batch to train (1 failed inside torch)
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 1e-4
    augment: bool = True


@register_method
class Scratch(Method):
    name = "scratch"
    description = "Target data only, random initialisation: the baseline every result is compared to"
    Params = ScratchParams
    uses_source = False

    def fit(self, task: TransferTask) -> TransferModel:
        p = self.params
        model = task.new_model()
        t = task.target
        fit_supervised(
            model, t.x_labelled, t.y_labelled,
            groups=model.param_groups(p.lr, p.lr, p.weight_decay),
            steps=p.steps, batch_size=p.batch_size, seed=task.seed, augment=p.augment,
            on_log=task.log("train"), class_weight=t.class_weight,
        )  # fmt: skip
        return model
