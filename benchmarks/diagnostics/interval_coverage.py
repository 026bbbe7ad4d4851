"""How often do the protocol's 95 % intervals cover the truth? (a simulation, not a benchmark)

Each trial draws a new test split of ``--m`` examples, each with its own difficulty (its
probability of being right, Beta(a, b)), and ``n`` seeds whose accuracy is shifted by a
per-seed amount of sd ``seed_sd`` (training randomness). For accuracy the truth is the mean
difficulty; for the gain two methods of equal quality are compared, so the truth is 0 and
any interval wholly below 0 is a false negative-transfer flag. The intervals are
``transferkit.evaluate.stats`` as the protocol calls them (per-example results, plus four
for accuracies).

    python benchmarks/diagnostics/interval_coverage.py [--trials 2000] [--m 300]

Prints a table and writes benchmarks/results/diagnostics/interval_coverage.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from transferkit.evaluate.stats import is_negative_transfer, paired_gain, t_interval

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "interval_coverage.json"
DIFFICULTY = {"spread (Beta 8,2)": (8.0, 2.0), "mostly sure (Beta 0.4,0.1)": (0.4, 0.1)}


def simulate(n: int, m: int, seed_sd: float, ab: tuple[float, float], trials: int, rng) -> dict:
    acc_hits = gain_hits = flags = 0
    truth = ab[0] / (ab[0] + ab[1])
    for _ in range(trials):
        p = rng.beta(*ab, size=m)

        def runs(p=p):
            shift = rng.normal(0, seed_sd, size=n)[:, None]
            return rng.random((n, m)) < np.clip(p[None] + shift, 0, 1)

        a, b = runs(), runs()
        ci = t_interval(a.mean(1).tolist(), bounds=(0, 1), per_example=a.mean(0), plus_four=True)
        gain = paired_gain(a.mean(1).tolist(), b.mean(1).tolist(), per_example=(a.astype(float) - b).mean(0))
        acc_hits += ci.low <= truth <= ci.high
        gain_hits += gain.low <= 0 <= gain.high
        flags += is_negative_transfer(gain)
    return {"accuracy_coverage": acc_hits / trials, "gain_coverage": gain_hits / trials, "false_flags": flags / trials}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--m", type=int, default=300)
    args = ap.parse_args()
    rng, rows = np.random.default_rng(0), []
    print(f"| difficulty | seeds | seed sd | accuracy coverage | gain coverage | false flags | ({args.trials} trials, m = {args.m})")
    print("|---|---|---|---|---|---|")
    for name, ab in DIFFICULTY.items():
        for n in (2, 3, 5):
            for sd in (0.0, 0.03, 0.1):
                r = {"difficulty": name, "seeds": n, "seed_sd": sd, **simulate(n, args.m, sd, ab, args.trials, rng)}
                rows.append(r)
                print(f"| {name} | {n} | {sd} | {100 * r['accuracy_coverage']:.1f} % | {100 * r['gain_coverage']:.1f} % "
                      f"| {100 * r['false_flags']:.1f} % |", flush=True)  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"trials": args.trials, "m": args.m, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
