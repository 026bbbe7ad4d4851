"""Balanced accuracy's 95 % interval when test examples differ in difficulty (a diagnostic).

A new user's trial of imbalanced targets found the interval too narrow on a 500 / 10 test split:
its test term is stratified by class, but it took accuracy's degrees of freedom (m - 1), while
nearly all its variance comes from the 10-example class. Since session 35 the degrees of freedom
are Welch-Satterthwaite's over the classes, at least 10 (evaluate/stats.py).

Each trial draws per-example probabilities of being right from Beta(a, b) around each class's
accuracy (concentration 0.1: most examples nearly always right or nearly always wrong, as test
examples are for a trained model), then each seed's outcomes from them. The truth is the mean of
the class accuracies. Coverage is counted with the degrees of freedom as now and as before (m - 1,
put back by a patch).

    python benchmarks/diagnostics/balanced_unequal_difficulty.py [--trials 2000]

Prints a table and writes benchmarks/results/diagnostics/balanced_unequal_difficulty.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import transferkit.evaluate.stats as stats

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "balanced_unequal_difficulty.json"
SETTINGS = [((500, 10), (0.9, 0.5), 5), ((500, 10), (0.9, 0.5), 3), ((900, 20), (0.85, 0.6), 3),
            ((300, 6), (0.9, 0.5), 3), ((200, 3), (0.95, 0.6), 3), ((50, 50, 50), (0.8, 0.7, 0.6), 3)]


def coverage(sizes, accuracies, seeds: int, trials: int, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    hits = 0
    for _ in range(trials):
        p = np.concatenate([rng.beta(a * 0.1, (1 - a) * 0.1, n) for a, n in zip(accuracies, sizes, strict=True)])
        right = (rng.random((len(p), seeds)) < p[:, None]).astype(float)
        values = [np.mean([right[labels == c, s].mean() for c in range(len(sizes))]) for s in range(seeds)]
        ci = stats.t_interval(values, bounds=(0, 1), per_example=right.mean(1), strata=labels)
        hits += ci.low <= np.mean(accuracies) <= ci.high
    return hits / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    args = parser.parse_args()
    now = stats.stratified_test_variance

    def before(*a, **k):  # m - 1 degrees of freedom (G - 1 distinct inputs), as until session 35
        variance, _ = now(*a, **k)
        return variance, float(max(1, len(a[0]) - 1))

    rows = []
    for sizes, accuracies, seeds in SETTINGS:
        stats.stratified_test_variance = before
        try:
            old = coverage(sizes, accuracies, seeds, args.trials)
        finally:
            stats.stratified_test_variance = now
        rows.append({"test_split": "/".join(map(str, sizes)), "class_accuracies": list(accuracies), "seeds": seeds,
                     "coverage_before": old, "coverage_now": coverage(sizes, accuracies, seeds, args.trials)})
    print("| test split | class accuracies | seeds | coverage before (m - 1) | now |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['test_split']} | {', '.join(f'{a:.2f}' for a in r['class_accuracies'])} | {r['seeds']} | "
              f"{r['coverage_before']:.3f} | {r['coverage_now']:.3f} |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"trials": args.trials, "rows": rows}, indent=2) + "\n")
    print(f"{args.trials} trials each; wrote {OUT}")


if __name__ == "__main__":
    main()
