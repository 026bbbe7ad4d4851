"""``head``: its L2 strength is chosen by cross-validation on the labelled examples only."""

from __future__ import annotations

import warnings

import pytest
import torch

from tests.methods.test_contract import make_task, task_parts  # noqa: F401  (task_parts is a fixture)
from transferkit.methods import get_method
from transferkit.train.probe import L2_GRID


def test_head_chooses_l2_on_labelled_examples_and_reports_it(task_parts):  # noqa: F811
    task = make_task(task_parts, [])
    model = get_method("head", steps=40).fit(task)
    choice = task.extras["head_l2"]
    assert choice.l2 in L2_GRID and choice.folds == 3  # 3 labelled examples per class
    assert set(choice.accuracy) == set(L2_GRID)
    assert model(task.target.x_labelled).shape == (9, 3)


def test_head_with_weight_decay_skips_the_search(task_parts):  # noqa: F811
    task = make_task(task_parts, [])
    get_method("head", steps=40, regularization="weight_decay").fit(task)
    assert "head_l2" not in task.extras


def test_cv_and_weight_decay_heads_differ(task_parts):  # noqa: F811
    heads = []
    for reg in ("cv", "weight_decay"):
        torch.manual_seed(0)
        heads.append(get_method("head", steps=40, regularization=reg).fit(make_task(task_parts, [])).specific)
    w = [torch.cat([p.detach().flatten() for p in h.parameters()]) for h in heads]
    assert not torch.allclose(w[0], w[1])


def test_head_chooses_its_blocks_with_layers_auto_and_by_default_reads_the_last_block(task_parts):  # noqa: F811
    task = make_task(task_parts, [])
    model = get_method("head", steps=40, layers="auto").fit(task)
    choice = task.extras["head_layers"]
    assert set(choice.candidates) == {"last", "last 2", "last 3"}  # the cnn has 3 blocks
    assert choice.l2 is task.extras["head_l2"] and model.config.get("taps") == (
        None if choice.taps is None else list(choice.taps)
    )
    task = make_task(task_parts, [])
    model = get_method("head", steps=40).fit(task)
    assert "head_layers" not in task.extras and "taps" not in model.config and model.shared.taps is None


def test_layers_auto_on_shared_layers_without_a_chain_of_blocks_says_it_reads_the_last(task_parts, monkeypatch):  # noqa: F811
    """On a text transformer layers: auto was silently layers: last."""
    import transferkit.methods.head as head
    from transferkit.errors import TransferkitWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitWarning)  # the cnn's 3 blocks can be tapped: nothing said
        get_method("head", steps=5, layers="auto").fit(make_task(task_parts, []))
    monkeypatch.setattr(head, "can_tap", lambda shared: False)
    with pytest.warns(TransferkitWarning, match="layers: auto reads the last block only here"):
        get_method("head", steps=5, layers="auto").fit(make_task(task_parts, []))


def test_the_chosen_l2_is_kept_with_the_model_and_near_uniform_probabilities_are_said(tmp_path):
    """A new user's R8 head chose l2 = 1.0 on held-out accuracy (31 of 40 right) with a held-out
    cross-entropy of 2.07, ln 8 = 2.08: every probability was about 1/8, and nothing said so."""
    import json

    import numpy as np

    from transferkit import TransferClassifier, pretrain
    from transferkit.errors import TransferkitWarning
    from transferkit.methods.head import record_l2
    from transferkit.models import TransferModel
    from transferkit.train.probe import L2Choice

    model = TransferModel.build("mlp", (4,), [str(c) for c in range(8)])
    flat = L2Choice(1.0, 4, {1e-4: 0.75, 1.0: 0.775}, {1e-4: 0.97, 1.0: 2.07})
    with pytest.warns(TransferkitWarning, match=r"l2 its cross-validation chose \(1, held-out accuracy 77.5 % on 40 "
                      r"examples\) leaves its probabilities near uniform \(held-out cross-entropy 2.07; guessing "
                      r"uniformly: ln 8 = 2.08\)"):
        record_l2(model, flat, 8, 40)
    assert model.config["head_l2"] == {"l2": 1.0, "folds": 4, "held_out_accuracy": 0.775, "held_out_loss": 2.07}
    wrong = L2Choice(1e-2, 4, {1e-2: 0.667}, {1e-2: 1.71})  # a new user's ArrowHead head: 1.71 > 1.1 ln 3
    with pytest.warns(TransferkitWarning, match=r"held-out probabilities worse than uniform guessing, confident where "
                      r"it is wrong \(held-out cross-entropy 1.71; guessing uniformly: ln 3 = 1.10\)"):
        record_l2(model, wrong, 3, 15)
    with pytest.warns(TransferkitWarning, match=r"^head \(seed 2, 15 labelled examples\): the l2"):  # which fit, in a run
        record_l2(model, wrong, 3, 15, seed=2)
    # flat with the weakest l2 of the grid: no lower one to try, and weight decay did not sharpen it either (a
    # trial's source had collapsed features); the features are named, not the penalty
    weakest = L2Choice(1e-4, 4, {1e-4: 0.55, 1.0: 0.5}, {1e-4: 0.68, 1.0: 0.69})
    with pytest.warns(TransferkitWarning, match=r"its probabilities stay near uniform .* with the weakest l2 it tries "
                      r"\(0.0001\): the shared features tell these classes apart little") as said:
        record_l2(model, weakest, 2, 40)
    assert "a lower one" not in str(said[0].message) and "weight_decay" not in str(said[0].message)
    sharp = L2Choice(1e-4, 4, {1e-4: 0.75}, {1e-4: 0.97})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record_l2(model, sharp, 8, 40)  # far from uniform: no warning
    x, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2
    clf = TransferClassifier("head", source=pretrain(x, y, epochs=1), method_params={"steps": 20})
    clf.fit(x, y).save(tmp_path / "m")
    saved = json.loads((tmp_path / "m.json").read_text())["head_l2"]
    assert set(saved) == {"l2", "folds", "held_out_accuracy", "held_out_loss"} and saved["folds"] == 4
