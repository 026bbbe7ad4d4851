import numpy as np
import pytest

from transferkit.data.domain import Domain
from transferkit.data.preprocess import Recipe, apply_recipe, auto_pad, content_fraction, make_recipe
from transferkit.errors import TransferkitError


def _boxed(n, size, box):
    """Images whose bright content fills a centred box of side ``box``."""
    x = np.zeros((n, 1, size, size), np.float32)
    lo = (size - box) // 2
    x[:, :, lo : lo + box, lo : lo + box] = 1.0
    return x


def test_content_fraction():
    assert content_fraction(_boxed(5, 28, 20)) == pytest.approx(20 / 28)
    assert content_fraction(_boxed(5, 28, 28)) == pytest.approx(1.0)
    assert auto_pad(_boxed(5, 28, 28), _boxed(5, 28, 28), (28, 28)) == 0


def test_the_border_is_filled_with_the_images_background():
    """Padding was always 0: ink on white paper got a black frame the source never showed."""
    src = Domain("s", _boxed(4, 28, 20), np.array([0, 1, 0, 1]), ["a", "b"])
    full = np.ones((4, 1, 8, 8), np.float32)
    full[:, :, :, 3:5] = 0.0  # a dark bar on white, spanning the full height
    tgt = Domain("t", full, np.array([0, 1, 0, 1]), ["a", "b"])
    recipe = make_recipe(tgt, (1, 28, 28), "auto", source=src)
    assert recipe.pad == 4 and recipe.background == 1.0
    out = apply_recipe(tgt.x, recipe)
    assert float(out[:, :, :4].min()) == 1.0 and float(out[:, :, 4:-4, 4:-4].min()) < 0.5  # white frame, bar inside
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    black = make_recipe(Domain("b", 1 - full, tgt.y, tgt.classes), (1, 28, 28), "auto", source=src)
    assert black.background == 0.0 and "background" not in black.to_dict()  # saved as before: cache keys unchanged
    old = {k: v for k, v in recipe.to_dict().items() if k != "background"}  # a model saved before the field
    assert Recipe.from_dict(old).background == 0.0
    from transferkit.report.recipe import describe_recipe

    assert "inside a 4-pixel border filled with their background of 1.00 on 0..1 (28x28" in describe_recipe(recipe.to_dict())
    assert "border (28x28" in describe_recipe(black.to_dict())


def test_noise_is_not_content_so_a_noisy_target_keeps_its_framing():
    """Noise of std 0.12 crossed the fixed 0.2 bar all over the frame: a target framed exactly
    like the source read as filling its frame and was shrunk into a 4-pixel border."""
    rng = np.random.default_rng(0)
    clean = _boxed(40, 28, 20) * 0.8 + 0.1
    noisy = np.clip(clean + rng.normal(0, 0.12, clean.shape), 0, 1).astype(np.float32)
    assert content_fraction(noisy) == pytest.approx(20 / 28, abs=0.05)
    assert auto_pad(clean, noisy, (28, 28)) == 0
    assert content_fraction(np.clip(clean + rng.normal(0, 0.5, clean.shape), 0, 1)) == 1.0  # too noisy to tell: no border


@pytest.mark.parametrize("sigma", [20, 30, 40])
def test_noise_clipped_at_black_is_not_content_either(sigma):
    """A new user's noisy MNIST, stored as uint8: the noise clipped at 0 left half the border
    exactly black, the noise estimate read 0, and the target, framed like the source, was shrunk
    into a 4-pixel border (source_only 14.3 % against 47.4 % unshrunk)."""
    rng = np.random.default_rng(sigma)
    clean = _boxed(40, 28, 20)  # black background: the end of the value range
    noisy = np.clip(np.round(255 * clean + rng.normal(0, sigma, clean.shape)), 0, 255).astype(np.float32) / 255
    assert content_fraction(noisy) == pytest.approx(20 / 28, abs=0.05)
    assert auto_pad(clean, noisy, (28, 28)) == 0
    white = 1 - noisy  # ink on white paper, the noise clipped at 1
    assert auto_pad(1 - clean, white, (28, 28)) == 0


def test_auto_pad_on_tight_crops():
    src = Domain("s", _boxed(4, 28, 20), np.array([0, 1, 0, 1]), ["a", "b"])
    full = np.zeros((4, 1, 8, 8), np.float32)
    full[:, :, :, 3:5] = 1.0  # a vertical bar spanning the full height: content fills the frame
    tgt = Domain("t", full, np.array([0, 1, 0, 1]), ["a", "b"])
    recipe = make_recipe(tgt, (1, 28, 28), "auto", source=src)
    assert recipe.pad == 4  # 28 * (20/28) = 20 inner pixels -> (28 - 20) / 2
    out = apply_recipe(tgt.x, recipe)
    assert out.shape == (4, 1, 28, 28)
    assert float(out[:, :, :4].abs().sum()) == 0.0  # the border is empty


@pytest.mark.parametrize("size", [(6, 100), (7, 7), (20, 90)])
def test_auto_pad_leaves_arrays_that_are_not_pictures_unframed(size):
    """A multichannel series (6 sensors x 100 steps) read as an image was squeezed into a
    1-pixel border: 6 rows bilinearly blended into 4 (a new user's BasicMotions trial)."""
    h, w = size
    src = np.zeros((4, 1, h, w), np.float32)
    m = max(1, min(size) // 5)
    src[:, :, m:-m, m:-m] = 1.0  # content inside a frame
    tgt = np.ones((4, 1, h, w), np.float32)  # content to the edges
    assert auto_pad(src, tgt, size) == 0
    assert auto_pad(_boxed(4, 28, 20), _boxed(4, 28, 28), (28, 28)) == 4  # a picture still is framed


def test_recipe_values_channels_and_size():
    x = np.full((2, 1, 4, 4), 255.0, np.float32)
    out = apply_recipe(x, Recipe((0.0, 255.0), (3, 8, 8), 0))
    assert out.shape == (2, 3, 8, 8) and float(out.max()) == pytest.approx(1.0)
    assert Recipe.from_dict(Recipe((0, 16), (1, 28, 28), 4).to_dict()) == Recipe((0, 16), (1, 28, 28), 4)


def test_colour_maps_to_grey_and_other_channel_counts_are_refused_with_the_transpose():
    grey = Recipe((0.0, 1.0), (1, 8, 8), 0)
    rgba = np.zeros((2, 4, 8, 8), np.float32)
    rgba[:, :3] = 0.6
    rgba[:, 3] = 1.0  # an opaque alpha channel is not brightness
    assert np.allclose(apply_recipe(rgba, grey).numpy(), 0.6)
    assert apply_recipe(rgba, Recipe((0.0, 1.0), (3, 8, 8), 0)).shape == (2, 3, 8, 8)
    five_last = np.zeros((2, 25, 25, 5), np.float32)  # channels-last with 5 bands: read as 25 channels of 25x5
    with pytest.raises(TransferkitError, match="read as 25 channels of 25x5 pixels") as e:
        apply_recipe(five_last, Recipe((0.0, 1.0), (1, 25, 25), 0))  # was averaged to grey and resized silently
    assert "x.transpose(0, 3, 1, 2)" in e.value.fix
    assert apply_recipe(five_last.transpose(0, 3, 1, 2), Recipe((0.0, 1.0), (5, 25, 25), 0)).shape == (2, 5, 25, 25)
    series = np.zeros((2, 6, 1, 100), np.float32)  # 6-channel series saved (N, C, 1, L) for a model of 6x100 "images"
    with pytest.raises(TransferkitError, match="read as 6 channels of 1x100 pixels") as e:
        apply_recipe(series, Recipe((0.0, 1.0), (1, 6, 100), 0))
    assert "x.reshape(len(x), 1, 6, 100)" in e.value.fix and "channels-last" not in e.value.fix  # was "(100 channels)"
    with pytest.raises(TransferkitError, match="takes 7 features per example") as e:
        apply_recipe(np.zeros((2, 5), np.float32), Recipe((0.0, 1.0), (7,)))
    assert "resample each to 7 values" in e.value.fix  # as run says for unnamed columns
    with pytest.raises(TransferkitError, match="takes 7 features per example") as e:
        apply_recipe(np.zeros((2, 5), np.float32), Recipe((0.0, 1.0), (7,), columns=tuple("abcdefg")))
    assert "resample" not in e.value.fix  # named columns: not a series


def test_image_vs_vector_mismatch_is_an_error():
    vec = Domain("v", np.zeros((2, 5), np.float32), np.array([0, 1]), ["a", "b"])
    with pytest.raises(TransferkitError, match="same kind"):
        make_recipe(vec, (1, 28, 28))
    with pytest.raises(TransferkitError, match="has 5 features but the model expects 7") as e:
        make_recipe(vec, (7,))
    assert "resample each to 7 values" in e.value.fix  # unnamed columns: perhaps a series of another length
    series = Domain("s", np.zeros((2, 1, 1, 7), np.float32), np.array([0, 1]), ["a", "b"])  # aeon's (N, 1, L), loaded
    with pytest.raises(TransferkitError, match="same kind") as e:
        make_recipe(series, (7,))
    assert "its 1x7 values are the model's 7 features: store x as x.reshape(len(x), -1), or the model's data (the " \
        "source) with x of shape (N, 1, 7)" in e.value.fix  # fmt: skip
    last = Domain("s", np.zeros((2, 1, 7, 1), np.float32), np.array([0, 1]), ["a", "b"])  # (N, L, 1): 7 channels of 1
    with pytest.raises(TransferkitError, match="same kind") as e:
        make_recipe(last, (7,))
    assert "x.reshape(len(x), -1)" in e.value.fix and "(N, 7, 1)" not in e.value.fix  # re-saving the source so: a dead end
    builtin = Domain("mnist5k", np.zeros((2, 1, 28, 28), np.float32), np.array([0, 1]), ["a", "b"])
    with pytest.raises(TransferkitError, match="same kind") as e:  # a new user's flattened source beside it
        make_recipe(builtin, (784,))
    assert "store the model's data (the source) with x of shape (N, 28, 28))" in e.value.fix  # it cannot be re-saved


def test_vectors_far_outside_the_sources_range_warn(recwarn):
    import warnings

    from transferkit.data.domain import Domain
    from transferkit.data.preprocess import make_recipe

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    y = np.arange(40) % 2
    source = Domain("s", x, y, ["a", "b"], (float(x.min()), float(x.max())))
    near = Domain("near", x * 1.2, y, ["a", "b"], (0.0, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a modest shift in scale is a domain shift, not a unit error
        assert make_recipe(near, (5,), source=source).value_range == source.value_range
    for name, far in (("x10", x * 10), ("plus", x + 3 * (x.max() - x.min()))):
        with pytest.warns(UserWarning, match=f"{name}: its values span .* far outside the source's"):
            make_recipe(Domain(name, far.astype(np.float32), y, ["a", "b"], (0.0, 1.0)), (5,), source=source)


def test_notes_of_a_target_off_the_sources_scale_name_the_source():
    """`rank` checks one target against several sources: its warnings did not say which."""
    from transferkit.data.preprocess import outside_range_note

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (60, 4)).astype(np.float32)
    y = np.arange(60) % 2
    src = Domain("data/osuleaf.npz", x, y, ["a", "b"], (0.0, 1.0))
    one_column = x.copy()
    one_column[:, 2] *= 100  # one column in other units; the whole range stays near
    note = outside_range_note(Domain("t", np.clip(one_column, 0, 1.4), y, ["a", "b"]), src)
    assert note is not None and "the source (osuleaf.npz) holds for them" in note
    assert "(osuleaf.npz)" in outside_range_note(Domain("t", x * 100, y, ["a", "b"]), src)
    api = Domain("source", x, y, ["a", "b"], (0.0, 1.0))  # the Python API's source: no name worth saying
    assert "(source)" not in outside_range_note(Domain("t", x * 100, y, ["a", "b"]), api)


def test_a_target_off_the_sources_whole_range_names_the_columns_that_take_it_there():
    """One column x1000 blew the whole file's range: run said only 'its values span [0, 2.91e+06]',
    where predict named the column; a numeric patient id read as a feature was not named either."""
    from transferkit.data.domain import Domain
    from transferkit.data.preprocess import outside_range_note

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, size=(40, 3)).astype(np.float32)
    y = np.arange(40) % 2
    source = Domain("s", x, y, ["a", "b"], (0.0, 10.0), {"columns": ["area", "radius", "depth"]})
    far = x.copy()
    far[:, 0] *= 1000
    note = outside_range_note(Domain("t", far, y, ["a", "b"], (0.0, 1e4), {"columns": ["area", "radius", "depth"]}), source)
    assert note.startswith("t: its values span [") and "far outside the source's [0, 10]" in note
    assert "1 feature column(s) lie far outside the values the source (s) holds for them: column 'area' at" in note
    ids = x.copy()
    ids[:, 2] = rng.permutation(40) + 100000  # distinct whole numbers
    note = outside_range_note(Domain("t", ids, y, ["a", "b"], (0.0, 1e6), {"columns": ["area", "radius", "patient_no"]}), source)
    assert "column 'patient_no' at" in note and "(every value a different whole number: an id? an id is not a feature)" in note
    area = x.copy()
    area[:, 0] = np.round(x[:, 0] * 100) * 1000  # a feature in other units, whole numbers far apart: no id
    note = outside_range_note(Domain("t", area, y, ["a", "b"], (0.0, 1e6), {"columns": ["area", "radius", "depth"]}), source)
    assert "column 'area' at" in note and "an id?" not in note
    sparse = x.copy()
    sparse[:, 2] = np.sort(rng.choice(np.arange(842302, 927240), 40, replace=False))  # WDBC-like ids, far apart
    note = outside_range_note(Domain("t", sparse, y, ["a", "b"], (0.0, 1e6), {"columns": ["area", "radius", "id"]}), source)
    assert "column 'id' at" in note and "an id?" in note


def series(x: np.ndarray, name: str) -> Domain:
    """(N, C, L) series as loaded: (N, 1, C, L), their own min..max as value range."""
    x = x.astype(np.float32)[:, None]
    return Domain(name, x, np.arange(len(x)) % 2, ["a", "b"], (float(x.min()), float(x.max())))


def test_multichannel_series_take_the_sources_scale_for_the_cnn1d(recwarn):
    """A target's own min and max moved its series against the source's (one spike: head 83 -> 32 %)."""
    rng = np.random.default_rng(0)
    src = series(rng.normal(0, 1, (20, 3, 64)), "src")
    tgt_x = rng.normal(0, 1, (20, 3, 64))
    spiked = tgt_x.copy()
    spiked[0, 2, 5] = 60.0  # one spike in one sensor
    plain, spike = series(tgt_x, "t"), series(spiked, "t")
    for architecture in ("cnn1d", "auto"):  # auto builds the cnn1d for (3, 64)
        a = make_recipe(plain, (1, 3, 64), "auto", source=src, architecture=architecture)
        assert not [w for w in recwarn if "far outside" in str(w.message)]
        with pytest.warns(UserWarning, match="far outside"):  # the spike itself is said
            b = make_recipe(spike, (1, 3, 64), "auto", source=src, architecture=architecture)
        assert a.value_range == b.value_range == src.value_range and a.pad == 0
        assert np.allclose(apply_recipe(plain.x[1:], a).numpy(), apply_recipe(spike.x[1:], b).numpy())  # the others unmoved
    far = series(tgt_x * 50 + 300, "far")  # other units: said, in a series' words
    with pytest.warns(UserWarning, match=r"far outside the source's .*series are read on the source's scale \(the same "
                      r"sensors share one scale\)"):  # fmt: skip
        make_recipe(far, (1, 3, 64), 0, source=src, architecture="cnn1d")
    picture = make_recipe(series(rng.normal(0, 1, (4, 16, 16)), "p"), (1, 16, 16), 0, source=src, architecture="cnn")
    assert picture.value_range != src.value_range  # pictures keep their own range (0..255, 0..1, 0..16 ...)


def test_a_dead_sensor_in_the_target_is_said():
    rng = np.random.default_rng(1)
    src = series(rng.normal(0, 1, (20, 3, 32)), "src")
    x = rng.normal(0, 1, (20, 3, 32))
    x[:, 1] = 0.0  # disconnected: zero throughout
    with pytest.warns(UserWarning, match=r"dead.npz: sensor\(s\) 1 \(channels, counting from 0\) hold one value"):
        make_recipe(series(x, "dead.npz"), (1, 3, 32), 0, source=src, architecture="cnn1d")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_recipe(series(rng.normal(0, 1, (20, 3, 32)), "fine"), (1, 3, 32), 0, source=src, architecture="cnn1d")


def test_a_dead_feature_column_in_the_target_is_said():
    """A sensor stuck at 0 in the target, inside the source's range: the scale checks passed it and
    a trial's source_only fell from 97.7 to 89.9 % without a word (series had the check, tables not)."""
    import warnings

    rng = np.random.default_rng(2)
    src_x = rng.normal(0, 1, (200, 5))
    src_x[:, 2] = rng.integers(0, 2, 200)  # a flag (one-hot, 0/1)
    src_x[:, 3] = np.where(rng.random(200) < 0.9, 0.0, rng.normal(5, 1, 200))  # sparse: mostly 0, as a border pixel
    src_x[:, 4] = rng.integers(1, 13, 200)  # a month, 1..12: a category coded by number (a review's false alarm)
    columns = {"columns": ["t0", "t1", "flag", "sparse", "month"]}
    src_x = src_x.astype(np.float32)
    src = Domain("s", src_x, np.arange(200) % 2, ["a", "b"], (float(src_x.min()), float(src_x.max())), dict(columns))
    x = rng.normal(0, 1, (30, 5)).astype(np.float32)
    x[:, 2], x[:, 3], x[:, 4] = 1.0, 0.0, 3.0  # one site's flag, a blank border, one month's data: no fault
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_recipe(Domain("fine.csv", x, np.arange(30) % 2, ["a", "b"], meta=dict(columns)), (5,), 0, source=src)
    x[:, 1] = 0.0  # disconnected: zero throughout
    with pytest.warns(UserWarning, match=r"dead.csv: feature column\(s\) 't1' at 0 \(the source: -?[\d.]+\.\.[\d.]+\) hold "
                      r"one value in all 30 rows while they vary in the source: a dead or stuck sensor\?"):  # fmt: skip
        make_recipe(Domain("dead.csv", x, np.arange(30) % 2, ["a", "b"], meta=dict(columns)), (5,), 0, source=src)


def test_a_multichannel_series_of_another_length_is_told_to_resample_even_with_few_sensors():
    src = series(np.zeros((2, 3, 128)), "src")
    with pytest.raises(TransferkitError, match="holds series of 100 steps and the model reads 128"):
        make_recipe(series(np.zeros((2, 3, 100)), "t"), (1, 3, 128), 0, source=src, architecture="cnn1d")
    with pytest.raises(TransferkitError, match="a different number of channels"):  # was: "images too small to scale up"
        make_recipe(series(np.zeros((2, 2, 128)), "t"), (1, 3, 128), 0, source=src, architecture="cnn1d")


def test_a_univariate_series_for_the_cnn1d_is_not_judged_step_by_step(recwarn):
    """z-normalised series whose bumps sit at other times were told '49 feature column(s) lie far
    outside ... other units'; the cnn1d reads a pattern wherever it occurs."""
    t = np.arange(64)
    bump = lambda at: np.exp(-0.5 * ((t - at) / 3.0) ** 2)  # noqa: E731
    src = Domain("src", np.stack([bump(a) for a in np.linspace(5, 25, 20)]).astype(np.float32), np.arange(20) % 2,
                 ["a", "b"], (0.0, 1.0))  # fmt: skip
    tgt = Domain("tgt", np.stack([bump(a) for a in np.linspace(35, 60, 20)]).astype(np.float32), np.arange(20) % 2,
                 ["a", "b"], (0.0, 1.0))  # fmt: skip
    series = make_recipe(tgt, (64,), source=src, architecture="cnn1d")
    assert series.column_ranges is None and not [w for w in recwarn if "outside" in str(w.message)]
    with pytest.warns(UserWarning, match="feature column"):  # for the mlp each step is a feature: said per column
        assert make_recipe(tgt, (64,), source=src, architecture="mlp").column_ranges is not None
    far = Domain("far", tgt.x * 50 + 300, tgt.y, ["a", "b"], (300.0, 350.0))
    with pytest.warns(UserWarning, match=r"its values span \[300, 350\], far outside.*series are read on the source's"):
        make_recipe(far, (64,), source=src, architecture="cnn1d")


def test_series_padded_with_nan_to_one_length_are_told_to_resample(tmp_path):
    """aeon/sktime pad unequal lengths with NaN at the end; 'remove or impute them' was the fix."""
    x = np.random.default_rng(0).normal(size=(6, 2, 20)).astype(np.float32)
    x[1, :, 15:] = np.nan  # a shorter recording, both sensors
    x[4, :, 12:] = np.nan
    with pytest.raises(TransferkitError, match="NaN come after the values, to the end") as e:
        Domain("padded", x[:, None], np.arange(6) % 2, ["a", "b"])
    assert "resample each series to one length" in e.value.fix
    gap = x.copy()
    gap[2, 0, 3] = np.nan  # a missing reading in the middle: not padding
    with pytest.raises(TransferkitError, match="NaN or Inf") as e:
        Domain("gaps", gap[:, None], np.arange(6) % 2, ["a", "b"])
    assert "remove or impute" in e.value.fix and "to the end" not in e.value.problem
    table = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    table[2, 3] = np.nan  # a missing value in a table's last column ends its row too: not padding
    with pytest.raises(TransferkitError, match=r"the first is example 2 counting from 0\. Fix") as e:
        Domain("t.npz", table, np.arange(6) % 2, ["a", "b"])
    assert "remove or impute" in e.value.fix
    clinic = np.random.default_rng(3).normal(size=(6, 8)).astype(np.float32)
    clinic[1, 7:], clinic[4, 6:] = np.nan, np.nan  # two optional last columns: a table, not padding
    with pytest.raises(TransferkitError, match="NaN or Inf") as e:
        Domain("clinic.npz", clinic, np.arange(6) % 2, ["a", "b"])
    assert "remove or impute" in e.value.fix
    long = np.random.default_rng(4).normal(size=(6, 1000)).astype(np.float32)
    long[1, 990:], long[4, 980:] = np.nan, np.nan  # recordings 10 and 20 steps short of 1,000: padding too
    with pytest.raises(TransferkitError, match="NaN come after the values, to the end"):
        Domain("long.npz", long, np.arange(6) % 2, ["a", "b"])
    images = np.random.default_rng(5).random(size=(6, 8, 8)).astype(np.float32)
    images[0, 7, 7] = np.nan  # a stray NaN in an image's last pixel ends its row, but not the others
    with pytest.raises(TransferkitError, match="NaN or Inf") as e:
        Domain("images", images[:, None], np.arange(6) % 2, ["a", "b"])
    assert "remove or impute" in e.value.fix and "to the end" not in e.value.problem
    images[0] = np.nan  # a whole image of NaN: nothing came before, not padding either
    with pytest.raises(TransferkitError, match="NaN or Inf") as e:
        Domain("images", images[:, None], np.arange(6) % 2, ["a", "b"])
    assert "remove or impute" in e.value.fix
    rows = np.random.default_rng(2).normal(size=(6, 20)).astype(np.float32)
    rows[1, 15:], rows[4, 12:] = np.nan, np.nan  # (N, L) recordings of two other lengths: padding
    with pytest.raises(TransferkitError, match="NaN come after the values, to the end"):
        Domain("u.npz", rows, np.arange(6) % 2, ["a", "b"])



def test_series_padded_with_nan_at_the_start_are_told_to_resample(tmp_path):
    """Shorter series aligned to their ends, NaN (or empty cells) before the values: 'remove or
    impute them' was the fix, for load_domain's .npz and CSV alike."""
    from transferkit import load_domain

    x = np.random.default_rng(0).normal(size=(6, 20)).astype(np.float32)
    x[1, :5], x[4, :8] = np.nan, np.nan
    np.savez(tmp_path / "front.npz", x=x, y=np.arange(6) % 2)
    with pytest.raises(TransferkitError, match="NaN come before the values, from the start: series") as e:
        load_domain(str(tmp_path / "front.npz"))
    assert "resample each series to one length" in e.value.fix
    x[2, 15:] = np.nan  # one at the end beside two at the start: not one padding, said as missing values
    with pytest.raises(TransferkitError, match="NaN or Inf") as e:
        Domain("both", x, np.arange(6) % 2, ["a", "b"])
    assert "impute" in e.value.fix and "padded" not in e.value.problem
    rows = ["t0,t1,t2,t3,t4,label", "1,2,3,4,5,0", ",,,1,2,1", ",,1,2,3,0", ",4,5,6,7,1"]
    (tmp_path / "front.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(TransferkitError, match=r"data row 2 has an empty value in column 't0'; in every row with "
                                               r"one, the gaps run from the start of the row: series") as e:  # fmt: skip
        load_domain(str(tmp_path / "front.csv"))
    assert "resample each series to one length" in e.value.fix


def test_an_image_stored_at_twice_its_size_is_brought_back_exactly():
    """Digits stored pixel-doubled (56x56) were shrunk to the model's 28x28 by the antialiased
    bilinear filter, which blurred them: a source model scored 66.5 % on them, 95.8 % on the
    originals. A whole factor now averages each block; other factors keep the bilinear filter."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 1, 28, 28)).astype(np.float32)
    recipe = Recipe((0.0, 255.0), (1, 28, 28), block_average=True)  # as make_recipe makes them now
    doubled = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)
    tripled = np.repeat(np.repeat(x, 3, axis=2), 3, axis=3)
    assert torch.allclose(apply_recipe(doubled, recipe), apply_recipe(x, recipe), atol=1e-6)
    assert torch.allclose(apply_recipe(tripled, recipe), apply_recipe(x, recipe), atol=1e-6)
    odd = rng.integers(0, 256, (2, 1, 40, 40)).astype(np.float32)  # 40 -> 28: the bilinear filter, as before
    expect = F.interpolate(torch.from_numpy(odd) / 255.0, size=(28, 28), mode="bilinear", align_corners=False, antialias=True)
    assert torch.allclose(apply_recipe(odd, recipe), expect, atol=1e-6)
    # a recipe saved before (no block_average key) keeps the filter its model was trained with
    old = Recipe.from_dict({"value_range": [0, 255], "shape": [1, 28, 28]})
    twice = F.interpolate(torch.from_numpy(doubled) / 255.0, size=(28, 28), mode="bilinear", align_corners=False, antialias=True)
    assert not old.block_average and torch.allclose(apply_recipe(doubled, old), twice, atol=1e-6)
    assert Recipe.from_dict(recipe.to_dict()).block_average
    from transferkit.data.domain import Domain

    made = make_recipe(Domain("t", x, np.zeros(4, np.int64), ["a"], (0.0, 255.0)), (1, 28, 28))
    assert made.block_average


def test_a_target_on_a_sliver_of_the_sources_scale_is_said():
    """A series trial: a raw source (x 50 + 1000) and a z-normalised target: head 34.4 % against
    56.8 % with a z-normalised source, and nothing said (only values beyond the range were)."""
    from transferkit.data.domain import Domain
    from transferkit.data.preprocess import narrow_note, outside_range_note
    from transferkit.prediction import scale_warning

    rng = np.random.default_rng(0)
    z = rng.normal(size=(60, 1, 1, 100)).astype(np.float32)
    raw = Domain("raw.npz", z * 50 + 1000, np.arange(60) % 3, ["a", "b", "c"], value_range=(0.0, float((z * 50 + 1000).max())))
    target = Domain("znorm.npz", z[:30], np.arange(30) % 3, ["a", "b", "c"], value_range=(float(z.min()), float(z.max())))
    note = outside_range_note(target, raw, per_column=False)
    assert note.startswith("znorm.npz: its values spread over [") and "nearly constant" in note and "z-normalised" in note
    assert narrow_note(z[:30] * 50 + 1000, raw.x) is None  # the same scale: nothing
    assert narrow_note(z[:30] * 0.5, z) is None  # half the spread is a domain difference, not units
    from transferkit.data.preprocess import Recipe

    recipe = Recipe(shape=(1, 100), value_range=(float(z.min()), float(z.max())))
    assert "nearly constant" in scale_warning(z[:20, 0, 0] * 0.01, recipe, kind="series")
    assert scale_warning(z[:20, 0, 0], recipe, kind="series") is None


def test_vector_columns_are_mapped_each_on_its_own_range_keeping_their_detail():
    """Beside one column of +-1e6, a pH column (7.30..7.50) mapped on the one range of all columns
    kept 3 distinct values in float32: scratch fell from 95.9 % to 84.4 % (a tabular trial)."""
    rng = np.random.default_rng(0)
    x = np.stack([rng.uniform(7.3, 7.5, 200), rng.uniform(-1e6, 1e6, 200)], 1).astype(np.float32)
    domain = Domain("t", x, np.arange(200) % 2, ["a", "b"], (float(x.min()), float(x.max())))
    recipe = make_recipe(domain, (2,))
    assert recipe.per_column and recipe.to_dict()["per_column"] is True
    t = apply_recipe(x, recipe).numpy()
    assert len(np.unique(t[:, 0])) > 150 and t.min() >= 0.0 and t.max() <= 1.0
    old = Recipe.from_dict({k: v for k, v in recipe.to_dict().items() if k != "per_column"})  # saved before: one range
    assert not old.per_column and len(np.unique(apply_recipe(x, old).numpy()[:, 0])) < 10
    assert "per_column" not in old.to_dict()  # its cache key and saved models stay as they were


def test_a_4th_channel_with_see_through_pixels_dropped_for_a_grey_or_rgb_model_is_said():
    """np.asarray(Image.open(rgba_png)) of black ink on a transparent sheet reached an RGB model
    all black, with no word: alpha is dropped and see-through pixels store black (a trial's API
    predicted D where the CLI's file, laid on a sheet as folders are read, gave C). Arrays are not
    guessed at (a 4th band may be near infrared): the note says what happens and the fix."""
    import warnings

    import transferkit as tk
    from transferkit.data.preprocess import alpha_note

    rgba = np.zeros((6, 4, 12, 12), np.uint8)
    rgba[:, 3, 3:9, 3:9] = 255  # black ink, opaque; the rest see-through, and black underneath
    note = alpha_note(rgba, 3, "X")
    assert note.startswith("X has 4 channels and the model reads 3: the 4th is dropped") and "rgba2rgb" in note
    assert alpha_note(rgba, 1, "X") is not None and alpha_note(rgba, 4, "X") is None  # a 4-channel model reads it
    opaque = rgba.copy()
    opaque[:, 3] = 255
    assert alpha_note(opaque, 3, "X") is None and alpha_note(rgba[:, :3], 3, "X") is None
    t = apply_recipe(rgba, Recipe((0.0, 255.0), (3, 12, 12)))
    assert t.shape == (6, 3, 12, 12) and float(t.abs().max()) == 0.0  # as said: the colour stored, black
    colour = np.random.default_rng(0).integers(0, 255, (6, 12, 12, 3)).astype(np.uint8)
    clf = tk.TransferClassifier("scratch", method_params={"steps": 2}).fit(colour, np.arange(6) % 2)
    with pytest.warns(UserWarning, match="X has 4 channels and the model reads 3: the 4th is dropped"):
        clf.predict(rgba.transpose(0, 2, 3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(np.concatenate([colour, np.full((6, 12, 12, 1), 255, np.uint8)], axis=-1))  # opaque: nothing lost



def test_a_runs_rgba_target_read_by_an_rgb_source_is_said_and_kept_for_the_report(tmp_path):
    from tests.conftest import rgba_pair, tiny_experiment
    from transferkit.config import load_config
    from transferkit.evaluate.prepare import prepare

    with pytest.warns(UserWarning, match=r"t.npz has 4 channels and the model reads 3: the 4th is dropped"):
        data = prepare(load_config(None, raw=tiny_experiment(*rgba_pair(tmp_path))))
    assert sum("has 4 channels and the model reads 3" in n for n in data.notes) == 1  # once in the report


def test_a_turned_input_is_said_as_images_or_as_series_by_what_the_model_reads():
    """A trial's JapaneseVowels (N, 24, 12) beside a cnn1d's 12 channels x 24 steps was told it 'holds images'."""
    from transferkit.data.preprocess import turned_note

    assert turned_note((20, 30), (20, 30)) is None and turned_note((20, 20), (20, 20)) is None
    problem, fix = turned_note((40, 30), (30, 40))
    assert problem.startswith("holds images of 40x30 (rows x columns) and the model reads 30x40") and "90 degrees" in fix
    problem, fix = turned_note((24, 12), (12, 24), series=True)
    assert problem.startswith("holds series of 24 channels x 12 steps and the model reads 12 channels x 24 steps")
    assert "x.swapaxes(-1, -2)" in fix and "images" not in problem + fix


def test_a_series_beside_a_model_of_vectors_is_said_as_a_series():
    """A trial's (N, 1, 24) series beside a source of (N, 24) vectors was told it 'holds images'."""
    from transferkit.data.domain import Domain
    from transferkit.data.preprocess import make_recipe

    rng = np.random.default_rng(0)
    series = Domain("ipd.npz", rng.random((20, 1, 1, 24), dtype=np.float32), np.arange(20) % 2, ["a", "b"])
    with pytest.raises(TransferkitError, match=r"ipd.npz holds series of 1 channel x 24 steps but the model expects "
                                               r"input \(24,\)\..*x.reshape\(len\(x\), -1\)"):  # fmt: skip
        make_recipe(series, (24,))
    pictures = Domain("img.npz", rng.random((20, 1, 12, 12), dtype=np.float32), np.arange(20) % 2, ["a", "b"])
    with pytest.raises(TransferkitError, match=r"img.npz holds images but the model expects input \(24,\)"):
        make_recipe(pictures, (24,))


def test_framing_and_background_look_at_rows_spread_over_the_set_not_its_first_class():
    """A review: pad: auto, the background and the ink contrast looked at the first 500 rows, one class's
    in an image folder read class by class (a target of two classes framed differently: pad 4 sorted, 0 shuffled)."""
    from transferkit.data.preprocess import background_of, spread_rows

    assert spread_rows(3).tolist() == [0, 1, 2] and spread_rows(0).tolist() == []
    assert len(spread_rows(10_000)) == 500 and spread_rows(10_000)[-1] == 9_999
    x = np.zeros((1200, 1, 16, 16), np.float32)
    x[:360] = 1.0  # the first class (30 %) on white sheets, the second on black: most borders are black
    x[:360, :, 4:12, 4:12] = 0.0
    x[360:, :, 4:12, 4:12] = 1.0
    y = np.repeat([0, 1], [360, 840])
    sorted_set = Domain("t", x, y, ["a", "b"], (0.0, 1.0))
    order = np.random.default_rng(0).permutation(1200)
    shuffled = Domain("t", x[order], y[order], ["a", "b"], (0.0, 1.0))
    assert background_of(sorted_set) == background_of(shuffled) == 0.0  # was 1.0 sorted: the first class's


def test_grey_images_beside_a_colour_source_are_said_to_be_read_as_three_equal_channels():
    """A trial's tinted RGB digits as the source beside grey MNIST: source_only fell from 68.9 % (a grey source)
    to 46.2 %, with nothing said; colour beside a grey model was said, not this way round."""
    import warnings

    from transferkit.data.preprocess import grey_beside_colour_note

    rng = np.random.default_rng(0)
    grey = rng.random((30, 1, 12, 12), dtype=np.float32)
    tinted = np.concatenate([grey, grey * 0.5, grey * 0.2], axis=1)  # colour by content
    y = np.arange(30) % 2
    source = Domain("tinted.npz", tinted, y, ["a", "b"], (0.0, 1.0))
    target = Domain("grey.npz", grey, y, ["a", "b"], (0.0, 1.0))
    with pytest.warns(UserWarning, match=r"grey.npz holds grey images and the source tinted.npz colour ones: each is "
                                         r"read as three equal channels"):  # fmt: skip
        make_recipe(target, (3, 12, 12), source=source)
    assert grey_beside_colour_note(Domain("g3", np.repeat(grey, 3, axis=1), y, ["a", "b"], (0.0, 1.0)), source,
                                   (3, 12, 12)) is not None  # grey stored as RGB is grey
    plain = Domain("greysource.npz", np.repeat(grey, 3, axis=1), y, ["a", "b"], (0.0, 1.0))  # a grey source
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_recipe(target, (3, 12, 12), source=plain)
    assert grey_beside_colour_note(target, None, (3, 12, 12)) is None  # pretrained weights alone: no images to compare
    assert grey_beside_colour_note(Domain("c", tinted, y, ["a", "b"], (0.0, 1.0)), source, (3, 12, 12)) is None
