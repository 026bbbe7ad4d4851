"""The linear probe's L2 penalty and its choice by cross-validation on labelled data."""

from __future__ import annotations

from unittest import mock

import torch

from transferkit.train.probe import L2_GRID, _train_head, cross_validate_l2, stratified_folds


def _blobs(n_per_class: int, classes: int = 3, dim: int = 8, spread: float = 0.3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 2
    y = torch.arange(classes).repeat_interleave(n_per_class)
    return centres[y] + spread * torch.randn(len(y), dim, generator=g), y


def test_stratified_folds_deal_every_class_evenly():
    y = torch.tensor([0] * 8 + [1] * 5 + [2] * 4)
    fold = stratified_folds(y, 4, seed=3)
    for c in range(3):
        counts = torch.bincount(fold[y == c], minlength=4)
        assert counts.max() - counts.min() <= 1 and counts.min() >= 1
    assert torch.equal(fold, stratified_folds(y, 4, seed=3))  # deterministic per seed
    assert not torch.equal(fold, stratified_folds(y, 4, seed=4))


def test_l2_penalty_shrinks_weights_towards_zero_or_the_anchor():
    x, y = _blobs(10)
    norms = {}
    for l2 in (1e-5, 1.0):
        torch.manual_seed(0)
        head = torch.nn.Linear(8, 3)
        _train_head(head, x, y, 200, 1e-2, 0.0, l2, False, None)
        norms[l2] = float(head.weight.detach().norm())
    assert norms[1.0] < 0.5 * norms[1e-5]
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 3)
    start = head.weight.detach().clone()
    _train_head(head, x, y, 200, 1e-2, 0.0, 10.0, True, None)  # strong pull towards the start
    assert float((head.weight.detach() - start).norm()) < 0.2 * float(start.norm())


def test_cv_scores_every_value_and_picks_by_accuracy_then_loss():
    x, y = _blobs(6, spread=1.5)
    head = torch.nn.Linear(8, 3)
    before = {n: t.clone() for n, t in head.state_dict().items()}
    choice = cross_validate_l2(head, x, y, steps=60, folds=3, seed=0)
    assert choice.folds == 3 and set(choice.accuracy) == set(L2_GRID) == set(choice.loss)
    best = max(choice.accuracy.values())
    tied = [v for v in L2_GRID if choice.accuracy[v] == best]
    assert choice.l2 == min(tied, key=lambda v: choice.loss[v])
    assert all(torch.equal(before[n], t) for n, t in head.state_dict().items())  # head restored


def test_cv_prefers_strong_penalty_when_labels_carry_no_signal():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 64, generator=g) * 5
    y = torch.arange(2).repeat(20)  # independent of x
    choice = cross_validate_l2(torch.nn.Linear(64, 2), x, y, steps=100, grid=(1e-5, 1.0), folds=4)
    # held-out accuracy is chance either way; a weak penalty fits noise and is confidently wrong
    assert choice.loss[1.0] < choice.loss[1e-5]


def test_cv_needs_two_examples_per_class():
    x, y = _blobs(1)
    choice = cross_validate_l2(torch.nn.Linear(8, 3), x, y)
    assert choice.l2 is None and choice.folds == 1 and not choice.accuracy


def test_batched_cv_of_a_linear_head_matches_the_loop():
    from transferkit.train.probe import _cv_linear, _cv_loop, _linear_tail

    x, y = _blobs(6, spread=1.5)
    fold = stratified_folds(y, 3, seed=0)
    for anchor, few in ((False, 16), (True, 16), (False, 0)):  # (few: 0, the cross-entropy of many classes)
        torch.manual_seed(0)
        head = torch.nn.Sequential(torch.nn.Linear(8, 3))
        loop = _cv_loop(head, x, y, fold, 3, (1e-4, 1e-1), 40, 1e-2, anchor)
        with mock.patch("transferkit.train.probe.FEW_CLASSES", few):
            fast = _cv_linear(*_linear_tail(head), x, y, fold, 3, (1e-4, 1e-1), 40, 1e-2, anchor)
        for a, b in zip(loop, fast, strict=True):
            assert a.keys() == b.keys()
            assert all(abs(a[v] - b[v]) < 1e-4 for v in a), (a, b)
    assert _linear_tail(torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))) is None


def test_layer_choice_reads_earlier_blocks_when_the_last_one_lost_the_signal():
    from transferkit.models import TransferModel
    from transferkit.train.probe_layers import fit_probe_layers

    torch.manual_seed(0)
    model = TransferModel.build("mlp", (8,), ["a", "b", "c"], hidden=16, feature_dim=4).eval()
    with torch.no_grad():
        model.shared.blocks[1][0].weight.zero_()  # the last block outputs a constant
    x, y = _blobs(8, spread=0.3)
    choice = fit_probe_layers(model.freeze("all"), x, y, steps=150, folds=4)
    assert set(choice.candidates) == {"last", "last 2"}
    assert choice.candidates["last"].accuracy[choice.candidates["last"].l2] < 0.5  # chance: 1/3
    assert choice.taps == (0, 1) and model.config["taps"] == [0, 1]
    assert float((model.eval()(x).argmax(1) == y).float().mean()) == 1.0


def test_layer_choice_keeps_the_last_block_with_one_example_per_class():
    from transferkit.models import TransferModel
    from transferkit.train.probe_layers import fit_probe_layers

    model = TransferModel.build("mlp", (8,), ["a", "b", "c"], hidden=16, feature_dim=4).freeze("all")
    x, y = _blobs(1)
    choice = fit_probe_layers(model, x, y, steps=20)
    assert choice.taps is None and choice.l2.l2 is None and list(choice.candidates) == ["last"]
    assert model.shared.taps is None


def test_cv_runs_when_a_class_id_has_no_example():
    """Labels {0, 2} of a 3-class head: bincount's 0 for class 1 made the CV give up (l2 None)."""
    x, y = _blobs(6, spread=1.5)
    keep = y != 1
    choice = cross_validate_l2(torch.nn.Linear(8, 3), x[keep], y[keep], steps=30, folds=3, seed=0)
    assert choice.folds == 3 and choice.l2 in L2_GRID
