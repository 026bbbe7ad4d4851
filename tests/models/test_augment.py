import torch

from transferkit.train.augment import augmenter, random_affine, random_shift, shift_for


def test_random_shift_translates_each_image_by_its_own_offset():
    x = torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).reshape(2, 3, 5, 6)
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    offsets = torch.randint(0, 5, (2, 2), generator=torch.Generator().manual_seed(0)).tolist()
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i, (dy, dx) in enumerate(offsets):  # the plain per-image definition
        assert torch.equal(out[i], padded[i, :, dy : dy + 5, dx : dx + 6])
    assert out.shape == x.shape and out.is_contiguous()


def test_no_shift_for_vectors_or_zero_range():
    v = torch.randn(4, 7)
    assert random_shift(v, 2, torch.Generator()) is v
    assert shift_for((7,)) == 0 and shift_for((1, 28, 28)) == 2 and shift_for((3, 224, 224)) == 16
    assert shift_for((1, 8, 8)) == 0  # one pixel is 12 % of an 8x8 image: no shift


def _square(b: int, side: int = 28, half: int = 5) -> torch.Tensor:
    x = torch.zeros(b, 1, side, side)
    x[:, :, side // 2 - half : side // 2 + half, side // 2 - half : side // 2 + half] = 1.0
    return x


def test_random_affine_scales_each_axis_on_its_own_and_keeps_the_shape():
    x = _square(64)
    out = random_affine(x, 2, torch.Generator().manual_seed(0), scale=0.2, rotate=0.0)
    assert out.shape == x.shape
    ink = out[:, 0] > 0.5
    widths = ink.any(1).sum(1).float()  # columns holding ink
    heights = ink.any(2).sum(1).float()
    assert widths.min() < 10 < widths.max() and heights.min() < 10 < heights.max()  # sizes vary around 10 px
    assert (widths - heights).abs().max() >= 2  # aspect ratios change: the axes are scaled apart
    assert (widths / 10).max() <= 1.2 + 0.15 and (widths / 10).min() >= 0.8 - 0.15  # within 1 +- scale (+ a pixel)


def test_random_affine_rotates_and_is_seeded():
    bar = torch.zeros(32, 1, 28, 28)
    bar[:, :, 14, 4:24] = 1.0  # a horizontal line, 20 px long, one pixel thick

    def rows_covered(out: torch.Tensor) -> int:  # most rows any image's line touches
        return int((out[:, 0] > 0.05).any(2).sum(1).max())

    a = random_affine(bar, 2, torch.Generator().manual_seed(1), scale=0.0, rotate=10.0)
    assert torch.equal(a, random_affine(bar, 2, torch.Generator().manual_seed(1), scale=0.0, rotate=10.0))
    assert rows_covered(random_affine(bar, 2, torch.Generator().manual_seed(1), scale=0.0, rotate=0.0)) <= 2
    assert rows_covered(a) >= 4  # 20 px * sin(10 deg) = 3.5 rows: tilted
    wide = torch.zeros(64, 1, 28, 112)
    wide[:, :, 14, 16:96] = 1.0  # an 80 px line on a 4:1 image: a rotation in pixels, not a shear
    tilted = random_affine(wide, 2, torch.Generator().manual_seed(1), scale=0.0, rotate=10.0)
    assert rows_covered(tilted) >= 12  # 80 px * sin(up to 10 deg) = up to 13.9 rows (it was ~3.5: 2.5 degrees)
    assert random_affine(torch.zeros(0, 1, 28, 28), 2, torch.Generator()).shape == (0, 1, 28, 28)


def test_random_affine_fills_with_the_images_own_border_not_black():
    white = torch.ones(8, 3, 28, 28)  # ink on white paper: no black frame may appear
    out = random_affine(white, 2, torch.Generator().manual_seed(0), scale=0.2, rotate=10.0)
    assert torch.allclose(out, white)
    v = torch.randn(4, 7)
    assert random_affine(v, 2, torch.Generator()) is v


def test_augmenter_names_the_augmentation():
    x = torch.rand(4, 1, 28, 28)
    shift = augmenter(True, (1, 28, 28))(x, torch.Generator().manual_seed(3))
    assert torch.equal(shift, random_shift(x, 2, torch.Generator().manual_seed(3)))
    affine = augmenter("affine", (1, 28, 28))(x, torch.Generator().manual_seed(3))
    assert torch.equal(affine, random_affine(x, 2, torch.Generator().manual_seed(3)))
    assert augmenter(False, (1, 28, 28)) is None
    assert augmenter("affine", (7,)) is None and augmenter("affine", (1, 8, 8)) is None  # nothing to move


def test_series_read_by_the_cnn1d_are_not_moved_across_sensors():
    """(N, 16, 25) series, 16 sensors, were shifted and turned as 16x25 pictures: a sensor's
    values moved into its neighbour's row (a trial's JapaneseVowels with 4 derived channels)."""
    from transferkit.adaptation.augment import strong_augment, weak_augment
    from transferkit.models import TransferModel
    from transferkit.train.supervised import fit_supervised

    assert augmenter(True, (1, 16, 25), "cnn1d") is None and augmenter("affine", (1, 16, 25), "cnn1d") is None
    assert augmenter(True, (1, 16, 25), "cnn") is not None  # the same array read as a picture is moved
    assert augmenter(True, (1, 4, 200)) is None  # auto builds the cnn1d for it
    x = torch.zeros(8, 1, 16, 25)
    x[:, :, 0] = torch.randn(8, 1, 25)  # only sensor 0 has a signal
    assert torch.equal(weak_augment(x, torch.Generator().manual_seed(0), series=True), x)
    strong = strong_augment(x, torch.Generator().manual_seed(0), series=True)
    assert strong.shape == x.shape and torch.equal(strong[:, :, 1:], x[:, :, 1:])  # nothing reaches other sensors
    assert not torch.equal(strong, x)  # masked and jittered along its own row
    assert not torch.equal(weak_augment(x, torch.Generator().manual_seed(0)), x)  # as a picture: moved
    model = TransferModel.build("cnn1d", (1, 16, 25), ["a", "b"], width=4, feature_dim=8)
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    y = torch.tensor([0, 1] * 4)
    fit_supervised(model, x, y, groups=model.param_groups(1e-3, 1e-3, 0.0), steps=3, batch_size=8, seed=0, augment="affine")
    assert seen and all(torch.equal(b[:, :, 1:], torch.zeros_like(b[:, :, 1:])) for b in seen)
