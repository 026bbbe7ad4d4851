"""Methods start from the source's specific layers when the classes are the same, unless
those do worse than guessing on the labelled target examples."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from tests.methods.test_contract import make_task, task_parts  # noqa: F401  (task_parts is a fixture)
from transferkit.errors import TransferkitWarning
from transferkit.methods import get_method
from transferkit.methods._source_head import source_head_helps
from transferkit.methods.finetune import start_from_source


def _with_head(task, bias: list[float]):
    """``task`` whose source model's last dense layer ignores its input and gives ``bias``."""
    model = task.source_model.copy()
    last = [m for m in model.specific.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor(bias))
    task.source_model = model
    return task


def test_a_confidently_wrong_source_head_is_replaced_with_a_warning(task_parts):  # noqa: F811
    """Digits as a table against the same table inverted: the source head scored chance with a
    cross-entropy near 24 on the labelled examples, and head, which started from it and was
    pulled towards it, scored 31-45 % at k = 2-20 where a new head scores 72-86 %."""
    task = _with_head(make_task(task_parts, []), [12.0, 0.0, 0.0])  # always class 0, sure of it: 3 of 9 right
    with pytest.warns(TransferkitWarning, match=r"do worse than guessing on the 9 labelled target examples "
                                                r"\(cross-entropy 8\.00 against ln 3 = 1\.10"):  # fmt: skip
        model = start_from_source(task)
    assert task.extras["source_head_kept"] is False
    last = [m for m in model.specific.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert float(last.bias.abs().max()) < 5.0  # a new head, not the source's
    got = get_method("head", steps=40).fit(_with_head(make_task(task_parts, []), [12.0, 0.0, 0.0]))
    t = make_task(task_parts, []).target
    assert float((got(t.x_labelled).argmax(1) == t.y_labelled).float().mean()) > 0.5  # it fits its examples


@pytest.mark.parametrize("bias", [[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]])
def test_a_source_head_no_worse_than_guessing_or_right_more_than_chance_is_kept(task_parts, bias, recwarn):  # noqa: F811
    """Uniform guesses: a cross-entropy of exactly ln C, kept. Leaning to class 0 by 0.5: above ln C
    (1.127 against 1.099), and 3 of 9 right is chance: replaced. The same heads where 8 of the 9
    labelled examples are class 0: below ln C (0.849 for the second), kept."""
    task = _with_head(make_task(task_parts, []), bias)
    assert source_head_helps(task, task.source_model) is (bias[0] == 0.0)
    mostly_zero = torch.zeros_like(task.target.y_labelled)
    mostly_zero[-1] = 1
    task.target = replace(task.target, y_labelled=mostly_zero)
    assert source_head_helps(task, task.source_model)


def test_an_overconfident_head_that_is_mostly_right_is_kept(task_parts, monkeypatch):  # noqa: F811
    """A two-class head right on 15 of 20, sure of itself where wrong: cross-entropy 1.0 > ln 2,
    but right more often than chance (p = 0.02): kept."""
    import transferkit.methods._source_head as sh

    task = make_task(task_parts, [])
    y = torch.tensor([0, 1] * 10)
    task.target = replace(task.target, x_labelled=torch.zeros(20, 1), y_labelled=y, num_classes=2)
    right = torch.nn.functional.one_hot(y, 2).float() * 0.98 + 0.01
    proba = torch.where(torch.arange(20)[:, None] < 5, right.flip(1), right)  # the first 5 wrong, p(true) = 0.01
    monkeypatch.setattr(sh, "predict_proba", lambda model, x: proba)
    loss = float(-torch.log(proba[torch.arange(20), y]).mean())
    assert loss > math.log(2)
    assert source_head_helps(task, task.source_model)
    proba = torch.where(torch.arange(20)[:, None] < 8, right.flip(1), right)  # 12 of 20: not above chance
    monkeypatch.setattr(sh, "predict_proba", lambda model, x: proba)
    with pytest.warns(TransferkitWarning, match="60 % right, no more than always naming the most frequent class: 50 %"):
        assert not source_head_helps(task, task.source_model)
