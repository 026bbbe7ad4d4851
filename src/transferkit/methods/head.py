"""``head``: shared layers frozen, specific layers trained (linear probe).

Objective, with the source-trained shared layers phi_s fixed:

    min_W  (1/n) sum_i CE(W phi_s(x_i), y_i) + lambda ||W||^2

Features phi_s(x) are computed once and cached (frozen BatchNorm keeps source
statistics), so training costs almost nothing. ``regularization: cv`` (the default) picks
lambda from ``1e-5 ... 1`` by stratified 4-fold cross-validation on the labelled target
examples (never the test split), the usual linear-probe protocol (Kornblith et al., CVPR
2019); the penalty pulls W towards 0, or towards the source head when it is kept. With
one example of some class there is nothing to hold out, and AdamW's ``weight_decay``
regularises instead, as it does for ``regularization: weight_decay``. A lambda is scored by
held-out accuracy (ties: the lower held-out cross-entropy); the chosen one and its held-out
accuracy and cross-entropy are saved with the model (``head_l2`` in its JSON), and a warning
says when that cross-entropy is within 10 % of uniform guessing's, ln C: its probabilities say
little, and a held-out accuracy decided by a handful of examples says little of its classes.

``layers: auto`` (with ``cv``) lets the same cross-validation also choose which shared
blocks the head reads: the last block's output (phi_s above), or the pooled outputs of
the last g blocks side by side (``train/probe_layers.py``, ``models/taps.py``; Evci et
al., ICML 2022, Head2Toe), for shared layers whose blocks form a chain (``cnn``, ``mlp``,
MobileNetV2). The default ``layers: last`` reads the last block only: on the one target
measured (MobileNetV2 -> Fashion-MNIST, k = 10, BENCHMARKS.md) ``auto`` was within noise
of it. Classic "off-the-shelf features"
transfer (Donahue et al., ICML 2014, DeCAF; Yosinski et al., NeurIPS 2014). W starts from
the source's specific layers when the classes are the same (unless they do far worse than
guessing on the labelled examples, ``_source_head.py``), from scratch otherwise.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from transferkit.errors import TransferkitWarning, user_stacklevel
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.methods.finetune import start_from_source
from transferkit.models import TransferModel
from transferkit.models.adapters import mark_frozen
from transferkit.models.taps import can_tap
from transferkit.train.probe import fit_probe, fit_probe_cv
from transferkit.train.probe_layers import fit_probe_layers


class HeadParams(Params):
    steps: PositiveInt = 300
    lr: PositiveFloat = 1e-2
    weight_decay: NonNegativeFloat = 1e-3
    regularization: Literal["cv", "weight_decay"] = "cv"
    folds: PositiveInt = 4
    layers: Literal["last", "auto"] = "last"


@register_method
class Head(Method):
    name = "head"
    description = "Freeze the shared layers, train new specific layers on cached features (linear probe)"
    Params = HeadParams

    def fit(self, task: TransferTask) -> TransferModel:
        p = self.params
        model = start_from_source(task).freeze("all")
        mark_frozen(model)  # on pretrained shared layers the checkpoint is then just the head (models/adapters.py)
        t = task.target
        if p.regularization == "weight_decay":
            fit_probe(model, t.x_labelled, t.y_labelled, steps=p.steps, lr=p.lr, weight_decay=p.weight_decay,
                      on_log=task.log("head"), class_weight=t.class_weight)  # fmt: skip
        elif p.layers == "auto":
            if not can_tap(model.shared):  # a transformer, or one block: nothing but the last to choose from
                warnings.warn("head: layers: auto reads the last block only here: these shared layers (a text "
                              "transformer, or a single block) have no chain of blocks to tap, so it is layers: last.",
                              TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
            choice = fit_probe_layers(
                model, t.x_labelled, t.y_labelled, steps=p.steps, lr=p.lr, weight_decay=p.weight_decay,
                folds=p.folds, anchor_init=task.extras["source_head_kept"], seed=task.seed, on_log=task.log("head"),
                class_weight=t.class_weight,
            )  # fmt: skip
            task.extras["head_l2"], task.extras["head_layers"] = choice.l2, choice
        else:
            task.extras["head_l2"] = fit_probe_cv(
                model, t.x_labelled, t.y_labelled, steps=p.steps, lr=p.lr, weight_decay=p.weight_decay,
                folds=p.folds, anchor_init=task.extras["source_head_kept"], seed=task.seed, on_log=task.log("head"),
                class_weight=t.class_weight,
            )  # fmt: skip
        choice = task.extras.get("head_l2")
        if choice is not None and choice.l2 is not None:
            record_l2(model, choice, len(task.classes), len(t.y_labelled), task.seed)
        return model.eval()


def record_l2(model: TransferModel, choice, n_classes: int, n: int, seed: int | None = None) -> None:
    """The l2 the cross-validation chose, kept with the model (its JSON); a warning when its
    held-out cross-entropy is near or above uniform guessing's, ln C: it won on accuracy,
    which a handful of held-out examples decides, while its probabilities say little (near
    ln C: flat; above it: confident where wrong)."""
    acc, loss = choice.accuracy[choice.l2], choice.loss[choice.l2]
    model.config["head_l2"] = {"l2": choice.l2, "folds": choice.folds, "held_out_accuracy": acc, "held_out_loss": loss}
    uniform = math.log(n_classes)
    weakest = choice.l2 <= min(choice.accuracy)  # the least regularised of the grid: no lower one to try
    if loss >= 0.9 * uniform and loss <= 1.1 * uniform and weakest:
        # flat although barely penalised: the features, not the penalty (a source whose features collapsed)
        warnings.warn(
            f"head{f' (seed {seed}, {n} labelled examples)' if seed is not None else ''}: its probabilities stay near "
            f"uniform (held-out cross-entropy {loss:.2f}; guessing uniformly: ln {n_classes} = {uniform:.2f}; held-out "
            f"accuracy {100 * acc:.1f} % on {n} examples) with the weakest l2 it tries ({choice.l2:g}): the shared "
            "features tell these classes apart little, so do not read its probabilities as confidences; check the "
            "source (its validation accuracy), try another source, or fine-tune the shared layers (finetune).",
            TransferkitWarning, stacklevel=user_stacklevel(),
        )  # fmt: skip
    elif loss >= 0.9 * uniform:
        # above ln C by a tenth: not flat but confidently wrong on the held-out examples
        what, fix = (("leaves its probabilities near uniform", "regularization: weight_decay gives sharper ones")
                     if loss <= 1.1 * uniform else
                     ("gives held-out probabilities worse than uniform guessing, confident where it is wrong",
                      "more labelled examples, or another source"))  # fmt: skip
        lower = " (a lower one may classify better too)" if not weakest else ""
        warnings.warn(
            f"head{f' (seed {seed}, {n} labelled examples)' if seed is not None else ''}: the l2 its "
            f"cross-validation chose ({choice.l2:g}, held-out accuracy {100 * acc:.1f} % on {n} "
            f"examples) {what} (held-out cross-entropy {loss:.2f}; guessing uniformly: ln {n_classes} = "
            f"{uniform:.2f}). So few held-out examples decide little between l2 values{lower}; do not read its "
            f"probabilities as confidences ({fix}).",
            TransferkitWarning, stacklevel=user_stacklevel(),
        )  # fmt: skip
