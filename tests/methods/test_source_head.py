"""Methods start from the source's specific layers when the classes are the same, unless
those do far worse than guessing on the labelled target examples."""

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
    cross-entropy near 21 on the labelled examples, and head, which started from it and was
    pulled towards it, scored 31-45 % at k = 2-20 where a new head scores 72-86 %."""
    task = _with_head(make_task(task_parts, []), [12.0, 0.0, 0.0])  # always class 0, sure of it: 3 of 9 right
    with pytest.warns(TransferkitWarning, match=r"do far worse than guessing on the 9 labelled target examples "
                                                r"\(cross-entropy 8\.00, above 2 ln 3 = 2\.20; uniform guesses: ln 3 = 1\.10"):  # fmt: skip
        model = start_from_source(task)
    assert task.extras["source_head_kept"] is False
    last = [m for m in model.specific.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert float(last.bias.abs().max()) < 5.0  # a new head, not the source's
    got = get_method("head", steps=40).fit(_with_head(make_task(task_parts, []), [12.0, 0.0, 0.0]))
    t = make_task(task_parts, []).target
    assert float((got(t.x_labelled).argmax(1) == t.y_labelled).float().mean()) > 0.5  # it fits its examples


@pytest.mark.parametrize("bias, kept", [([0.0, 0.0, 0.0], True), ([0.5, 0.0, 0.0], True), ([3.0, 0.0, 0.0], True),
                                        ([4.0, 0.0, 0.0], False)])  # fmt: skip
def test_a_weak_source_head_is_kept_a_far_worse_one_replaced(task_parts, bias, kept, recwarn):  # noqa: F811
    """Uniform guesses: a cross-entropy of ln 3 = 1.099. Leaning to class 0 by 0.5 or 3: 1.127 and
    2.095, above ln C but within 2 ln C = 2.197, kept (a first rule of ln C replaced such weak heads,
    and on optdigits -> MNIST-5k at k = 1 six methods lost 1.5-3.8 points by it). By 4: 2.70, with
    3 of 9 right, chance: replaced. Where 8 of the 9 labelled examples are class 0, all are kept."""
    task = _with_head(make_task(task_parts, []), bias)
    assert source_head_helps(task, task.source_model) is kept
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
    with pytest.warns(TransferkitWarning, match=r"60 % right, not clearly more than always naming the most frequent "
                                                r"class would \(50 %; one-sided binomial test on 20 examples, p = 0\.25\)"):  # fmt: skip
        assert not source_head_helps(task, task.source_model)
    proba = torch.where(torch.arange(20)[:, None] < 12, right.flip(1), right)  # 8 of 20: below chance, "no more than"
    monkeypatch.setattr(sh, "predict_proba", lambda model, x: proba)
    with pytest.warns(TransferkitWarning, match="40 % right, no more than always naming the most frequent class: 50 %"):
        assert not source_head_helps(task, task.source_model)


def test_a_replaced_head_right_above_chance_is_not_said_to_be_no_better(task_parts, monkeypatch, recwarn):  # noqa: F811
    """k = 1 of 3 classes: a trial's source head was right on 2 of the 3 labelled examples, with a
    cross-entropy above 2 ln 3 (one wrong and sure of it); the binomial test cannot tell 2 of 3 from
    chance (p = 0.26), so the head is replaced, but the warning said "67 % right, no more than always
    naming the most frequent class: 33 %", which contradicts itself."""
    import transferkit.methods._source_head as sh

    task = make_task(task_parts, [])
    y = torch.tensor([0, 1, 2])
    task.target = replace(task.target, x_labelled=torch.zeros(3, 1), y_labelled=y, num_classes=3)
    proba = torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.998, 0.001, 0.001]])  # the last wrong: p(true) = 0.001
    monkeypatch.setattr(sh, "predict_proba", lambda model, x: proba)
    assert not source_head_helps(task, task.source_model)
    said = " ".join(str(w.message) for w in recwarn if issubclass(w.category, TransferkitWarning))
    assert "67 % right, not clearly more than always naming the most frequent class would (33 %; one-sided binomial " \
           "test on 3 examples, p = 0.26)" in said
    assert "no more than" not in said
