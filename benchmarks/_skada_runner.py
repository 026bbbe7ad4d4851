"""skada's deep DA methods on a transferkit task: same source model, batch, steps, optimiser.

Used by ``benchmarks/domain_adaptation.py``. skada is optional: ``pip install skada skorch
-c constraints.txt`` (not ``skada[deep]``, which pulls a CUDA torch).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

SKADA_METHODS = ("SourceOnly", "DANN", "CDAN", "DAN", "DeepCoral", "MCC")
LR, WEIGHT_DECAY = 1e-3, 5e-4  # the defaults of transferkit's adaptation methods (methods/_adapt.py)


class Backbone(nn.Module):
    """The transferkit source model with the ``forward(X, sample_weight=None)`` skada calls."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.net = model

    def forward(self, X: torch.Tensor, sample_weight=None) -> torch.Tensor:
        return self.net(X)


class SigmoidDomainClassifier(nn.Module):
    """skada's DomainClassifier (GRL, Linear-100, ReLU, Linear-1) ending in a sigmoid, not a
    softmax over one output (constant 1, no gradient), as SKADA-Bench does."""

    def __init__(self, num_features: int, alpha: float = 1.0) -> None:
        super().__init__()
        self.classifier = nn.Sequential(nn.Linear(num_features, 100), nn.ReLU(), nn.Linear(100, 1), nn.Sigmoid())
        self.alpha = alpha

    def forward(self, x: torch.Tensor, sample_weight=None) -> torch.Tensor:
        from skada.deep.modules import GradientReversalLayer

        return self.classifier(GradientReversalLayer.apply(x, self.alpha)).squeeze(-1)


def stop_after(steps: int):
    """A skorch callback that ends ``fit`` after exactly ``steps`` optimiser steps.

    skorch trains whole epochs; skada's deep methods use a constant learning rate, so
    stopping inside an epoch changes nothing but the step count. skorch's ``fit`` ends
    quietly on ``KeyboardInterrupt`` (``NeuralNet.partial_fit``), which is how this stops it.
    """
    from skorch.callbacks import Callback

    class StopAfterSteps(Callback):
        def initialize(self):
            self.done_ = 0
            return self

        def on_batch_end(self, net, batch=None, training=None, **kwargs):
            if training:
                self.done_ += 1
                if self.done_ >= steps:
                    raise KeyboardInterrupt

    return StopAfterSteps()


def run_skada(name: str, task, x_test: torch.Tensor, y_test: torch.Tensor, steps: int, batch_size: int):
    """Fit skada's ``name`` on the task (k = 0: source + unlabelled target). Returns (result, version)."""
    try:
        import skada
        import skada.deep as sd
    except ImportError as e:
        raise SystemExit(f"skada is not installed ({e}); pip install skada skorch -c constraints.txt") from None
    source = task.source_model.copy()
    feature_dim, num_classes = source.shared.out_dim, len(task.classes)
    xs, ys, xt = task.source_x.numpy(), task.source_y.numpy(), task.target.x_unlabelled.numpy()
    # DomainBalancedSampler: each step takes batch_size source + batch_size target rows; an
    # epoch has max(floor(n_s / B), floor(n_t / B)) steps. Enough epochs to cover the budget,
    # cut at exactly `steps` optimiser steps (the same number transferkit's methods take).
    # SourceOnly iterates the source rows alone, so its epochs are shorter.
    per_epoch = max(1, len(xs) // batch_size if name == "SourceOnly" else max(len(xs), len(xt)) // batch_size)
    epochs = -(-steps // per_epoch)
    stopper = stop_after(steps)
    common = dict(
        batch_size=batch_size, max_epochs=epochs, optimizer=torch.optim.AdamW, lr=LR,
        optimizer__weight_decay=WEIGHT_DECAY, train_split=None, device="cpu", verbose=0,
        callbacks=[("stop_after_steps", stopper)],
    )  # fmt: skip
    module, layer = Backbone(source), "net.shared"
    if name == "SourceOnly":
        net = sd.SourceOnly(module, layer_name=layer, **common)
    elif name == "DANN":
        net = sd.DANN(module, layer, domain_classifier=SigmoidDomainClassifier(feature_dim), **common)
    elif name == "CDAN":
        in_dim = min(feature_dim * num_classes, 4096)
        net = sd.CDAN(module, layer, domain_classifier=SigmoidDomainClassifier(in_dim), **common)
    elif name == "DAN":
        net = sd.DAN(module, layer, **common)
    elif name == "DeepCoral":
        net = sd.DeepCoral(module, layer, **common)
    elif name == "MCC":
        net = sd.MCC(module, layer, **common)
    else:
        raise ValueError(f"unknown skada method {name!r}; use one of {SKADA_METHODS}")
    x = np.concatenate([xs, xt]).astype(np.float32)
    y = np.concatenate([ys, -np.ones(len(xt), dtype=ys.dtype)])  # target labels masked
    domain = np.concatenate([np.ones(len(xs), dtype=np.int64), -2 * np.ones(len(xt), dtype=np.int64)])
    torch.manual_seed(task.seed)
    np.random.seed(task.seed)
    t0, c0 = time.perf_counter(), time.process_time()
    net.fit(x, y, sample_domain=domain)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pred = net.predict(x_test.numpy().astype(np.float32), sample_domain=-2 * np.ones(len(x_test), dtype=np.int64))
    acc = float((torch.as_tensor(pred) == y_test).float().mean())
    # skada has no checkpoint selection: the model after the last step is the result.
    done = net.callbacks_[[name for name, _ in net.callbacks_].index("stop_after_steps")][1].done_
    result = {"accuracy": acc, "wall_s": wall, "cpu_s": cpu, "steps": done, "selected_step": None}
    return result, skada.__version__
