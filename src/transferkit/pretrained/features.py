"""Features from frozen shared layers, computed in batches and cached on disk.

Extracting features from a pretrained source is the slow step of linear probing,
transferability ranking and few-shot evaluation; the same (model, preprocessing, data)
triple recurs across seeds and methods. :func:`cached_features` keys the result by the
content of all three, so a changed weight, a changed resize or a changed pixel gives a
new entry, never a stale one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transferkit.atomic import write_atomic
from transferkit.devices import device_of
from transferkit.paths import cache_dir, numeric_context, write_to_cache
from transferkit.pretrained.spec import PretrainedSpec


def extract_features(
    model: nn.Module,
    x: torch.Tensor,
    batch_size: int = 64,
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Run ``model`` over ``x`` in batches under ``torch.inference_mode``.

    The model is put in eval mode for the call (BatchNorm uses its running statistics,
    so a sample's features do not depend on its batch) and restored afterwards.

    Args:
        model: shared layers returning (B, D).
        x: (N, ...) inputs, on any device; each batch moves to the model's device.
        batch_size: samples per forward pass.
        preprocess: applied per batch, so e.g. upsampling 28x28 digits to 224x224
            never holds the whole data set at the large size.

    Returns:
        (N, D) float32 features on the CPU.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = device_of(model)
    was_training = model.training
    model.eval()
    out: list[torch.Tensor] = []
    try:
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                batch = x[start : start + batch_size].to(device)
                if preprocess is not None:
                    batch = preprocess(batch)
                out.append(model(batch).float().flatten(1).cpu())
    finally:
        model.train(was_training)
    if not out:
        raise ValueError("extract_features got no samples (x is empty)")
    return torch.cat(out)


def model_fingerprint(model: nn.Module) -> str:
    """SHA-256 of the architecture name and every parameter and buffer, in order."""
    h = hashlib.sha256(type(model).__qualname__.encode())
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(_tensor_bytes(t))
    return h.hexdigest()


def data_fingerprint(x: torch.Tensor) -> str:
    """SHA-256 of the bytes of ``x`` together with its shape and dtype."""
    h = hashlib.sha256(f"{tuple(x.shape)}|{x.dtype}".encode())
    h.update(_tensor_bytes(x))
    return h.hexdigest()


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16; reinterpret the same bytes
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def cached_features(
    model: nn.Module,
    spec: PretrainedSpec,
    x: torch.Tensor,
    key_parts: Sequence[Any] = (),
    batch_size: int = 64,
    cache: str | Path | None = None,
) -> torch.Tensor:
    """Features of ``spec.preprocess(x)``, read from the disk cache when available.

    Args:
        model: shared layers from :func:`transferkit.pretrained.load_pretrained`.
        spec: its spec; the preprocessing fields are part of the key.
        x: (N, C, H, W) images in [0, 1] (or uint8), before preprocessing.
        key_parts: extra JSON-serialisable values that change the result and are not
            visible in the model, spec or data (e.g. a layer cut); also stored as metadata.
        batch_size: samples per forward pass when computing.
        cache: folder; defaults to ``<cache_dir()>/features``.

    Returns:
        (N, D) float32 features on the CPU; identical on a cache hit.
    """
    parts = json.dumps(list(key_parts), sort_keys=True, default=str)
    device = device_of(model)  # where the features are computed
    context = json.dumps({**numeric_context(device), "batch_size": batch_size}, sort_keys=True)
    key = hashlib.sha256(
        "\n".join(
            [model_fingerprint(model), spec.preprocessing_key(), data_fingerprint(x), parts, context]
        ).encode()
    ).hexdigest()
    folder = Path(cache) if cache is not None else cache_dir() / "features"
    safe_name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in spec.name)
    path = folder / f"{safe_name}-{key[:24]}.safetensors"
    if path.exists():
        features = _load(path, key, len(x))
        if features is not None:
            return features
    features = extract_features(model, x, batch_size, preprocess=spec.preprocess)
    _save(path, features, key, spec, parts)
    return features


def _load(path: Path, key: str, n: int) -> torch.Tensor | None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}).get("key") != key:
                return None  # a 96-bit prefix collision: recompute rather than trust it
            features = f.get_tensor("features")
    except (SafetensorError, OSError, RuntimeError):
        return None  # a damaged file is recomputed and overwritten
    return features if features.shape[0] == n else None


def _save(path: Path, features: torch.Tensor, key: str, spec: PretrainedSpec, parts: str) -> None:
    from safetensors.torch import save_file

    metadata = {
        "key": key,
        "spec": spec.preprocessing_key(),
        "source": spec.source,
        "key_parts": parts,
    }
    write_to_cache("the features", lambda: write_atomic(
        path, lambda p: save_file({"features": features.contiguous()}, str(p), metadata)))


def encode_texts(
    encoder: nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int = 32,
    max_length: int | None = None,
) -> torch.Tensor:
    """Sentence embeddings of ``texts`` from a text encoder, in batches.

    Args:
        encoder: a module called as ``encoder(input_ids=..., attention_mask=...)`` that
            returns (B, D), such as the one ``load_pretrained("hf:...")`` gives.
        tokenizer: a Hugging Face tokenizer; ``None`` takes ``encoder.tokenizer``.
        texts: N strings.
        batch_size: texts per forward pass (each batch is padded to its longest text).
        max_length: truncation length; defaults to ``encoder.max_length``, else 512.

    Returns:
        (N, D) float32 embeddings on the CPU.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string; wrap it in a list")
    tokenizer = tokenizer if tokenizer is not None else encoder.tokenizer
    max_length = max_length or getattr(encoder, "max_length", None) or 512
    device = device_of(encoder)
    was_training = encoder.training
    encoder.eval()
    out: list[torch.Tensor] = []
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                )
                batch = {k: v.to(device) for k, v in batch.items()}
                out.append(encoder(**batch).float().cpu())
    finally:
        encoder.train(was_training)
    if not out:
        raise ValueError("encode_texts got no texts")
    return torch.cat(out)
