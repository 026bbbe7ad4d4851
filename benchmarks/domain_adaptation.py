"""Domain adaptation on the digits pair, transferkit and skada side by side.

MNIST-5k -> optdigits and optdigits -> MNIST-5k, k in {0, 1, 5} labelled target examples
per class, several seeds. Splits, source model and backbone come from transferkit's
protocol (the same fixed target test split, the same k-shot draws, the same cached source
model per seed). Every adaptation method - ours and skada's - starts from that source
model (shared layers + source head), uses the same batch size per domain and the same
number of optimiser steps, with AdamW at the same learning rate and weight decay.

skada (``pip install skada skorch``, without the ``[deep]`` extra) runs its ``skada.deep``
methods at k = 0 (they are unsupervised). skada 0.6's default domain classifier for
DANN/CDAN ends in a softmax over a single output, which is constant (1) and passes no
gradient; as in SKADA-Bench we give it a working one: the same MLP ending in a sigmoid.
Everything else is skada's default (e.g. MCC temperature 1, DAN's kernel bandwidths).

    python benchmarks/domain_adaptation.py                       # full run, resumable
    python benchmarks/domain_adaptation.py --seeds 1 --shots 0   # a quick look

Each finished run is appended to the JSON file at once; a rerun with the same settings
skips runs already there (``--fresh`` starts over). Prints the table and writes
``benchmarks/results/domain_adaptation.{json,md}``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import time
from pathlib import Path

import torch

from transferkit.config import load_config
from transferkit.data.splits import TargetData, draw_shots
from transferkit.evaluate.prepare import prepare
from transferkit.evaluate.protocol import _model_factory, train_source
from transferkit.evaluate.stats import t_interval
from transferkit.methods import TransferTask, get_method
from transferkit.train.source import source_val_split
from transferkit.train.supervised import predict_proba

try:  # the skada side lives in its own file next to this one
    from benchmarks._skada_runner import SKADA_METHODS, run_skada
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from _skada_runner import SKADA_METHODS, run_skada

PAIRS = {"mnist5k->optdigits": ("mnist5k", "optdigits"), "optdigits->mnist5k": ("optdigits", "mnist5k")}
# (label, registered method, params). Budget fields are filled in from the command line.
OURS = [
    ("source_only", "source_only", {}),
    ("adabn", "adabn", {}),
    ("finetune", "finetune", {}),
    ("dann", "dann", {}),
    ("cdan", "cdan", {}),
    ("dan", "dan", {}),
    ("coral", "coral", {}),
    ("mcc", "mcc", {}),
    ("im", "im", {}),
    ("self_training", "self_training", {}),
    ("self_training+mcc", "self_training", {"base": "mcc"}),
    ("self_training+im", "self_training", {"base": "im"}),
]
BASELINES_K0 = ("source_only", "adabn")  # they ignore target labels: run at k = 0 only
SEMI = ["finetune", "dann", "mcc", "im", "self_training+mcc", "self_training+im"]
ROOT = Path(__file__).resolve().parent
DA_BUDGET = ("steps", "batch_size")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    ap.add_argument("--shots", nargs="+", type=int, default=[0, 1, 5])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=600, help="optimiser steps of every adaptation method (their default)")
    ap.add_argument("--batch-size", type=int, default=64, help="examples per domain per step")
    ap.add_argument("--methods", nargs="+", default=[m[0] for m in OURS], help="transferkit methods at k = 0")
    ap.add_argument("--semi", nargs="+", default=SEMI, help="transferkit methods at k > 0")
    ap.add_argument("--skada", nargs="*", default=list(SKADA_METHODS), help="skada methods (none: skip skada)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run (1 is fastest on a busy 2-core box)")
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "domain_adaptation.json")
    ap.add_argument("--fresh", action="store_true", help="ignore runs already in the results file")
    return ap.parse_args()


def tasks_for(src: str, tgt: str, seeds: int, shots: list[int]):
    """Yields (seed, k, TransferTask, x_test, y_test) on the protocol's splits and source models."""
    cfg = load_config(None, raw={"source": {"data": src}, "target": {"data": tgt, "shots": shots},
                                 "methods": ["source_only"], "device": "cpu"})  # fmt: skip
    data = prepare(cfg)
    x_test, y_test = data.xt[data.split.test_idx], data.yt[data.split.test_idx]
    for seed in range(seeds):
        source_model = train_source(cfg, data, seed, torch.device("cpu")).model
        tr, va = (torch.from_numpy(i) for i in source_val_split(data.source.y, seed=seed))
        for k in shots:
            lab, unl = draw_shots(data.target.y, data.split.pool_idx, k, seed, data.target.classes)
            target = TargetData(data.xt[lab], data.yt[lab], data.xt[unl], len(data.target.classes))
            task = TransferTask(
                target, data.target.classes, seed, _model_factory(cfg, data, source_model, torch.device("cpu")),
                source_model, data.xs[tr], data.ys[tr], data.source.classes,
                source_val_x=data.xs[va], source_val_y=data.ys[va],
            )  # fmt: skip
            yield seed, k, task, x_test, y_test


def run_ours(method: str, params: dict, task: TransferTask, x_test, y_test) -> dict:
    torch.manual_seed(task.seed)
    m = get_method(method, **params)
    if task.target.shots < m.min_shots:
        return {}
    t0, c0 = time.perf_counter(), time.process_time()
    model = m.fit(task)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = float((predict_proba(model, x_test).argmax(1) == y_test).float().mean())
    sel = task.extras.pop("selection", None)
    return {
        "accuracy": acc,
        "wall_s": wall,
        "cpu_s": cpu,
        "steps": params.get("steps"),
        "selected_step": getattr(sel, "best_step", None),
    }


def _key(r: dict) -> tuple:
    return r["pair"], r["shots"], r["seed"], r["library"], r["method"]


def summarise(runs: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["pair"], r["shots"], r["library"], r["method"]), []).append(r)
    rows = []
    for (pair, k, lib, method), rs in groups.items():
        ci = t_interval([r["accuracy"] for r in rs])
        rows.append({"pair": pair, "shots": k, "library": lib, "method": method, "seeds": len(rs),
                     "accuracy_mean": ci.mean, "accuracy_ci95": ci.as_list(),
                     "accuracies": [r["accuracy"] for r in sorted(rs, key=lambda r: r["seed"])],
                     "wall_s_mean": sum(r["wall_s"] for r in rs) / len(rs),
                     "cpu_s_mean": sum(r["cpu_s"] for r in rs) / len(rs)})  # fmt: skip
    order = {m: i for i, m in enumerate([m[0] for m in OURS] + list(SKADA_METHODS))}
    return sorted(
        rows, key=lambda r: (r["pair"], r["shots"], r["library"] != "transferkit", order.get(r["method"], 99))
    )


def table(rows: list[dict]) -> str:
    lines = ["| pair | k | library | method | accuracy % (mean ± 95 % CI) | seeds | wall s / run | CPU s / run |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        ci = r["accuracy_ci95"]
        half = f" ± {100 * (ci[1] - ci[0]) / 2:.1f}" if ci else ""
        lines.append(f"| {r['pair']} | {r['shots']} | {r['library']} | {r['method']} | {100 * r['accuracy_mean']:.1f}{half} "
                     f"| {r['seeds']} | {r['wall_s_mean']:.0f} | {r['cpu_s_mean']:.0f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    settings = {"steps": args.steps, "batch_size": args.batch_size}
    path = args.results
    if args.fresh and path.exists():
        path.unlink()
    state = json.loads(path.read_text()) if path.exists() else {}
    runs = [r for r in state.get("runs", []) if r.get("settings") == settings]
    done = {_key(r) for r in runs}
    skada_version = None

    def save(new: dict | None = None) -> None:
        """Append ``new`` under a file lock, so runs for different pairs can go in parallel."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            old = json.loads(path.read_text()) if path.exists() else {}
            merged = [r for r in old.get("runs", []) if r.get("settings") == settings]
            keys = {_key(r) for r in merged}
            merged += [r for r in runs + ([new] if new else []) if _key(r) not in keys]
            runs[:] = merged
            payload = {"settings": settings, "machine": machine(args.threads),
                       "skada_version": skada_version or old.get("skada_version"),
                       "runs": runs, "table": summarise(runs)}  # fmt: skip
            tmp = path.with_suffix(f".json.tmp{os.getpid()}")
            tmp.write_text(json.dumps(payload, indent=1))
            os.replace(tmp, path)

    for pair in args.pairs:
        for seed, k, task, x_test, y_test in tasks_for(*PAIRS[pair], args.seeds, args.shots):
            wanted = args.methods if k == 0 else [m for m in args.semi if m not in BASELINES_K0]
            jobs = [("transferkit", label, method, params) for label, method, params in OURS if label in wanted]
            jobs += [("skada", name, name, {}) for name in (args.skada if k == 0 else [])]
            for lib, label, method, params in jobs:
                if (pair, k, seed, lib, label) in done:
                    continue
                if lib == "transferkit":
                    budget = {} if method in ("adabn", "finetune") else settings
                    out = run_ours(method, {**params, **budget}, task, x_test, y_test)
                else:
                    out, skada_version = run_skada(method, task, x_test, y_test, **settings)
                if not out:
                    continue
                save({"pair": pair, "shots": k, "seed": seed, "library": lib, "method": label,
                      "settings": settings, **out})  # fmt: skip
                print(f"{pair} k={k} seed={seed} {lib}/{label}: {100 * out['accuracy']:.1f} % "
                      f"({out['wall_s']:.0f} s wall, {out['cpu_s']:.0f} s CPU)", flush=True)  # fmt: skip
    save()
    rows = summarise(runs)
    print(table(rows))
    print("\n".join(acceptance(rows)))
    write_markdown(args, rows)


SHARED = {"source_only": "SourceOnly", "dann": "DANN", "cdan": "CDAN", "dan": "DAN", "coral": "DeepCoral", "mcc": "MCC"}
NOT_DA = ("source_only", "adabn", "finetune")


def acceptance(rows: list[dict]) -> list[str]:
    """The issue's acceptance lines, measured on ``rows`` (means over seeds)."""
    acc = {(r["pair"], r["shots"], r["library"], r["method"]): 100 * r["accuracy_mean"] for r in rows}

    def best(pair: str, k: int) -> tuple[str, float]:
        cands = [
            (m, a) for (p, kk, lib, m), a in acc.items() if (p, kk, lib) == (pair, k, "transferkit") and m not in NOT_DA
        ]
        return max(cands, key=lambda c: c[1]) if cands else ("-", float("nan"))

    lines = []
    m2o, o2m = "mnist5k->optdigits", "optdigits->mnist5k"
    m, a = best(m2o, 0)
    lines.append(
        f"- {m2o}, k=0: best transferkit method `{m}` {a:.1f} % (target >= 95 %): {'met' if a >= 95 else 'MISSED'}"
    )
    m, a = best(o2m, 0)
    so = acc.get((o2m, 0, "transferkit", "source_only"), float("nan"))
    gain = a - so
    lines.append(f"- {o2m}, k=0: best `{m}` {a:.1f} % vs source-only {so:.1f} %: +{gain:.1f} points (target >= +20): "
                 f"{'met' if gain >= 20 else 'MISSED'}")  # fmt: skip
    for pair in (m2o, o2m):
        for ours, theirs in SHARED.items():
            a, b = acc.get((pair, 0, "transferkit", ours)), acc.get((pair, 0, "skada", theirs))
            if a is not None and b is not None:
                lines.append(f"- {pair}, k=0: transferkit `{ours}` {a:.1f} % vs skada `{theirs}` {b:.1f} %: "
                             f"{'met' if a >= b else 'MISSED'}")  # fmt: skip
        if (pair, 1, "transferkit", "finetune") in acc:
            m1, a1 = best(pair, 1)
            m0, a0 = best(pair, 0)
            ft = acc[(pair, 1, "transferkit", "finetune")]
            lines.append(f"- {pair}, k=1: best `{m1}` {a1:.1f} % vs max(unsupervised `{m0}` {a0:.1f} %, finetune k=1 "
                         f"{ft:.1f} %): {'met' if a1 >= max(a0, ft) else 'MISSED'}")  # fmt: skip
    return lines


def machine(threads: int) -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": threads, "torch": torch.__version__}  # fmt: skip


def write_markdown(args: argparse.Namespace, rows: list[dict]) -> None:
    m = machine(args.threads)
    text = "\n".join([
        "## Domain adaptation: digits (transferkit vs skada)", "",
        "Command: `python benchmarks/domain_adaptation.py " + f"--steps {args.steps} --batch-size {args.batch_size} "
        f"--seeds {args.seeds} --shots {' '.join(map(str, args.shots))}`", "",
        f"Machine: {m['platform']}, {m['cpus']} CPU cores shared with other jobs, torch {m['torch']} "
        f"with {m['torch_threads']} thread(s) per run. Wall time depends on the machine's load; CPU time is "
        "what the run itself used (a lower bound on wall time with one thread).", "",
        "Setup: the protocol's fixed target test split and k-shot draws; one source model per seed "
        "(transferkit's default recipe, cached) is the starting point of every method, ours and skada's. "
        f"Every adaptation method: {args.steps} optimiser steps (skada: stopped after exactly that many by a skorch callback), "
        f"{args.batch_size} source + {args.batch_size} target rows per step, AdamW lr 1e-3, weight decay 5e-4. "
        "transferkit methods run with their defaults: domain-specific BatchNorm statistics (`dan`: shared), checkpoint "
        "chosen by target prediction entropy (no target labels). skada 0.6 methods run with their defaults (shared "
        "BatchNorm, last step), except "
        "that DANN and CDAN get a working domain classifier (skada's MLP ending in a sigmoid instead of a softmax "
        "over one output, which passes no gradient), as SKADA-Bench does; skada runs at k = 0 only (its deep "
        "methods are unsupervised). `source_only` on both sides is budget-matched: the same source model trained "
        f"{args.steps} more steps on source batches alone (transferkit: with its shift augmentation, last step; "
        "skada: `SourceOnly`), so a DA method's gain over it is the adaptation, not extra training. "
        "`finetune` is transferkit's LP-FT with its own default budget.", "",
        table(rows), "", "Acceptance (issue 3):", "", *acceptance(rows), "",
    ])  # fmt: skip
    out = args.results.with_suffix(".md")
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
