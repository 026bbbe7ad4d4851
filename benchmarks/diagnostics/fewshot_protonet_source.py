"""Do episodically trained shared layers (ProtoNet) give better few-shot features? (a diagnostic)

Issue 4 names episodic training of the shared layers on the source as an option. The
few-shot benchmark (benchmarks/few_shot.py) trains them with cross-entropy. This trains
the same architecture, from a fresh initialisation, with the Prototypical Networks loss
(Snell, Swersky and Zemel, NeurIPS 2017): each step samples an episode of the *source*
classes (all of them, 5 support and 15 query images each), the class means of the support
features are the prototypes, and the loss is the cross-entropy of the queries' softmax over
negative squared Euclidean distances to them. Adam, the source's learning rate, the same
shift augmentation as source training, ``--steps`` steps.

Both sources are then scored exactly as the benchmark scores its feature methods: the
benchmark's own episodes (same episode seed), prototypes (SimpleShot, centred on the source
mean) and the transductive method (BD-CSPN), K = 1 and 5, per source seed. Scratch is the
benchmark's number, not re-run here. A diagnostic, not a benchmark result.

    python benchmarks/diagnostics/fewshot_protonet_source.py --part digits [--seeds 3] [--steps 1500]

Prints a table and writes benchmarks/results/diagnostics/fewshot_protonet_source_{part}.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import few_shot  # noqa: E402 -- the benchmark's own data settings

from transferkit.evaluate.prepare import prepare  # noqa: E402
from transferkit.evaluate.protocol import train_source  # noqa: E402
from transferkit.fewshot import evaluate_episodes, sample_episodes  # noqa: E402
from transferkit.fewshot.config import load_fewshot_config  # noqa: E402
from transferkit.fewshot.experiment import _source_training_split  # noqa: E402
from transferkit.fewshot.pipeline import cache_features  # noqa: E402
from transferkit.models.transfer_model import TransferModel  # noqa: E402
from transferkit.train.augment import random_shift, shift_for  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"
METHODS = {"prototypes": "simpleshot", "transductive": "bd_cspn"}


def protonet(model: TransferModel, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float, seed: int,
             shot: int = 5, query: int = 15) -> TransferModel:  # fmt: skip
    """``model``'s architecture, re-initialised, trained on source episodes with the ProtoNet loss."""
    net = model.copy()
    torch.manual_seed(seed)
    for module in net.modules():
        if module is not net and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    labels = y.numpy()
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    way = len(by_class)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    shift = shift_for(tuple(x.shape[1:]))
    opt = torch.optim.Adam(net.shared.parameters(), lr=lr)
    target = torch.arange(way).repeat_interleave(query)
    net.train()
    for _ in range(steps):
        idx = np.stack([rng.choice(rows, shot + query, replace=False) for rows in by_class])
        xb = x[torch.from_numpy(idx.reshape(-1))]
        if shift:
            xb = random_shift(xb, shift, gen)
        f = net.features(xb).reshape(way, shot + query, -1)
        prototypes = f[:, :shot].mean(1)
        logits = -(torch.cdist(f[:, shot:].reshape(way * query, -1), prototypes) ** 2)
        loss = F.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=sorted(few_shot.PARTS), required=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--episodes", type=int, default=600)
    args = ap.parse_args()
    torch.set_num_threads(1)
    bench = argparse.Namespace(seeds=args.seeds, episodes=args.episodes, train_episodes=1)
    cfg = load_fewshot_config(None, raw=few_shot.config(args.part, bench, ["prototypes"], source_augment=True))
    # shifts: the source augmentation when these results were recorded (the few-shot default is now affine)
    exp, fs = cfg.experiment(), cfg.fewshot
    data = prepare(exp, test_split=False)
    y = data.target.y
    episodes = {k: sample_episodes(y, fs.n_way, k, fs.n_query, fs.episodes, seed=fs.episode_seed + k) for k in (1, 5)}
    rows: dict[str, dict[str, list[float]]] = {}
    train_s = []
    for seed in cfg.seeds:
        ce = train_source(exp, data, seed, torch.device("cpu")).model.eval()
        sx, sy = _source_training_split(data, seed, "cpu")
        start = time.perf_counter()
        proto = protonet(ce, sx, sy.cpu(), steps=args.steps, lr=exp.source.lr, seed=seed)
        train_s.append(time.perf_counter() - start)
        for source, model in (("cross-entropy", ce), ("protonet", proto)):
            cache = cache_features(model, data.xt, y, sx, seed=seed)
            for label, fn in METHODS.items():
                for k, eps in episodes.items():
                    res = evaluate_episodes(cache.features, y, eps, fn, context={"base_mean": cache.base_mean})
                    rows.setdefault(f"{source} | {label} | {k}", {}).setdefault("seed_means", []).append(res.mean)
                    print(f"seed {seed} {source} {label} {k}-shot: {100 * res.mean:.1f}", file=sys.stderr, flush=True)
    print(f"| source training | method | {fs.n_way}-way 1-shot | {fs.n_way}-way 5-shot | per-seed, 1-shot |")
    print("|---|---|---|---|---|")
    for source in ("cross-entropy", "protonet"):
        for label in METHODS:
            one, five = rows[f"{source} | {label} | 1"]["seed_means"], rows[f"{source} | {label} | 5"]["seed_means"]
            print(f"| {source} | {label} | {100 * np.mean(one):.1f} | {100 * np.mean(five):.1f} "
                  f"| {', '.join(f'{100 * v:.1f}' for v in one)} |")  # fmt: skip
    out = {"command": "python benchmarks/diagnostics/fewshot_protonet_source.py " + " ".join(sys.argv[1:]),
           "part": args.part, "steps": args.steps, "protonet_train_seconds": train_s, "episodes": args.episodes,
           "results": rows}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"fewshot_protonet_source_{args.part}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
