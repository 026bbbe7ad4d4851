"""Cheap on-the-fly augmentation for image batches (not for series: :func:`augmenter`)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from transferkit.models.shared import reads_series


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image in (B, C, H, W) by up to ``max_shift`` pixels, zero-filled.

    Small translations are label-preserving for almost every image task and regularise
    training on a handful of examples; the same augmentation is used for every method
    (scratch included), so comparisons stay fair.
    """
    if x.ndim != 4 or max_shift <= 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    d = torch.randint(0, 2 * max_shift + 1, (b, 2), generator=generator).to(x.device)  # CPU generator: CPU draws
    rows = d[:, :1] + torch.arange(h, device=x.device)  # (B, H): the source row of each output row
    cols = d[:, 1:] + torch.arange(w, device=x.device)  # (B, W)
    # one gather for the whole batch; advanced indices around the channel slice put it last
    out = padded[torch.arange(b, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def shift_for(input_shape: tuple[int, ...]) -> int:
    """Default translation range: 1/14 of the smaller side, rounded down (2 px at 28x28).

    0 for vectors and for images under 14 px: there one pixel is already a large move (12 %
    of an 8x8 digit) that changes what the image shows; on optdigits -> MNIST-5k it cost the
    alignment methods 1-14 points of target accuracy (dan 47.8 % without, 34.0 % with).
    """
    return min(input_shape[1:]) // 14 if len(input_shape) == 3 else 0


def random_affine(
    x: torch.Tensor, max_shift: int, generator: torch.Generator, scale: float = 0.2, rotate: float = 10.0
) -> torch.Tensor:
    """Random shift (up to ``max_shift`` pixels), rotation (up to +-``rotate`` degrees) and
    scale of each axis on its own (``1 +- scale``, so the aspect ratio changes too) of each
    image in (B, C, H, W); pixels from outside the image repeat its edge, so the fill is
    the images' own background whether it is black or white.

    Digits drawn by other hands, or cropped and stretched to fill their frame (optdigits),
    differ from the source in size and aspect more than in position; features trained to
    ignore that transfer better (``source.augment: affine``, docs/config.md).
    """
    if x.ndim != 4 or max_shift <= 0 or len(x) == 0:
        return x
    b, _, h, w = x.shape

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(b, generator=generator)).to(x.device, x.dtype)

    angle = uniform(-rotate, rotate) * (math.pi / 180)
    sx, sy = uniform(1 - scale, 1 + scale), uniform(1 - scale, 1 + scale)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps output coordinates (in [-1, 1] on each axis) to input ones: a larger scale samples a smaller
    # patch. The rotation is in pixels, (w/2, h/2) per unit on each axis, so it stays a rotation on non-square images.
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0], theta[:, 0, 1] = cos / sx, -sin * (h / w) / sx
    theta[:, 1, 0], theta[:, 1, 1] = sin * (w / h) / sy, cos / sy
    theta[:, 0, 2] = uniform(-1, 1) * (2 * max_shift / w)
    theta[:, 1, 2] = uniform(-1, 1) * (2 * max_shift / h)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def augmenter(
    augment: bool | str, input_shape: tuple[int, ...], architecture: str = "auto"
) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None:
    """The training-batch augmentation ``augment`` names, for inputs of ``input_shape`` read by
    the shared layers ``architecture``.

    ``True`` (or ``"shift"``): random shifts; ``"affine"``: shifts, rotations and scaling;
    ``False``: none. ``None`` also where there is nothing to move (vectors, images under
    14 px: :func:`shift_for`) and for series (the ``cnn1d``): a shift or a turn of its
    (1, C, L) input would move one sensor's values into another's row, and its pooling over
    time already counts a pattern wherever it occurs.
    """
    shift = shift_for(input_shape) if augment and not reads_series(input_shape, architecture) else 0
    if not shift:
        return None
    if augment == "affine":
        return lambda x, gen: random_affine(x, shift, gen)
    return lambda x, gen: random_shift(x, shift, gen)
