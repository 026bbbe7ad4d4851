"""TransferModel = shared layers (feature extractor) + specific layers (task head).

BatchNorm policy (documented choice): layers that are *frozen* keep their source running
statistics — their BatchNorm modules stay in eval mode even while the model trains, so a
frozen feature extractor computes exactly the features it computed on the source. This
follows timm's ``freeze`` helper rather than Keras' ``trainable=False``-only convention;
we take it because a tiny target batch (10 images at 1 shot) would otherwise overwrite
statistics estimated on thousands of source images. For *trainable* shared layers the
policy ``bn="train"`` (default) updates the statistics on target batches;
``bn="frozen"`` keeps source statistics everywhere and trains only the affine parameters.
The methods take ``bn="frozen"`` themselves for batches of under 4 labelled examples
(methods/_bn_batch.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import nn

from transferkit.models.shared import SharedLayers, auto_architecture, build_shared
from transferkit.models.specific import build_specific

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class TransferModel(nn.Module):
    """Shared + specific layers, with input normalisation stored as buffers.

    Args:
        shared: Feature extractor with ``blocks`` and ``out_dim``.
        specific: Head mapping (B, out_dim) features to (B, num_classes) logits.
        mean, std: Per-channel (images) or per-feature (vectors) input normalisation.
        config: What rebuilds the model: architecture name and options, classes, recipe.
    """

    def __init__(
        self,
        shared: SharedLayers,
        specific: nn.Module,
        mean: torch.Tensor,
        std: torch.Tensor,
        config: dict,
    ) -> None:
        super().__init__()
        self.shared = shared
        self.specific = specific
        self.register_buffer("input_mean", mean.detach().clone().float())
        self.register_buffer("input_std", std.detach().clone().float())
        self.config = dict(config)
        self.frozen_depth = 0
        self.bn = "train"

    @classmethod
    def build(
        cls,
        architecture: str,
        input_shape: tuple[int, ...],
        classes: list[str],
        mean: torch.Tensor | None = None,
        std: torch.Tensor | None = None,
        head_hidden: int = 0,
        **arch_kwargs,
    ) -> TransferModel:
        shared = build_shared(architecture, tuple(input_shape), **arch_kwargs)
        built = architecture if architecture != "auto" else auto_architecture(tuple(input_shape))
        # cnn1d on C sensors, (1, C, L): one statistic per sensor, (C, 1) (train.source.input_stats)
        n_stat = (input_shape[1], 1) if built == "cnn1d" and len(input_shape) == 3 else (input_shape[0],)
        mean = torch.zeros(n_stat) if mean is None else mean
        std = torch.ones(n_stat) if std is None else std
        config = {
            "architecture": built,
            "arch_kwargs": arch_kwargs,
            "input_shape": list(input_shape),
            "classes": list(classes),
            "head_hidden": head_hidden,
        }
        return cls(shared, build_specific(shared.out_dim, len(classes), head_hidden), mean, std, config)

    @property
    def classes(self) -> list[str]:
        return self.config["classes"]

    @property
    def device(self) -> torch.device:
        """Where the model is (its input statistics move with every ``.to``); new layers go there too."""
        return self.input_mean.device

    @property
    def num_blocks(self) -> int:
        return len(self.shared.blocks)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():  # token ids (text) pass through unchanged
            return x
        if self.input_mean.ndim > 1:  # per sensor, (C, 1), against (B, 1, C, L)
            return (x - self.input_mean) / self.input_std
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return (x - self.input_mean.view(shape)) / self.input_std.view(shape)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *input_shape) -> (B, out_dim) output of the shared layers."""
        return self.shared(self.normalise(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *input_shape) -> (B, num_classes) logits."""
        return self.specific(self.features(x))

    # --- what trains -------------------------------------------------------------
    def freeze(self, depth: int | str = "all") -> TransferModel:
        """Freeze the first ``depth`` shared blocks (``"all"``: every shared block; 0: none)."""
        depth = self.num_blocks if depth == "all" else int(depth)
        if not 0 <= depth <= self.num_blocks:
            from transferkit.errors import TransferkitError

            raise TransferkitError(f"freeze depth {depth} is outside 0..{self.num_blocks}, the shared layers' "
                                   f"{self.num_blocks} blocks.", f"give freeze a depth from 0 to {self.num_blocks}.")  # fmt: skip
        self.frozen_depth = depth
        for i, block in enumerate(self.shared.blocks):
            for p in block.parameters():
                p.requires_grad_(i >= depth)
        self.train(self.training)
        return self

    def set_bn_policy(self, bn: str) -> TransferModel:
        if bn not in ("train", "frozen"):
            raise ValueError(f"bn policy {bn!r} must be 'train' or 'frozen'")
        self.bn = bn
        self.train(self.training)
        return self

    def train(self, mode: bool = True) -> TransferModel:
        super().train(mode)
        if mode:
            for i, block in enumerate(self.shared.blocks):
                if i < self.frozen_depth or self.bn == "frozen":
                    for m in block.modules():
                        if isinstance(m, BN_TYPES):
                            m.eval()
        return self

    def param_groups(self, lr_shared: float, lr_specific: float, weight_decay: float = 0.0) -> list[dict]:
        """Optimizer groups: trainable shared and specific parameters at their own rates."""
        shared = [p for p in self.shared.parameters() if p.requires_grad]
        groups = [{"params": list(self.specific.parameters()), "lr": lr_specific, "weight_decay": weight_decay}]
        if shared and lr_shared > 0:
            groups.append({"params": shared, "lr": lr_shared, "weight_decay": weight_decay})
        return groups

    def reset_specific(self, classes: list[str]) -> TransferModel:
        """Re-create the specific layers for a new label space."""
        self.specific = build_specific(self.shared.out_dim, len(classes), self.config["head_hidden"]).to(self.device)
        self.config["classes"] = list(classes)
        self.config.pop("specific", None)  # back to the default linear kind (models/specific.py)
        self.config.pop("head_from_network", None)  # (split_module's: the network's own head, no longer this one)
        return self

    def set_taps(self, taps: tuple[int, ...] | None) -> TransferModel:
        """Shared layers output the pooled outputs of blocks ``taps`` (``models/taps.py``), or
        their last output again for None; the specific layers are rebuilt for the new width.
        """
        from transferkit.models.taps import can_tap, check_taps

        if taps is not None:
            if not can_tap(self.shared):
                from transferkit.errors import TransferkitError

                raise TransferkitError(
                    f"the {self.config.get('architecture')} shared layers cannot output several blocks (taps).",
                    "use taps with the cnn, mlp or MobileNetV2 shared layers, or the last layer only.",
                )
            taps = check_taps(taps, self.num_blocks)
        if self.shared.taps is None:
            self.shared.untapped_dim = self.shared.out_dim
        self.shared.taps = taps
        if taps is None:
            self.shared.out_dim = self.shared.untapped_dim
        else:  # the width of the tapped features, from one tiny forward pass
            was = self.training
            with torch.no_grad():
                self.eval()
                self.shared.out_dim = int(self.features(torch.zeros(2, *self.config["input_shape"], device=self.device)).shape[1])
            self.train(was)
        if taps is None:
            self.config.pop("taps", None)
        else:
            self.config["taps"] = list(taps)
        self.specific = build_specific(self.shared.out_dim, len(self.classes), self.config.get("head_hidden", 0))
        self.specific.to(self.device)
        self.config.pop("specific", None)
        return self

    def copy(self) -> TransferModel:
        return copy.deepcopy(self)

    def on(self, device: torch.device | str) -> TransferModel:
        """This model if it is on ``device``, else a copy there: ``.to`` moves a module in place,
        and a source model is shared, read-only, by every estimator that transfers from it."""
        want, here = torch.device(device), self.device
        if want.type == "cuda" and want.index is None:  # "cuda": the current GPU, where .to("cuda") would put data
            want = torch.device("cuda", torch.cuda.current_device())
        same = here.type == want.type and want.index in (None, here.index)
        return self if same else self.copy().to(want)

    # --- persistence -------------------------------------------------------------
    def save(self, path: str | Path, extra: dict | None = None) -> None:
        """``path.safetensors`` (weights) and ``path.json`` (what rebuilds the model), atomically."""
        from safetensors.torch import save_file

        from transferkit.atomic import write_atomic, write_json

        path = model_stem(path)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}  # loads anywhere
        meta = {**self.config, **(extra or {})}
        if self.config.get("adapter"):  # LoRA/BitFit: store only what changed (models/adapters.py)
            from transferkit.models.adapters import base_fingerprint, checkpoint_state, is_delta

            state = checkpoint_state(self, state)
            if is_delta(self):  # the rest is rebuilt from the pretrained weights: which ones, checked at load
                meta["base_fingerprint"] = base_fingerprint(self)
        write_atomic(model_file(path, ".safetensors"), lambda p: save_file(state, str(p)))
        write_json(model_file(path, ".json"), meta)

    @classmethod
    def load(cls, path: str | Path) -> TransferModel:
        from safetensors.torch import load_file

        from transferkit.errors import TransferkitError

        path = model_stem(path)
        meta_path, weights_path = model_file(path, ".json"), model_file(path, ".safetensors")
        if not meta_path.exists() or not weights_path.exists():
            raise TransferkitError(
                f"no saved model at {path} (need {meta_path.name} and {weights_path.name}).",
                "point to a model saved by transferkit (a run folder's models/).",
            )
        config = read_model_json(meta_path)
        if config.get("architecture") == "user":
            raise TransferkitError(
                f"{path} holds the weights of a model split from your own nn.Module; its code is not saved, and "
                "split_module(YourModule(), ...) does not rebuild it (fit replaces the head; adapters change it).",
                "load its weights into the model of a classifier fitted the same way (clf.model_.load_state_dict("
                "safetensors.torch.load_file(PATH.safetensors), strict=False) reports what does not match); save "
                "such classifiers whole with joblib.dump(clf, 'clf.joblib') from now on.",
            )
        model = cls.build(
            config["architecture"], tuple(config["input_shape"]), config["classes"],
            head_hidden=config.get("head_hidden", 0), **config.get("arch_kwargs", {}),
        )  # fmt: skip
        if config.get("taps"):  # a head on several shared blocks (models/taps.py)
            model.set_taps(tuple(config["taps"]))
        if config.get("specific", "linear") != "linear":  # e.g. prototype heads (models/specific.py)
            model.specific = build_specific(model.shared.out_dim, len(config["classes"]), kind=config["specific"])
        # before the weights: whether a checkpoint is a delta reads flags such as source_trained
        model.config.update({k: v for k, v in config.items() if k not in model.config})
        if config.get("base_model"):  # the source's shared layers, stored once per run seed (models/adapters.py)
            from transferkit.models.adapters import load_base

            load_base(model, path.parent / config["base_model"], weights_path)
        try:
            saved = load_file(str(weights_path))
        except Exception as e:  # safetensors' own error: a truncated or overwritten file
            raise TransferkitError(f"{weights_path}: cannot read the model's weights ({str(e).splitlines()[0]}).",
                                   "the file is damaged or incomplete: re-run the experiment that saved it.") from None  # fmt: skip
        for name in ("input_mean", "input_std"):  # cnn1d models saved before per-sensor statistics: (1,)
            if name in saved and saved[name].shape == (1,) and getattr(model, name).ndim == 2:
                model.register_buffer(name, torch.empty_like(saved[name]))
        if config.get("adapter"):  # re-inject LoRA/BitFit, then load (models/adapters.py)
            from transferkit.models.adapters import load_adapted

            load_adapted(model, config, saved)
        else:
            model.load_state_dict(saved)
        # in memory it is whole now: saved again elsewhere (an export, TransferClassifier.save), it is
        # saved whole, not as a delta on a run's models/base/ that is not beside the new file
        model.config.pop("base_model", None)
        return model.eval()


def state_digest(state: dict[str, torch.Tensor], names: list[str] | None = None) -> str:
    """BLAKE2b of the named tensors of a state dict (default: all), their names, dtypes and
    bytes: what was saved can be checked at load for damage a file's size does not show."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for name in sorted(state) if names is None else names:
        t = state[name].detach().cpu().contiguous().reshape(-1)
        h.update(name.encode() + str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def split_module(module: nn.Module, head: str | int, input_shape: tuple[int, ...], classes: list[str], *,
                 mean: float | list[float] = 0.0, std: float | list[float] = 1.0) -> TransferModel:  # fmt: skip
    """Split any user ``nn.Module`` into shared and specific layers.

    Args:
        module: The network, e.g. a torchvision ResNet or an ``nn.Sequential``.
        head: The name of the child that is the task head (``"fc"``, ``"classifier"``),
            or for an ``nn.Sequential`` the index where the specific layers start.
        input_shape: One input's shape (C, H, W) or (D,).
        classes: Target class names.
        mean, std: The normalisation the network was trained with, per channel (images) or
            feature (vectors), or one value for all: inputs, once on 0..1 (images: uint8 /
            255, as torchvision's ``ToTensor``), are read as ``(x - mean) / std``, as
            ``Normalize(mean, std)`` does.
    """
    from transferkit.errors import TransferkitError

    children = dict(module.named_children())
    if isinstance(module, nn.Sequential) and isinstance(head, str) and head in children:
        head = list(children).index(head)  # a Sequential's child by name is its index: everything from it is the head
    if isinstance(module, nn.Sequential) and isinstance(head, int):
        items = list(module.children())
        blocks, specific = items[:head], nn.Sequential(*items[head:])
    elif isinstance(head, str) and head in children:
        specific = children[head]
        body = copy.deepcopy(module)
        setattr(body, head, nn.Identity())
        blocks = [body]
    else:
        raise TransferkitError(
            f"cannot find the head {head!r} in {type(module).__name__} (children: {list(children)}).",
            "name the child module that maps features to logits, or give an index for nn.Sequential.",
        )
    stack = SharedLayers(blocks, 0)
    with torch.no_grad():
        was, stack_was = module.training, stack.training  # a module fresh from its training loop is in train mode:
        module.eval()  # its probes run in eval mode (BatchNorm's running statistics left as they are, no dropout)
        stack.eval()
        first = next(module.parameters(), torch.empty(0))  # a module already on a GPU, or in float64, stays so
        x = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0)).to(first.device, first.dtype)
        try:
            probe = stack(x)
            read = _head_input(module, children.get(head) if isinstance(head, str) else None, x)
        except RuntimeError as e:  # torch's shape errors: the network does not take inputs of this shape
            raise TransferkitError(f"{type(module).__name__} cannot take inputs of shape {tuple(input_shape)} "
                                   f"({str(e).splitlines()[0]}).", "give the input_shape it was built for (bring "
                                   "the target's inputs to it), or split another network.") from None  # fmt: skip
        finally:
            module.train(was)
            stack.train(stack_was)
    if not isinstance(probe, torch.Tensor):
        raise TransferkitError(f"the shared layers of this split return a {type(probe).__name__}, not a tensor of "
                               "features.", "split a network whose forward returns one tensor before its head.")  # fmt: skip
    if probe.ndim != 2:
        raise TransferkitError(f"the shared layers of this split give {tuple(probe.shape[1:])} per input, a feature map, "
                               "not a vector: the specific layers read (batch, features).",
                               "split after a pooling or flatten layer (e.g. end the shared part with nn.Flatten()).")  # fmt: skip
    if read is not None and (read.shape != probe.shape or not torch.allclose(read, probe, atol=1e-5, rtol=1e-4)):
        raise TransferkitError(f"{type(module).__name__}.forward does more than give {head!r} its features (e.g. a "
                               f"log_softmax after {head!r}): with {head!r} replaced, what it returns is not what "
                               f"{head!r} reads, and the specific layers would learn from that.",
                               f"split a module whose forward ends with `return self.{head}(features)`, or an "
                               "nn.Sequential at the head's index.")  # fmt: skip
    shared = SharedLayers(blocks, probe.shape[1])
    config = {"architecture": "user", "input_shape": list(input_shape), "classes": list(classes), "head_hidden": 0}
    try:
        stats = tuple(torch.as_tensor(v, dtype=torch.float32).reshape(-1).expand(input_shape[0]).clone()
                      for v in (mean, std))  # fmt: skip
    except (RuntimeError, TypeError, ValueError):
        raise TransferkitError(f"mean={mean!r}, std={std!r}: give one value, or {input_shape[0]} (one per "
                               f"{'channel' if len(input_shape) == 3 else 'feature'}).",
                               "pass the values of the Normalize your network was trained with.") from None  # fmt: skip
    if not (stats[1] > 0).all():  # checked on the CPU: a network on the meta device has no values to compare
        raise TransferkitError(f"std={std!r}: every value must be above 0.", "give the std your network was trained with.")
    model = TransferModel(shared, specific, *(t.to(first.device) for t in stats), config)
    last = [m for m in specific.modules() if isinstance(m, nn.Linear)]
    if last and last[-1].out_features != len(classes):
        model.reset_specific(classes)
    # the network's own head, for these classes: source_only applies it as it is (a reset one is drawn afresh)
    model.config["head_from_network"] = bool(last) and last[-1].out_features == len(classes)
    return model


def _head_input(module: nn.Module, head: nn.Module | None, x: torch.Tensor) -> torch.Tensor | None:
    """What ``head`` reads when ``module`` runs on ``x``, flattened to (B, -1): None without a
    named head, an empty tensor when the forward never calls it (refused by the caller)."""
    if head is None:
        return None
    seen: list = []
    hook = head.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0]))
    try:
        module(x)
    finally:
        hook.remove()
    return seen[0].flatten(1) if seen else torch.empty(0)


def read_model_json(path: str | Path) -> dict:
    """A saved model's JSON (``path`` its stem or either file), or a one-line error when it is
    damaged: it gave a JSONDecodeError traceback where a damaged weights file was one line."""
    from transferkit.errors import TransferkitError

    file = model_file(path, ".json")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        meta = e
    if not isinstance(meta, dict):
        raise TransferkitError(f"{file}: cannot read the model's settings (not a JSON object).",
                               "the file is damaged or incomplete: re-run the experiment that saved it.")  # fmt: skip
    return meta


def model_stem(path: str | Path) -> Path:
    """A saved model's path without ``.safetensors``/``.json``; other dots stay ("m.v1" is m.v1)."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".safetensors", ".json") else p


def model_file(path: str | Path, ext: str) -> Path:
    """``path``'s weights (``.safetensors``) or config (``.json``) file; see :func:`model_stem`."""
    stem = model_stem(path)
    return stem.with_name(stem.name + ext)
