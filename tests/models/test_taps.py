"""Taps: a head on the pooled outputs of several shared blocks (models/taps.py)."""

from __future__ import annotations

import math

import pytest
import torch

from transferkit.errors import TransferkitError
from transferkit.models import TransferModel
from transferkit.models.taps import block_outputs, can_tap, check_taps, combine


def _model():
    torch.manual_seed(0)
    return TransferModel.build("cnn", (1, 12, 12), ["a", "b", "c"], width=4, feature_dim=8).eval()


def test_tapped_features_are_each_blocks_pooled_output_scaled_to_norm_sqrt_width():
    m = _model()
    x = torch.randn(5, 1, 12, 12)
    h1 = m.shared.blocks[0](m.normalise(x))  # (5, 4, 6, 6)
    h2 = m.shared.blocks[1](h1)  # (5, 8, 3, 3)
    m.set_taps((0, 1))
    f = m.features(x)
    assert f.shape == (5, 4 + 8) and m.shared.out_dim == 12
    expected = torch.cat([h1.mean((2, 3)), h2.mean((2, 3))], 1)
    assert torch.allclose(f[:, :4] / f[:, :4].norm(dim=1, keepdim=True),
                          expected[:, :4] / expected[:, :4].norm(dim=1, keepdim=True), atol=1e-6)  # fmt: skip
    assert torch.allclose(f[:, :4].norm(dim=1), torch.full((5,), 2.0), atol=1e-5)  # sqrt(4)
    assert torch.allclose(f[:, 4:].norm(dim=1), torch.full((5,), math.sqrt(8)), atol=1e-5)
    assert m(x).shape == (5, 3) and m.specific[0].in_features == 12


def test_combine_matches_block_outputs_and_negative_taps_count_from_the_end():
    m = _model()
    x = m.normalise(torch.randn(4, 1, 12, 12))
    outs = block_outputs(m.shared, x)
    assert [o.shape[1] for o in outs] == [4, 8, 8]
    assert check_taps([-2, -1, -1], 3) == (1, 2)
    m.set_taps((-2, -1))
    assert m.config["taps"] == [1, 2]
    assert torch.allclose(m.shared(x), combine(outs, (1, 2)), atol=1e-6)


def test_taps_survive_save_and_load_with_identical_predictions(tmp_path):
    m = _model().set_taps((0, 2)).eval()
    x = torch.randn(6, 1, 12, 12)
    m.save(tmp_path / "m")
    back = TransferModel.load(tmp_path / "m")
    assert back.shared.taps == (0, 2) and torch.equal(back(x), m(x))
    assert torch.equal(m.set_taps(None).features(x), _model().features(x))  # back to the last block
    assert "taps" not in m.config and m.shared.out_dim == 8


@pytest.mark.parametrize("taps", [[], [3], [-4], ["1"]])
def test_bad_taps_say_which_indices_are_allowed(taps):
    with pytest.raises(TransferkitError, match=r"block indices in -3\.\.2"):
        _model().set_taps(taps)


def test_shared_layers_that_are_not_a_chain_cannot_be_tapped():
    from transferkit.models.shared import SharedLayers

    m = _model()
    assert can_tap(m.shared)
    m.shared.is_text = True  # a transformer's layers also need the attention mask
    assert not can_tap(m.shared)
    del m.shared.is_text
    m.shared = SharedLayers([torch.nn.Flatten()], 144)  # one block: nothing to choose from
    assert not can_tap(m.shared)
    with pytest.raises(TransferkitError, match="cannot output several blocks"):
        m.set_taps((0,))


def test_the_feature_cache_tells_tapped_features_from_the_last_blocks():
    from transferkit.train.feature_cache import frozen_features

    m = _model().freeze("all")
    m.config["architecture"] = "pretrained"  # what makes frozen_features cache on disk
    x = torch.randn(6, 1, 12, 12)
    assert frozen_features(m, x).shape == (6, 8)
    m.set_taps((1, 2))
    assert torch.allclose(frozen_features(m, x), m.features(x), atol=1e-6)  # not the cached (6, 8)


def test_one_pass_over_the_inputs_serves_every_choice_of_taps(monkeypatch):
    from transferkit.paths import cache_dir
    from transferkit.train import feature_cache

    m = _model().freeze("all")
    m.config["architecture"] = "pretrained"
    x = torch.randn(7, 1, 12, 12)
    passes = []
    real = feature_cache._cached
    monkeypatch.setattr(feature_cache, "_cached", lambda path, compute, n: real(path, lambda: passes.append(1) or compute(), n))
    for taps in ((1, 2), (0, 2), (2,), (0, 1, 2)):
        m.set_taps(taps)
        assert torch.allclose(feature_cache.frozen_features(m, x), m.features(x), atol=1e-5)
    assert len(passes) == 1 and len(list((cache_dir() / "features").glob("blocks-*"))) == 1


def test_the_feature_cache_key_holds_the_thread_count_and_batch_size():
    from transferkit.train.feature_cache import _path

    m = _model().freeze("all")
    x = torch.randn(5, 1, 12, 12)
    first = _path(m, x, "features", 256)
    assert _path(m, x, "features", 256) == first and _path(m, x, "features", 64) != first
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if threads > 1 else 2)
        assert _path(m, x, "features", 256) != first
    finally:
        torch.set_num_threads(threads)


def test_cache_keys_name_the_device_off_the_cpu_only():
    """CPU keys stay as they were before the device was part of them; a GPU's are its own."""
    from transferkit.paths import numeric_context

    assert numeric_context("cpu") == numeric_context() and "device" not in numeric_context()
    gpu = numeric_context(torch.device("cuda", 0))
    assert gpu["device"] == "cuda" and "cuda" in gpu and gpu["threads"] == torch.get_num_threads()


def test_the_feature_cache_tells_apart_shared_layers_that_differ_in_no_tensor(tmp_path, monkeypatch):
    """The cache was keyed by the shared layers' tensors only: a text encoder's pooling (mean or
    [CLS]) or an activation swapped under the same weights was served the other's features."""
    from transferkit.train.feature_cache import frozen_features

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    m = _model().freeze("all")
    m.config["architecture"] = "pretrained"  # what makes frozen_features cache on disk
    x = torch.randn(6, 1, 12, 12)
    first = frozen_features(m, x)
    assert torch.equal(frozen_features(m, x), first)  # served from the cache
    m.shared.blocks[2][4] = torch.nn.Tanh()  # the same tensors, another function
    assert torch.allclose(frozen_features(m, x), m.features(x), atol=1e-6)
    assert not torch.allclose(frozen_features(m, x), first)
