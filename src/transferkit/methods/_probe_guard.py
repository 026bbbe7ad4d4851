"""A guard for methods that probe the head, then train the shared layers (or parts of them).

The second stage starts from the probe, at the probe's loss on the labelled examples. If it
ends well above that loss on the very examples it trained on (1.5x + 0.05 and a quarter of
chance's loss log C, or NaN), its
steps were too large for these shared layers, or BatchNorm statistics from a handful of
images moved the features: MobileNetV2 at finetune's default rates went from an 88.9 %
probe to chance. The probed model is then kept, with a warning that names the fix (it
reaches summary.json ``method_warnings`` and the report). Judged on the labelled examples
only: no test example is seen.
"""

from __future__ import annotations

import math
import warnings

import torch

from transferkit.errors import TransferkitWarning, user_stacklevel
from transferkit.methods.base import TransferTask
from transferkit.models import TransferModel
from transferkit.models.adapters import mark_frozen
from transferkit.train.supervised import predict_proba


def labelled_loss(model: TransferModel, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean cross-entropy of ``model`` (eval mode, no augmentation) on the labelled examples."""
    with torch.no_grad():
        p = predict_proba(model, x)[torch.arange(len(y), device=y.device), y.to(torch.long)]
    return float(-torch.log(p.clamp_min(1e-12)).mean())


def diverged(probe_loss: float, tuned_loss: float, num_classes: int = 2) -> bool:
    """Whether the second stage ended well above the probe's loss, or at NaN: above
    1.5x + 0.05 the probe's, and above a quarter of chance's loss log(C), at most 0.35 (with
    many classes a loss of 1 is far from a fit, however far from chance). A model still near a
    perfect fit of its examples (e.g. 0.05 after a probe at 1e-4, on MobileNetV2 features that
    separate 20 images perfectly) has not diverged; a collapse to chance is near log(C)."""
    if tuned_loss != tuned_loss:  # NaN
        return True
    return tuned_loss > 1.5 * probe_loss + 0.05 and tuned_loss > min(0.25 * math.log(max(num_classes, 2)), 0.35)


class ProbeGuard:
    """``guard = ProbeGuard(task, model)`` right after the probe; ``guard.result(model, name, fix)``
    after the second stage: ``model``, or the probed copy when that stage diverged."""

    def __init__(self, task: TransferTask, probed: TransferModel) -> None:
        t = task.target
        self.task, self.loss, self.probed = task, labelled_loss(probed, t.x_labelled, t.y_labelled), probed.copy()

    def result(self, model: TransferModel, name: str, fix: str) -> TransferModel:
        t = self.task.target
        tuned = labelled_loss(model, t.x_labelled, t.y_labelled)
        if not diverged(self.loss, tuned, int(t.num_classes)):
            return model.eval()
        kept = with_statistics_of(model, self.probed)  # the weights as tuned, BatchNorm's statistics as probed
        restored = labelled_loss(kept, t.x_labelled, t.y_labelled) if kept is not None else float("nan")
        if not diverged(self.loss, restored, int(t.num_classes)):  # the statistics moved it, not the weights
            fix = (f"With the probe's BatchNorm statistics put back its loss is {restored:.3g}: the statistics "
                   f"re-estimated from these {len(t.y_labelled)} examples' batches, not the weights, moved the "
                   "features (a short budget, or a rate too small to follow them). Set bn: frozen.")  # fmt: skip
        warnings.warn(
            f"{name} (seed {self.task.seed}, {len(t.y_labelled)} labelled examples): training the shared layers "
            f"raised the loss on its own training examples from {self.loss:.3g} after the probe to {tuned:.3g}; "
            f"the probed model (the source's shared layers, a trained head) is kept. {fix}",
            TransferkitWarning, stacklevel=user_stacklevel(),
        )  # fmt: skip
        mark_frozen(self.probed)  # shared layers as in the source: on a pretrained one the checkpoint is the head
        self.probed.config["probe_kept"] = True  # the results table marks the row: its model is a head's
        return self.probed.eval()


def with_statistics_of(model: TransferModel, probed: TransferModel) -> TransferModel | None:
    """A copy of ``model`` whose BatchNorm layers hold ``probed``'s running statistics, or None when
    it has none or they do not pair up (layer by layer, in order)."""
    def norms(m: TransferModel) -> list:
        return [x for x in m.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm) and x.track_running_stats]

    copy = model.copy()
    ours, theirs = norms(copy), norms(probed)
    if not ours or len(ours) != len(theirs) or any(a.running_mean.shape != b.running_mean.shape
                                                   for a, b in zip(ours, theirs, strict=True)):  # fmt: skip
        return None
    with torch.no_grad():
        for a, b in zip(ours, theirs, strict=True):
            a.running_mean.copy_(b.running_mean)
            a.running_var.copy_(b.running_var)
    return copy.eval()
