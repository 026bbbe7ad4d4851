"""Transferability scores: hand-computed values, orderings, errors and LogME speed.

Reference values are computed here independently (closed forms by hand, or slow
direct formulas) and never through the implementation's helpers.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from transferkit.errors import TransferkitError
from transferkit.ranking import (
    SCORES,
    ScoreInfo,
    get_score,
    list_scores,
    register_score,
    score_features,
)
from transferkit.ranking.hscore import hscore
from transferkit.ranking.knn_probe import knn, linear_cv
from transferkit.ranking.leep import leep
from transferkit.ranking.logme import logme
from transferkit.ranking.nce import nce

ALL_SCORES = sorted(SCORES)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Run on one BLAS thread: on a shared, busy machine, multi-threaded OpenBLAS
    spin-waits and a 0.05 s eigendecomposition can take seconds."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _clusters(rng: np.random.Generator, per_class: int = 10, num_classes: int = 3, dim: int = 8):
    """Tight, well-separated Gaussian clusters: (N, dim) features, (N,) labels."""
    labels = np.repeat(np.arange(num_classes), per_class)
    centres = 10.0 * np.eye(num_classes, dim)
    return centres[labels] + 0.1 * rng.standard_normal((len(labels), dim)), labels


def _source_probs(rng: np.random.Generator, n: int, num_source: int = 4) -> np.ndarray:
    return rng.dirichlet(np.ones(num_source), size=n)


# --- registry -----------------------------------------------------------------------


def test_registry_lists_every_score_with_a_description():
    assert set(ALL_SCORES) == {"logme", "leep", "nce", "hscore", "knn", "linear_cv"}
    for name, description in list_scores():
        assert isinstance(get_score(name), ScoreInfo)
        assert description and "\n" not in description
    assert [n for n in ALL_SCORES if SCORES[n].needs_source_probs] == ["leep", "nce"]


def test_unknown_score_names_the_valid_ones():
    with pytest.raises(TransferkitError, match="logme") as info:
        get_score("logmee")
    assert "logmee" in str(info.value)


def test_registering_a_name_twice_is_refused():
    with pytest.raises(TransferkitError, match="twice"):
        register_score("logme", "duplicate")(lambda f, y, p=None: 0.0)


@pytest.mark.parametrize("name", ALL_SCORES)
def test_every_score_returns_a_finite_float_through_score_features(name, rng):
    features, labels = _clusters(rng, per_class=6)
    probs = _source_probs(rng, len(labels))
    features = features.astype(np.float32)
    value = score_features(name, features, labels, probs)
    assert isinstance(value, float) and math.isfinite(value)
    assert value == SCORES[name].fn(features, labels, probs)


# --- LEEP and NCE against a manual joint distribution -----------------------------


def test_leep_matches_a_direct_joint_distribution():
    theta = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9], [0.5, 0.5]])
    labels = np.array([0, 0, 1, 1, 1])
    n = len(labels)
    joint = {(y, z): 0.0 for y in (0, 1) for z in (0, 1)}
    for i in range(n):
        for z in (0, 1):
            joint[labels[i], z] += theta[i, z] / n
    p_z = {z: joint[0, z] + joint[1, z] for z in (0, 1)}
    expected = (
        sum(
            math.log(sum(joint[labels[i], z] / p_z[z] * theta[i, z] for z in (0, 1)))
            for i in range(n)
        )
        / n
    )
    assert leep(np.zeros((n, 1)), labels, theta) == pytest.approx(expected, abs=1e-12)


def test_leep_is_zero_when_source_labels_determine_target_labels():
    theta = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    # The unused third source class has P(z) = 0 and must not produce NaN.
    assert leep(np.zeros((4, 2)), np.array([0, 0, 1, 1]), theta) == pytest.approx(0.0, abs=1e-12)


def test_nce_by_hand():
    # z = argmax = [0, 0, 1, 1], y = [0, 1, 1, 1]; P(y,z): (0,0)=1/4, (1,0)=1/4, (1,1)=1/2.
    # H(Y|Z) = -(1/4 log 1/2 + 1/4 log 1/2 + 1/2 log 1) = log(2) / 2.
    theta = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.4, 0.6]])
    labels = np.array([0, 1, 1, 1])
    assert nce(np.zeros((4, 3)), labels, theta) == pytest.approx(-math.log(2) / 2, abs=1e-12)


# --- LogME against brute-force evidence maximisation -------------------------------


def _log_marginal(features, y, log_alpha, log_beta):
    """log N(y; 0, F F^T / alpha + I / beta): the evidence, written directly."""
    n = len(y)
    cov = features @ features.T * np.exp(-log_alpha) + np.eye(n) * np.exp(-log_beta)
    _, logdet = np.linalg.slogdet(cov)
    return -0.5 * (n * math.log(2 * math.pi) + logdet + y @ np.linalg.solve(cov, y))


def _brute_force_logme(features, labels):
    """Grid search over (log alpha, log beta), then Nelder-Mead polish, per class."""
    from scipy.optimize import minimize

    grid = np.linspace(-10.0, 10.0, 41)
    best = []
    for c in np.unique(labels):
        y = (labels == c).astype(np.float64)
        values = np.array([[_log_marginal(features, y, a, b) for b in grid] for a in grid])
        i, j = np.unravel_index(values.argmax(), values.shape)
        result = minimize(
            lambda p, y=y: -_log_marginal(features, y, *p),
            [grid[i], grid[j]],
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000},
        )
        best.append(max(-result.fun, values.max()))
    return float(np.mean(best) / len(labels))


def test_logme_matches_brute_force_on_tall_features(rng):
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    features = rng.standard_normal((8, 2)) + 1.5 * np.eye(2)[labels]
    assert logme(features, labels) == pytest.approx(_brute_force_logme(features, labels), abs=1e-7)


def test_logme_matches_brute_force_on_wide_rank_deficient_features(rng):
    # N=6 < D=10 and rank 3: exercises the (N, N) Gram branch and the rank cut-off;
    # the first class is barely explained (alpha -> infinity), the second is.
    labels = np.array([0, 0, 0, 1, 1, 1])
    basis = np.c_[rng.standard_normal((6, 2)), 2.0 * labels + 0.3 * rng.standard_normal(6)]
    features = basis @ rng.standard_normal((3, 10))
    assert logme(features, labels) == pytest.approx(_brute_force_logme(features, labels), abs=1e-6)


def test_logme_is_invariant_to_feature_scale(rng):
    features, labels = _clusters(rng, per_class=5)
    features += rng.standard_normal(features.shape)
    reference = logme(features, labels)
    assert logme(1e4 * features, labels) == pytest.approx(reference, abs=1e-8)
    assert logme(1e-4 * features, labels) == pytest.approx(reference, abs=1e-8)


def test_logme_of_wide_features_is_their_highest_maximum_at_any_scale():
    """More dimensions than examples (few-shot): the evidence can have two maxima, and the search from
    alpha = beta = 1 stopped on the lower one depending on the features' scale (a review: 22 % of such draws
    moved by over 1e-3 between scales 0.01 and 100; a log Bayes factor of 5.5 between a set and itself)."""
    rng = np.random.default_rng(5)
    for _ in range(12):
        classes, shots, dims = int(rng.integers(2, 7)), int(rng.integers(1, 4)), int(rng.integers(10, 80))
        labels = np.repeat(np.arange(classes), shots)
        features = rng.normal(size=(classes, dims))[labels] * rng.uniform(0, 3) + rng.normal(size=(len(labels), dims))
        reference = logme(features, labels)
        assert logme(0.01 * features, labels) == pytest.approx(reference, abs=1e-6)
        assert logme(100 * features, labels) == pytest.approx(reference, abs=1e-6)
    labels = np.repeat(np.arange(3), 2)
    features = rng.normal(size=(3, 30))[labels] + rng.normal(size=(6, 30))
    assert logme(0.01 * features, labels) == pytest.approx(_brute_force_logme(features, labels), abs=1e-5)


def test_logme_stays_finite_for_degenerate_features():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    for features in (np.zeros((8, 3)), np.eye(3)[labels]):  # no signal; a perfect fit
        assert math.isfinite(logme(features, labels))


# --- orderings: informative features beat noise ------------------------------------


@pytest.mark.parametrize("name", ["logme", "hscore", "knn", "linear_cv"])
def test_informative_features_score_above_noise(name, rng):
    labels = np.repeat(np.arange(4), 15)
    noise = rng.standard_normal((60, 16))
    informative = noise + 3.0 * np.eye(4, 16)[labels]
    assert score_features(name, informative, labels) > score_features(name, noise, labels)


# --- H-score -----------------------------------------------------------------------


def test_hscore_by_hand_in_one_dimension():
    # One feature: Ledoit-Wolf has nothing to shrink toward (alpha = 0), so the score
    # is between-class variance over total variance. f = [0, 2, 4, 6], means 1 and 5:
    # total var = (9 + 1 + 1 + 9) / 4 = 5, between var = (4 + 4) / 2 = 4, H = 0.8.
    features = np.array([[0.0], [2.0], [4.0], [6.0]])
    assert hscore(features, np.array([0, 0, 1, 1])) == pytest.approx(0.8, abs=1e-12)


def test_hscore_matches_a_direct_formula(rng):
    from sklearn.covariance import ledoit_wolf

    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    features = rng.standard_normal((10, 4)) + 3.0 * np.eye(3, 4)[labels]
    shrunk, alpha = ledoit_wolf(features)
    assert 0.0 < alpha < 1.0  # the shrinkage is really exercised
    overall = features.mean(axis=0)
    between = np.zeros((4, 4))
    for i in range(len(labels)):
        gap = features[labels == labels[i]].mean(axis=0) - overall
        between += np.outer(gap, gap) / len(labels)
    expected = np.trace(np.linalg.inv(shrunk) @ ((1 - alpha) * between))
    plain = np.trace(np.linalg.inv(np.cov(features.T, bias=True)) @ between)
    value = hscore(features, labels)
    assert value == pytest.approx(expected, rel=1e-10)
    assert 0.0 < value <= plain <= 2.0 + 1e-12  # shrinkage never raises it; <= C - 1


# --- probes --------------------------------------------------------------------------


@pytest.mark.parametrize("probe", [knn, linear_cv])
def test_probes_give_one_on_separable_clusters(probe, rng):
    features, labels = _clusters(rng)
    assert probe(features, labels) == 1.0


def test_knn_by_hand_on_the_circle():
    # Unit vectors at these angles already have mean 0. Classes of 3 -> k = 2.
    # 0: {20 (c0), 260 (c1)} tie, cos 20 > cos 100 -> c0 ok; 20: {0, 120} c0 ok;
    # 120: {140 (c1), 20 (c0)} tie -> c1 wrong; 140: {120 (c0), 240 (c1)} -> c0 wrong;
    # 240: {260, 140} c1 ok; 260: {240 (c1), 0 (c0)} tie -> c1 ok. Accuracy 4/6.
    angles = np.deg2rad([0, 20, 120, 140, 240, 260])
    features = np.c_[np.cos(angles), np.sin(angles)]
    assert knn(features, np.array([0, 0, 0, 1, 1, 1])) == pytest.approx(4 / 6)


def test_probes_handle_singleton_classes():
    # Class 1 has one example: held out, nothing of its class remains, so it counts
    # as wrong; the three class-0 examples are classified correctly. 3/4 for both.
    features = np.array([[1.0, 0.1], [1.0, -0.1], [1.1, 0.0], [-3.0, 0.0]])
    labels = np.array([0, 0, 0, 1])
    assert knn(features, labels) == pytest.approx(3 / 4)
    assert linear_cv(features, labels) == pytest.approx(3 / 4)
    two = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert knn(two, np.array([0, 1])) == 0.0
    assert linear_cv(two, np.array([0, 1])) == 0.0


# --- errors for people -------------------------------------------------------------


def _bad_inputs():
    good = np.arange(12, dtype=np.float64).reshape(6, 2)
    labels = np.array([0, 0, 0, 1, 1, 1])
    with_nan = good.copy()
    with_nan[2, 1] = np.nan
    return {
        "nan features": (with_nan, labels, "NaN"),
        "wrong lengths": (good, labels[:5], "6 rows but labels have 5"),
        "one class": (good, np.zeros(6, dtype=int), "at least 2"),
        "3-D features": (good.reshape(6, 2, 1), labels, "2-D"),
        "float labels": (good, labels.astype(float), "integers"),
        "2-D labels": (good, labels[:, None], "1-D"),
    }


@pytest.mark.parametrize("name", ALL_SCORES)
@pytest.mark.parametrize("case", sorted(_bad_inputs()))
def test_bad_inputs_raise_transferkit_error(name, case, rng):
    features, labels, message = _bad_inputs()[case]
    with pytest.raises(TransferkitError, match=message):
        score_features(name, features, labels, _source_probs(rng, len(features)))


@pytest.mark.parametrize("name", ["leep", "nce"])
def test_scores_that_read_the_source_head_need_source_probs(name, rng):
    features, labels = _clusters(rng, per_class=3)
    with pytest.raises(TransferkitError, match="needs source_probs"):
        score_features(name, features, labels)
    logits = rng.standard_normal((len(labels), 4))
    with pytest.raises(TransferkitError, match="softmax"):
        score_features(name, features, labels, logits)
    with pytest.raises(TransferkitError, match="shape"):
        score_features(name, features, labels, _source_probs(rng, len(labels) + 1))


# --- speed ---------------------------------------------------------------------------


def test_logme_is_fast_on_5000_by_512(rng):
    features = rng.standard_normal((5000, 512)).astype(np.float32)
    labels = rng.integers(0, 10, size=5000)
    timings = []
    for _ in range(2):  # best of 2 (and one BLAS thread, see above): robust to a busy machine
        start = time.perf_counter()
        logme(features, labels)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 1.0, f"LogME took {min(timings):.3f} s"
