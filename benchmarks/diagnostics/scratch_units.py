"""A target column in other units: what it cost `scratch` to share the source's normalisation (a diagnostic).

Until session 34 `scratch`, in a run with a source, normalised its inputs by the source model's
per-column mean and std. A target column in other units than the source's then reached the
baseline far off its scale, so the baseline paid for a source it never uses and every transfer
method's gain over it grew. Now `scratch` takes the target pool's own statistics (never the
test split's), as it does without a source. This runs one experiment twice with the same seeds,
split and k-shot draws: as now, and with the old statistics put back (a patch of
``evaluate.protocol._model_factory``), each with its own empty source cache; and the same
target with no source at all (scratch alone), the baseline a user without a source would train.

Data: scikit-learn's wine (178 wines, 13 measurements, 3 cultivars), split in half per class
with ``numpy.random.default_rng(0)``: one half is the source, the other the target. Two
targets: as recorded, and with its `ash` column multiplied by 400 (another unit).

    python benchmarks/diagnostics/scratch_units.py [--seeds 5] [--threads 1]

Prints the tables and writes benchmarks/results/diagnostics/scratch_units.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from sklearn.datasets import load_wine

import transferkit.evaluate.protocol as protocol
from transferkit.config import validate
from transferkit.evaluate.protocol import run_protocol
from transferkit.report.summary import results_table
from transferkit.report.table import text_table

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"
ASH = 2  # load_wine's column 'ash'


def write_csv(path: Path, x: np.ndarray, y: np.ndarray, names: list[str]) -> str:
    rows = [",".join([*names, "label"])] + [",".join([*(f"{v:.6g}" for v in r), f"cultivar_{c}"]) for r, c in zip(x, y, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def wine_halves(folder: Path) -> tuple[str, str, str]:
    data = load_wine()
    x, y, names = data.data, data.target, list(data.feature_names)
    rng = np.random.default_rng(0)
    source = np.zeros(len(y), bool)
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        source[rows[: len(rows) // 2]] = True
    units = x[~source].copy()
    units[:, ASH] *= 400.0
    return (write_csv(folder / "wine_source.csv", x[source], y[source], names),
            write_csv(folder / "wine_target.csv", x[~source], y[~source], names),
            write_csv(folder / "wine_target_ash_x400.csv", units, y[~source], names))  # fmt: skip


def old_factory(cfg, data, source_model, device):
    """The factory before session 34: the source model's statistics whenever there is one."""
    if source_model is None:
        return NOW(cfg, data, source_model, device)
    mean, std = source_model.input_mean.cpu(), source_model.input_std.cpu()

    def build():
        return protocol.TransferModel.build(
            data.scratch_architecture or cfg.model.shared, data.input_shape, data.target.classes, mean, std,
            head_hidden=cfg.model.head_hidden, **cfg.model.options,
        ).to(device)  # fmt: skip

    return build


NOW = protocol._model_factory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = {"command": "python benchmarks/diagnostics/scratch_units.py " + " ".join(sys.argv[1:]), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        source, target, units = wine_halves(Path(tmp))
        for name, data in (("as recorded", target), ("ash x 400", units)):
            raw = {"name": "wine-halves", "source": {"data": source}, "target": {"data": data, "shots": [3]},
                   "methods": ["scratch", "head", "finetune"], "seeds": args.seeds}  # fmt: skip
            variants = (("now", NOW, raw), ("before (the source's statistics)", old_factory, raw),
                        ("no source (scratch alone)", NOW, {**{k: v for k, v in raw.items() if k != "source"},
                                                             "methods": ["scratch"]}))  # fmt: skip
            for variant, factory, experiment in variants:
                os.environ["TRANSFERKIT_CACHE"] = str(Path(tmp) / f"{name}-{variant.split()[0]}")
                start = time.perf_counter()
                with mock.patch.object(protocol, "_model_factory", factory):
                    rows = results_table(run_protocol(validate(experiment)))
                wall = time.perf_counter() - start
                print(f"\ntarget {name}, {variant} ({wall:.0f} s)\n{text_table(rows)}\n", flush=True)
                out["runs"][f"{name}: {variant}"] = {"results": rows, "wall_time_s": wall}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scratch_units.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"wrote {OUT / 'scratch_units.json'}")


if __name__ == "__main__":
    main()
