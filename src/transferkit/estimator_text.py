"""Texts in the Python API: ``TransferClassifier`` with a pretrained text encoder as source.

    src = tk.pretrained_source("hf:sentence-transformers/all-MiniLM-L6-v2", input_shape=(64,))
    clf = tk.TransferClassifier("lora", source=src).fit(texts, labels)   # a list of strings
    clf.predict(["great value", "broke on day one"])

As ``transferkit run`` with ``source: {pretrained: hf:...}`` (evaluate/pretrained.py): the
encoder's own tokenizer, the first ``input_shape[0]`` tokens of each text (default: the
encoder's limit), and ``scratch`` is the ``textcnn`` over the same token ids.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from transferkit.class_weights import class_weights
from transferkit.data.splits import TargetData, case_twins_note
from transferkit.data.text import TextRecipe, count_truncated, numbers_note, tokenize, truncation_note
from transferkit.devices import reproducible
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.inputs import as_array, as_domain, plain
from transferkit.methods._pretrained_rate import for_task
from transferkit.methods.base import TransferTask
from transferkit.models import TransferModel
from transferkit.rng import callers_rng_kept
from transferkit.train.supervised import predict_proba


def is_text_source(source) -> bool:
    return source is not None and source.pretrained is not None and bool(getattr(source.model.shared, "is_text", False))


@reproducible
def seeded_fit(method, task: TransferTask) -> TransferModel:
    """``method.fit(task)`` with torch seeded from the task; the user's own seed stays in
    charge of torch's generator (forked, never started on a GPU here)."""
    method, rate = for_task(method, task)  # pretrained shared layers: a lower default rate, said
    if rate:
        warnings.warn(rate, TransferkitWarning, stacklevel=user_stacklevel())
    with callers_rng_kept(), warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        torch.manual_seed(task.seed)
        model = method.fit(task)
    level = user_stacklevel()
    for w in said:  # a method's own notes (e.g. a LoRA run kept its probed head) at the user's line, not the method's
        warnings.warn(w.message, w.category, stacklevel=level)
    return model


def _missing(t) -> bool:
    """A missing value as pandas and numpy write one: None, NaN, pd.NA, NaT."""
    return t is None or (isinstance(t, float) and t != t) or type(t).__name__ in ("NAType", "NaTType")


def read_texts(X, what: str, training: bool) -> list[str]:
    """``X`` as a list of strings: a list, tuple, 1-D array or pandas Series of texts."""
    if X is None:
        raise TransferkitError(f"{what} is None.", f"give {what} as a list of texts.")
    if isinstance(X, str):
        raise TransferkitError(f"{what} is one string, not a list of texts.", f"pass a list: [{what}].")
    X = as_array(X)
    if hasattr(X, "columns") and len(X.columns) == 1:  # a table of one column: its texts
        X = X.iloc[:, 0]
    elif hasattr(X, "columns"):  # which column?
        share = [X.iloc[:, j].map(lambda v: isinstance(v, str)).mean() if len(X) else 0.0 for j in range(X.shape[1])]
        column = str(X.columns[int(np.argmax(share))])  # the column with the most texts (by position: names may repeat)
        raise TransferkitError(f"{what} is a table of {len(X.columns)} columns; the text encoder reads one text per "
                               "example.", f"pass its text column, e.g. {what}[{column!r}].")  # fmt: skip
    texts = X.tolist() if hasattr(X, "tolist") else list(X)
    if texts and all(isinstance(t, (list, tuple)) and len(t) == 1 for t in texts):  # (N, 1): a column, as a one-column table
        texts = [t[0] for t in texts]
    if texts and isinstance(texts[0], (list, tuple)):
        shape = getattr(X, "shape", None)
        raise TransferkitError(f"{what} has rows of several values{f' (shape {tuple(shape)})' if shape is not None else ''}; "
                               "the text encoder reads one text per example.",
                               "pass a flat list of strings (one column: X[:, j] or X[COLUMN]).")  # fmt: skip
    if not texts:
        raise TransferkitError(f"{what} has no examples.", f"give {what} at least one text.")
    if what == "X" and not training:  # predict: a missing text (None, NaN, pd.NA: a DataFrame's empty cell) is an
        texts = ["" if _missing(t) else t for t in texts]  # empty one, as predict's CSV reads it (X_unlabelled: refused)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TransferkitError(f"{what}[{bad}] is {type(texts[bad]).__name__} ({plain(texts[bad])!r}), not a text.",
                               f"give every example of {what} as a string.")  # fmt: skip
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty and training:
        raise TransferkitError(f"{what} holds {len(empty)} empty text(s), the first at position {empty[0]}: "
                               "nothing to learn its label from.", "drop them, or give them their text.")  # fmt: skip
    if empty:
        warnings.warn(f"{what} holds {len(empty)} empty or missing text(s), the first at position {empty[0]}: their "
                      "predictions rest on no words.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    note = numbers_note(texts, what)
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    return texts


def _ids(tokenizer, texts: list[str], length: int, what: str) -> torch.Tensor:
    note = truncation_note(count_truncated(tokenizer, texts, length), len(texts), length, what,
                           "pretrained_source's input_shape")  # fmt: skip
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    return tokenize(tokenizer, texts, length)


def fit_texts(clf, method, source, X, y, X_unlabelled, device: torch.device) -> None:
    """``clf.fit`` for a text source: sets ``model_``, ``recipe_``, ``classes_``, ``class_names_``."""
    if X is None and y is None:
        raise TransferkitError(f"fit got no labelled texts, and the pretrained source {source.pretrained!r} has no "
                               "classes of its own to adapt.", "give labelled texts X and their labels y.")  # fmt: skip
    texts = read_texts(X, "X", training=True)
    n_labels = None if y is None else len(np.asarray(as_array(y)).reshape(-1))
    if n_labels is not None and n_labels != len(texts):
        raise TransferkitError(f"X has {len(texts)} texts and y {n_labels} labels.", "give one label per text.")
    tgt, labels = as_domain(np.zeros((len(texts), 1), np.float32), y, "target")  # labels as for arrays
    if len(labels) < 2:
        raise TransferkitError(f"fit got one class ({plain(labels[0])!r}): there is nothing to tell apart.",
                               "give examples of at least two classes.")  # fmt: skip
    same_names = case_twins_note(sorted({str(c).strip() for c in tgt.classes}), "y")
    if same_names:  # case alone: names apart only by spaces are warned of already
        warnings.warn(same_names, TransferkitWarning, stacklevel=user_stacklevel())
    shots = int(np.bincount(tgt.y).min())
    if method.needs_same_classes:
        raise TransferkitError(f"method {clf.method!r} needs source data with the target's classes (it applies, or "
                               f"trains, a head on source labels), and the pretrained source {source.pretrained!r} "
                               "has none.", "use a method that trains a new head (e.g. 'head', 'finetune', 'lora').")  # fmt: skip
    method.check(shots, False, True)
    scratch = "textcnn" if clf.shared in ("auto", "textcnn") else None
    if scratch is None:
        raise TransferkitError(f"shared={clf.shared!r}: with a text source, scratch trains the textcnn on the same "
                               "token ids.", "leave shared='auto'.")  # fmt: skip
    length = int(source.model.config["input_shape"][0])
    recipe = TextRecipe(source.pretrained, length, source.model.config["arch_kwargs"].get("path"))
    tokenizer = source.model.shared.tokenizer
    x = _ids(tokenizer, texts, length, "texts of X")
    xu = x[:0]
    if X_unlabelled is not None and method.uses_unlabelled:
        xu = _ids(tokenizer, read_texts(X_unlabelled, "X_unlabelled", training=False), length, "texts of X_unlabelled")
    elif X_unlabelled is not None:
        warnings.warn(f"method {clf.method!r} does not use unlabelled inputs; X_unlabelled is ignored.",
                      TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    classes = tgt.classes
    source_model = source.model.copy().to(device).reset_specific(classes)  # the source stays as loaded
    zeros, ones = torch.zeros(length), torch.ones(length)  # token ids are not normalised
    weights = class_weights(clf.class_weight, tgt.y, labels, method)
    task = TransferTask(
        TargetData(x.to(device), torch.from_numpy(tgt.y).to(device), xu.to(device), len(classes),
                   None if weights is None else weights.to(device)), classes, clf._seed(),
        lambda: TransferModel.build(scratch, (length,), classes, zeros, ones).to(device), source_model,
    )  # fmt: skip
    clf.model_ = seeded_fit(method, task)
    clf.recipe_, clf.classes_, clf.class_names_ = recipe, labels, classes
    for stale in ("auto_decision_", "n_features_in_", "feature_names_in_", "input_shape_", "fit_range_",
                  "fit_column_ranges_", "range_from_source_", "columns_read_", "fit_named_"):  # a refit after arrays: none of theirs holds
        clf.__dict__.pop(stale, None)
    if "auto_decision" in clf.model_.config:
        clf.auto_decision_ = clf.model_.config["auto_decision"]


def texts_proba(clf, X) -> np.ndarray:
    """Probabilities for texts, tokenised as fit's were."""
    texts = read_texts(X, "X", training=False)
    tokenizer = getattr(clf.model_.shared, "tokenizer", None) or clf.recipe_.tokenizer()  # scratch: from the recipe
    ids = _ids(tokenizer, texts, clf.recipe_.max_length, "texts of X")
    return predict_proba(clf.model_, ids).cpu().numpy()


__all__ = ["fit_texts", "is_text_source", "read_texts", "seeded_fit", "texts_proba"]
