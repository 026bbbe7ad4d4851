"""Heavy-tailed columns and the "other units" check (a diagnostic).

`run`, `fit` and `predict` warn when a feature column of the target lies far outside the values
the source holds for it (data/column_ranges.py), since a column in other units (ash x 400) is
read on the source's scale. One of its rules flags a column when any single row lies beyond 3
training spans. A heavy-tailed column (incomes, amounts, counts nearly always 0) passes that with
its own tail. Since session 35 a column heavy-tailed in the source (span over 3 times its 5th-95th
percentile spread) needs one row beyond 30 spans, and the whole-range warning needs a column off.

For each distribution this draws a "source" column of 300 rows and a "target" column of the
SAME distribution, 200 times (seeds 0..199), and counts:

* false alarms: target columns of 1,000 rows flagged, though nothing changed;
* found: target columns of 50 rows flagged after their largest value was multiplied by 400 and
  400 added (one input in other units);
* whole column x5 / x10: target columns of 1,000 rows flagged when every value is multiplied by 5
  or 10 (the whole column in other units: another currency, grams for kilograms).

Each is counted with the rule before session 35 (no heavy-tailed columns) and as now (one far row
beyond 30 spans, and a typical non-zero size moved by 3 times or more).

    python benchmarks/diagnostics/heavy_tailed_columns.py [--draws 200]

Prints the table and writes benchmarks/results/diagnostics/heavy_tailed_columns.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from transferkit.data.column_ranges import column_ranges, heavy_columns, off_columns

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"

DISTRIBUTIONS = {
    "normal": lambda r, n: r.normal(0, 1, (n, 1)),
    "uniform": lambda r, n: r.random((n, 1)),
    "exponential": lambda r, n: r.exponential(1, (n, 1)),
    "log-normal, sigma 1": lambda r, n: r.lognormal(0, 1, (n, 1)),
    "log-normal, sigma 1.5": lambda r, n: r.lognormal(0, 1.5, (n, 1)),
    "Pareto, alpha 1.5": lambda r, n: r.pareto(1.5, (n, 1)),
    "Pareto, alpha 2.5": lambda r, n: r.pareto(2.5, (n, 1)),
    "counts, negative binomial (0.2, 0.4)": lambda r, n: r.negative_binomial(0.2, 0.4, (n, 1)).astype(float),
    "95 % zeros, else exponential": lambda r, n: np.where(r.random((n, 1)) < 0.95, 0.0, r.exponential(1, (n, 1))),
    "counts, 3 % non-zero (Poisson 1 + 1)": lambda r, n: np.where(r.random((n, 1)) < 0.97, 0.0,
                                                                 1.0 + r.poisson(1.0, (n, 1))),
}


def count(draw, draws: int) -> dict:
    """False alarms and finds over ``draws`` seeds, with the rule before (no heavy columns) and now."""
    out = {"false_alarms_before": 0, "false_alarms_now": 0, "found_before": 0, "found_now": 0, "heavy_in_source": 0,
           "x5_before": 0, "x5_now": 0, "x10_before": 0, "x10_now": 0}
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        source = draw(rng, 300)
        ranges, heavy = column_ranges(source), heavy_columns(source)
        out["heavy_in_source"] += bool(heavy)
        same = draw(rng, 1000)
        out["false_alarms_before"] += bool(off_columns(same, ranges))
        out["false_alarms_now"] += bool(off_columns(same, ranges, heavy=heavy))
        for factor in (5, 10):
            out[f"x{factor}_before"] += bool(off_columns(same * factor, ranges))
            out[f"x{factor}_now"] += bool(off_columns(same * factor, ranges, heavy=heavy))
        other = draw(rng, 50)
        i = int(np.argmax(other[:, 0]))
        other[i] = other[i] * 400 + 400
        out["found_before"] += bool(off_columns(other, ranges))
        out["found_now"] += bool(off_columns(other, ranges, heavy=heavy))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    rows = {name: count(draw, args.draws) for name, draw in DISTRIBUTIONS.items()}
    print(f"{'distribution':38} {'heavy':>5} {'false alarms':>13} {'one row x400':>13} {'column x5':>11} {'column x10':>11}")
    for name, r in rows.items():
        print(f"{name:38} {r['heavy_in_source']:>5} " + " ".join(
            f"{str(r[a]) + ' -> ' + str(r[b]):>{w}}" for a, b, w in (
                ("false_alarms_before", "false_alarms_now", 13), ("found_before", "found_now", 13),
                ("x5_before", "x5_now", 11), ("x10_before", "x10_now", 11))))  # fmt: skip
    print("(before -> now, of the draws)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "heavy_tailed_columns.json").write_text(json.dumps({"draws": args.draws, "rows": rows}, indent=2) + "\n")
    print(f"of {args.draws} draws each; wrote {OUT / 'heavy_tailed_columns.json'}")


if __name__ == "__main__":
    main()
