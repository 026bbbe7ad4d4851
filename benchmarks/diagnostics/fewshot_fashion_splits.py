"""Is the Fashion few-shot result a property of the class split? (a diagnostic, not a benchmark)

The few-shot benchmark (benchmarks/few_shot.py) trains the shared layers on Fashion-MNIST
classes 0-4 and runs 5-way episodes over classes 5-9. Issue 4 says only "5 classes / the
other 5". This runs the same protocol on the benchmark's split and on 5 more splits drawn
at random (``numpy.random.default_rng(2026)``, fixed before any result was seen), one
source seed, K = 1, prototypes and the transductive method on all episodes, scratch on the
first ``--train-episodes`` of the same episodes, gains paired by episode.

    python benchmarks/diagnostics/fewshot_fashion_splits.py [--splits 6] [--train-episodes 20]

Prints a table and writes benchmarks/results/diagnostics/fewshot_fashion_splits.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from transferkit.fewshot.config import load_fewshot_config
from transferkit.fewshot.experiment import evaluate_fewshot
from transferkit.fewshot.report import build_summary

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "fewshot_fashion_splits.json"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def splits(n: int) -> list[tuple[int, ...]]:
    """The benchmark's source classes 0-4 first, then random 5-of-10 source sets (seed 2026)."""
    rng, out = np.random.default_rng(2026), [(0, 1, 2, 3, 4)]
    while len(out) < n:
        s = tuple(sorted(rng.choice(10, 5, replace=False).tolist()))
        if s not in out:
            out.append(s)
    return out


def run_split(source: tuple[int, ...], args: argparse.Namespace) -> dict:
    novel = tuple(c for c in range(10) if c not in source)
    spec = lambda cs: "fashion-mnist[" + ",".join(map(str, cs)) + "]"  # noqa: E731
    raw = {
        "name": "fewshot-fashion-split",
        "source": {"data": spec(source), "max_per_class": 1000, "augment": True},  # shifts: the source augmentation when these results were recorded (the few-shot default is now affine)
        "target": {"data": spec(novel), "max_per_class": 1000},
        "seeds": 1,
        "fewshot": {"n_way": 5, "k_shot": [1], "n_query": 15, "episodes": args.episodes,
                    "train_episodes": args.train_episodes, "methods": ["prototypes", "transductive", "scratch"]},
    }  # fmt: skip
    start = time.perf_counter()
    run = evaluate_fewshot(load_fewshot_config(None, raw=raw), lambda m: print(f"  {m}", file=sys.stderr))
    rows = {r["method"]: r for r in build_summary(run)["results"]}
    return {"source": list(source), "novel": list(novel), "wall_s": time.perf_counter() - start,
            "results": {m: {k: r.get(k) for k in ("accuracy_mean", "ci95_half_width", "gain_vs_scratch", "gain_ci95",
                                                  "negative_transfer", "episodes")} for m, r in rows.items()}}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", type=int, default=6)
    ap.add_argument("--episodes", type=int, default=600)
    ap.add_argument("--train-episodes", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = {"command": "python benchmarks/diagnostics/fewshot_fashion_splits.py " + " ".join(sys.argv[1:]), "splits": []}
    print("| novel classes | prototypes | transductive | scratch | prototypes − scratch (paired) |")
    print("|---|---|---|---|---|")
    for source in splits(args.splits):
        res = run_split(source, args)
        out["splits"].append(res)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(out, indent=1, default=float) + "\n")
        r = res["results"]
        lo, hi = r["prototypes"]["gain_ci95"] or (float("nan"), float("nan"))
        names = ", ".join(NAMES[c] for c in res["novel"])
        print(f"| {names} | {100 * r['prototypes']['accuracy_mean']:.1f} | {100 * r['transductive']['accuracy_mean']:.1f}"
              f" | {100 * r['scratch']['accuracy_mean']:.1f} | {100 * r['prototypes']['gain_vs_scratch']:+.1f}"
              f" [{100 * lo:+.1f}, {100 * hi:+.1f}] |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
