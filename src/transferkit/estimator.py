"""A scikit-learn style estimator: ``TransferClassifier().pretrain(Xs, ys).fit(Xt, yt).predict(X)``.

Follows the estimator contract: ``__init__`` only stores parameters, ``fit`` validates and
returns ``self``, learned state ends in ``_``, ``get_params``/``set_params`` come from
:class:`sklearn.base.BaseEstimator` (so ``clone`` and grid search work).
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
from transferkit.train.source import input_stats, pretrain_source
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

    def pretrain(self, X_source, y_source) -> TransferClassifier:
        """Train the shared (and source-specific) layers on the source."""
        get_method(self.method, **(self.method_params or {}))  # a typo fails before source training
        src, _ = _domain(X_source, y_source, "source")
        self.source_domain_ = src
        self.source_recipe_ = make_recipe(src, src.input_shape, 0)
        res = pretrain_source(
            apply_recipe(src.x, self.source_recipe_), torch.from_numpy(src.y), src.classes,
            architecture=self.shared, arch_kwargs={}, seed=self.random_state, identity={}, use_cache=False,
            settings={"epochs": self.source_epochs, "batch_size": 128, "lr": 2e-3, "weight_decay": 1e-4, "augment": True},
        )  # fmt: skip
        self.source_model_ = res.model
        return self

    def fit(self, X, y) -> TransferClassifier:
        method = get_method(self.method, **(self.method_params or {}))  # a typo fails before any work
        tgt, labels = _domain(X, y, "target")
        source_model = getattr(self, "source_model_", None)
        shape = source_model.config["input_shape"] if source_model is not None else tgt.input_shape
        src = getattr(self, "source_domain_", None)
        self.recipe_ = make_recipe(tgt, tuple(shape), "auto" if src is not None else 0, source=src)
        x = apply_recipe(tgt.x, self.recipe_)
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
        task = TransferTask(
            TargetData(x, yt, x[:0], tgt.num_classes), tgt.classes, self.random_state,
            lambda: TransferModel.build(self.shared, tuple(shape), tgt.classes, mean, std),
            source_model, source_classes=src.classes if src is not None else None,
        )  # fmt: skip
        torch.manual_seed(self.random_state)
        self.model_ = method.fit(task)
        self.classes_ = labels  # predict returns these, the labels fit was given
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
