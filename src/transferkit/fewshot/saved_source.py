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
  classes. Exact copies are looked for in the data the model's run read (its config.yaml), where
  it is a run's model and that data is still at hand (the report says what was compared).
* **scratch** trains the model's architecture from fresh weights (a pretrained encoder's
  models: ``model.shared``, as for a pretrained source).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from transferkit.data.files import columns_read, order_columns
from transferkit.data.preprocess import (
    Recipe,
    apply_recipe,
    border_medians,
    content_fraction,
    ink_contrasts,
    inputs_polarity_note,
    is_picture,
    make_recipe,
    pad_to_frame,
    reads_series,
    spread_rows,
    unit_range,
)
from transferkit.data.splits import no_test_split
from transferkit.errors import TransferkitError, TransferkitWarning, collected_warnings, user_stacklevel
from transferkit.evaluate.prepare import Prepared, check_two_classes, inverted, load_section
from transferkit.models import TransferModel
from transferkit.models.transfer_model import model_file, model_stem, read_model_json
from transferkit.prediction import scale_warning


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
        read_source: Whether its layers were trained on its run's source (not a ``scratch`` model's).
    """

    model: TransferModel
    path: Path
    meta: dict
    seen: list[str]
    run: Path | None
    unknown: str | None = None  # classes it may have seen that nothing records, in words; None: all recorded
    read_source: bool = True

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
        saved_here = sorted(f.stem for f in p.glob("*.json") if f.with_suffix(".safetensors").is_file())
        if summary is None and saved_here:  # a run's models/ folder: which one?
            raise TransferkitError(f"source.model {spec!r} is a folder of saved models, not one model.",
                                   f"name one of them: {', '.join(str(p / n) for n in saved_here[:4])}"
                                   f"{', ...' if len(saved_here) > 4 else ''}; or give the run folder for its "
                                   "deployed model.")  # fmt: skip
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
        if p.is_file() and p.suffix not in (".json", ".safetensors"):
            raise TransferkitError(f"source.model {spec!r} is a file but not a saved model (a .safetensors/.json "
                                   "pair written by transferkit).",
                                   "give a run folder, a saved model (RUN/models/NAME) or a file written by "
                                   "TransferClassifier.save(); data to train a source on is `source.data`.")  # fmt: skip
        if stem.parent.name == "base" and stem.parent.parent.name == "models" and not model_file(stem, ".json").is_file():
            raise TransferkitError(f"source.model {spec!r} is the source's shared layers that a run keeps for its "
                                   "adapter models (lora, bitfit), not a model: it has no settings to rebuild it from.",
                                   "give the run folder or one of its models (RUN/models/NAME): a `head` model's shared "
                                   "layers are the source's, unchanged.")  # fmt: skip
        if not model_file(stem, ".json").is_file():
            raise TransferkitError(f"source.model {spec!r}: no saved model there (need {stem.name}.json and "
                                   f"{stem.name}.safetensors).",
                                   "give a run folder, a saved model (RUN/models/NAME) or a file written by "
                                   "TransferClassifier.save().")  # fmt: skip
        if stem.parent.name == "models" and _summary(stem.parent.parent) is not None:
            run = stem.parent.parent
    meta = read_model_json(stem)
    try:
        model = TransferModel.load(stem).eval()
    except TransferkitError:
        raise  # its own words (damaged weights, a missing base model, weights not at hand): one line, its fix
    except (KeyError, TypeError, ValueError, RuntimeError) as e:  # settings missing a key, or not the weights' shape
        raise TransferkitError(f"source.model {spec!r}: cannot rebuild the saved model from {stem.name}.json "
                               f"({type(e).__name__}: {e}).",
                               "the file is damaged or was not written by transferkit: save the model again.") from None  # fmt: skip
    seen = [str(c) for c in model.classes]
    method = meta.get("method") or (meta.get("estimator") or {}).get("method")  # a run's model, TransferClassifier's
    scratch = method == "scratch"  # its shared layers never read a source
    first = [] if scratch else meta.get("source_classes")  # learned before its own (recorded since session 29)
    if first is None and run is not None:
        first = ((_summary(run) or {}).get("source") or {}).get("classes")  # a run's model saved before that
    seen += [str(c) for c in first or [] if str(c) not in seen]
    unknown = None
    if model.config.get("architecture") == "pretrained":
        unknown = "the classes (or texts) its pretrained weights were trained on, which no file here records"
    elif first is None:  # None: unknown (your own network, or a model saved before they were recorded)
        unknown = ("the classes its shared layers may have learned first, from a source (not recorded: your own "
                   "network, a model saved before transferkit recorded them, or one copied out of its run folder)")
    return SavedSource(model, stem, meta, seen, run, unknown, read_source=not scratch)


def runs_own_data(saved: SavedSource) -> tuple[list, list[str]]:
    """The source and target data the saved model's run read (its ``config.yaml``), those still at hand, for the
    exact-copy check of the novel classes; and the names of those that are not (moved, or a pretrained source).
    A model outside a run folder records no data: ([], [])."""
    if saved.run is None or not (saved.run / "config.yaml").is_file():
        return [], []
    import yaml

    from transferkit.config import validate
    from transferkit.evaluate.prepare import load_section

    try:
        raw = yaml.safe_load((saved.run / "config.yaml").read_text(encoding="utf-8"))
        cfg = validate(raw)
    except Exception:  # noqa: BLE001  (a run of another version, or edited: no data to compare with)
        return [], [f"the data of the run {saved.run}"]
    found, missing = [], []
    columns = None  # a target CSV is read as the run read it: the source's columns only
    for role in ("source", "target"):
        section = getattr(cfg, role, None)
        if section is None or getattr(section, "data", None) is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the run said them when it read these
                domain = load_section(section, only_columns=columns if role == "target" else None)
            found.append((role, domain))
            if role == "source":
                columns = (getattr(domain, "meta", None) or {}).get("columns")
        except Exception as e:  # noqa: BLE001  (moved, deleted, a package no longer installed)
            why = getattr(e, "problem", None) or type(e).__name__
            missing.append(f"its {role} {section.data!r}: {why[:120]}")
    return found, missing


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
    source data. ``cfg``: the few-shot experiment (its ``target`` and ``model``). Warnings
    raised on the way are said and kept for the report (``notes``), as :func:`prepare` keeps them."""
    with collected_warnings() as notes:
        data = _prepare(cfg, saved)
    data.notes = list(dict.fromkeys([*notes, *data.notes]))
    return data


def _prepare(cfg, saved: SavedSource) -> Prepared:
    recipe = saved.meta.get("recipe") or {}
    shape = tuple(int(v) for v in saved.model.config["input_shape"])
    arch = saved.model.config.get("architecture", "auto")
    _check_model_section(cfg.model, shape, arch, recipe.get("kind") == "text")
    if recipe.get("kind") == "text":
        return _prepare_texts(cfg, saved, recipe, shape)
    stored = Recipe.from_dict(recipe) if "value_range" in recipe else None
    if stored is not None and stored.columns is None and saved.meta.get("feature_names") and len(shape) == 1:
        stored = dataclasses.replace(stored, columns=tuple(saved.meta["feature_names"]))  # TransferClassifier.save's
    target = load_section(cfg.target, only_columns=list(stored.columns) if stored and stored.columns else None)
    check_two_classes(target, "target")
    user_inverted, auto_inverted = bool(cfg.target.invert), False
    if (stored is not None and stored.invert and "invert" not in cfg.target.model_fields_set and len(shape) == 3
            and getattr(target, "is_image", False) and _like_the_runs_files(target, saved, shape)):  # fmt: skip
        target, auto_inverted = inverted(target), True  # as the model's own target files were read (and predict's)
        warnings.warn(f"{target.name}: the saved model's own target images were read inverted (max - x, its run's "
                      "`invert: true`), and these novel images look like its files as given, so they are read "
                      "inverted too; set target.invert: false to read them as they are.", TransferkitWarning,
                      stacklevel=user_stacklevel())  # fmt: skip

    if getattr(target, "is_text", False):
        raise TransferkitError(f"{target.name} holds texts, and the saved model {saved.path.name} reads "
                               f"{('series' if reads_series(shape, arch) else 'images') if len(shape) == 3 else 'vectors'}.",
                               "give novel classes of the kind the model was trained on.")  # fmt: skip
    series = reads_series(shape, arch)
    if len(shape) == 3 and not series or stored is None:  # pictures: each domain on its own range, as in training
        pad = cfg.target.pad if cfg.target.pad != "auto" or len(shape) != 3 else framed(target, saved, shape, stored)
        tgt_recipe = make_recipe(target, shape, pad, architecture=arch)
        if stored is not None and len(shape) == 3:  # a model saved before block averaging keeps its filter
            tgt_recipe = dataclasses.replace(tgt_recipe, block_average=stored.block_average)
        x = target.x
    else:  # vectors and series: on the model's scale (vectors: its columns, by name)
        if series:
            make_recipe(target, shape, 0, architecture=arch)  # refuses series of another length or sensors
        x = target.x if series else _model_columns(target, stored, shape)
        tgt_recipe = dataclasses.replace(stored, pad=0, invert=False)
        note = scale_warning(x, stored, "the model was trained on", "series")
        if note:
            warnings.warn(f"{target.name}: {note}", TransferkitWarning, stacklevel=user_stacklevel())
    xt = apply_recipe(x, tgt_recipe)
    if user_inverted or auto_inverted:  # inverted once, when loaded (not again here): the report's inputs line says so
        tgt_recipe = dataclasses.replace(tgt_recipe, invert=True)
    if len(shape) == 3 and not series and saved.meta.get("target_border") is not None:  # the model's ink and paper
        note = inputs_polarity_note(border_medians(xt, tgt_recipe.pad), saved.meta["target_border"], target.name,
                                    None, saved.meta.get("target_border_other"), inverted=auto_inverted,
                                    inks=ink_contrasts(xt, tgt_recipe.pad), trained_ink=saved.meta.get("target_ink"))  # fmt: skip
        if note and user_inverted:  # (the files as given were the other way round: the setting is the fix)
            note += " Here `target.invert: true` read them inverted: set it to false."
        elif note and not auto_inverted:
            note += " Here `target.invert: true` reads them so."
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    scratch = arch if buildable(arch) else cfg.model.shared
    if not buildable(arch):  # model.shared beside a pretrained encoder: refused now, not after the feature methods
        TransferModel.build(scratch, shape, ["a", "b"], head_hidden=cfg.model.head_hidden, **cfg.model.options)
    return Prepared(None, target, None, tgt_recipe, None, None, xt, torch.from_numpy(target.y),
                    no_test_split(len(target.y)), shape, scratch_architecture=scratch)  # fmt: skip


def _like_the_runs_files(target, saved: SavedSource, shape: tuple[int, ...]) -> bool:
    """Whether novel images look like the files of a run that read its target inverted (the other polarity than
    its model's inputs): only then are they inverted as those were. Without a record of the model's polarity, as
    ``predict`` does: yes."""
    border = saved.meta.get("target_border")
    if border is None:
        return True
    sample = target.select(np.arange(min(len(target.y), 200)))
    with warnings.catch_warnings():  # a probe: the recipe's own notes are said once, by the real one
        warnings.simplefilter("ignore")
        raw = apply_recipe(sample.x, make_recipe(sample, shape, 0))
    return (float(np.median(border_medians(raw, 0))) > 0.5) != (float(border) > 0.5)


def _check_model_section(model, shape: tuple[int, ...], arch: str, text: bool) -> None:
    """``model:`` settings a saved model makes moot are refused, not silently unused: its input shape is its
    own, and scratch rebuilds its own architecture and options (``model.shared`` chooses scratch's architecture
    only beside a pretrained encoder's model)."""
    if model.input_shape and tuple(model.input_shape) != shape:
        reads = f"the first {shape[0]} tokens of each text, as it was trained" if text else f"inputs of shape {list(shape)} only"
        raise TransferkitError(f"model.input_shape {list(model.input_shape)}: the saved model reads {reads}.",
                               "leave model.input_shape out.")  # fmt: skip
    moot = [k for k in ("shared", "options", "head_hidden") if k in model.model_fields_set]
    if not buildable(arch):  # a pretrained encoder's model: scratch is model.shared (texts: the textcnn) with them
        moot = [k for k in moot if k == "shared" and text]
    if moot:
        what = ("the textcnn, as with any text encoder" if not buildable(arch) else
                f"the saved model's own architecture ({arch}) with its own options")  # fmt: skip
        raise TransferkitError(f"model.{moot[0]} is set, but with `source.model` scratch rebuilds {what}, so "
                               f"{', '.join(f'model.{k}' for k in moot)} would have nothing to do.",
                               f"remove {', '.join(f'model.{k}' for k in moot)}.")  # fmt: skip


def framed(target, saved: SavedSource, shape: tuple[int, ...], stored: Recipe | None) -> int:
    """``pad: auto`` for a saved model: the border that makes the novel images' content fill as much of the frame
    as its training images' did (``source_frame``, saved with models since session 29). A model saved without it
    gives the border its own target images got when the novel images have their size (likely the same framing),
    else none, said (a model on pretrained weights, whose images are unknown here, gets none either)."""
    frame = saved.meta.get("source_frame")
    if not getattr(target, "is_image", False) or not is_picture(tuple(target.input_shape[-2:])):
        return 0  # (vectors given to an image model: make_recipe refuses them, naming the shapes)
    if frame is not None:
        own = content_fraction(unit_range(target.x[spread_rows(len(target.x))], target.value_range))
        if float(frame) / own > 1.5:  # a border only adds: content smaller than the model's stays so, said
            warnings.warn(f"{target.name}: the novel images' content spans {100 * own:.0f} % of their frame, the "
                          f"saved model's training images' {100 * float(frame):.0f} %: the model sees them smaller "
                          "than anything it learned from, and `target.pad: auto` only adds borders; crop them "
                          "closer to their content for its best reading.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        return pad_to_frame(float(frame), unit_range(target.x[spread_rows(len(target.x))], target.value_range), tuple(shape[1:]))
    size = saved.meta.get("image_size") or saved.meta.get("fit_input_shape")
    if stored is not None and size and tuple(size[-2:]) == tuple(target.input_shape[-2:]):
        return int(stored.pad)
    if saved.model.config.get("architecture") != "pretrained":
        warnings.warn(f"{target.name}: the saved model {saved.path.name} does not record how its training images "
                      "were framed (your own network, or a model saved before transferkit recorded it), so "
                      "`target.pad: auto` adds no border: "
                      "if the novel images' content fills more of the frame than the model's training images' did, "
                      "set target.pad to the border in pixels.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    return 0


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
                      stacklevel=user_stacklevel())  # fmt: skip
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
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    x = tokenize(tokenizer, target.texts, text.max_length)
    return Prepared(None, target, None, text, None, None, x, torch.from_numpy(target.y), no_test_split(len(target.y)),
                    shape, scratch_architecture="textcnn")  # fmt: skip
