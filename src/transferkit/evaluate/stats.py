"""Means, 95 % confidence intervals and transfer gain, over run seeds and test examples.

An accuracy measured on a run's test split varies for two reasons: the run's randomness
(seed: labelled draw, initialisation, source model) and which m examples make up the test
split. The CI covers both: ``mean ± t_{0.975, df} · sqrt(s² / n + v / m)``, with s the
sample std over the n seeds and v the variance over test examples of each example's
correctness averaged over the seeds (a binomial-like term; the test split is the same for
every seed, so this part does not shrink with more seeds). df is the Welch-Satterthwaite
combination of the two terms' degrees of freedom (n - 1 and m - 1). Without per-example
results only the seed term is used, with n - 1 degrees of freedom. Transfer gain compares
a method with ``scratch`` *paired by seed and by test example*: both saw the same labelled examples and the same test split, so
the gain's CI uses the per-seed differences and the per-example differences (v is then
the variance of each example's mean difference, which is small when the two models get
the same examples right: a McNemar-like term). Where ``scratch`` did not run (k = 0: no
target labels), methods are compared with ``source_only`` instead, the unadapted source
model. Negative transfer is flagged when the whole gain CI is below 0.
With a single seed no interval exists; the CI is reported as None. Accuracy intervals are
clipped to [0, 1], gains to [-1, 1].

A test split may hold exact copies of one input (kept together on one side of the split):
they are one draw, not several, so v is then taken over the groups of copies (a
cluster-robust variance), never smaller than over the examples, with G - 1 degrees of
freedom for G distinct inputs. Counting each copy as a draw had made the intervals too
narrow: 86-89 % coverage for a nominal 95 % with each test input stored twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as _st


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float | None
    high: float | None
    n: int

    def as_list(self) -> list[float] | None:
        return None if self.low is None else [self.low, self.high]


def _test_variance(per_example: Sequence[float] | None, plus_four: bool = False, paired: bool = False,
                   groups: Sequence[int] | None = None) -> float:  # fmt: skip
    """v / m: the variance of a mean over m test examples (0 without per-example values).

    ``plus_four``: for accuracies, v is taken with two right and two wrong pseudo-examples
    added (Agresti and Coull's "plus four"), so a model right on every test example still
    gets an interval of the size its test split can support instead of a point. The
    variance is divided by m, the real examples, not by m + 4 as Agresti and Coull do:
    slightly wider, on the safe side.

    ``paired``: for differences of two models' correctness (-1..1), half a pseudo-example
    is added to each cell of the matched 2x2 table, differences +1, -1, 0 and 0 (Agresti
    and Min, Biometrics 2005), so two models that agree on every test example get an
    interval of the size the split supports, not the point 0 +- 0.

    ``groups``: each example's group of exact copies (one id per distinct input). The variance
    is then multiplied by the design effect of those groups, the cluster-robust variance of
    the mean over its independent-examples form (each pseudo-example its own group), when
    that is above 1: copies count as one draw."""
    if per_example is None or len(per_example) < 2:
        return 0.0
    values = np.asarray(per_example, dtype=np.float64)
    m = len(values)
    weights = np.ones(m)
    if plus_four:
        values = np.concatenate([values, [1.0, 1.0, 0.0, 0.0]])
        weights = np.ones(m + 4)
    if paired:
        values = np.concatenate([values, [1.0, -1.0, 0.0, 0.0]])
        weights = np.concatenate([np.ones(m), np.full(4, 0.5)])
    mean = float((weights * values).sum() / weights.sum())
    v = float((weights * (values - mean) ** 2).sum() / (weights.sum() - 1)) / m
    if groups is None or len(np.unique(np.asarray(groups))) == m:
        return v
    ids = np.concatenate([np.unique(np.asarray(groups), return_inverse=True)[1], np.arange(len(values) - m) + m])
    return v * _design_effect(weights * (values - mean), ids)


def _design_effect(residuals: np.ndarray, ids: np.ndarray) -> float:
    """The cluster-robust variance of a mean over its independent-examples form, at least 1:
    ``residuals`` (weighted, one per example and pseudo-example), ``ids`` their group of exact
    copies (each pseudo-example its own)."""
    g, n = int((np.bincount(ids) > 0).sum()), len(residuals)
    clustered = g / (g - 1) * float((np.bincount(ids, weights=residuals) ** 2).sum()) if g > 1 else 0.0
    alone = n / (n - 1) * float((residuals**2).sum())
    return max(1.0, clustered / alone) if alone > 0 else 1.0


# Welch-Satterthwaite's df over the strata is floored here: a class of one or two test examples took it to
# 2-4 and the interval of a model right on every example of 50/50/1 to [17.5, 100] where Beta(1, 1) posteriors
# put 70.5 (benchmarks/diagnostics/balanced_interval_coverage.py); at 10 that is 57.1, and a 500/10 split with
# examples of unequal difficulty still covers 96 % (G - 1 alone: 92 %)
MIN_STRATIFIED_DF = 10.0


def stratified_test_variance(per_example: Sequence[float], strata: Sequence, paired: bool = False,
                              groups: Sequence[int] | None = None) -> tuple[float, float]:  # fmt: skip
    """(variance, degrees of freedom) of a mean of per-stratum means, ``(1/C) sum_c mean_c``
    (balanced accuracy: the strata are the test examples' classes, C of them): the stratified
    variance ``(1/C^2) sum_c s_c^2 / n_c``, with s_c^2 the variance of stratum c's values.

    Taking the variance over all examples of each one's share of that mean, ``m / (C n_c)``
    times its value, also counts the spread between the shares' weights: a model right on every
    test example of classes of 53, 4 and 18 got a balanced accuracy of 100 [69.8, 100] from it.
    Pseudo-examples as for accuracies and gains, per stratum: one right and one wrong for
    accuracies (Agresti and Caffo's add-one-per-group, Am. Stat. 2000), half a pseudo-example per
    cell of the matched table for ``paired`` differences (:func:`_test_variance`), divided by the
    n_c real examples. ``groups`` (exact copies) multiply each stratum's term by its own design
    effect, as in :func:`_test_variance`. df: Welch-Satterthwaite over the strata's terms, each
    stratum counting its n_c distinct inputs and its pseudo-examples' weight less one, between
    ``MIN_STRATIFIED_DF`` and G - 1 for G distinct inputs (accuracy's). With G - 1 alone the rare
    class's term, which dominates, was read with ~m degrees of freedom: a review's simulation of a
    500 / 10 test split whose examples differ in difficulty covered 92.2 % (now 96.2 %;
    benchmarks/diagnostics/balanced_unequal_difficulty.py)."""
    values = np.asarray(per_example, dtype=np.float64)
    labels = np.asarray(strata)
    ids = np.unique(np.asarray(groups), return_inverse=True)[1] if groups is not None else np.arange(len(values))
    kinds = np.unique(labels)
    c = len(kinds)
    pseudo, pseudo_w = (np.array([1.0, -1.0, 0.0, 0.0]), np.full(4, 0.5)) if paired else (np.array([1.0, 0.0]), np.ones(2))
    terms, dfs = [], []
    for kind in kinds:
        at = labels == kind
        n = int(at.sum())
        v = np.concatenate([values[at], pseudo])
        w = np.concatenate([np.ones(n), pseudo_w])
        mean = float((w * v).sum() / w.sum())
        term = float((w * (v - mean) ** 2).sum() / (w.sum() - 1)) / n / c**2
        own = ids[at]
        distinct = len(np.unique(own))
        if distinct < n:  # copies in this class: its design effect (pseudo-examples: alone)
            g_ids = np.concatenate([np.unique(own, return_inverse=True)[1], np.arange(len(pseudo)) + n])
            term *= _design_effect(w * (v - mean), g_ids)
        terms.append(term)
        dfs.append(distinct + float(pseudo_w.sum()) - 1)
    variance = float(sum(terms))
    most = float(max(1, len(np.unique(ids)) - 1))
    squares = sum(t * t / d for t, d in zip(terms, dfs, strict=True))
    return variance, (min(most, max(MIN_STRATIFIED_DF, variance * variance / squares)) if squares > 0 else most)


def distinct_count(per_example: Sequence[float] | None, groups: Sequence[int] | None) -> int:
    """How many independent test draws: distinct inputs under ``groups``, else examples."""
    if per_example is None:
        return 0
    return len(np.unique(np.asarray(groups))) if groups is not None else len(per_example)


def _welch_df(a: float, df_a: int, b: float, df_b: float) -> float:
    """Welch-Satterthwaite degrees of freedom of the sum of two variance estimates ``a``
    (``df_a`` degrees of freedom) and ``b`` (``df_b``): n - 1 when the seeds' term dominates,
    towards m - 1 (a normal quantile) when the test examples' term does.

    With 2-3 seeds the estimate ``a`` is often far too small by chance, which would push df
    up and the quantile down just when the interval is least reliable. So df is computed
    from an upper bound of ``a``, its 90 % upper confidence limit ``a (n-1) / chi2_0.10``
    (the width still uses ``a`` itself). In simulations with 2-3 seeds this kept the
    intervals' coverage at or above 95 %, where plain Welch-Satterthwaite gave 87-93 %."""
    if b <= 0 or df_b < 1:
        return float(df_a)
    if a <= 0:
        return float(df_b)
    a = a * df_a / float(_st.chi2.ppf(0.10, df_a))
    return (a + b) ** 2 / (a * a / df_a + b * b / df_b)


def t_interval(
    values: Sequence[float],
    confidence: float = 0.95,
    bounds: tuple[float, float] | None = None,
    per_example: Sequence[float] | None = None,
    plus_four: bool = False,
    paired: bool = False,
    groups: Sequence[int] | None = None,
    strata: Sequence | None = None,
) -> Interval:
    """Student's t interval of the mean over seeds; ``bounds`` clips it to the values'
    possible range (accuracies: (0, 1)), since a t interval knows nothing of that range.

    ``per_example``: each test example's value averaged over the seeds (e.g. 1 if every
    seed got it right); adds the test split's sampling variance (module docstring).
    ``plus_four``: the values are accuracies; ``paired``: differences of two models'
    correctness (see :func:`_test_variance`); ``groups``: the test examples' groups of exact
    copies (they count as one draw each). With ``per_example``, the seeds' std is
    floored at one step of an accuracy on those m examples (1/m), as :func:`paired_gain`
    floors it without them: two seeds that tie by chance (likely, as accuracies move in steps
    of 1/m) would otherwise leave only the test term, a narrow interval with t at m - 1
    degrees of freedom, enough to call a gain from 2 seeds certain. The interval is the wider
    of the two (with and without the floor): on a tiny test split the floor's extra degrees of
    freedom could otherwise narrow it. ``strata``: the values are each seed's mean of per-stratum
    means (balanced accuracy, strata: the test examples' classes), whose test term is
    :func:`stratified_test_variance` (``plus_four`` is then implied per stratum).
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, None, None, n)
    if strata is not None and per_example is not None and len(per_example) > 1:
        test_term, df_test = stratified_test_variance(per_example, strata, paired, groups)
    else:
        test_term = _test_variance(per_example, plus_four, paired, groups)
        # G - 1 for G distinct inputs, at least 1: one input copied m times still has a test term (df 0 would drop it)
        df_test = max(1, distinct_count(per_example, groups) - 1) if per_example is not None and len(per_example) > 1 else 0
    seed_var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = _half_width(seed_var / n, n, test_term, df_test, confidence)
    if per_example is not None and len(per_example):  # the seeds' spread, floored at one test example's step
        floored = max(seed_var, (1.0 / len(per_example)) ** 2) / n
        half = max(half, _half_width(floored, n, test_term, df_test, confidence))  # never narrower for it
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Interval(mean, low, high, n)


def _half_width(seed_term: float, n: int, test_term: float, df_test: float, confidence: float) -> float:
    df = _welch_df(seed_term, n - 1, test_term, df_test)
    return float(_st.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(seed_term + test_term)


def paired_gain(
    method: Sequence[float],
    baseline: Sequence[float],
    resolution: float = 0.0,
    per_example: Sequence[float] | None = None,
    groups: Sequence[int] | None = None,
) -> Interval:
    """t interval of per-seed differences ``method - baseline``, clipped to [-1, 1] (the
    range a difference of two accuracies can take; with 2 or 3 seeds a t interval can
    reach far beyond it).

    ``per_example``: each test example's difference (correct in ``method`` minus correct
    in ``baseline``, in -1..1) averaged over the seeds; adds the test split's sampling
    variance, which is what keeps two models that differ on a handful of examples from
    being called different however consistent the seeds are. Half a pseudo-example per
    cell of the matched table (:func:`_test_variance`) keeps two models that agree on every
    test example from a gain of exactly 0 +- 0.

    ``resolution``, used only without ``per_example``: the smallest step an accuracy can
    take (1 / test examples). Two seeds can give exactly the same difference by chance;
    their sample std of 0 would make the interval a point and any gain "certain", so the
    std is floored at one step.

    A mean within float rounding of 0 (equal mean accuracies summed in another order, e.g.
    -5.6e-17) is returned as exactly 0, so no report calls it a loss.
    """
    if len(method) != len(baseline):
        raise ValueError("paired gain needs one baseline value per seed")
    diffs = [a - b for a, b in zip(method, baseline, strict=True)]
    n = len(diffs)
    if per_example is not None or n < 2 or resolution <= 0:
        gain = t_interval(diffs, bounds=(-1.0, 1.0), per_example=per_example, paired=per_example is not None,
                          groups=groups)  # fmt: skip
        return replace(gain, mean=_no_rounding_noise(gain.mean))
    mean = _no_rounding_noise(sum(diffs) / n)
    sd = max(math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)), resolution)
    half = float(_st.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, max(mean - half, -1.0), min(mean + half, 1.0), n)


def _no_rounding_noise(value: float) -> float:
    return 0.0 if abs(value) < 1e-12 else value


def is_negative_transfer(gain: Interval) -> bool:
    return gain.high is not None and gain.high < 0
