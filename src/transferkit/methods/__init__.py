"""Transfer methods, one file each, registered by name (see ``base.py``)."""

import importlib
import pkgutil

from transferkit.methods.base import METHODS, Method, Params, TransferTask, get_method, register_method

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")


def list_methods() -> list[tuple[str, str]]:
    """(name, description) of every method, by name; a method whose optional package is
    missing says which and how to install it, as the domains do."""
    import importlib.util

    from transferkit.errors import install_hint

    def said(m) -> str:
        missing = [mod for mod in m.optional_imports if importlib.util.find_spec(mod) is None]
        return m.description + (f" [not installed: {install_hint(missing[0])}]" if missing else "")

    return [(m.name, said(m)) for m in sorted(METHODS.values(), key=lambda m: m.name)]


__all__ = ["METHODS", "Method", "Params", "TransferTask", "get_method", "list_methods", "register_method"]
