"""Steps/s of transferkit's training loop vs a minimal hand-written PyTorch loop.

Same model (the built-in ``cnn`` for 28x28 grey images), same batch size, same data in
memory, same optimizer; the two loops alternate, several rounds, and the median of the
per-round ratio is reported (timings on shared machines are noisy: compare ratios measured
side by side). Usage::

    python benchmarks/loop_overhead.py [--steps 150] [--rounds 5] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from transferkit.models import TransferModel
from transferkit.train.loop import batches, run_steps


def make_model() -> TransferModel:
    torch.manual_seed(0)
    return TransferModel.build("cnn", (1, 28, 28), [str(i) for i in range(10)])


def hand_written(model, x, y, steps, batch) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start)


def ours(model, x, y, steps, batch) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    it = batches(len(x), batch, torch.Generator().manual_seed(0))

    def loss_fn(_step):
        idx = next(it)
        return F.cross_entropy(model(x[idx]), y[idx])

    start = time.perf_counter()
    run_steps(model, loss_fn, opt, steps, log_every=max(1, steps // 20))
    return steps / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", default="benchmarks/results/loop_overhead.json")
    args = ap.parse_args()
    x, y = torch.rand(4096, 1, 28, 28), torch.randint(0, 10, (4096,))
    hand_written(make_model(), x, y, 20, args.batch)  # warm-up
    rows = []
    for r in range(args.rounds):
        pair = {}
        for name, fn in (("hand_written", hand_written), ("transferkit", ours))[:: 1 if r % 2 == 0 else -1]:
            pair[name] = fn(make_model(), x, y, args.steps, args.batch)
        pair["ratio"] = pair["transferkit"] / pair["hand_written"]
        rows.append(pair)
        print(
            f"round {r}: hand-written {pair['hand_written']:.1f} steps/s, transferkit {pair['transferkit']:.1f} steps/s, "
            f"ratio {pair['ratio']:.3f}",
            flush=True,
        )
    med = {k: statistics.median(p[k] for p in rows) for k in ("hand_written", "transferkit", "ratio")}
    print("\n| loop | steps/s (median) |\n|---|---|")
    print(f"| hand-written PyTorch | {med['hand_written']:.1f} |\n| transferkit run_steps | {med['transferkit']:.1f} |")
    print(f"\nmedian ratio transferkit / hand-written: {med['ratio']:.3f} (overhead {100 * (1 - med['ratio']):+.1f} %)")
    out = {"rounds": rows, "median": med, "steps": args.steps, "batch": args.batch,
           "torch": torch.__version__, "machine": platform.platform(), "threads": torch.get_num_threads()}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
