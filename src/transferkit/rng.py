"""The caller's random generators stay the caller's: the Python API seeds torch for its own
draws (``torch.manual_seed``), and a notebook's later ``torch.rand`` must not change because
``pretrain`` or ``run`` was called before it."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


@contextlib.contextmanager
def callers_rng_kept() -> Iterator[None]:
    """Inside: seed and draw freely. After: torch's (CPU, and any GPU already started), numpy's
    global and Python's ``random`` generators are as they were (a GPU is never started here)."""
    gpus = range(torch.cuda.device_count()) if torch.cuda.is_initialized() else []
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=gpus):
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
