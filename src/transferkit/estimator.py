"""A scikit-learn style estimator: ``TransferClassifier().pretrain(Xs, ys).fit(Xt, yt).predict(X)``.

Follows the estimator contract: ``__init__`` only stores parameters, ``fit`` validates and
returns ``self``, learned state ends in ``_``, ``get_params``/``set_params`` come from
:class:`sklearn.base.BaseEstimator`. ``clone`` copies the parameters, not the source
model ``pretrain`` trained: a cloned estimator (as in ``cross_val_score`` or a grid search)
can run ``scratch`` only, unless ``pretrain`` is called on it again.

Domain-adaptation methods (``dann``, ``mcc``, ``coral``...) train on the source data kept by
``pretrain`` and on unlabelled target examples: ``fit(X, y, X_unlabelled=...)``.

``pretrain`` sees only the source, so it cannot do what ``transferkit run`` does by default
for image targets of a lower resolution (``source.resolution: match``: the source images are
first brought down to the target's resolution); it trains as ``resolution: native`` does.
For a low-resolution target (e.g. 8x8 optdigits from 28x28 MNIST) the source model without
adaptation scores lower here than in a run; fine-tuning methods recover most of it.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from transferkit.data import Domain
from transferkit.data.domain import check_not_one_hot
from transferkit.data.files import image_layout, order_columns, value_range
from transferkit.data.preprocess import Recipe, apply_recipe, make_recipe
from transferkit.data.splits import TargetData
from transferkit.errors import TransferkitError
from transferkit.evaluate.source_check import source_steps, weak_source_warning
from transferkit.methods import TransferTask, get_method
from transferkit.models import TransferModel
from transferkit.models.transfer_model import model_file
from transferkit.predict import scale_warning
from transferkit.train.source import input_stats, pretrain_source, source_val_split
from transferkit.train.supervised import predict_proba


def _column_names(X) -> list[str] | None:
    """A DataFrame's column names (as strings), None for arrays."""
    cols = getattr(X, "columns", None)
    return None if cols is None else [str(c) for c in cols]


def _stored_dtype(X) -> np.dtype:
    """The dtype the user's data has (uint8 images are 0..255): an array's, a DataFrame's
    common one, a list's as numpy reads it."""
    if hasattr(X, "dtypes") and not hasattr(X, "dtype"):  # a DataFrame
        return np.result_type(*X.dtypes)
    return X.dtype if hasattr(X, "dtype") else np.asarray(X).dtype


def _inputs(X, names: list[str] | None, what: str) -> np.ndarray:
    """``X`` as a float32 array, a DataFrame's columns put in the order of ``names`` (matched
    by name, as the CLI matches CSV columns); an array is taken in its own order."""
    given = _column_names(X)
    if hasattr(X, "tocsr") or hasattr(X, "todense"):  # scipy.sparse
        raise TransferkitError(f"{what} is a sparse matrix; the shared layers take dense inputs.",
                               f"pass {what}.toarray() (mind the memory for wide data).")  # fmt: skip
    try:
        x = np.asarray(X, dtype=np.float32) if not isinstance(X, np.ndarray) else X.astype(np.float32, copy=False)
    except (TypeError, ValueError) as e:
        raise TransferkitError(
            f"{what} cannot be read as numbers ({str(e).splitlines()[0][:80]}).",
            "give numeric arrays of one shape; encode text or category columns as numbers first.",
        ) from None
    if names is not None and given is not None:
        x = order_columns(x, given, names, what, "the model's (from fit)")
    return image_layout(x)


def _domain(x, y, name: str, stored: np.dtype | None = None) -> tuple[Domain, np.ndarray]:
    """(Domain with labels 0..C-1, the C original labels in sorted order), as scikit-learn does.

    ``stored``: the dtype the user's array had (uint8 images are 0..255), when ``x`` is a
    converted copy."""
    stored = np.asarray(x).dtype if stored is None else stored
    x = image_layout(np.asarray(x, dtype=np.float32))
    y = np.asarray(y)
    check_not_one_hot(y, len(x), name)
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise TransferkitError(f"{name}: y contains NaN labels.", "drop those examples or give them a class.")
    if y.dtype.kind == "f" and not np.all(y == np.round(y)) and len(np.unique(y)) > max(20, len(y) // 2):
        raise TransferkitError(
            f"{name}: y looks continuous ({len(np.unique(y))} distinct non-integer values in {len(y)} examples): "
            "a regression target, not class labels.",
            "give class labels (e.g. bin the values), or use a regressor.",
        )
    y = y.reshape(-1)  # a column (N, 1) is one label per example
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)  # 1.0 and 1 name the same class
    labels, index = np.unique(y, return_inverse=True)
    ok = x.size and np.isfinite(x).all()  # else Domain's own checks name the problem
    vr = value_range(x, stored) if ok else (0.0, 1.0)  # each domain's natural range -> [0, 1], as for files
    return Domain(name, x, index.astype(np.int64), [str(v) for v in labels], vr), labels


class TransferClassifier(ClassifierMixin, BaseEstimator):
    """Transfer from a source (``pretrain``) to a target (``fit``), then ``predict``.

    Args:
        method: A registered method name (``finetune``, ``head``, ``l2sp``, ``scratch``...).
        shared: Shared-layer architecture (``auto``: cnn for images, mlp for vectors).
        source_epochs: Epochs of source training (10, as ``source.epochs`` in an experiment file).
        method_params: Hyper-parameters of the method (validated by it).
        random_state: Seed of everything random.

    After ``pretrain``, every method, ``scratch`` included, builds its model for the source's
    input shape and normalisation, as in ``transferkit run`` (the baseline sees the target
    exactly as the transfer methods do); for a target-only ``scratch``, use a new instance
    without ``pretrain``. ``clone`` (hence ``cross_val_score``/``GridSearchCV``) keeps the
    parameters, not the pretrained source, so those tools work with ``scratch`` only.
    """

    def __init__(self, method: str = "finetune", shared: str = "auto", source_epochs: int = 10,
                 method_params: dict | None = None, random_state: int = 0) -> None:  # fmt: skip
        self.method = method
        self.shared = shared
        self.source_epochs = source_epochs
        self.method_params = method_params
        self.random_state = random_state

    def _seed(self) -> int:
        """``random_state`` as an int: an int as it is, a RandomState draws one, None a fresh one."""
        rs = self.random_state
        if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool):
            return int(rs)
        if rs is None:
            return int(np.random.SeedSequence().generate_state(1)[0] % 2**31)
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(2**31))
        raise TransferkitError(f"random_state={rs!r} is not an int, None or a RandomState.", "use e.g. random_state=0.")

    def pretrain(self, X_source, y_source) -> TransferClassifier:
        """Train the shared (and source-specific) layers on the source (kept for adaptation methods)."""
        get_method(self.method, **(self.method_params or {}))  # a typo fails before source training
        epochs = self.source_epochs
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise TransferkitError(f"source_epochs={epochs!r} must be a whole number >= 1.", "use e.g. source_epochs=10.")
        self.feature_names_source_ = _column_names(X_source)
        src, labels = _domain(X_source, y_source, "source")
        if len(labels) < 2:
            raise TransferkitError(f"pretrain got one source class ({labels[0]!r}): the shared layers would learn nothing.",
                                   "give source examples of at least two classes.")  # fmt: skip
        self.source_domain_ = src
        self.source_recipe_ = make_recipe(src, src.input_shape, 0)
        self.seed_ = self._seed()
        xs, ys = apply_recipe(src.x, self.source_recipe_), torch.from_numpy(src.y)
        res = pretrain_source(
            xs, ys, src.classes, architecture=self.shared, arch_kwargs={}, seed=self.seed_, identity={}, use_cache=False,
            settings={"epochs": self.source_epochs, "batch_size": 128, "lr": 2e-3, "weight_decay": 1e-4, "augment": True},
        )  # fmt: skip
        tr, va = (torch.from_numpy(i) for i in source_val_split(src.y, seed=self.seed_))  # the split it trained on
        self.source_parts_ = {"source_x": xs[tr], "source_y": ys[tr], "source_val_x": xs[va], "source_val_y": ys[va]}
        self.source_model_ = res.model
        note = weak_source_warning(res.val_accuracy, src.y[va.numpy()], self.seed_,
                                   source_steps(len(tr), 128, self.source_epochs))  # fmt: skip
        if note:  # e.g. a small source: epochs count passes, so few steps
            warnings.warn(note.replace("raise source.epochs", "raise source_epochs"), stacklevel=2)
        return self

    def fit(self, X, y, X_unlabelled=None) -> TransferClassifier:
        """Adapt to the labelled target examples (X, y); ``X_unlabelled``: more target inputs
        without labels, for methods that use them (domain adaptation, transductive ones)."""
        method = get_method(self.method, **(self.method_params or {}))  # a typo fails before any work
        names = getattr(self, "feature_names_source_", None) if hasattr(self, "source_model_") else None
        names = names or _column_names(X)  # the source's column order, else the target's
        tgt, labels = _domain(_inputs(X, names, "X"), y, "target", _stored_dtype(X))
        if len(labels) < 2:
            raise TransferkitError(f"fit got one class ({labels[0]!r}): there is nothing to tell apart.",
                                   "give examples of at least two classes.")  # fmt: skip
        source_model = getattr(self, "source_model_", None)
        shape = source_model.config["input_shape"] if source_model is not None else tgt.input_shape
        src = getattr(self, "source_domain_", None)
        self.recipe_ = make_recipe(tgt, tuple(shape), "auto" if src is not None else 0, source=src)
        x = apply_recipe(tgt.x, self.recipe_)
        xu = x[:0] if X_unlabelled is None else apply_recipe(
            self._checked(X_unlabelled, "X_unlabelled", names, tgt.x.shape[1:]), self.recipe_)  # fmt: skip
        yt = torch.from_numpy(tgt.y)
        shots = int(np.bincount(tgt.y).min())
        same = src is not None and src.classes == tgt.classes
        if method.uses_source and source_model is None:
            raise TransferkitError(
                f"method {self.method!r} transfers from a source, and none was given.",
                "call .pretrain(X_source, y_source) before .fit, or use method='scratch'.",
            )
        method.check(shots, same, source_model is not None)
        if X_unlabelled is None and method.uses_unlabelled and not method.optional_source:  # auto: its choice
            warnings.warn(f"method {self.method!r} adapts with unlabelled target inputs and none were given "
                          "(fit(X, y, X_unlabelled=...)); it uses the labelled ones only.", stacklevel=2)  # fmt: skip
        elif X_unlabelled is not None and not method.uses_unlabelled:
            warnings.warn(f"method {self.method!r} does not use unlabelled inputs; X_unlabelled is ignored.",
                          stacklevel=2)  # fmt: skip
        mean, std = (source_model.input_mean, source_model.input_std) if source_model is not None else input_stats(x)
        seed = getattr(self, "seed_", None) if source_model is not None else None
        seed = self._seed() if seed is None else seed
        task = TransferTask(
            TargetData(x, yt, xu, tgt.num_classes), tgt.classes, seed,
            lambda: TransferModel.build(self.shared, tuple(shape), tgt.classes, mean, std),
            source_model, source_classes=src.classes if src is not None else None,
            **(getattr(self, "source_parts_", {}) if source_model is not None else {}),
        )  # fmt: skip
        torch.manual_seed(seed)
        self.model_ = method.fit(task)
        self.classes_ = labels  # predict returns these, the labels fit was given
        self.input_shape_ = tuple(int(v) for v in tgt.x.shape[1:])  # predict checks its inputs against it
        if tgt.x.ndim == 2:
            self.n_features_in_ = int(tgt.x.shape[1])
        elif hasattr(self, "n_features_in_"):  # a refit on images: no feature count any more
            del self.n_features_in_
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.class_names_ = tgt.classes
        return self

    def _check_fitted(self, call: str = "predict") -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This TransferClassifier is not fitted yet: call fit(X, y) before {call}.")

    def _checked(self, X, what: str, names: list[str] | None, like: tuple | None = None) -> np.ndarray:
        """``X`` laid out as the model's inputs: columns by name, finite, of the example shape
        ``like`` (that of the X given to fit), when known."""
        x = _inputs(X, names, what)
        if not np.isfinite(x).all():
            raise TransferkitError(f"{what} contains NaN or Inf values.", "remove or impute them.")
        if like is not None and x.ndim == len(like) + 1 and tuple(x.shape[1:]) != tuple(like):  # other ranks: below
            raise TransferkitError(f"{what} has examples of shape {tuple(x.shape[1:])}, the X given to fit had "
                                   f"{tuple(like)}.", f"give {what} in the same layout and size as fit's X.")  # fmt: skip
        return x

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        names = getattr(self, "feature_names_in_", None)
        x = self._checked(X, "X", None if names is None else list(names), getattr(self, "input_shape_", None))
        note = scale_warning(x, self.recipe_)
        if note:
            warnings.warn(note, stacklevel=2)
        return predict_proba(self.model_, apply_recipe(x, self.recipe_)).numpy()

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[proba.argmax(1)]

    def save(self, path) -> None:
        """``path.safetensors`` + ``path.json``: the model, its input recipe and the labels."""
        self._check_fitted("save")
        labels = [v.item() if hasattr(v, "item") else v for v in self.classes_]  # JSON: str, int or float
        names = getattr(self, "feature_names_in_", None)
        self.model_.save(path, {"recipe": self.recipe_.to_dict(), "labels": labels, "estimator": self.get_params(),
                                "feature_names": None if names is None else [str(n) for n in names]})  # fmt: skip

    @classmethod
    def load(cls, path) -> TransferClassifier:
        """A fitted classifier from :meth:`save` (or any transferkit model with its recipe)."""
        import json

        model = TransferModel.load(path)
        meta = json.loads(model_file(path, ".json").read_text())
        clf = cls(**{k: v for k, v in meta.get("estimator", {}).items() if k in cls().get_params()})
        clf.model_, clf.recipe_ = model, Recipe.from_dict(meta["recipe"])
        clf.classes_ = np.asarray(meta.get("labels", model.classes))
        clf.class_names_ = model.classes
        names = meta.get("feature_names") or (list(clf.recipe_.columns) if clf.recipe_.columns else None)
        if names:  # a model from a CSV run knows its column names too
            clf.feature_names_in_ = np.asarray(names, dtype=object)
        return clf


__all__ = ["TransferClassifier", "Recipe"]
