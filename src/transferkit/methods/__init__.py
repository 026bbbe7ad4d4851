"""Transfer methods, one file each, registered by name (see ``base.py``)."""

import importlib
import pkgutil

from transferkit.methods.base import METHODS, Method, Params, TransferTask, get_method, register_method

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")


def list_methods() -> list[tuple[str, str]]:
    return [(m.name, m.description) for m in METHODS.values()]


__all__ = ["METHODS", "Method", "Params", "TransferTask", "get_method", "list_methods", "register_method"]
