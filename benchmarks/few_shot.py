"""Few-shot benchmark: new classes from 1 or 5 examples, on a trained source model.

(a) fashion: shared layers trained on Fashion-MNIST classes 0-4 (T-shirt/top, Trouser,
    Pullover, Dress, Coat; 1,000 images per class, a seeded subsample, so a source model
    trains in about a minute on 2 cores); 5-way episodes over classes 5-9 (Sandal, Shirt,
    Sneaker, Bag, Ankle boot; 1,000 images per class), K = 1 and 5, 15 queries.
(b) digits: shared layers trained on MNIST-5k; 10-way episodes over optdigits (another
    data set of the same digits: cross-domain few-shot), K = 1 and 5, 15 queries.

Every method sees the same episodes. Methods on cached features run all ``--episodes``
(600); methods that train a network per episode (scratch, head, finetune) run the first
``--train-episodes`` of them. Three source seeds; scratch ignores the source, so it runs
once. An ablation re-evaluates the feature methods on the output of shared block 2 (of 3).

    python benchmarks/few_shot.py [--part fashion --part digits] [--seeds 3] [--train-episodes 50]

Writes benchmarks/results/few_shot.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from transferkit.evaluate.prepare import prepare
from transferkit.evaluate.protocol import train_source
from transferkit.fewshot import sample_episodes
from transferkit.fewshot.config import MethodSpec, load_fewshot_config
from transferkit.fewshot.experiment import episode_model_factory, evaluate_fewshot
from transferkit.fewshot.pipeline import EpisodeSetting, resolve_methods
from transferkit.fewshot.report import build_summary, class_lines
from transferkit.train.supervised import predict_proba

OUT = Path(__file__).parent / "results"
FEATURE_METHODS = ["prototypes", "transductive", "soft_kmeans", "logistic"]
TRAINED_METHODS = ["scratch", "head", "finetune"]
PARTS = {
    "fashion": {
        "name": "fewshot-fashion",
        "source": {"data": "fashion-mnist[0-4]", "max_per_class": 1000},
        "target": {"data": "fashion-mnist[5-9]", "max_per_class": 1000},
        "fewshot": {"n_way": 5},
    },
    "digits": {
        "name": "fewshot-digits",
        "source": {"data": "mnist5k"},
        "target": {"data": "optdigits"},
        "fewshot": {"n_way": 10, "cross_domain": True},
    },
}


def config(part: str, args: argparse.Namespace, methods: list[str], blocks: int | None = None,
           source_augment: bool | str | None = None) -> dict:  # fmt: skip
    """``source_augment``: ``source.augment`` if given, else the few-shot default (affine)."""
    raw = json.loads(json.dumps(PARTS[part]))
    if source_augment is not None:
        raw["source"]["augment"] = source_augment
    raw["seeds"] = args.seeds
    raw["fewshot"].update(k_shot=[1, 5], n_query=15, episodes=args.episodes,
                          train_episodes=args.train_episodes, methods=methods, blocks=blocks)  # fmt: skip
    return raw


def run_part(part: str, args: argparse.Namespace) -> dict:
    say = lambda msg: print(f"[{part}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    start, cpu = time.perf_counter(), time.process_time()
    main = evaluate_fewshot(load_fewshot_config(None, raw=config(part, args, FEATURE_METHODS + TRAINED_METHODS)), say)
    ablation = evaluate_fewshot(load_fewshot_config(None, raw=config(part, args, FEATURE_METHODS[:3], blocks=2)), say)
    out = {"summary": build_summary(main), "ablation_block2": build_summary(ablation)["results"],
           "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}  # fmt: skip
    if part == "fashion":
        out["timing_600_episodes_5way_5shot"] = timing(main)
    out["collapse_check_k1"] = collapse_check(part, args)
    return out


def collapse_check(part: str, args: argparse.Namespace, n: int = 10) -> dict:
    """``finetune`` vs ``head`` at K = 1 (BatchNorm sees batches of N images, one per class).

    First ``n`` episodes, source seed 0. ``top_class_share``: fraction of an episode's
    queries given its most frequent predicted class (1/N balanced, 1.0 collapsed).
    """
    cfg = load_fewshot_config(None, raw=config(part, args, ["head"]))
    exp = cfg.experiment()
    data = prepare(exp)
    model = train_source(exp, data, 0, torch.device("cpu")).model.eval()
    setting = EpisodeSetting(data.xt, data.target.classes, episode_model_factory(exp, data, model, "cpu"), model)
    episodes = sample_episodes(data.target.y, cfg.fewshot.n_way, 1, 15, n, seed=cfg.fewshot.episode_seed + 1)
    out = {}
    for m in resolve_methods([MethodSpec(name="head"), MethodSpec(name="finetune")]):
        acc, share = [], []
        for i, ep in enumerate(episodes):
            task = setting.task(ep, i)
            torch.manual_seed(task.seed)
            pred = predict_proba(m.method.fit(task), task.target.x_unlabelled).argmax(1).numpy()
            acc.append(float((pred == ep.query_y).mean()))
            share.append(float(np.bincount(pred, minlength=ep.n_way).max() / len(pred)))
        out[m.label] = {"accuracy": float(np.mean(acc)), "top_class_share": float(np.mean(share)),
                        "worst_top_class_share": float(np.max(share)), "episodes": n}  # fmt: skip
    return out


def timing(run) -> dict:
    """Seconds for all 5-way 5-shot episodes of each feature method, as recorded during the run."""
    rows = [r for r in run.records if r.k == 5 and r.on_features]
    return {r.method: sorted(x.result.seconds for x in rows if x.method == r.method) for r in rows}


def machine(threads: int) -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    return f"{cpu}, {os.cpu_count()} cores shared with other jobs, torch {torch.__version__}, {threads} thread(s)"


def table(part: str, result: dict) -> str:
    s = result["summary"]
    n = s["protocol"]["n_way"]
    rows = {(r["method"], r["shots"]): r for r in s["results"]}
    blk = {(r["method"], r["shots"]): r for r in result["ablation_block2"]}
    lines = [f"| method | {n}-way 1-shot | {n}-way 5-shot | gain vs scratch, 1-shot | gain vs scratch, 5-shot "
             "| episodes (1-shot) | per-seed means, 1-shot |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    methods = list(dict.fromkeys(r["method"] for r in s["results"]))
    for name, source in [(m, rows) for m in methods] + [(m, blk) for m in FEATURE_METHODS[:3]]:
        label = name if source is rows else f"{name} (block-2 features)"
        r1, r5 = source.get((name, 1)), source.get((name, 5))
        seeds = ", ".join(f"{100 * v:.1f}" for v in r1["seed_means"].values()) if r1 and r1["seed_means"] else "—"
        lines.append(f"| {label} | {_pct(r1)} | {_pct(r5)} | {_gain(r1)} | {_gain(r5)} "
                     f"| {r1['episodes'] if r1 else '—'} | {seeds} |")  # fmt: skip
    return "\n".join(lines)


def _pct(r: dict | None) -> str:
    if r is None:
        return "—"
    half = r["ci95_half_width"]
    return (
        f"{100 * r['accuracy_mean']:.1f} ± {100 * half:.1f}" if half is not None else f"{100 * r['accuracy_mean']:.1f}"
    )


def _gain(r: dict | None) -> str:
    if r is None or r.get("gain_vs_scratch") is None:
        return "—"
    lo, hi = r["gain_ci95"] or (None, None)
    ci = f" [{100 * lo:+.1f}, {100 * hi:+.1f}]" if lo is not None else ""
    return f"{100 * r['gain_vs_scratch']:+.1f}{ci}" + (" negative" if r["negative_transfer"] else "")


def merged(results: dict) -> dict:
    """Parts from an earlier run with the same settings are kept, so parts can run separately."""
    path = OUT / "few_shot.json"
    if not path.exists():
        return results
    old = json.loads(path.read_text())
    if any(old.get(key) != results[key] for key in ("seeds", "episodes", "train_episodes")):
        return results
    commands = list(dict.fromkeys(old.get("commands", []) + results["commands"]))
    return {**results, "commands": commands, "parts": {**old.get("parts", {}), **results["parts"]}}


def write(results: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    results = merged(results)
    (OUT / "few_shot.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    lines = ["## Few-shot: novel classes from 1 or 5 examples", "",
             "Command: " + "; ".join(f"`{c}`" for c in results["commands"]) + "  ", f"Machine: {results['machine']}", "",
             "Mean query accuracy (%) ± 95 % interval over episodes (Student's t · std/√n, each episode's "
             f"accuracy first averaged over the {results['seeds']} source seeds, which see the same episodes); "
             f"feature methods: {results['episodes']} episodes; scratch/head/finetune: the first "
             f"{results['train_episodes']} of the same episodes (scratch once: it ignores the source). Gains vs "
             "scratch are paired by episode over the episodes scratch ran.", ""]  # fmt: skip
    for part, res in results["parts"].items():
        s = res["summary"]
        src = s["source"]["models"]
        lines += [
            f"### {part}: `{s['source']['data']}` → `{s['target']['data']}`",
            "",
            table(part, res),
            "",
            *class_lines(s),
            f"Source models (augmentation: {s['source'].get('augment', 'shift')}): "
            + ", ".join(f"seed {k} val. acc. {100 * v['val_accuracy']:.1f} %" for k, v in src.items())
            + "; "  # fmt: skip
            f"features computed once per seed in {np.mean([f['seconds'] for f in s['features'].values()]):.1f} s "
            f"({s['features']['0']['examples'] if '0' in s['features'] else '?'} images). "
            f"Wall {res['wall_s']:.0f} s, CPU {res['cpu_s']:.0f} s.",
            "",
        ]
        if "collapse_check_k1" in res:
            c = res["collapse_check_k1"]
            lines += ["K = 1 check, first 10 episodes of source seed 0 (share of queries in the most predicted "
                      f"class; balanced = {1 / s['protocol']['n_way']:.2f}, collapsed = 1.00): "
                      + "; ".join(f"{m}: accuracy {100 * v['accuracy']:.1f} %, share {v['top_class_share']:.2f} "
                                  f"(worst {v['worst_top_class_share']:.2f})" for m, v in c.items()), ""]  # fmt: skip
        if "timing_600_episodes_5way_5shot" in res:
            t = res["timing_600_episodes_5way_5shot"]
            lines += [
                f"{results['episodes']} episodes, 5-way 5-shot, on cached features (seconds, one value per source seed): "
                + "; ".join(f"{m}: {', '.join(f'{v:.2f}' for v in vals)}" for m, vals in t.items()),
                "",
            ]
    (OUT / "few_shot.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", action="append", choices=sorted(PARTS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=600)
    ap.add_argument("--train-episodes", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: tiny batches, shared cores)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = {"commands": ["python benchmarks/few_shot.py " + " ".join(sys.argv[1:])], "machine": machine(args.threads),
               "seeds": args.seeds, "episodes": args.episodes, "train_episodes": args.train_episodes, "parts": {}}  # fmt: skip
    for part in args.part or ["fashion", "digits"]:
        results["parts"][part] = run_part(part, args)
        write(results)  # after each part: a partial result is never lost


if __name__ == "__main__":
    main()
