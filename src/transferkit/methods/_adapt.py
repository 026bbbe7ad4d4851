"""The domain-adaptation training loop every DA method shares.

Each step draws a source batch ``(x_s, y_s)``, the labelled target examples ``(x_l, y_l)``
(k-shot; none when k = 0) and an unlabelled target batch ``x_u`` (plus a strongly
augmented view ``x_u'`` when a term asks for one), and sends them through the model in
**one forward** over the concatenation ``[x_s | x_l | x_u | x_u']`` (so DDP later sees one
graph). BatchNorm sees the split: source rows and target rows are normalised with their
own statistics, strong views with their own batch statistics
(:mod:`transferkit.adaptation.domain_bn`). It minimises::

    L = CE(z_s, y_s) + labelled_weight * CE(z_l, y_l) + sum_terms term(step)

where each method contributes its adaptation term (with its own weight and schedule).
Every ``steps / checkpoints`` steps (not at the start) the model is scored by a label-free criterion
(:mod:`transferkit.adaptation.selection`) and the best checkpoint is returned, with
target BatchNorm statistics re-estimated on clean (un-augmented) target inputs.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from pydantic import Field

from transferkit.adaptation.augment import strong_augment, weak_augment
from transferkit.adaptation.domain_bn import (
    attach_domain_bn,
    detach_domain_bn,
    domain_rows,
    estimate_target_stats,
)
from transferkit.adaptation.selection import SelectionData, collapse_note, score_checkpoint, top_share
from transferkit.devices import device_of
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.methods.base import Params, TransferTask
from transferkit.models import TransferModel
from transferkit.models.shared import reads_series
from transferkit.train.loop import batches, run_steps


class AdaptParams(Params):
    """Hyper-parameters every DA method shares (each method adds its own)."""

    steps: int = Field(600, ge=1)
    batch_size: int = Field(64, ge=2)  # per domain: source rows, and unlabelled target rows
    lr: float = Field(1e-3, gt=0)
    shared_lr_mult: float = Field(1.0, ge=0)
    weight_decay: float = Field(5e-4, ge=0)
    labelled_weight: float = Field(1.0, ge=0)
    bn: Literal["domain", "shared"] = "domain"
    selection: Literal["entropy", "snd", "bnm", "im", "dev", "source_val", "last"] = "entropy"
    checkpoints: int = Field(10, ge=1)
    augment: bool = True


@dataclass
class Step:
    """One step's outputs, split by role. ``f``: features (B, D); ``z``: logits (B, C)."""

    f_s: torch.Tensor
    z_s: torch.Tensor
    y_s: torch.Tensor
    f_t: torch.Tensor  # every target row (labelled first, then unlabelled), weak view
    z_t: torch.Tensor
    n_labelled: int
    z_u_strong: torch.Tensor | None  # strong view of the unlabelled rows, if requested
    progress: float  # fraction of training done, in [0, 1]

    @property
    def z_u(self) -> torch.Tensor:
        """Logits of the unlabelled target rows (all target rows if there are none)."""
        return self.z_t[self.n_labelled :] if self.z_t.shape[0] > self.n_labelled else self.z_t


class Term(Protocol):
    """An adaptation term: a callable on :class:`Step` with its own trainable parts."""

    needs_strong_view: bool

    def parameters(self): ...

    def __call__(self, step: Step) -> torch.Tensor: ...


@dataclass
class Selection:
    criterion: str
    history: list[tuple[int, float]]  # (step, score) per checkpoint
    best_step: int


FEW_INPUTS = 10  # target inputs below which adaptation is said to rest on too few


def few_inputs_note(name: str, n: int) -> str | None:
    """Said when a method adapts to fewer than ``FEW_INPUTS`` target inputs: BatchNorm statistics and
    adaptation terms from so few are noisy (a trial's pool of 5 left adabn, mcc, dann and
    self_training all below the source model as it is, without a word)."""
    if n >= FEW_INPUTS:
        return None
    return (f"{name}: adapts to {n} target inputs; statistics and adaptation terms from so few are noisy and can "
            "leave the model below the source model as it is (compare with source_only); give more unlabelled "
            "target inputs if you can.")


def _subset(x: torch.Tensor | None, n: int, gen: torch.Generator) -> torch.Tensor | None:
    if x is None or len(x) <= n:
        return x
    return x[torch.randperm(len(x), generator=gen)[:n].to(x.device)]


def adapt(
    task: TransferTask,
    p: AdaptParams,
    make_terms: Callable[[TransferModel], list[Term]],
    name: str,
) -> TransferModel:
    """Adapt ``task.source_model`` to the target; returns the selected model (target BN statistics)."""
    if task.source_model is None or task.source_x is None:
        raise TransferkitError(
            f"method {name!r} trains on source and target: the task has no source data.",
            "give source data (`source: {data: ...}` in an experiment file, transferkit.pretrain(X_source, "
            "y_source) in Python), or use a method that needs no source data (e.g. head, finetune).",
        )
    t = task.target
    x_u = t.x_unlabelled if len(t.x_unlabelled) else t.x_labelled
    if len(x_u) < 2:
        raise TransferkitError(
            f"method {name!r} needs target inputs to adapt to, got {len(x_u)}.", "give the target at least 2 examples."
        )
    note = few_inputs_note(name, len(t.x_labelled) + len(t.x_unlabelled))
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    if not len(t.x_unlabelled):  # said, as auto says it (a trial's run read as adaptation to unlabelled inputs)
        warnings.warn(f"{name}: every target input is labelled, none is left unlabelled: it adapts to the "
                      f"{len(t.x_labelled)} labelled inputs (their labels unused by its adaptation term) and chooses its "
                      "checkpoint on them. Give unlabelled target inputs (more examples than shots per class) for "
                      "adaptation proper.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    gen = torch.Generator().manual_seed(task.seed)
    model = task.source_model.copy()
    domain_bn = p.bn == "domain" and attach_domain_bn(model) > 0
    x_target_all = torch.cat([t.x_labelled, t.x_unlabelled])
    if domain_bn:
        estimate_target_stats(model, _subset(x_target_all, 2048, gen))
    # terms build their layers (discriminators, random maps) on the CPU, with its draws; they train where the model is
    device = device_of(model)
    terms = [term.to(device) if isinstance(term, torch.nn.Module) else term for term in make_terms(model)]
    strong = any(getattr(term, "needs_strong_view", False) for term in terms)
    extra = [q for term in terms for q in term.parameters()]
    groups = model.param_groups(p.lr * p.shared_lr_mult, p.lr, p.weight_decay)
    if extra:
        groups.append({"params": extra, "lr": p.lr, "weight_decay": p.weight_decay})
    optimizer = torch.optim.AdamW(groups)

    xs, ys = task.source_x, task.source_y
    it_s = batches(len(ys), p.batch_size, gen)
    it_u = batches(len(x_u), p.batch_size, gen)
    n_l = len(t.y_labelled)
    it_l = batches(n_l, min(p.batch_size, n_l), gen) if n_l else None
    series = reads_series(tuple(x_u.shape[1:]), model.config.get("architecture", "auto"))  # rows are sensors: not moved
    weak = (lambda x: weak_augment(x, gen, series)) if p.augment else (lambda x: x)
    x_val, y_val = task.source_val_x, task.source_val_y
    if x_val is not None and len(x_val) > 1000:
        keep = torch.randperm(len(x_val), generator=gen)[:1000].to(x_val.device)
        x_val, y_val = x_val[keep], y_val[keep]
    sel_data = SelectionData(_subset(x_target_all, 1000, gen), _subset(xs, 1000, gen), x_val, y_val)
    # the start (not a candidate) and checkpoints - 1 evenly spaced steps, then the last: `checkpoints` candidates
    # (steps // checkpoints apart scored 13 for 25 steps and 10 checkpoints; a review)
    marks = {round(i * p.steps / p.checkpoints) for i in range(p.checkpoints)}
    best: dict = {}
    before: list[tuple[int, float]] = []
    history: list[tuple[int, float]] = []
    logger = task.log(name)

    def checkpoint(step: int) -> None:
        if domain_bn:  # clean target statistics for evaluation (training uses batch statistics)
            estimate_target_stats(model, sel_data.x_target)
        if task.monitor is not None:
            task.monitor(model, step)
        if step == 0:  # before any update: to tell a collapse of the chosen checkpoint
            before.append(top_share(model, sel_data.x_target))
        # The start (source model, AdaBN statistics) is not a candidate: it is the
        # `source_only`/`adabn` baseline, and its often collapsed predictions on a shifted
        # target fool confidence-based criteria (SND, entropy).
        if step > 0:
            score = score_checkpoint(model, p.selection, sel_data, step, task.seed)
            history.append((step, score))
            if not best or score > best["score"]:
                best.update(score=score, step=step, state=copy.deepcopy(model.state_dict()))
        model.train()

    def loss_fn(step: int) -> torch.Tensor:
        if step in marks:
            checkpoint(step)
        i_s, i_u = next(it_s), next(it_u)
        parts = [weak(xs[i_s])]
        y_l = ys[:0]
        if it_l is not None:
            i_l = next(it_l)
            parts.append(weak(t.x_labelled[i_l]))
            y_l = t.y_labelled[i_l]
        parts.append(weak(x_u[i_u]))
        if strong:
            parts.append(strong_augment(x_u[i_u], gen, series))
        n_s, n_t = len(i_s), len(y_l) + len(i_u)
        with domain_rows(model, n_s, n_t):  # the head too: a network's own head may hold BatchNorm (split_module)
            f = model.features(torch.cat(parts))  # (n_s + n_t [+ n_u], D): one forward
            z = model.specific(f)
        out = Step(f[:n_s], z[:n_s], ys[i_s], f[n_s : n_s + n_t], z[n_s : n_s + n_t], len(y_l),
                   z[n_s + n_t :] if strong else None, step / max(1, p.steps - 1))  # fmt: skip
        task_loss = F.cross_entropy(out.z_s, out.y_s)
        if len(y_l):
            cw = None if t.class_weight is None else t.class_weight.to(out.z_t.device)  # the target's classes, weighed
            task_loss = task_loss + p.labelled_weight * F.cross_entropy(out.z_t[: len(y_l)], y_l, weight=cw)
        if (step + 1) % max(1, p.steps // 20) == 0 or step == p.steps - 1:
            logger(step + 1, float(task_loss.detach()))  # the supervised part: the adaptation terms trade against it
        return task_loss + sum(term(out) for term in terms)

    run_steps(model, loss_fn, optimizer, p.steps, log_every=p.steps + 1)
    checkpoint(p.steps)
    model.load_state_dict(best["state"])
    task.extras["selection"] = Selection(p.selection, history, best["step"])
    if domain_bn:
        detach_domain_bn(model, "target")
    model.config["adaptation"] = {"method": name, "bn": "domain" if domain_bn else "shared",
                                  "selection": p.selection, "selected_step": best["step"]}  # fmt: skip
    # the reference: the less collapsed of the start (AdaBN statistics, which a trial's shifted table had already
    # collapsed to 92 %, so that no method was warned of but dan) and the source model as it is (source_only)
    reference = min(before[0], top_share(task.source_model, sel_data.x_target), key=lambda t: t[1])
    collapsed = collapse_note(name, p.selection, reference, top_share(model, sel_data.x_target), task.classes)
    if collapsed:
        warnings.warn(collapsed, TransferkitWarning, stacklevel=user_stacklevel())
    return model.eval()
