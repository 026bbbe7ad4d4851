"""``source_only``: the source model applied to the target as it is (no target training).

Objective (source only):

    min_theta  E_{(x, y) ~ source} CE(f_theta(x), y)

then predict the target with f_theta. Needs identical source and target classes. It
measures the raw domain gap; it is the lower bound domain adaptation must beat.
"""

from __future__ import annotations

from transferkit.methods.base import Method, Params, TransferTask, register_method
from transferkit.models import TransferModel


@register_method
class SourceOnly(Method):
    name = "source_only"
    description = "The source model applied to the target unchanged (same classes only)"
    Params = Params
    min_shots = 0
    needs_same_classes = True

    def fit(self, task: TransferTask) -> TransferModel:
        assert task.source_model is not None
        return task.source_model.copy().eval()
