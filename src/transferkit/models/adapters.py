"""Parameter-efficient tuning of shared layers: LoRA (through PEFT) and BitFit.

A model tuned this way carries ``config["adapter"]`` (``{"kind": "lora", r, alpha, ...}``
or ``{"kind": "bitfit"}``; a ``head`` on frozen shared layers carries ``{"kind": "frozen"}``). :class:`TransferModel` consults it when saving and loading:

* **Checkpoint = what changed.** For pretrained shared layers, whose base weights can be
  rebuilt offline, the checkpoint holds only the adapter (LoRA matrices, or the biases
  for BitFit) **plus the specific layers (the head), every buffer of the shared layers
  (BatchNorm running statistics) and the input normalisation**. Heads and BatchNorm
  statistics are exactly what PEFT's own adapter files leave out (PEFT issues #310, #577,
  #876, #1070), so a reload would predict differently; here they are always stored.
  Models whose base cannot be rebuilt (trained from scratch or on a source) keep a full
  checkpoint.
* **Reload**: rebuild the base, re-inject the same adapter, load the checkpoint and check
  that it holds every key the rule above requires and nothing else.

LoRA (Hu et al., ICLR 2022): ``W x + (alpha / r) B A x`` with ``A`` (r x d_in), ``B``
(d_out x r, zero-initialised) trained and ``W`` frozen. BitFit (Ben Zaken, Ravfogel and
Goldberg, ACL 2022): only bias terms of the shared layers train.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from transferkit.errors import TransferkitError, install_hint

# Attention projections adapted by default, per naming family (BERT, LLaMA/BART, DistilBERT, timm ViT).
ATTENTION_TARGETS = (("query", "value"), ("q_proj", "v_proj"), ("q_lin", "v_lin"), ("qkv",))
MOBILENET_V2_TOP = ("features.17.", "features.18.")  # the two blocks next to the classifier


def require_peft():
    try:
        import peft
    except ImportError as e:
        raise TransferkitError(
            "LoRA needs the optional package 'peft', which is not installed.", install_hint("peft")
        ) from e
    return peft


def default_lora_targets(shared: nn.Module) -> list[str]:
    """Module names to adapt when the user names none.

    Transformers: the query and value projections of every attention layer (as in the
    LoRA paper); timm's ViT fuses query, key and value in one ``qkv`` layer, which is then
    adapted whole (one rank-r update for the three, keys included). MobileNetV2: the pointwise (1x1) convolutions of the two blocks next to
    the classifier (features.17 and features.18), ~1.5 % of the parameters at r=8.
    Anything else: the linear and 1x1-conv layers of the top block.
    """
    names = {n: m for n, m in shared.named_modules() if n}
    for family in ATTENTION_TARGETS:
        found = [n for n, m in names.items() if isinstance(m, nn.Linear) and n.rsplit(".", 1)[-1] in family]
        if found:
            return found
    pointwise = [n for n, m in names.items() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.groups == 1]
    top = [n for n in pointwise if any(t in n + "." for t in MOBILENET_V2_TOP)]
    if top:
        return top
    blocks = getattr(shared, "blocks", None)
    last = blocks[-1] if blocks is not None and len(blocks) else shared
    inside = {id(m) for m in last.modules()}
    found = [n for n, m in names.items() if id(m) in inside and (isinstance(m, nn.Linear) or n in pointwise)]
    if not found:
        raise TransferkitError(
            f"found no linear or 1x1-conv layer to adapt in {type(shared).__name__}.",
            "name them with the lora method's `target_modules`.",
        )
    return found


def apply_lora(model, r: int, alpha: float, dropout: float, target_modules: list[str] | None) -> dict:
    """Inject LoRA into ``model.shared`` (in place); returns the adapter config to store."""
    peft = require_peft()
    targets = list(target_modules) if target_modules else default_lora_targets(model.shared)
    config = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, bias="none")
    try:
        peft.inject_adapter_in_model(config, model.shared)
    except ValueError as e:  # PEFT: "Target modules ... not found in the base model"
        raise TransferkitError(f"LoRA: {e}", "check `target_modules` against the shared layers' module names.") from None
    adapter = {"kind": "lora", "r": r, "alpha": alpha, "dropout": dropout, "target_modules": targets}
    model.config["adapter"] = adapter
    return adapter


def apply_bitfit(model) -> dict:
    model.config["adapter"] = {"kind": "bitfit"}
    return model.config["adapter"]


def mark_frozen(model) -> None:
    """Records that the shared layers were not trained (``head``), for a delta checkpoint."""
    model.config["adapter"] = {"kind": "frozen"}


def _changes(kind: str) -> Callable[[str], bool]:
    """Which shared-layer parameter names a kind of adapter trains."""
    if kind == "frozen":  # a head on frozen shared layers: no shared parameter changed
        return lambda name: False
    if kind == "lora":
        return lambda name: "lora_" in name
    if kind == "bitfit":
        return lambda name: name.endswith("bias")
    raise TransferkitError(f"unknown adapter kind {kind!r} in a saved model.", "use lora, bitfit or frozen.")


def mark_trainable(model) -> int:
    """Freeze everything but the adapter and the specific layers; returns the trainable count."""
    changes = _changes(model.config["adapter"]["kind"])
    for name, p in model.named_parameters():  # (a text encoder's unused pooler: never, see TextEncoder)
        p.requires_grad_(name.startswith("specific.") or (name.startswith("shared.") and changes(name)
                                                          and ".model.pooler." not in name))  # fmt: skip
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def is_delta(model) -> bool:
    """Whether the checkpoint stores only what the adapter changed: when the unchanged shared
    layers can be rebuilt without it. Published pretrained weights can be (offline). Weights
    trained on a source (``source: {pretrained, data}``, flagged ``source_trained``, or any
    architecture trained from a source data set) can be only from the run's own copy of those
    shared layers, named by ``config["base_model"]`` (a run folder's ``models/base/``).
    """
    if not model.config.get("adapter"):
        return False
    if model.config.get("base_model"):
        return True
    return model.config.get("architecture") == "pretrained" and not model.config.get("source_trained")


def checkpoint_state(model, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The part of ``state`` a checkpoint stores (everything unless :func:`is_delta`)."""
    if not is_delta(model):
        return state
    changes = _changes(model.config["adapter"]["kind"])
    buffers = {name for name, _ in model.named_buffers()}
    return {
        k: v for k, v in state.items()
        if k.startswith("specific.") or k in buffers or (k.startswith("shared.") and changes(k))
    }  # fmt: skip


def base_fingerprint(model) -> str:
    """A digest of the weights a delta checkpoint does not store: those rebuilt from the
    pretrained source at load time. Saved with the checkpoint, so a load from a changed
    weights file (same path, other contents) is refused instead of predicting with other weights."""
    from transferkit.models.transfer_model import state_digest

    state = model.state_dict()
    return state_digest(state, sorted(set(state) - set(checkpoint_state(model, state))))


BASE_FOLDER = "base"  # inside a run folder's models/: each seed's source shared layers, once


def base_name(seed: int) -> str:
    """``config["base_model"]`` of the models a run seed adapted from its source (relative to models/)."""
    return f"{BASE_FOLDER}/source_seed{seed}"


def save_base(source_model, path: Path) -> None:
    """The source model's shared layers (parameters and buffers): what the delta checkpoints
    of that seed's adapted models (head, lora, bitfit, ...) are rebuilt on."""
    from safetensors.torch import save_file

    from transferkit.atomic import write_atomic

    state = {k: v.detach().cpu().contiguous() for k, v in source_model.state_dict().items() if k.startswith("shared.")}
    write_atomic(path.with_name(path.name + ".safetensors"), lambda p: save_file(state, str(p)))


def load_base(model, path: Path, model_path: Path) -> None:
    """Loads the shared layers saved by :func:`save_base` into ``model``, before its adapter."""
    from safetensors.torch import load_file

    file = path.with_name(path.name + ".safetensors")
    if not file.exists():
        raise TransferkitError(
            f"{model_path} stores only what its method changed in the source's shared layers, which are kept "
            f"in {file}: that file is missing.",
            "copy the run's models/base/ folder along with the model, or re-run the experiment.",
        )
    try:
        base = load_file(str(file))
    except Exception as e:  # safetensors' own error: a truncated or overwritten file
        raise TransferkitError(f"{file}: cannot read the source's shared layers ({str(e).splitlines()[0]}).",
                               "the file is damaged or incomplete: re-run the experiment that saved it.") from None  # fmt: skip
    own = {k: v.shape for k, v in model.state_dict().items() if k.startswith("shared.")}
    if set(base) != set(own) or any(base[k].shape != own[k] for k in base):
        raise TransferkitError(f"{file} does not hold the shared layers {model_path} was built on.",
                               "keep each run's models/ folder as the run wrote it, or re-run the experiment.")  # fmt: skip
    model.load_state_dict(base, strict=False)


def load_adapted(model, config: dict, state: dict[str, torch.Tensor]) -> None:
    """Re-inject the adapter named in ``config`` and load a (delta or full) checkpoint."""
    adapter = dict(config["adapter"])
    _changes(adapter["kind"])  # an unknown kind fails here, with its name
    if adapter["kind"] == "lora":
        apply_lora(model, adapter["r"], adapter["alpha"], adapter["dropout"], adapter["target_modules"])
    elif adapter["kind"] == "bitfit":
        apply_bitfit(model)
    else:
        mark_frozen(model)
    if not is_delta(model):
        model.load_state_dict(state)
        return
    expected = set(checkpoint_state(model, model.state_dict()))
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise TransferkitError(
            f"adapter checkpoint does not match the model: missing {missing[:3]}, unexpected {unexpected[:3]}.",
            "load it with the transferkit version and pretrained source that saved it.",
        )
    saved_with = config.get("base_fingerprint")  # models saved before session 23 have none: not checked
    if saved_with is not None and base_fingerprint(model) != saved_with:
        if config.get("base_model"):
            raise TransferkitError(
                f"the source's shared layers in models/{config['base_model']}.safetensors are not the ones this "
                "model was trained on: its checkpoint stores only what its method changed.",
                "keep each run's models/ folder as the run wrote it, or re-run the experiment.",
            )
        kwargs = config.get("arch_kwargs") or {}
        where = kwargs.get("path") or kwargs.get("source") or "the pretrained source"
        raise TransferkitError(
            f"the pretrained weights this model is rebuilt from ({where}) are not the ones it was trained on: its "
            "checkpoint stores only what training changed, so it would predict with other weights.",
            "restore the weights file it was trained with, or train it again on the new weights.",
        )
    model.load_state_dict(state, strict=False)


def model_footprint(model) -> dict[str, int]:
    """Trainable and total parameters, and the bytes of tensors a checkpoint stores."""
    state = checkpoint_state(model, model.state_dict())
    return {
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "total_params": sum(p.numel() for p in model.parameters()),
        "checkpoint_bytes": sum(t.numel() * t.element_size() for t in state.values()),
    }
