"""A source model for the Python API: shared layers trained once on the source, then
transferred from by any number of estimators.

    src = tk.pretrain(Xs, ys)                             # source training, once
    clf = tk.TransferClassifier("l2sp", source=src)
    cross_val_score(clf, Xt, yt, cv=5)                    # every fold transfers from src

A :class:`SourceModel` is read-only: every method copies the source model before it trains
(a contract test checks that no registered method changes it), so ``clone`` (hence
``cross_val_score`` and ``GridSearchCV``) hands the same object to every copy of the
estimator instead of duplicating the source data and weights.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from transferkit.data import Domain
from transferkit.data.preprocess import Recipe, apply_recipe, make_recipe
from transferkit.data.splits import case_twins_note
from transferkit.devices import resolve_device
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.evaluate.source_check import source_steps, weak_source_warning
from transferkit.inputs import (
    as_domain,
    as_inputs,
    column_names,
    plain,
    seed_from,
    stored_dtype,
    warn_index_columns,
)
from transferkit.models import TransferModel
from transferkit.rng import callers_rng_kept
from transferkit.train.source import pretrain_source, source_val_split


@dataclass(frozen=True, eq=False, repr=False)
class SourceModel:
    """What :func:`pretrain` learned and kept: the model, the source data as prepared for it
    (for domain-adaptation methods), and how the source's inputs were read.

    Attributes:
        model: Shared layers + the source's specific layers.
        domain: The source examples, labels 0..C-1.
        recipe: How source inputs are scaled and shaped for the model.
        parts: The prepared source split it trained on: ``source_x``, ``source_y``,
            ``source_val_x``, ``source_val_y`` (tensors).
        feature_names: A DataFrame source's column names, else None.
        labels: The source labels as given, in the order of ``domain.classes``.
        seed: The seed of source training. An estimator given this source with ``source=``
            trains on the target with its own ``random_state``; its ``source_epochs`` plays
            no part (the source is trained already).
        shared: The shared-layer architecture it was built with (``auto`` resolved).
        val_accuracy: Accuracy on the held-out part of the source.
        pretrained: For :func:`~transferkit.pretrained_source`, the pretrained model's name;
            such a source has no data: ``domain``, ``recipe`` and ``labels`` are None,
            ``parts`` is empty and ``val_accuracy`` is NaN.
    """

    model: TransferModel
    domain: Domain | None
    recipe: Recipe | None
    parts: dict
    feature_names: list[str] | None
    labels: np.ndarray | None
    seed: int
    shared: str
    val_accuracy: float
    pretrained: str | None = None
    own_network: bool = False  # a user's network as it is (model_source): scratch re-draws its weights

    def __deepcopy__(self, memo: dict) -> SourceModel:
        return self  # read-only: copies of an estimator share it (module docstring)

    def __repr__(self) -> str:
        if self.domain is None:
            return f"SourceModel(pretrained={self.pretrained!r}, input_shape={tuple(self.model.config['input_shape'])})"
        return (f"SourceModel(shared={self.model.config['architecture']!r}, classes={len(self.domain.classes)}, "
                f"examples={len(self.domain.y)}, seed={self.seed})")  # fmt: skip


def check_epochs(epochs, name: str = "epochs") -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise TransferkitError(f"{name}={epochs!r} must be a whole number >= 1.", f"use e.g. {name}=10.")
    return int(epochs)


NOT_FROM_ARRAYS = {
    "textcnn": "it reads token ids of texts: run a text target with `transferkit run` (docs/config.md)",
    "pretrained": "it loads a pretrained encoder: use `transferkit run` with `source: {pretrained: NAME}` "
    "(docs/pretrained.md)",
}


def check_shared(shared: str) -> None:
    """``shared`` names an architecture the Python API can train on arrays."""
    from transferkit.models import ARCHITECTURES

    usable = ["auto", *(n for n in ARCHITECTURES if n not in NOT_FROM_ARRAYS)]
    if shared in NOT_FROM_ARRAYS:
        raise TransferkitError(f"shared={shared!r} cannot be trained on arrays here: {NOT_FROM_ARRAYS[shared]}.",
                               f"use one of {usable}.")  # fmt: skip
    if shared not in usable:
        raise TransferkitError(f"shared={shared!r} is not an architecture.", f"use one of {usable}.")


def pretrain(X_source, y_source, *, shared: str = "auto", epochs: int = 10, random_state=0,
             augment: bool | str = True, device: str = "auto") -> SourceModel:  # fmt: skip
    """Train the shared (and source-specific) layers on a labelled source.

    Args:
        X_source: Source inputs: (N, D) vectors or (N, H, W) / (N, C, H, W) / (N, H, W, C)
            images, an array or a DataFrame (uint8 images are read as 0..255).
        y_source: (N,) labels, any ints or strings.
        shared: Shared-layer architecture (``auto``: cnn for images, mlp for vectors, cnn1d for
            one-channel arrays that are not pictures: a multichannel series (N, C, L)).
        epochs: Passes over the source (``source.epochs`` in an experiment file).
        random_state: Seed: an int, a RandomState or None.
        augment: Image batches: ``True`` random shifts, ``"affine"`` also rotation and scale
            (``source.augment``), ``False`` none.
        device: ``auto`` (a GPU when torch sees one, else the CPU), ``cpu`` or ``cuda`` (as
            ``device`` in an experiment file). The source model and data stay there.

    Returns:
        A :class:`SourceModel` to pass as ``TransferClassifier(..., source=...)``.
    """
    epochs = check_epochs(epochs)
    check_shared(shared)
    where = resolve_device(device)
    if not (isinstance(augment, bool) or augment == "affine"):
        raise TransferkitError(f"augment={augment!r} is not an augmentation.",
                               "use True (random shifts), False (none) or 'affine' (shifts, rotation and scale).")  # fmt: skip
    refuse_texts(X_source)
    names = column_names(X_source)
    src, labels = as_domain(as_inputs(X_source, names, "X_source"), y_source, "source", stored_dtype(X_source))
    if len(labels) < 2:
        raise TransferkitError(f"pretrain got one source class ({plain(labels[0])!r}): the shared layers would learn nothing.",
                               "give source examples of at least two classes.")  # fmt: skip
    warn_index_columns(X_source, src.x, names, "X_source")
    if names is not None and not src.is_image:
        src.meta.setdefault("columns", [str(n) for n in names])  # a target's named columns are then matched, not positional
    same_names = case_twins_note(sorted({str(c).strip() for c in src.classes}), "y_source")
    if same_names:  # case alone: names apart only by spaces are warned of already
        warnings.warn(same_names, TransferkitWarning, stacklevel=user_stacklevel())
    recipe = make_recipe(src, src.input_shape, 0)
    from transferkit.models.series import warn_layout

    warn_layout(tuple(src.input_shape), shared, "X_source", "shared=")  # series channels last, or as pictures?
    seed = seed_from(random_state)
    xs, ys = apply_recipe(src.x, recipe).to(where), torch.from_numpy(src.y).to(where)
    with callers_rng_kept():  # source training seeds torch: the caller's draws after pretrain stay theirs
        res = pretrain_source(
            xs, ys, src.classes, architecture=shared, arch_kwargs={}, seed=seed, identity={}, use_cache=False,
            settings={"epochs": epochs, "batch_size": 128, "lr": 2e-3, "weight_decay": 1e-4, "augment": augment},
        )  # fmt: skip
    tr, va = (torch.from_numpy(i) for i in source_val_split(src.y, seed=seed))  # the split it trained on
    parts = {"source_x": xs[tr], "source_y": ys[tr], "source_val_x": xs[va], "source_val_y": ys[va]}
    note = weak_source_warning(res.val_accuracy, src.y[va.numpy()], seed, source_steps(len(tr), 128, epochs))
    if len(va) == 0:  # one example per class: nothing held out, nothing to check the source on
        note = (f"the source has one example per class ({len(src.y)} in all), so none is held out to check the "
                "source model on (val_accuracy is NaN); with so few, its features may hold little to transfer. "
                "Give the source more examples per class.")  # fmt: skip
    if note:  # e.g. a small source: epochs count passes, so few steps
        fix = "raise the epochs (pretrain's epochs=, TransferClassifier's source_epochs=)"
        warnings.warn(note.replace("raise source.epochs", fix), TransferkitWarning, stacklevel=user_stacklevel())
    arch = res.model.config["architecture"]  # "auto" resolved: what the estimator's `shared` is compared with
    return SourceModel(res.model, src, recipe, parts, names, labels, seed, arch, float(res.val_accuracy))


def refuse_texts(X, what: str = "X_source", reader: str = "pretrain trains a network on numeric inputs") -> None:
    """Texts given where numbers are read (``pretrain``; ``fit`` without a text encoder): say
    where texts go. Only sized sequences (a list, an array, a Series) whose first item is a
    word, not a number written as text, are read as texts; other inputs are left to ``as_inputs``."""
    if isinstance(X, str | bytes | dict) or not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
        return
    if hasattr(X, "columns") or hasattr(X, "nnz"):  # a DataFrame (columns of text are a table's problem), sparse
        return
    if getattr(X, "ndim", 1) == 0 or not len(X):  # one value: as_inputs names it
        return
    first = X.iloc[0] if hasattr(X, "iloc") else X[0]
    if not isinstance(first, str):
        return
    try:
        float(first)
        return  # "1.5": a number stored as text
    except ValueError:
        pass
    raise TransferkitError(
        f"{what} holds texts; {reader} (vectors or images).",
        "for texts, use source=transferkit.pretrained_source('hf:sentence-transformers/all-MiniLM-L6-v2') "
        "(fit trains it on the target's texts), or fine-tune it on source texts first with `transferkit run` "
        "(source: {pretrained: ..., data: ...}; docs/pretrained.md).",
    )


__all__ = ["SourceModel", "pretrain"]


def model_source(model: TransferModel) -> SourceModel:
    """Your own network, split into shared and specific layers (:func:`~transferkit.split_module`),
    as the source of a :class:`~transferkit.TransferClassifier`: its shared layers as they are,
    with no source data (methods that train on source examples are refused), and ``scratch``
    the same architecture from fresh weights (:func:`reinitialised`)."""
    import math

    return SourceModel(model, None, None, {}, None, None, 0, model.config.get("architecture", "user"), math.nan,
                       pretrained="your network (split_module)", own_network=True)  # fmt: skip


def reinitialised(model: TransferModel, classes: list[str]) -> TransferModel:
    """A copy of ``model`` whose layers draw their weights afresh (each layer's own
    ``reset_parameters``, as at construction), with specific layers for ``classes``: the
    ``scratch`` baseline of a network given as it is. Parameters outside such layers (a bare
    ``nn.Parameter`` of a custom module) cannot be drawn again: they keep their values, said."""
    fresh = model.copy()
    reset: set[int] = set()
    for m in fresh.shared.modules():
        if callable(getattr(m, "reset_parameters", None)):
            m.reset_parameters()
            reset |= {id(p) for p in m.parameters(recurse=False)}
    kept = sum(p.numel() for p in fresh.shared.parameters() if id(p) not in reset)
    if kept:
        warnings.warn(f"scratch: {kept} parameter(s) of your network are in no layer that can draw its weights again "
                      "(reset_parameters); they keep their trained values, so this 'scratch' is not quite one.",
                      TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    return fresh.reset_specific(classes).train()
