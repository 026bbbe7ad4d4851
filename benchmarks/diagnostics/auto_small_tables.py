"""`auto` on small, easy tables: does its negative-transfer guard refuse a source that helps? (a diagnostic)

scikit-learn's breast cancer (30 columns, 2 classes) and wine (13 columns, 3 classes), each
split at random (seed 0) into a source half and a target half; a third task gives the breast
cancer target its classes the other way round, so the source's head is wrong about every
example (a control: `auto` should refuse it). A source `mlp` is trained once per task with
`tk.pretrain`; then, for k = 2, 5, 10 labelled target examples a class and 3 seeds (a seed
draws the k-shot set; the rest of the target half is the test set), the Python API fits
scratch, head, finetune and auto. "auto (before)" is auto with the source-head evidence of
session 22 switched off (its check forced to fail), side by side in the same run.

    python benchmarks/diagnostics/auto_small_tables.py

Prints a table and writes benchmarks/results/diagnostics/auto_small_tables.json.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_wine

import transferkit as tk
import transferkit.methods.auto as auto

METHODS = ("scratch", "head", "finetune", "auto (before)", "auto")


def tasks() -> dict[str, tuple]:
    out = {}
    for name, loader in (("breast cancer", load_breast_cancer), ("wine", load_wine)):
        x, y = loader(return_X_y=True)
        idx = np.random.default_rng(0).permutation(len(y))
        s, t = idx[: len(y) // 2], idx[len(y) // 2 :]
        out[name] = (x[s], y[s], x[t], y[t])
    xs, ys, xt, yt = out["breast cancer"]
    out["breast cancer, target classes swapped (control)"] = (xs, ys, xt, 1 - yt)
    return out


def fit_score(method: str, src, xt, yt, lab, test, seed: int) -> tuple[float, str]:
    real = auto.source_head_check
    if method == "auto (before)":  # the check as if it never passed: the guard as it was
        auto.source_head_check = lambda *a: {**real(*a), "passed": False}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = tk.TransferClassifier(method.split()[0], source=src, random_state=seed).fit(xt[lab], yt[lab])
    finally:
        auto.source_head_check = real
    chosen = clf.auto_decision_["method"] if hasattr(clf, "auto_decision_") else method
    return 100 * clf.score(xt[test], yt[test]), chosen


def main() -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    start, rows = time.perf_counter(), []
    print("| task | k | " + " | ".join(METHODS) + " |\n|---|---|" + "---|" * len(METHODS))
    for name, (xs, ys, xt, yt) in tasks().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            src = tk.pretrain(xs, ys)
        for k in (2, 5, 10):
            row = {"task": name, "k": k, "per_seed": {m: [] for m in METHODS}, "chosen": {"auto (before)": [], "auto": []}}
            for seed in range(3):
                rng = np.random.default_rng(seed)
                lab = np.concatenate([rng.choice(np.flatnonzero(yt == c), k, replace=False) for c in np.unique(yt)])
                test = np.setdiff1d(np.arange(len(yt)), lab)
                for m in METHODS:
                    acc, chosen = fit_score(m, src, xt, yt, lab, test, seed)
                    row["per_seed"][m].append(acc)
                    if m.startswith("auto"):
                        row["chosen"][m].append(chosen)
            row["mean"] = {m: float(np.mean(v)) for m, v in row["per_seed"].items()}
            rows.append(row)
            cells = [f"{row['mean'][m]:.1f}" + (f" ({'/'.join(row['chosen'][m])})" if m in row["chosen"] else "")
                     for m in METHODS]  # fmt: skip
            print(f"| {name} | {k} | " + " | ".join(cells) + " |", flush=True)
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "auto_small_tables.json"
    out.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}, indent=1))
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
