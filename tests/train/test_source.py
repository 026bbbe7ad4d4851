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
