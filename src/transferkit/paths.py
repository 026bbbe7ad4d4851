"""Where transferkit keeps its caches (source models, features, downloads)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$TRANSFERKIT_CACHE``, else ``$XDG_CACHE_HOME/transferkit``, else ``~/.cache/transferkit``."""
    if os.environ.get("TRANSFERKIT_CACHE"):
        return Path(os.environ["TRANSFERKIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "transferkit"


def numeric_context(device=None) -> dict:
    """What changes a float result besides the model and the data: torch's version, its thread
    count (reductions split differently across threads) and, off the CPU, the device type and
    CUDA version (other kernels). Part of every cache key, so a cached result is the one this
    process would compute. CPU keys carry no device entry, so caches made before the device
    was part of the key stay valid."""
    import torch

    context = {"torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads()}
    kind = torch.device(device).type if device is not None else "cpu"
    if kind != "cpu":
        context.update(device=kind, cuda=torch.version.cuda)
    return context
