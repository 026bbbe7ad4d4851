"""``l2sp``: fine-tuning with an L2 penalty pulling shared weights to their source values.

Objective (Li, Grandvalet & Davoine, ICML 2018, "Explicit Inductive Bias for Transfer
Learning with Convolutional Networks"):

    min_{w_s, w_h}  (1/n) sum_i CE(f(x_i; w_s, w_h), y_i)
                    + (alpha / 2) ||w_s - w_s^0||^2 + (beta / 2) ||w_h||^2

w_s: shared parameters (w_s^0 their source values), w_h: the specific layers' weight
matrices (their biases are not penalised), pulled toward 0 from where the probe left them,
as the paper does for layers without a source starting point. Weight decay is off in the
penalised stage (the penalty replaces it). Training follows ``finetune`` (probe, at the probe's
own fixed settings, then all layers at discriminative rates).
"""

from __future__ import annotations

import torch
from pydantic import NonNegativeFloat

from transferkit.methods.base import Method, TransferTask, register_method
from transferkit.methods.finetune import FinetuneParams, probe_then_tune
from transferkit.models import TransferModel


class L2SPParams(FinetuneParams):
    alpha: NonNegativeFloat = 0.01
    beta: NonNegativeFloat = 0.01
    weight_decay: NonNegativeFloat = 0.0


def l2sp_penalty(model: TransferModel, alpha: float, beta: float):
    """Returns a closure computing the L2-SP penalty for ``model``'s current weights."""
    anchors = [(p, p.detach().clone()) for p in model.shared.parameters() if p.requires_grad]
    head = [p for n, p in model.specific.named_parameters() if n.endswith("weight")]

    def penalty() -> torch.Tensor:
        to_source = sum(((p - p0) ** 2).sum() for p, p0 in anchors)
        head_norm = sum((p**2).sum() for p in head)
        return 0.5 * alpha * to_source + 0.5 * beta * head_norm

    return penalty


@register_method
class L2SP(Method):
    name = "l2sp"
    description = "Fine-tune with an L2 penalty toward the source weights of the shared layers (L2-SP)"
    Params = L2SPParams

    def fit(self, task: TransferTask) -> TransferModel:
        p = self.params
        return probe_then_tune(task, p, lambda m: l2sp_penalty(m, p.alpha, p.beta), name="l2sp")
