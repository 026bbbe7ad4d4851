"""One DA method under several parameter settings, on the DA benchmark's tasks. (a diagnostic)

Runs each registered method given with each parameter variant (600 steps, 64 + 64 rows),
at k = 0, on seed 0 (or seeds 0..N-1 with DA_SEEDS=N) of a pair from benchmarks/domain_adaptation.py (its split, source model), and
prints target test accuracy. Target labels are used here to *look*, never by a method; a
default changed because of what this shows must say so.

    python benchmarks/diagnostics/da_variants.py "optdigits->mnist5k" dan,coral,mcc "{}" "{'bn': 'shared'}" "{'augment': False}"

Prints one line per run and writes benchmarks/results/diagnostics/da_variants_<pair>_<methods>.json.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import domain_adaptation as da  # noqa: E402


def main() -> None:
    pair, methods, variants = sys.argv[1], sys.argv[2].split(","), [ast.literal_eval(v) for v in sys.argv[3:]] or [{}]
    torch.set_num_threads(1)
    rows = []
    for seed, _k, task, x_test, y_test in da.tasks_for(*da.PAIRS[pair], int(os.environ.get("DA_SEEDS", "1")), [0]):
        for method in methods:
            for variant in variants:
                out = da.run_ours(method, {"steps": 600, "batch_size": 64, **variant}, task, x_test, y_test)
                rows.append({"pair": pair, "seed": seed, "method": method, "variant": variant,
                             "accuracy": out["accuracy"], "wall_s": out["wall_s"]})  # fmt: skip
                print(f"{pair} seed={seed} {method} {variant}: {100 * out['accuracy']:.1f} %", flush=True)
    path = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / f"da_variants_{pair.replace('->', '_to_')}_{'_'.join(methods)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
