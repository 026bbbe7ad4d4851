"""Does a differently trained source make Fashion-MNIST 5-way 1-shot features better? (a diagnostic)

Issue 4 asks prototypes to beat scratch by 20 points at 1-shot on Fashion-MNIST classes
0-4 -> 5-9 (benchmarks/few_shot.py: scratch 56.9 %). This trains the built-in ``cnn``'s
architecture (conv 5x5 -> pool -> BN -> ReLU, twice, then a dense layer of 128) on the
source classes in several ways, with a plain loop, and runs SimpleShot-style prototypes
(centred on the support mean, L2-normalised) on 300 episodes of the novel classes,
5-way 1-shot, 15 queries, reading the features at several depths:

* ``base``      cross-entropy, 1,000 images per class, 15 epochs, 2 px shifts (as the benchmark)
* ``rotation``  + predicting the rotation (0/90/180/270) of a second copy of each batch
                (self-supervision as an auxiliary task: Gidaris et al., ICCV 2019)
* ``wide_flip`` twice the channels, and horizontal flips
* ``more_data`` 6,000 images per class (all of them), 8 epochs
* ``simclr``    contrastive self-supervision only (SimCLR's NT-Xent, Chen et al., ICML 2020;
                two views per image: random crop of 60-100 % of the side, flip, contrast;
                batches of 256, temperature 0.2, a 2-layer projection head), 30 epochs
* ``ce_simclr`` the same contrastive loss plus cross-entropy on the source labels
* ``ce_target_simclr`` cross-entropy on the source labels plus the contrastive loss on an
                *unlabelled* pool of 1,000 novel-class images per class, disjoint from the
                images the episodes are drawn from (self-supervision on target images, as in
                STARTUP, Phoo & Hariharan, ICLR 2021, without its teacher); 30 epochs of the pool
* ``target_simclr`` the contrastive loss on that pool alone: no source (the control)
* ``ceiling_20`` / ``ceiling_1000`` cross-entropy on 20 / 1,000 *labelled* novel-class
                images per class (again disjoint from the episodes' images), 15 epochs: not a
                method, a ceiling: how good features that saw novel-class labels are

Features: raw pixels; block 2 flattened (32x7x7) and pooled to 4x4; the 128-d dense
layer. Seed 0 only; a diagnostic, not a benchmark result.

    python benchmarks/diagnostics/fewshot_source_training.py [--variant base ...]

Writes benchmarks/results/diagnostics/fewshot_source_training.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from transferkit.data.builtin import load_builtin

VARIANTS = {
    "base": {"per_class": 1000, "epochs": 15, "width": 16},
    "rotation": {"per_class": 1000, "epochs": 15, "width": 16, "rotation": True},
    "wide_flip": {"per_class": 1000, "epochs": 15, "width": 32, "flip": True},
    "more_data": {"per_class": 6000, "epochs": 8, "width": 16},
    "simclr": {"per_class": 1000, "epochs": 30, "width": 16, "contrastive": 1.0, "supervised": 0.0},
    "ce_simclr": {"per_class": 1000, "epochs": 30, "width": 16, "contrastive": 1.0, "supervised": 1.0},
    "ce_target_simclr": {"per_class": 1000, "epochs": 30, "width": 16, "contrastive": 1.0, "supervised": 1.0,
                         "pool": "target"},  # fmt: skip
    "target_simclr": {"per_class": 1000, "epochs": 30, "width": 16, "contrastive": 1.0, "supervised": 0.0,
                      "pool": "target"},  # fmt: skip
    "ceiling_20": {"per_class": 20, "epochs": 15, "width": 16, "labels": "target"},
    "ceiling_1000": {"per_class": 1000, "epochs": 15, "width": 16, "labels": "target"},
}
OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "fewshot_source_training.json"


class Net(nn.Module):
    def __init__(self, w: int) -> None:
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(1, w, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(w), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(w, 2 * w, 5, padding=2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(2 * w), nn.ReLU())
        self.b3 = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(2 * w * 16, 128, bias=False),
                                nn.BatchNorm1d(128), nn.ReLU())  # fmt: skip
        self.head, self.rot = nn.Linear(128, 5), nn.Linear(128, 4)
        self.proj = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b3(self.b2(self.b1(x)))


def subsample(spec: str, per_class: int, rng: np.random.Generator, exclude: np.ndarray | None = None):
    """``per_class`` images of each class (none of the indices in ``exclude``), their labels, their indices."""
    d = load_builtin(spec)
    pools = [np.setdiff1d(np.flatnonzero(d.y == c), [] if exclude is None else exclude) for c in np.unique(d.y)]
    idx = np.concatenate([rng.choice(p, per_class, replace=False) for p in pools])
    return torch.tensor(d.x[idx], dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0, d.y[idx], idx


def random_view(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A SimCLR-style view: random crop of 60-100 % of the side, resized back, flip, contrast."""
    n = len(x)
    scale = 0.6 + 0.4 * torch.rand(n, generator=g)
    shift = (1 - scale)[:, None] * (2 * torch.rand(n, 2, generator=g) - 1)
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = scale * flip, scale, shift
    out = F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=False), align_corners=False, padding_mode="border")
    gain = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=g)
    return (out - out.mean((2, 3), keepdim=True)) * gain + out.mean((2, 3), keepdim=True)


def nt_xent(z: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's loss (Chen et al., 2020): each view's positive is the other view of its image."""
    z = F.normalize(z, dim=1)
    n = len(z) // 2
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def train(v: dict, xs: torch.Tensor, ys: torch.Tensor, seed: int, pool: torch.Tensor | None = None) -> Net:
    """``pool``: unlabelled images for the contrastive loss (default: the source images ``xs``)."""
    torch.manual_seed(seed)
    net, g, bs = Net(v["width"]), torch.Generator().manual_seed(seed), 64
    pool = xs if pool is None else pool
    steps = v["epochs"] * len(pool if v.get("contrastive") else xs) // (256 if v.get("contrastive") else bs)
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for _ in range(steps):
        b = torch.randint(0, len(xs), (bs,), generator=g)
        i, j = torch.randint(0, 5, (2,), generator=g).tolist()
        x, y = F.pad(xs[b], (2, 2, 2, 2))[..., i : i + 28, j : j + 28], ys[b]  # 2 px shifts
        if v.get("flip"):
            x = torch.where((torch.rand(bs, generator=g) < 0.5)[:, None, None, None], x.flip(-1), x)
        if v.get("contrastive"):
            bs2 = 256
            b = torch.randint(0, len(pool), (bs2,), generator=g)
            f = net(torch.cat([random_view(pool[b], g), random_view(pool[b], g)]))
            loss = v["contrastive"] * nt_xent(net.proj(f))
            if v["supervised"] and pool is xs:  # the views' own labels
                loss = loss + v["supervised"] * F.cross_entropy(net.head(f), ys[b].repeat(2))
            elif v["supervised"]:  # labelled source batch beside the unlabelled target views
                loss = loss + v["supervised"] * F.cross_entropy(net.head(net(x)), y)
        elif v.get("rotation"):
            r = torch.randint(0, 4, (bs,), generator=g)
            xr = torch.stack([torch.rot90(a, int(k), (1, 2)) for a, k in zip(x, r, strict=True)])
            f = net(torch.cat([x, xr]))
            loss = F.cross_entropy(net.head(f[:bs]), y) + F.cross_entropy(net.rot(f[bs:]), r)
        else:
            loss = F.cross_entropy(net.head(net(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def prototypes_1shot(f: np.ndarray, y: np.ndarray, episodes: int = 300, queries: int = 15) -> float:
    """Mean accuracy (%) of support-mean-centred, L2-normalised nearest prototypes, 5-way 1-shot."""
    rng, accs, classes = np.random.default_rng(123), [], np.unique(y)
    for _ in range(episodes):
        picks = [rng.permutation(np.flatnonzero(y == c))[: 1 + queries] for c in classes]
        s, q = f[[p[0] for p in picks]], f[np.concatenate([p[1:] for p in picks])]
        m = s.mean(0)
        s, q = s - m, q - m
        s /= np.linalg.norm(s, axis=1, keepdims=True) + 1e-12
        q /= np.linalg.norm(q, axis=1, keepdims=True) + 1e-12
        accs.append(np.mean((q @ s.T).argmax(1) == np.repeat(np.arange(len(classes)), queries)))
    return 100 * float(np.mean(accs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", action="append", choices=list(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in args.variant or list(VARIANTS):
        v, rng = VARIANTS[name], np.random.default_rng(args.seed)
        xt, yt, held = subsample("fashion-mnist[5-9]", 1000, np.random.default_rng(args.seed + 1))
        if v.get("labels") == "target":  # the ceiling: labelled novel-class images the episodes never use
            xs, ys, _ = subsample("fashion-mnist[5-9]", v["per_class"], np.random.default_rng(args.seed + 2), held)
            ys = ys - ys.min()
        else:
            xs, ys, _ = subsample("fashion-mnist[0-4]", v["per_class"], rng)
        pool = None
        if v.get("pool") == "target":
            pool = subsample("fashion-mnist[5-9]", 1000, np.random.default_rng(args.seed + 2), held)[0]
        mu, sd = xs.mean(), xs.std()
        start = time.perf_counter()
        net = train(v, (xs - mu) / sd, torch.as_tensor(ys), args.seed, None if pool is None else (pool - mu) / sd)
        with torch.no_grad():
            h2 = net.b2(net.b1((xt - mu) / sd))
            feats = {"pixels": xt.flatten(1), "block2 flat": h2.flatten(1),
                     "block2 pooled 4x4": F.adaptive_avg_pool2d(h2, 4).flatten(1), "dense 128": net.b3(h2)}  # fmt: skip
        acc = {k: round(prototypes_1shot(f.double().numpy(), yt), 1) for k, f in feats.items()}
        rows[name] = {**v, "seed": args.seed, "train_seconds": round(time.perf_counter() - start), "1-shot %": acc}
        print(name, acc, flush=True)
        OUT.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
