"""Whether to start from the source's specific layers when source and target share classes.

The source head is a trained classifier for exactly the target's classes, so methods start
from it (and ``head`` pulls its weights towards it). When the target's inputs are read
differently from the source's (columns far off the source's range, inverted images, another
sensor), or its class names stand for other classes, that head can be confidently wrong: on
digits as a 64-column table against the same table inverted (16 - x), it scored chance on the
labelled examples with a cross-entropy near 21 (ln 10 = 2.3 for uniform guesses), and
``head``, started from it and pulled towards it, scored 31-45 % at k = 2-20 where a new head
scores 72-86 % (scratch: 70-94 %; ``benchmarks/diagnostics/source_head_reset.py``,
its JSON records each run's source-head cross-entropy and hits; BENCHMARKS.md "Session 37").

It is replaced by a new head, with a warning, when its mean cross-entropy on the labelled
examples is above 2 ln C (``FAR``): the true class's probability, a geometric mean over the
examples, below 1 / C^2, as far below uniform guessing's 1 / C as that is below certainty;
and when it is right no more often than chance (always naming the most frequent labelled
class; a one-sided binomial test at 5 %, so an overconfident head that is mostly right is
kept). A first rule of ln C replaced weak but informative heads too: on optdigits -> MNIST-5k
at k = 1 (the source head 21 % on the test split, 1 or 2 of its 10 labelled examples right,
cross-entropy 2.7 and 3.7) the six methods that start from it lost 1.5-3.8 points (the same
diagnostic, ``--auto-tasks --far 1``); with 2 ln C no head there is replaced. Judged on the labelled examples only: no test example is seen.
"""

from __future__ import annotations

import math
import warnings

import torch
from scipy.stats import binomtest

from transferkit.errors import TransferkitWarning, user_stacklevel
from transferkit.methods.base import TransferTask
from transferkit.models import TransferModel
from transferkit.train.supervised import predict_proba

FAR = 2.0  # cross-entropy above FAR x ln C: the true class's (geometric mean) probability below 1 / C ** FAR


def source_head_helps(task: TransferTask, model: TransferModel) -> bool:
    """False, with a warning, when ``model``'s specific layers (the source's) have a mean
    cross-entropy above 2 ln C on the labelled target examples and are not right more often
    than always naming their most frequent class would be (one-sided binomial test, 5 %);
    True otherwise, and without labelled examples."""
    t = task.target
    if t.y_labelled is None or len(t.y_labelled) == 0:
        return True
    y = t.y_labelled.to(torch.long)
    with torch.no_grad():
        proba = predict_proba(model, t.x_labelled).cpu()
    loss = float(-torch.log(proba[torch.arange(len(y)), y.cpu()].clamp_min(1e-12)).mean())
    uniform = math.log(max(int(t.num_classes), 2))
    hits = int((proba.argmax(1) == y.cpu()).sum())
    chance = float(torch.bincount(y.cpu()).max()) / len(y)  # always the most frequent labelled class
    pvalue = binomtest(hits, len(y), chance, alternative="greater").pvalue
    if loss <= FAR * uniform + 1e-6 or pvalue < 0.05:
        return True
    right = hits / len(y)
    # right above chance but not significantly (2 of 3 at k = 1, 3 classes): "no more than" misread the test
    versus = (f"no more than always naming the most frequent class: {100 * chance:.0f} %" if right <= chance else
              f"not clearly more than always naming the most frequent class would ({100 * chance:.0f} %; one-sided "
              f"binomial test on {len(y)} examples, p = {pvalue:.2f})")  # fmt: skip
    warnings.warn(
        f"the source's specific layers do far worse than guessing on the {len(t.y_labelled)} labelled target examples "
        f"(cross-entropy {loss:.2f}, above 2 ln {int(t.num_classes)} = {FAR * uniform:.2f}; uniform guesses: "
        f"ln {int(t.num_classes)} = {uniform:.2f}; "
        f"{100 * right:.0f} % right, {versus}), though the classes are named the same, so a new head is trained instead of "
        "starting from them. Either the shared layers read the target unlike the source (see the warnings on how the "
        "target's inputs compare with the source's: scale, inversion, units) or the names stand for other classes "
        "than the source's.",
        TransferkitWarning, stacklevel=user_stacklevel(),
    )  # fmt: skip
    return False
