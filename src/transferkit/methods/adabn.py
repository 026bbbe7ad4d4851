"""``adabn``: the source model with BatchNorm statistics re-estimated on the target (AdaBN).

No parameter changes: every BatchNorm layer's running mean and variance are replaced by
their average over the target inputs (labelled and unlabelled), so each layer normalises
target activations with target statistics (Li, Wang, Shi, Liu & Hou, "Revisiting Batch
Normalization for Practical Domain Adaptation", ICLR Workshop 2017)::

    BN_t(x) = gamma_s * (x - mu_t) / sqrt(var_t + eps) + beta_s

It is the cheapest unsupervised baseline (one pass over the target, no training) and the
starting point of every adaptation method here (``methods/_adapt.py``).
"""

from __future__ import annotations

import warnings

import torch

from transferkit.adaptation.domain_bn import BN_TYPES, attach_domain_bn, detach_domain_bn, estimate_target_stats
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.methods._adapt import few_inputs_note
from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.models import TransferModel


@register_method
class AdaBN(Method):
    name = "adabn"
    uses_unlabelled = True
    description = "Source model with BatchNorm statistics re-estimated on target inputs (AdaBN, no training)"
    Params = Params
    min_shots = 0
    needs_same_classes = True
    uses_target_labels = False
    weighs_classes = False  # the labelled examples are only inputs to it

    def fit(self, task: TransferTask) -> TransferModel:
        model = task.source_model.copy()
        if attach_domain_bn(model) == 0:
            norms = sorted({type(m).__name__ + (" without running statistics" if isinstance(m, BN_TYPES) else "")
                            for m in model.modules() if "Norm" in type(m).__name__})  # fmt: skip
            uses = f" (it normalises with {', '.join(norms)}, which keeps no statistics)" if norms else ""
            warnings.warn(f"adabn: the source model has no BatchNorm statistics{uses}, so there is nothing to re-estimate: "
                          "its rows are source_only's. Domain-adaptation methods that train (mcc, dann, ...) adapt "
                          "such a model.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
            model.config["unchanged_from"] = "source_only"  # not deployed by default (report/run_folder.py)
            return model.requires_grad_(False).eval()
        x = torch.cat([task.target.x_labelled, task.target.x_unlabelled])
        if len(x) < 2:  # one input has no spread: the statistics were left as the source's, without a word
            raise TransferkitError(f"method 'adabn' needs target inputs to estimate BatchNorm statistics on, got "
                                   f"{len(x)}.", "give the target at least 2 examples (more make better estimates).")  # fmt: skip
        few = few_inputs_note("adabn", len(x))
        if few:
            warnings.warn(few, TransferkitWarning, stacklevel=user_stacklevel())
        estimate_target_stats(model, x)
        detach_domain_bn(model, "target")
        note = adabn_collapse_note(task.source_model, model, x, task.classes)
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
        model.config["adaptation_bn"] = "target statistics (AdaBN)"
        return model.requires_grad_(False).eval()  # statistics changed, no parameter: 0 trainable (a review)


def adabn_collapse_note(source, adapted, x: torch.Tensor, classes: list[str]) -> str | None:
    """Said when the target's statistics send most target inputs to one class, far more than the
    source model as it is did (a trial's shifted table: 92 % one class, source_only 82.9 % right)."""
    from transferkit.adaptation.selection import collapsed, top_share

    (_, share0), (top, share) = top_share(source, x), top_share(adapted, x)
    if not collapsed(share0, share, classes):
        return None
    return (f"adabn: with the target's BatchNorm statistics the model predicts {classes[top]!r} for {share:.0%} of the "
            f"target inputs (the source model as it is: {share0:.0%} for its most predicted class): its predictions "
            "collapsed, unless the target is that unbalanced; compare it with source_only.")
