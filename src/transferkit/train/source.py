"""Training on the source, once per (source data, architecture, recipe, settings, seed).

The trained model is cached on disk under a key made of everything that determines it,
so repeated runs, other targets and other methods reuse it instead of retraining.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from transferkit.devices import reproducible
from transferkit.models import TransferModel
from transferkit.models.shared import auto_architecture
from transferkit.models.transfer_model import state_digest
from transferkit.paths import cache_dir, numeric_context, write_to_cache
from transferkit.train.supervised import fit_supervised, predict_proba

CACHE_FORMAT = 11  # 11: series read by the cnn1d are not shifted or turned (it moved sensors into each other); 10: a feature is constant by its own level, not by 1e-6 on 0..1; 2: cnn blocks pool before BatchNorm; 3: no shift augmentation under 14 px; 4: input_stats on constant features; 5: threads in the key; 6: cnn1d's one mean/std over all values; 7: cnn1d's mean/std per sensor; 8: per sensor only for spreads > SENSOR_SPREAD apart; 9: per sensor when one std is > SENSOR_SPREAD x a sensor's
SENSOR_SPREAD = 10.0  # cnn1d: one scale for all sensors unless it shrinks one's variation more (an order of magnitude)
# The key holds torch's thread count: a model trained under another count differs in its last
# bits (its input statistics too, which scratch models share), so a cached one would make a
# run's numbers depend on which earlier run filled the cache (the demo's source_only: 69.6 %
# from a 1-thread cache against 70.8 % trained at 2 threads).


@dataclass
class SourceResult:
    model: TransferModel
    val_accuracy: float
    seconds: float
    cached: bool
    key: str
    history: list[tuple[int, float]]


def input_stats(x: torch.Tensor, architecture: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (images) or per-feature (vectors) mean and std of (N, ...) inputs.

    For the ``cnn1d`` on series (N, L), one mean and std over every value, repeated for each
    step: statistics per step would give the same pattern other values at other positions,
    which a convolution along time is there to treat alike. On series of C sensors, prepared
    as (N, 1, C, L), shape (C, 1): when one std over all sensors' values is more than
    ``SENSOR_SPREAD`` times a sensor's own (sensors in other units, or at other levels: the
    one std counts the gaps between their means too), one mean and std per sensor, since one
    scale for all would leave that sensor's variation near zero (a class
    carried by a sensor over 10,000 times smaller than its neighbour: chance from scratch, against
    over 90 % per sensor; tests/models/test_architectures.py). Otherwise one mean and std for
    all, which keeps the sensors' relative sizes (per-sensor statistics for every series moved
    the series benchmark's cells by -7.6 to +4.0 points, both ways; BENCHMARKS.md, "Series").

    A channel or feature that never varies here (one value throughout, e.g. a pixel column that
    is always 0 in the source) gets the median std of those that do (1 if none do): dividing by
    ~0 would multiply any other value it takes later, in the target, beyond bounds. A nearly
    constant one keeps its own small std (a target value far from it is warned of by the range
    checks, column by column).
    """
    built = auto_architecture(tuple(x.shape[1:])) if architecture == "auto" else architecture
    if built == "cnn1d" and x.ndim == 2:
        flat = x.reshape(-1, 1)  # every value one sample of one "feature"
        mean, std = input_stats(flat, "mlp")
        return mean.expand(x.shape[1]).clone(), std.expand(x.shape[1]).clone()
    if built == "cnn1d" and x.ndim == 4:
        per_sensor = x[:, 0].transpose(1, 2).reshape(-1, x.shape[2])  # every (example, step) a row
        mean, std = input_stats(per_sensor, "mlp")  # (a constant sensor has the median std of the others)
        one_mean, one_std = input_stats(x.reshape(-1, 1), "mlp")
        if one_std.item() / std.min().item() <= SENSOR_SPREAD:  # one scale shrinks no sensor's own variation much
            mean, std = one_mean.expand(x.shape[2]), one_std.expand(x.shape[2])
        return mean.reshape(-1, 1).clone(), std.reshape(-1, 1).clone()
    dims = [0, 2, 3] if x.ndim == 4 else [0]
    mean, std = x.mean(dim=dims), x.std(dim=dims)
    # constant: one value throughout. A floor on std (1e-6 on 0..1, or relative to the column's level,
    # which other columns set) erased real features, e.g. blood pH (std 4e-7 there) beside an income
    # in dollars. A nearly constant column keeps its small std; a target far off it is warned of.
    flat = x.amax(dim=dims) == x.amin(dim=dims)
    varies = ~flat & (std > 0)
    typical = std[varies].median() if bool(varies.any()) else torch.ones((), dtype=std.dtype)
    return mean, torch.where(varies, std, typical)


def source_val_split(y: np.ndarray, fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices of the source; validation never trains."""
    rng = np.random.default_rng([seed, 104729])
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = max(1, int(len(idx) * fraction)) if len(idx) > 1 else 0
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def cache_key(parts: dict, device=None) -> tuple[str, str]:
    """(key, the JSON it hashes) of a cached source model: ``parts`` plus the cache format and
    :func:`~transferkit.paths.numeric_context` on ``device`` (torch's version, its thread count;
    off the CPU, the device)."""
    key_src = json.dumps({"v": CACHE_FORMAT, **parts, **numeric_context(device)}, sort_keys=True, default=str)
    return hashlib.sha256(key_src.encode()).hexdigest()[:20], key_src


def architecture_code(name: str) -> str | None:
    """A digest of the source code of a shared-layer architecture registered outside transferkit
    (``register_architecture``), or None for the built-in ones (their changes bump
    ``CACHE_FORMAT``). A user's ``mycnn`` changed from ReLU to Tanh under the same name was
    served the ReLU weights from the cache. Code that cannot be read (defined in a REPL): its
    class's name and module only."""
    import inspect

    from transferkit.models.shared import ARCHITECTURES

    info = ARCHITECTURES.get(name)
    build = getattr(info, "build", None)
    inner = getattr(build, "func", build)  # functools.partial(SmallCNN, width=64): SmallCNN, and its arguments
    if build is None or (getattr(inner, "__module__", None) or "").startswith("transferkit.") and inner is build:
        return None
    try:
        text = inspect.getsource(inner)
    except (OSError, TypeError):
        text = f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', type(inner).__name__)}"
    if inner is not build:
        text += repr((getattr(build, "args", ()), sorted((getattr(build, "keywords", None) or {}).items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _not_defaults(name: str, arch_kwargs: dict) -> dict:
    """The options that differ from the architecture's defaults: `width: 16` written out for the
    cnn is the cnn, and its source is the one cached without it (it was trained again)."""
    from transferkit.models.shared import architecture_defaults

    defaults = architecture_defaults(name)
    return {k: v for k, v in arch_kwargs.items() if k not in defaults or defaults[k] != v or type(defaults[k]) is not type(v)}


@reproducible  # rank calls it outside a run
def pretrain_source(
    x: torch.Tensor,
    y: torch.Tensor,
    classes: list[str],
    *,
    architecture: str,
    arch_kwargs: dict,
    settings: dict,
    seed: int,
    identity: dict,
    use_cache: bool = True,
    on_log=None,
) -> SourceResult:
    """Train (or load from cache) a TransferModel on the source.

    Args:
        x, y: Prepared source inputs (N, *input_shape) and labels (N,).
        settings: ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``augment``.
        identity: What names the data (fingerprint, recipe), part of the cache key.
    """
    built = auto_architecture(tuple(x.shape[1:])) if architecture == "auto" else architecture  # the one built
    code = architecture_code(built)  # a user's own architecture, changed under its name, is another model
    key, key_src = cache_key({"arch": built, "kw": _not_defaults(built, arch_kwargs), "set": settings, "seed": seed, "id": identity,
                              **({"code": code} if code else {})}, x.device)  # fmt: skip
    path = cache_dir() / "source_models" / key
    if use_cache and path.with_suffix(".json").exists() and path.with_suffix(".safetensors").exists():
        cached = load_cached(path)
        if cached is not None:
            model, meta = cached
            return SourceResult(model, meta["source_val_accuracy"], 0.0, True, key, [])

    start = time.perf_counter()
    tr, va = source_val_split(y.cpu().numpy(), seed=seed)
    mean, std = input_stats(x[tr], built)
    torch.manual_seed(seed)
    model = TransferModel.build(architecture, tuple(x.shape[1:]), classes, mean, std, **arch_kwargs).to(x.device)
    steps = max(1, settings["epochs"] * len(tr) // settings["batch_size"])
    lr = settings["lr"]
    history = fit_supervised(
        model, x[tr], y[tr], groups=model.param_groups(lr, lr, settings["weight_decay"]),
        steps=steps, batch_size=settings["batch_size"], seed=seed, augment=settings["augment"],
        on_log=on_log,
    )  # fmt: skip
    val_acc = float((predict_proba(model, x[va]).argmax(1) == y[va]).float().mean()) if len(va) else float("nan")
    seconds = time.perf_counter() - start
    if use_cache:
        save_cached(model, path, val_acc, key_src)
    return SourceResult(model.eval(), val_acc, seconds, False, key, history)


def save_cached(model: TransferModel, path, val_acc: float, key_src: str) -> None:
    """A source model into the cache, with its validation accuracy, its key's text and a digest
    of its tensors, which :func:`load_cached` checks."""
    extra = {"source_val_accuracy": val_acc, "key_source": json.loads(key_src), "state_digest": state_digest(model.state_dict())}
    write_to_cache("the source model", lambda: model.save(path, extra))
    for tmp in path.parent.glob(".*.tmp"):  # left by a process killed mid-write (SIGKILL); not another's, live one
        try:
            if time.time() - tmp.stat().st_mtime > 3600:
                tmp.unlink()
        except OSError:
            pass


def load_cached(path) -> tuple[TransferModel, dict] | None:
    """A cached source model and its JSON, or None (with a warning) when either file is damaged:
    truncated, emptied, or changed in place (its tensors no longer match the digest saved with
    them). The caller then trains it again and overwrites the entry; a damaged entry once
    failed every later run, or was used as if sound (a model at chance, reported as the source)."""
    from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel

    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        model = TransferModel.load(path)
        float(meta["source_val_accuracy"])
    except (TransferkitError, ValueError, KeyError, TypeError, OSError) as e:  # JSONDecodeError is a ValueError
        problem = str(e).split(". Fix:")[0]
    else:
        want = meta.get("state_digest")  # entries cached before session 23 have none: not checked
        if want is None or state_digest(model.state_dict()) == want:
            return model, meta
        problem = "its weights no longer match the digest saved with them"
    warnings.warn(f"the cached source model {path.name} is damaged ({problem}); training it again.",
                  TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    return None
