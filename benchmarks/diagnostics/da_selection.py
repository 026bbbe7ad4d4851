"""Which label-free criterion picks the best DA checkpoint? (a diagnostic)

Trains each DA method once per (pair, k, seed) with its defaults (600 steps, 10 checkpoints)
and, at every checkpoint after the start, scores the model by **every** criterion of
``transferkit.adaptation.selection`` and, for this analysis only, by target *test* accuracy
(the oracle). Each criterion's choice is the checkpoint it would have picked; its regret is
the oracle's accuracy minus the accuracy of that choice. No method ever sees a test label:
the scores are taken in ``TransferTask.monitor``, which returns nothing to the method.

Pairs: the DA benchmark's two digits pairs, and two shifts of Fashion-MNIST made here
(source: 600 training images per class; target: 300 test images per class, rotated by 30
degrees, or blurred with contrast cut to 40 %), so that no pair of the choice is only the
benchmark's.

    python benchmarks/diagnostics/da_selection.py --pairs fashion-rot30 --methods mcc --shots 0 1 --seeds 2

Prints one line per run and a summary table; appends every run to
``benchmarks/results/diagnostics/da_selection.json`` (a rerun skips runs already there).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from auto_tasks import load_task  # noqa: E402

from transferkit.adaptation.domain_bn import eval_domain  # noqa: E402
from transferkit.adaptation.selection import CRITERIA, SelectionData, score_checkpoint  # noqa: E402
from transferkit.methods import get_method  # noqa: E402
from transferkit.paths import cache_dir  # noqa: E402

LABEL_FREE = [c for c in CRITERIA if c != "last"]
METHODS = {"dann": ("dann", {}), "mcc": ("mcc", {}), "im": ("im", {}), "cdan": ("cdan", {}),
           "self_training+mcc": ("self_training", {"base": "mcc"})}  # fmt: skip
RESULTS = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "da_selection.json"


def _fashion_pair(shift: str) -> tuple[dict, dict]:
    """Source: 600 Fashion-MNIST training images per class; target: 300 test images per class, shifted."""
    from scipy.ndimage import gaussian_filter, rotate

    from transferkit.data.fashion_mnist import find_folder, read_idx

    folder = cache_dir() / "benchmarks"
    src, tgt = folder / "fashion-train600.npz", folder / f"fashion-test300-{shift}.npz"
    if not (src.exists() and tgt.exists()):
        ff = find_folder()
        rng = np.random.default_rng(0)
        parts = {}
        for split, n in (("train", 600), ("t10k", 300)):
            x, y = read_idx(ff / f"{split}-images-idx3-ubyte.gz"), read_idx(ff / f"{split}-labels-idx1-ubyte.gz")
            keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n] for c in range(10)])
            parts[split] = (x[keep], y[keep].astype(np.int64))
        xt, yt = parts["t10k"]
        if shift == "rot30":
            xt = np.stack([rotate(im, 30, reshape=False, order=1) for im in xt])
        else:  # blurred, contrast cut to 40 % around mid-grey
            blurred = np.stack([gaussian_filter(im.astype(np.float32), 1.5) for im in xt])
            xt = np.clip(128 + 0.4 * (blurred - 128), 0, 255).astype(np.uint8)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(src, x=parts["train"][0], y=parts["train"][1])
        np.savez(tgt, x=xt, y=yt)
    return {"data": str(src)}, {"data": str(tgt)}


def pair_spec(name: str) -> tuple[dict, dict]:
    if name == "mnist5k->optdigits":
        return {"data": "mnist5k"}, {"data": "optdigits"}
    if name == "optdigits->mnist5k":
        return {"data": "optdigits"}, {"data": "mnist5k"}
    if name in ("fashion-rot30", "fashion-blur"):
        return _fashion_pair(name.split("-")[1])
    raise SystemExit(f"unknown pair {name!r}")


def one_run(pair: str, method: str, k: int, seed: int) -> dict:
    source, target = pair_spec(pair)
    td = load_task(source, target, k, seed)
    task = td.task(seed)
    gen = torch.Generator().manual_seed(10_000 + seed)
    x_all = torch.cat([td.target.x_labelled, td.target.x_unlabelled])
    pick = lambda x, n: x if len(x) <= n else x[torch.randperm(len(x), generator=gen)[:n]]  # noqa: E731
    sel = SelectionData(pick(x_all, 1000), pick(task.source_x, 1000), task.source_val_x, task.source_val_y)
    if len(sel.x_source_val) > 1000:
        keep = torch.randperm(len(sel.x_source_val), generator=gen)[:1000]
        sel = SelectionData(sel.x_target, sel.x_source, sel.x_source_val[keep], sel.y_source_val[keep])
    rows: list[dict] = []

    def monitor(model, step: int) -> None:
        if step == 0:
            return
        row = {"step": step, "oracle": td.accuracy(model)}
        for c in LABEL_FREE:
            row[c] = score_checkpoint(model, c, sel, step, seed)
        with torch.no_grad(), eval_domain(model, "target"):
            z = model.specific(model.features(sel.x_target))
        row["top_share"] = float(torch.bincount(F.softmax(z, 1).argmax(1)).max()) / len(sel.x_target)
        rows.append(row)
        model.train()

    task.monitor = monitor
    name, params = METHODS[method]
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    get_method(name, **params).fit(task)
    return {"pair": pair, "method": method, "shots": k, "seed": seed, "wall_s": time.perf_counter() - t0,
            "checkpoints": rows}  # fmt: skip


def choices(run: dict) -> dict[str, float]:
    """Target test accuracy of the checkpoint each criterion (and `last`) picks; the oracle's."""
    rows = run["checkpoints"]
    out = {c: max(rows, key=lambda r: r[c])["oracle"] for c in LABEL_FREE}  # first of ties, as training keeps
    out["last"], out["oracle"] = rows[-1]["oracle"], max(r["oracle"] for r in rows)
    return out


def summary(runs: list[dict]) -> str:
    cols = ["last", *LABEL_FREE, "oracle"]
    lines = ["| pair | k | runs | " + " | ".join(cols) + " |", "|---" * (len(cols) + 3) + "|"]
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["pair"], r["shots"]), []).append(choices(r))
    groups[("all", "-")] = [choices(r) for r in runs]
    for (pair, k), cs in groups.items():
        means = [100 * float(np.mean([c[col] for c in cs])) for col in cols]
        lines.append(f"| {pair} | {k} | {len(cs)} | " + " | ".join(f"{m:.1f}" for m in means) + " |")
    every = groups[("all", "-")]
    worst = {col: 100 * max(c["oracle"] - c[col] for c in every) for col in cols}
    lines.append("| worst regret | | | " + " | ".join(f"{worst[c]:.1f}" for c in cols) + " |")
    # paired with the default, run by run: better / worse by more than half a point
    wins = {col: sum(c[col] - c["entropy"] > 0.005 for c in every) for col in cols}
    losses = {col: sum(c["entropy"] - c[col] > 0.005 for c in every) for col in cols}
    lines.append("| vs entropy: better / worse | | | " + " | ".join(f"{wins[c]} / {losses[c]}" for c in cols) + " |")
    return "\n".join(lines)


def _load() -> list[dict]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else []


def _append(run: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "da_selection.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runs = _load() + [run]
        tmp = RESULTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(runs, indent=1))
        tmp.replace(RESULTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", nargs="+", default=["mnist5k->optdigits", "optdigits->mnist5k", "fashion-rot30",
                                                    "fashion-blur"])  # fmt: skip
    ap.add_argument("--methods", nargs="+", default=["dann", "mcc", "self_training+mcc"], choices=list(METHODS))
    ap.add_argument("--shots", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--summary-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.summary_only:
        for seed in range(args.seeds):
            for pair in args.pairs:
                for k in args.shots:
                    for method in args.methods:
                        if any((r["pair"], r["method"], r["shots"], r["seed"]) == (pair, method, k, seed) for r in _load()):
                            continue
                        run = one_run(pair, method, k, seed)
                        _append(run)
                        c = choices(run)
                        print(f"{pair} k={k} seed={seed} {method} ({run['wall_s']:.0f} s): "
                              + " ".join(f"{n} {100 * v:.1f}" for n, v in c.items()), flush=True)  # fmt: skip
    print(summary(_load()))


if __name__ == "__main__":
    main()
