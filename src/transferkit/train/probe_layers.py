"""Which shared blocks a linear head should read: chosen by cross-validation on the target.

A head on the last block alone is the classic probe; a head on the last g blocks
together (``models/taps.py``) can do better when the target is far from the source
(Evci et al., ICML 2022, "Head2Toe", select features from every layer). Which is better
depends on the pair of domains, so :func:`fit_probe_layers` does not guess: every
candidate ``g = 1 .. number of blocks`` and every L2 strength of the grid is scored by
the same stratified k-fold cross-validation on the labelled target examples (never the
test split): each candidate gets its L2 strength as in ``train/probe.py``, and the
candidate with the lowest held-out cross-entropy at that strength wins (ties: fewer
blocks) and trains the final head on all the examples. Candidates are compared by
held-out loss, not accuracy: with a few examples per fold accuracy moves in coarse steps
and ties often, and the candidates' true accuracies are close. The last block alone (``g = 1``) is the plain ``head`` and keeps its anchor to
the source's specific layers when the label space is the same; wider heads start new.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from transferkit.models import TransferModel
from transferkit.models.specific import build_specific
from transferkit.models.taps import can_tap, combine
from transferkit.train.feature_cache import frozen_block_outputs, frozen_features
from transferkit.train.probe import L2_GRID, L2Choice, cross_validate_l2, fit_probe


@dataclass(frozen=True)
class LayerChoice:
    """What :func:`fit_probe_layers` chose: ``taps`` (None: the last block's output only)
    and the L2 cross-validation of each candidate, keyed ``"last"`` or ``"last 3"``."""

    taps: tuple[int, ...] | None
    l2: L2Choice
    candidates: dict[str, L2Choice]


def fit_probe_layers(
    model: TransferModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    grid: tuple[float, ...] = L2_GRID,
    folds: int = 4,
    seed: int = 0,
    anchor_init: bool = False,
    **train,
) -> LayerChoice:
    """Choose the tapped blocks and ``l2`` by stratified k-fold CV, then train the head.

    ``train``: :func:`fit_probe`'s ``steps``, ``lr``, ``weight_decay``, ``on_log``, ``class_weight``. With
    fewer than 2 examples of some class, or shared layers that cannot be tapped, only the
    last block is a candidate (and ``l2`` falls back as in :func:`fit_probe_cv`).
    """
    cv = {k: train[k] for k in ("steps", "lr", "class_weight") if k in train}
    last = frozen_features(model, x)  # (N, D), disk-cached for pretrained encoders
    scores = {"last": cross_validate_l2(model.specific, last, y, grid=grid, folds=folds, seed=seed,
                                        anchor_init=anchor_init, **cv)}  # fmt: skip
    features = {"last": (None, last)}
    if scores["last"].l2 is not None and can_tap(model.shared):
        outputs = frozen_block_outputs(model, x)
        n, classes = len(outputs), len(model.classes)
        for g in range(2, n + 1):
            taps = tuple(range(n - g, n))
            f = combine(outputs, taps)  # (N, sum C_b)
            head = build_specific(f.shape[1], classes, model.config.get("head_hidden", 0)).to(f.device)
            scores[f"last {g}"] = cross_validate_l2(head, f, y, grid=grid, folds=folds, seed=seed, **cv)
            features[f"last {g}"] = (taps, f)
    # Lowest held-out cross-entropy at each candidate's chosen l2; dicts keep order, so ties go to fewer blocks.
    best = min(scores, key=lambda k: scores[k].loss.get(scores[k].l2, 0.0))
    taps, f = features[best]
    if taps is not None:
        model.set_taps(taps)
    fit_probe(model, x, y, l2=scores[best].l2, features=f, anchor_init=anchor_init and taps is None, **train)
    return LayerChoice(taps, scores[best], scores)
