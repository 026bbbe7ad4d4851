"""Time of one training step of the built-in `cnn` with two block orders, side by side. (a diagnostic)

conv -> BN -> ReLU -> pool (the order before session 2) against conv -> pool -> BN -> ReLU
(LeNet's order, the one `models/shared.py` builds now): same widths, batch, input and
optimizer; the two alternate over ``--rounds`` rounds, median ms per step reported.

    python benchmarks/diagnostics/cnn_block_order.py [--batch 128] [--steps 40] [--rounds 3]

Prints a table and writes benchmarks/results/diagnostics/cnn_block_order.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


def net(pool_first: bool, width: int = 16) -> nn.Module:
    def block(cin: int, cout: int) -> nn.Sequential:
        conv = nn.Conv2d(cin, cout, 5, padding=2, bias=False)
        if pool_first:
            return nn.Sequential(conv, nn.MaxPool2d(2), nn.BatchNorm2d(cout), nn.ReLU())
        return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(block(1, width), block(width, 2 * width), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                         nn.Linear(2 * width * 16, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 10))  # fmt: skip


def ms_per_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    model.train()
    for i in range(steps + 5):  # 5 warm-up steps
        if i == 5:
            start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return 1000 * (time.perf_counter() - start) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    x, y = torch.randn(args.batch, 1, 28, 28), torch.randint(0, 10, (args.batch,))
    times: dict[str, list[float]] = {"conv-BN-ReLU-pool": [], "conv-pool-BN-ReLU": []}
    for _ in range(args.rounds):
        for name in times:
            times[name].append(ms_per_step(net(name == "conv-pool-BN-ReLU"), x, y, args.steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"| block order | ms per step (median of {args.rounds}), batch {args.batch}, {torch.get_num_threads()} threads |")
    print("|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v:.1f} |")
    print(f"ratio new / old: {med['conv-pool-BN-ReLU'] / med['conv-BN-ReLU-pool']:.2f}")
    out = Path(__file__).resolve().parents[1] / "results" / "diagnostics" / "cnn_block_order.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "threads": torch.get_num_threads(), "ms_per_step": times}, indent=1))


if __name__ == "__main__":
    main()
