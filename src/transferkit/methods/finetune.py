"""``finetune``: linear probe first, then all layers, shared ones at a lower rate (LP-FT).

Stage 1 (probe), shared layers phi_s frozen at their source values:

    min_W  (1/n) sum_i CE(W phi_s(x_i), y_i)

(``probe_steps`` full-batch AdamW steps at its own fixed settings, lr 1e-2 and weight decay
1e-3, ``train/probe.py``: the method's ``lr`` and ``weight_decay`` are stage 2's.)

Stage 2 (fine-tune), from (phi_s, W):

    min_{phi, W}  (1/n) sum_i CE(W phi(x_i), y_i),   lr(phi) = shared_lr_mult * lr(W)

Starting stage 2 from a trained head keeps the random head's large early gradients from
distorting the pretrained features (Kumar et al., ICLR 2022, "Fine-Tuning can Distort
Pretrained Features and Underperform Out-of-Distribution"); discriminative learning
rates follow Howard & Ruder (ACL 2018). ``freeze`` keeps the first blocks fixed. When the
source and target classes are the same, W starts from the source's specific layers, unless
they do far worse than guessing on the labelled examples (cross-entropy above 2 ln C, and
right no more often than chance; ``_source_head.py``, with a warning); otherwise they are re-created for the target classes. Stage 2 starts at the probe's loss
on the labelled examples; if it ends above 1.5x that + 0.05 and above a quarter of chance's
loss log C, at most 0.35 (or at NaN), its steps were too
large for these shared layers (MobileNetV2 at the default rates went to chance): the
probed model is kept, with a warning (summary.json ``method_warnings``, the report, whose
results table marks the row "(probe kept: seed S)";
``_probe_guard.py``, shared with ``l2sp``, ``lora``, ``bitfit`` and ``gradual``; it names BatchNorm's
statistics when putting the probe's back restores the probe's loss). With ``bn: train`` and
batches of fewer than 4 labelled examples (2 classes at k = 1), the source's BatchNorm
statistics are kept, as under ``bn: frozen``, with a warning (``_bn_batch.py``; also in
``l2sp``, ``gradual``, ``lora`` and ``bitfit``): two examples normalise every feature to -1
and +1.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from transferkit.methods._bn_batch import bn_for_batch
from transferkit.methods._probe_guard import ProbeGuard
from transferkit.methods._source_head import source_head_helps
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.models import TransferModel
from transferkit.train.probe import fit_probe
from transferkit.train.supervised import fit_supervised


class FinetuneParams(Params):
    probe_steps: PositiveInt = 300
    steps: PositiveInt = 200
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 3e-3
    shared_lr_mult: NonNegativeFloat = 0.3
    weight_decay: NonNegativeFloat = 1e-4
    freeze: NonNegativeInt = 0
    bn: Literal["train", "frozen"] = "train"
    augment: bool = True


def start_from_source(task: TransferTask) -> TransferModel:
    """A copy of the source model; its specific layers are kept when the label spaces match
    (the source head is a trained classifier for exactly these classes) and re-created
    for the target classes otherwise, or when on the labelled target examples they do worse
    than guessing (``_source_head.py``). ``task.extras["source_head_kept"]`` says which."""
    model = task.source_model.copy()
    kept = task.same_label_space and source_head_helps(task, model)
    task.extras["source_head_kept"] = kept
    return model if kept else model.reset_specific(task.classes)


def probe_then_tune(task: TransferTask, p: FinetuneParams, penalty_factory=None, name: str = "finetune") -> TransferModel:
    """Shared by ``finetune`` and ``l2sp``: probe, then tune with an optional penalty.

    When tuning diverges (``_probe_guard.py``, judged on the labelled examples only), the
    probed model is kept, with a warning that names the fix."""
    t = task.target
    model = start_from_source(task).freeze("all")
    fit_probe(model, t.x_labelled, t.y_labelled, steps=p.probe_steps, on_log=task.log("head"),
                  class_weight=t.class_weight)  # fmt: skip
    guard = ProbeGuard(task, model)
    model.freeze(p.freeze).set_bn_policy(bn_for_batch(name, p.bn, len(t.y_labelled), p.batch_size))
    penalty = penalty_factory(model) if penalty_factory else None
    fit_supervised(
        model, t.x_labelled, t.y_labelled,
        groups=model.param_groups(p.lr * p.shared_lr_mult, p.lr, p.weight_decay),
        steps=p.steps, batch_size=p.batch_size, seed=task.seed, augment=p.augment,
        penalty=penalty, on_log=task.log("finetune"), class_weight=t.class_weight,
    )  # fmt: skip
    if p.shared_lr_mult == 0:  # the shared layers had no rate: what moved was the head or BatchNorm
        advice = "Lower lr, or try bn: frozen (shared_lr_mult is already 0)."
    elif p.shared_lr_mult <= 0.01:
        advice = f"Lower shared_lr_mult below its {p.shared_lr_mult:g} or lr, or try bn: frozen."
    else:
        advice = "Lower shared_lr_mult (e.g. 0.01 for a large pretrained network) or lr, or try bn: frozen."
    return guard.result(model, name, advice)


@register_method
class Finetune(Method):
    name = "finetune"
    description = "Train the head, then all layers with a lower learning rate for the shared ones (LP-FT)"
    Params = FinetuneParams

    def fit(self, task: TransferTask) -> TransferModel:
        return probe_then_tune(task, self.params)
