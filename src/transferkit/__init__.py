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

from transferkit.api import demo, run
from transferkit.data import Domain, list_domains, load_domain
from transferkit.errors import TransferkitError, TransferkitWarning
from transferkit.estimator import TransferClassifier
from transferkit.fewshot.experiment import run_fewshot
from transferkit.methods import get_method, list_methods, register_method
from transferkit.models import TransferModel, list_architectures, split_module
from transferkit.predict import predict
from transferkit.source import SourceModel, pretrain
from transferkit.source_pretrained import pretrained_source

__version__ = "0.1.0"

__all__ = [
    "Domain", "TransferClassifier", "TransferModel", "TransferkitError", "TransferkitWarning", "demo", "get_method",
    "list_architectures", "list_domains", "list_methods", "load_domain", "predict", "pretrain",
    "pretrained_source", "register_method", "run", "run_fewshot", "SourceModel", "split_module",
]  # fmt: skip
