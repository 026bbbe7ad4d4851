"""How much another set of novel-class images moves a few-shot mean (a diagnostic).

The few-shot interval is over episodes drawn from the one set of novel-class images given
(docs/fewshot.md): it does not include how much a different set of images of the same classes
would move the mean. This script measures that part on the two few-shot benchmarks: the
target's images are split, per class, into 4 disjoint quarters (``numpy.random.default_rng(2026)``),
and the benchmark's 1-shot episodes (15 queries, 600 episodes, source seed 0, the `fewshot`
command's defaults) run on each quarter and on all of them, for `prototypes` and
`transductive`. The spread of the four quarters' means (their std, less the part their own
episode sampling explains) estimates the image-set part for a quarter's size; for the full set,
whose images are four times as many, it is about half that (the variance of a mean over images
falls as 1/n), to be set beside the full run's episode standard error (its half-width / 1.96).
Four quarters give a std on 3 degrees of freedom: a rough size, not a precise one.

    python benchmarks/diagnostics/fewshot_image_sets.py --part digits [--threads 2]

Prints a table and writes benchmarks/results/diagnostics/fewshot_image_sets_{part}.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from few_shot import PARTS  # noqa: E402  (the benchmark's own data settings)

import transferkit as tk  # noqa: E402
from transferkit.data import load_domain  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"
METHODS = ["prototypes", "transductive"]


def quarters(spec: str, max_per_class: int | None, folder: Path) -> list[Path]:
    """The target's images (at most ``max_per_class`` a class, as the benchmark reads them) in 4
    disjoint per-class quarters, saved as .npz; the whole set as a fifth file, first."""
    d = load_domain(spec)
    rng = np.random.default_rng(2026)
    keep = np.concatenate([rng.permutation(np.flatnonzero(d.y == c))[:max_per_class] for c in range(len(d.classes))])
    x, y = np.asarray(d.x)[keep], np.asarray(d.y)[keep]
    parts = [[] for _ in range(4)]
    for c in range(len(d.classes)):
        for q, idx in enumerate(np.array_split(rng.permutation(np.flatnonzero(y == c)), 4)):
            parts[q].append(idx)
    paths = []
    for name, idx in [("all", np.arange(len(y))), *((f"q{q}", np.sort(np.concatenate(p))) for q, p in enumerate(parts))]:
        path = folder / f"{name}.npz"
        np.savez(path, x=x[idx], y=y[idx], classes=np.asarray(d.classes))
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=sorted(PARTS), default="digits")
    ap.add_argument("--episodes", type=int, default=600)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    part = json.loads(json.dumps(PARTS[args.part]))
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for path in quarters(part["target"]["data"], part["target"].get("max_per_class"), tmp):
            raw = {**part, "seeds": [0], "target": {"data": str(path)}}
            raw["fewshot"] = {**part["fewshot"], "k_shot": [1], "n_query": 15, "episodes": args.episodes,
                              "methods": METHODS, "cross_domain": True}  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                summary = tk.run_fewshot(raw, out=tmp / f"run_{path.stem}", progress=False)
            for r in summary["results"]:
                rows.append({"images": path.stem, "examples": summary["target"]["examples"], "method": r["method"],
                             "mean": r["accuracy_mean"], "half_width": r["ci95_half_width"]})  # fmt: skip
    out = {"part": args.part, "episodes": args.episodes, "threads": args.threads, "rows": rows,
           "seconds": time.perf_counter() - start}  # fmt: skip
    print(f"{args.part}: 1-shot, {args.episodes} episodes, source seed 0 ({out['seconds']:.0f} s)")
    print("| method | all: mean ± 95 % | episode SE (all) | quarters: means | std of quarters | "
          "image-set SE for all | both SEs together (all) |")
    print("|---|---|---|---|---|---|---|")
    for m in METHODS:
        full = next(r for r in rows if r["method"] == m and r["images"] == "all")
        quarter = [r for r in rows if r["method"] == m and r["images"] != "all"]
        qs = [r["mean"] for r in quarter]
        sd = float(np.std(qs, ddof=1))
        # the quarters' means also differ by their own episode sampling: that part taken out
        episode_q = float(np.mean([(r["half_width"] / 1.96) ** 2 for r in quarter]))
        image_set_all = float(np.sqrt(max(0.0, sd**2 - episode_q))) / 2  # 4x the images: half the std
        episode_all = full["half_width"] / 1.96
        out.setdefault("spread", {})[m] = {"quarters_sd": sd, "image_set_se_all": image_set_all,
                                           "episode_se_all": episode_all}  # fmt: skip
        print(f"| {m} | {100 * full['mean']:.1f} ± {100 * full['half_width']:.1f} | {100 * episode_all:.2f} "
              f"| {' / '.join(f'{100 * q:.1f}' for q in qs)} | {100 * sd:.2f} | {100 * image_set_all:.2f} "
              f"| {100 * np.hypot(episode_all, image_set_all):.2f} |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"fewshot_image_sets_{args.part}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
