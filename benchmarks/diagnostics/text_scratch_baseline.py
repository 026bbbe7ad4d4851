"""The text ``scratch`` baseline alone, in benchmarks/pretrained.py's text setting (a diagnostic).

MiniLM's tokens, amazon-reviews (1,500 per class, a quarter held out), k = 32, 3 seeds,
``scratch`` (textcnn) with the benchmark's parameters. Used to measure how a change to the
textcnn moves the baseline that the text gains are taken against, without re-running the
transformer methods (which do not use it).

    python benchmarks/diagnostics/text_scratch_baseline.py [--seeds 3]

Writes benchmarks/results/diagnostics/text_scratch_baseline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pretrained as bench  # noqa: E402  (benchmarks/pretrained.py: the same experiment)

from transferkit.config import validate  # noqa: E402
from transferkit.evaluate.protocol import run_protocol  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "text_scratch_baseline.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    raw = bench.experiments(args.seeds)["text"]
    raw = {**raw, "methods": [bench.TEXT_METHODS[0]], "target": {**raw["target"], "shots": [32]}}
    start = time.perf_counter()
    accs = [r.accuracy for r in run_protocol(validate(raw)).records]
    row = {"method": "scratch", "shots": 32, "accuracies": accs, "mean": sum(accs) / len(accs),
           "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
    print(f"scratch k=32: {100 * row['mean']:.1f} % (seeds: {', '.join(f'{100 * a:.1f}' for a in accs)})")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(row, indent=1) + "\n")


if __name__ == "__main__":
    main()
