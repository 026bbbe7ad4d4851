"""The finished runs of an interrupted experiment, kept so that running it again resumes.

``run_protocol`` trains one (seed, k, method) after another; a run with pretrained encoders
or many seeds takes long, and an interrupt (Ctrl-C, a time limit) used to lose every finished
one (a trial lost 25 minutes of MiniLM fits to a timeout). Each finished one is now stored
under ``cache_dir()/unfinished/<key>/``, ``key`` a hash of the resolved experiment (its name
left out), the source's and target's content and the package version. The same experiment
run again takes them instead of training them again, says so, and reports their original
times; once its run folder is written they are removed.

Every (seed, k, method) seeds torch itself before training (``run_protocol``), so one taken
from here is the result the uninterrupted run would have had.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch

from transferkit.devices import resolve_device
from transferkit.paths import cache_dir, file_identity, numeric_context, pretrained_identity

STALE_DAYS = 30  # stores of runs never run again are removed after this long
# What a stored run's result depends on beyond settings and data: raised when the code that trains one changes
# its results, so runs stored before are trained again. 2: scratch normalises by the target's own inputs (session 34;
# a run interrupted before it resumed with a stored scratch of the source's statistics beside new ones, a review).
RESULTS_FORMAT = 2


def experiment_key(cfg, data) -> str:
    """A hash of what decides every run's result: settings, data content, package version."""
    from transferkit import __version__

    settings = cfg.model_dump(mode="json")
    settings.pop("name", None)  # names the run folder only
    src = cfg.source
    files = None if src is None else [file_identity(src.weights), pretrained_identity(src.pretrained)]  # rewritten?
    parts = {"settings": settings, "version": __version__, "target": data.target.fingerprint(), "files": files,
             "results_format": RESULTS_FORMAT,
             **numeric_context(resolve_device(cfg.device)),  # torch, threads, device: as every cache key
             "source": data.source.fingerprint() if data.source is not None else None}  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _prune(root: Path) -> None:
    """Removes the stores of interrupted runs that were not run again within ``STALE_DAYS``."""
    import time

    for folder in root.glob("*") if root.is_dir() else []:
        try:
            if time.time() - folder.stat().st_mtime > STALE_DAYS * 86400:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


class FinishedRuns:
    """The store of one experiment's finished runs (see the module's docstring)."""

    def __init__(self, cfg, data) -> None:
        self.folder = cache_dir() / "unfinished" / experiment_key(cfg, data)
        self.taken = 0  # runs taken from the store by this run
        _prune(self.folder.parent)

    def _path(self, seed: int, k: int, method: str) -> Path:
        return self.folder / f"seed{seed}_k{k}_{hashlib.sha256(method.encode()).hexdigest()[:12]}.pt"

    def load(self, seed: int, k: int, method: str, source_key: str | None = None) -> dict | None:
        """What the run of ``method`` at (seed, k) left, or None (never run, unreadable, or trained on another source
        model than ``source_key``, one whose weights changed since: it runs again)."""
        path = self._path(seed, k, method)
        if not path.is_file():
            return None
        try:
            unit = torch.load(path, map_location="cpu", weights_only=False)  # written by save() below, nothing else
        except Exception:  # noqa: BLE001  (a file cut short by a full disk: the run is simply trained again)
            return None
        if not isinstance(unit, dict) or unit.get("method") != method or unit.get("source_key") != source_key:
            return None
        self.taken += 1
        return unit

    def save(self, seed: int, k: int, method: str, unit: dict) -> None:
        """Stores one finished run, whole or not at all (written aside, then renamed into place)."""
        path = self._path(seed, k, method)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            torch.save({**unit, "method": method}, tmp)
            os.replace(tmp, path)
        except Exception:  # noqa: BLE001  (a read-only or full cache, a model pickle cannot hold: no resuming)
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def finish(self) -> None:
        """The run folder is written: nothing to resume any more."""
        shutil.rmtree(self.folder, ignore_errors=True)
