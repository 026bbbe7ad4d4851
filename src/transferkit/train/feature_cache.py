"""Shared-layer features of frozen *pretrained* shared layers, cached on disk.

When the shared layers are frozen their output never changes, so a linear probe (and
scoring a probed model) needs each input's features only once. For pretrained encoders
that forward pass is the whole cost (MobileNetV2 at 224 px, a transformer), and the same
(model, inputs) pair recurs across methods, shots, seeds and runs. The features are
computed in batches without autograd (:func:`extract_features`, BatchNorm in eval mode)
and stored under ``<cache_dir>/features/`` keyed by the content of the shared layers and
input normalisation (every tensor) and of the inputs: changed weights or data give a new
entry, never a stale one. Small models trained here recompute instead (cheaper than
hashing and disk).
"""

from __future__ import annotations

import hashlib

import torch

from transferkit.atomic import write_atomic
from transferkit.paths import cache_dir
from transferkit.pretrained.features import _tensor_bytes, data_fingerprint
from transferkit.train.supervised import extract_features


def is_frozen_pretrained(model) -> bool:
    """True when every shared block is frozen and the shared layers are a pretrained encoder."""
    return model.config.get("architecture") == "pretrained" and model.frozen_depth == model.num_blocks


def frozen_features(model, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, *input_shape) -> (N, D) features of the shared layers; disk-cached for pretrained ones."""
    if model.config.get("architecture") != "pretrained":
        return extract_features(model, x)
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        if not name.startswith("specific."):  # the head does not change the features
            h.update(name.encode() + str(tuple(t.shape)).encode())
            h.update(_tensor_bytes(t))
    if model.shared.taps:  # which blocks' outputs (models/taps.py)
        h.update(f"taps={model.shared.taps}".encode())
    key = hashlib.sha256((h.hexdigest() + data_fingerprint(x)).encode()).hexdigest()
    path = cache_dir() / "features" / f"shared-{key[:32]}.safetensors"
    if path.exists():
        from safetensors.torch import load_file

        try:
            cached = load_file(str(path))["features"]
            if len(cached) == len(x):
                return cached.to(x.device)
        except Exception:  # noqa: BLE001  (safetensors raises its own error type)
            pass  # a damaged file is recomputed and overwritten
    feats = extract_features(model, x, batch_size)
    from safetensors.torch import save_file

    write_atomic(path, lambda p: save_file({"features": feats.detach().cpu().contiguous()}, str(p)))
    return feats
