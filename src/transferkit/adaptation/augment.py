"""Weak and strong augmentations of unlabelled target inputs, batched on tensors.

Self-training (FixMatch, Sohn et al., NeurIPS 2020) predicts a pseudo-label on a
*weakly* augmented view and trains the prediction on a *strongly* augmented view of the
same input to agree with it. Inputs here are model inputs before normalisation, images
(B, C, H, W) with values in [0, 1] or vectors (B, D).

* weak (images): a random translation of up to ``H / 14`` pixels (the toolkit's usual
  :func:`transferkit.train.augment.random_shift`);
* strong (images): a RandAugment-style policy (Cubuk et al., NeurIPS 2020) restricted to
  operations that make sense on any image and vectorise over the batch: a random affine
  map (rotation up to +-20 degrees, shear up to +-0.3, scale 0.8..1.2, translation up to
  +-H/8), a random brightness and contrast change, a random blur or sharpen (FixMatch's
  "Sharpness"), then Cutout (DeVries & Taylor, 2017) of a square up to half the side;
* vectors: weak is the identity, strong masks a random 20 % of the features and adds
  Gaussian noise with 0.1 of each feature's batch std (there is no geometry to exploit).

Magnitudes are drawn per example, uniformly, as in RandAugment's random-magnitude
variant used by FixMatch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from transferkit.train.augment import random_shift, shift_for


def weak_augment(x: torch.Tensor, generator: torch.Generator, series: bool = False) -> torch.Tensor:
    """Small translation for images (B, C, H, W); identity for vectors (B, D) and for series
    (``series``: the cnn1d's (B, 1, C, L), whose rows are sensors, not a picture's rows)."""
    if x.ndim != 4 or series:
        return x
    return random_shift(x, shift_for(tuple(x.shape[1:])), generator)


def delete_tokens(x: torch.Tensor, generator: torch.Generator, rate: float = 0.2) -> torch.Tensor:
    """Token ids (B, T), 0 = padding, each token but a text's first and last deleted with
    probability ``rate`` and the rest moved up, the padding after them: EDA's random deletion
    (Wei & Zou, EMNLP 2019), the text counterpart of masking 20 % of a vector's entries. The
    first and last tokens are kept, as a tokenizer's [CLS] and [SEP] are, and so is a text
    of two tokens or fewer."""
    present = x != 0
    pos = torch.arange(x.shape[1], device=x.device).expand_as(x)
    first = torch.where(present, pos, x.shape[1]).amin(1, keepdim=True)
    last = torch.where(present, pos, -1).amax(1, keepdim=True)
    drop = (torch.rand(x.shape, generator=generator) < rate).to(x.device) & (pos > first) & (pos < last)
    keep = present & ~drop
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # kept tokens first, in their order
    return torch.gather(x * keep, 1, order)


def _uniform(n: int, low: float, high: float, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * (high - low) + low).to(like.device, like.dtype)


def _random_affine(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    angle = _uniform(b, -20, 20, generator, x) * math.pi / 180
    shear = _uniform(b, -0.3, 0.3, generator, x)
    scale = _uniform(b, 0.8, 1.2, generator, x)
    shift = _uniform(2 * b, -0.25, 0.25, generator, x).view(b, 2)  # in [-1, 1] units: +-H/8
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps output coordinates to input ones: (rotation @ shear) / scale.
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0], theta[:, 0, 1] = cos / scale, (cos * shear - sin) / scale
    theta[:, 1, 0], theta[:, 1, 1] = sin / scale, (sin * shear + cos) / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)


def _blur(x: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    k = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    kernel = (k[:, None] * k[None, :] / 16).expand(c, 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=c)


def _cutout(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    side = (torch.rand(b, generator=generator) * 0.5 * min(h, w)).long()  # (B,)
    cy = torch.randint(0, h, (b,), generator=generator)
    cx = torch.randint(0, w, (b,), generator=generator)
    rows = torch.arange(h)[None, :]
    cols = torch.arange(w)[None, :]
    in_y = (rows >= (cy - side // 2)[:, None]) & (rows < (cy - side // 2 + side)[:, None])  # (B, H)
    in_x = (cols >= (cx - side // 2)[:, None]) & (cols < (cx - side // 2 + side)[:, None])  # (B, W)
    mask = (in_y[:, :, None] & in_x[:, None, :]).to(x.device)  # (B, H, W)
    return x.masked_fill(mask[:, None], 0.0)  # 0: the background of inputs scaled to [0, 1]


def strong_augment(x: torch.Tensor, generator: torch.Generator, series: bool = False) -> torch.Tensor:
    """RandAugment-style distortion of images (B, C, H, W) in [0, 1]; feature masking for (B, D)
    and for series (``series``: the cnn1d's (B, 1, C, L), where turning, shearing or blurring
    would mix sensors: each value masked or jittered on its own, as a series' jitter and
    masking augmentations do); token deletion for token ids (B, T) (:func:`delete_tokens`)."""
    if not x.is_floating_point():  # token ids, 0 = padding: masking and noise would make other ids
        return delete_tokens(x, generator)
    if x.ndim != 4 or series:
        keep = (torch.rand(x.shape, generator=generator) >= 0.2).to(x.device, x.dtype)
        noise = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
        return x * keep + 0.1 * x.std(0, keepdim=True) * noise
    b = x.shape[0]
    lo, hi = float(x.min()), float(x.max())  # keep the input's value range
    x = _random_affine(x, generator)
    brightness = _uniform(b, -0.2, 0.2, generator, x).view(b, 1, 1, 1)
    contrast = _uniform(b, 0.6, 1.4, generator, x).view(b, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean + brightness
    # sharpness factor s in [-1, 1]: s < 0 blurs towards the 3x3 binomial blur, s > 0 sharpens.
    s = _uniform(b, -1.0, 1.0, generator, x).view(b, 1, 1, 1)
    x = x + s * (x - _blur(x))
    return _cutout(x.clamp(lo, hi), generator)
