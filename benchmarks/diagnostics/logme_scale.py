"""LogME on wide features at three scales: one start (LogME's code) against two (a diagnostic).

LogME maximises each class's evidence over (alpha, beta) by MacKay's fixed point. With more
feature dimensions than examples (few-shot) the evidence can have two maxima, and the start at
alpha = beta = 1 stopped on the lower one depending on the features' scale, though the score is
meant to be scale-invariant. Since session 35 the iteration runs from two starts on the
features' own scale and keeps the higher maximum (ranking/logme.py).

For 200 random few-shot draws (5 classes, 1-3 examples each, 64 dimensions, class means of a
random spread plus unit noise; ``numpy.random.default_rng(5)``) this scores the features times
0.01, 1 and 100 with both and counts the draws whose score moves by more than 1e-3 across the
scales, and the largest move.

    python benchmarks/diagnostics/logme_scale.py

Prints the table and writes benchmarks/results/diagnostics/logme_scale.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from transferkit.ranking import logme as logme_module
from transferkit.ranking.logme import logme

OUT = Path(__file__).resolve().parents[1] / "results" / "diagnostics"


def one_start(sigma2, z2, outside, n):
    """Before session 35: the fixed point from alpha = beta = 1 only."""
    return logme_module._fixed_point(sigma2, z2, outside, n, 1.0, 1.0)


def moves(draws: int = 200) -> dict:
    rng = np.random.default_rng(5)
    cases = []
    for _ in range(draws):
        shots = int(rng.integers(1, 4))
        labels = np.repeat(np.arange(5), shots)
        features = rng.normal(size=(5, 64))[labels] * rng.uniform(0, 3) + rng.normal(size=(len(labels), 64))
        cases.append((features, labels))
    out = {}
    two_starts = logme_module._maximise_evidence
    for name, maximise in (("one start (alpha = beta = 1)", one_start), ("two starts (now)", two_starts)):
        logme_module._maximise_evidence = maximise
        try:
            spread = np.array([np.ptp([logme(s * f, y) for s in (0.01, 1.0, 100.0)]) for f, y in cases])
        finally:
            logme_module._maximise_evidence = two_starts
        out[name] = {"draws_moving_over_1e-3": int((spread > 1e-3).sum()), "largest_move": float(spread.max())}
    return out


def main() -> None:
    rows = moves()
    print(f"{'maximisation':32} {'draws moving > 1e-3 (of 200)':>30} {'largest move':>14}")
    for name, r in rows.items():
        print(f"{name:32} {r['draws_moving_over_1e-3']:>30} {r['largest_move']:>14.3g}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "logme_scale.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {OUT / 'logme_scale.json'}")


if __name__ == "__main__":
    main()
