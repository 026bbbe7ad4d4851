"""Few-shot episodes, methods and evaluation on synthetic features."""

from __future__ import annotations

import time

import numpy as np
import pytest

from transferkit.errors import TransferkitError
from transferkit.fewshot import (
    FEWSHOT_METHODS,
    Episode,
    FewShotMethod,
    check_novel,
    confidence_interval,
    evaluate_episodes,
    get_fewshot_method,
    sample_episodes,
)
from transferkit.fewshot.bd_cspn import _rank_in_class

METHODS = sorted(FEWSHOT_METHODS)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def clusters(
    rng: np.random.Generator, n_classes: int = 10, per_class: int = 40, dim: int = 32, noise=1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: class centres ~ N(0, I), examples ~ N(centre, noise^2 I)."""
    centres = rng.normal(size=(n_classes, dim))
    labels = np.repeat(np.arange(n_classes), per_class)
    return centres[labels] + noise * rng.normal(size=(len(labels), dim)), labels


def shifted_accuracy(method: str, features, episodes, shift) -> float:
    """Mean accuracy when every query is moved by the same ``shift`` vector."""
    accs = [
        np.mean(
            get_fewshot_method(method)(
                features[ep.support_idx], ep.support_y, features[ep.query_idx] + shift, ep.n_way
            ).argmax(axis=1)
            == ep.query_y
        )
        for ep in episodes
    ]
    return float(np.mean(accs))


# --- episodes ---------------------------------------------------------------------


def test_episode_counts_classes_and_disjointness():
    labels = np.repeat(np.array([3, 7, 11, 20, 42, 99]), 25)
    episodes = sample_episodes(labels, n_way=4, k_shot=3, n_query=5, n_episodes=50, seed=1)
    assert len(episodes) == 50
    for ep in episodes:
        assert ep.support_idx.shape == ep.support_y.shape == (12,)
        assert ep.query_idx.shape == ep.query_y.shape == (20,)
        assert len(set(ep.classes.tolist())) == 4
        assert np.bincount(ep.support_y).tolist() == [3] * 4
        assert np.bincount(ep.query_y).tolist() == [5] * 4
        assert not set(ep.support_idx) & set(ep.query_idx)
        assert len(set(ep.support_idx)) == 12 and len(set(ep.query_idx)) == 20
        # Relabelling: position j in ``classes`` is label j.
        assert np.array_equal(labels[ep.support_idx], ep.classes[ep.support_y])
        assert np.array_equal(labels[ep.query_idx], ep.classes[ep.query_y])


def test_copies_of_a_support_example_are_never_its_episodes_queries():
    """Support and query were disjoint by row only: a target holding each input twice put a
    copy of a support image among the queries of about 1 % (K = 1) to 6 % (K = 5) of them."""
    from transferkit.data.overlap import copy_groups

    x = np.repeat(np.arange(120.0).reshape(60, 2), 2, axis=0)  # 60 inputs, each twice
    labels = np.repeat(np.arange(6), 20)  # a copy always shares its class
    groups = copy_groups(x)
    assert groups.tolist() == np.repeat(np.arange(60), 2).tolist()
    plain = sample_episodes(labels, 4, 5, 8, 200, seed=0)
    clashes = sum(len(set(groups[ep.support_idx]) & set(groups[ep.query_idx])) for ep in plain)
    assert clashes > 20  # the layout does put copies of support examples among queries
    kept = sample_episodes(labels, 4, 5, 8, 200, seed=0, groups=groups)
    for ep in kept:
        assert not set(groups[ep.support_idx]) & set(groups[ep.query_idx])
        assert len(set(ep.query_idx)) == 32 and np.array_equal(labels[ep.query_idx], ep.classes[ep.query_y])
    distinct = np.arange(len(labels))  # no copies: the same episodes as without groups
    assert all(np.array_equal(a.query_idx, b.query_idx) and np.array_equal(a.support_idx, b.support_idx)
               for a, b in zip(plain, sample_episodes(labels, 4, 5, 8, 200, seed=0, groups=distinct), strict=True))  # fmt: skip
    few = np.arange(120)
    few[:16] = 0  # class 'a' (rows 0-19): 16 copies of one input, 4 others
    with pytest.raises(TransferkitError, match=r"class 'a' has 20 examples but only 5 distinct inputs \(the rest are "
                                               r"exact copies\): an episode whose support holds copied inputs can leave it "
                                               r"fewer than 15 examples that are none of the support's") as e:  # fmt: skip
        sample_episodes(labels, 6, 1, 15, 50, seed=0, groups=few, class_names=list("abcdef"))
    assert e.value.fix == "remove the duplicate inputs from that class, or lower n_query to 4 or fewer (no episode can then fall short)."
    across = copy_groups(np.r_[np.arange(20.0), np.arange(20.0), 100 + np.arange(20.0)][:, None])  # class 1 = class 0
    for ep in sample_episodes(np.repeat(np.arange(3), 20), 3, 5, 10, 100, seed=0, groups=across):
        assert not set(across[ep.support_idx]) & set(across[ep.query_idx])  # not in another class's queries either


def test_a_class_that_copies_could_leave_short_of_queries_is_refused_before_any_episode():
    """A class of exactly k_shot + n_query examples, one a copy of another class's input, passed the count
    check and then failed on the first episode that drew both (a review), saying it had "6 examples but only 6
    distinct inputs"; a pair of copies within a class, only on an episode that split the pair."""
    labels = np.repeat(np.arange(3), 6)
    groups = np.arange(18)
    groups[6] = groups[0]  # class 1's first input is class 0's first
    with pytest.raises(TransferkitError, match=r"^class 'p' has 6 examples, 1 of them an exact copy of another "
                                               r"class's input: .* can leave it fewer than 4 examples that are none of "
                                               r"the support's") as e:  # fmt: skip
        sample_episodes(labels, 3, 2, 4, 1, seed=0, groups=groups, class_names=["p", "q", "r"])
    assert e.value.fix == ("remove the duplicate inputs (an input saved under two classes belongs to one) from that "
                           "class, or lower n_query to 3 or fewer (no episode can then fall short).")  # fmt: skip
    within = np.arange(18)
    within[1] = within[0]  # two copies in class 0
    with pytest.raises(TransferkitError, match="only 5 distinct inputs"):
        sample_episodes(labels, 3, 2, 4, 1, seed=0, groups=within)
    for spare in (groups, within):  # one more example each: every episode can be drawn, whatever its support
        g = np.r_[spare[:6], 100, spare[6:12], 101, spare[12:], 102]
        for ep in sample_episodes(np.repeat(np.arange(3), 7), 3, 2, 4, 300, seed=1, groups=g):
            assert not set(g[ep.support_idx]) & set(g[ep.query_idx])
    labels, groups = np.repeat(np.arange(4), 7), np.arange(28)
    groups[[7, 14, 21]] = [0, 1, 2]  # class 0's first three inputs, one in each other class
    for ep in sample_episodes(labels, 2, 2, 4, 300, seed=0, groups=groups):  # 2-way: one other class at a time
        assert not set(groups[ep.support_idx]) & set(groups[ep.query_idx])
    with pytest.raises(TransferkitError, match="3 of them exact copies of another class's inputs: .* fewer than 4"):
        sample_episodes(labels, 4, 2, 4, 1, seed=0, groups=groups)  # 4-way: all three beside it
    labels, groups = np.r_[[0] * 5, [1] * 4], np.array([0, 0, 1, 2, 3, 0, 4, 5, 6])  # {A, A, x, y, z} and {A, p, q, r}
    for ep in sample_episodes(labels, 2, 1, 2, 300, seed=0, groups=groups):  # one copied input counted once, not
        assert not set(groups[ep.support_idx]) & set(groups[ep.query_idx])  # twice, as both classes' pick (a review)


def test_same_seed_same_episodes_other_seed_other():
    labels = np.repeat(np.arange(10), 20)
    a, b, c = (sample_episodes(labels, 5, 1, 5, 20, seed=s) for s in (3, 3, 4))
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.support_idx, y.support_idx)
        assert np.array_equal(x.query_idx, y.query_idx)
        assert np.array_equal(x.classes, y.classes)
    assert any(not np.array_equal(x.query_idx, z.query_idx) for x, z in zip(a, c, strict=True))


def test_class_with_too_few_examples_is_named():
    labels = np.concatenate([np.repeat([0, 1, 2], 20), np.full(4, 5)])
    with pytest.raises(TransferkitError, match="class 5 has 4") as info:
        sample_episodes(labels, n_way=3, k_shot=1, n_query=15)
    assert "16" in str(info.value) and "lower k_shot + n_query to at most 4" in info.value.fix
    assert "leave those classes out" in info.value.fix  # 3 classes are left for 3-way episodes
    with pytest.raises(TransferkitError, match="class 0 has 20") as info:  # every class short: leaving out cannot help
        sample_episodes(labels, n_way=3, k_shot=10, n_query=15)
    assert "leave those classes out" not in info.value.fix and info.value.fix.endswith("at most 4.")
    assert info.value.fix == "give those classes at least 25 examples each, or lower k_shot + n_query to at most 4."
    one = np.concatenate([np.repeat([0, 1, 2], 20), [5]])
    with pytest.raises(TransferkitError, match="class 5 has 1") as info:  # no K + Q fits one example: not offered
        sample_episodes(one, n_way=3, k_shot=1, n_query=15)
    assert "at least 16 examples each" in info.value.fix and "lower" not in info.value.fix


def test_n_way_larger_than_classes():
    with pytest.raises(TransferkitError, match="n_way=6, but there are only 5 novel classes"):
        sample_episodes(np.repeat(np.arange(5), 30), n_way=6)


@pytest.mark.parametrize("arg", ["n_way", "k_shot", "n_query", "n_episodes"])
def test_arguments_below_one(arg):
    with pytest.raises(TransferkitError, match=arg):
        sample_episodes(np.repeat(np.arange(5), 30), **{arg: 0})


def test_float_labels_refused():
    with pytest.raises(TransferkitError, match="integer class ids"):
        sample_episodes(np.repeat(np.arange(5.0), 30), n_way=2)


def test_check_novel():
    check_novel([5, 6, 7], seen_classes=range(5))
    with pytest.raises(TransferkitError, match="2 novel class.*3, 4"):
        check_novel(np.array([3, 4, 5]), seen_classes=range(5))
    with pytest.raises(TransferkitError, match="'cat'"):
        check_novel(["cat", "owl"], ["cat", "dog"])


# --- registry and the method contract ------------------------------------------------


def test_registry():
    assert set(METHODS) >= {"simpleshot", "bd_cspn", "soft_kmeans", "logistic"}
    assert get_fewshot_method("bd_cspn").transductive
    assert get_fewshot_method("soft_kmeans").transductive
    assert not get_fewshot_method("simpleshot").transductive
    assert not get_fewshot_method("logistic").transductive
    with pytest.raises(TransferkitError, match="Unknown few-shot method 'simpleshoot'.*simpleshot"):
        get_fewshot_method("simpleshoot")
    with pytest.raises(TransferkitError, match="does not take temperature.*base_mean"):
        get_fewshot_method("simpleshot")(np.eye(2), np.arange(2), np.eye(2), 2, temperature=1.0)


@pytest.mark.parametrize("name", METHODS)
def test_method_contract(name, rng):
    method = get_fewshot_method(name)
    assert method.description
    features, labels = clusters(rng, n_classes=5, per_class=8, dim=16)
    (ep,) = sample_episodes(labels, n_way=5, k_shot=2, n_query=6, n_episodes=1, seed=0)
    probs = method(features[ep.support_idx], ep.support_y, features[ep.query_idx], 5)
    assert probs.shape == (30, 5) and probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    with_mean = method(
        features[ep.support_idx], ep.support_y, features[ep.query_idx], 5, base_mean=np.ones(16)
    )
    assert with_mean.shape == (30, 5)
    with pytest.raises(TransferkitError, match="base_mean"):
        method(features[ep.support_idx], ep.support_y, features[ep.query_idx], 5, base_mean=[1])
    with pytest.raises(TransferkitError, match=r"class\(es\) \[4\] have none"):
        method(features[ep.support_idx], ep.support_y % 4, features[ep.query_idx], 5)


@pytest.mark.parametrize("name", [m for m in METHODS if FEWSHOT_METHODS[m].batched])
def test_batched_equals_one_by_one(name, rng):
    method = get_fewshot_method(name)
    features, labels = clusters(rng, n_classes=8, per_class=10, dim=16, noise=2.0)
    episodes = sample_episodes(labels, n_way=4, k_shot=2, n_query=5, n_episodes=6, seed=0)
    batch = method(
        features[np.stack([ep.support_idx for ep in episodes])],
        np.stack([ep.support_y for ep in episodes]),
        features[np.stack([ep.query_idx for ep in episodes])],
        4,
    )
    for ep, probs in zip(episodes, batch, strict=True):
        one = method(features[ep.support_idx], ep.support_y, features[ep.query_idx], 4)
        np.testing.assert_allclose(probs, one, atol=1e-6)


# --- accuracy -------------------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_separable_clusters_near_perfect(name, rng):
    features, labels = clusters(rng, noise=0.3)
    episodes = sample_episodes(labels, n_way=5, k_shot=1, n_query=15, n_episodes=50, seed=0)
    assert evaluate_episodes(features, labels, episodes, name).mean > 0.98


@pytest.mark.parametrize("name", METHODS)
def test_noise_features_chance_level(name, rng):
    _, labels = clusters(rng)
    features = rng.normal(size=(len(labels), 32))
    episodes = sample_episodes(labels, n_way=5, k_shot=5, n_query=15, n_episodes=100, seed=0)
    assert 0.12 < evaluate_episodes(features, labels, episodes, name).mean < 0.28


def test_transduction_helps_with_cluster_structure(rng):
    # 1 shot is a noisy class mean; 15 queries per class show where the clusters are.
    features, labels = clusters(rng, noise=1.5)
    episodes = sample_episodes(labels, n_way=5, k_shot=1, n_query=15, n_episodes=100, seed=0)
    acc = {m: evaluate_episodes(features, labels, episodes, m).mean for m in METHODS}
    assert acc["soft_kmeans"] > acc["simpleshot"] + 0.10
    assert acc["bd_cspn"] > acc["simpleshot"] + 0.01


def test_shift_term_removes_support_query_shift(rng):
    features, labels = clusters(rng, noise=0.7)
    episodes = sample_episodes(labels, n_way=5, k_shot=1, n_query=15, n_episodes=50, seed=0)
    shift = 3.0 * rng.normal(size=32)
    plain = shifted_accuracy("simpleshot", features, episodes, shift)
    assert plain < 0.9
    assert shifted_accuracy("bd_cspn", features, episodes, shift) > plain + 0.1
    assert shifted_accuracy("soft_kmeans", features, episodes, shift) > plain


def test_bd_cspn_top_z(rng):
    features, labels = clusters(rng, n_classes=5, per_class=12, dim=16, noise=1.5)
    (ep,) = sample_episodes(labels, n_way=5, k_shot=1, n_query=10, n_episodes=1)
    args = (features[ep.support_idx], ep.support_y, features[ep.query_idx], 5)
    bd = get_fewshot_method("bd_cspn")
    np.testing.assert_allclose(bd(*args, top_z=50), bd(*args))
    assert not np.allclose(bd(*args, top_z=1), bd(*args))
    sim = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.9, 0.0]])
    assert _rank_in_class(sim).tolist() == [0, 2, 0, 1]


def test_logistic_reaches_the_optimum(rng):
    # At the minimum of mean cross-entropy + l2/2 |W|^2 the gradient vanishes; check it
    # by finite differences of the objective written out here, independently of _fit.
    from transferkit.fewshot.logistic import _fit

    x = rng.normal(size=(12, 6))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    onehot = np.eye(3)[np.arange(12) % 3]
    l2 = 0.05

    def objective(theta: np.ndarray) -> float:
        rows = theta.reshape(7, 3)  # weights (6, 3) then the bias (1, 3)
        w, b = rows[:-1], rows[-1:]
        logits = x @ w + b
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return -np.mean((log_p * onehot).sum(axis=1)) + l2 / 2 * np.sum(w * w)

    w, b = _fit(x, onehot, l2, max_steps=2000, tol=1e-9)
    theta = np.concatenate([w, b]).ravel()
    eps = 1e-6
    grad = [
        (objective(theta + eps * e) - objective(theta - eps * e)) / (2 * eps)
        for e in np.eye(len(theta))
    ]
    assert np.abs(grad).max() < 1e-6
    assert np.abs(w).max() > 0.1  # not the trivial solution


# --- evaluation -----------------------------------------------------------------------


def test_confidence_interval_by_hand():
    mean, ci95 = confidence_interval(np.array([0.5, 0.7, 0.9]))
    # std with ddof=1: sqrt((0.04 + 0 + 0.04) / 2) = 0.2
    assert mean == pytest.approx(0.7)
    assert ci95 == pytest.approx(4.303 * 0.2 / np.sqrt(3), rel=1e-3)  # Student's t, 2 degrees of freedom
    assert confidence_interval(np.tile([0.5, 0.7, 0.9], 200))[1] == pytest.approx(1.964 * np.std(np.tile([0.5, 0.7, 0.9], 200), ddof=1) / np.sqrt(600), rel=1e-3)
    assert np.isnan(confidence_interval(np.array([0.5]))[1])


def test_evaluate_scores_every_episode():
    # Two classes on a line; the second episode's query of class 1 sits nearer class 0.
    features = np.array([[-1.0], [1.0], [-0.9], [0.9], [-0.2]]) + np.array([[0.0]])
    features = np.hstack([features, np.ones((5, 1))])
    labels = np.array([0, 1, 0, 1, 1])

    def episode(query):
        return Episode(
            np.array([0, 1]), np.array([0, 1]), np.array(query), np.array([0, 1]), np.array([0, 1])
        )

    episodes = [episode([2, 3]), episode([2, 4])]
    result = evaluate_episodes(
        features, labels, episodes, "simpleshot", context={"base_mean": np.array([0.0, 0.0])}
    )
    assert result.accuracies.tolist() == [1.0, 0.5]
    assert result.mean == pytest.approx(0.75)
    assert result.ci95 == pytest.approx(12.706 * np.std([1.0, 0.5], ddof=1) / np.sqrt(2), rel=1e-4)
    assert result.interval == pytest.approx((0.75 - result.ci95, 0.75 + result.ci95))
    assert result.as_dict()["n_episodes"] == 2 and "simpleshot: 75.00 ±" in str(result)


def test_evaluate_one_episode_at_a_time_method(rng, monkeypatch):
    calls = []

    def nearest_first_support(support_f, support_y, query_f, n_way):
        calls.append(support_f.shape)
        return np.full((len(query_f), n_way), 1.0 / n_way)

    method = FewShotMethod("uniform", nearest_first_support, "Always unsure.", False)
    monkeypatch.setitem(FEWSHOT_METHODS, "uniform", method)
    features, labels = clusters(rng, n_classes=5, per_class=10, dim=4)
    episodes = sample_episodes(labels, n_way=5, k_shot=2, n_query=3, n_episodes=7)
    result = evaluate_episodes(features, labels, episodes, "uniform")
    assert calls == [(10, 4)] * 7 and result.mean == pytest.approx(0.2)


def test_evaluate_refuses_mismatched_inputs(rng):
    features, labels = clusters(rng, n_classes=5, per_class=10, dim=4)
    episodes = sample_episodes(labels, n_way=3, k_shot=1, n_query=2, n_episodes=3)
    with pytest.raises(TransferkitError, match="disagrees with the labels"):
        evaluate_episodes(features, (labels + 1) % 5, episodes, "simpleshot")
    with pytest.raises(TransferkitError, match="only 20 features"):
        evaluate_episodes(features[:20], labels[:20], episodes, "simpleshot")
    with pytest.raises(TransferkitError, match="No episodes"):
        evaluate_episodes(features, labels, [], "simpleshot")
    with pytest.raises(TransferkitError, match="Unknown few-shot method"):
        evaluate_episodes(features, labels, episodes, "protonet")


def test_600_episodes_5_way_5_shot_under_10_seconds(rng):
    features, labels = clusters(rng, n_classes=20, per_class=30, dim=64)
    episodes = sample_episodes(labels, n_way=5, k_shot=5, n_query=15, n_episodes=600, seed=0)
    start = time.perf_counter()
    result = evaluate_episodes(features, labels, episodes, "simpleshot")
    assert time.perf_counter() - start < 10.0
    assert len(result.accuracies) == 600 and result.seconds < 10.0


def test_per_class_counts_find_the_classes_that_look_alike(rng):
    """Classes 3 and 7 share a centre: their queries are confused, the others' are not."""
    ids = np.array([3, 7, 11, 20, 42])
    centres = {c: 10 * rng.normal(size=8) for c in ids}
    centres[7] = centres[3]
    labels = np.repeat(ids, 30)
    features = np.stack([centres[c] for c in labels]) + 0.3 * rng.normal(size=(len(labels), 8))
    episodes = sample_episodes(labels, n_way=3, k_shot=1, n_query=5, n_episodes=200, seed=0)
    res = evaluate_episodes(features, labels, episodes, "simpleshot")
    drawn = {c: sum(c in ep.classes for ep in episodes) for c in ids}
    assert res.class_ids.tolist() == ids.tolist()
    assert res.class_total.tolist() == [5 * drawn[c] for c in ids]  # every query counted once
    assert res.class_correct.sum() / res.class_total.sum() == pytest.approx(res.mean)
    acc = {c: res.class_correct[i] / res.class_total[i] for i, c in enumerate(ids)}
    assert min(acc[11], acc[20], acc[42]) > 0.95 and max(acc[3], acc[7]) < 0.9


def test_negative_and_large_class_ids_are_counted_by_id():
    labels = np.repeat(np.array([-2, -1, 0, 5, 10**7]), 20)
    episodes = sample_episodes(labels, 3, 1, 5, n_episodes=30, seed=0)
    res = evaluate_episodes(np.eye(5)[np.searchsorted(np.unique(labels), labels)], labels, episodes, "simpleshot")
    assert res.class_ids.tolist() == [-2, -1, 0, 5, 10**7] and res.class_total.sum() == 30 * 15
    assert res.mean == 1.0 and np.array_equal(res.class_correct, res.class_total)


def test_class_names_equal_but_for_a_plural_are_twins_es_plurals_too():
    from transferkit.fewshot.episodes import case_twins

    seen = ["Dress", "Box", "Watch", "Coat", "Shoe", "Glass", "Size", "Cache", "Bus", "Dog"]
    novel = ["Dresses", "Boxes", "Watches", "Coats", "Shoes", "Glasses", "Sizes", "Caches", "Buses", "Cat", "Doge"]
    assert sorted(case_twins(novel, seen)) == sorted([("Dresses", "Dress"), ("Boxes", "Box"), ("Watches", "Watch"),
                                                      ("Coats", "Coat"), ("Shoes", "Shoe"), ("Glasses", "Glass"),
                                                      ("Sizes", "Size"), ("Caches", "Cache"), ("Buses", "Bus")])  # fmt: skip
    assert case_twins(["07", "00", "1.0", "10", "70"], ["7", "0", "10"]) == [("07", "7"), ("00", "0")]  # leading zeros only


def test_the_copies_check_never_accepts_a_class_an_episode_can_leave_short():
    """Random small layouts of copies, within and across classes: a layout the up-front check accepts never
    fails while its episodes are drawn (that failure, mid-run, is what the check is there to prevent)."""
    rng = np.random.default_rng(0)
    accepted = 0
    for _ in range(150):
        sizes = rng.integers(3, 7, size=3)
        labels = np.repeat(np.arange(3), sizes)
        groups = rng.integers(0, len(labels) - rng.integers(1, 4), size=len(labels))  # a few inputs stored twice
        try:
            episodes = sample_episodes(labels, 2, 1, 2, 60, seed=int(rng.integers(1000)), groups=groups)
        except TransferkitError as e:
            assert "can leave it fewer than 2 examples" in e.problem, e.problem  # refused up front, not mid-run
            continue
        accepted += 1
        assert all(not set(groups[ep.support_idx]) & set(groups[ep.query_idx]) for ep in episodes)
    assert 20 < accepted < 150  # both outcomes happen here
