"""TransferClassifier(class_weight=): each class's weight in the losses on the labelled examples."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests.conftest import make_images
from transferkit import TransferClassifier
from transferkit.class_weights import class_weights
from transferkit.errors import TransferkitError, TransferkitWarning
from transferkit.methods import get_method
from transferkit.train.probe import L2_GRID, cross_validate_l2


def test_balanced_weights_make_each_class_weigh_alike_and_a_dict_sets_its_own():
    y, labels, head = np.array([0] * 6 + [1] * 3 + [2] * 1), np.array(["a", "b", "c"]), get_method("head")
    w = class_weights("balanced", y, labels, head)
    assert torch.allclose(w, torch.tensor([10 / 18, 10 / 9, 10 / 3]))  # n / (C n_c), as scikit-learn's
    assert torch.allclose(w * torch.tensor([6.0, 3.0, 1.0]), torch.full((3,), 10 / 3))  # each class's total alike
    assert torch.equal(class_weights({"c": 4}, y, labels, head), torch.tensor([1.0, 1.0, 4.0]))
    ints = np.array([5, 7, 9])  # labels as numbers: keyed by them, or by their names as saved to JSON
    assert torch.equal(class_weights({9: 2.0}, y, ints, head), class_weights({"9": 2.0}, y, ints, head))
    for bad, said in (({"d": 2}, "names 'd', which is not one of y's classes"), ({"a": 0}, "the weight 0"),
                      ("balance", "class_weight='balance' is not a class weighting")):  # fmt: skip
        with pytest.raises(TransferkitError, match=said):
            class_weights(bad, y, labels, head)
    with pytest.warns(TransferkitWarning, match=r"y is imbalanced \(class 'a': 6 examples, 'c': 1\).*"
                                                r"class_weight='balanced'"):  # fmt: skip
        assert class_weights(None, y, labels, head) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert class_weights(None, np.array([0, 0, 1, 1, 2]), labels, head) is None  # 2 : 1, not warned of
        assert class_weights(None, y, labels, get_method("prototypes")) is None  # one mean per class: nothing to say
    with pytest.warns(TransferkitWarning, match="fits no loss on the labelled examples"):
        class_weights("balanced", y, labels, get_method("prototypes"))


@pytest.mark.parametrize("hidden", [0, 8])  # a dense head: every (value, fold) at once; a deeper one: a loop
def test_unit_class_weights_leave_the_cross_validation_as_it_was(hidden):
    from transferkit.models.specific import build_specific

    g = torch.Generator().manual_seed(0)
    feats, y = torch.randn(30, 6, generator=g), torch.arange(30) % 3
    scores = []
    for weight in (None, torch.ones(3)):
        torch.manual_seed(0)
        head = build_specific(6, 3, hidden)
        c = cross_validate_l2(head, feats, y, steps=20, class_weight=weight)
        scores.append((c.accuracy, c.loss))
    assert scores[0][0] == pytest.approx(scores[1][0]) and scores[0][1] == pytest.approx(scores[1][1])
    torch.manual_seed(0)
    tilted = cross_validate_l2(build_specific(6, 3, hidden), feats, y, steps=20, class_weight=torch.tensor([1.0, 9.0, 1.0]))
    assert tilted.loss != scores[0][1]  # weighed: another score


def test_the_one_pass_cross_validation_weighs_as_the_loop_does():
    """All (value, fold) pairs trained at once follow the loop's path, class weights included."""
    from transferkit.models.specific import build_specific
    from transferkit.train.probe import L2_GRID, _cv_linear, _cv_loop, _linear_tail, stratified_folds

    g = torch.Generator().manual_seed(1)
    feats, y = torch.randn(24, 5, generator=g), torch.tensor([0] * 12 + [1] * 8 + [2] * 4)
    weight = torch.tensor([0.5, 1.0, 3.0])
    fold, per = stratified_folds(y, 4, 0), weight[y]
    torch.manual_seed(0)
    head = build_specific(5, 3, 0)
    loop = _cv_loop(head, feats, y, fold, 4, L2_GRID, 30, 1e-2, False, per, weight)
    once = _cv_linear(*_linear_tail(head), feats, y, fold, 4, L2_GRID, 30, 1e-2, False, per, weight)
    for a, b in zip(loop, once, strict=True):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-5)


def test_fit_passes_the_weights_and_a_saved_classifier_keeps_them(tmp_path, monkeypatch):
    import transferkit.estimator as est

    xs, ys = make_images(20, seed=1)
    seen = []
    real = est.seeded_fit
    monkeypatch.setattr(est, "seeded_fit", lambda method, task: (seen.append(task.target.class_weight), real(method, task))[1])
    y = np.array(["x"] * 40 + ["y"] * 10 + ["z"] * 10)
    clf = TransferClassifier("scratch", method_params={"steps": 3}, class_weight={"x": 0.25}).fit(xs[:60], y)
    assert torch.equal(seen[-1].cpu(), torch.tensor([0.25, 1.0, 1.0]))
    clf.save(tmp_path / "m")
    assert TransferClassifier.load(tmp_path / "m").get_params()["class_weight"] == {"x": 0.25}
    numbers = np.array([5] * 40 + [7] * 10 + [9] * 10)  # numpy keys and weights: saved as JSON names and floats
    clf = TransferClassifier("scratch", method_params={"steps": 3}, class_weight={np.int64(9): np.float32(2)})
    clf.fit(xs[:60], numbers).save(tmp_path / "n")
    assert TransferClassifier.load(tmp_path / "n").get_params()["class_weight"] == {"9": 2.0}
    with pytest.warns(TransferkitWarning, match=r"y is imbalanced \(class 'x': 40 examples, 'y': 10\)"):
        TransferClassifier("scratch", method_params={"steps": 3}).fit(xs[:60], y)
    assert seen[-1] is None


def test_without_class_weight_the_looped_cross_validation_scores_as_before_bit_for_bit():
    """class_weight=None sums the held-out cross-entropy as before the weights came (reduction
    'sum'): a weighted sum of ones had differed in the last digits (1.63139259 against 1.63139267)."""
    import torch.nn.functional as F

    from transferkit.models.specific import build_specific
    from transferkit.train.probe import _train_head, stratified_folds

    g = torch.Generator().manual_seed(0)
    feats, y = torch.randn(200, 16, generator=g), torch.arange(200) % 5
    torch.manual_seed(0)
    head = build_specific(16, 5, 8)  # a deeper head: the loop
    start = {n: t.detach().clone() for n, t in head.state_dict().items()}
    choice = cross_validate_l2(head, feats, y, steps=30, folds=4, seed=0)
    fold, nll = stratified_folds(y, 4, 0), 0.0
    for f in range(4):  # the loop's first value, scored as it was before class_weight
        head.load_state_dict(start)
        _train_head(head, feats[fold != f], y[fold != f], 30, 1e-2, 0.0, L2_GRID[0], False, None)
        with torch.no_grad():
            nll += float(F.cross_entropy(head(feats[fold == f]), y[fold == f], reduction="sum"))
    assert choice.loss[L2_GRID[0]] == nll / len(y)


def test_an_unknown_class_weight_key_lists_y_classes_as_they_are():
    with pytest.raises(TransferkitError, match=r"names 4, which is not one of y's classes \(5, 7, 9\)"):
        class_weights({4: 2.0}, np.array([0, 1, 2]), np.array([5, 7, 9]), get_method("head"))


def test_a_dict_keyed_by_whole_numbers_weighs_float_labels_of_that_value():
    """y of 1.0, 2.0, 3.0 with {1: 2.0} was refused ("names 1, which is not one of y's classes"),
    where scikit-learn, as numpy, takes 1 == 1.0."""
    y, labels = np.array([0, 0, 1, 2]), np.array([1.0, 2.0, 3.0])
    assert torch.equal(class_weights({1: 2.0}, y, labels, get_method("head")), torch.tensor([2.0, 1.0, 1.0]))
    assert torch.equal(class_weights({"3": 4}, y, labels, get_method("head")), torch.tensor([1.0, 1.0, 4.0]))


def test_class_weight_without_labelled_examples_is_said_to_change_nothing():
    xs, ys = make_images(20, seed=1)
    xt, _ = make_images(10, shift=20.0, seed=2)
    src = __import__("transferkit").pretrain(xs, ys, epochs=1)
    with pytest.warns(TransferkitWarning, match="given no labelled examples, so class_weight changes nothing"):
        TransferClassifier("mcc", source=src, class_weight="balanced", method_params={"steps": 2}).fit(
            None, None, X_unlabelled=xt)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        TransferClassifier("mcc", source=src, method_params={"steps": 2}).fit(None, None, X_unlabelled=xt)
    assert not [w for w in seen if "class_weight" in str(w.message)]
