"""Series of 14 sensors or more: what moving them as pictures cost (a diagnostic).

Until session 33 the source and every method's training shifted (``source.augment: true``)
or turned (``affine``) the cnn1d's (1, C, L) input as a C x L picture once C and L were both
14 or more (1/14 of the shorter side, :func:`transferkit.train.augment.shift_for`), so a
sensor's values moved into its neighbour's row. This runs one experiment twice with the same
seeds, split and k-shot draws: as now (series are not moved) and with the old behaviour put
back (the augmentation chosen as for the 2-D cnn), each with its own empty source cache.

Data: JapaneseVowels (UCR/UEA, in PyPI ``aeon``): its 12 LPC channels and their first
differences (24 channels, the deltas speech features add), each utterance resampled to 25
steps; speakers 1-5 are the source task, speakers 6-9 the target task (new classes).

    python benchmarks/diagnostics/series_augment.py [--seeds 3] [--threads 1]

Prints both tables and writes benchmarks/results/diagnostics/series_augment.json.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from series import ucr  # noqa: E402 -- the series benchmark's reader of .ts files

import transferkit.train.supervised as supervised  # noqa: E402
from transferkit.config import validate  # noqa: E402
from transferkit.evaluate.protocol import run_protocol  # noqa: E402
from transferkit.report.summary import results_table  # noqa: E402
from transferkit.report.table import text_table  # noqa: E402
from transferkit.train.augment import augmenter  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"


def vowels_with_deltas(folder: Path) -> tuple[str, str]:
    x, y = ucr("JapaneseVowels", 25)  # (640, 12, 25)
    x = np.concatenate([x, np.diff(x, axis=2, prepend=x[:, :, :1])], axis=1).astype(np.float32)  # (640, 24, 25)
    source, target = np.isin(y, ["1", "2", "3", "4", "5"]), np.isin(y, ["6", "7", "8", "9"])
    np.savez(folder / "vowels_1_5.npz", x=x[source], y=y[source])
    np.savez(folder / "vowels_6_9.npz", x=x[target], y=y[target])
    return str(folder / "vowels_1_5.npz"), str(folder / "vowels_6_9.npz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = {"command": "python benchmarks/diagnostics/series_augment.py " + " ".join(sys.argv[1:]), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        source, target = vowels_with_deltas(Path(tmp))
        raw = {"name": "vowels-deltas", "source": {"data": source, "epochs": 20},
               "target": {"data": target, "shots": [1, 5]}, "model": {"shared": "cnn1d"},
               "methods": ["scratch", "head", "finetune"], "seeds": args.seeds}  # fmt: skip
        as_pictures = lambda augment, shape, architecture="auto": augmenter(augment, shape, "cnn")  # noqa: E731
        for variant in ("not moved (now)", "moved as pictures (before)"):
            os.environ["TRANSFERKIT_CACHE"] = str(Path(tmp) / variant.split()[0])  # no source shared between them
            start = time.perf_counter()
            with mock.patch.object(supervised, "augmenter", augmenter if variant.startswith("not") else as_pictures):
                rows = results_table(run_protocol(validate(raw)))
            wall = time.perf_counter() - start
            print(f"\n{variant} ({wall:.0f} s)\n{text_table(rows)}\n", flush=True)
            out["runs"][variant] = {"results": rows, "wall_time_s": wall}
    out["experiment"] = {**raw, "source": {**raw["source"], "data": "JapaneseVowels speakers 1-5, 24 channels x 25"},
                         "target": {**raw["target"], "data": "JapaneseVowels speakers 6-9, 24 channels x 25"}}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "series_augment.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"wrote {OUT / 'series_augment.json'}")


if __name__ == "__main__":
    main()
