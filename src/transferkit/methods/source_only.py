"""``source_only``: the source model applied to the target, trained on the source alone.

Objective (source only):

    min_theta  E_{(x, y) ~ source} CE(f_theta(x), y)

then predict the target with f_theta. Needs identical source and target classes. It
measures the raw domain gap; it is the lower bound domain adaptation must beat.

With ``steps: 0`` (the default) it is the source model exactly as it was trained. With
``steps: N`` it first trains that model for N more steps on source batches only (same
batch size, optimiser, schedule and augmentation as the adaptation methods in
``methods/_adapt.py``; no target input ever enters a forward, so BatchNorm keeps source
statistics) and returns the last step. That is the *budget-matched* control of a domain
adaptation benchmark: a DA method trained N steps that beats it owes its gain to the
adaptation, not to N extra steps of training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from transferkit.adaptation.augment import weak_augment
from transferkit.errors import TransferkitError
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.models import TransferModel
from transferkit.models.shared import reads_series
from transferkit.train.loop import batches, run_steps


class SourceOnlyParams(Params):
    steps: int = Field(0, ge=0)  # 0: the source model as it is
    batch_size: int = Field(64, ge=2)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(5e-4, ge=0)
    augment: bool = True


@register_method
class SourceOnly(Method):
    name = "source_only"
    description = "The source model applied to the target (optionally trained N more steps on the source alone)"
    Params = SourceOnlyParams
    min_shots = 0
    needs_same_classes = True
    uses_target_labels = False
    weighs_classes = False

    def needs_source_data(self) -> bool:
        return self.params.steps > 0  # steps: 0 is the source model as it is

    def fit(self, task: TransferTask) -> TransferModel:
        assert task.source_model is not None
        model = task.source_model.copy()
        p = self.params
        if p.steps == 0:  # nothing trains: its footprint says 0 trainable parameters, not every one (a review)
            return model.requires_grad_(False).eval()
        if task.source_x is None or task.source_y is None:
            raise TransferkitError(
                f"source_only with steps={p.steps} trains on the source: the task has no source data.",
                "use steps: 0 (the source model as it is) or give source data.",
            )
        gen = torch.Generator().manual_seed(task.seed)
        xs, ys = task.source_x, task.source_y
        it = batches(len(ys), p.batch_size, gen)
        optimizer = torch.optim.AdamW(model.param_groups(p.lr, p.lr, p.weight_decay))
        logger = task.log(self.name)
        series = reads_series(tuple(xs.shape[1:]), model.config.get("architecture", "auto"))  # sensors: not moved

        def loss_fn(step: int) -> torch.Tensor:
            i = next(it)
            x = weak_augment(xs[i], gen, series) if p.augment else xs[i]
            return F.cross_entropy(model(x), ys[i])

        run_steps(model, loss_fn, optimizer, p.steps, log_every=max(1, p.steps // 20), on_log=logger)
        return model.eval()
