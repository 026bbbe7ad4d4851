"""Shared layers (backbones), specific layers (heads) and the TransferModel that joins them."""

from transferkit.models import pretrained, series, text  # noqa: F401  (register `pretrained`, `cnn1d`, `textcnn`)
from transferkit.models.shared import ARCHITECTURES, SharedLayers, build_shared, register_architecture
from transferkit.models.transfer_model import TransferModel, split_module


def list_architectures() -> list[tuple[str, str]]:
    return [(a.name, a.description) for a in ARCHITECTURES.values()]


__all__ = [
    "ARCHITECTURES", "SharedLayers", "TransferModel", "build_shared",
    "list_architectures", "register_architecture", "split_module",
]  # fmt: skip
