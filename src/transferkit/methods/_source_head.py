"""Whether to start from the source's specific layers when source and target share classes.

The source head is a trained classifier for exactly the target's classes, so methods start
from it (and ``head`` pulls its weights towards it). When the target's inputs are read
differently from the source's (columns far off the source's range, inverted images, another
sensor), or its class names stand for other classes, that head can be confidently wrong: on digits as a
64-column table against the same table inverted (16 - x), it scored chance on the labelled
examples with a cross-entropy near 24, and ``head``, started from it and pulled towards it,
scored 31-45 % at k = 2-20 where a new head scores 72-86 % (scratch: 70-94 %;
``benchmarks/diagnostics/source_head_reset.py``, BENCHMARKS.md "Session 37"). Its mean cross-entropy on the labelled examples is then above
ln C, that of a new head guessing uniformly: it starts the probe's objective from a worse
point than a new head would, and pulls it towards that point. When it is also right no more
often than chance (always naming the most frequent labelled class; a one-sided binomial
test at 5 %, so an overconfident head that is still mostly right is kept) it is replaced by
a new head, with a warning. Judged on the labelled examples only: no test example is seen.
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


def source_head_helps(task: TransferTask, model: TransferModel) -> bool:
    """False, with a warning, when ``model``'s specific layers (the source's) have a mean
    cross-entropy above ln C on the labelled target examples and are not right more often
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
    if loss <= uniform + 1e-6 or binomtest(hits, len(y), chance, alternative="greater").pvalue < 0.05:
        return True
    right = hits / len(y)
    warnings.warn(
        f"the source's specific layers do worse than guessing on the {len(t.y_labelled)} labelled target examples "
        f"(cross-entropy {loss:.2f} against ln {int(t.num_classes)} = {uniform:.2f} for uniform guesses; "
        f"{100 * right:.0f} % right, no more than always naming the most frequent class: {100 * chance:.0f} %), though the classes are named the same, so a new head is trained instead of "
        "starting from them. Either the shared layers read the target unlike the source (see the warnings on how the "
        "target's inputs compare with the source's: scale, inversion, units) or the names stand for other classes "
        "than the source's.",
        TransferkitWarning, stacklevel=user_stacklevel(),
    )  # fmt: skip
    return False
