"""The source model when the source is a pretrained model (``source: {pretrained: ...}``).

* ``pretrained`` alone: the pretrained encoder *is* the source; its shared layers are
  used as they are (no source training), with input normalisation from its spec.
* ``pretrained`` and ``data``: the encoder is first fine-tuned on the source data (a
  linear probe, then all layers with the shared ones at ``lr x shared_lr_mult``), e.g.
  MiniLM fine-tuned on movie reviews before transfer to product reviews. This model is
  cached like any source model, keyed by everything that determines it.
"""

from __future__ import annotations

import math
import time

import torch

from transferkit.models import TransferModel, build_shared
from transferkit.models.specific import build_specific
from transferkit.paths import cache_dir, file_identity, pretrained_identity
from transferkit.train.probe import fit_probe
from transferkit.train.source import SourceResult, cache_key, load_cached, save_cached, source_val_split
from transferkit.train.supervised import fit_supervised, predict_proba


def pretrained_source_model(cfg, data, seed: int, device: torch.device) -> SourceResult:
    """Shared layers from ``cfg.source.pretrained``; fine-tuned on ``data.xs`` when the source has data."""
    src = cfg.source
    has_data = data.xs is not None
    # Without source data there are no source classes: the head is built for the target's.
    # It is never used untrained: with no source data the classes never "match", so
    # source_only is refused and every method re-creates or trains the head first.
    classes = data.source.classes if has_data else data.target.classes
    key, key_src = cache_key({
        "pretrained": src.pretrained, "weights": file_identity(src.weights), "seed": seed,  # rewritten: another
        "data": data.source.fingerprint() if has_data else None, "shape": list(data.input_shape),
        "recipe": data.source_recipe.identity() if has_data else None, "head_hidden": cfg.model.head_hidden,
        "set": {k: getattr(src, k) for k in ("epochs", "batch_size", "lr", "shared_lr_mult", "weight_decay", "augment")},
        **({"files": local} if (local := pretrained_identity(src.pretrained)) else {}),  # hf:<folder>, rewritten
    }, device)  # fmt: skip
    path = cache_dir() / "source_models" / key
    cached = (load_cached(path) if has_data and src.cache and path.with_suffix(".json").exists()
              and path.with_suffix(".safetensors").exists() else None)  # fmt: skip
    if cached is not None:
        model, meta = cached
        model.config["source_trained"] = True  # also for models cached before the flag existed
        return SourceResult(model, meta["source_val_accuracy"], 0.0, True, key, [])

    start = time.perf_counter()
    torch.manual_seed(seed)
    model = build_pretrained_model(src.pretrained, src.weights, data.input_shape, classes, cfg.model.head_hidden)
    model = model.to(device)
    if not has_data:
        return SourceResult(model.eval(), math.nan, time.perf_counter() - start, False, key, [])
    tr, va = (torch.from_numpy(i) for i in source_val_split(data.source.y, seed=seed))
    xs, ys = data.xs.to(device), data.ys.to(device)
    # its weights leave the published ones: adapters on it need full checkpoints (models/adapters.py)
    model.config["source_trained"] = True
    model.freeze("all")
    fit_probe(model, xs[tr], ys[tr], steps=300)
    model.freeze(0)
    steps = max(1, src.epochs * len(tr) // src.batch_size)
    history = fit_supervised(
        model, xs[tr], ys[tr], groups=model.param_groups(src.lr * src.shared_lr_mult, src.lr, src.weight_decay),
        steps=steps, batch_size=src.batch_size, seed=seed, augment=src.augment,
    )  # fmt: skip
    val_acc = float((predict_proba(model, xs[va]).argmax(1) == ys[va]).float().mean()) if len(va) else math.nan
    if src.cache:
        save_cached(model, path, val_acc, key_src)
    return SourceResult(model.eval(), val_acc, time.perf_counter() - start, False, key, history)


def build_pretrained_model(
    source: str, weights: str | None, input_shape: tuple[int, ...], classes: list[str], head_hidden: int = 0
) -> TransferModel:
    """A TransferModel whose shared layers are the pretrained encoder (input normalisation from its spec)."""
    shared = build_shared("pretrained", tuple(input_shape), source=source, path=weights)
    spec = shared.spec
    if spec.modality == "image":
        mean, std = torch.tensor(spec.mean), torch.tensor(spec.std)
    else:  # token ids are not normalised
        mean, std = torch.zeros(input_shape[0]), torch.ones(input_shape[0])
    config = {
        "architecture": "pretrained", "arch_kwargs": {"source": source, "path": weights},
        "input_shape": list(input_shape), "classes": list(classes), "head_hidden": head_hidden,
    }  # fmt: skip
    return TransferModel(shared, build_specific(shared.out_dim, len(classes), head_hidden), mean, std, config)
