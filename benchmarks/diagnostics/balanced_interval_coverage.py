"""Balanced accuracy's 95 % interval on imbalanced test splits: coverage and width (a simulation).

Each trial draws one test split's outcomes for a model whose accuracy on class c is ``p_c``
(every example of a class equally hard), and 3 seeds that re-draw a tenth of those outcomes
(training randomness on a fixed test split). The truth is the mean of the ``p_c``. Two test
terms are compared: the stratified one the report uses (``evaluate.stats.stratified_test_variance``,
session 27; since session 35 with Welch-Satterthwaite degrees of freedom over the classes, at least 10)
and the one before it, the variance over examples of each one's share
``m / (C n_c) x correct``, which also counted the spread of those weights. A second table gives
each rule's lower end for a model right on every test example, beside the 2.5 % quantile of
balanced accuracy under uniform Beta(1, 1) priors on the class accuracies (a reference, not
the truth).

    python benchmarks/diagnostics/balanced_interval_coverage.py [--trials 1000]

Prints two tables and writes benchmarks/results/diagnostics/balanced_interval_coverage.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from transferkit.evaluate.stats import t_interval
from transferkit.report.summary import _balanced_intervals, balanced

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "balanced_interval_coverage.json"
SPLITS = {"53/4/18": [53, 4, 18], "90/10": [90, 10], "300/30/30": [300, 30, 30], "20/20/20": [20, 20, 20],
          "500/10": [500, 10]}  # (500/10: a review found G - 1 degrees of freedom too many there)
ACCURACIES = ([0.95, 0.6, 0.8], [0.9, 0.5, 0.7])
PERFECT = {"53/4/18": [53, 4, 18], "50/50/1": [50, 50, 1], "9 x 200 + 1": [200] * 9 + [1], "30/30/2": [30, 30, 2]}


def shares_interval(right: dict, y: np.ndarray) -> list[float]:
    """The interval before session 27: the test term over each example's weighted share."""
    _, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    terms = np.mean([right[s] * len(y) / (len(counts) * counts[index]) for s in right], axis=0)
    return t_interval([balanced(right[s], y) for s in right], bounds=(0, 1), per_example=terms).as_list()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    print("| test split | class accuracies | stratified: coverage, mean width | shares (before): coverage, width |")
    print("|---|---|---|---|")
    for name, sizes in SPLITS.items():
        y = np.repeat(np.arange(len(sizes)), sizes)
        for acc in ACCURACIES:
            p, truth = np.asarray(acc[: len(sizes)])[y], float(np.mean(acc[: len(sizes)]))
            got = {"stratified": [], "shares": []}
            for _ in range(args.trials):
                base = rng.random(len(y)) < p
                right = {s: np.where(rng.random(len(y)) < 0.1, rng.random(len(y)) < p, base) for s in range(3)}
                got["stratified"].append(_balanced_intervals(right, None, [0, 1, 2], y, None)["balanced_accuracy_ci95"])
                got["shares"].append(shares_interval(right, y))
            row = {"split": name, "accuracies": acc[: len(sizes)]}
            for rule, cis in got.items():
                cis = np.asarray(cis)
                row[rule] = {"coverage": float(np.mean((cis[:, 0] <= truth) & (truth <= cis[:, 1]))),
                             "width": float(np.mean(cis[:, 1] - cis[:, 0]))}  # fmt: skip
            rows.append(row)
            s, b = row["stratified"], row["shares"]
            print(f"| {name} | {', '.join(f'{a:.2f}' for a in row['accuracies'])} | {s['coverage']:.3f}, "
                  f"{100 * s['width']:.1f} | {b['coverage']:.3f}, {100 * b['width']:.1f} |")  # fmt: skip
    print("\n| a model right on every test example of | stratified: lower end | shares (before) | Beta(1, 1) reference |")
    print("|---|---|---|---|")
    perfect = []
    for name, sizes in PERFECT.items():
        y = np.repeat(np.arange(len(sizes)), sizes)
        right = {s: np.ones(len(y), bool) for s in range(3)}
        ref = float(np.quantile(np.mean([rng.beta(1 + n, 1, 200_000) for n in sizes], axis=0), 0.025))
        low = _balanced_intervals(right, None, [0, 1, 2], y, None)["balanced_accuracy_ci95"][0]
        before = shares_interval(right, y)[0]
        perfect.append({"split": name, "stratified_low": low, "shares_low": before, "beta_reference_low": ref})
        print(f"| {name} | {100 * low:.1f} | {100 * before:.1f} | {100 * ref:.1f} |")
    OUT.write_text(json.dumps({"trials": args.trials, "coverage": rows, "perfect": perfect}, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
