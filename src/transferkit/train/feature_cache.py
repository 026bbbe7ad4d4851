"""Shared-layer features of frozen *pretrained* shared layers, cached on disk.

When the shared layers are frozen their output never changes, so a linear probe (and
scoring a probed model) needs each input's features only once. For pretrained encoders
that forward pass is the whole cost (MobileNetV2 at 224 px, a transformer), and the same
(model, inputs) pair recurs across methods, shots, seeds and runs. The features are
computed in batches without autograd (:func:`extract_features`, BatchNorm in eval mode)
and stored under ``<cache_dir>/features/`` keyed by the content of the shared layers and
input normalisation (every tensor) and of the inputs, the batch size and what else moves the
last bits (:func:`~transferkit.paths.numeric_context`: torch's version, threads, device):
changed weights or data give a new entry, never a stale one. Small models trained here recompute instead (cheaper than
hashing and disk).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from transferkit.atomic import write_atomic
from transferkit.devices import device_of
from transferkit.paths import cache_dir, numeric_context, write_to_cache
from transferkit.pretrained.features import _tensor_bytes, data_fingerprint
from transferkit.train.supervised import extract_features


def is_frozen_pretrained(model) -> bool:
    """True when every shared block is frozen and the shared layers are a pretrained encoder."""
    return model.config.get("architecture") == "pretrained" and model.frozen_depth == model.num_blocks


def frozen_features(model, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, *input_shape) -> (N, D) features of the shared layers; disk-cached for pretrained ones.

    Tapped shared layers (``shared.taps``, models/taps.py) combine the cached pooled outputs
    of every block (:func:`frozen_block_outputs`), so one pass over the inputs serves every
    choice of taps: ``head: {layers: auto}`` may pick different blocks for each seed.
    """
    if model.config.get("architecture") != "pretrained":
        return extract_features(model, x)
    if model.shared.taps:
        from transferkit.models.taps import combine

        return combine(frozen_block_outputs(model, x, batch_size), model.shared.taps)
    weights = _weights_key(model)
    known = _REMEMBERED.get(id(x))
    if known is not None and known[0]() is x and known[1] == weights:  # rows whose features the caller has
        return known[2].to(x.device)
    stored = _cached(_path(model, x, "features", batch_size, weights),
                     lambda: {"features": extract_features(model, x, batch_size)}, len(x))  # fmt: skip
    return stored["features"].to(x.device)


_REMEMBERED: dict[int, tuple] = {}  # id(inputs) -> (weak reference to them, weights key, their features)


@contextmanager
def remembered_features(model, pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> Iterator[None]:
    """Within the block, :func:`frozen_features` of any of these input tensors, by shared layers with
    ``model``'s weights, is the features given with it: no forward pass, no cache file. A few-shot run
    computes the novel-class features once and gives each episode's support and query rows so (its
    ``head`` ran the encoder again on every episode and wrote two cache files for each; a review)."""
    if not pairs:
        yield
        return
    weights = _weights_key(model)
    ids = [id(x) for x, _ in pairs]
    for x, f in pairs:
        _REMEMBERED[id(x)] = (weakref.ref(x), weights, f)
    try:
        yield
    finally:
        for i in ids:
            _REMEMBERED.pop(i, None)


@torch.no_grad()
def frozen_block_outputs(model, x: torch.Tensor, batch_size: int = 256) -> list[torch.Tensor]:
    """(N, *input_shape) -> every shared block's pooled output [(N, C_0), ...], eval mode;
    disk-cached for pretrained shared layers."""
    from transferkit.models.taps import block_outputs

    def compute() -> dict[str, torch.Tensor]:
        model.eval()
        parts = [block_outputs(model.shared, model.normalise(x[i : i + batch_size].to(model.device)))
                 for i in range(0, len(x), batch_size)]  # fmt: skip
        return {f"block{b}": torch.cat(p) for b, p in enumerate(zip(*parts, strict=True))}

    stored = compute() if model.config.get("architecture") != "pretrained" else _cached(_path(model, x, "blocks", batch_size), compute, len(x))
    return [stored[f"block{b}"].to(x.device) for b in range(len(stored))]


def _weights_key(model) -> str:
    """A digest of ``model``'s shared layers: every tensor but the head's, and their repr (their modules and
    settings that are no tensors: a text encoder's pooling and normalisation, an activation)."""
    h = hashlib.sha256(repr(getattr(model, "shared", "")).encode())
    for name, t in model.state_dict().items():
        if not name.startswith("specific."):  # the head does not change the features
            h.update(name.encode() + str(tuple(t.shape)).encode())
            h.update(_tensor_bytes(t))
    return h.hexdigest()


def _path(model, x: torch.Tensor, kind: str, batch_size: int, weights: str | None = None):
    """Cache file for ``kind`` ("features": the last block; "blocks": every block, pooled) of
    ``model``'s shared layers on ``x``: keyed by :func:`_weights_key` (``weights``, when the caller has it),
    the inputs' content, the batch size and :func:`~transferkit.paths.numeric_context` (each can move the
    last bits)."""
    weights = weights or _weights_key(model)
    device = device_of(model)  # where the features are computed
    context = json.dumps({**numeric_context(device), "batch_size": batch_size}, sort_keys=True)
    key = hashlib.sha256((weights + data_fingerprint(x) + (kind if kind != "features" else "") + context).encode()).hexdigest()
    return cache_dir() / "features" / f"{'shared' if kind == 'features' else kind}-{key[:32]}.safetensors"


def _cached(path, compute, n: int) -> dict[str, torch.Tensor]:
    """The tensors stored at ``path`` (each with ``n`` rows), else ``compute()``'s, stored there."""
    from safetensors.torch import load_file, save_file

    if path.exists():
        try:
            stored = load_file(str(path))
            if stored and all(len(t) == n for t in stored.values()):
                return stored
        except Exception:  # noqa: BLE001  (safetensors raises its own error type)
            pass  # a damaged file is recomputed and overwritten
    tensors = compute()
    write_to_cache("the features", lambda: write_atomic(
        path, lambda p: save_file({k: t.detach().cpu().contiguous() for k, t in tensors.items()}, str(p))))
    return tensors
