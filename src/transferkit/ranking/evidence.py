r"""Evidence that a source helps: source features against no-transfer features.

A transferability score says how good a source's features are; it does not say whether
they beat what the target's own few examples give without any source. This module
compares the two on the labelled target examples only, with two measurements:

**Leave-one-out nearest-class-mean accuracy** (needs >= 2 examples in every class).
Features are centred and L2-normalised; example i is assigned to the class whose mean
over the *other* examples is most cosine-similar (the prototype classifier of Snell,
Swersky & Zemel, NeurIPS 2017, "Prototypical Networks"). Two feature sets are compared
*paired*, example by example: with ``wins`` examples right only with the source features
and ``losses`` right only with the reference features, the sign-test statistic

.. math::  z = (\mathrm{wins} - \mathrm{losses}) / \sqrt{\mathrm{wins} + \mathrm{losses}}

is the normal approximation of McNemar's test (McNemar, Psychometrika 1947).

**LogME as a Bayes factor** (works with one example per class). LogME is
:math:`\frac{1}{CN}\sum_c \log p(y_c \mid F)` (:mod:`transferkit.ranking.logme`), so
:math:`N C\,(\mathrm{LogME}(F_s) - \mathrm{LogME}(F_r))` is the log Bayes factor of the
source features F_s against the reference features F_r as linear explanations of the
labels; Kass & Raftery (JASA 1995) call :math:`\log B > 1` positive evidence and
:math:`\log B > 3` strong evidence.
"""

from __future__ import annotations

import math

import numpy as np

from transferkit.ranking.logme import logme


def unit_rows(f: np.ndarray) -> np.ndarray:
    """(N, D) -> centred columns, each row scaled to unit L2 norm (zero rows stay zero)."""
    c = f - f.mean(axis=0)
    n = np.linalg.norm(c, axis=1, keepdims=True)
    return c / np.where(n > 0, n, 1.0)


def loo_prototype_correct(features: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """(M,) bool: is each example right under leave-one-out nearest-class-mean?

    Only examples of classes with 2 or more are held out (a class's single example has no
    prototype once held out), in their order; every class's mean, a single example's too,
    stays a prototype to be mistaken for. M = N when no class has a single example. Returns
    None when fewer than 2 classes can be held out: no held-out accuracy then says much (a
    review: one class with 1 example beside nine with 9 sent `auto` to its one-shot rule).
    """
    y = np.asarray(labels, dtype=np.int64)
    classes, y = np.unique(y, return_inverse=True)
    counts = np.bincount(y).astype(np.float64)  # (C,)
    if len(classes) < 2 or (counts >= 2).sum() < 2:
        return None
    x = unit_rows(np.asarray(features, dtype=np.float64))  # (N, D)
    sums = np.zeros((len(classes), x.shape[1]))
    np.add.at(sums, y, x)  # (C, D)
    sims = x @ sums.T  # (N, C): x_i . sum_c
    self_sim = np.einsum("nd,nd->n", x, x)  # (N,)
    own = np.arange(len(y)), y
    sims[own] -= self_sim  # drop x_i from its own class sum
    norms = np.sqrt(np.maximum(_sum_norms2(x, y, sums, counts), 1e-300))  # (N, C) ||sum without i||
    cos = sims / norms  # cosine to the class mean is cosine to the class sum
    held = counts[y] >= 2
    return (cos.argmax(axis=1) == y)[held]


def _sum_norms2(x: np.ndarray, y: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(N, C) squared norm of each class sum, with example i removed from its own class."""
    base = np.broadcast_to((sums**2).sum(axis=1), (len(x), len(sums))).copy()  # (N, C)
    own_sum = sums[y]  # (N, D)
    base[np.arange(len(y)), y] = ((own_sum - x) ** 2).sum(axis=1)
    return base


def paired_sign_test(a: np.ndarray, b: np.ndarray) -> dict:
    """Compare per-example correctness ``a`` (candidate) with ``b`` (reference)."""
    wins, losses = int(np.sum(a & ~b)), int(np.sum(~a & b))
    z = (wins - losses) / math.sqrt(wins + losses) if wins + losses else 0.0
    return {"wins": wins, "losses": losses, "z": z, "p_exact": sign_test_p(wins, losses)}


def sign_test_p(wins: int, losses: int) -> float:
    """The exact one-sided p of so many wins or more among the wins + losses examples on which the two
    differ, each a fair coin under no difference. The decision reads the normal approximation's z
    (docs/auto.md); this says how far it is from its nominal 5 % at few such examples (3 wins, 0
    losses: z 1.73 passes at p 0.125; 7 and 2: z 1.67 at p 0.090)."""
    from scipy.stats import binom

    return float(binom.sf(wins - 1, wins + losses, 0.5)) if wins + losses else 1.0


def logme_log_bayes_factor(f_source: np.ndarray, f_reference: np.ndarray, labels: np.ndarray) -> float:
    """log p(labels | source features) - log p(labels | reference features), summed over classes."""
    n, c = len(labels), len(np.unique(labels))
    return n * c * (logme(f_source, labels) - logme(f_reference, labels))


def feature_report(features: np.ndarray, labels: np.ndarray) -> dict:
    """LogME and leave-one-out prototype accuracy (None with 1 example per class) of one feature set."""
    correct = loo_prototype_correct(features, labels)
    return {
        "logme": float(logme(features, labels)),
        "loo_accuracy": None if correct is None else float(correct.mean()),
        "_correct": correct,
    }
