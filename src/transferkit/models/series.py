"""``cnn1d``: shared layers for series, convolving along time only.

A series is a row of values in time order: (N, L) for one channel, (N, C, L) for C
sensors (transferkit reads the latter as C x L one-channel images, so it reaches the shared
layers as (B, 1, C, L)). The ``mlp`` treats every time step as its own feature, so a
pattern learned at one position means nothing a few steps later; the 2-D ``cnn`` slides
its 5 x 5 kernels across sensors as well as along time, mixing neighbouring rows whose
order means nothing. ``cnn1d`` takes the C sensors as input channels and slides along
time only, then averages over time, so a pattern counts wherever it occurs and a series
of any length gives the same number of features. Its inputs are standardised over all
steps (``train.source.input_stats``), not step by step, which would give the same pattern
other values at other positions; with one scale for all sensors unless that scale is more
than 10 times a sensor's own spread (sensors in other units or at other levels), when each
gets its own, so that a sensor in small units is not left near zero beside one in large units.

The blocks follow the Fully Convolutional Network baseline for series classification
(Wang, Yan & Oates, IJCNN 2017: three conv -> BatchNorm -> ReLU blocks with kernels 8, 5
and 3, global average pooling), with kernels 7, 5 and 3 (odd, so "same" padding is
symmetric), narrower (32-64-64 channels rather than 128-256-128) for small data on a CPU, and ending, like every transferkit architecture, in a dense layer so
the specific layers are a single dense layer + softmax.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.models.shared import SharedLayers, register_architecture


class AsChannels(nn.Module):
    """(B, L) -> (B, 1, L); (B, 1, C, L) -> (B, C, L): the sensors become conv channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1) if x.ndim == 2 else x.flatten(1, 2)


def series_channels(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, length) of one example of ``input_shape``, or a clear error for images."""
    if len(input_shape) == 1:
        return 1, input_shape[0]
    if len(input_shape) == 3 and input_shape[0] == 1:
        return input_shape[1], input_shape[2]
    raise TransferkitError(
        f"cnn1d reads series, (N, L) or (N, C, L), but the data's examples have shape {input_shape} "
        f"(images with {input_shape[0]} channels).",
        "use `cnn` for images, or save a series of C sensors as x of shape (N, C, L).",
    )


def layout_note(input_shape: tuple[int, ...], architecture: str, name: str = "the data") -> str | None:
    """A note when the ``cnn1d`` (chosen, or ``auto``'s choice) would read more channels than
    steps: (N, L, C) series, saved channels last, read as L channels of C steps. (Some sets do
    have more sensors than steps; the note says how to tell.)"""
    from transferkit.models.shared import auto_architecture

    built = auto_architecture(tuple(input_shape)) if architecture == "auto" else architecture
    if built != "cnn1d" or len(input_shape) != 3 or input_shape[1] <= input_shape[2]:
        return None
    c, length = input_shape[1:]
    return (f"{name}: the cnn1d reads its arrays as {c} channels of {length} steps each (x as (N, channels, steps)); "
            f"if they are {length} sensors over {c} steps, saved channels last, save x.transpose(0, 2, 1) first: "
            "read the other way, time is mixed like sensors and each sensor's pattern in time is lost.")


def picture_or_series_note(input_shape: tuple[int, ...], architecture: str, name: str = "the data",
                           setting: str = "model.shared: ") -> str | None:  # fmt: skip
    """A note when ``auto`` reads small one-channel arrays of unequal sides as pictures (the 2-D
    ``cnn``): multichannel series of 8-15 sensors, such as JapaneseVowels' 12 x 25, pass the
    picture rule, and the cnn's 2-D kernels then slide across sensors whose order means nothing.
    Square arrays (digits, faces) and arrays of 16 px a side or more are not noted."""
    from transferkit.models.shared import auto_architecture

    if architecture != "auto" or len(input_shape) != 3 or input_shape[0] != 1:
        return None
    h, w = input_shape[1:]
    if h == w or min(h, w) >= 16 or auto_architecture(tuple(input_shape)) != "cnn":
        return None
    turned = "" if h < w else f" (or {w} sensors saved channels last: x.transpose(0, 2, 1) first)"
    said = (lambda v: f"{setting}{v}") if setting.endswith(": ") else (lambda v: f"{setting}{v!r}")  # YAML or Python
    return (f"{name}: its {h}x{w} one-channel arrays are read as pictures by the 2-D cnn ({said('auto')}); if they "
            f"are series, {h} sensors over {w} steps{turned}, set {said('cnn1d')}, which convolves along time only, "
            f"not across sensors; set {said('cnn')} to keep reading them as pictures.")


def warn_layout(input_shape: tuple[int, ...], architecture: str, name: str, setting: str = "model.shared: ") -> None:
    """Says :func:`layout_note` (series saved channels last?) and :func:`picture_or_series_note`
    (series read as pictures?) for the shared layers ``architecture`` of ``input_shape``, at the
    caller's line (run, fit and pretrain say them alike)."""
    for note in (layout_note(tuple(input_shape), architecture, name),
                 picture_or_series_note(tuple(input_shape), architecture, name, setting)):  # fmt: skip
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())


@register_architecture(
    "cnn1d", "1-D CNN along time for series, (N, L) or (N, C, L) with C sensors (FCN-like, global pooling)", "any"
)
class SeriesCNN(SharedLayers):
    def __init__(self, input_shape: tuple[int, ...], width: int = 32, feature_dim: int = 128) -> None:
        c, length = series_channels(tuple(input_shape))
        if length < 2:
            raise TransferkitError(
                f"cnn1d reads x as (N, C, L), C channels of L steps, so these examples are {c} channel(s) of {length} "
                "step: too short to convolve along.",
                "a series stored channels last, (N, L, 1) or (N, L, C): save x.transpose(0, 2, 1) (one channel: "
                "x.reshape(len(x), -1)); single values: use the `mlp`.",
            )

        def conv(c_in: int, c_out: int, k: int) -> list[nn.Module]:
            return [nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm1d(c_out), nn.ReLU()]

        blocks = [
            nn.Sequential(AsChannels(), *conv(c, width, 7)),  # -> (B, w, L)
            nn.Sequential(*conv(width, 2 * width, 5)),  # -> (B, 2w, L)
            nn.Sequential(  # -> (B, feature_dim): the time average makes any length work
                *conv(2 * width, 2 * width, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                nn.Linear(2 * width, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(),
            ),
        ]  # fmt: skip
        super().__init__(blocks, feature_dim)
