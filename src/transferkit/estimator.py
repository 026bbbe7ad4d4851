"""A scikit-learn style estimator: ``TransferClassifier().pretrain(Xs, ys).fit(Xt, yt).predict(X)``.

Follows the estimator contract: ``__init__`` only stores parameters, ``fit`` validates and
returns ``self``, learned state ends in ``_``, ``get_params``/``set_params`` come from
:class:`sklearn.base.BaseEstimator`. ``clone`` copies the parameters, not the source
model the ``pretrain`` *method* trained; for ``cross_val_score`` or a grid search, train
the source once with :func:`transferkit.pretrain` and pass it as a parameter::

    src = tk.pretrain(Xs, ys)
    cross_val_score(tk.TransferClassifier("l2sp", source=src), Xt, yt, cv=5)

Domain-adaptation methods (``dann``, ``mcc``, ``coral``...) train on the source data kept by
``pretrain`` and on unlabelled target examples: ``fit(X, y, X_unlabelled=...)``.

``pretrain`` sees only the source, so it cannot do what ``transferkit run`` does by default
for image targets of a lower resolution (``source.resolution: match``: the source images are
first brought down to the target's resolution); it trains as ``resolution: native`` does.
For a low-resolution target (e.g. 8x8 optdigits from 28x28 MNIST) the source model without
adaptation scores lower here than in a run; fine-tuning methods recover most of it.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from transferkit.adaptation.label_shift import aligns, target_mix_note
from transferkit.class_weights import class_weights
from transferkit.data.column_ranges import column_ranges, far_median_note, union_ranges
from transferkit.data.domain import PADDED, PADDED_FIX, Domain, nan_padded
from transferkit.data.files import small_uint8_note
from transferkit.data.preprocess import (
    ENLARGED_ERROR,
    MIN_IMAGE_SIDE,
    Recipe,
    alpha_note,
    apply_recipe,
    blank_note,
    border_medians,
    channels_note,
    colour_and_grey,
    detail_size,
    domain_polarity_reference,
    frame_of,
    in_colour,
    ink_contrasts,
    inputs_polarity_note,
    make_recipe,
    mixed_polarity_note,
    other_polarity,
    outside_range_note,
    polarity_reference,
    reads_series,
    shrunk_note,
    stretched_note,
    swapped_inputs_note,
)
from transferkit.data.splits import TargetData, case_twins_note, numbered_classes_note, source_case_twins_note
from transferkit.data.text import TextRecipe
from transferkit.devices import resolve_device
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.estimator_text import fit_texts, is_text_source, seeded_fit, texts_proba
from transferkit.inputs import (
    as_array,
    as_domain,
    as_inputs,
    brief_columns,
    column_names,
    label_key,
    numbers_of_objects,
    plain,
    seed_from,
    stored_dtype,
    warn_index_columns,
)
from transferkit.methods import METHODS, TransferTask, get_method
from transferkit.methods.base import class_difference
from transferkit.models import TransferModel
from transferkit.models.transfer_model import model_file
from transferkit.prediction import own_float_range, own_range_note, scale_warning
from transferkit.source import (
    SourceModel,
    check_epochs,
    check_shared,
    model_source,
    pretrain,
    refuse_texts,
    reinitialised,
)
from transferkit.train.source import input_stats
from transferkit.train.supervised import predict_proba


def unlabelled_methods() -> list[str]:
    """Registered methods that run with no target labels (k = 0), in registry order."""
    return [name for name, m in METHODS.items() if m.min_shots == 0]


def _listed(ranges):
    """Ranges for JSON: nested lists, or None."""
    if ranges is None:
        return None
    return [list(r) if isinstance(r, (tuple, list)) else r for r in ranges]


def _shape_of(X) -> tuple | None:
    """The shape of an array, or of nested lists of numbers (``X[0]`` itself a list); None otherwise: a list of
    arrays or PIL images is a batch of images (3 grey ones beside a colour model are not one image), and ragged or
    unreadable lists are for as_inputs to name."""
    shape = getattr(X, "shape", None)
    if shape is None and isinstance(X, (list, tuple)) and len(X) and isinstance(X[0], (list, tuple)):
        try:
            shape = np.shape(X)
        except (ValueError, TypeError, RuntimeError):
            return None
    return None if shape is None else tuple(shape)


def _one_image(shape, like: tuple) -> bool:
    """Whether an array of ``shape`` can only be a single image of the (C, H, W) size ``like``:
    (H, W), or (H, W, C') with C' in 1, 3, 4. (C', H, W) is not refused: it reads as a batch of
    C' grey images, a layout fit accepts (see :func:`_one_colour_image` for the model's own shape)."""
    if shape is None:
        return False
    shape, (h, w) = tuple(shape), tuple(like[1:])
    return shape == (h, w) or (len(shape) == 3 and shape[:2] == (h, w) and shape[2] in (1, 3, 4)
                               and shape[1:] != (h, w))  # fmt: skip


def _one_colour_image(shape, like: tuple) -> bool:
    """Whether ``shape`` is exactly a colour model's example shape (C, H, W), C in 3, 4: one image
    as fit read them, or C grey images. Read as grey images it gave C predictions for one image
    (a new user's trial), so neither reading is guessed."""
    return shape is not None and like[0] in (3, 4) and tuple(shape) == tuple(like)


def small_target_note(tgt, shape: tuple) -> str | None:
    """Said when fit's images are at most 2/3 of the source's size on each side: `run` trains the
    source at the target's resolution (``source.resolution: match``), which pretrain, called
    before fit, cannot (a trial's 14x14 Fashion-MNIST: source_only 0.582 here, 77.2 % in `run`)."""
    if len(shape) != 3 or not getattr(tgt, "is_image", False) or len(tgt.input_shape) != 3:
        return None
    (h, w), (mh, mw) = tgt.input_shape[1:], shape[1:]
    if 3 * h > 2 * mh or 3 * w > 2 * mw:
        return None
    return (f"the target's {h}x{w} images are enlarged to {mh}x{mw}, the size of the source's (from pretrain): the "
            f"source model learnt detail they do not hold. `transferkit run` trains the source at the target's "
            f"resolution (source.resolution: match); here, shrink the source's images to {h}x{w} and back to "
            f"{mh}x{mw} before pretrain, and compare.")


def enlarged_target_note(tgt, shape: tuple, src, what: str = "X") -> str | None:
    """Said when fit's images hold less detail than their size (enlarged before they were saved), less
    than the source's (from pretrain) images ``src``: as `run` says it (``enlarged_note``), with what to do
    here, where no resolution matching runs (a trial's optdigits stored at 28x28: said by `run`, not by fit).
    Not when the source's images hold no more detail (a source enlarged alike)."""
    if len(shape) != 3 or not getattr(tgt, "is_image", False) or len(tgt.input_shape) != 3:
        return None
    s = detail_size(tgt.x, below=min(shape[1:]))
    if s is None:
        return None
    theirs = detail_size(src.x, below=min(shape[1:]))
    if theirs is not None and theirs <= s:
        return None
    (h, w), (mh, mw) = tgt.input_shape[1:], shape[1:]
    return (f"{what}'s {h}x{w} images hold less detail than their size: a version {s} pixels on the shorter side "
            f"rebuilds them within {ENLARGED_ERROR:.0%}, where the source's (from pretrain) hold {mh}x{mw}. If they "
            f"were enlarged before they were saved, the source model learnt detail they do not hold: shrink the "
            f"source's images to about {s} pixels on the shorter side and back to {mh}x{mw} before pretrain, and "
            "compare (`transferkit run` does so when given the target at the size it was recorded in); if they are "
            "blurred instead, there is nothing to do.")


class TransferClassifier(ClassifierMixin, BaseEstimator):
    """Transfer from a source (``pretrain``) to a target (``fit``), then ``predict``.

    Args:
        method: A registered method name (``finetune``, ``head``, ``l2sp``, ``scratch``...).
        shared: Shared-layer architecture (``auto``: cnn for images, mlp for vectors, cnn1d for
            one-channel arrays that are not pictures: a multichannel series (N, C, L)); with
            a :func:`~transferkit.pretrained_source`, the architecture ``scratch`` trains.
        source_epochs: Epochs of source training (10, as ``source.epochs`` in an experiment file).
        method_params: Hyper-parameters of the method (validated by it).
        random_state: Seed of everything random.
        source: A :class:`~transferkit.source.SourceModel` from :func:`transferkit.pretrain`
            or :func:`transferkit.pretrained_source`, kept by ``clone`` (so ``cross_val_score``
            and ``GridSearchCV`` transfer from it), or None to call :meth:`pretrain` (whose
            source ``clone`` does not keep).
        device: Where ``pretrain``, ``fit`` and ``predict`` compute: ``auto`` (a GPU when torch
            sees one, else the CPU), ``cpu`` or ``cuda``. A source on another device is copied
            there (the source itself stays where it is). A loaded classifier predicts on the CPU.
        class_weight: Each class's weight in the losses on the labelled examples, as in
            scikit-learn: None (every example alike), ``"balanced"`` (n / (C n_c): each class
            weighs alike, however many examples it has) or a dict {label: weight} (others 1).
            For labels drawn unevenly; fit warns of strongly imbalanced ones without it.
            Methods that fit no loss on the labels (``prototypes``, ``transductive``: one mean
            per class) need none.

    With a source, every method, ``scratch`` included, builds its model for the source's
    input shape and normalisation, as in ``transferkit run`` (the baseline sees the target
    exactly as the transfer methods do); for a target-only ``scratch``, use an instance
    without a source.

    After ``fit``: ``classes_``, ``model_``, ``n_features_in_`` (vectors),
    ``feature_names_in_`` (named columns: those of the X given to fit, in its order, which is
    how a later array without names is read; ``columns_read_``, when set, is the order the
    model reads, the source's, which may leave some of them out) and, for ``method="auto"``, ``auto_decision_``:
    the method it chose, its parameters, the reason and the signals (docs/auto.md).
    """

    def __init__(self, method: str = "finetune", shared: str = "auto", source_epochs: int = 10,
                 method_params: dict | None = None, random_state: int = 0, source: SourceModel | None = None,
                 device: str = "auto", class_weight: str | dict | None = None) -> None:  # fmt: skip
        self.method = method
        self.shared = shared
        self.source_epochs = source_epochs
        self.method_params = method_params
        self.random_state = random_state
        self.source = source
        self.device = device
        self.class_weight = class_weight

    def set_params(self, **params) -> TransferClassifier:
        """As scikit-learn's, and ``method_params__<name>=value`` sets one of the method's
        parameters (``GridSearchCV(clf, {"method_params__steps": [50, 200]})``), keeping the others."""
        nested = {k.removeprefix("method_params__"): v for k, v in params.items() if k.startswith("method_params__")}
        super().set_params(**{k: v for k, v in params.items() if not k.startswith("method_params__")})  # first:
        if nested:  # method_params given in the same call is the base its entries are set on
            given = self.method_params or {}
            if not isinstance(given, Mapping):
                raise TransferkitError(f"method_params is a {type(given).__name__}, not a mapping, so "
                                       f"method_params__{next(iter(nested))} cannot set one of its entries.",
                                       "pass method_params as a dict.")  # fmt: skip
            self.method_params = {**given, **nested}  # a new dict: a clone's is never changed through another
        return self

    def _seed(self) -> int:
        return seed_from(self.random_state)

    def _method(self):
        """The configured method, built now so that a typo fails before any work."""
        params = self.method_params or {}
        if not isinstance(params, Mapping):
            raise TransferkitError(f"method_params is a {type(params).__name__}, not a mapping of parameter names "
                                   "to values.", "pass a dict, e.g. method_params={'steps': 200}.")  # fmt: skip
        return get_method(self.method, **params)

    def pretrain(self, X_source, y_source) -> TransferClassifier:
        """Train the shared (and source-specific) layers on the source (kept for adaptation
        methods). ``clone`` does not keep this source; for cross-validation, pass
        ``source=transferkit.pretrain(X_source, y_source)`` to the constructor instead."""
        self._method()  # a typo fails before source training
        if self.source is not None:
            raise TransferkitError("this TransferClassifier already has a source (source=...); pretrain would "
                                   "replace it.", "use either source=transferkit.pretrain(...) or .pretrain(), "
                                   "not both.")  # fmt: skip
        check_epochs(self.source_epochs, "source_epochs")
        self.source_ = pretrain(X_source, y_source, shared=self.shared, epochs=self.source_epochs,
                                random_state=self.random_state, device=self.device)  # fmt: skip
        return self

    def _source(self) -> SourceModel | None:
        """The source to transfer from: ``pretrain``'s, else the ``source`` parameter."""
        if hasattr(self, "source_"):
            if self.source is not None:  # set_params(source=...) after pretrain: which one was meant?
                raise TransferkitError("this TransferClassifier has a source from .pretrain() and another from "
                                       "source=...; fit would have to ignore one.", "use either source=... or "
                                       ".pretrain(), not both (a new instance, or set_params(source=None)).")  # fmt: skip
            return self.source_
        if isinstance(self.source, TransferModel):  # your own network, split_module(net, head, shape, classes)
            return model_source(self.source)
        if self.source is not None and not isinstance(self.source, SourceModel):
            raise TransferkitError(f"source={type(self.source).__name__} is not a transferkit SourceModel.",
                                   "pass source=transferkit.pretrain(X_source, y_source), or your own network as "
                                   "source=transferkit.split_module(net, head, input_shape, classes).")  # fmt: skip
        if self.source is not None and self.source.pretrained is not None and not self.source.own_network:
            check_shared(self.shared)  # what scratch trains
        elif self.source is not None and self.shared not in ("auto", self.source.shared):
            raise TransferkitError(f"shared={self.shared!r} differs from the source's shared layers "
                                   f"({self.source.shared!r}); transfer keeps the source's architecture.",
                                   f"leave shared='auto' or set shared={self.source.shared!r}.")  # fmt: skip
        return self.source

    def fit(self, X, y, X_unlabelled=None) -> TransferClassifier:
        """Adapt to the labelled target examples (X, y); ``X_unlabelled``: more target inputs
        without labels, for methods that use them (domain adaptation, transductive ones).

        ``X=None, y=None``: no target labels at all (k = 0). The target's classes are then the
        source's, ``X_unlabelled`` sets the input scale and shape, and a method that runs
        without target labels adapts with it (``adabn``, ``dann``, ``mcc``, ...; ``source_only``
        uses the source model as it is).
        """
        method = self._method()  # a typo fails before any work
        device = resolve_device(self.device)
        source = self._source()
        if is_text_source(source):  # texts: tokenised by the encoder's tokenizer (estimator_text.py)
            fit_texts(self, method, source, X, y, X_unlabelled, device)
            return self
        no_labels = X is None and y is None
        # texts need a text encoder as the source (fit_texts above)
        refuse_texts(X, "X", "with no source, fit trains a network on numeric inputs" if source is None
                     else f"the source ({source.pretrained or 'from pretrain'}) reads numeric inputs")  # fmt: skip
        if no_labels:
            self._check_no_labels(source, X_unlabelled)
        if source is None:
            check_shared(self.shared)
        names = source.feature_names if source is not None else None
        reference = "the source's (from pretrain)" if names else "the model's (from fit)"
        fit_names = column_names(X_unlabelled if no_labels else X)  # fit's own order: an array later stands for it
        names = names or fit_names  # the order the model reads: the source's, else the target's
        if no_labels:  # the unlabelled inputs stand for the target: its range, shape and the source's classes
            raw = self._checked(X_unlabelled, "X_unlabelled", names, None, reference)  # 0 rows, NaN: named as such
            pool, _ = as_domain(raw, np.zeros(len(raw), np.int64), "X_unlabelled", stored_dtype(X_unlabelled))
            tgt = Domain("target", pool.x, pool.y, list(source.domain.classes), pool.value_range, pool.meta)
            labels = source.labels
        else:
            tgt, labels = as_domain(as_inputs(X, names, "X", reference), y, "target", stored_dtype(X),
                                    known=source.labels if source is not None else None)  # fmt: skip
            warn_index_columns(X, tgt.x, names, "X")
        if len(labels) < 2:
            raise TransferkitError(f"fit got one class ({plain(labels[0])!r}): there is nothing to tell apart.",
                                   "give examples of at least two classes.")  # fmt: skip
        if names is not None and not tgt.is_image and len(names) == tgt.input_shape[0]:
            tgt.meta.setdefault("columns", [str(n) for n in names])  # so that scale warnings name the columns
        source_model = source.model.on(device) if source is not None else None  # the source stays where it is
        if source_model is None and getattr(tgt, "is_image", False):  # pretrain says it of a source's layout
            from transferkit.models.series import warn_layout

            warn_layout(tuple(tgt.input_shape), self.shared, "X", "shared=")  # series channels last, or as pictures?
        shape = source_model.config["input_shape"] if source_model is not None else tgt.input_shape
        src = source.domain if source is not None else None
        pretrained = source.pretrained if source is not None else None
        if pretrained is not None and not tgt.is_image and not source.own_network:
            raise TransferkitError(f"X holds vectors of {tgt.input_shape[0]} features; the pretrained source "
                                   f"{pretrained!r} reads images.", "give X as images: (N, H, W), (N, C, H, W) "
                                   "or (N, H, W, C).")  # fmt: skip
        # your own network whose head (kept by split_module) reads exactly the target's classes: it is a source model
        # with its head, which source_only applies as it is (a trial's was refused as "having none" of them)
        head_classes = [str(c) for c in source_model.classes] if source is not None and source.own_network \
            and source_model.config.get("head_from_network", False) and not no_labels else None  # fmt: skip
        if head_classes is not None and head_classes != list(tgt.classes) and sorted(head_classes) == sorted(tgt.classes) \
                and method.needs_same_classes:  # fmt: skip
            raise TransferkitError(f"your network's head reads the classes {head_classes} in that order, and y's sort as "
                                   f"{list(tgt.classes)}: method {self.method!r} applies that head as it is.",
                                   "give split_module the classes in the order np.unique(y) gives them (its head's "
                                   "outputs in that order too), or use a method that trains a new head ('head', "
                                   "'finetune').")  # fmt: skip
        own_head = head_classes == list(tgt.classes)
        if own_head and method.needs_same_classes and method.needs_source_data():  # not deep in its training
            raise TransferkitError(f"method {self.method!r} trains on source examples beside the target's, and your "
                                   "network (split_module) comes with none.",
                                   "use source_only or adabn (your network's head as it is), or a method that "
                                   "trains a new head ('head', 'finetune').")  # fmt: skip
        if pretrained is not None and not own_head:  # as in `transferkit run`: the encoder with a head for the target's classes
            source_model = source_model.copy().reset_specific(tgt.classes)
        with warnings.catch_warnings(record=True) as noted:  # said again below, at the user's call of fit
            warnings.simplefilter("always")
            try:
                arch = source_model.config.get("architecture", "auto") if source_model is not None else self.shared
                self.recipe_ = make_recipe(tgt, tuple(shape), "auto" if src is not None else 0, source=src,
                                           architecture=arch)  # fmt: skip
            except TransferkitError as e:  # its fix may suggest vectors, which a pretrained image model refuses
                if pretrained is None or "too small to scale up" not in e.problem:
                    raise
                raise TransferkitError(e.problem, f"give images of at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} "
                                       f"pixels: {pretrained!r} reads images, not vectors.") from None  # fmt: skip
        for w in noted:
            warnings.warn(w.message, w.category, stacklevel=user_stacklevel())
        # the framing the shared layers learned: the source's images', or X's own without a source (saved: few-shot's
        # source.model frames novel images to it); unknown for pretrained weights and your own network
        self.source_frame_ = frame_of(src) if src is not None else frame_of(tgt) if source is None else None
        # ... and the classes its shared layers were trained on before X's: none without a source (saved: few-shot's
        # novelty check); unknown (None) for pretrained weights and your own network
        self.source_classes_ = ([str(c) for c in src.classes] if src is not None and self.method != "scratch"
                                else [] if source is None or self.method == "scratch" else None)  # (scratch: none read)
        shrunk = shrunk_note(tgt, tuple(shape), "from pretrain", fix=(
            f"To keep their detail, bring the source's images to {tgt.input_shape[1]}x{tgt.input_shape[2]} before "
            "pretrain, and compare.")) if getattr(src, "is_image", False) and pretrained is None else None  # fmt: skip
        if shrunk:  # as `run` says it (README's warnings); a trial's 28x28 target went to 8x8 without a word
            warnings.warn(shrunk, TransferkitWarning, stacklevel=user_stacklevel())
        small = small_target_note(tgt, tuple(shape)) if getattr(src, "is_image", False) and pretrained is None else None
        if small:
            warnings.warn(small, TransferkitWarning, stacklevel=user_stacklevel())
        named = "X_unlabelled" if no_labels else "X"
        enlarged = enlarged_target_note(tgt, tuple(shape), src, named) if getattr(src, "is_image", False) \
            and pretrained is None and not small and not shrunk and not self._series(arch) else None  # fmt: skip
        if enlarged:
            warnings.warn(enlarged, TransferkitWarning, stacklevel=user_stacklevel())
        stretched = stretched_note(dataclasses.replace(tgt, name=named), tuple(shape), arch) \
            if source is not None and (pretrained is None or source.own_network) else None  # (pretrained: by design)
        if stretched:  # as `run` says it
            warnings.warn(stretched, TransferkitWarning, stacklevel=user_stacklevel())
        # make_recipe warned if X is off the source's scale: later inputs on that scale are not warned of again
        off = src is not None and not tgt.is_image and outside_range_note(
            tgt, src, per_column=self.recipe_.column_ranges is not None) is not None  # (a series' steps: whole range)
        self.fit_range_ = tuple(tgt.value_range) if off else None  # X's own range, which fit warned is off
        # ... and per column the union of the source's range and X's (a few rows of X alone say little)
        self.fit_column_ranges_ = union_ranges(self.recipe_.column_ranges, column_ranges(tgt.x)) \
            if off and self.recipe_.column_ranges is not None else None  # fmt: skip
        x = apply_recipe(tgt.x[:1], self.recipe_)[:0] if no_labels else apply_recipe(tgt.x, self.recipe_)
        xu = x[:0]
        whose = ("X's" if fit_names else
                 "the source's (from pretrain)" if source is not None and source.feature_names else "X's")  # fmt: skip
        for what, given in (("X", X), ("X_unlabelled", X_unlabelled)):
            if given is not None and names is not None and column_names(given) is None:
                warnings.warn(f"{what} has no column names; its columns are read as {whose}, in the order "
                              f"{brief_columns(fit_names or names)}.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        self.range_from_source_ = src is not None  # vectors' range: the source's (inputs after X are checked against it)
        if X_unlabelled is not None:
            raw_u = self._checked(X_unlabelled, "X_unlabelled", names, tgt.x.shape[1:], reference, fit_names,
                                  known=fit_names)  # fmt: skip
            recipe_u = self._read_as(X_unlabelled, arch)  # this fit's architecture, not a previous fit's model_
            note = (self._scale_note(raw_u) if recipe_u is self.recipe_  # e.g. 0..255 beside X in 0..1
                    else small_uint8_note(raw_u, "it", "give X_unlabelled as floats"))  # fmt: skip
            if note and not no_labels:  # (with no labels X_unlabelled set the range: as_domain said what is off)
                # images: the range is X's own (vectors: the source's, which the model was trained on)
                series = self._series(arch)  # read on the source's range too
                note = note.replace("trained on images", "trained on series") if series else note
                note = note.replace("the model was trained on", "X has") if len(self.recipe_.shape) == 3 and not series \
                    else note  # fmt: skip
                warnings.warn(f"X_unlabelled: {note}", TransferkitWarning, stacklevel=user_stacklevel())
            xu = apply_recipe(raw_u, recipe_u)
        seen = x if len(x) else xu  # the target's images as the model reads them: predict compares inputs with them
        borders = border_medians(seen, self.recipe_.pad) if len(self.recipe_.shape) == 3 and len(seen) else None
        if borders is not None and self._series(arch):
            borders = None  # series have no ink or paper
        self.target_border_ = polarity_reference(borders) if borders is not None else None  # None: of both kinds
        self.target_border_other_ = other_polarity(borders, self.target_border_) if borders is not None else None
        self.target_ink_ = float(np.median(ink_contrasts(seen, self.recipe_.pad))) if borders is not None else None
        mixed = mixed_polarity_note(dataclasses.replace(tgt, name="X_unlabelled" if no_labels else "X"))
        if mixed:  # as `transferkit run` says of its target
            warnings.warn(mixed, TransferkitWarning, stacklevel=user_stacklevel())
        trained = domain_polarity_reference(src) if src is not None and getattr(src, "is_image", False) else None
        if borders is not None and trained is not None and not mixed:  # (either side of both polarities: no advice to invert)
            both = in_colour(src.x[:200]) and in_colour(tgt.x[:200])  # photos: only at the extremes, as run judges
            note = swapped_inputs_note(borders, trained, "X" if len(x) else "X_unlabelled", colour=both)
            if note:  # inverted against the source: as `transferkit run` warns
                warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
        yt = torch.from_numpy(tgt.y[:0] if no_labels else tgt.y)
        shots = 0 if no_labels else int(np.bincount(tgt.y).min())
        same = (src is not None and src.classes == tgt.classes) or own_head
        if src is not None and not same and sorted(src.classes) == sorted(tgt.classes):
            raise TransferkitError(
                f"y names the source's classes, but they sort in another order ({tgt.classes} against the "
                f"source's {src.classes}): labels of another type, e.g. strings against numbers.",
                "give y the type pretrain's y had (e.g. y.astype(int), or both as strings).",
            )
        if method.uses_source and source_model is None:
            raise TransferkitError(
                f"method {self.method!r} transfers from a source, and none was given.",
                "call .pretrain(X_source, y_source) before .fit, pass source=transferkit.pretrain(X_source, "
                "y_source) or source=transferkit.pretrained_source(NAME) (clone, as in cross_val_score, and load "
                "keep no .pretrain() source), or use method='scratch'.",
            )
        reads_head = method.name == "auto" or method.needs_same_classes or method.uses_unlabelled
        numbered = numbered_classes_note(src, tgt, "give y_source or y the classes' names (words such as 'cat' and 'dog': "
                                         "'0' and '1' as strings are the same numbers)") \
            if same and reads_head and not no_labels else None  # fmt: skip
        if numbered:  # as run says it (UCR sets number their classes 1..C, other classes in each), where the source's
            # head says little of the labelled examples: ints 0..9 of two digit sets, meant alike, read well
            from transferkit.evaluate.source_check import not_above_chance
            from transferkit.train.supervised import predict_proba

            right = float((predict_proba(source_model, x.to(device)).argmax(1).cpu() == yt).float().mean())
            if not_above_chance(right, tgt.y) is not None:  # (source_only, adabn: their own note gives the score)
                score = "" if not method.uses_target_labels else (f" The source's head scores {100 * right:.1f} % on "
                                                                  "the labelled examples, not clearly above chance.")
                warnings.warn(numbered + score, TransferkitWarning, stacklevel=user_stacklevel())
        differ = class_difference(src.classes, tgt.classes) if src is not None else ""  # named, as run names them
        same_names = case_twins_note(sorted({str(c).strip() for c in tgt.classes}), "y") if not no_labels else None
        if same_names:  # case alone: names apart only by spaces are warned of already
            warnings.warn(same_names, TransferkitWarning, stacklevel=user_stacklevel())
        twins = source_case_twins_note(src.classes, tgt.classes) if src is not None and not no_labels else None
        if twins:  # as run says it: labels written another way are other classes
            warnings.warn(twins, TransferkitWarning, stacklevel=user_stacklevel())
        try:
            method.check(shots, same, source_model is not None, differ)
        except TransferkitError as e:  # its fix speaks of the experiment file's `methods`
            if no_labels:
                raise TransferkitError(e.problem, "give labelled X, y, or use a method that runs without target "
                                       f"labels: {', '.join(unlabelled_methods())}.") from None  # fmt: skip
            if method.needs_same_classes and pretrained is not None:
                raise TransferkitError(f"method {self.method!r} needs source data with the target's classes (it "
                                       "applies, or trains, a head on source labels), and the pretrained source "
                                       f"{pretrained!r} has none.",
                                       "use a method that trains a new head (e.g. 'head', 'finetune', 'lora').") from None  # fmt: skip
            if method.needs_same_classes and not same:
                if src is not None and set(tgt.classes) < set(src.classes):  # labels for some classes only
                    missing = [c for c in src.classes if c not in tgt.classes]
                    raise TransferkitError(
                        f"method {self.method!r} keeps the source's head, whose classes are all of the source's, "
                        f"but y labels only some of them (none of {brief_columns(missing)}).",
                        "give at least one labelled example of every source class, or fit(None, None, "
                        "X_unlabelled=...) with no labels; a method that trains a new head ('head', 'finetune') "
                        "would learn only the labelled classes.",
                    ) from None
                raise TransferkitError(e.problem, "pick a method that trains a new head (e.g. 'head' or "
                                       "'finetune'), or fit on the source's classes.") from None  # fmt: skip
            raise
        if X_unlabelled is None and method.uses_unlabelled and not method.optional_source:  # auto: its choice
            warnings.warn(f"method {self.method!r} adapts with unlabelled target inputs and none were given "
                          "(fit(X, y, X_unlabelled=...)); it uses the labelled ones only.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        elif X_unlabelled is not None and not method.uses_unlabelled and not no_labels:  # k = 0: it sets the scale
            warnings.warn(f"method {self.method!r} does not use unlabelled inputs; X_unlabelled is ignored.",
                          TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        if not no_labels and not method.uses_target_labels and method.name != "source_only":
            # adabn with 5 labels per class gave exactly its k = 0 result, without a word (head says so of X_unlabelled)
            warnings.warn(f"method {self.method!r} reads no target labels: y only names classes_; a method that "
                          "trains on them ('head', 'finetune', 'mcc') would use them.", TransferkitWarning,
                          stacklevel=user_stacklevel())  # fmt: skip
        if aligns(method) and len(xu) and source is not None and source.parts:  # X_unlabelled's inputs, never y
            shift = target_mix_note(source_model, source.parts["source_val_x"].to(device),
                                    source.parts["source_val_y"], xu.to(device), src.classes, "X_unlabelled")  # fmt: skip
            if shift:
                warnings.warn(shift, TransferkitWarning, stacklevel=user_stacklevel())
        seed = self._seed()
        shared = source.shared if source is not None and pretrained is None else self.shared
        # a fresh model (scratch's) normalises by the target's own inputs, X's, as in a run (protocol._model_factory;
        # not X_unlabelled's, which scratch is said to ignore)
        mean, std = ((source_model.input_mean, source_model.input_std)  # token ids, or no target inputs (k = 0)
                     if source_model is not None and (not x.is_floating_point() or not len(x))
                     else input_stats(x, shared))  # fmt: skip
        parts = {k: v.to(device) for k, v in (source.parts if source is not None else {}).items()}
        weights = class_weights(self.class_weight, yt.numpy(), labels, method)  # k = 0: none labelled
        task = TransferTask(
            TargetData(x.to(device), yt.to(device), xu.to(device), tgt.num_classes,
                       None if weights is None else weights.to(device)), tgt.classes, seed,
            (lambda: reinitialised(source_model, tgt.classes)) if source is not None and source.own_network else
            (lambda: TransferModel.build(shared, tuple(shape), tgt.classes, mean, std).to(device)),
            source_model, source_classes=src.classes if src is not None else tgt.classes if own_head else None, **parts,
        )  # fmt: skip
        self.model_ = seeded_fit(method, task)
        self.model_.config.pop("head_from_network", None)  # what split_module said of the network, not of this model
        if not method.uses_target_labels and len(x):  # held out from it: an honest check of the source's head
            from transferkit.evaluate.source_check import labels_unused_note
            from transferkit.train.supervised import predict_proba

            right = float((predict_proba(self.model_, x.to(device)).argmax(1).cpu() == yt).float().mean())
            note = labels_unused_note(self.method, right, tgt.y)
            if note:
                warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
        if "auto_decision" in self.model_.config:  # auto: what it chose, and why
            self.auto_decision_ = self.model_.config["auto_decision"]
        elif hasattr(self, "auto_decision_"):
            del self.auto_decision_
        self.classes_ = labels  # predict returns these, the labels fit was given
        self.fit_labelled_ = not no_labels  # (with none, the source's labels from pretrain)
        self.input_shape_ = tuple(int(v) for v in tgt.x.shape[1:])  # predict checks its inputs against it
        self.fit_colour_ = bool(in_colour(tgt.x)) if tgt.x.ndim == 4 else None  # by content: grey stored as RGB is grey
        self.fit_colour_and_grey_ = bool(colour_and_grey(tgt.x))  # both kinds: neither is new to it in predict
        if tgt.x.ndim == 2:  # (scikit-learn's meaning: the X given to fit, columns left out included)
            self.n_features_in_ = len(fit_names) if fit_names else int(tgt.x.shape[1])
        elif hasattr(self, "n_features_in_"):  # a refit on images: no feature count any more
            del self.n_features_in_
        if names is not None:  # the X given to fit's columns, in its order, as scikit-learn has it
            self.feature_names_in_ = np.asarray(fit_names or names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        if fit_names and list(fit_names) != list(names):  # the model reads the source's order (or fewer columns)
            self.columns_read_ = [str(n) for n in names]
        elif hasattr(self, "columns_read_"):
            del self.columns_read_
        # the fitted inputs had names of their own (not only the source's): predict then warns of arrays
        self.fit_named_ = column_names(X_unlabelled if no_labels else X) is not None
        self.class_names_ = tgt.classes
        return self

    @staticmethod
    def _check_no_labels(source: SourceModel | None, X_unlabelled) -> None:
        """fit(None, None, X_unlabelled=...) needs the source's classes and the unlabelled inputs."""
        if source is not None and source.pretrained is not None:
            raise TransferkitError(f"fit got no labelled examples (X and y are None), and the pretrained source "
                                   f"{source.pretrained!r} has no classes of its own to adapt.",
                                   "give labelled X, y (a few per class are enough), or a source trained on the "
                                   "target's classes (transferkit.pretrain(X_source, y_source)).")  # fmt: skip
        if source is None:
            raise TransferkitError("fit got no labelled examples (X and y are None) and there is no source, so "
                                   "there are no classes to learn.", "give labelled X, y, or a source "
                                   "(.pretrain(X_source, y_source) or source=) whose classes the target shares.")  # fmt: skip
        if X_unlabelled is None:
            raise TransferkitError("fit got no labelled examples (X and y are None) and no X_unlabelled.",
                                   "give X_unlabelled, the target's inputs without labels, to adapt to the target "
                                   "with none labelled (k = 0); or give labelled X, y.")  # fmt: skip

    def _check_fitted(self, call: str = "predict") -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This TransferClassifier is not fitted yet: call fit(X, y) before {call}.")

    def _checked(self, X, what: str, names: list[str] | None, like: tuple | None = None,
                 reference: str = "the model's (from fit)", positions: list[str] | None = None,
                 known: list[str] | None = None) -> np.ndarray:  # fmt: skip
        """``X`` laid out as the model's inputs: columns by name (``reference``: whose names), finite,
        of the example shape ``like`` (that of the model's inputs), when known. ``positions``: the
        columns an array's stand for (fit's X's), when they differ from ``names``; ``known``: columns
        left out without a word (fit's own, which it said it left out)."""
        shape = _shape_of(X) if like is not None and len(like) == 3 else None  # nested lists too (a review)
        one = f"{what}[None]" if hasattr(X, "shape") else f"[{what}]"
        if _one_image(shape, like):
            kind = "series" if getattr(self, "recipe_", None) is not None and self._series() else "image"  # (a series trial)
            raise TransferkitError(f"{what} of shape {shape} is one {kind}, not a batch of {kind}{'s' * (kind == 'image')}.",
                                   f"pass a batch of one: {one}.")  # fmt: skip
        if _one_colour_image(shape, like):
            c, h, w = like
            grey = f"{what}[:, None]" if hasattr(X, "shape") else f"np.asarray({what})[:, None]"
            raise TransferkitError(f"{what} of shape {shape} is the shape of one of the model's colour images "
                                   f"({c} channels of {h}x{w}), or {c} grey images: not read either way.",
                                   f"pass one image as a batch of one: {one}; {c} grey images: {grey}.")  # fmt: skip
        x = as_inputs(X, names, what, reference, positions, known)
        if len(x) == 0:
            raise TransferkitError(f"{what} has no examples (0 rows).", f"give {what} at least one example.")
        if not np.isfinite(x).all():  # series NaN-padded to one length: said as fit says it
            padded = nan_padded(x) if names is None else ""
            raise TransferkitError(f"{what} contains NaN or Inf values" + (PADDED[padded] if padded else "."),
                                   PADDED_FIX if padded else "remove or impute them.")  # fmt: skip
        if like is not None and len(like) == 3 and x.ndim == 2 and x.shape[1] == int(np.prod(like)):  # flattened
            raise TransferkitError(f"{what} has examples of {x.shape[1]} values in a row, but the X given to fit had "
                                   f"images of shape {tuple(like)}.",
                                   f"give {what} as images: {what}.reshape(len({what}), {', '.join(map(str, like))}).")  # fmt: skip
        recoloured = (len(like or ()) == 3 and x.ndim == 4 and tuple(x.shape[2:]) == tuple(like[1:])
                      and (x.shape[1] == 1 or (x.shape[1] in (3, 4) and self.recipe_.shape[0] in (1, 3))))  # fmt: skip
        # grey to any; RGB or RGBA to a grey or RGB model: mapped as predict maps image files
        if like is not None and x.ndim == len(like) + 1 and tuple(x.shape[1:]) != tuple(like) and not recoloured:
            size = (len(like) == 3 and x.ndim == 4 and tuple(x.shape[2:]) != tuple(like[1:]))
            model = getattr(self, "model_", None)  # (X_unlabelled is checked in fit, before there is one)
            series = size and model is not None and model.config.get("architecture") == "cnn1d"  # not resizable
            turned = size and x.shape[1] == like[0] and tuple(x.shape[2:]) == tuple(like[1:])[::-1]
            how = ("" if not size else
                   f": swap its last two axes, {what}.swapaxes(-1, -2) ({'channels and steps' if series else 'rows and columns'}"
                   " saved the other way round)" if turned else
                   f" (series of {like[1]} channels, each resampled to {like[2]} steps, e.g. with np.interp)" if series
                   else f" (resize them to {like[1]}x{like[2]} first: the model reads other sizes differently)")
            said = (f"{what} has {x.shape[1]} features, but {type(self).__name__} is expecting {like[0]} features as "
                    "input (fit's X)" if len(like) == 1 else
                    f"{what} has examples of shape {tuple(x.shape[1:])}, the X given to fit had {tuple(like)}")
            raise TransferkitError(
                f"{said}.",
                f"give {what} in the same layout and size as fit's X{how}.",
            )
        return x

    def _named(self, recipe: Recipe) -> Recipe:
        """``recipe`` with fit's column names (a DataFrame's), so that warnings name columns."""
        names = getattr(self, "columns_read_", None) or getattr(self, "feature_names_in_", None)
        if recipe.columns or names is None or len(recipe.shape) != 1 or len(names) != recipe.shape[0]:
            return recipe
        return dataclasses.replace(recipe, columns=tuple(str(n) for n in names))

    def _scale_note(self, x: np.ndarray) -> str | None:
        """``scale_warning`` for inputs given after fit's X; vectors against a source's range, or
        without a source, only when a column's median is far off fit's own rows (a range from a
        few labelled rows says little of other vectors' tails)."""
        fit_range = getattr(self, "fit_range_", None)
        if fit_range is not None:  # fit warned that X is off the source's scale: inputs on X's scale are not
            own = dataclasses.replace(self.recipe_, value_range=fit_range,
                                      column_ranges=getattr(self, "fit_column_ranges_", None))  # fmt: skip
            whose = "the run's target (its rows outside the test split)" if getattr(self, "fit_by_run_", False) else "X (given to fit)"
            return scale_warning(x, self._named(own), f"the source and {whose} hold")  # warned of again
        if len(self.recipe_.shape) == 3 or getattr(self, "range_from_source_", True):
            return scale_warning(x, self._named(self.recipe_), kind="series" if self._series() else "images")
        named = self._named(self.recipe_)  # no source: only a bulk far off fit's own few rows (a trial's X x 1000)
        return far_median_note(x, named.column_ranges, named.columns)

    def predict_proba(self, X) -> np.ndarray:
        return self._proba(X, "predict_proba")

    def _proba(self, X, call: str = "predict") -> np.ndarray:
        """Probabilities, (N, classes); a warning points at the user's call (of predict, score...)."""
        stacklevel = user_stacklevel()
        self._check_fitted(call)
        if isinstance(self.recipe_, TextRecipe):
            return texts_proba(self, X)
        names = getattr(self, "feature_names_in_", None)
        named_fit = getattr(self, "fit_named_", True)  # fit's own X had names (else: the source's names)
        if names is not None and named_fit and column_names(X) is None:  # as scikit-learn: positions stand in
            warnings.warn(f"X has no column names, but this classifier was fitted with named columns; its columns "
                          f"are read in the fitted order {brief_columns(names)}.", TransferkitWarning, stacklevel=stacklevel)  # fmt: skip
        elif names is None and column_names(X) is not None and len(self.recipe_.shape) == 1:
            warnings.warn("X has column names, but this classifier was fitted on an array without them; its "
                          f"columns are read by position, not by name ({brief_columns(column_names(X))}).",
                          TransferkitWarning, stacklevel=stacklevel)  # fmt: skip
        like = getattr(self, "input_shape_", None)
        read = getattr(self, "columns_read_", None) or names  # the model's order; an array stands for fit's X
        fitted = None if names is None else [str(n) for n in names]  # (its columns left out: said by fit, once)
        x = self._checked(X, "X", None if names is None else list(read), like, positions=fitted, known=fitted)
        recipe = self._read_as(X)
        note = self._scale_note(x) if recipe is self.recipe_ else small_uint8_note(x, "X", "give X as floats")
        picture = len(recipe.shape) == 3 and not self._series()
        own = own_float_range(np.asarray(x), recipe.value_range) if recipe is self.recipe_ and picture else None
        if own is not None:  # (not series)
            note = own_range_note("X", own, recipe.value_range[1], "to be read on the model's scale, give uint8 0..255 "
                                  "or floats on its range", model="a model fitted on images in",
                                  top=float(np.asarray(x).max()))  # fmt: skip
            recipe = dataclasses.replace(recipe, value_range=own)
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=stacklevel)
        colour = getattr(self, "fit_colour_", None)
        colour = (like[0] in (3, 4)) if colour is None and like is not None and len(like) == 3 else colour
        both = getattr(self, "fit_colour_and_grey_", False)
        note = channels_note(x, colour, self.recipe_.shape[0], "X", both) if colour is not None else None
        if note:  # the channels fit's X had, not the model's (a pretrained model reads RGB whatever fit got)
            warnings.warn(note, TransferkitWarning, stacklevel=stacklevel)
        note = blank_note([x], "X") if len(recipe.shape) == 3 and x.ndim == 4 else None
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=stacklevel)
        note = alpha_note(x, self.recipe_.shape[0], "X") if len(recipe.shape) == 3 else None
        if note:  # RGBA arrays: alpha dropped, see-through pixels show what they store
            warnings.warn(note, TransferkitWarning, stacklevel=stacklevel)
        t = apply_recipe(x, recipe)
        border = getattr(self, "target_border_", None)
        note = (inputs_polarity_note(border_medians(t, recipe.pad), border, "X",
                                     trained_other=getattr(self, "target_border_other_", None),
                                     inks=ink_contrasts(t, recipe.pad), trained_ink=getattr(self, "target_ink_", None))
                if border is not None else None)  # fmt: skip
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=stacklevel)
        return predict_proba(self.model_, t).cpu().numpy()  # batch by batch to the model's device

    def _read_as(self, X, arch: str | None = None) -> Recipe:
        """The recipe for images given after fit: uint8 images are 0..255 whatever range fit's
        X had (0..1 floats, 0..16 digits), as ``transferkit predict`` reads them; otherwise
        fit's recipe (and always for series: read on the source's range, whatever their dtype)."""
        if len(self.recipe_.shape) == 3 and stored_dtype(X) == np.uint8 and not self._series(arch):
            return dataclasses.replace(self.recipe_, value_range=(0.0, 255.0))
        return self.recipe_

    def _series(self, arch: str | None = None) -> bool:
        """Whether the model reads series (the ``cnn1d``; ``arch``: fit's architecture, before ``model_``
        is this fit's): the picture rules (uint8 as 0..255, unit floats, ink and paper) are not for them."""
        if len(self.recipe_.shape) != 3:
            return False
        if arch is None:
            model = getattr(self, "model_", None)
            arch = model.config.get("architecture", "auto") if model is not None else "auto"
        return reads_series(self.recipe_.shape, arch)

    def predict(self, X) -> np.ndarray:
        proba = self._proba(X)  # checks fitted first
        return self.classes_[proba.argmax(1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy on (X, y); y must hold labels of the type fit's y had (strings or numbers)."""
        self._check_fitted("score")
        given = np.asarray(as_array(y), dtype=object).reshape(-1)
        n = len(X) if hasattr(X, "__len__") else None
        if n is not None and n != len(given):  # before predicting all of X (sklearn said it after, as a ValueError)
            raise TransferkitError(f"X holds {n} examples but y {len(given)} labels.", "give one label per example of X.")
        if len(given) and len(self.classes_) and _is_text(given[0]) != _is_text(self.classes_[0]):
            kinds = ("strings", "numbers") if _is_text(self.classes_[0]) else ("numbers", "strings")
            whose = "fit was given" if getattr(self, "fit_labelled_", True) else "the classes (the source's, from pretrain) are"
            raise TransferkitError(f"y holds {kinds[1]} ({plain(given[0])!r}, ...), but {whose} {kinds[0]} "
                                   f"({plain(self.classes_[0])!r}, ...): no prediction could equal them.",
                                   "give y the type of the classes' labels (e.g. y.astype(str), or y.astype(int)).")  # fmt: skip
        known = {plain(c) for c in self.classes_}
        unknown = sorted({plain(v) for v in given} - known, key=str)
        if unknown:  # e.g. labels shifted by one: the score would silently count them all wrong
            shown = ", ".join(repr(v) for v in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            classes = ", ".join(repr(plain(c)) for c in self.classes_[:5]) + (", ..." if len(self.classes_) > 5 else "")
            n = sum(plain(v) not in known for v in given)
            said = (f"none of y's labels ({shown}) is a class fit was given ({classes}): no prediction can equal "
                    "them, so the score is 0; give y the labels fit's y used" if n == len(given) else
                    f"y holds label(s) fit was never given ({shown}), on {n} of {len(given)} examples; those count "
                    "as wrong")  # fmt: skip
            # a warning, not an error: a cross-validation fold may hold only classes its training part lacked
            warnings.warn(f"score: {said}.", TransferkitWarning, stacklevel=user_stacklevel())
        return super().score(X, numbers_of_objects(np.asarray(as_array(y))), sample_weight)

    def save(self, path) -> None:
        """``path.safetensors`` + ``path.json``: the model, its input recipe and the labels."""
        self._check_fitted("save")
        if self.model_.config.get("architecture") == "user":  # (nothing written: load could not rebuild it)
            raise TransferkitError(
                "this classifier is built on your own network (split_module), whose code a .safetensors/.json pair "
                "cannot hold, and load could not rebuild it (methods that train a new head replace its head, and "
                "adapters change it).",
                "save the whole classifier with joblib.dump(clf, 'clf.joblib') (or pickle) and load it with "
                "joblib.load('clf.joblib') where your network's class can be imported.")  # fmt: skip
        labels = [plain(v) for v in self.classes_]  # JSON: str, int or float
        names = getattr(self, "feature_names_in_", None)
        kind = self.classes_.dtype.kind
        dtype = self.classes_.dtype.name if kind in "biuf" else None  # numbers come back as the type fit was given
        self.model_.save(path, {"recipe": self.recipe_.to_dict(), "labels": labels, "labels_dtype": dtype,
                                "estimator": self._saved_params(),
                                "feature_names": None if names is None else [str(n) for n in names],
                                "columns_read": getattr(self, "columns_read_", None),
                                "fit_named": getattr(self, "fit_named_", True),
                                "fit_input_shape": list(getattr(self, "input_shape_", None) or []) or None,
                                "fit_colour": getattr(self, "fit_colour_", None),
                                "fit_colour_and_grey": getattr(self, "fit_colour_and_grey_", False),
                                "range_from_source": getattr(self, "range_from_source_", True),
                                "fit_range": _listed(getattr(self, "fit_range_", None)),
                                "fit_column_ranges": _listed(getattr(self, "fit_column_ranges_", None)),
                                "target_border": getattr(self, "target_border_", None),
                                "target_border_other": getattr(self, "target_border_other_", None),
                                "target_ink": getattr(self, "target_ink_", None),
                                "source_frame": getattr(self, "source_frame_", None),
                                "source_classes": getattr(self, "source_classes_", None)})  # fmt: skip

    def _saved_params(self) -> dict:
        """The parameters a loaded classifier gets back: all but the source (a loaded
        classifier predicts; it does not transfer again)."""
        params = self.get_params()
        params.pop("source")
        params.pop("device")  # where it was fitted says nothing of where it is loaded (load: the CPU, device auto)
        if isinstance(params.get("class_weight"), Mapping):  # JSON: names as strings, weights as floats
            params["class_weight"] = {label_key(k): float(v) for k, v in params["class_weight"].items()}
        return params

    @classmethod
    def load(cls, path) -> TransferClassifier:
        """A fitted classifier from :meth:`save` (or any transferkit model with its recipe).

        A run's model (``RUN/models/METHOD_kK_seedS``) predicts the run's class names, which
        are strings (an .npz target's integer labels 5..9 become '5'..'9', as in its report):
        compare them with ``y.astype(str)``. It brings image arrays of any size straight to its
        input (``transferkit predict`` first brings image *files* to the size of the run's
        target images, as the run read them)."""
        import json

        model = TransferModel.load(path)
        meta = json.loads(model_file(path, ".json").read_text())
        params = meta.get("estimator") or {k: meta[k] for k in ("method", "seed") if meta.get(k) is not None}
        params = {"random_state" if k == "seed" else k: v for k, v in params.items()}  # a run's model: its method, seed
        clf = cls(**{k: v for k, v in params.items() if k in cls().get_params() and k != "device"})
        clf.classes_ = np.asarray(meta.get("labels", model.classes), dtype=meta.get("labels_dtype"))
        clf.class_names_ = model.classes
        if meta["recipe"].get("kind") == "text":  # texts: the tokenizer's recipe, nothing about arrays
            clf.model_, clf.recipe_ = model, TextRecipe(**meta["recipe"])
            return clf
        clf.model_, clf.recipe_ = model, Recipe.from_dict(meta["recipe"])
        names = meta.get("feature_names") or (list(clf.recipe_.columns) if clf.recipe_.columns else None)
        if names:  # a model from a CSV run knows its column names too
            clf.feature_names_in_ = np.asarray(names, dtype=object)
            clf.fit_named_ = bool(meta.get("fit_named", True))
            if meta.get("columns_read"):
                clf.columns_read_ = list(meta["columns_read"])
        if meta.get("fit_input_shape"):  # saved by save(): predict checks inputs as the fitted one did
            clf.input_shape_ = tuple(int(v) for v in meta["fit_input_shape"])
            clf.fit_colour_ = meta.get("fit_colour")
            clf.fit_colour_and_grey_ = bool(meta.get("fit_colour_and_grey"))
        # (a run's model has none: as `transferkit predict`, it brings images of any size to its input)
        if len(clf.recipe_.shape) == 1:
            clf.n_features_in_ = len(names) if meta.get("columns_read") else int(clf.recipe_.shape[0])
        clf.range_from_source_ = bool(meta.get("range_from_source", True))  # a run's vectors: the source's range
        fit_range, fit_columns = meta.get("fit_range"), meta.get("fit_column_ranges")  # what fit warned of, by save()
        clf.fit_range_ = tuple(fit_range) if fit_range else None
        clf.fit_by_run_ = meta.get("estimator") is None  # a run's model: its target set these ranges
        clf.fit_column_ranges_ = tuple(tuple(r) for r in fit_columns) if fit_columns else None
        clf.target_border_ = meta.get("target_border")  # a run's model has it too (run_folder.py)
        clf.target_border_other_ = meta.get("target_border_other")
        clf.target_ink_ = meta.get("target_ink")
        clf.source_frame_ = meta.get("source_frame")  # (saved again as they came)
        clf.source_classes_ = meta.get("source_classes")
        if "auto_decision" in model.config:
            clf.auto_decision_ = model.config["auto_decision"]
        return clf


def _is_text(label) -> bool:
    return isinstance(label, str | np.str_ | bytes)


__all__ = ["TransferClassifier", "Recipe"]
