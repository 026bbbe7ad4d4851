"""Pretrained sources as shared layers: weights, their input spec, and cached features."""

from transferkit.pretrained.features import cached_features, encode_texts, extract_features
from transferkit.pretrained.mobilenet_v2 import MobileNetV2, load_mobilenet_v2
from transferkit.pretrained.registry import TextEncoder, list_pretrained, load_pretrained
from transferkit.pretrained.spec import IMAGENET_MEAN, IMAGENET_STD, PretrainedSpec

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MobileNetV2",
    "PretrainedSpec",
    "TextEncoder",
    "cached_features",
    "encode_texts",
    "extract_features",
    "list_pretrained",
    "load_mobilenet_v2",
    "load_pretrained",
]
