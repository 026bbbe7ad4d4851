"""ImageNet MobileNetV2 `head` at its native 224 px vs `scratch` at the images' own 28 px. (a diagnostic)

Fashion-MNIST, 100 images per class (50 % test), k = 10, seeds 0-2, through the protocol
(`transferkit.evaluate.protocol.run_protocol`): once with the pretrained source (input size
from the model's spec, 3x224x224) and `head`; once with no source and `scratch` (the `cnn` on
the native 1x28x28 images). Same split and the same k-shot draws in both runs.

    python benchmarks/diagnostics/images_224.py

Prints both tables and writes benchmarks/results/diagnostics/images_224.json.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from transferkit.config import validate  # noqa: E402
from transferkit.evaluate.protocol import run_protocol  # noqa: E402
from transferkit.report.summary import results_table  # noqa: E402
from transferkit.report.table import text_table  # noqa: E402

TARGET = {"data": "fashion-mnist", "max_per_class": 100, "test_fraction": 0.5, "shots": [10]}
COMMON = {"seeds": 3, "save_models": False, "device": "cpu"}


def main() -> None:
    out = {}
    for name, extra in (("head_mobilenet_224", {"source": {"pretrained": "mobilenet_v2_imagenet"}, "methods": ["head"]}),
                        ("scratch_native_28", {"methods": ["scratch"]})):  # fmt: skip
        start = time.perf_counter()
        result = run_protocol(validate({"name": name, "target": TARGET, **extra, **COMMON}))
        rows = results_table(result)
        print(f"{name} ({time.perf_counter() - start:.0f} s)\n{text_table(rows)}\n", flush=True)
        out[name] = rows
    path = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "images_224.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
