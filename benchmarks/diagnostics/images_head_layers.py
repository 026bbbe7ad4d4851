"""Which shared blocks should a `head` on MobileNetV2 read for Fashion-MNIST k = 10? (a diagnostic)

transferkit's own probe code (``train/probe.py``: L2 chosen by stratified 4-fold CV on the
labelled examples, 300 full-batch AdamW steps) on the pooled outputs of the last g block
groups (``models/taps.py``; g = 1 is the plain ``head``), raw or standardised with the
labelled examples' mean and std, and the choice of g by CV: by held-out accuracy then
loss ("auto-acc") or by held-out loss ("auto-loss", what ``head: {layers: auto}`` does).
Same target, split and k-shot draws as ``benchmarks/pretrained.py --part images224``
(100 images per class, 50 % test, 224 px), seeds 0-9.

    python benchmarks/diagnostics/images_head_layers.py

Prints one line per seed and the mean ± 95 % half-width per variant; writes
benchmarks/results/diagnostics/images_head_layers.json.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from images_layers import fashion_k10  # noqa: E402  (same folder: the same data, split and model)

from transferkit.data.splits import draw_shots  # noqa: E402
from transferkit.models.specific import build_specific  # noqa: E402
from transferkit.models.taps import combine  # noqa: E402
from transferkit.train.feature_cache import frozen_block_outputs  # noqa: E402
from transferkit.train.probe import _train_head, cross_validate_l2  # noqa: E402

SEEDS = 10


def fit_eval(f: torch.Tensor, y: torch.Tensor, lab: torch.Tensor, test: torch.Tensor, std: bool, seed: int):
    """(L2 choice, test accuracy) of a CV-regularised linear head on features f (N, D)."""
    mu, sd = (f[lab].mean(0), f[lab].std(0) + 1e-6) if std else (0.0, 1.0)
    g = (f - mu) / sd
    torch.manual_seed(seed)
    head = build_specific(g.shape[1], 10)
    choice = cross_validate_l2(head, g[lab], y[lab], steps=300, lr=1e-2, folds=4, seed=seed)
    _train_head(head, g[lab], y[lab], 300, 1e-2, 0.0, choice.l2, False, None)
    with torch.no_grad():
        return choice, float((head(g[test]).argmax(1) == y[test]).float().mean())


def main() -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    data, model = fashion_k10()
    model.freeze("all")
    outs = frozen_block_outputs(model, data.xt, 50)  # [(N, C_b)] for the 9 block groups
    n, y = len(outs), data.yt
    test = torch.as_tensor(np.asarray(data.split.test_idx))
    res: dict[int, dict] = {}
    for seed in range(SEEDS):
        lab = torch.as_tensor(np.asarray(draw_shots(data.target.y, data.split.pool_idx, 10, seed)[0]))
        row: dict = {}
        for std in (False, True):
            tag = "std" if std else "raw"
            cands = {1: outs[-1]} | {g: combine(outs, tuple(range(n - g, n))) for g in range(2, n + 1)}
            fits = {g: fit_eval(f, y, lab, test, std, seed) for g, f in cands.items()}
            for g, (_, acc) in fits.items():
                row[f"{tag} g{g}"] = acc
            by_acc = min(fits, key=lambda g: (-fits[g][0].accuracy[fits[g][0].l2], fits[g][0].loss[fits[g][0].l2]))
            by_loss = min(fits, key=lambda g: fits[g][0].loss[fits[g][0].l2])
            for crit, g in (("acc", by_acc), ("loss", by_loss)):
                row[f"{tag} auto-{crit}"], row[f"{tag} auto-{crit} g"] = fits[g][1], g
        res[seed] = row
        print(seed, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    for k in (k for k in res[0] if not k.endswith(" g")):
        a = np.array([res[s][k] for s in res])
        print(f"{k:18s} {100 * a.mean():.1f} ± {100 * 1.96 * a.std(ddof=1) / np.sqrt(len(a)):.1f}")
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "images_head_layers.json"
    out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
