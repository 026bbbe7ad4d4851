"""Domain adaptation at k = 0 on a target whose class mix differs from the source's (label shift). (a diagnostic)

MNIST-5k (source, balanced) -> optdigits (target) at k = 0, the target subsampled (seed 0) to
(a) balanced classes, 36 a class (360); (b) one class ('0') at 50 %: 180 of it, 20 of each other
(360); (c) one class at 80 %: 180 of it, 5 of each other (225). The test split (30 %, stratified)
has the same mix as the pool, as a real target's would. `source_only` and the adaptation methods
`dann`, `mcc`, `im`, `self_training` at `steps` (default 200) each, 3 seeds, one thread. Marginal
alignment assumes the target's class mix is the source's (Zhao et al., ICML 2019): `im`'s
diversity term and `mcc`'s class-balanced weighting push predictions toward equal classes.

    python benchmarks/diagnostics/label_shift.py        # STEPS=200 SEEDS=3 THREADS=1

Prints a table (accuracy, gain vs source_only, in points) and, per mix and source seed, the
target mix estimated from unlabelled pool inputs (adaptation/label_shift.py: BBSE), its total
variation from the source's, the error floor alignment would force, TV - err_s, and whether `run`
warns (floor >= 1/2); writes benchmarks/results/diagnostics/label_shift.json. ESTIMATES_ONLY=1:
the estimates only (cached sources, no method trained), the rows kept from that file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from transferkit.adaptation.label_shift import FLOOR, estimate_mix, total_variation
from transferkit.config import validate
from transferkit.evaluate.prepare import prepare
from transferkit.evaluate.protocol import run_protocol, train_source
from transferkit.train.source import source_val_split
from transferkit.train.supervised import predict_proba

MIXES = {"balanced (10 % each)": (36, 36), "'0' at 50 %": (180, 20), "'0' at 80 %": (180, 5)}
METHODS = ["source_only", "dann", "mcc", "im", "self_training"]


def subsample(y: np.ndarray, major: int, other: int, seed: int = 0) -> np.ndarray:
    """Row indices: ``major`` of class 0, ``other`` of each other class."""
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[: major if c == 0 else other]
                                   for c in range(10)]))  # fmt: skip


def estimates(cfg, data, seeds: int) -> list[dict]:
    """Per source seed: BBSE's estimate of the pool's class mix (no target label read) against the truth."""
    out, pool = [], data.xt[data.split.pool_idx]
    true = np.bincount(data.target.y[data.split.pool_idx], minlength=10) / len(pool)
    for seed in range(seeds):
        model = train_source(cfg, data, seed, torch.device("cpu")).model  # cached by run_protocol
        _, va = source_val_split(data.source.y, seed=seed)
        pred_val, y_val = predict_proba(model, data.xs[va]).argmax(1).numpy(), data.source.y[va]
        q = estimate_mix(pred_val, y_val, predict_proba(model, pool).argmax(1).numpy(), 10)
        p, err_s = np.bincount(y_val, minlength=10) / len(y_val), float((pred_val != y_val).mean())
        tv = total_variation(q, p)
        out.append({"seed": seed, "estimate": q.round(3).tolist(), "tv_estimate": tv, "tv_true": total_variation(true, p),
                    "estimate_error_tv": total_variation(q, true), "source_error": err_s, "floor": tv - err_s,
                    "warns": tv - err_s >= FLOOR})  # fmt: skip
    return out


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    steps, seeds = int(os.environ.get("STEPS", "200")), int(os.environ.get("SEEDS", "3"))
    d = load_digits()
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "label_shift.json"
    only = os.environ.get("ESTIMATES_ONLY") == "1"
    before = json.loads(out.read_text()) if only else {}  # ESTIMATES_ONLY: the methods' rows and time kept
    rows, est, start = before.get("rows", []), {}, time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for mix, (major, other) in MIXES.items():
            keep = subsample(d.target, major, other)
            path = Path(tmp) / f"digits_{major}_{other}.npz"
            np.savez(path, x=d.images[keep].astype(np.float32), y=d.target[keep],
                     classes=np.array([str(c) for c in range(10)]))  # fmt: skip
            methods = ["source_only"] + [{m: {"steps": steps}} for m in METHODS[1:]]
            cfg = validate({"name": "label-shift", "source": {"data": "mnist5k"},
                            "target": {"data": str(path), "shots": [0]}, "methods": methods,
                            "seeds": list(range(seeds)), "save_models": False})  # fmt: skip
            if only:
                est[mix] = estimates(cfg, prepare(cfg), seeds)
                continue
            result = run_protocol(cfg)
            est[mix] = estimates(cfg, result.data, seeds)
            acc = {m: [100 * r.accuracy for r in result.records if r.method == m] for m in METHODS}
            base = np.array(acc["source_only"])
            for m in METHODS:
                gain = np.array(acc[m]) - base
                rows.append({"mix": mix, "n": len(keep), "method": m, "per_seed": acc[m],
                             "mean": float(np.mean(acc[m])), "gain_vs_source_only": float(gain.mean()),
                             "gain_per_seed": gain.tolist()})  # fmt: skip
            print(f"[{mix}: {time.perf_counter() - start:.0f} s]", flush=True)
    print("| target mix | method | accuracy per seed (%) | mean | gain vs source_only (points) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mix']} | {r['method']} | {' / '.join(f'{a:.1f}' for a in r['per_seed'])} | {r['mean']:.1f} | "
              f"{r['gain_vs_source_only']:+.1f} ({' / '.join(f'{g:+.1f}' for g in r['gain_per_seed'])}) |")
    print("\n| target mix | seed | TV(estimate, source) | TV(truth, source) | TV(estimate, truth) | source error | "
          "floor | warns |\n|---|---|---|---|---|---|---|---|")
    for mix, per_seed in est.items():
        for e in per_seed:
            print(f"| {mix} | {e['seed']} | {e['tv_estimate']:.2f} | {e['tv_true']:.2f} | {e['estimate_error_tv']:.2f} | "
                  f"{e['source_error']:.3f} | {e['floor']:.2f} | {'yes' if e['warns'] else 'no'} |")
    seconds = before["seconds"] if only else time.perf_counter() - start
    out.write_text(json.dumps({"steps": steps, "seeds": seeds, "rows": rows, "estimates": est, "seconds": seconds,
                               "estimate_seconds": time.perf_counter() - start if only else None}, indent=1))  # fmt: skip
    print(f"wrote {out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
