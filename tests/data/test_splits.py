import numpy as np
import pytest

from transferkit.data.splits import draw_shots, make_test_split
from transferkit.errors import TransferkitError


def test_test_split_is_stratified_fixed_and_disjoint():
    y = np.repeat(np.arange(4), 50)
    a, b = make_test_split(y, 0.3, split_seed=0), make_test_split(y, 0.3, split_seed=0)
    np.testing.assert_array_equal(a.test_idx, b.test_idx)
    assert not set(a.test_idx) & set(a.pool_idx)
    assert len(a.test_idx) + len(a.pool_idx) == len(y)
    assert np.bincount(y[a.test_idx]).tolist() == [15] * 4
    assert not np.array_equal(make_test_split(y, 0.3, split_seed=1).test_idx, a.test_idx)


def test_shots_come_from_pool_only_and_vary_with_seed():
    y = np.repeat(np.arange(3), 30)
    split = make_test_split(y, 0.3)
    lab0, unl0 = draw_shots(y, split.pool_idx, 5, seed=0)
    lab1, _ = draw_shots(y, split.pool_idx, 5, seed=1)
    assert np.bincount(y[lab0]).tolist() == [5, 5, 5]
    assert not set(lab0) & set(unl0)
    assert not (set(lab0) | set(unl0)) & set(split.test_idx)
    assert set(lab0) | set(unl0) == set(split.pool_idx)
    assert not np.array_equal(lab0, lab1)
    np.testing.assert_array_equal(lab0, draw_shots(y, split.pool_idx, 5, seed=0)[0])


def test_zero_shots_leaves_everything_unlabelled():
    y = np.repeat(np.arange(2), 10)
    split = make_test_split(y)
    lab, unl = draw_shots(y, split.pool_idx, 0, seed=0)
    assert len(lab) == 0 and set(unl) == set(split.pool_idx)


def test_class_with_fewer_than_k_examples_is_an_error():
    y = np.array([0] * 20 + [1] * 4)
    split = make_test_split(y, 0.25)
    with pytest.raises(TransferkitError, match="class 'b' has 3 examples.*shots=5"):
        draw_shots(y, split.pool_idx, 5, seed=0, classes=["a", "b"])


def test_class_too_small_to_split():
    with pytest.raises(TransferkitError, match="class 1 has 1 example"):
        make_test_split(np.array([0, 0, 0, 1]))


def test_copies_of_one_input_stay_on_one_side_of_the_test_split():
    from transferkit.data.overlap import copy_groups

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5)).astype(np.float32)
    y = np.repeat(np.arange(3), 20)
    x[20:40] = x[0:20]  # class 1's inputs are class 0's, under another label
    x[5] = x[3]  # and two copies within class 0
    x[45:50] = x[40]  # five copies in class 2
    groups = copy_groups(x)
    split = make_test_split(y, 0.3, 0, groups=groups)
    assert not set(groups[split.test_idx]) & set(groups[split.pool_idx])  # no test input is a training input
    assert set(split.test_idx) | set(split.pool_idx) == set(range(60)) and not set(split.test_idx) & set(split.pool_idx)
    assert all(0 < n < 20 for n in np.bincount(y[split.test_idx], minlength=3))
    # without copies the split is the one drawn without groups
    plain = make_test_split(y, 0.3, 0)
    distinct = make_test_split(y, 0.3, 0, groups=np.arange(60))
    np.testing.assert_array_equal(plain.test_idx, distinct.test_idx)
    assert set(groups[plain.test_idx]) & set(groups[plain.pool_idx])  # without groups these copies straddle it


def test_a_class_of_one_input_repeated_cannot_be_split():
    y = np.repeat(np.arange(2), 10)
    groups = np.r_[np.arange(10), np.full(10, 10)]  # class 1: ten copies of one input
    with pytest.raises(TransferkitError, match=r"class 1's 10 examples hold 1 distinct input, which all go to the training side") as e:
        make_test_split(y, 0.3, 0, groups=groups)
    assert "remove the exact duplicates" in e.value.fix


def test_class_names_that_differ_only_in_case_are_said_and_named_in_the_split_error(tmp_path):
    from transferkit.config import DataConfig
    from transferkit.errors import TransferkitWarning
    from transferkit.evaluate.prepare import load_section

    y = np.array([0] * 10 + [1])
    with pytest.raises(TransferkitError, match=r"class 'NEGATIVE' has 1 example: too few to split into test and pool; "
                       r"'NEGATIVE' and 'negative' differ only in case\. Fix: write 'negative' for those labels too, "
                       r"if they are one class; if they are two \(letters 'z' and 'Z'\), give every class at least 2 "
                       r"examples"):  # (a trial's 62 characters: 'z' and 'Z' are two letters)
        make_test_split(y, 0.3, 0, ["negative", "NEGATIVE"])
    with pytest.raises(TransferkitError, match=r"has 1 example: too few to split into test and pool\. Fix: give every"):
        make_test_split(y, 0.3, 0, ["negative", "neg"])
    rows = "".join(f"{i},{i % 5},{lab}\n" for i, lab in enumerate(["cat", "Cat", "dog", "Dog ", "bird"] * 4))
    (tmp_path / "t.csv").write_text("a,b,label\n" + rows)
    with pytest.warns(TransferkitWarning, match=r"class names that differ only in case or surrounding spaces: 'Cat' and 'cat'; 'Dog' and 'dog'\. "
                      "They are kept as separate classes"):
        domain = load_section(DataConfig(data=str(tmp_path / "t.csv")))
    assert len(domain.classes) == 5


def test_copies_do_not_change_the_test_fraction_or_refuse_a_class_that_can_be_split():
    y = np.repeat(np.arange(10), 100)
    twice = make_test_split(y, 0.3, 0, groups=np.repeat(np.arange(500), 2))  # every input stored twice
    assert np.bincount(y[twice.test_idx]).tolist() == [30] * 10
    groups = np.arange(1000)
    groups[np.flatnonzero(y == 3)[:50]] = 10**6  # half of class 3 is one input
    lopsided = make_test_split(y, 0.3, 0, groups=groups)
    assert np.bincount(y[lopsided.test_idx]).tolist() == [30] * 10
    assert 10**6 not in set(groups[lopsided.test_idx])  # the 50 copies would overfill the test part
    small = np.repeat([0, 1], 10)
    nine = np.r_[np.arange(10), np.full(9, 10), 11]  # class 1: one input 9 times, and one other input
    for seed in range(30):
        split = make_test_split(small, 0.3, seed, groups=nine)
        assert set(nine[split.test_idx]) and not set(nine[split.test_idx]) & set(nine[split.pool_idx])
    rng = np.random.default_rng(1)
    for t in range(200):  # without copies: the split drawn without groups, exactly
        labels = rng.integers(0, rng.integers(2, 6), size=rng.integers(30, 120))
        plain = make_test_split(labels, 0.3, t)
        distinct = make_test_split(labels, 0.3, t, groups=np.arange(len(labels)))
        np.testing.assert_array_equal(plain.test_idx, distinct.test_idx)


def test_a_run_says_when_target_classes_differ_from_the_sources_only_in_case(image_npz):
    import warnings

    from tests.conftest import tiny_experiment
    from transferkit.config import load_config
    from transferkit.errors import TransferkitWarning
    from transferkit.evaluate.prepare import prepare

    src, tgt = image_npz
    t = np.load(tgt)
    np.savez(tgt, x=t["x"], y=t["y"], classes=np.array(["A", "b", "c"]))  # 'A' here, 'a' in the source
    with pytest.warns(TransferkitWarning, match=r"1 target class name differs from the source's only in case or "
                      r"spaces: 'A' \(source 'a'\)"):  # fmt: skip
        data = prepare(load_config(None, raw=tiny_experiment(src, tgt)))
    assert any("'A' (source 'a')" in n for n in data.notes)  # kept for the report
    np.savez(tgt, x=t["x"], y=t["y"], classes=np.array(["a", "b", "c"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)
        prepare(load_config(None, raw=tiny_experiment(src, tgt)))


def test_one_example_is_one_example_in_the_messages():
    """A new user's error read '1 examples'."""
    import numpy as np
    import pytest

    from transferkit.data.splits import draw_shots
    from transferkit.errors import TransferkitError

    y = np.array([0, 0, 0, 1])
    with pytest.raises(TransferkitError, match=r"target class 'b' has 1 example in the training pool, fewer than shots=2"):
        draw_shots(y, np.arange(4), 2, 0, ["a", "b"])
    # 5 of a class in all and shots=5: no test_fraction can help (it was advised), the test split takes one
    y = np.array([0] * 10 + [1] * 5)
    with pytest.raises(TransferkitError, match=r"class 'b' has 4 examples in the training pool, fewer than shots=5\.") as e:
        draw_shots(y, np.flatnonzero(np.arange(15) != 14), 5, 0, ["a", "b"])
    # the limit is the pool's, not the class's total ("below 5" was advised, and 4 is the most that works)
    assert "use `shots` of at most 4 (the smallest class's training pool; class 'b' has 5 in all" in e.value.fix
    assert "test_fraction" not in e.value.fix
    draw_shots(y, np.flatnonzero(np.arange(15) != 14), 4, 0, ["a", "b"])  # the advice works
    with pytest.raises(TransferkitError) as e:  # 9 of 10 in the pool, shots=10 ... and 12 in all: test_fraction helps
        draw_shots(np.array([0] * 12), np.arange(9), 10, 0, ["a"])
    assert "use `shots` of at most 9" in e.value.fix and "lower `test_fraction`" in e.value.fix
    # TREC fine: the first short class in draw order had 4 in its pool (5 in all) and was named, with test_fraction
    # advised, while five classes held 2 in all, for which no test_fraction works
    y = np.array([0] * 20 + [1] * 5 + [2] * 2 + [3] * 2)
    pool = np.array([i for i in range(len(y)) if i not in (24, 26, 28)])  # one of each of b, c, d in the test split
    with pytest.raises(TransferkitError, match=r"target class 'c' has 1 example in the training pool, fewer than "
                                               r"shots=5, as do 2 more classes: 'd', 'b'\.") as e:  # fmt: skip
        draw_shots(y, pool, 5, 0, ["a", "b", "c", "d"])
    assert "class 'c' has 2 in all" in e.value.fix and "test_fraction" not in e.value.fix


def test_labels_that_read_as_ids_are_named_as_such():
    """A new user's `label_column: id` (values like '100_12') was refused as "class '100_12' has 1
    example", which names a symptom; the column is the problem."""
    ids = np.arange(200)
    with pytest.raises(TransferkitError, match=r"take 200 distinct values among its 200 examples, 200 of them once: that "
                                               r"reads as an id or a measurement"):  # fmt: skip
        make_test_split(ids)
    many = np.repeat(np.arange(40), 5)  # 40 classes of 5: classes, if many of them
    assert len(make_test_split(many).test_idx) > 0


def test_classes_numbered_alike_in_two_data_sets_are_said_to_be_taken_as_the_same():
    """A series trial: ItalyPowerDemand and GunPoint both label their classes 1, 2; source_only ran
    ItalyPower's head on GunPoint (45.6 %, below one class's rate) and auto called it a domain shift."""
    import numpy as np

    from transferkit.data.domain import Domain
    from transferkit.data.splits import numbered_classes_note

    x = np.zeros((4, 5), np.float32)
    meta = {"classes_from_labels": True}
    src = Domain("ItalyPower.npz", x, np.array([0, 1, 0, 1]), ["1", "2"], meta=meta)
    tgt = Domain("GunPoint.npz", x, np.array([0, 1, 0, 1]), ["1", "2"], meta=meta)
    note = numbered_classes_note(src, tgt)
    assert note.startswith("the source's and the target's classes are both named by numbers ('1', '2'), so they are "
                           "taken to be the same classes") and "classes=names" in note  # fmt: skip
    named = Domain("mnist5k", x, np.array([0, 1, 0, 1]), ["1", "2"])  # names given as such (the built-in digits)
    assert numbered_classes_note(named, Domain("optdigits", x, np.array([0, 1, 0, 1]), ["1", "2"])) is None
    assert numbered_classes_note(src, Domain("GunPoint.npz[1,2]", x, np.array([0, 1, 0, 1]), ["1", "2"])) is not None
    assert numbered_classes_note(src, Domain("ItalyPower.npz[1,2]", x, np.array([0, 1, 0, 1]), ["1", "2"])) is None
    assert numbered_classes_note(src, Domain("t.npz", x, np.array([0, 1, 0, 1]), ["a", "b"], meta=meta)) is None


def test_every_class_too_small_for_the_split_or_the_shots_is_named_in_one_error():
    """A review: a many-class text run was told of one too-small class at a time, with no word of
    leaving classes out; now all of them (the first 10, then how many more) and `target.classes`."""
    from transferkit.data.splits import draw_shots

    names = [f"topic{i}" for i in range(30)]
    y = np.concatenate([np.zeros(50, dtype=int), np.arange(1, 15), np.repeat(np.arange(15, 30), 3)])  # 14 of 1 example
    with pytest.raises(TransferkitError) as e:
        make_test_split(y, 0.3, 0, names)
    listed = ", ".join(f"'topic{i}'" for i in range(2, 12))
    assert e.value.problem == (f"target class 'topic1' has 1 example: too few to split into test and pool, as do 13 "
                               f"more classes: {listed} and 3 more.")  # fmt: skip
    assert "leave those 14 classes out (list the classes to keep in the experiment's `target.classes`" in e.value.fix
    assert "\n" not in str(e.value)
    with pytest.raises(TransferkitError, match=r"of class 'topic1' rounds to no test example, as does 1 more class: "
                                               r"'topic2'\. Fix: use test_fraction 0\.251 or more, add examples, or "
                                               r"leave those 2 classes out"):  # fmt: skip
        make_test_split(np.repeat([0, 1, 2, 3], [50, 2, 2, 3]), 0.2, 0, names)
    with pytest.raises(TransferkitError, match=r"of class 'topic1' leaves none for training, as do 2 more classes: "
                                               r"'topic2', 'topic3'\. Fix: use test_fraction 0\.749 or less"):  # fmt: skip
        make_test_split(np.repeat([0, 1, 2, 3], [50, 2, 2, 3]), 0.9, 0, names)
    y = np.repeat(np.arange(15), [50, 50] + [6] * 13)  # 13 classes with 4 in the pool, 5 shots asked
    with pytest.raises(TransferkitError) as e:
        draw_shots(y, make_test_split(y, 0.3, 0, names).pool_idx, 5, 0, names)
    assert e.value.problem.endswith(", as do 12 more classes: " + ", ".join(f"'topic{i}'" for i in range(3, 13))
                                    + " and 2 more.")  # fmt: skip
    assert e.value.fix.startswith("use `shots` of at most 4 (the smallest class's training pool), lower `test_fraction`, "
                                  "leave those 13 classes out (list the classes to keep in the experiment's "
                                  "`target.classes`; rank: --classes), or add examples.")  # fmt: skip
    with pytest.raises(TransferkitError) as e:  # every class short: leaving them out cannot help, and is not advised
        draw_shots(y[y > 1], make_test_split(y[y > 1], 0.3, 0).pool_idx, 5, 0)
    assert "leave" not in e.value.fix and "use `shots` of at most 4" in e.value.fix
    with pytest.raises(TransferkitError) as e:  # nor where one class would be left
        make_test_split(np.repeat([0, 1, 2], [9, 1, 1]), 0.3, 0)
    assert e.value.fix == "give every class at least 2 examples (better 10+)."
