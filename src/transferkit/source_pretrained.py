"""A pretrained model as the source of the Python API.

    src = tk.pretrained_source("mobilenet_v2_imagenet", input_shape=(3, 96, 96))
    clf = tk.TransferClassifier("head", source=src).fit(X, y)        # X: images of one size
    cross_val_score(tk.TransferClassifier("finetune", source=src), X, y, cv=5)
    text = tk.pretrained_source("hf:sentence-transformers/all-MiniLM-L6-v2", input_shape=(64,))
    tk.TransferClassifier("lora", source=text).fit(texts, labels)    # a list of strings

The same as ``source: {pretrained: NAME}`` in an experiment file (docs/pretrained.md): the
pretrained encoder, as published, is the shared layers (no source training), with the
input normalisation of its spec; the target's images are brought to its input size and
channels (grey repeated to RGB), texts tokenised by its own tokenizer. With no source data there is no source head: methods
that apply one (``source_only``) or train on source examples (``dann``...) are refused.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

from transferkit.errors import TransferkitError
from transferkit.models.pretrained import load_base
from transferkit.source import SourceModel


def pretrained_source(name: str, *, weights: str | Path | None = None,
                      input_shape: tuple[int, int, int] | None = None) -> SourceModel:  # fmt: skip
    """Load a pretrained model as the source of :class:`~transferkit.TransferClassifier`.

    Args:
        name: ``mobilenet_v2_imagenet``, ``timm:<model>`` (images) or ``hf:<hub id or folder>``
            (a text encoder; ``transferkit.pretrained.list_pretrained()``).
        weights: A local checkpoint file (images) or model folder (text) instead of the
            published weights (offline).
        input_shape: Images: (C, H, W) they are brought to; default the size the weights
            were trained at (224x224 for MobileNetV2). A smaller size is much faster on a CPU
            for encoders that pool globally; C must stay the model's. Texts: (T,), the
            tokens kept of each text (default the encoder's limit, 256 for all-MiniLM-L6-v2).

    Returns:
        A :class:`~transferkit.SourceModel` to pass as ``TransferClassifier(..., source=...)``.
        Its ``scratch`` baseline (``TransferClassifier("scratch", source=src)``) trains the
        estimator's ``shared`` architecture (``auto``: ``cnn`` for images, ``textcnn`` over
        the same token ids for texts) on the same prepared inputs. With a text encoder,
        ``fit`` and ``predict`` take lists of strings (estimator_text.py).
    """
    from transferkit.train.pretrained_source import build_pretrained_model

    if not isinstance(name, str) or not name.strip():
        raise TransferkitError(f"pretrained_source({name!r}): the name must be a non-empty string.",
                               "use e.g. pretrained_source('mobilenet_v2_imagenet').")  # fmt: skip
    path = None if weights is None else str(Path(weights).expanduser().resolve())  # load() rebuilds from it, anywhere
    _, spec = load_base(name, path)  # an unknown name, a missing package or file: one clear error
    if spec.modality == "text":
        longest = int(spec.max_length or 512)
        shape = (longest,) if input_shape is None else _checked_length(input_shape, name, longest)
    else:
        shape = spec.input_size if input_shape is None else _checked_shape(input_shape, name, spec.input_size)
    model = build_pretrained_model(name, path, tuple(shape), ["source"]).eval()  # fit gives it the target's head
    return SourceModel(model, None, None, {}, None, None, 0, "pretrained", math.nan, pretrained=name)


def _checked_length(shape, name: str, longest: int) -> tuple[int]:
    """A text encoder's input: (T,), the tokens kept of each text, 1..its own limit."""
    ok = (isinstance(shape, (tuple, list)) and len(shape) == 1 and isinstance(shape[0], numbers.Integral)
          and not isinstance(shape[0], bool) and 1 <= shape[0] <= longest)  # fmt: skip
    if not ok:
        raise TransferkitError(f"input_shape={shape!r} does not fit the text encoder {name!r}: give (T,), the tokens "
                               f"kept of each text, 1..{longest}.", f"use e.g. input_shape=({min(128, longest)},), "
                               f"or leave it out for {longest}.")  # fmt: skip
    return (int(shape[0]),)


def _checked_shape(shape, name: str, spec_size: tuple[int, int, int]) -> tuple[int, int, int]:
    ok = (isinstance(shape, (tuple, list)) and len(shape) == 3
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in shape))  # fmt: skip
    if not ok:
        raise TransferkitError(f"input_shape={shape!r} is not (C, H, W), three whole numbers.",
                               f"use e.g. input_shape={tuple(spec_size)}, or leave it out.")  # fmt: skip
    if shape[0] != spec_size[0]:
        raise TransferkitError(f"input_shape={tuple(shape)} has {shape[0]} channel(s); {name!r} takes {spec_size[0]}.",
                               f"keep {spec_size[0]} channels, e.g. input_shape=({spec_size[0]}, 96, 96).")  # fmt: skip
    return tuple(int(v) for v in shape)


__all__ = ["pretrained_source"]
