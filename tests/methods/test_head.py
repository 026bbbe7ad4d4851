"""``head``: its L2 strength is chosen by cross-validation on the labelled examples only."""

from __future__ import annotations

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
