"""Where transferkit keeps its caches (source models, features, downloads)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path


def cache_dir() -> Path:
    """``$TRANSFERKIT_CACHE``, else ``$XDG_CACHE_HOME/transferkit``, else ``~/.cache/transferkit``.

    A relative ``$XDG_CACHE_HOME`` is ignored, as the XDG specification says (it put the cache
    under whatever folder a run started in), and so is an empty ``$HOME`` (``/.cache``): the
    user's home from the password database is used then."""
    if os.environ.get("TRANSFERKIT_CACHE"):
        return Path(os.environ["TRANSFERKIT_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "transferkit"
    home = os.environ.get("HOME") or None
    if home is None:
        try:
            import pwd  # (not on Windows, where Path.home() reads USERPROFILE)

            home = pwd.getpwuid(os.getuid()).pw_dir
        except (ImportError, KeyError, OSError):
            home = str(Path.home())
    return Path(home) / ".cache" / "transferkit"


_UNWRITABLE_SAID: set[str] = set()


def write_to_cache(what: str, write: Callable[[], object]) -> None:
    """Runs ``write`` (a cache entry's writing); a cache that cannot be written (a read-only
    mount, a file where its folder should be, a full disk) is said once and costs the next run
    the work again, not this one its results: it crashed with a traceback after training."""
    from safetensors import SafetensorError

    from transferkit.errors import TransferkitWarning, user_stacklevel

    try:
        write()
    except (OSError, SafetensorError) as e:
        where = str(cache_dir())
        if where not in _UNWRITABLE_SAID:
            _UNWRITABLE_SAID.add(where)
            reason = getattr(e, "strerror", None) or str(e).splitlines()[0]
            warnings.warn(f"cannot write the cache in {where} ({reason}): {what} is not cached, so later runs compute "
                          "it again; set $TRANSFERKIT_CACHE to a folder you can write to.", TransferkitWarning,
                          stacklevel=user_stacklevel())  # fmt: skip


def numeric_context(device=None) -> dict:
    """What changes a float result besides the model and the data: torch's version, its thread
    count (reductions split differently across threads) and, off the CPU, the device type and
    CUDA version (other kernels). Part of every cache key, so a cached result is the one this
    process would compute. CPU keys carry no device entry, so caches made before the device
    was part of the key stay valid."""
    import torch

    context = {"torch": torch.__version__.split("+")[0], "threads": torch.get_num_threads()}
    kind = torch.device(device).type if device is not None else "cpu"
    if kind != "cpu":
        context.update(device=kind, cuda=torch.version.cuda)
    return context


def pretrained_identity(name: str | None) -> list | None:
    """:func:`file_identity` of a pretrained source named by a local path (``hf:/path/to/folder``),
    else None (a hub id or a built-in name: the package version keys those)."""
    if not name:
        return None
    local = name.split(":", 1)[1] if name.startswith(("hf:", "timm:")) else name
    return file_identity(local) if local and Path(local).expanduser().exists() else None


def file_identity(path: str | os.PathLike | None) -> list | None:
    """What tells a weights file or model folder at ``path`` from another written there later: the
    path with each file's (name within it, size, modification time in ns). Keys of cached results
    that read the file (a trained source model, an interrupted run's finished runs) include it, so
    a checkpoint written again at the same path is another source. None for None; a path that
    does not exist is the path alone."""
    if path is None:
        return None
    p = Path(path)
    try:
        if p.is_file():
            stat = p.stat()
            return [str(p), stat.st_size, stat.st_mtime_ns]
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file())
            return [str(p), [[str(f.relative_to(p)), f.stat().st_size, f.stat().st_mtime_ns] for f in files]]
    except OSError:
        pass
    return [str(p)]
