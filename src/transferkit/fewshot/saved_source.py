"""A saved model as the few-shot source (``source: {model: PATH}``): its shared layers as they are.

The user's question, "my model has never seen these classes: how well can it learn them from 1–5
examples?", asked of a model they already have: a run folder (its deployed model, as
``transferkit predict`` reads it), one of a run's saved models (``RUN/models/finetune_k5_seed0``)
or a file from ``TransferClassifier.save``. Nothing is trained or read from source data.

* **Inputs** are read the way the model reads them: its input shape; images on their own value
  range, as every image domain is (the model normalises them itself); vectors on the model's
  recorded scale, columns matched by name when both have names; texts by its tokenizer.
* **Novel classes** are checked by name against every class the shared layers were trained
  with labels: the model's own classes and, for a model in a run folder, the run's source
  classes. Without the source's examples, exact copies cannot be looked for (the report says).
* **scratch** trains the model's architecture from fresh weights (a pretrained encoder's
  models: ``model.shared``, as for a pretrained source).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from transferkit.data.files import columns_read, order_columns
from transferkit.data.preprocess import Recipe, apply_recipe, make_recipe
from transferkit.data.splits import no_test_split
from transferkit.errors import TransferkitError, TransferkitWarning
from transferkit.evaluate.prepare import Prepared, check_two_classes, load_section
from transferkit.models import TransferModel
from transferkit.models.transfer_model import model_file, model_stem, read_model_json


def buildable(architecture: str) -> bool:
    """Whether scratch can build ``architecture`` afresh by name (a pretrained encoder cannot)."""
    from transferkit.models import list_architectures

    return architecture != "pretrained" and architecture in {name for name, _ in list_architectures()}


@dataclass(frozen=True)
class SavedSource:
    """A saved model and what is known of its training.

    Attributes:
        model: The loaded model (eval mode).
        path: Its stem (``.../finetune_k5_seed0``), as the report names it.
        meta: Its ``.json`` (recipe, classes, method...).
        seen: Every class name its shared layers were trained on with labels: the model's own
            classes, then, for a model in a run folder, the run's source classes.
        run: The run folder it belongs to, or None.
    """

    model: TransferModel
    path: Path
    meta: dict
    seen: list[str]
    run: Path | None

    @property
    def describe(self) -> str:
        """How the report and the console name it."""
        where = f"{self.path.name} of the run {self.run}" if self.run is not None else str(self.path)
        return f"the saved model {where}"


def load_saved_source(spec: str) -> SavedSource:
    """Loads ``spec``: a run folder (its deployed model), a run's saved model, or a saved model file.

    Raises:
        TransferkitError: A path that is none of these (named, with what to give instead).
    """
    from transferkit.prediction import deployed

    p = Path(spec)
    run = None
    if p.is_dir():
        summary = _summary(p)
        if summary is None:
            raise TransferkitError(f"source.model {spec!r} is a folder but not a finished transferkit run (no "
                                   "summary.json).",
                                   "give a run folder, a saved model (RUN/models/NAME) or a file written by "
                                   "TransferClassifier.save().")  # fmt: skip
        dep = deployed(summary, p)
        run, stem = p, p / "models" / f"{dep['method']}_k{dep['shots']}_seed{dep['seed']}"
        if not model_file(stem, ".json").is_file():
            raise TransferkitError(f"source.model {spec!r}: the run's deployed model {stem.name} is not in its "
                                   "models/ folder (save_models: false, or moved).",
                                   "give one of the run's saved models (RUN/models/NAME), or re-run it with "
                                   "save_models: true.")  # fmt: skip
    else:
        stem = model_stem(p)
        if not model_file(stem, ".json").is_file():
            raise TransferkitError(f"source.model {spec!r}: no saved model there (need {stem.name}.json and "
                                   f"{stem.name}.safetensors).",
                                   "give a run folder, a saved model (RUN/models/NAME) or a file written by "
                                   "TransferClassifier.save().")  # fmt: skip
        if stem.parent.name == "models" and _summary(stem.parent.parent) is not None:
            run = stem.parent.parent
    meta = read_model_json(stem)
    model = TransferModel.load(stem).eval()
    seen = [str(c) for c in model.classes]
    if run is not None:  # the run's source classes trained the shared layers first
        source = (_summary(run) or {}).get("source") or {}
        seen += [str(c) for c in source.get("classes") or [] if str(c) not in seen]
    return SavedSource(model, stem, meta, seen, run)


def _summary(folder: Path) -> dict | None:
    path = folder / "summary.json"
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise TransferkitError(f"{path} is damaged ({e}).", "re-run the experiment, or restore the file.") from None
    return summary if isinstance(summary, dict) else None


def prepare_saved(cfg, saved: SavedSource) -> Prepared:
    """The novel classes (``cfg.target``) read the way ``saved``'s model reads its inputs; no
    source data. ``cfg``: the few-shot experiment's :meth:`experiment` (a run config)."""
    recipe = saved.meta.get("recipe") or {}
    shape = tuple(int(v) for v in saved.model.config["input_shape"])
    arch = saved.model.config.get("architecture", "auto")
    if recipe.get("kind") == "text":
        return _prepare_texts(cfg, saved, recipe, shape)
    if cfg.model.input_shape and tuple(cfg.model.input_shape) != shape:
        raise TransferkitError(f"model.input_shape {list(cfg.model.input_shape)} is not the saved model's input "
                               f"{list(shape)}: it reads inputs of that shape only.",
                               "leave model.input_shape out.")  # fmt: skip
    stored = Recipe.from_dict(recipe) if "value_range" in recipe else None
    target = load_section(cfg.target, only_columns=list(stored.columns) if stored and stored.columns else None)
    check_two_classes(target, "target")
    if getattr(target, "is_text", False):
        raise TransferkitError(f"{target.name} holds texts, and the saved model {saved.path.name} reads "
                               f"{'images' if len(shape) == 3 else 'vectors'}.",
                               "give novel classes of the kind the model was trained on.")  # fmt: skip
    split = no_test_split(len(target.y))
    if len(shape) == 3 or stored is None:  # images: each domain on its own range, as in training
        tgt_recipe = make_recipe(target, shape, cfg.target.pad, architecture=arch)
        x = target.x
    else:  # vectors: on the model's scale, its columns by name
        x = _model_columns(target, stored, shape)
        tgt_recipe = stored
        from transferkit.prediction import scale_warning

        note = scale_warning(x, stored, "the model was trained on", "series")
        if note:
            warnings.warn(f"{target.name}: {note}", TransferkitWarning, stacklevel=3)
    scratch = arch if buildable(arch) else cfg.model.shared
    return Prepared(None, target, None, tgt_recipe, None, None, apply_recipe(x, tgt_recipe),
                    torch.from_numpy(target.y), split, shape, scratch_architecture=scratch)  # fmt: skip


def _model_columns(target, stored: Recipe, shape: tuple[int, ...]) -> np.ndarray:
    """The target's feature columns in the model's order (by name when both have names)."""
    named = target.meta.get("columns")
    x = target.x
    if stored.columns and named:
        keep = columns_read(list(named), list(stored.columns))
        if keep is not None:
            x, named = x[:, keep], [named[j] for j in keep]
        return order_columns(x, list(named), list(stored.columns), target.name, "the model's")
    if x.ndim != 2 or x.shape[1] != shape[0]:
        raise TransferkitError(f"{target.name} has {x.shape[1] if x.ndim == 2 else 'non-vector'} features but the "
                               f"saved model reads {shape[0]}.",
                               "give the novel classes the model's feature columns.")  # fmt: skip
    if stored.columns and not named:
        shown = ", ".join(map(str, stored.columns[:4])) + ("..." if len(stored.columns) > 4 else "")
        warnings.warn(f"{target.name}: its columns have no names and the model's have, so they are read by position "
                      f"as the model's {shown}: check that they are in that order.", TransferkitWarning,
                      stacklevel=4)  # fmt: skip
    return x


def _prepare_texts(cfg, saved: SavedSource, recipe: dict, shape: tuple[int, ...]) -> Prepared:
    from transferkit.data.text import TextRecipe, count_truncated, tokenize, truncation_note

    target = load_section(cfg.target)
    check_two_classes(target, "target")
    if not getattr(target, "is_text", False):
        raise TransferkitError(f"{target.name} holds images or vectors, and the saved model {saved.path.name} reads "
                               "texts.", "give novel classes of texts.")  # fmt: skip
    text = TextRecipe(**recipe)
    tokenizer = getattr(saved.model.shared, "tokenizer", None) or text.tokenizer()
    note = truncation_note(count_truncated(tokenizer, target.texts, text.max_length), len(target.texts),
                           text.max_length, f"{target.name}'s texts")  # fmt: skip
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=3)
    x = tokenize(tokenizer, target.texts, text.max_length)
    return Prepared(None, target, None, text, None, None, x, torch.from_numpy(target.y), no_test_split(len(target.y)),
                    shape, scratch_architecture="textcnn")  # fmt: skip
