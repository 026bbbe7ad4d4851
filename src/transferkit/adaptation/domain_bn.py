"""Domain-specific BatchNorm statistics for one forward pass over source + target.

Domain adaptation methods push a concatenated batch ``[source | target]`` through the
model once per step. Ordinary BatchNorm would normalise both domains with the mixed
batch's mean and variance, which (i) hides the very shift the method should learn to
remove and (ii) leaves the model at test time with running statistics of a mixture
nobody will ever feed it. We therefore keep **separate statistics per domain** and
**share the affine parameters** (scale ``gamma`` and offset ``beta``)::

    BN_d(x) = gamma * (x - mu_d) / sqrt(var_d + eps) + beta,     d in {source, target}

where during training ``mu_d, var_d`` are the statistics of the domain-``d`` part of the
batch and the running statistics of each domain are updated separately. This is AdaBN
(Li et al., "Revisiting Batch Normalization for Practical Domain Adaptation", ICLR-W
2017) applied throughout training, and domain-specific BN (Chang et al., "Domain-
Specific Batch Normalization for Unsupervised Domain Adaptation", CVPR 2019) with shared
affine parameters. Sharing them keeps the adapted network a plain :class:`TransferModel`:
:func:`detach_domain_bn` puts ordinary BatchNorm layers back, holding the target
statistics, so the returned model predicts on the target with no special code and saves
and loads like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class DomainBatchNorm(nn.Module):
    """Wraps a BatchNorm layer: its affine parameters, one set of running statistics per domain.

    The wrapped layer's own running statistics are the source's; the target's live in
    ``target_mean``/``target_var`` (initialised from the source's). In training mode the
    first ``n_source`` rows of the batch are source examples, the rest target ones. In
    eval mode ``domain`` chooses the statistics ("target" by default). Rows after the
    first ``n_source + n_target`` (e.g. strongly augmented views for self-training) are
    normalised by their own batch statistics and never enter the running ones, so the
    target statistics describe clean target inputs, the ones the model will predict on.
    """

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.bn = bn
        self.register_buffer("target_mean", bn.running_mean.detach().clone())
        self.register_buffer("target_var", bn.running_var.detach().clone())
        self.n_source = 0
        self.n_target: int | None = None  # None: every row after the source rows
        self.domain = "target"
        self.momentum = bn.momentum if bn.momentum is not None else 0.1

    def _norm(self, x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        bn = self.bn
        return F.batch_norm(x, mean, var, bn.weight, bn.bias, self.training, self.momentum, bn.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn = self.bn
        if not self.training:
            if self.domain == "source":
                return self._norm(x, bn.running_mean, bn.running_var)
            return self._norm(x, self.target_mean, self.target_var)
        n_s = self.n_source
        n_st = x.shape[0] if self.n_target is None else n_s + self.n_target
        parts = []
        if n_s > 0:
            parts.append(self._norm(x[:n_s], bn.running_mean, bn.running_var))
        if n_st > n_s:
            parts.append(self._norm(x[n_s:n_st], self.target_mean, self.target_var))
        if x.shape[0] > n_st:
            parts.append(F.batch_norm(x[n_st:], None, None, bn.weight, bn.bias, True, 0.0, bn.eps))
        return torch.cat(parts) if len(parts) > 1 else parts[0]


def _wrappers(model: nn.Module) -> list[DomainBatchNorm]:
    return [m for m in model.modules() if isinstance(m, DomainBatchNorm)]


def _replace(model: nn.Module, kind: type | tuple, make, keep=lambda m: False) -> int:
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, kind) and not keep(child):
                setattr(parent, name, make(child))
                count += 1
    return count


def attach_domain_bn(model: nn.Module) -> int:
    """Replace every BatchNorm layer of ``model`` in place by a :class:`DomainBatchNorm`.

    A BatchNorm that keeps no running statistics (``track_running_stats=False``, possible in a
    network of your own) always normalises by its batch: it has no source statistics to keep
    apart, and is left as it is.

    Returns:
        How many layers were wrapped (0: the model has no BatchNorm with statistics, nothing to do).
    """
    return _replace(model, BN_TYPES, DomainBatchNorm, keep=lambda bn: bn.running_mean is None)


def detach_domain_bn(model: nn.Module, domain: str = "target") -> nn.Module:
    """Put plain BatchNorm layers back, holding ``domain``'s running statistics."""

    def unwrap(w: DomainBatchNorm) -> nn.Module:
        if domain == "target":
            with torch.no_grad():
                w.bn.running_mean.copy_(w.target_mean)
                w.bn.running_var.copy_(w.target_var)
        return w.bn

    _replace(model, DomainBatchNorm, unwrap)
    return model


@contextmanager
def domain_rows(model: nn.Module, n_source: int, n_target: int | None = None) -> Iterator[None]:
    """Within the block, training batches are ``[n_source source rows | n_target target rows | rest]``.

    ``n_target=None`` makes every row after the source rows a target row.
    """
    wrappers = _wrappers(model)
    for w in wrappers:
        w.n_source, w.n_target = n_source, n_target
    try:
        yield
    finally:
        for w in wrappers:
            w.n_source, w.n_target = 0, None


@contextmanager
def eval_domain(model: nn.Module, domain: str) -> Iterator[None]:
    """Within the block, eval-mode forwards use ``domain``'s statistics ("source"/"target")."""
    wrappers = _wrappers(model)
    for w in wrappers:
        w.domain = domain
    try:
        yield
    finally:
        for w in wrappers:
            w.domain = "target"


@torch.no_grad()
def estimate_target_stats(model: nn.Module, x: torch.Tensor, batch_size: int = 256, seed: int = 0) -> None:
    """AdaBN: set the target statistics to their average over ``x`` (N, ...), target inputs.

    The rows are visited in a seeded random order and each batch counts by its size, so the
    result estimates the statistics of all of ``x``: data stored class by class (an image
    folder, MNIST) would otherwise give batches of one class each, whose within-batch
    variances leave out the spread between classes. Only the target statistics change;
    source statistics and all parameters are kept.
    """
    wrappers = _wrappers(model)
    if not wrappers or len(x) < 2:
        return
    was = model.training
    model.train()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_batches = max(1, len(x) // batch_size)
    seen = 0
    for i in range(n_batches):
        rows = order[i * batch_size : (i + 1) * batch_size if i < n_batches - 1 else len(x)]
        seen += len(rows)
        for w in wrappers:
            w.momentum = len(rows) / seen  # a running mean over batches, weighted by their size
        model(x[rows])
    for w in wrappers:  # every row was a target row (n_source = 0): source statistics are untouched
        w.momentum = w.bn.momentum if w.bn.momentum is not None else 0.1
    model.train(was)
