"""A scikit-learn style estimator: ``TransferClassifier().pretrain(Xs, ys).fit(Xt, yt).predict(X)``.

Follows the estimator contract: ``__init__`` only stores parameters, ``fit`` validates and
returns ``self``, learned state ends in ``_``, ``get_params``/``set_params`` come from
:class:`sklearn.base.BaseEstimator`. ``clone`` copies the parameters, not the source
model ``pretrain`` trained: a cloned estimator (as in ``cross_val_score`` or a grid search)
can run ``scratch`` only, unless ``pretrain`` is called on it again.

Domain-adaptation methods (``dann``, ``mcc``, ``coral``...) train on the source data kept by
``pretrain`` and on unlabelled target examples: ``fit(X, y, X_unlabelled=...)``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from transferkit.data import Domain
from transferkit.data.files import image_layout, value_range
from transferkit.data.preprocess import Recipe, apply_recipe, make_recipe
from transferkit.data.splits import TargetData
from transferkit.errors import TransferkitError
from transferkit.methods import TransferTask, get_method
from transferkit.models import TransferModel
from transferkit.models.transfer_model import model_file
from transferkit.train.source import input_stats, pretrain_source, source_val_split
from transferkit.train.supervised import predict_proba


def _domain(x, y, name: str) -> tuple[Domain, np.ndarray]:
    """(Domain with labels 0..C-1, the C original labels in sorted order), as scikit-learn does."""
    stored = np.asarray(x).dtype
    x = image_layout(np.asarray(x, dtype=np.float32))
    y = np.asarray(y).reshape(-1)
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
        source_epochs: Epochs of source training.
        method_params: Hyper-parameters of the method (validated by it).
        random_state: Seed of everything random.
    """

    def __init__(self, method: str = "finetune", shared: str = "auto", source_epochs: int = 4,
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
        src, _ = _domain(X_source, y_source, "source")
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
        return self

    def fit(self, X, y, X_unlabelled=None) -> TransferClassifier:
        """Adapt to the labelled target examples (X, y); ``X_unlabelled``: more target inputs
        without labels, for methods that use them (domain adaptation, transductive ones)."""
        method = get_method(self.method, **(self.method_params or {}))  # a typo fails before any work
        tgt, labels = _domain(X, y, "target")
        if len(labels) < 2:
            raise TransferkitError(f"fit got one class ({labels[0]!r}): there is nothing to tell apart.",
                                   "give examples of at least two classes.")  # fmt: skip
        source_model = getattr(self, "source_model_", None)
        shape = source_model.config["input_shape"] if source_model is not None else tgt.input_shape
        src = getattr(self, "source_domain_", None)
        self.recipe_ = make_recipe(tgt, tuple(shape), "auto" if src is not None else 0, source=src)
        x = apply_recipe(tgt.x, self.recipe_)
        xu = x[:0] if X_unlabelled is None else apply_recipe(image_layout(np.asarray(X_unlabelled, dtype=np.float32)), self.recipe_)
        yt = torch.from_numpy(tgt.y)
        shots = int(np.bincount(tgt.y).min())
        same = src is not None and src.classes == tgt.classes
        if method.uses_source and source_model is None:
            raise TransferkitError(
                f"method {self.method!r} transfers from a source, and none was given.",
                "call .pretrain(X_source, y_source) before .fit, or use method='scratch'.",
            )
        method.check(shots, same, source_model is not None)
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
        if tgt.x.ndim == 2:
            self.n_features_in_ = int(tgt.x.shape[1])
        self.class_names_ = tgt.classes
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("This TransferClassifier is not fitted yet: call fit(X, y) before predict.")

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        x = image_layout(np.asarray(X, dtype=np.float32))
        if not np.isfinite(x).all():
            raise TransferkitError("X contains NaN or Inf values.", "remove or impute them.")
        return predict_proba(self.model_, apply_recipe(x, self.recipe_)).numpy()

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[proba.argmax(1)]

    def save(self, path) -> None:
        """``path.safetensors`` + ``path.json``: the model, its input recipe and the labels."""
        self._check_fitted()
        labels = [v.item() if hasattr(v, "item") else v for v in self.classes_]  # JSON: str, int or float
        self.model_.save(path, {"recipe": self.recipe_.to_dict(), "labels": labels, "estimator": self.get_params()})

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
        return clf


__all__ = ["TransferClassifier", "Recipe"]
