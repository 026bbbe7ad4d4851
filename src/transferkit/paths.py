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


def numeric_context() -> dict:
    """What changes a float result besides the model and the data: torch's version and its
    thread count (reductions split differently across threads). Part of every cache key, so
    a cached result is the one this process would compute."""
    import torch

    return {"torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads()}
