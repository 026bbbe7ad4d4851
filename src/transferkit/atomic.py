"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything in a run folder goes through these helpers, so an interrupted run never
leaves a file that looks complete but is not.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _file_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give: 0o666 less the umask
    (``mkstemp`` makes its files 0o600, unreadable by teammates and web servers). Linux
    reports the umask in /proc; elsewhere it is read by setting it (briefly, not thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            mask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, _file_mode())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def reserve_default_out(name: str, parent: Path = Path("runs")) -> Path:
    """``runs/<name>-<date>-<time>``, made now (empty) so that two runs started in the same second
    get two folders (the second ``-2``), not one that the later finisher cannot write. Removed at
    exit if still empty (an interrupted or failed run leaves nothing)."""
    import atexit
    import time

    from transferkit.errors import TransferkitError

    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    where = parent.resolve() if not parent.is_absolute() else parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a read-only working folder, or a file named runs: a traceback before (exit 1)
        raise TransferkitError(f"cannot make the default run folder under {where} ({e.strerror or e}).",
                               "give --out a folder you can write to (out= in Python), or run from another "
                               "folder.") from None  # fmt: skip
    for i in range(1, 10_000):
        out = parent / (stem if i == 1 else f"{stem}-{i}")
        try:
            out.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            raise TransferkitError(f"cannot make the default run folder {out} ({e.strerror or e}).",
                                   "give --out a folder you can write to (out= in Python).") from None  # fmt: skip
        atexit.register(release_default_out, out)
        return out
    raise FileExistsError(f"{parent / stem}: 9,999 runs of that name this second")


@contextmanager
def out_folder(out: str | Path | None, name: str) -> Iterator[Path]:
    """``out``, or a default folder reserved for ``name`` (:func:`reserve_default_out`), checked
    before the work (:func:`check_out_dir`); a reserved folder is released at once when the
    work fails, not when a notebook's kernel exits."""
    folder = Path(out) if out is not None else reserve_default_out(name)
    try:
        check_out_dir(folder)  # fail before training, not after
        yield folder
    except BaseException:
        if out is None:
            release_default_out(folder)
        raise


def release_default_out(folder: Path) -> None:
    """Removes a folder :func:`reserve_default_out` made, if nothing was written in it."""
    try:
        folder.rmdir()  # only when empty; a finished run's folder stays
    except OSError:
        pass


def _real(out: Path) -> Path:
    """``out``, or where it links to: a link to an empty folder is written through."""
    return out.resolve() if out.is_symlink() else out


def check_out_dir(out: Path) -> None:
    """A run folder may be written only where nothing is (or an empty folder), and where files
    can be made: checked before the work, not found out after it."""
    from transferkit.errors import TransferkitError

    if str(out) in ("", "."):
        raise TransferkitError(f"--out {str(out)!r} names no new folder.", "give a folder path that does not exist yet.")
    if out.is_symlink() and not out.exists():
        raise TransferkitError(f"--out {out} is a link to {os.readlink(out)}, which does not exist.",
                               "give a folder path that does not exist yet, or make the folder it links to.")  # fmt: skip
    out = _real(out)
    if out.exists() and not out.is_dir():
        raise TransferkitError(f"--out {out} is a file, not a folder.", "give a folder path that does not exist yet.")
    if out.exists() and any(out.iterdir()):
        raise TransferkitError(f"output folder {out} already exists and is not empty.", "choose another --out or delete it.")
    check_writable(out, file=True)  # where the run is written first: a hidden folder beside it (atomic_folder)


def check_writable(out: str | Path, file: bool = False) -> None:
    """Whether ``out`` (a folder to be made, or with ``file`` a file that may exist and is
    replaced) can be written: its nearest existing folder must be a folder, and a file must
    be creatable in it (tried, then removed: the permission bits do not say it for root,
    read-only mounts or immutable folders)."""
    from transferkit.errors import TransferkitError

    o = Path(out).absolute()
    base = next(p for p in (o.parent if file else o, *o.parents) if p.exists())
    if not base.is_dir():
        raise TransferkitError(f"--out {out}: {base} is a file, not a folder.", "give a path whose folders exist or can be made.")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as e:
        raise TransferkitError(f"--out {out}: cannot write in {base} ({e.strerror or e}).",
                               "choose a folder you can write to.") from None  # fmt: skip


@contextmanager
def atomic_folder(out: str | Path) -> Iterator[Path]:
    """Yield a hidden temporary folder next to ``out``; when the block ends without an
    error it is renamed to ``out`` (which must be absent or empty), otherwise deleted. A
    reader sees no folder or the complete one, never a half-written run."""
    out = _real(Path(out))  # the callers checked it before their work (check_out_dir); not again here, where
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"  # a folder filled since would throw that work away
    tmp.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_partials(out)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        try:
            if out.is_dir() and not any(out.iterdir()):
                out.rmdir()
            if out.exists():
                raise FileExistsError(out)
            os.replace(tmp, out)
        except OSError:  # another process filled ``out`` meanwhile: keep this run's results beside it
            from transferkit.errors import TransferkitError

            if not out.exists():
                raise  # another failure (permissions, disk): not the race

            kept = next(p for i in range(2, 10_000) if not (p := out.with_name(f"{out.name}-{i}")).exists())
            os.replace(tmp, kept)
            raise TransferkitError(
                f"output folder {out} is not empty (another run wrote it while this one ran?); "
                f"this run's complete results are in {kept}.",
                "give each concurrent run its own --out.",
            ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_dead_partials(out: Path) -> None:
    """Removes ``.<name>.partial-<pid>`` folders beside ``out`` whose process is gone (killed
    outright, e.g. by the out-of-memory killer, while writing) and that no one has written to
    for an hour: they hold no complete run."""
    import glob
    import time

    for p in out.parent.glob(f"{glob.escape('.' + out.name)}.partial-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:  # an hour untouched too: a process in another container or on another host is not seen here
            if time.time() - p.stat().st_mtime < 3600:
                continue
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass  # another user's process, alive: not ours to remove


def write_text(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """Strict JSON: NaN and +-Inf (e.g. "no source validation split") are written as null,
    since ``json.dumps`` would write the non-standard ``NaN`` that other readers reject."""
    text = json.dumps(_finite(obj), indent=2, sort_keys=False, default=_jsonable, allow_nan=False)
    return write_text(path, text + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):  # numpy arrays and scalars
        return _finite(obj.tolist())
    return obj


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
