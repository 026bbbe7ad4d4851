"""What a pretrained source expects as input, taken from the source's own config.

A :class:`PretrainedSpec` travels with every pretrained shared layer, so target data is
prepared exactly as the source data was when the weights were trained: same channels,
same resolution, same normalisation. Nothing here is guessed per data set.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from transferkit.errors import TransferkitError

# torchvision model card for MobileNet_V2_Weights.IMAGENET1K_V1 (and every torchvision
# ImageNet classifier): ``ImageClassification(crop_size=224, resize_size=256)`` with
# mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], bilinear interpolation.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PretrainedSpec:
    """Input contract and provenance of a pretrained source.

    Attributes:
        name: registry name, e.g. ``"mobilenet_v2_imagenet"``.
        input_size: (C, H, W) the weights were trained at; ``None`` for text encoders.
        mean: per-channel mean subtracted after scaling to [0, 1].
        std: per-channel standard deviation divided by after the mean.
        feature_dim: D of the (N, D) features the shared layers return.
        source: where the weights came from (file path, URL, hub name or folder).
        interpolation: resize mode for images ("bilinear" or "bicubic").
        crop_pct: the source's evaluation crop (224/256 for torchvision); used only by
            ``preprocess(..., center_crop=True)``.
        modality: "image" or "text".
        max_length: maximum tokens per text (text encoders only).
    """

    name: str
    input_size: tuple[int, int, int] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    feature_dim: int
    source: str
    interpolation: str = "bilinear"
    crop_pct: float = 1.0
    modality: Literal["image", "text"] = "image"
    max_length: int | None = None

    def preprocessing_key(self) -> str:
        """A stable string naming every field that changes the features (for caches)."""
        fields = asdict(self)
        fields.pop("source")  # the weights are keyed separately, by content
        return json.dumps(fields, sort_keys=True)

    def preprocess(self, x: torch.Tensor, center_crop: bool = False) -> torch.Tensor:
        """Turn target images into the source's input format.

        Grey images are repeated to RGB, resized with antialiasing to ``input_size`` and
        normalised with the source's mean and std.

        Args:
            x: (N, C, H, W) or (N, H, W) images, floats in [0, 1] or uint8 in [0, 255].
            center_crop: resize to ``input_size / crop_pct`` and take the centre, as the
                source's evaluation transform does. The default resizes the whole image,
                which keeps the border of small, centred images such as digits.

        Returns:
            (N, *input_size) float32 tensor.
        """
        if self.modality != "image" or self.input_size is None:
            raise TransferkitError(
                f"{self.name!r} is a {self.modality} source; it has no image preprocessing.",
                "tokenize texts with transferkit.pretrained.encode_texts instead.",
            )
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        x = x.float()
        if x.ndim == 3:  # (N, H, W) -> (N, 1, H, W)
            x = x.unsqueeze(1)
        if x.ndim != 4:
            raise TransferkitError(
                f"images must be (N, C, H, W) or (N, H, W); got shape {tuple(x.shape)}.",
                "add a batch dimension with x.unsqueeze(0) for a single image.",
            )
        if x.numel() and (x.min() < -1e-6 or x.max() > 1 + 1e-6):
            raise TransferkitError(
                f"image values must lie in [0, 1]; got [{x.min().item():.3g}, {x.max().item():.3g}].",
                "divide 0-255 pixel values by 255 before calling preprocess().",
            )
        c, h, w = self.input_size
        if x.shape[1] != c:
            if x.shape[1] == 1:
                x = x.expand(-1, c, -1, -1)  # grey -> RGB: the same intensity in every channel
            else:
                raise TransferkitError(
                    f"{self.name!r} expects {c} channels; images have {x.shape[1]}.",
                    "give grey (1-channel) or RGB images; drop an alpha channel with x[:, :3].",
                )
        if center_crop and self.crop_pct < 1.0:
            big = (round(h / self.crop_pct), round(w / self.crop_pct))
            x = _resize(x, big, self.interpolation)
            top, left = (big[0] - h) // 2, (big[1] - w) // 2
            x = x[:, :, top : top + h, left : left + w]
        elif x.shape[-2:] != (h, w):
            x = _resize(x, (h, w), self.interpolation)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    if mode not in ("bilinear", "bicubic"):
        mode = "bilinear"  # antialiasing exists for these two; others are rare in configs
    out = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=True)
    return out.clamp_(0.0, 1.0) if mode == "bicubic" else out  # bicubic overshoots


def learned_input_size(model) -> list[int] | None:
    """The (C, H, W) a model's pretrained image encoder learned its weights at (its spec), else None:
    for texts and for shared layers trained here."""
    spec = getattr(getattr(model, "shared", None), "spec", None)
    if spec is not None and getattr(spec, "modality", None) != "text" and getattr(spec, "input_size", None):
        return [int(v) for v in spec.input_size]
    return None
