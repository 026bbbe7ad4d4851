"""A source head that is confidently wrong on the target (a diagnostic).

When source and target name the same classes, methods start from the source's specific
layers and ``head`` pulls its weights towards them. Since session 37 a source head whose
cross-entropy on the labelled target examples is above 2 ln C (``FAR``), and which is right
no more often than chance, is replaced by a new head (methods/_source_head.py). This measures that on a
target whose inputs the source reads unlike its own: scikit-learn's digits as a 64-column
table, the source half as given, the target half inverted (16 - x: ink where there was
none), same classes 0-9. The source is trained once (seed 0); each seed draws k labelled
examples per class from the target half and tests on the rest of it.

Each method runs as before session 37 (the source head always kept: ``source_head_helps``
patched to say yes) and as now, and ``scratch`` beside them, on the same draws.

``--auto-tasks``: the same on the two tasks of ``benchmarks/auto.py`` whose source head is
near chance on the target (optdigits -> MNIST-5k k=1, shuffled-label MNIST-5k -> optdigits
k=1), for the methods that start from the source head, the benchmark's sources, draws and
test splits; and how many seeds replaced the head.

    python benchmarks/diagnostics/source_head_reset.py [--seeds 5] [--shots 2 5 20] [--threads 1]
    python benchmarks/diagnostics/source_head_reset.py --auto-tasks [--seeds 3] [--threads 1] [--far 2]

``--far F`` replaces a head whose cross-entropy is above F ln C (``_source_head.FAR``, 2; the
session's first rule was 1), its JSON named with ``_far{F}`` when F is not 2.

Prints a table and writes benchmarks/results/diagnostics/source_head_reset.json.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

import transferkit as tk
import transferkit.methods._source_head as source_head
import transferkit.methods.finetune as finetune_module

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "source_head_reset.json"


def recording(rule, seen: dict):
    """``rule`` (a source_head_helps), recording in ``seen`` the source head's cross-entropy on the
    labelled examples, its hits and their count, as the rule computes them, before it decides."""

    def helps(task, model) -> bool:
        from transferkit.train.supervised import predict_proba

        y = task.target.y_labelled.long().cpu()
        with torch.no_grad():
            p = predict_proba(model, task.target.x_labelled).cpu()
        seen.update(head_cross_entropy=float(-torch.log(p[torch.arange(len(y)), y].clamp_min(1e-12)).mean()),
                    head_hits=int((p.argmax(1) == y).sum()), labelled=len(y))  # fmt: skip
        return rule(task, model)

    return helps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--shots", type=int, nargs="+", default=[2, 5, 20])
    parser.add_argument("--methods", nargs="+", default=["head", "finetune"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--auto-tasks", action="store_true", help="the two benchmarks/auto.py tasks instead")
    parser.add_argument("--far", type=float, default=2.0, help="replace a head above FAR x ln C (the rule's 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    source_head.FAR = args.far
    suffix = "" if args.far == 2.0 else f"_far{args.far:g}"
    if args.auto_tasks:
        return auto_tasks(args.seeds, suffix)
    start = time.perf_counter()
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    source, target = order[: len(y) // 2], order[len(y) // 2 :]
    xs, ys = x[source].astype("float32"), y[source]
    xt, yt = (16 - x[target]).astype("float32"), y[target]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = tk.TransferClassifier("head").pretrain(xs, ys).source_
    now = finetune_module.source_head_helps
    rows = []
    for k in args.shots:
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            lab = np.concatenate([rng.choice(np.flatnonzero(yt == c), k, replace=False) for c in range(10)])
            test = np.setdiff1d(np.arange(len(yt)), lab)
            runs = [("scratch", "-", now)] + [(m, v, h) for m in args.methods
                                              for v, h in (("before", lambda task, model: True), ("now", now))]  # fmt: skip
            for method, variant, helps in runs:
                seen: dict = {}
                finetune_module.source_head_helps = recording(helps, seen)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf = tk.TransferClassifier(method, source=src, random_state=seed).fit(xt[lab], yt[lab])
                    acc = float((clf.predict(xt[test]) == yt[test]).mean())
                rows.append({"k": k, "seed": seed, "method": method, "variant": variant, "accuracy": acc, **seen})
    finetune_module.source_head_helps = now
    print("| method | k | before (%) | now (%) | now - before [per-seed range] |\n|---|---|---|---|---|")
    for k in args.shots:
        mean = {}
        for method, variant in [("scratch", "-")] + [(m, v) for m in args.methods for v in ("before", "now")]:
            accs = [r["accuracy"] for r in rows if r["k"] == k and r["method"] == method and r["variant"] == variant]
            mean[method, variant] = accs
        print(f"| scratch | {k} | {100 * np.mean(mean['scratch', '-']):.1f} | | |")
        for m in args.methods:
            d = 100 * (np.array(mean[m, "now"]) - np.array(mean[m, "before"]))
            print(f"| {m} | {k} | {100 * np.mean(mean[m, 'before']):.1f} | {100 * np.mean(mean[m, 'now']):.1f} | "
                  f"{d.mean():+.1f} [{d.min():+.1f}, {d.max():+.1f}] |")
    out = OUT.with_name(f"source_head_reset{suffix}.json")
    out.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}, indent=1))
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")


AUTO_METHODS = ("head", "finetune", "l2sp", "gradual", "lora", "bitfit")  # those that start from the source head


def auto_tasks(seeds: int, suffix: str = "") -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from auto_tasks import load_task, run_method, suite

    start = time.perf_counter()
    now = finetune_module.source_head_helps
    tasks = [t for t in suite() if t.name in ("optdigits -> mnist5k k=1", "shuffled-label mnist5k -> optdigits k=1")]
    rows = []
    for t in tasks:
        for seed in range(seeds):
            td = load_task(t.source, t.target, t.shots, seed)
            for method in AUTO_METHODS:
                for variant, helps in (("before", lambda task, model: True), ("now", now)):
                    seen: dict = {}
                    finetune_module.source_head_helps = recording(helps, seen)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        r = run_method(td, method, seed)
                    rows.append({"task": t.name, "seed": seed, "method": method, "variant": variant,
                                 "accuracy": r["accuracy"], "head_kept": r["extras"].get("source_head_kept"), **seen})  # fmt: skip
    finetune_module.source_head_helps = now
    print("| task | method | before (%) | now (%) | now - before [per-seed range] | seeds with a new head |")
    print("|---|---|---|---|---|---|")
    for t in tasks:
        for m in AUTO_METHODS:
            got = {v: [r for r in rows if r["task"] == t.name and r["method"] == m and r["variant"] == v]
                   for v in ("before", "now")}  # fmt: skip
            b, n = (np.array([r["accuracy"] for r in got[v]]) for v in ("before", "now"))
            d = 100 * (n - b)
            reset = sum(r["head_kept"] is False for r in got["now"])
            print(f"| {t.name} | {m} | {100 * b.mean():.1f} | {100 * n.mean():.1f} | {d.mean():+.1f} "
                  f"[{d.min():+.1f}, {d.max():+.1f}] | {reset} of {len(got['now'])} |")
    out = OUT.with_name(f"source_head_reset_auto_tasks{suffix}.json")
    out.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}, indent=1))
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
