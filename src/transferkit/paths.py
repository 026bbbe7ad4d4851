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
