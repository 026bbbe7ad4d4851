"""Does a saved model as the few-shot source (``source: {model: RUN}``) give the numbers its
shared layers give when ``fewshot`` trains them itself? (a diagnostic)

For one source seed of the few-shot benchmark's part (benchmarks/few_shot.py: the same
``source:`` section, so the same cached source model), ``transferkit run`` fits ``head`` on
another target (optdigits, k = 5; with the source's resolution as the few-shot run has it: brought
down to optdigits' for the digits part, whose novel classes are optdigits, kept for Fashion) and
deploys it: ``head`` trains only a new head, so the
deployed model's shared layers are the source's, unchanged. ``transferkit fewshot`` then runs
the benchmark's episodes three times: with ``source: {data: ...}`` (the source model from the
cache) as it runs, centring features on the source's mean feature; the same with that mean
withheld, so that it centres on each episode's support mean; and with ``source: {model: RUN}``
(the run folder), which has no source examples and so centres on the support mean. The last two
must agree to the digit when the saved path reads the novel images as the data path does; the
first differs from them by the centring alone (docs/fewshot.md).

    python benchmarks/diagnostics/fewshot_saved_model.py --part fashion [--episodes 600]

Prints a table and writes benchmarks/results/diagnostics/fewshot_saved_model_{part}.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import few_shot  # noqa: E402 -- the benchmark's own data settings

import transferkit as tk  # noqa: E402
from transferkit.fewshot import pipeline  # noqa: E402
from transferkit.fewshot.experiment import run_fewshot  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"
METHODS = ["prototypes", "transductive", "logistic"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=sorted(few_shot.PARTS), required=True)
    ap.add_argument("--episodes", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    args.seeds, args.train_episodes = 1, 1
    data_cfg = few_shot.config(args.part, args, METHODS)
    data_cfg["seeds"] = [args.seed]
    # fewshot's default augmentation; the source's resolution as the few-shot run's own: brought down to optdigits'
    # 8x8 for the digits part (whose novel classes are optdigits, the run's target too), kept for Fashion's 28x28
    source = {**data_cfg["source"], "augment": "affine", "resolution": "match" if args.part == "digits" else "native"}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        tk.run({"name": "saved-source", "source": source,
                "target": {"data": "optdigits", "shots": [5]}, "methods": ["head"], "seeds": [args.seed]},
               out=run, progress=False)  # fmt: skip
        from_data = run_fewshot(data_cfg, out=Path(tmp) / "data", progress=False)
        with mock.patch.object(pipeline, "source_feature_mean", lambda *_a, **_k: None):  # no base mean
            support_mean = run_fewshot(data_cfg, out=Path(tmp) / "support", progress=False)
        saved_cfg = {**data_cfg, "source": {"model": str(run)}}
        from_model = run_fewshot(saved_cfg, out=Path(tmp) / "model", progress=False)
    rows = []
    for a in from_data["results"]:
        b, c = (next(r for r in part["results"] if r["method"] == a["method"] and r["shots"] == a["shots"])
                for part in (support_mean, from_model))  # fmt: skip
        rows.append({"method": a["method"], "k": a["shots"], "source_data": 100 * a["accuracy_mean"],
                     "source_data_support_mean": 100 * b["accuracy_mean"], "source_model": 100 * c["accuracy_mean"],
                     "model_minus_data_support_mean": 100 * (c["accuracy_mean"] - b["accuracy_mean"])})  # fmt: skip
    print(f"| {args.part}, seed {args.seed}, {args.episodes} episodes | source: data (base mean, as run) | source: data, "
          "support mean | source: model (run folder) | model - data, support mean |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} {r['k']}-shot | {r['source_data']:.2f} | {r['source_data_support_mean']:.2f} | "
              f"{r['source_model']:.2f} | {r['model_minus_data_support_mean']:+.2f} |")
    OUT.mkdir(parents=True, exist_ok=True)
    out = {"part": args.part, "seed": args.seed, "episodes": args.episodes, "rows": rows,
           "source_cached": from_data["source"]["models"][str(args.seed)]["cached"],
           "novel_recipe_data": from_data["target"]["recipe"], "novel_recipe_model": from_model["target"]["recipe"],
           "wall_s": time.perf_counter() - start}  # fmt: skip
    (OUT / f"fewshot_saved_model_{args.part}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
