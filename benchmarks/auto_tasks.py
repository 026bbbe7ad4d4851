"""The task suite of ``benchmarks/auto.py`` and the code that runs one method on one task.

Each task is a (source, target, k) on real data (../shared/DATA.md). Splits follow the
protocol exactly (fixed stratified test split, k labelled examples per class per seed),
and every method of one (task, seed) sees the same labelled examples and test split.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from transferkit.config import validate
from transferkit.data import load_domain
from transferkit.data.splits import TargetData, draw_shots
from transferkit.evaluate.prepare import Prepared, prepare
from transferkit.evaluate.protocol import _model_factory, train_source
from transferkit.methods import METHODS, TransferTask, get_method
from transferkit.paths import cache_dir
from transferkit.train.supervised import predict_proba

FASHION_SRC = {"data": "fashion-mnist[0-4]", "max_per_class": 1000}
FASHION_TGT = {"data": "fashion-mnist[5-9]", "max_per_class": 300}


@dataclass(frozen=True)
class Task:
    name: str
    source: dict
    target: dict
    shots: int
    note: str = ""


def shuffled_mnist() -> dict:
    """MNIST-5k with its labels permuted once (seed 0): a source that carries no label signal."""
    path = cache_dir() / "benchmarks" / "mnist5k-shuffled-labels.npz"
    if not path.exists():
        d = load_domain("mnist5k")
        path.parent.mkdir(parents=True, exist_ok=True)
        y = np.random.default_rng(0).permutation(d.y)
        np.savez(path, x=d.x[:, 0].astype(np.uint8), y=y, classes=np.array(d.classes))
    return {"data": str(path)}


def suite() -> list[Task]:
    tasks = [Task(f"mnist5k -> optdigits k={k}", {"data": "mnist5k"}, {"data": "optdigits"}, k) for k in (1, 5, 10)]
    tasks += [Task(f"optdigits -> mnist5k k={k}", {"data": "optdigits"}, {"data": "mnist5k"}, k) for k in (1, 5, 10)]
    tasks += [Task(f"fashion[0-4] -> fashion[5-9] k={k}", FASHION_SRC, FASHION_TGT, k, "new task") for k in (1, 5)]
    tasks += [
        Task("shuffled-label mnist5k -> optdigits k=1", shuffled_mnist(), {"data": "optdigits"}, 1, "source should not help"),
        Task("fashion-mnist -> optdigits k=5", {"data": "fashion-mnist", "max_per_class": 500}, {"data": "optdigits"}, 5,
             "unrelated source"),
    ]  # fmt: skip
    return tasks


@lru_cache(maxsize=8)
def _prepared(source_key: str, target_key: str) -> Prepared:
    import json

    cfg = validate({"source": json.loads(source_key), "target": json.loads(target_key), "device": "cpu"})
    return prepare(cfg)


@dataclass
class TaskData:
    cfg: object
    data: Prepared
    source_model: object
    target: TargetData
    x_test: torch.Tensor
    y_test: torch.Tensor
    src_parts: dict = field(default_factory=dict)

    def task(self, seed: int) -> TransferTask:
        return TransferTask(
            self.target, self.data.target.classes, seed,
            _model_factory(self.cfg, self.data, self.source_model, torch.device("cpu")), self.source_model,
            **self.src_parts,
        )  # fmt: skip

    def accuracy(self, model) -> float:
        return float((predict_proba(model, self.x_test).argmax(1) == self.y_test).float().mean())


def load_task(source: dict, target: dict, shots: int, seed: int) -> TaskData:
    """Source model (cached), the seed's k-shot draw and the fixed test split, as the protocol builds them."""
    import json

    from transferkit.train.source import source_val_split

    data = _prepared(json.dumps(source, sort_keys=True), json.dumps(target, sort_keys=True))
    cfg = validate({"source": source, "target": {**target, "shots": [shots]}, "seeds": [seed], "device": "cpu"})
    source_model = train_source(cfg, data, seed, torch.device("cpu")).model
    lab, unl = draw_shots(data.target.y, data.split.pool_idx, shots, seed, data.target.classes)
    target_data = TargetData(data.xt[lab], data.yt[lab], data.xt[unl], len(data.target.classes))
    tr, va = (torch.from_numpy(i) for i in source_val_split(data.source.y, seed=seed))
    parts = {"source_x": data.xs[tr], "source_y": data.ys[tr], "source_val_x": data.xs[va], "source_val_y": data.ys[va],
             "source_classes": data.source.classes}  # fmt: skip
    test = data.split.test_idx
    return TaskData(cfg, data, source_model, target_data, data.xt[test], data.yt[test], parts)


def fixed_methods(td: TaskData, only: list[str] | None) -> list[str]:
    """Every registered method except ``auto`` that can run on this task; ``only`` keeps the
    names it lists and drops those it lists with a leading ``-``."""
    same = td.data.source.classes == td.data.target.classes
    keep = [n for n in only or [] if not n.startswith("-")]
    drop = {n[1:] for n in only or [] if n.startswith("-")}
    out = []
    for name in sorted(METHODS):
        cls = METHODS[name]
        if name == "auto" or name in drop or (keep and name not in keep):
            continue
        if td.target.shots < cls.min_shots or (cls.needs_same_classes and not same):
            continue
        out.append(name)
    return out


def run_method(td: TaskData, name: str, seed: int, params: dict | None = None) -> dict:
    """Train ``name`` on the task exactly as the protocol would; accuracy on the test split."""
    task = td.task(seed)
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = get_method(name, **(params or {})).fit(task)
    seconds = time.perf_counter() - start
    return {"accuracy": td.accuracy(model), "seconds": seconds, "model": model, "extras": task.extras}


class RunCache:
    """Finished (task, seed, method, params) runs in a JSON-lines file, so an interrupted or
    partial benchmark (``--methods``, ``--tasks``) can be continued and merged. Opt-in: a
    cache from older code gives stale numbers."""

    def __init__(self, path: str | None) -> None:
        import json
        from pathlib import Path

        self.path = Path(path) if path else None
        self.runs: dict[str, dict] = {}
        if self.path and self.path.exists():
            for line in self.path.read_text().splitlines():
                rec = json.loads(line)
                self.runs[rec["key"]] = rec

    def run(self, key: str, fn) -> dict:
        import json

        if key in self.runs:
            return self.runs[key]
        r = fn()
        rec = {"key": key, "accuracy": r["accuracy"], "seconds": r["seconds"]}
        if r.get("model") is not None and "auto_decision" in r["model"].config:
            rec["decision"] = r["model"].config["auto_decision"]
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
        self.runs[key] = rec
        return rec
