"""transferkit: transfer learning from a source to a small target, measured against scratch.

Public API::

    import transferkit as tk
    summary = tk.run("experiment.yaml")                      # same as `transferkit run`
    tk.demo()                                                 # MNIST-5k -> optdigits
    clf = tk.TransferClassifier("finetune").pretrain(Xs, ys).fit(Xt, yt)
    src = tk.pretrain(Xs, ys)                                 # a source to share, e.g. in
    cross_val_score(tk.TransferClassifier("l2sp", source=src), Xt, yt)   # cross-validation
    src = tk.pretrained_source("mobilenet_v2_imagenet")        # a pretrained model as the source
    tk.predict("runs/demo", "inputs.npz")
    tk.run_fewshot("fewshot.yaml")                             # same as `transferkit fewshot`
"""

import importlib
from typing import TYPE_CHECKING

# Each public name, and the module that defines it: imported on first use (PEP 562), so that
# `transferkit --version`, `--help` or a Ctrl-C at start-up do not wait for torch to load.
_PUBLIC = {
    "demo": "transferkit.api", "run": "transferkit.api",
    "Domain": "transferkit.data", "list_domains": "transferkit.data", "load_domain": "transferkit.data",
    "TransferkitError": "transferkit.errors", "TransferkitWarning": "transferkit.errors",
    "TransferClassifier": "transferkit.estimator", "run_fewshot": "transferkit.fewshot.experiment",
    "get_method": "transferkit.methods", "list_methods": "transferkit.methods", "register_method": "transferkit.methods",
    "TransferModel": "transferkit.models", "list_architectures": "transferkit.models", "split_module": "transferkit.models",
    "predict": "transferkit.prediction", "SourceModel": "transferkit.source", "pretrain": "transferkit.source",
    "model_source": "transferkit.source",
    "pretrained_source": "transferkit.source_pretrained",
}  # fmt: skip


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module 'transferkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from transferkit.api import demo, run
    from transferkit.data import Domain, list_domains, load_domain
    from transferkit.errors import TransferkitError, TransferkitWarning
    from transferkit.estimator import TransferClassifier
    from transferkit.fewshot.experiment import run_fewshot
    from transferkit.methods import get_method, list_methods, register_method
    from transferkit.models import TransferModel, list_architectures, split_module
    from transferkit.prediction import predict
    from transferkit.source import SourceModel, model_source, pretrain
    from transferkit.source_pretrained import pretrained_source

__version__ = "0.1.0"

__all__ = [
    "Domain", "TransferClassifier", "TransferModel", "TransferkitError", "TransferkitWarning", "demo", "get_method",
    "list_architectures", "list_domains", "list_methods", "load_domain", "model_source", "predict", "pretrain",
    "pretrained_source", "register_method", "run", "run_fewshot", "SourceModel", "split_module",
]  # fmt: skip
