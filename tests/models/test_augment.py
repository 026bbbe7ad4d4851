import torch

from transferkit.train.augment import random_shift, shift_for


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
