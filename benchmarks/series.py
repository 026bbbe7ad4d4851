"""Series: the `cnn1d` shared layers against the `mlp` and the 2-D `cnn`, on UCR/UEA data.

Parts (``--part``, default both; each writes its rows into the JSON/Markdown):

* ``univariate``   OSULeaf (leaf outlines, 6 classes, 442 series) -> ArrowHead (arrowhead
                   outlines, 3 classes, 211 series): both outlines unrolled into one series,
                   each resampled to 128 steps and stored (N, 128). ``auto`` reads that as a
                   vector: the ``mlp`` (it still does: this part is why).
* ``multichannel`` JapaneseVowels (9 speakers, 640 utterances; its first 6 of 12 LPC
                   channels) -> BasicMotions (4 activities, 80 recordings of 6 motion sensors),
                   each resampled to 100 steps and stored (N, 6, 100), a 6 x 100 one-channel
                   array: until this benchmark ``auto`` gave it the 2-D ``cnn``; since, the
                   ``cnn1d`` (these two parts are why).
* ``multichannel_reverse`` the same two sets the other way round, BasicMotions ->
                   JapaneseVowels: a second multichannel target (9 speakers).

Each part runs the same experiment twice, ``model.shared`` = ``mlp`` (univariate) or
``cnn`` (multichannel), and ``cnn1d``, with the same seeds, split and k-shot draws; scratch uses the same architecture as
the source, so each architecture is measured against its own scratch and the two scratch
rows compare the architectures without any source.

The data ship as UCR/UEA ``.ts`` files inside PyPI ``aeon`` (``pip install --no-deps aeon``);
this script parses them itself and does not import aeon. Series are resampled by linear
interpolation over each one's own length (JapaneseVowels' are 7-29 steps long).

Usage: ``python benchmarks/series.py [--part univariate] [--seeds 5] [--threads 1]``. Writes
``benchmarks/results/series.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from transferkit.config import validate
from transferkit.evaluate.protocol import run_protocol
from transferkit.report.summary import results_table
from transferkit.report.table import markdown_table, text_table

try:  # the results files' common start lives next to this file
    from benchmarks._results import machine, write_json
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from _results import machine, write_json

OUT = Path(__file__).parent / "results"
METHODS = ["scratch", "head", "finetune"]
PARTS = ["univariate", "multichannel", "multichannel_reverse"]


def ucr_folder() -> Path:
    try:
        return Path(metadata.distribution("aeon").locate_file("aeon/datasets/data"))
    except metadata.PackageNotFoundError:
        sys.exit("the UCR/UEA files ship in PyPI aeon: pip install --no-deps aeon")


def read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """A ``.ts`` file's series [(C, L_i), ...] and labels: after ``@data``, one line a series,
    channels separated by ``:``, values by ``,``, the label last."""
    series, labels, body = [], [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@data"):
            body = True
        elif body:
            *channels, label = line.split(":")
            series.append(np.array([[float(v) for v in c.split(",")] for c in channels]))
            labels.append(label.strip())
    return series, np.array(labels)


def resample(s: np.ndarray, length: int) -> np.ndarray:
    """(C, L) -> (C, length) by linear interpolation along time."""
    old = np.linspace(0.0, 1.0, s.shape[1])
    new = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(new, old, c) for c in s])


def ucr(name: str, length: int, channels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """TRAIN and TEST of one UCR/UEA set together: x (N, C, length) float32, y (N,) names."""
    xs, ys = [], []
    for split in ("TRAIN", "TEST"):
        series, labels = read_ts(ucr_folder() / name / f"{name}_{split}.ts")
        xs += [resample(s[:channels], length) for s in series]
        ys.append(labels)
    return np.stack(xs).astype(np.float32), np.concatenate(ys)


def save(folder: Path, name: str, x: np.ndarray, y: np.ndarray) -> str:
    path = folder / f"{name}.npz"
    np.savez(path, x=x, y=y)
    return str(path)


def experiments(folder: Path, part: str, seeds: int) -> tuple[str, dict[str, dict]]:
    """(the architecture cnn1d is set against, {architecture: experiment}) for one part."""
    if part == "univariate":
        (xs, ys), (xt, yt) = ucr("OSULeaf", 128), ucr("ArrowHead", 128)
        source, target, auto = save(folder, "osuleaf", xs[:, 0], ys), save(folder, "arrowhead", xt[:, 0], yt), "mlp"
        target_cfg = {"data": target, "shots": [1, 5, 10]}
    elif part == "multichannel":
        (xs, ys), (xt, yt) = ucr("JapaneseVowels", 100, channels=6), ucr("BasicMotions", 100)
        source, target, auto = save(folder, "vowels", xs, ys), save(folder, "motions", xt, yt), "cnn"
        target_cfg = {"data": target, "shots": [1, 5], "test_fraction": 0.5}  # 20 recordings a class
    else:  # the other way round: a second multichannel target, 9 classes
        (xs, ys), (xt, yt) = ucr("BasicMotions", 100), ucr("JapaneseVowels", 100, channels=6)
        source, target, auto = save(folder, "motions", xs, ys), save(folder, "vowels", xt, yt), "cnn"
        target_cfg = {"data": target, "shots": [1, 5]}
    common = {"source": {"data": source, "epochs": 20}, "target": target_cfg, "methods": METHODS, "seeds": seeds}
    return auto, {arch: {"name": f"{part}-{arch}", "model": {"shared": arch}, **common} for arch in (auto, "cnn1d")}


def run_part(part: str, seeds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        auto, exps = experiments(Path(tmp), part, seeds)
        out = {"against": auto, "command": "python benchmarks/series.py " + " ".join(sys.argv[1:]), "runs": {}}
        for arch, raw in exps.items():
            start = time.perf_counter()
            result = run_protocol(validate(raw), progress=lambda m, a=arch: print(f"  [{part} {a}] {m}", flush=True))
            rows = results_table(result)
            wall = time.perf_counter() - start
            print(f"\n{part}, shared: {arch} ({wall:.0f} s)\n{text_table(rows)}\n", flush=True)
            out["runs"][arch] = {"experiment": raw, "results": rows, "wall_time_s": wall}
    return out


def write(results: dict) -> None:
    lines = write_json("series", "Series: cnn1d against the mlp and the 2-D cnn", results)
    for part, r in results["parts"].items():
        for arch, run in r["runs"].items():
            exp = run["experiment"]
            lines += [f"## {part}, shared: {arch}", "", f"`{r.get('command', results['command'])}`; "
                      f"target `{json.dumps(exp['target']['shots'])}` shots, seeds {exp['seeds']}, "
                      f"wall {run['wall_time_s']:.0f} s", "", markdown_table(run["results"]), ""]  # fmt: skip
    (OUT / "series.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", action="append", choices=PARTS)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    path = OUT / "series.json"
    results = json.loads(path.read_text()) if path.exists() else {"parts": {}}
    results.update(command="python benchmarks/series.py " + " ".join(sys.argv[1:]), machine=machine())
    for part in args.part or PARTS:
        results["parts"][part] = run_part(part, args.seeds)
        write(results)


if __name__ == "__main__":
    main()
