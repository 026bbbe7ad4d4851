"""``TransferClassifier(class_weight="balanced")`` on unevenly drawn labels (a diagnostic).

Source: scikit-learn's digits 0-4 (8x8 images), ``tk.pretrain`` for 10 epochs. Target: digits
5-9, labelled examples drawn 71 / 24 / 9 / 5 / 3 per class (seeds 0..S-1 draw them), tested on
every other 5-9 digit. Each method fits with ``class_weight=None`` and ``"balanced"`` on the same
draw; balanced accuracy (the mean of the per-class recalls) and the rarest class's (9) recall.

    python benchmarks/diagnostics/class_weight.py [--seeds 3] [--threads 1]

Prints a table and writes benchmarks/results/diagnostics/class_weight.json.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

import transferkit as tk

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "class_weight.json"
DRAW = {5: 71, 6: 24, 7: 9, 8: 5, 9: 3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["head", "finetune", "scratch"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype("float32").reshape(-1, 1, 8, 8)
    warnings.simplefilter("ignore")
    src = tk.pretrain(x[y < 5], y[y < 5], epochs=10)
    xt, yt = x[y >= 5], y[y >= 5]
    rows = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        lab = np.concatenate([rng.choice(np.flatnonzero(yt == c), n, replace=False) for c, n in DRAW.items()])
        test = np.setdiff1d(np.arange(len(yt)), lab)
        for method in args.methods:
            for weight in (None, "balanced"):
                clf = tk.TransferClassifier(method, source=src, class_weight=weight, random_state=seed)
                pred = clf.fit(xt[lab], yt[lab]).predict(xt[test])
                rows.append({"seed": seed, "method": method, "class_weight": weight,
                             "balanced_accuracy": balanced_accuracy_score(yt[test], pred),
                             "recall_9": float((pred[yt[test] == 9] == 9).mean())})  # fmt: skip
        for weight in (None, "balanced"):  # a reference on the raw pixels, no transfer
            lr = LogisticRegression(max_iter=2000, class_weight=weight).fit(xt[lab].reshape(len(lab), -1), yt[lab])
            pred = lr.predict(xt[test].reshape(len(test), -1))
            rows.append({"seed": seed, "method": "sklearn LogisticRegression", "class_weight": weight,
                         "balanced_accuracy": balanced_accuracy_score(yt[test], pred),
                         "recall_9": float((pred[yt[test] == 9] == 9).mean())})  # fmt: skip
    print("| method | class_weight | balanced accuracy per seed | mean | recall of 9 (3 labelled), mean |")
    print("|---|---|---|---|---|")
    for method in [*args.methods, "sklearn LogisticRegression"]:
        for weight in (None, "balanced"):
            got = [r for r in rows if r["method"] == method and r["class_weight"] == weight]
            accs = [r["balanced_accuracy"] for r in got]
            print(f"| {method} | {weight} | {' / '.join(f'{100 * a:.1f}' for a in accs)} | {100 * np.mean(accs):.1f} | "
                  f"{100 * np.mean([r['recall_9'] for r in got]):.0f} |")
    OUT.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}, indent=1))
    print(f"wrote {OUT} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
