"""Two few-shot feature choices checked on development settings, away from the benchmark's (a diagnostic)

The few-shot benchmark (benchmarks/few_shot.py) is the test: a default chosen on its episodes
would be tuned to it. This diagnostic decides two choices on four other settings, none of
which is a benchmark part:

* mnist04-59: MNIST-5k digits 0-4 -> 5-9 (5-way, one domain);
* fashion59-04: Fashion-MNIST classes 5-9 -> 0-4 (the benchmark's split reversed);
* fashion-split2: Fashion-MNIST classes 0, 1, 3, 8, 9 -> 2, 4, 5, 6, 7;
* fashion04-mnist: Fashion-MNIST classes 0-4 -> MNIST-5k digits (10-way, another domain).

The choices:

* centring: SimpleShot's base mean (the source's mean feature, the default) or the support
  mean (which the benchmark's parts favoured in ``fewshot_features.py``);
* test-time views: each image's feature averaged over itself and V - 1 random views drawn
  with the source's affine augmentation (rotation, scale, shift), for support and queries.

Each setting trains the source as the ``fewshot`` command does (``source.augment: affine``),
then scores prototypes and the transductive method (BD-CSPN) on 600 episodes per K.

    python benchmarks/diagnostics/fewshot_dev_settings.py [--seeds 2] [--setting mnist04-59 ...]

Prints a table and writes benchmarks/results/diagnostics/fewshot_dev_settings.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

from transferkit.config import MethodSpec
from transferkit.evaluate.prepare import prepare
from transferkit.evaluate.protocol import train_source
from transferkit.fewshot import sample_episodes
from transferkit.fewshot.config import load_fewshot_config
from transferkit.fewshot.experiment import _source_training_split
from transferkit.fewshot.pipeline import FeatureCache, cache_features, evaluate_on_features, resolve_methods
from transferkit.methods.prototypes import features
from transferkit.train.augment import random_affine, shift_for

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"
FASHION = {"max_per_class": 1000}
SETTINGS = {  # name: (source, target, n_way)
    "mnist04-59": ({"data": "mnist5k[0-4]"}, {"data": "mnist5k[5-9]"}, 5),
    "fashion59-04": ({"data": "fashion-mnist[5-9]", **FASHION}, {"data": "fashion-mnist[0-4]", **FASHION}, 5),
    "fashion-split2": (
        {"data": "fashion-mnist[0,1,3,8,9]", **FASHION},
        {"data": "fashion-mnist[2,4,5,6,7]", **FASHION},
        5,
    ),
    "fashion04-mnist": ({"data": "fashion-mnist[0-4]", **FASHION}, {"data": "mnist5k"}, 10),
}
VIEWS = (1, 4, 8, 16)


def run_setting(name: str, seeds: list[int], episodes: int) -> dict[str, list[float]]:
    """Accuracy (%) per (choice, method, K), one value per source seed."""
    source, target, n_way = SETTINGS[name]
    raw = {"name": f"dev-{name}", "source": source, "target": target, "seeds": seeds,
           "fewshot": {"n_way": n_way, "methods": ["prototypes"]}}  # fmt: skip
    exp = load_fewshot_config(None, raw=raw).experiment()
    data = prepare(exp, test_split=False)
    x, y = data.xt, data.target.y
    eps = {k: sample_episodes(y, n_way, k, 15, episodes, seed=k) for k in (1, 5)}
    base = resolve_methods([MethodSpec(name="prototypes"), MethodSpec(name="transductive")])
    support = [dataclasses.replace(m, label=f"{m.label}, support mean", uses_base_mean=False) for m in base]
    out: dict[str, list[float]] = {}

    def score(label: str, methods, cache: FeatureCache) -> None:
        for m in methods:
            for k, ep in eps.items():
                out.setdefault(f"{label} | {m.label} | {k}", []).append(100 * evaluate_on_features(m, cache, ep).mean)

    for seed in seeds:
        model = train_source(exp, data, seed, torch.device("cpu")).model.eval()
        source_x, _ = _source_training_split(data, seed, "cpu")
        cache = cache_features(model, x, y, source_x, seed=seed)
        score("centring", base + support, cache)
        gen, views = torch.Generator().manual_seed(seed), [cache.features]
        for _ in range(max(VIEWS) - 1):
            views.append(features(model, random_affine(x, shift_for(tuple(x.shape[1:])), gen)))
        for v in VIEWS[1:]:
            score(f"{v} views", base, dataclasses.replace(cache, features=np.mean(views[:v], axis=0)))
        print(f"[{name}] seed {seed} done", file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setting", action="append", choices=sorted(SETTINGS), help="default: all four")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--episodes", type=int, default=600)
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {name: run_setting(name, list(range(args.seeds)), args.episodes) for name in args.setting or SETTINGS}
    print("| setting | choice | method | K | accuracy % (mean over source seeds) | per seed |")
    print("|---|---|---|---|---|---|")
    for name, rows in results.items():
        for key, vals in rows.items():
            choice, method, k = key.split(" | ")
            print(
                f"| {name} | {choice} | {method} | {k} | {np.mean(vals):.1f} | {', '.join(f'{v:.1f}' for v in vals)} |"
            )
    out = {"command": "python benchmarks/diagnostics/fewshot_dev_settings.py " + " ".join(sys.argv[1:]),
           "seeds": args.seeds, "episodes": args.episodes, "results": results}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fewshot_dev_settings.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
