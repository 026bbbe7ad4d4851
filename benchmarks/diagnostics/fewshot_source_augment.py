"""Does a source trained with rotation and scaling (``source.augment: affine``) give better
few-shot features? (a diagnostic)

The few-shot benchmark (benchmarks/few_shot.py) trains the shared layers with the default
augmentation, random shifts. This runs the benchmark's own protocol twice per part, the only
change being ``source.augment``: ``true`` (shifts) and ``affine`` (shifts, rotation up to
+-10 degrees, each axis scaled by 0.8..1.2 on its own). Feature methods run all
``--episodes``; scratch, which uses no source, runs the first ``--train-episodes`` of the
same episodes, once with its usual shifts and once with the same affine augmentation on its
support images, so any gain is not simply augmentation that scratch was denied. A
diagnostic, not a benchmark result.

    python benchmarks/diagnostics/fewshot_source_augment.py --part digits [--seeds 3] [--train-episodes 20]

Prints a table and writes benchmarks/results/diagnostics/fewshot_source_augment_{part}.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import few_shot  # noqa: E402 -- the benchmark's own data settings

import transferkit.train.supervised as supervised  # noqa: E402
from transferkit.fewshot.config import load_fewshot_config  # noqa: E402
from transferkit.fewshot.experiment import evaluate_fewshot  # noqa: E402
from transferkit.fewshot.report import build_summary  # noqa: E402
from transferkit.train.augment import augmenter  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"


def run(part: str, args: argparse.Namespace, methods: list[str], augment, scratch_affine: bool = False) -> list[dict]:
    raw = few_shot.config(part, args, methods, source_augment=augment)
    cfg = load_fewshot_config(None, raw=raw)
    say = lambda msg: print(f"[{part} {augment}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    if not scratch_affine:
        return build_summary(evaluate_fewshot(cfg, say))["results"]
    with mock.patch.object(supervised, "augmenter", lambda _a, shape, architecture="auto": augmenter("affine", shape, architecture)):
        return build_summary(evaluate_fewshot(cfg, say))["results"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=sorted(few_shot.PARTS), required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=600)
    ap.add_argument("--train-episodes", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = {
        "shifts": run(args.part, args, ["prototypes", "transductive", "scratch"], True),
        "affine": run(args.part, args, ["prototypes", "transductive", "scratch"], "affine"),
        "scratch, affine on its support": run(args.part, args, ["scratch"], True, scratch_affine=True),
    }
    print("| source augment | method | K | accuracy % | gain vs scratch (shifts), points [95 % CI] |")
    print("|---|---|---|---|---|")
    for label, results in rows.items():
        for r in results:
            gain = r.get("gain_vs_scratch")
            g = f"{100 * gain:+.1f} [{100 * r['gain_ci95'][0]:+.1f}, {100 * r['gain_ci95'][1]:+.1f}]" if gain is not None else ""
            print(f"| {label} | {r['method']} | {r['shots']} | {100 * r['accuracy_mean']:.1f} | {g} |")
    out = {"command": "python benchmarks/diagnostics/fewshot_source_augment.py " + " ".join(sys.argv[1:]),
           "part": args.part, "results": rows}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"fewshot_source_augment_{args.part}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
