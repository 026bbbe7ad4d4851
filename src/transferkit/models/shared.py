"""Shared layers (feature extractors), registered by name.

Every architecture is an :class:`nn.Module` with ``blocks`` (an ``nn.ModuleList``: the
units that "freeze up to depth d" and "cut points" count) and ``out_dim``. The last
block ends in a dense layer, so the specific layers are a single dense layer + softmax.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from transferkit.errors import TransferkitError, did_you_mean
from transferkit.models.taps import tapped_forward


@dataclass(frozen=True)
class ArchitectureInfo:
    name: str
    description: str
    build: Callable[..., nn.Module]
    accepts: str  # "image", "vector" or "any"


ARCHITECTURES: dict[str, ArchitectureInfo] = {}


def register_architecture(name: str, description: str, accepts: str):
    def wrap(cls):
        ARCHITECTURES[name] = ArchitectureInfo(name, description, cls, accepts)
        return cls

    return wrap


class SharedLayers(nn.Module):
    """A stack of blocks; ``forward`` returns (B, out_dim) features.

    ``taps``: None (the last block's output), or block indices whose pooled outputs are
    concatenated instead (``models/taps.py``; set through ``TransferModel.set_taps``).
    """

    taps: tuple[int, ...] | None = None

    def __init__(self, blocks: list[nn.Module], out_dim: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        if upto is None and self.taps:
            return tapped_forward(self, x, self.taps)
        for block in self.blocks[:upto]:
            x = block(x)
        return x


@register_architecture("cnn", "LeNet-like CNN with BatchNorm for small grey or RGB images (e.g. 28x28)", "image")
class SmallCNN(SharedLayers):
    def __init__(self, input_shape: tuple[int, ...], width: int = 16, feature_dim: int = 128) -> None:
        c, h, w = input_shape
        if min(h, w) < 4:  # two 2x2 poolings: a side under 4 pixels pools to nothing
            raise TransferkitError(
                f"images of {h}x{w} pixels are too small for the cnn, whose two 2x2 poolings need at least 4x4.",
                "a series stored as (N, L, 1) or (N, 1, L) is L values in time: save or pass x.reshape(len(x), -1) "
                "(the mlp), or read it with the cnn1d (`model.shared: cnn1d`; rank: --shared cnn1d; Python: shared='cnn1d'); tiny images: "
                "upsample them to at least 4x4.",
            )
        blocks = [
            # conv -> pool -> BN -> ReLU (LeNet's order): pooling before the normalisation
            # and the non-linearity does their work on a quarter of the pixels, which makes
            # a training step 20-30 % faster on CPU than conv -> BN -> ReLU -> pool
            # (benchmarks/diagnostics/cnn_block_order.py)
            nn.Sequential(  # (B, C, H, W) -> (B, w, H/2, W/2)
                nn.Conv2d(c, width, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(width), nn.ReLU()
            ),
            nn.Sequential(  # -> (B, 2w, H/4, W/4)
                nn.Conv2d(width, 2 * width, 5, padding=2, bias=False),
                nn.MaxPool2d(2), nn.BatchNorm2d(2 * width), nn.ReLU(),
            ),
            nn.Sequential(  # -> (B, feature_dim): pooling makes any input size work
                nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                nn.Linear(2 * width * 16, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(),
            ),
        ]  # fmt: skip
        super().__init__(blocks, feature_dim)


@register_architecture("mlp", "Two dense layers with BatchNorm for feature vectors (N, D)", "vector")
class MLP(SharedLayers):
    def __init__(self, input_shape: tuple[int, ...], hidden: int = 256, feature_dim: int = 128) -> None:
        d = input_shape[0]
        blocks = [
            nn.Sequential(nn.Linear(d, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()),
            nn.Sequential(nn.Linear(hidden, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU()),
        ]
        super().__init__(blocks, feature_dim)


def auto_architecture(input_shape: tuple[int, ...]) -> str:
    """What ``auto`` builds: the ``mlp`` for vectors; for arrays (C, H, W), the ``cnn`` when
    they are pictures, ``cnn1d`` when one-channel arrays are not (sides more than 4:1 apart or
    a side under 8: a multichannel series stored (N, channels, length), whose unordered
    channel axis a 2-D kernel would slide across; ``data.preprocess.is_picture``). A side of 1
    is a univariate series in an extra axis: the ``cnn``, which refuses it with the reshape
    that makes it a vector (for the ``mlp``, what ``auto`` gives a univariate series)."""
    if len(input_shape) != 3:
        return "mlp"
    from transferkit.data.preprocess import is_picture

    if input_shape[0] != 1 or 1 in input_shape[1:] or is_picture(tuple(input_shape[1:])):
        return "cnn"  # a side of 1: a univariate series saved (N, 1, L) or (N, L, 1), which the cnn refuses
    return "cnn1d"  # with the fix to use: x.reshape(len(x), -1), as (N, L) gets the mlp


def reads_series(input_shape: tuple[int, ...], architecture: str = "auto") -> bool:
    """Whether the shared layers ``architecture`` (``auto``: what it builds for ``input_shape``)
    read series, the ``cnn1d``'s (N, C, L) held as (N, 1, C, L): their rows are sensors."""
    return (auto_architecture(tuple(input_shape)) if architecture == "auto" else architecture) == "cnn1d"


def architecture_defaults(name: str) -> dict:
    """The registered architecture's build parameters and their defaults ({} when unreadable)."""
    info = ARCHITECTURES.get(name)
    try:
        return {k: p.default for k, p in inspect.signature(info.build).parameters.items()} if info else {}
    except (TypeError, ValueError):
        return {}


def build_shared(name: str, input_shape: tuple[int, ...], **kwargs) -> SharedLayers:
    """Build the registered architecture ``name`` (``auto``: :func:`auto_architecture`)."""
    if name == "auto":
        name = auto_architecture(tuple(input_shape))
    if name not in ARCHITECTURES:
        raise TransferkitError(
            f"unknown shared-layer architecture {name!r}.",
            f"use one of: {did_you_mean(name, sorted(ARCHITECTURES))}.",
        )
    info = ARCHITECTURES[name]
    if info.accepts != "any" and (info.accepts == "image") != (len(input_shape) == 3):
        raise TransferkitError(
            f"architecture {name!r} takes {info.accepts} inputs but the data has shape {input_shape}.",
            "use `auto`, or `cnn` for images and `mlp` for vectors.",
        )
    defaults = architecture_defaults(name)
    sizes = {k for k, d in defaults.items() if isinstance(d, int) and not isinstance(d, bool)}  # width=16, hidden=256...
    bad = {k: v for k, v in kwargs.items() if k in sizes and not (isinstance(v, int | float) and not isinstance(v, bool)
                                                                  and math.isfinite(v) and v >= 1 and v == int(v))}  # fmt: skip
    if bad:  # a width of -8, 0 or 2.5 failed deep in torch, "abc" with a %-format error
        k, v = next(iter(bad.items()))
        raise TransferkitError(f"architecture {name!r}: option {k} = {v!r} is not a whole number above 0.",
                               f"give `model: options: {{{k}: N}}` a whole number N >= 1.")  # fmt: skip
    kwargs = {k: int(v) if k in sizes else v for k, v in kwargs.items()}  # 8.0 (YAML 8.) is 8
    try:
        return info.build(input_shape, **kwargs)
    except TransferkitError:  # the architecture's own word on its inputs (a ValueError too)
        raise
    except TypeError as e:
        raise TransferkitError(f"architecture {name!r}: bad option ({e}).", "check `model:` in the config.") from None
    except (RuntimeError, ValueError) as e:  # a combination of options torch cannot build
        raise TransferkitError(f"architecture {name!r} cannot be built with these options "
                               f"({str(e).splitlines()[0]}).", "check `model: options:` in the config.") from None
