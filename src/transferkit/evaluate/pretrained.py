"""Preparing an experiment whose source is a pretrained model (``source: {pretrained: ...}``).

The input format comes from the pretrained source's spec, never from the data:

* images: channels and size from ``spec.input_size`` (grey is repeated to RGB, the image
  resized with antialiasing), mean/std from the spec (stored in the model, see
  :func:`transferkit.train.pretrained_source.pretrained_source_model`). ``model.input_shape``
  may lower the resolution for fully convolutional encoders (MobileNetV2 pools globally);
  the channels must stay the spec's.
* text: the source's own tokenizer, truncation at ``spec.max_length`` tokens, or fewer:
  ``model.input_shape: [T]`` keeps the first T (faster; at most the spec's length).

Models trained from scratch for comparison use ``model.shared`` (``auto``: ``cnn`` for
images, ``textcnn`` for text) on the same prepared inputs.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from transferkit.config import ExperimentConfig
from transferkit.data.files import range_of_rows
from transferkit.data.preprocess import apply_recipe, make_recipe
from transferkit.data.splits import no_test_split, split_target
from transferkit.data.text import TextDomain, TextRecipe, count_truncated, tokenize, truncation_note
from transferkit.errors import TransferkitError, TransferkitWarning, collected_warnings, user_stacklevel
from transferkit.evaluate.prepare import Prepared, check_two_classes, invert_on_pool, load_section, match_source
from transferkit.models.pretrained import load_base


def prepare_pretrained(cfg: ExperimentConfig, test_split: bool = True) -> Prepared:
    src = cfg.source
    encoder, spec = load_base(src.pretrained, src.weights)
    target = load_section(cfg.target, invert=False)  # inverted on its pool's range, after the split
    with collected_warnings() as source_loading:  # filed under the source in the report (prepare says the rest)
        source = load_section(src) if src.data else None
    for domain, role in ((source, "source"), (target, "target")):
        if domain is not None:
            check_two_classes(domain, role)
    for domain in (d for d in (target, source) if d is not None):
        if isinstance(domain, TextDomain) != (spec.modality == "text"):
            kind = "texts" if isinstance(domain, TextDomain) else "images or vectors"
            raise TransferkitError(
                f"{domain.name} holds {kind} but the pretrained source {src.pretrained!r} reads {spec.modality}s.",
                "use a text encoder (hf:...) for text data and an image model for images.",
            )
    if spec.modality == "text" and cfg.model.shared not in ("auto", "textcnn"):  # before any training: the mlp or
        raise TransferkitError(  # cnn1d read token ids as numbers (a raw dtype error, from scratch's first step)
            f"model.shared: {cfg.model.shared} cannot read texts: with a text source, scratch trains the `textcnn` on "
            "the same token ids.", "leave model.shared out (auto), or set it to textcnn.")  # fmt: skip
    target = match_source(source, target)  # the same class names in another order: the source's order
    split = split_target(target, cfg.target.test_fraction, cfg.target.split_seed) if test_split else no_test_split(len(target.y))
    target = invert_on_pool(target, split.pool_idx) if cfg.target.invert else target
    if spec.modality == "text":
        longest = int(spec.max_length or 512)
        length = longest
        if cfg.model.input_shape:  # a shorter truncation length: faster, and what the user asked for
            length = int(cfg.model.input_shape[0])
            if len(cfg.model.input_shape) != 1 or not 1 <= length <= longest:
                raise TransferkitError(
                    f"model.input_shape {list(cfg.model.input_shape)} does not fit the text encoder "
                    f"{src.pretrained!r}: give one length, the tokens kept per text, 1..{longest}.",
                    f"use e.g. model.input_shape: [{min(128, longest)}], or leave it out for {longest}.",
                )
        recipe = TextRecipe(src.pretrained, length, src.weights)
        xt = tokenize(encoder.tokenizer, target.texts, recipe.max_length)
        xs = tokenize(encoder.tokenizer, source.texts, recipe.max_length) if source else None
        for domain in (d for d in (target, source) if d is not None):
            note = truncation_note(count_truncated(encoder.tokenizer, domain.texts, recipe.max_length),
                                   len(domain.texts), recipe.max_length, f"{domain.name}'s texts")  # fmt: skip
            if note:
                warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
        shape: tuple[int, ...] = (recipe.max_length,)
        src_recipe, tgt_recipe = (recipe if source else None), recipe
        scratch = "textcnn"
    else:
        if not target.is_image:
            raise TransferkitError(f"{target.name} holds vectors; {src.pretrained!r} needs images.", "give images.")
        shape = tuple(cfg.model.input_shape or spec.input_size)
        if len(shape) != 3 or shape[0] != spec.input_size[0]:
            raise TransferkitError(
                f"model.input_shape {list(shape)} does not fit {src.pretrained!r} (spec {list(spec.input_size)}).",
                f"keep {spec.input_size[0]} channels: [C, H, W].",
            )
        src_recipe = make_recipe(source, shape, 0) if source else None
        pool = range_of_rows(target, split.pool_idx).select(split.pool_idx)  # value range, framing: no test rows
        tgt_recipe = make_recipe(pool, shape, cfg.target.pad, source=source)
        xt = apply_recipe(target.x, tgt_recipe)
        xs = apply_recipe(source.x, src_recipe) if source else None
        scratch = cfg.model.shared
    ys = torch.from_numpy(np.asarray(source.y)) if source else None
    return Prepared(
        source, target, src_recipe, tgt_recipe, xs, ys, xt, torch.from_numpy(target.y), split, shape,
        scratch_architecture=scratch, source_notes=list(dict.fromkeys(source_loading)),
    )  # fmt: skip
