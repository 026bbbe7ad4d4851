"""Source-side input statistics."""

from __future__ import annotations

import torch

from transferkit.train.source import input_stats


def test_a_feature_constant_in_the_source_is_not_blown_up_in_the_target():
    g = torch.Generator().manual_seed(0)
    source = torch.rand(300, 4, generator=g) * 16
    source[:, 1] = 0.0  # a pixel column that is always blank in the source
    mean, std = input_stats(source)
    target = torch.rand(50, 4, generator=g) * 16  # the same column is not blank in the target
    z = (target - mean) / std
    assert z.abs().max() < 10
    assert torch.isclose(std[1], std[[0, 2, 3]].median())
    assert torch.allclose(std[[0, 2, 3]], source[:, [0, 2, 3]].std(0))


def test_a_small_feature_beside_a_large_one_keeps_its_own_scale():
    """Blood pH (7.38..7.44) beside an income in dollars: on the shared 0..1 scale its std was
    4e-7, under an absolute 1e-6 floor, so it was called constant and its variation erased
    (scratch 51 % against 83 % without the income column)."""
    g = torch.Generator().manual_seed(0)
    income = 52_000 + 15_000 * torch.randn(500, generator=g)
    ph = 7.38 + 0.06 * torch.rand(500, generator=g)
    raw = torch.stack([income, ph], 1).double()
    scaled = ((raw - raw.min()) / (raw.max() - raw.min())).float()  # the recipe's one 0..1 for all columns
    mean, std = input_stats(scaled)
    assert torch.isclose(std[1], scaled[:, 1].double().std().float(), rtol=1e-2)  # its own, not the median
    z = (scaled[:, 1] - mean[1]) / std[1]
    assert 0.8 < float(z.std()) < 1.2  # standardised, not shrunk by orders of magnitude
    flat = scaled.clone()
    flat[:, 1] = scaled[0, 1]  # truly constant (with float rounding in its mean): still the median
    assert torch.isclose(input_stats(flat)[1][1], input_stats(flat)[1][0])
    balance = torch.linspace(-1e5, 1e5, 500, dtype=torch.float64)  # a third column puts pH mid-scale (0.47)
    raw3 = torch.cat([raw, balance[:, None]], 1)
    mid = ((raw3 - raw3.min()) / (raw3.max() - raw3.min())).float()
    assert float(input_stats(mid)[1][1]) < 1e-5  # its own std still, not the median's (a reviewer's case)


def test_no_feature_varies_gives_unit_scale_and_image_channels_are_per_channel():
    mean, std = input_stats(torch.full((10, 3), 2.0))
    assert torch.equal(mean, torch.full((3,), 2.0)) and torch.equal(std, torch.ones(3))
    imgs = torch.rand(8, 2, 5, 5)
    imgs[:, 1] = 0.5
    mean, std = input_stats(imgs)
    assert mean.shape == std.shape == (2,)
    assert torch.isclose(std[0], imgs[:, 0].std()) and std[1] == std[0]


def test_the_source_cache_key_is_taken_on_the_device_the_model_trains_on(tmp_path, monkeypatch):
    from transferkit.train import source

    seen = []
    real = source.numeric_context
    monkeypatch.setattr(source, "numeric_context", lambda device=None: seen.append(device) or real(device))
    x, y = torch.rand(40, 3), torch.arange(40) % 2
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.0, "augment": False}
    source.pretrain_source(x, y, ["a", "b"], architecture="mlp", arch_kwargs={}, settings=settings, seed=0,
                           identity={}, use_cache=False)  # fmt: skip
    assert seen == [x.device]


def test_a_damaged_cache_entry_is_trained_again_not_used_or_fatal(tmp_path, monkeypatch):
    """Session 23's trial: a cached weights file zeroed in place was used as sound (head at chance,
    the run reported as valid); a truncated one, or an emptied .json, failed every later run."""
    import json
    import warnings

    import pytest

    from transferkit.errors import TransferkitWarning
    from transferkit.train import source

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    x, y = torch.rand(40, 3, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 2
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.0, "augment": False}

    def train():
        return source.pretrain_source(x, y, ["a", "b"], architecture="mlp", arch_kwargs={}, settings=settings, seed=0,
                                      identity={"t": 1})  # fmt: skip

    import os
    import time

    (tmp_path / "source_models").mkdir()
    old, live = tmp_path / "source_models" / ".x.safetensors.a.tmp", tmp_path / "source_models" / ".y.safetensors.b.tmp"
    old.write_bytes(b"half a model, its writer killed"), live.write_bytes(b"being written")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    first = train()
    assert not old.exists() and live.exists()  # an hour-old leftover goes; a write that may be in progress stays
    path = tmp_path / "source_models" / first.key
    weights, meta = path.with_suffix(".safetensors"), path.with_suffix(".json")
    assert "state_digest" in json.loads(meta.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        assert train().cached  # a sound entry: used, without a word
    good = weights.read_bytes()
    damages = {"zeroed in place": lambda: weights.write_bytes(good[:-64] + bytes(64)),
               "truncated": lambda: weights.write_bytes(good[:100]),
               "an emptied .json": lambda: meta.write_text("")}
    for what, damage in damages.items():
        damage()
        with pytest.warns(TransferkitWarning, match=f"the cached source model {first.key} is damaged"):
            again = train()
        assert not again.cached, what  # trained again ...
        assert train().cached, what  # ... and the entry repaired
        for a, b in zip(again.model.state_dict().values(), first.model.state_dict().values(), strict=True):
            assert torch.equal(a, b), what


def test_a_cache_that_cannot_be_written_is_said_once_and_the_work_goes_on(tmp_path, monkeypatch):
    """$TRANSFERKIT_CACHE a file (or a read-only mount, a full disk): a traceback after training."""
    import pytest

    from transferkit import paths
    from transferkit.errors import TransferkitWarning
    from transferkit.train import source

    (tmp_path / "cachefile").write_text("not a folder")
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cachefile"))
    monkeypatch.setattr(paths, "_UNWRITABLE_SAID", set())
    x, y = torch.rand(40, 3), torch.arange(40) % 2
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.0, "augment": False}

    def train():
        return source.pretrain_source(x, y, ["a", "b"], architecture="mlp", arch_kwargs={}, settings=settings, seed=0,
                                      identity={"t": 2})  # fmt: skip

    with pytest.warns(TransferkitWarning, match=r"cannot write the cache in .*cachefile \(Not a directory\): the "
                                                r"source model is not cached"):  # fmt: skip
        first = train()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)  # said once per process, not at every write
        again = train()
    assert not first.cached and not again.cached


def test_a_users_architecture_changed_under_its_name_is_not_served_from_the_cache(tmp_path, monkeypatch):
    """A trial's `mycnn` (register_architecture) changed from ReLU to Tanh: the ReLU weights came from the cache."""
    import importlib
    import sys

    from transferkit.models.shared import ARCHITECTURES
    from transferkit.train import source

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path))
    x, y = torch.rand(40, 3), torch.arange(40) % 2
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.0, "augment": False}
    code = '''
from torch import nn
from transferkit.models.shared import SharedLayers, register_architecture

@register_architecture("mine_t", "a test's own", "vector")
class Mine(SharedLayers):
    def __init__(self, input_shape, **kw):
        super().__init__([nn.Sequential(nn.Linear(input_shape[0], 8), nn.{act}())], 8)
'''
    keys = []
    try:
        for act in ("ReLU", "Tanh", "Tanh"):
            (tmp_path / "mine_arch.py").write_text(code.replace("{act}", act))
            sys.modules.pop("mine_arch", None)
            importlib.invalidate_caches()
            importlib.import_module("mine_arch")
            result = source.pretrain_source(x, y, ["a", "b"], architecture="mine_t", arch_kwargs={},
                                            settings=settings, seed=0, identity={"t": 3})  # fmt: skip
            keys.append((result.key, result.cached))
    finally:
        ARCHITECTURES.pop("mine_t", None)
        sys.modules.pop("mine_arch", None)
    assert keys[0][0] != keys[1][0] and not keys[1][1]  # changed code: trained again
    assert keys[2] == (keys[1][0], True)  # the same code again: from the cache
    assert source.architecture_code("cnn") is None  # built-in keys unchanged
    import functools

    from transferkit.models.shared import SmallCNN, register_architecture

    try:  # a partial of a built-in: keyed by its arguments (it crashed on the partial's missing __qualname__)
        register_architecture("cnn64_t", "wide", "image")(functools.partial(SmallCNN, width=64))
        wide = source.architecture_code("cnn64_t")
        register_architecture("cnn64_t", "wide", "image")(functools.partial(SmallCNN, width=32))
        assert wide and source.architecture_code("cnn64_t") not in (None, wide)
    finally:
        ARCHITECTURES.pop("cnn64_t", None)


def test_options_at_their_defaults_and_head_hidden_reuse_the_cached_source(tmp_path, monkeypatch, image_npz):
    """`model.options: {width: 16}` (the cnn's default) and `model.head_hidden: 32` (for the
    target's head only) each trained a byte-identical source again under a new key."""
    import yaml

    from tests.conftest import tiny_experiment
    from transferkit.cli import main
    from transferkit.train import source

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    x, y = torch.rand(40, 1, 8, 8), torch.arange(40) % 2
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.0, "augment": False}
    keys = [source.pretrain_source(x, y, ["a", "b"], architecture="cnn", arch_kwargs=kw, settings=settings, seed=0,
                                   identity={}).key for kw in ({}, {"width": 16}, {"width": 8})]  # fmt: skip
    assert keys[0] == keys[1] != keys[2]
    src, tgt = image_npz
    raw = tiny_experiment(src, tgt, seeds=1, methods=[{"name": "source_only"}])
    for i, hidden in enumerate((0, 32)):
        raw["model"] = {**raw.get("model", {}), "head_hidden": hidden}
        (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
        assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / f"run{i}"), "--quiet"]) == 0
    import json

    cached = [json.loads((tmp_path / f"run{i}" / "summary.json").read_text())["source"]["models"]["0"]["cached"]
              for i in (0, 1)]  # fmt: skip
    assert cached == [False, True]
