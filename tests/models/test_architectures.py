"""Every architecture trainable from arrays, and what `cnn1d` (models/series.py) adds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transferkit.errors import TransferkitError
from transferkit.models import ARCHITECTURES, TransferModel, build_shared
from transferkit.models.taps import can_tap
from transferkit.source import NOT_FROM_ARRAYS

# one example input shape per kind of data each architecture reads
SHAPES = {"cnn": [(1, 12, 12), (3, 10, 14)], "mlp": [(20,)], "cnn1d": [(40,), (1, 6, 40)]}
FROM_ARRAYS = sorted(set(ARCHITECTURES) - set(NOT_FROM_ARRAYS))
CASES = [(name, shape) for name in FROM_ARRAYS for shape in SHAPES.get(name, [])]


def test_every_architecture_trainable_from_arrays_has_example_inputs_here():
    assert FROM_ARRAYS and all(SHAPES.get(name) for name in FROM_ARRAYS), "add the new architecture to SHAPES"


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_an_architecture_is_a_chain_of_blocks_ending_in_features(name, shape, tmp_path):
    torch.manual_seed(0)
    m = TransferModel.build(name, shape, ["a", "b", "c"]).eval()
    x = torch.randn(5, *shape)
    h = m.normalise(x)
    for block in m.shared.blocks:  # the blocks run one after another: freezing, cut points, taps
        h = block(h)
    assert h.shape == (5, m.shared.out_dim) and torch.allclose(h, m.features(x), atol=1e-6)
    assert m(x[:1]).shape == (1, 3)  # one example (batch statistics not needed in eval)
    m.train()(x[:2]).sum().backward()  # and it trains on a batch of two
    m.eval()
    m.save(tmp_path / "m")
    assert torch.equal(TransferModel.load(tmp_path / "m").eval()(x), m(x))
    if can_tap(m.shared):
        assert m.set_taps((0, -1))(x).shape == (5, 3)


def test_cnn1d_counts_a_pattern_wherever_it_occurs_in_time():
    from transferkit.train.source import input_stats

    torch.manual_seed(0)
    data = torch.randn(50, 120) * torch.linspace(1, 5, 120) + torch.linspace(0, 3, 120)  # steps of other scales
    model = TransferModel.build("cnn1d", (120,), ["a", "b"], *input_stats(data, "cnn1d")).eval()
    x = torch.zeros(2, 120)
    bump = torch.tensor([1.0, 3.0, -2.0, 4.0, 1.0])
    x[0, 30:35], x[1, 70:75] = bump, bump  # the same bump 40 steps later, far from either end
    f = model.features(x)  # through the input normalisation too: one mean and std for every step
    assert torch.allclose(f[0], f[1], atol=1e-5)
    mlp = TransferModel.build("mlp", (120,), ["a", "b"], *input_stats(data, "mlp")).eval()
    assert not torch.allclose(mlp.features(x)[0], mlp.features(x)[1], atol=1e-3)  # what the mlp cannot do


def test_cnn1d_takes_the_sensors_of_a_multichannel_series_as_its_input_channels():
    shared = build_shared("cnn1d", (1, 6, 50))
    assert shared.blocks[0][1].in_channels == 6
    x = torch.randn(3, 1, 6, 50)
    assert shared.eval()(x).shape == (3, 128)
    assert build_shared("cnn1d", (1, 6, 80)).eval()(torch.randn(3, 1, 6, 80)).shape == (3, 128)  # any length


@pytest.mark.parametrize(("shape", "match"), [((3, 28, 28), "cnn1d reads series"), ((1,), "1 channel.* of 1 step"),
                                              ((1, 150, 1), "150 channel.* of 1 step: too short")])  # (N, L, 1) saved
def test_cnn1d_refuses_images_and_single_values(shape, match):
    with pytest.raises(TransferkitError, match=match):
        build_shared("cnn1d", shape)


def test_cnn1d_through_the_api_on_series_of_several_sensors():
    import transferkit as tk

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 60)

    def series(n: int, freqs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, len(freqs), n)
        phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))  # where in time the pattern sits varies
        x = np.sin(2 * np.pi * np.array(freqs)[y][:, None, None] * t + phase) * np.ones((1, 3, 1))
        return (x + 0.3 * rng.normal(size=x.shape)).astype(np.float32), y

    xs, ys = series(120, (2.0, 5.0, 9.0))
    xt, yt = series(60, (3.0, 7.0))
    clf = tk.TransferClassifier("finetune", shared="cnn1d", source_epochs=2, method_params={"steps": 20}, device="cpu")
    clf.pretrain(xs, ys).fit(xt[:10], yt[:10])
    assert clf.model_.config["architecture"] == "cnn1d"
    assert clf.score(xt[10:], yt[10:]) > 0.8


@pytest.mark.parametrize(("shape", "built"), [((20,), "mlp"), ((1, 28, 28), "cnn"), ((1, 8, 8), "cnn"),
                                              ((3, 6, 100), "cnn"), ((1, 6, 100), "cnn1d"), ((1, 10, 41), "cnn1d"),
                                              ((1, 1, 128), "cnn"), ((1, 150, 1), "cnn")])  # refused: reshape, mlp
def test_auto_gives_one_channel_arrays_that_are_not_pictures_the_cnn1d(shape, built):
    from transferkit.models.shared import auto_architecture

    assert auto_architecture(shape) == built
    if 1 in shape[1:]:  # a univariate series in an extra axis: refused with the reshape for the mlp, as before
        with pytest.raises(TransferkitError, match=r"too small for the cnn.*x\.reshape\(len\(x\), -1\)"):
            TransferModel.build("auto", shape, ["a", "b"])
        return
    assert TransferModel.build("auto", shape, ["a", "b"]).config["architecture"] == built


def test_the_source_cache_keys_the_architecture_built_not_the_word_auto(tmp_path, monkeypatch):
    """A source cached as `auto` before `auto` meant cnn1d for a series must not come back as its cnn."""
    from transferkit.train.source import pretrain_source

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    x, y = torch.rand(24, 1, 6, 40), torch.arange(24) % 2
    settings = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.0, "augment": False}

    def train(architecture: str):
        return pretrain_source(x, y, ["a", "b"], architecture=architecture, arch_kwargs={}, settings=settings,
                               seed=0, identity={})  # fmt: skip

    first = train("cnn1d")
    again = train("auto")
    assert again.model.config["architecture"] == "cnn1d" and again.cached and not first.cached
    assert not train("cnn").cached


def test_series_of_other_channels_or_length_are_refused_not_resized():
    """A new user's 4-sensor target ran against a 6-sensor source, 'resized from 4x50 to 6x50';
    and 6 x 50 series were stretched to the source's 6 x 100 in time, where (N, L) is refused."""
    from transferkit.data import Domain
    from transferkit.data.preprocess import make_recipe, series_size_check

    def series(c: int, length: int) -> Domain:
        return Domain("t", np.zeros((2, 1, c, length), np.float32), np.array([0, 1]), ["a", "b"])

    with pytest.raises(TransferkitError, match="series of 4 channels x 50 steps and the model reads 6 x 50") as e:
        make_recipe(series(4, 50), (1, 6, 50))
    assert e.value.fix == "give source and target the same channels, in the same order."
    with pytest.raises(TransferkitError, match="series of 50 steps and the model reads 100") as e:
        make_recipe(series(6, 50), (1, 6, 100))
    assert "resample each series to 100 steps" in e.value.fix
    assert make_recipe(series(6, 100), (1, 6, 100)).shape == (1, 6, 100)
    series_size_check("p", (20, 20), (1, 28, 28))  # pictures resize as before
    series_size_check("p", (14, 60), (1, 7, 30), "cnn")  # so do small pictures a user gave the 2-D cnn
    assert make_recipe(series(14, 60), (1, 7, 30), architecture="cnn").shape == (1, 7, 30)
    with pytest.raises(TransferkitError, match="p holds series of 90 steps"):  # what predict checks too
        series_size_check("p", (6, 90), (1, 6, 100))
    with pytest.raises(TransferkitError, match=r"mnist5k holds images of 28x28, and model.input_shape \[1, 4, 4\] is "
                                               r"read as series") as e:  # was "holds series of 28 channels x 28 steps"
        series_size_check("mnist5k", (28, 28), (1, 4, 4))
    assert "[1, 28, 28]" in e.value.fix


def test_series_saved_channels_last_are_pointed_out():
    """A new user's windows saved (N, 50, 6) ran as 50 channels of 6 steps: scratch 29 % where
    (N, 6, 50) gave 92 %, and only a weak-source warning, pointing at the epochs."""
    import transferkit as tk
    from transferkit.models.series import layout_note

    assert "reads its arrays as 50 channels of 6 steps" in layout_note((1, 50, 6), "auto", "s.npz")
    assert layout_note((1, 6, 50), "auto") is None and layout_note((1, 50, 6), "cnn") is None
    assert layout_note((1, 28, 28), "auto") is None  # a picture: the cnn
    x = np.random.default_rng(0).normal(size=(30, 50, 6)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"X_source: the cnn1d reads its arrays as 50 channels .* x\.transpose\(0, 2, 1\)"):
        tk.pretrain(x, np.arange(30) % 3, epochs=1)
    with pytest.warns(UserWarning, match=r"X: the cnn1d reads its arrays as 50 channels"):  # no source: fit says it
        clf = tk.TransferClassifier("scratch", method_params={"steps": 2}).fit(x, np.arange(30) % 3)
    with pytest.raises(TransferkitError, match=r"each resampled to 6 steps, e\.g\. with np\.interp"):
        clf.predict(x[:, :, :5])  # another length: resample, not resize, as run and predict say


def test_small_arrays_of_unequal_sides_read_as_pictures_are_pointed_out(tmp_path):
    """JapaneseVowels' (N, 12, 25), 12 sensors, passed the picture rule: auto trained the 2-D cnn,
    whose kernels slide across sensors, and the report's only word was the architecture's name."""
    import warnings

    import transferkit as tk
    from transferkit.config import load_config
    from transferkit.evaluate.prepare import prepare
    from transferkit.models.series import picture_or_series_note

    assert "12x25 one-channel arrays are read as pictures" in picture_or_series_note((1, 12, 25), "auto", "t.npz")
    assert "set model.shared: cnn1d" in picture_or_series_note((1, 12, 25), "auto")
    assert "x.transpose(0, 2, 1)" in picture_or_series_note((1, 25, 12), "auto")  # or saved channels last
    for quiet in [((1, 28, 28), "auto"), ((1, 8, 8), "auto"), ((1, 62, 47), "auto"), ((1, 16, 30), "auto"),
                  ((3, 12, 25), "auto"), ((1, 12, 25), "cnn"), ((1, 12, 25), "cnn1d"), ((1, 4, 100), "auto")]:
        assert picture_or_series_note(*quiet) is None, quiet  # pictures, chosen architectures, cnn1d's series
    x = np.random.default_rng(0).normal(size=(30, 12, 25)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"X_source: its 12x25 one-channel arrays .* set shared='cnn1d'"):
        tk.pretrain(x, np.arange(30) % 3, epochs=1)
    with pytest.warns(UserWarning, match=r"X: its 12x25 one-channel arrays are read as pictures"):  # no source
        tk.TransferClassifier("scratch", method_params={"steps": 2}).fit(x, np.arange(30) % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tk.TransferClassifier("scratch", shared="cnn", method_params={"steps": 2}).fit(x, np.arange(30) % 3)
    np.savez(tmp_path / "t.npz", x=x, y=np.arange(30) % 3)
    cfg = {"target": {"data": str(tmp_path / "t.npz"), "shots": [2]}, "methods": ["scratch"], "seeds": 1}
    with pytest.warns(UserWarning, match=r"t.npz: its 12x25 .* set model.shared: cnn1d"):
        data = prepare(load_config(None, raw=cfg))
    assert any("set model.shared: cnn1d" in n for n in data.notes)  # kept for the report


def test_cnn1d_standardises_each_sensor_of_a_series_on_its_own_scale():
    """Sensors in other units (g beside degrees/s): one mean/std for all left the small ones near 0."""
    from transferkit.train.source import input_stats

    g = torch.Generator().manual_seed(0)
    scale, offset = torch.tensor([500.0, 1.0, 0.01]), torch.tensor([20.0, -3.0, 0.5])
    x = (torch.randn(40, 1, 3, 30, generator=g) * scale.view(3, 1) + offset.view(3, 1))
    mean, std = input_stats(x, "cnn1d")
    assert mean.shape == std.shape == (3, 1)
    z = TransferModel.build("cnn1d", (1, 3, 30), ["a", "b"], mean, std).normalise(x)
    per_sensor = z[:, 0].transpose(0, 1).reshape(3, -1)
    assert torch.allclose(per_sensor.mean(1), torch.zeros(3), atol=1e-4)
    assert torch.allclose(per_sensor.std(1), torch.ones(3), atol=1e-3)
    assert input_stats(x, "cnn")[0].shape == (1,)  # the 2-D cnn reads the series as a one-channel picture
    alike = torch.randn(40, 1, 3, 30, generator=g) * torch.tensor([1.0, 3.0, 9.0]).view(3, 1)  # spreads 9x apart
    mean, std = input_stats(alike, "cnn1d")
    assert mean.shape == (3, 1) and torch.allclose(std, alike.std().expand(3, 1))  # one scale keeps their sizes
    levels = torch.randn(40, 1, 2, 30, generator=g) + torch.tensor([1000.0, 0.0]).view(2, 1)  # alike spreads, far apart
    mean, std = input_stats(levels, "cnn1d")  # one std would count the gap between the levels: each its own
    assert torch.allclose(mean.ravel(), torch.tensor([1000.0, 0.0]), atol=0.5) and torch.allclose(std, torch.ones(2, 1), atol=0.1)
    flat = levels.clone()
    flat[:, 0, 0] = 50.0  # a constant sensor 50 stds away from a sensor of std 1: the same
    assert input_stats(flat, "cnn1d")[1][1].item() == pytest.approx(1.0, abs=0.1)


def test_cnn1d_learns_from_a_small_valued_sensor_beside_a_large_noisy_one():
    import transferkit as tk

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 50)
    y = np.arange(80) % 2
    x = np.empty((80, 2, 50), np.float32)
    x[:, 0] = rng.normal(scale=200.0, size=(80, 50))  # a sensor in large units, no class in it
    x[:, 1] = 0.01 * np.sin(2 * np.pi * np.where(y == 0, 2.0, 6.0)[:, None] * t + rng.uniform(0, 6, (80, 1)))
    clf = tk.TransferClassifier("scratch", shared="cnn1d", method_params={"steps": 60}, device="cpu")
    clf.fit(x[:40], y[:40])
    assert clf.score(x[40:], y[40:]) > 0.9


def test_a_cnn1d_model_saved_with_one_statistic_for_all_sensors_still_loads(tmp_path):
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    m = TransferModel.build("cnn1d", (1, 4, 30), ["a", "b"], torch.full((4, 1), 2.0), torch.full((4, 1), 3.0)).eval()
    m.save(tmp_path / "m")
    state = load_file(str(tmp_path / "m.safetensors"))
    state["input_mean"], state["input_std"] = torch.tensor([2.0]), torch.tensor([3.0])  # the format before
    save_file(state, str(tmp_path / "m.safetensors"))
    old = TransferModel.load(tmp_path / "m")
    x = torch.randn(3, 1, 4, 30)
    assert old.input_mean.shape == (1,) and torch.allclose(old(x), m(x), atol=1e-6)
