"""Shared fixtures: tiny synthetic domains (seconds to train), an isolated cache, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """Every test gets its own cache folder and a fixed seed."""
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
    torch.manual_seed(0)
    np.random.seed(0)


def make_images(n_per_class: int = 40, classes: int = 3, size: int = 12, shift: float = 0.0, seed: int = 0):
    """Grey images (N, 1, size, size) in 0..255: class c is a bright bar at a class-specific row.

    ``shift`` adds a constant brightness offset: a simple, controlled domain shift.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 40, size=(n_per_class * classes, 1, size, size)).astype(np.float32)
    y = np.repeat(np.arange(classes), n_per_class)
    for i, c in enumerate(y):
        row = 2 + c * (size - 4) // max(1, classes - 1)
        x[i, 0, max(0, row - 1) : row + 1, 2:-2] += 180
    x = np.clip(x + shift, 0, 255)
    perm = rng.permutation(len(y))
    return x[perm], y[perm].astype(np.int64)


@pytest.fixture
def image_npz(tmp_path):
    """(source.npz, target.npz) with the same 3 classes and a brightness shift."""
    xs, ys = make_images(60, seed=1)
    xt, yt = make_images(30, shift=30.0, seed=2)
    src, tgt = tmp_path / "source.npz", tmp_path / "target.npz"
    np.savez(src, x=xs[:, 0], y=ys, classes=np.array(["a", "b", "c"]))
    np.savez(tgt, x=xt[:, 0], y=yt, classes=np.array(["a", "b", "c"]))
    return src, tgt


def rgba_pair(folder, n_source: int = 30):
    """s.npz (RGB colour images, 3 classes) and t.npz (RGBA: see-through but for an opaque square) in
    ``folder``: an RGB source's model reads the target's 4th channel as nothing (it is dropped)."""
    rng = np.random.default_rng(0)
    np.savez(folder / "s.npz", x=rng.integers(0, 256, (n_source, 12, 12, 3)).astype(np.uint8), y=np.arange(n_source) % 3)
    rgba = rng.integers(0, 256, (30, 12, 12, 4)).astype(np.uint8)
    rgba[..., 3] = 0
    rgba[:, 3:9, 3:9, 3] = 255
    np.savez(folder / "t.npz", x=rgba, y=np.arange(30) % 3)
    return folder / "s.npz", folder / "t.npz"


def tiny_experiment(source: str, target: str, **over) -> dict:
    """A complete experiment dict that trains in a few seconds."""
    cfg = {
        "name": "tiny",
        "source": {"data": str(source), "epochs": 2, "batch_size": 32},
        "target": {"data": str(target), "shots": [2, 5], "test_fraction": 0.3},
        "model": {"options": {"width": 4, "feature_dim": 16}},
        "methods": [
            "scratch", {"name": "finetune", "params": {"steps": 15, "probe_steps": 15}},
            {"name": "head", "params": {"steps": 15}},
        ],
        "seeds": 2,
    }
    cfg["methods"][0] = {"name": "scratch", "params": {"steps": 15}}
    for k, v in over.items():
        cfg[k] = v
    return cfg
