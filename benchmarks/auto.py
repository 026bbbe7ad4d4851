"""``auto`` against every fixed method, and transferability scores against fine-tuning.

Part 1, for each task of the suite (benchmarks/auto_tasks.py) and seed: test accuracy of
``auto`` and of every registered fixed method that can run on the task, the best fixed
method in hindsight, and the time of auto's decision against training all fixed methods.
Part 2, for each ranking target: candidates = sources x cut points; every score on the
labelled examples against the accuracy that ``finetune`` with ``freeze = cut`` reaches;
Kendall tau (scipy) per score. Usage::

    python benchmarks/auto.py [--seeds 1] [--threads 1] [--methods scratch,head,...] [--no-rank]

Writes benchmarks/results/auto.json and benchmarks/results/auto.md.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auto_tasks import (  # noqa: E402
    FASHION_SRC,
    FASHION_TGT,
    RunCache,
    fixed_methods,
    load_task,
    run_method,
    shuffled_mnist,
    suite,
)

from transferkit.atomic import write_json, write_text  # noqa: E402
from transferkit.methods.auto import adaptation_choice  # noqa: E402
from transferkit.ranking import SCORES  # noqa: E402
from transferkit.ranking.candidates import Candidate, cut_features, score_candidates  # noqa: E402
from transferkit.ranking.evidence import loo_prototype_correct  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MIN_CANDIDATES = 8  # Kendall tau over at least this many (source, cut) candidates per target


def _auto_version() -> str:
    """Hash of the code that decides, so a run cache never reuses an older auto's choice."""
    import hashlib

    import transferkit.methods.auto as auto
    import transferkit.ranking.candidates as candidates
    import transferkit.ranking.evidence as evidence

    h = hashlib.sha1()
    for module in (auto, candidates, evidence):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:10]


AUTO_VERSION = _auto_version()


def capped(name: str, max_steps: int | None, stages: int = 1) -> dict:
    """The *steps budgets of ``name`` that ``max_steps`` cuts below its defaults, as ``auto``
    caps them when it chooses ``name`` (None: the method's defaults); ``stages``: the source's
    blocks, for gradual's stages."""
    from transferkit.methods import METHODS
    from transferkit.methods.auto import step_caps

    if not max_steps:
        return {}
    if name == "auto":
        return {"max_steps": max_steps}
    fields = METHODS[name].Params.model_fields
    return {n: v for n, v in step_caps(name, max_steps, stages).items() if v < fields[n].default}


COMPOSITES = ("self_training+mcc",)  # fixed methods that are one method on a base (auto may choose them)


def with_composites(td, only: list[str] | None) -> list[str]:
    """The fixed methods of the task, plus each composite ``method+base`` whose parts can run on it."""
    drop = {n[1:] for n in only or [] if n.startswith("-")}
    keep = [n for n in only or [] if not n.startswith("-")]
    runnable = set(fixed_methods(td, None))
    extra = [c for c in COMPOSITES if set(c.split("+")) <= runnable and c not in drop and (not keep or c in keep)]
    return fixed_methods(td, only) + extra


def run_suite(
    seeds: list[int], only: list[str] | None, max_steps: int | None, tasks: str | None, cache, say
) -> list[dict]:
    rows = []
    for t in suite():
        if tasks and not any(t.name.endswith(p[:-1]) if p.endswith("$") else p in t.name for p in tasks.split("|")):
            continue
        acc: dict[str, list[float]] = {}
        fixed_s, decision_s, choices = [], [], []
        for seed in seeds:
            td = load_task(t.source, t.target, t.shots, seed)
            total = 0.0
            for name in with_composites(td, only):
                method, base = adaptation_choice(name)
                steps = capped(method, max_steps, getattr(td.source_model, "num_blocks", 1))
                params = {**base, **steps}
                key = f"{t.name}|seed={seed}|{name}|{json.dumps(steps, sort_keys=True)}"
                r = cache.run(key, lambda: run_method(td, method, seed, params))  # noqa: B023
                say(f"  {t.name} seed {seed}: {name} {r['accuracy']:.3f} ({r['seconds']:.1f} s)")
                acc.setdefault(name, []).append(r["accuracy"])
                total += r["seconds"]
            params = capped("auto", max_steps)
            key = f"{t.name}|seed={seed}|auto|{json.dumps(params, sort_keys=True)}|{AUTO_VERSION}"
            r = cache.run(key, lambda: run_method(td, "auto", seed, params))  # noqa: B023
            d = r["decision"]
            acc.setdefault("auto", []).append(r["accuracy"])
            fixed_s.append(total)
            decision_s.append(d["seconds"])
            choices.append({"seed": seed, "method": d["method"], "params": d["params"], "reason": d["reason"],
                            "checks": d["signals"].get("checks", [])})  # fmt: skip
        mean = {m: float(np.mean(v)) for m, v in acc.items()}
        fixed = {m: v for m, v in mean.items() if m != "auto"}
        best = max(fixed, key=fixed.get)
        row = {"task": t.name, "note": t.note, "shots": t.shots, "seeds": seeds, "accuracy": mean, "per_seed": acc,
               "best_fixed": best, "best_fixed_accuracy": fixed[best], "auto": mean["auto"],
               "gap_to_best": mean["auto"] - fixed[best], "gap_to_scratch": mean["auto"] - mean.get("scratch", np.nan),
               "decision_seconds": float(np.mean(decision_s)), "fixed_seconds": float(np.mean(fixed_s)),
               "auto_choices": choices}  # fmt: skip
        say(f"{t.name}: auto {row['auto']:.3f} ({choices[0]['method']} {choices[0]['params']}), "
            f"best fixed {best} {fixed[best]:.3f}, scratch {mean.get('scratch', float('nan')):.3f}; "
            f"decision {row['decision_seconds']:.1f} s vs fixed {row['fixed_seconds']:.1f} s")  # fmt: skip
        rows.append(row)
    return rows


RANK_TARGETS = [
    ("optdigits k=10", {"data": "optdigits"}, 10,
     [{"data": "mnist5k"}, {"data": "fashion-mnist", "max_per_class": 500}, "shuffled"]),
    ("fashion[5-9] k=10", FASHION_TGT, 10,
     [FASHION_SRC, {"data": "mnist5k"}, "shuffled"]),
]  # fmt: skip


def run_ranking(cache, say, seed: int = 0) -> list[dict]:
    """Per target: every score of every (source, cut) candidate vs finetune(freeze=cut) accuracy."""
    from scipy.stats import kendalltau

    out = []
    for name, target, k, sources in RANK_TARGETS:
        cands = []
        for src in sources:
            src = shuffled_mnist() if src == "shuffled" else src
            td = load_task(src, target, k, seed)
            label = "shuffled-label mnist5k" if "shuffled" in src["data"] else src["data"]
            x, y = td.target.x_labelled, td.target.y_labelled
            rows = score_candidates([Candidate(label, td.source_model)], x, y)
            for row in rows:
                correct = loo_prototype_correct(cut_features(td.source_model, x, row["cut"]).numpy(), y.numpy())
                row["loo_prototype"] = None if correct is None else float(correct.mean())
                key = f"rank|{name}|{label}|seed={seed}|finetune|freeze={row['cut']}"
                run = cache.run(key, lambda: run_method(td, "finetune", seed, {"freeze": row["cut"]}))  # noqa: B023
                row["finetune_accuracy"] = run["accuracy"]
                say(
                    f"  {name}: {label} cut {row['cut']}: finetune {row['finetune_accuracy']:.3f}, logme {row['logme']:.3f}"
                )
                cands.append(row)
        acc = [c["finetune_accuracy"] for c in cands]
        taus = {}
        for score in [*sorted(SCORES), "loo_prototype"]:
            pairs = [(c[score], a) for c, a in zip(cands, acc, strict=True) if c.get(score) is not None]
            xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
            tau = kendalltau(xs, ys).statistic if len(pairs) >= 3 else float("nan")
            taus[score] = {"tau": float(tau), "n": len(pairs)}
        say(f"{name}: " + ", ".join(f"{s} tau={v['tau']:.2f} (n={v['n']})" for s, v in taus.items()))
        out.append({"target": name, "shots": k, "candidates": cands, "kendall_tau": taus})
    return out


def acceptance(rows: list[dict], ranking: list[dict]) -> dict:
    out: dict = {}
    if rows:
        within = [r["gap_to_best"] >= -0.01 for r in rows]
        vs_scratch = [r["gap_to_scratch"] >= -0.01 for r in rows if not np.isnan(r["gap_to_scratch"])]
        ratio = sum(r["decision_seconds"] for r in rows) / max(1e-9, sum(r["fixed_seconds"] for r in rows))
        worst = max(r["decision_seconds"] / max(1e-9, r["fixed_seconds"]) for r in rows)
        out = {"within_1pt_of_best_fraction": float(np.mean(within)), "within_1pt_pass": bool(np.mean(within) >= 0.8),
               "never_1pt_below_scratch": bool(all(vs_scratch)), "decision_time_ratio": ratio,
               "decision_time_ratio_worst_task": worst, "decision_time_pass": bool(ratio <= 0.25)}  # fmt: skip
    if ranking:
        mean_tau = {
            s: float(np.nanmean([r["kendall_tau"][s]["tau"] for r in ranking])) for s in ranking[0]["kendall_tau"]
        }
        # The issue asks for tau over >= 8 candidates: a score defined on fewer (LEEP and NCE
        # need the source head's predictions: one candidate per source, its full model) cannot win.
        eligible = {s for s in mean_tau if all(r["kendall_tau"][s]["n"] >= MIN_CANDIDATES for r in ranking)}
        best = max(mean_tau, key=lambda s: -np.inf if np.isnan(mean_tau[s]) or s not in eligible else mean_tau[s])
        out.update(mean_kendall_tau=mean_tau, eligible_scores=sorted(eligible), best_score=best,
                   best_score_tau_pass=bool(best in eligible and mean_tau[best] >= 0.6))  # fmt: skip
    return out


def markdown(result: dict) -> str:
    rows, ranking, acc = result["suite"], result["ranking"], result["acceptance"]
    methods = sorted({m for r in rows for m in r["accuracy"] if m != "auto"})
    lines = ["# `auto` and transferability scores", "", f"Command: `{result['command']}`", "",
             f"Machine: {result['machine']}", "",
             f"Wall time of this invocation: {result['wall_time_s']:.0f} s; training time of all suite runs "
             f"(fixed methods, summed): {sum(r['fixed_seconds'] for r in rows):.0f} s", "",
             "## auto vs every fixed method (test accuracy, %, mean over seeds)", "",
             "| task | auto (choice) | " + " | ".join(methods) + " | best fixed | auto - best | auto - scratch | decision s | all fixed s |",
             "|---|---|" + "---|" * (len(methods) + 5)]  # fmt: skip
    for r in rows:
        a = r["accuracy"]
        cells = [f"{100 * a[m]:.1f}" if m in a else "-" for m in methods]
        choice = r["auto_choices"][0]["method"] + "".join(f" {k}={v}" for k, v in r["auto_choices"][0]["params"].items()
                                                          if not k.endswith("steps"))  # fmt: skip
        lines.append(f"| {r['task']} | {100 * r['auto']:.1f} ({choice}) | " + " | ".join(cells) +
                     f" | {r['best_fixed']} {100 * r['best_fixed_accuracy']:.1f} | {100 * r['gap_to_best']:+.1f} | "
                     f"{100 * r['gap_to_scratch']:+.1f} | {r['decision_seconds']:.1f} | {r['fixed_seconds']:.0f} |")  # fmt: skip
    if rows:
        lines += ["", "auto's reasons (seed " + str(rows[0]["seeds"][0]) + "):", ""]
        lines += [f"- **{r['task']}**: {r['auto_choices'][0]['reason']}" for r in rows]
    for rk in ranking:
        scores = list(rk["kendall_tau"])
        lines += ["", f"## Scores vs fine-tuned accuracy: target {rk['target']}", "",
                  "| candidate | cut | finetune acc % | " + " | ".join(scores) + " |", "|---|---|---|" + "---|" * len(scores)]  # fmt: skip
        for c in rk["candidates"]:
            vals = ["-" if c.get(s) is None else f"{c[s]:.3f}" for s in scores]
            lines.append(
                f"| {c['candidate']} | {c['cut']}/{c['blocks']} | {100 * c['finetune_accuracy']:.1f} | "
                + " | ".join(vals)
                + " |"
            )
        lines.append(
            "| **Kendall tau** | | | "
            + " | ".join(f"**{rk['kendall_tau'][s]['tau']:.2f}** (n={rk['kendall_tau'][s]['n']})" for s in scores)
            + " |"
        )
    lines += ["", "## Acceptance", "", *(f"- {k}: {v}" for k, v in acc.items()), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core machine)")
    ap.add_argument("--methods", help="comma-separated fixed methods (default: every registered method)")
    ap.add_argument("--max-steps", type=int, default=300, help="cap every method's *steps budgets (0: no cap)")
    ap.add_argument("--tasks", help="only tasks whose name contains one of these '|'-separated parts ('part$': ends with part)")
    ap.add_argument("--no-rank", action="store_true", help="skip the Kendall tau part")
    ap.add_argument("--cache", help="JSON-lines file of finished fixed-method runs to reuse and extend")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    load = os.getloadavg()[0]

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {msg}", flush=True)

    only = args.methods.split(",") if args.methods else None
    cache = RunCache(args.cache)
    rows = run_suite(list(range(args.seeds)), only, args.max_steps or None, args.tasks, cache, say)
    ranking = [] if args.no_rank else run_ranking(cache, say)
    result = {
        "command": "python benchmarks/auto.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__} on {args.threads} thread(s), "
                   f"load average {load:.1f} at start (shared machine)",
        "suite": rows, "ranking": ranking, "wall_time_s": time.perf_counter() - start,
    }  # fmt: skip
    result["acceptance"] = acceptance(rows, ranking)
    for c in (c for rk in ranking for c in rk["candidates"]):
        c.pop("seconds", None)
    md = markdown(result)
    print(md)
    write_json(Path(args.out) / "auto.json", result)
    write_text(Path(args.out) / "auto.md", md)


if __name__ == "__main__":
    main()
