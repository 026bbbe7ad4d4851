"""Training the specific layers on cached shared-layer features (a linear probe).

With the shared layers frozen their output never changes, so features are computed once
(:func:`extract_features`, BatchNorm in eval mode) and the head trains on the cache:
full-batch AdamW on a (N, D) matrix, thousands of times cheaper than forward passes.

Regularisation. :func:`fit_probe` takes either AdamW's decoupled ``weight_decay`` or an
explicit penalty ``l2 * ||W - W_0||^2`` on the head's weight matrices (``W_0`` = 0 for a
new head, the source head's weights when it is kept). :func:`fit_probe_cv` chooses ``l2``
from :data:`L2_GRID` by stratified k-fold cross-validation on the labelled examples only,
as linear-probe evaluations do (Kornblith et al., CVPR 2019, "Do Better ImageNet Models
Transfer Better?"; Radford et al., ICML 2021, CLIP, choose the L2 strength on held-out
training data). With one example of some class there is nothing to hold out: it falls
back to ``weight_decay``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from transferkit.models import TransferModel
from transferkit.train.feature_cache import frozen_features
from transferkit.train.loop import run_steps

L2_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
FEW_CLASSES = 16  # up to this many, _cv_linear's cross-entropy is log-sum-exp less the true logit (faster there)


def fit_probe(
    model: TransferModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 300,
    lr: float = 1e-2,
    weight_decay: float = 1e-3,
    l2: float | None = None,
    anchor_init: bool = False,
    on_log: Callable[[int, float], None] | None = None,
    features: torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
) -> list[tuple[int, float]]:
    """Train ``model.specific`` on features of ``x`` (shared layers untouched).

    ``l2`` given: AdamW without decay plus ``l2 * ||W - W_0||^2`` (``W_0``: the head's
    weights now if ``anchor_init``, else 0); otherwise AdamW with ``weight_decay``.
    ``features``: the shared layers' output for ``x`` when the caller already has it.
    ``class_weight``: (C,) each class's weight in the cross-entropy, or None.
    """
    feats = frozen_features(model, x) if features is None else features  # (N, D), disk-cached for pretrained
    log = None if on_log is None else (lambda step, loss: on_log(step, loss, float(step)))  # full batch: 1 step = 1 epoch
    return _train_head(model.specific, feats, y, steps, lr, weight_decay, l2, anchor_init, log, class_weight)


@dataclass(frozen=True)
class L2Choice:
    """What :func:`fit_probe_cv` chose and why: held-out accuracy and loss per grid value."""

    l2: float | None  # None: too few examples per class to cross-validate, weight decay used
    folds: int
    accuracy: dict[float, float]
    loss: dict[float, float]


def fit_probe_cv(
    model: TransferModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    grid: tuple[float, ...] = L2_GRID,
    folds: int = 4,
    seed: int = 0,
    **train,
) -> L2Choice:
    """Choose ``l2`` by stratified k-fold CV on (x, y), then train the head on all of it.

    ``train``: :func:`fit_probe`'s ``steps``, ``lr``, ``weight_decay``, ``anchor_init``,
    ``on_log``, ``class_weight``. The folds hold out examples of every class; a value's score
    is its mean held-out accuracy, ties broken by the lower held-out cross-entropy, then by the
    larger ``l2`` (with ``class_weight``, both weighted by it: balanced accuracy for "balanced"). Uses ``min(folds, fewest examples of a class)`` folds; below 2 it trains with
    ``weight_decay`` instead (and says so in the returned choice).
    """
    feats = frozen_features(model, x)  # once, for the search and the final fit
    cv = {k: train[k] for k in ("steps", "lr", "anchor_init", "class_weight") if k in train}
    choice = cross_validate_l2(model.specific, feats, y, grid=grid, folds=folds, seed=seed, **cv)
    fit_probe(model, x, y, l2=choice.l2, features=feats, **train)
    return choice


def cross_validate_l2(
    head: torch.nn.Module,
    feats: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 300,
    lr: float = 1e-2,
    grid: tuple[float, ...] = L2_GRID,
    folds: int = 4,
    anchor_init: bool = False,
    seed: int = 0,
    class_weight: torch.Tensor | None = None,
) -> L2Choice:
    """Score every ``l2`` of ``grid`` by stratified k-fold CV of ``head`` on (feats, y).

    Every fold and value trains from the head's current weights, which are restored at
    the end. ``l2`` is None in the result when some class has fewer than 2 examples.
    """
    k = min(folds, int(torch.unique(y, return_counts=True)[1].min()) if len(y) else 0)  # classes present
    if k < 2:
        return L2Choice(None, k, {}, {})
    fold = stratified_folds(y, k, seed)
    tail = _linear_tail(head)
    per = torch.ones(len(y), dtype=feats.dtype, device=feats.device) if class_weight is None else \
        class_weight.to(device=feats.device, dtype=feats.dtype)[y]  # each example's weight  # fmt: skip
    if tail is not None:  # all (value, fold) pairs train at once: same optimisation, one pass
        acc, loss = _cv_linear(*tail, feats, y, fold, k, grid, steps, lr, anchor_init, per, class_weight)
    else:
        acc, loss = _cv_loop(head, feats, y, fold, k, grid, steps, lr, anchor_init, per, class_weight)
    best = min(grid, key=lambda v: (-acc[v], loss[v], -v))
    return L2Choice(best, k, acc, loss)


def _cv_loop(head, feats, y, fold, k, grid, steps, lr, anchor_init, per=None, class_weight=None) -> tuple[dict, dict]:
    per = torch.ones(len(y), dtype=feats.dtype, device=feats.device) if per is None else per  # each example's weight
    start = {n: t.detach().clone() for n, t in head.state_dict().items()}
    acc: dict[float, float] = {}
    loss: dict[float, float] = {}
    for value in grid:
        hits, nll = 0.0, 0.0
        for f in range(k):
            train, held = fold != f, fold == f
            head.load_state_dict(start)
            _train_head(head, feats[train], y[train], steps, lr, 0.0, value, anchor_init, None, class_weight)
            with torch.no_grad():
                logits = head(feats[held])
            hits += float(((logits.argmax(1) == y[held]) * per[held]).sum())
            nll += float(F.cross_entropy(logits, y[held], reduction="sum") if class_weight is None else
                         (F.cross_entropy(logits, y[held], reduction="none") * per[held]).sum())  # None: as before, bit for bit  # fmt: skip
        acc[value], loss[value] = hits / float(per.sum()), nll / float(per.sum())
    head.load_state_dict(start)
    return acc, loss


def _linear_tail(head: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Linear] | None:
    """(parameter-free prefix, final dense layer) when that layer holds every parameter."""
    mods = list(head) if isinstance(head, torch.nn.Sequential) else [head]
    if not isinstance(mods[-1], torch.nn.Linear) or mods[-1].bias is None:
        return None
    if any(True for m in mods[:-1] for _ in m.parameters()):
        return None
    return torch.nn.Sequential(*mods[:-1]), mods[-1]


def _cv_linear(prefix, linear, feats, y, fold, k, grid, steps, lr, anchor_init, per=None,
               class_weight=None) -> tuple[dict, dict]:  # fmt: skip
    """Every (value, fold) pair as one slice of stacked weights (M = len(grid) * k).

    The summed loss gives each slice exactly its own gradient, and AdamW works element
    by element, so each slice follows the path :func:`_cv_loop` would train it on.
    """
    with torch.no_grad():
        x = prefix(feats).flatten(1)  # (N, D)
    per = torch.ones(len(y), dtype=x.dtype, device=x.device) if per is None else per  # each example's weight
    m = len(grid) * k
    w = linear.weight.detach().repeat(m, 1, 1).clone().requires_grad_()  # (M, C, D)
    b = linear.bias.detach().repeat(m, 1).clone().requires_grad_()  # (M, C)
    anchor = linear.weight.detach().clone() if anchor_init else torch.zeros_like(linear.weight)
    l2 = torch.tensor(grid, dtype=x.dtype, device=x.device).repeat_interleave(k)  # slice g*k+f: grid[g]
    held = fold[None, :] == (torch.arange(m, device=fold.device) % k)[:, None]  # (M, N)
    train = (~held).to(x.dtype) * per[None, :]  # each training example's weight (1 without class weights)

    picks, targets = y[None, :, None].expand(m, -1, 1), y.repeat(m)

    def cross_entropy(logits: torch.Tensor) -> torch.Tensor:  # (M, N, C) -> (M, N)
        if logits.shape[-1] <= FEW_CLASSES:  # log-sum-exp less the true class's logit: F.cross_entropy's value to
            # ~1e-6; a 4-fold cross-validation of 1,000 x 128 features, 1 CPU thread: 10 classes 2.2 -> 1.0 s, 2 classes
            # 0.51 -> 0.40 s, but 32 classes 1.9 -> 2.2 s and 100 classes 7.3 -> 8.5 s, hence F.cross_entropy there
            return torch.logsumexp(logits, -1) - logits.gather(-1, picks).squeeze(-1)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="none").view(m, -1)

    def logits() -> torch.Tensor:  # (M, N, C)
        return torch.einsum("nd,mcd->mnc", x, w) + b[:, None, :]

    def loss_fn(_: int) -> torch.Tensor:
        fit = ((cross_entropy(logits()) * train).sum(1) / train.sum(1)).sum()
        return fit + (l2 * ((w - anchor) ** 2).sum((1, 2))).sum()

    optimizer = torch.optim.AdamW([w, b], lr=lr, weight_decay=0.0)
    run_steps(torch.nn.Module(), loss_fn, optimizer, steps, max(1, steps // 20))
    with torch.no_grad():
        out = logits()
        ce, right = cross_entropy(out), out.argmax(-1) == y[None, :]
        hits = ((right & held) * per).sum(1).view(len(grid), k).sum(1)
        nll = (ce * held * per).sum(1).view(len(grid), k).sum(1)
    n = float(per.sum())
    return ({v: float(hits[i]) / n for i, v in enumerate(grid)}, {v: float(nll[i]) / n for i, v in enumerate(grid)})


def stratified_folds(y: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """(N,) fold index in [0, k): each class's examples, shuffled, dealt round-robin."""
    g = torch.Generator().manual_seed(seed)
    fold = torch.empty_like(y)
    for c in torch.unique(y):
        idx = (y == c).nonzero().flatten()
        fold[idx[torch.randperm(len(idx), generator=g).to(y.device)]] = (torch.arange(len(idx)) % k).to(y.device)
    return fold


def _train_head(head, feats, y, steps, lr, weight_decay, l2, anchor_init, on_log,
                class_weight=None) -> list[tuple[int, float]]:  # fmt: skip
    weights = [p for p in head.parameters() if p.dim() >= 2]
    anchors = [p.detach().clone() if anchor_init else torch.zeros_like(p) for p in weights]
    decay = 0.0 if l2 is not None else weight_decay
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=decay)

    def loss_fn(_: int) -> torch.Tensor:
        loss = F.cross_entropy(head(feats), y, weight=None if class_weight is None else class_weight.to(feats.device))
        if l2:
            loss = loss + l2 * sum(((p - a) ** 2).sum() for p, a in zip(weights, anchors, strict=True))
        return loss

    return run_steps(head, loss_fn, optimizer, steps, max(1, steps // 20), on_log)
