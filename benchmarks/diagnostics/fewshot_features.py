"""Which features and which centring suit few-shot prototypes? (a diagnostic, not a benchmark)

For the few-shot benchmark's parts (benchmarks/few_shot.py), source seed 0, 300 episodes per K:
SimpleShot prototypes on raw pixels, on the output of shared blocks 1, 2 and all blocks,
centred on the mean of all novel-class features or on the support mean, and the same after
re-estimating BatchNorm statistics on the novel-class images (AdaBN). Session 10 added two
feature transforms, both centred on the support mean: the power transform x -> sqrt(x) of
PT-MAP (Hu, Gripon and Pateux, 2021, arXiv:2006.03806; the features end in a ReLU, so they
are non-negative), and blocks 2 and all concatenated, each part L2-normalised first.

    python benchmarks/diagnostics/fewshot_features.py --part fashion   # or digits

Prints a table and writes benchmarks/results/diagnostics/fewshot_features_PART.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import few_shot  # noqa: E402

from transferkit.adaptation.domain_bn import attach_domain_bn, detach_domain_bn, estimate_target_stats  # noqa: E402
from transferkit.evaluate.prepare import prepare  # noqa: E402
from transferkit.evaluate.protocol import train_source  # noqa: E402
from transferkit.fewshot import sample_episodes  # noqa: E402
from transferkit.fewshot.config import load_fewshot_config  # noqa: E402
from transferkit.fewshot.prototypes import simpleshot  # noqa: E402
from transferkit.methods.prototypes import features  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=sorted(few_shot.PARTS), default="fashion")
    ap.add_argument("--episodes", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = load_fewshot_config(None, raw=few_shot.config(args.part, argparse.Namespace(
        seeds=1, episodes=args.episodes, train_episodes=1), ["prototypes"], source_augment=True))  # fmt: skip
    # shifts: the source augmentation when these results were recorded (the few-shot default is now affine)
    exp = cfg.experiment()
    data = prepare(exp)
    x, y, n_way = data.xt, data.target.y, cfg.fewshot.n_way
    source = train_source(exp, data, 0, torch.device("cpu")).model.eval()
    episodes = {k: sample_episodes(y, n_way, k, 15, args.episodes, seed=k) for k in (1, 5)}

    def accuracy(f: np.ndarray, center: np.ndarray | None) -> dict:
        return {f"{k}-shot": 100 * float(np.mean([
            (simpleshot(f[e.support_idx], e.support_y, f[e.query_idx], n_way, base_mean=center).argmax(1)
             == e.query_y).mean() for e in eps]))  # fmt: skip
            for k, eps in episodes.items()}

    adabn = source.copy()
    attach_domain_bn(adabn)
    estimate_target_stats(adabn, x)
    detach_domain_bn(adabn, "target")
    rows = []
    raw = x.flatten(1).double().numpy()
    rows.append({"features": "raw pixels", "center": "novel mean", **accuracy(raw, raw.mean(0))})
    for name, model in (("source", source), ("source + AdaBN", adabn.eval())):
        for blocks in (1, 2, None):
            f = features(model, x, blocks)
            label = f"{name}, blocks {blocks or 'all'} (dim {f.shape[1]})"
            rows.append({"features": label, "center": "novel mean", **accuracy(f, f.mean(0))})
            if name == "source":
                rows.append({"features": label, "center": "support mean", **accuracy(f, None)})
                rows.append({"features": f"{label}, sqrt", "center": "support mean", **accuracy(np.sqrt(f), None)})
    both = [features(source, x, b) for b in (2, None)]
    for label, parts in (("blocks 2 + all", both), ("blocks 2 + all, sqrt", [np.sqrt(f) for f in both])):
        joined = np.hstack([f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12) for f in parts])
        rows.append({"features": f"source, {label} (each L2-normalised)", "center": "support mean",
                     **accuracy(joined, None)})  # fmt: skip
    print(f"| {args.part} ({n_way}-way, {args.episodes} episodes, source seed 0) | center | 1-shot | 5-shot |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['features']} | {r['center']} | {r['1-shot']:.1f} | {r['5-shot']:.1f} |")
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / f"fewshot_features_{args.part}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"part": args.part, "episodes": args.episodes, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
