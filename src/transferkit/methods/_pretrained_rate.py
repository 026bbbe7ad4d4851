"""A pretrained text encoder's layers train at 5e-5 unless the user says otherwise.

Methods that train the shared layers take ``lr`` (the specific layers' rate) and
``shared_lr_mult``. Their defaults (``finetune``: 3e-3 x 0.3 = 9e-4; the adaptation methods:
1e-3 x 1) suit the small networks trained here on a source, but move a pretrained
transformer far from its weights within a few steps: a new user's MiniLM, fine-tuned on movie
reviews, fell to chance on Amazon reviews under ``finetune`` and ``mcc`` while it memorised
its 10 labelled examples (so the loss-based probe guard could not see it). 2e-5 to 5e-5 is
the usual range for fine-tuning pretrained transformers (Devlin et al., NAACL 2019, "BERT").
So when the shared layers are a pretrained text encoder (``source: {pretrained: hf:...}``)
and ``shared_lr_mult`` was not given, it becomes min(its default, 5e-5 / lr); the run says so.
A value the user gives is kept. Pretrained image networks keep the defaults: there
MobileNetV2's ``finetune`` at them was the best image method on Fashion-MNIST k = 10
(BENCHMARKS.md), and the probe guard catches the collapses seen with them.
"""

from __future__ import annotations

import copy

from transferkit.methods.base import Method, TransferTask

PRETRAINED_TEXT_LR = 5e-5


def has_pretrained_text_encoder(task: TransferTask) -> bool:
    """Whether the task's shared layers are a pretrained text encoder (not trained here)."""
    model = task.source_model
    return (model is not None and model.config.get("architecture") == "pretrained"
            and bool(getattr(model.shared, "is_text", False)))  # fmt: skip


def for_task(method: Method, task: TransferTask) -> tuple[Method, str | None]:
    """``method`` with its shared rate lowered to 5e-5 for a pretrained text encoder when its
    ``shared_lr_mult`` was left at the default, and the note that says so (else None)."""
    p = getattr(method, "params", None)
    if p is None or "shared_lr_mult" not in type(p).model_fields or "shared_lr_mult" in p.model_fields_set:
        return method, None
    if not has_pretrained_text_encoder(task):
        return method, None
    mult = PRETRAINED_TEXT_LR / p.lr
    if mult >= p.shared_lr_mult:
        return method, None
    lowered = copy.copy(method)
    lowered.params = p.model_copy(update={"shared_lr_mult": mult})
    note = (f"{method.name}: the pretrained text encoder trains at {PRETRAINED_TEXT_LR:g} (shared_lr_mult "
            f"{mult:.3g} x lr {p.lr:g}), the usual rate for fine-tuning transformers, not at the default "
            f"{p.shared_lr_mult:g} x lr, which moves them too far in a few steps; give {method.name}'s "
            "shared_lr_mult to choose another rate.")
    return lowered, note
