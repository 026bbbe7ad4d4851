"""A target stored twice, with labels that carry no signal: copies across the split inflate it. (a diagnostic)

optdigits with its labels permuted at random (seed 0), every row stored twice under the same
label; `scratch` (1,500 steps) at k = 100, 3 seeds, no source. Nothing can be learnt, so the
honest accuracy is chance (about 10 %). Run twice: with the protocol's split, which keeps
each input's copies on one side (data/splits.py, since session 17), and with the split drawn
as if every row were distinct (as before), where test rows have copies among the labelled
ones.

    python benchmarks/diagnostics/duplicated_target.py

Prints a table and writes benchmarks/results/diagnostics/duplicated_target.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

import transferkit.evaluate.prepare as prepare
from transferkit.config import validate
from transferkit.data.splits import make_test_split
from transferkit.evaluate.protocol import run_protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _per_seed import write_per_seed  # noqa: E402


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    d = load_digits()
    y = np.random.default_rng(0).permutation(d.target)
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "twice.npz"
        np.savez(path, x=np.r_[d.images, d.images].astype(np.float32), y=np.r_[y, y])
        cfg = validate({"name": "duplicated-target", "target": {"data": str(path), "shots": [100]},
                        "methods": [{"scratch": {"steps": 1500}}], "seeds": [0, 1, 2], "save_models": False})  # fmt: skip
        real = prepare.split_target
        for label in ("copies on one side (the protocol)", "copies ignored (before session 17)"):
            if label.startswith("copies ignored"):
                prepare.split_target = lambda t, f, s: make_test_split(t.y, f, s, t.classes)
            try:
                result = run_protocol(cfg)
            finally:
                prepare.split_target = real
            accs = [100 * r.accuracy for r in result.records]
            rows.append({"split": label, "per_seed": accs, "mean": float(np.mean(accs))})
    write_per_seed("test split", {r["split"]: r["per_seed"] for r in rows}, rows, "duplicated_target", start)


if __name__ == "__main__":
    main()
