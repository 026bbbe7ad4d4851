"""MobileNetV2 `finetune` and `lora` on Fashion-MNIST k = 10 at their default budgets. (a diagnostic)

benchmarks/pretrained.py's images part gives both methods 20 steps (a tenth of their
default 200) to fit the 2-core CPU; this re-runs them at the defaults, with the same
target, split, k-shot draws and 112 px inputs, seeds 0-2, next to `scratch` and `head`.

    python benchmarks/diagnostics/images_default_steps.py
    python benchmarks/diagnostics/images_default_steps.py --lora-bn-frozen   # lora with bn: frozen only

Prints the table and writes benchmarks/results/diagnostics/images_default_steps[_lora_bn_frozen].json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pretrained import IMAGE_METHODS, experiments  # noqa: E402

from transferkit.config import validate  # noqa: E402
from transferkit.evaluate.protocol import run_protocol  # noqa: E402
from transferkit.report.summary import results_table  # noqa: E402
from transferkit.report.table import text_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lora-bn-frozen", action="store_true", help="run only lora, BatchNorm statistics frozen")
    args = ap.parse_args()
    torch.set_num_threads(1)
    raw = experiments(3)["images"]
    raw["target"]["shots"] = [10]
    raw["methods"] = [IMAGE_METHODS[0], "head", "finetune", "lora"]  # the last two at their defaults
    raw["name"] = "mobilenet-fashion-default-steps"
    if args.lora_bn_frozen:
        raw["methods"], raw["name"] = [{"lora": {"bn": "frozen"}}], "mobilenet-fashion-lora-bn-frozen"
    start = time.perf_counter()
    rows = results_table(run_protocol(validate(raw), progress=lambda m: print(f"  {m}", flush=True)))
    print(f"{raw['name']} ({time.perf_counter() - start:.0f} s)\n{text_table(rows)}", flush=True)
    suffix = "_lora_bn_frozen" if args.lora_bn_frozen else ""
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / f"images_default_steps{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"experiment": raw, "results": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
