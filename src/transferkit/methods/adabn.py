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

from transferkit.adaptation.domain_bn import attach_domain_bn, detach_domain_bn, estimate_target_stats
from transferkit.errors import TransferkitWarning
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
    uses_target_labels = False  # the labelled examples are only inputs to it

    def fit(self, task: TransferTask) -> TransferModel:
        model = task.source_model.copy()
        if attach_domain_bn(model) == 0:
            norms = sorted({type(m).__name__ for m in model.modules() if "Norm" in type(m).__name__})
            uses = f" (it normalises with {', '.join(norms)}, which keeps no statistics)" if norms else ""
            warnings.warn(f"adabn: the source model has no BatchNorm layers{uses}, so there is nothing to re-estimate: "
                          "its rows are source_only's. Domain-adaptation methods that train (mcc, dann, ...) adapt "
                          "such a model.", TransferkitWarning, stacklevel=2)  # fmt: skip
            model.config["unchanged_from"] = "source_only"  # not deployed by default (report/run_folder.py)
            return model.eval()
        estimate_target_stats(model, torch.cat([task.target.x_labelled, task.target.x_unlabelled]))
        detach_domain_bn(model, "target")
        model.config["adaptation_bn"] = "target statistics (AdaBN)"
        return model.eval()
