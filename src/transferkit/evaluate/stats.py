"""Means, 95 % confidence intervals and transfer gain, over run seeds.

The CI is Student's t interval ``mean ± t_{0.975, n-1} · s / sqrt(n)`` (s: sample std,
ddof=1). Transfer gain compares a method with ``scratch`` *paired by seed*: both saw the
same labelled examples and the same test split, so the gain's CI is the t interval of
the per-seed differences, which is tighter and more honest than comparing two
independent intervals (its std floored at one test example, see :func:`paired_gain`).
Where ``scratch`` did not run (k = 0: no target labels), methods are compared with
``source_only`` instead, the unadapted source model. Negative transfer is flagged when
the whole gain CI is below 0.
With a single seed no interval exists; the CI is reported as None. Accuracy intervals are
clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as _st


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float | None
    high: float | None
    n: int

    def as_list(self) -> list[float] | None:
        return None if self.low is None else [self.low, self.high]


def t_interval(
    values: Sequence[float], confidence: float = 0.95, bounds: tuple[float, float] | None = None
) -> Interval:
    """Student's t interval of the mean; ``bounds`` clips it to the values' possible range
    (accuracies: (0, 1)), since a t interval knows nothing of that range."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, None, None, n)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(_st.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Interval(mean, low, high, n)


def paired_gain(method: Sequence[float], baseline: Sequence[float], resolution: float = 0.0) -> Interval:
    """t interval of per-seed differences ``method - baseline``.

    ``resolution``: the smallest step an accuracy can take (1 / test examples). Accuracies
    on m test examples move in steps of 1/m, so two seeds can give exactly the same
    difference by chance; their sample std of 0 would make the interval a point and any
    gain "certain". The std is floored at one step. The interval is clipped to [-1, 1], the
    range a difference of two accuracies can take (with 2 or 3 seeds a t interval can reach
    far beyond it).
    """
    if len(method) != len(baseline):
        raise ValueError("paired gain needs one baseline value per seed")
    diffs = [a - b for a, b in zip(method, baseline, strict=True)]
    n = len(diffs)
    if n < 2 or resolution <= 0:
        return t_interval(diffs, bounds=(-1.0, 1.0))
    mean = sum(diffs) / n
    sd = max(math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)), resolution)
    half = float(_st.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, max(mean - half, -1.0), min(mean + half, 1.0), n)


def is_negative_transfer(gain: Interval) -> bool:
    return gain.high is not None and gain.high < 0
