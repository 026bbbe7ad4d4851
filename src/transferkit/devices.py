"""Where models train and predict, and what keeps a seed's result the same there.

``resolve_device`` reads the ``device`` of an experiment file, ``pretrain`` and
``TransferClassifier``: ``auto`` (a GPU when torch sees one, else the CPU), ``cpu`` or
``cuda``. ``reproducible`` holds around every training: on a GPU, cuDNN otherwise picks its
kernels by timing them (``benchmark``) and may use ones that add in a varying order, so one
seed could give two results. It changes nothing on the CPU. One CUDA op has no deterministic
kernel at all, adaptive average pooling's backward (the ``cnn``'s), so a GPU rerun agrees only
to the last bits (docs/config.md; measured on an H200 in BENCHMARKS.md, "On a GPU").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import torch

from transferkit.errors import TransferkitError

P, R = ParamSpec("P"), TypeVar("R")


def device_of(module: torch.nn.Module) -> torch.device:
    """Where ``module`` computes: its first parameter's device (the CPU for one without any)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise TransferkitError(f"unknown device {name!r}.", "use auto, cpu or cuda.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TransferkitError(f"device {name!r}: this torch has no usable CUDA device.", "use device auto or cpu.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise TransferkitError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                               f"numbered from 0.", "use cuda (the first), or a number below the count.")  # fmt: skip
    if device.type == "cpu" and device.index not in (None, 0):  # 'cpu:1' names nothing of its own
        raise TransferkitError(f"device {name!r}: the CPU has no numbered devices.", "use cpu.")
    if device.type not in ("cpu", "cuda"):  # mps, xpu, meta...: tracebacks from deep inside torch before
        raise TransferkitError(f"device {name!r}: transferkit runs on the CPU or CUDA GPUs only.",
                               "use auto, cpu or cuda.")  # fmt: skip
    return device


@contextmanager
def deterministic_kernels() -> Iterator[None]:
    """cuDNN's deterministic kernels, no autotuning; the caller's settings come back after."""
    cudnn = torch.backends.cudnn
    saved = cudnn.deterministic, cudnn.benchmark
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        cudnn.deterministic, cudnn.benchmark = saved


def reproducible(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` under :func:`deterministic_kernels`. The wrapper is a frame of transferkit's, which
    ``user_stacklevel`` skips, so warnings still point at the user's line."""

    @functools.wraps(fn)
    def under_deterministic_kernels(*args: P.args, **kwargs: P.kwargs) -> R:
        with deterministic_kernels():
            return fn(*args, **kwargs)

    return under_deterministic_kernels
