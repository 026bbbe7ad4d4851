"""Predicting with a model from a run folder: class index, class name, probability."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from transferkit.atomic import write_text
from transferkit.data.column_ranges import column_note
from transferkit.data.domain import PADDED, PADDED_FIX, nan_padded
from transferkit.data.files import (
    IMAGE_SUFFIXES,
    check_index_columns,
    csv_features,
    csv_header,
    id_values_note,
    image_kind,
    image_layout,
    load_file,
    npz_inputs,
    open_image,
    order_columns,
    read_csv_rows,
    read_images,
    read_npz,
    small_uint8_note,
)
from transferkit.data.preprocess import (
    NARROW,
    Recipe,
    alpha_note,
    apply_recipe,
    blank_note,
    border_medians,
    channels_note,
    fit_size,
    ink_contrasts,
    inputs_polarity_note,
    reads_series,
    series_size_check,
    turned_note,
)
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.models import TransferModel
from transferkit.models.transfer_model import model_file, model_stem, read_model_json
from transferkit.report.table import points
from transferkit.train.supervised import predict_proba


def deployed(summary: dict, run: Path) -> dict:
    """The run's deployed model (method, shots, seed); a few-shot folder, which keeps no models, is refused."""
    if "deploy" not in summary:
        kind = "a few-shot evaluation" if summary.get("kind") == "fewshot" else "not a run"
        raise TransferkitError(
            f"{run} is {kind} folder: it holds no trained models.",
            "give a folder written by `transferkit run`" + (" (few-shot runs score methods per episode and keep no "
            "model: fit the method you chose on your labelled examples with TransferClassifier, docs/fewshot.md, "
            "'Deploying')." if summary.get("kind") == "fewshot" else "."),
        )
    return summary["deploy"]


RUN_FILES = ("summary.json", "config.yaml", "report.md", "metrics.csv", "test_results.csv")  # and everything in models/, plots/
RUN_FOLDERS = ("models", "plots")


def check_out_file(out: str | Path, run_dir: str | Path | None = None, what: str = "the predictions",
                   inputs: str | Path | None = None) -> None:  # fmt: skip
    """An output file may be new or replace one, but not be a folder, sit under a file, be
    unwritable, replace the ``inputs`` read, or replace one of the files the run folder
    ``run_dir`` is made of (its predictions may)."""
    from transferkit.atomic import check_writable

    o = Path(out)
    if o.is_dir() or str(out).endswith(("/", "\\")):
        raise TransferkitError(f"--out {out} is a folder.", f"give a file path for {what}.")
    if inputs is not None and o.resolve() == Path(inputs).resolve():
        raise TransferkitError(f"--out {out} is the input file itself: {what} would replace the inputs.",
                               f"write {what} to a file of another name.")  # fmt: skip
    check_writable(out, file=True)  # under a file, or where nothing can be written
    if run_dir is None:
        return
    run, target = Path(run_dir).resolve(), o.resolve()
    inside = target.relative_to(run).parts if run in target.parents else ()
    if inside and (inside in [(f,) for f in RUN_FILES] or (len(inside) > 1 and inside[0] in RUN_FOLDERS)):
        raise TransferkitError(f"--out {out} would overwrite {'/'.join(inside)}, part of the run folder {run_dir}.",
                               f"write {what} to a file of another name.")  # fmt: skip


def model_path(run_dir: str | Path, method: str | None = None, shots: int | None = None, seed: int | None = None) -> Path:
    run = Path(run_dir)
    summary_path = run / "summary.json"
    if not summary_path.exists():
        saved = model_file(run, ".json")
        if not run.exists() and not saved.exists():
            raise TransferkitError(f"{run} does not exist.", "give the folder written by `transferkit run`.")
        if run.parent.name == "models" and (run.parent.parent / "summary.json").is_file() and saved.is_file():
            stem = model_stem(run).name  # e.g. finetune_k5_seed0: one of a run's saved models
            method, _, rest = stem.rpartition("_k")
            shots, _, seed = rest.partition("_seed")
            raise TransferkitError(f"{run} is one of a run's saved models, not the run's folder.",
                                   f"give the run and choose the model: transferkit predict {run.parent.parent} INPUT "
                                   f"--method {method} --shots {shots} --seed {seed}.")  # fmt: skip
        if not run.is_dir() and saved.is_file() and "estimator" in _json_or_empty(saved):  # TransferClassifier.save's
            stem = str(run.with_suffix("")) if run.suffix in (".json", ".safetensors") else str(run)
            raise TransferkitError(f"{run} is a model saved by TransferClassifier.save(), not a run folder.",
                                   f"predict with it in Python: TransferClassifier.load({stem!r}).predict(X); "
                                   "`transferkit predict` reads folders written by `transferkit run`.")  # fmt: skip
        raise TransferkitError(f"{run} is not a finished transferkit run (no summary.json).", "give a folder written by `transferkit run`.")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TransferkitError(f"{summary_path} is damaged ({e}).", "re-run the experiment, or restore the file.") from None
    deploy = deployed(summary, run)
    method, shots, seed = method or deploy["method"], deploy["shots"] if shots is None else shots, deploy["seed"] if seed is None else seed
    path = run / "models" / f"{method}_k{shots}_seed{seed}"
    if not model_file(path, ".json").exists():
        available = sorted(p.stem for p in (run / "models").glob("*.json"))
        if not available and summary.get("models_saved") is True:
            raise TransferkitError(f"{run}/models holds no model, though the run saved them (moved or deleted?).",
                                   "restore the models/ folder, or re-run the experiment.")  # fmt: skip
        if not available:
            raise TransferkitError(f"{run} saved no models (save_models: false).", "re-run with save_models: true.")
        raise TransferkitError(f"no model {path.name} in {run}.", saved_models_hint(available))
    return path


def _target_colour(run: Path) -> bool | None:
    """Whether the run's target images were in colour by content (summary.json; older runs:
    by their channel count), or None (vectors)."""
    target = _json_or_empty(run / "summary.json").get("target") or {}
    shape = target.get("input_shape")
    if not (isinstance(shape, list) and len(shape) == 3):
        return None
    return bool(target["colour"]) if "colour" in target else int(shape[0]) in (3, 4)


def _target_colour_and_grey(run: Path) -> bool:
    """Whether the run's target held both colour and grey images (runs before session 33: False)."""
    return bool((_json_or_empty(run / "summary.json").get("target") or {}).get("colour_and_grey"))


def _json_or_empty(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def saved_models_hint(stems: list[str]) -> str:
    """What --method/--shots/--seed can choose among, from model names ``method_k<shots>_seed<seed>``."""
    from transferkit.shots import shots_order

    parts = [m.groups() for s in stems if (m := re.fullmatch(r"(.+)_k(\d+|all)_seed(-?\d+)", s))]
    if not parts:
        return f"choose one of: {', '.join(stems)}."
    methods, shots, seeds = (sorted({p[i] for p in parts}, key=key) for i, key in ((0, str), (1, shots_order), (2, int)))
    hint = (f"choose among the {len(stems)} saved models: --method {{{', '.join(methods)}}}, --shots "
            f"{{{', '.join(shots)}}}, --seed {{{', '.join(seeds)}}}")
    at = {m: sorted({k for n, k, _ in parts if n == m}, key=shots_order) for m in methods}
    if any(len(ks) < len(shots) for ks in at.values()):  # e.g. no scratch at k = 0: the sets alone offered it (a trial)
        hint += "; not every method at every k: " + ", ".join(f"{m} at {'/'.join(ks)}" for m, ks in at.items())
    return hint + "."


def _rows_as_images(x: np.ndarray, run: Path, size, inputs: str, warn, series: bool = False) -> np.ndarray:
    """(N, D) rows for an image model as (N, C, H, W) images: by the run's ``target.image_shape``
    (its target was such a table), else when D is exactly the pixel count of the run's target
    images (grey or RGB, ``size`` = their H x W), with a note; an (H, W) array of exactly that
    size is one image; else ``x`` as it is (refused later with the reshape to use). ``series``:
    the model reads series (the cnn1d), (C, L) sensors by steps, and the notes say so."""
    declared = _run_target(run).get("image_shape")
    if declared:
        from transferkit.evaluate.prepare import image_shape_chw

        shape, whose = image_shape_chw(declared)[0], "the run's image_shape"
    elif size:
        h, w = size
        channels = next((c for c in (1, 3) if c * h * w == x.shape[1]), 1)
        shape, whose = (channels, h, w), "the size of the run's target images"
    else:
        return x
    if tuple(x.shape) == shape[1:] and shape[0] == 1:  # one grey image without its batch axis (np.save of one)
        warn(f"{inputs}: an array of {shape[1]}x{shape[2]}, {whose}, is read as one {'series' if series else 'image'}.")
        return x[None, None]
    if int(np.prod(shape)) != x.shape[1]:
        surplus = x.shape[1] - int(np.prod(shape))
        if 0 < surplus <= 3 and inputs.lower().endswith((".csv", ".tsv")):  # a label or id column beside the pixels
            label = run_columns(run)[0]
            raise TransferkitError(f"{inputs}: its rows have {x.shape[1]} values, {surplus} more than the "
                                   f"{int(np.prod(shape))} of {whose} ({'x'.join(map(str, shape))}): a label or id "
                                   "column among them?",
                                   f"drop the column(s) that are not pixels (a label column named {label!r}, the run's, "
                                   "is left out; name an id column with --id-column).")  # fmt: skip
        if not declared:
            return x
        raise TransferkitError(f"{inputs}: its rows have {x.shape[1]} values, but the run read its target's rows as "
                               f"{'series' if series else 'images'} of {list(declared)} ({int(np.prod(shape))} values).",
                               "give rows of the run's target's columns (the same pixels, in the same order).")  # fmt: skip
    if not declared and series:
        warn(f"{inputs}: each row of {x.shape[1]} values is read as a series of {shape[1]} sensors x {shape[2]} steps, "
             "the run's target series, sensor by sensor (as x.reshape(N, sensors, steps)); give an .npz of shape "
             "(N, sensors, steps) if the rows hold something else.")  # fmt: skip
    elif not declared:
        warn(f"{inputs}: each row of {x.shape[1]} values is read as a {shape[0]}x{shape[1]}x{shape[2]} image, the "
             "size of the run's target images, pixels in row-major order (as x.reshape(N, C, H, W)); give images or "
             "an .npz of shape (N, H, W) if the rows hold something else.")  # fmt: skip
    if declared:
        from transferkit.evaluate.prepare import reshape_rows

        return reshape_rows(x, declared)
    return x.reshape(len(x), *shape)


def _run_target(run_dir: str | Path) -> dict:
    """The ``target`` section of a run's config.yaml ({} without one)."""
    import yaml

    cfg = Path(run_dir) / "config.yaml"
    return ((yaml.safe_load(cfg.read_text()) or {}).get("target") or {}) if cfg.exists() else {}


def run_columns(run_dir: str | Path) -> tuple[str, str]:
    """(label column, text column) of the run's target, so inputs laid out like it read the same."""
    target = _run_target(run_dir)
    return target.get("label_column", "label"), target.get("text_column", "text")


def read_feature_csv(path: Path, label_column: str = "label", columns: list[str] | None = None,
                     width: int | None = None, id_column: str | None = None,
                     ) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """(N, D) features from a CSV/TSV with a header, and the rows' names; a label column, if
    there is one, is dropped.

    ``columns``: the feature names the model was trained on (from its recipe); the CSV's
    columns are matched to them by name, in any order, and other columns (ids, notes) are
    left out with a warning. ``width``: without names, the number of features the model
    reads: the columns are then read by position, which is said, and must be that many.
    ``id_column``: a column whose values name the rows (else their numbers from 0); never
    read as a feature.
    """
    header, body = read_csv_rows(path, known=None if columns is None else {*columns, label_column, id_column} - {None},
                                 unique_names=columns is None)  # by name: repeats matter only among the model's columns
    read = set(columns or ()) | {label_column, id_column}
    twice = sorted(c for c, n in Counter(header).items() if n > 1 and c in read)
    if columns is not None and twice:
        raise TransferkitError(f"{path}: column name(s) it reads used more than once in the header: {twice}.",
                               "give every column its own name (or drop the copies).")  # fmt: skip
    li = header.index(label_column) if label_column in header else None
    ii = _id_index(path, header, id_column, columns)
    skip = {li, ii} - {None}
    if columns is None and width is not None:  # a model trained without column names (an .npz, arrays)
        check_index_columns(path, header, body, skip)
        named = [c for j, c in enumerate(header) if j not in skip]
        shown = f"{named[:5]}{'...' if len(named) > 5 else ''}"
        if len(named) != width:
            raise TransferkitError(
                f"{path} has {len(named)} feature columns ({shown}{f', {len(named)} in all' if len(named) > 5 else ''}), "
                f"but the model reads {width}; it was trained without column names (e.g. on an .npz), so it reads "
                "columns by position.",
                f"keep the {width} columns it was trained on, in their training order (drop notes; name an id "
                "column with --id-column).",
            )
        warnings.warn(f"{path}: the model was trained without column names (e.g. on an .npz), so the columns "
                      f"{shown} are read by position: check that they are in the training order.",
                      TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    if columns and set(columns) - set(header):  # say what is missing before parsing values (an id column's text)
        named = [c for j, c in enumerate(header) if j not in skip]
        order_columns(np.empty((0, len(named)), np.float32), named, columns, str(path), "the model's")
    if columns:  # every column the model reads is here: others are not read
        unused = [j for j, c in enumerate(header) if j not in skip and c not in set(columns)]
        if unused:
            warnings.warn(f"{path}: column(s) the model does not read are left out: "
                          f"{', '.join(repr(header[j]) if header[j].strip() else f'column {j + 1} (no name: a saved index?)' for j in unused[:5])}"
                          f"{' ...' if len(unused) > 5 else ''}.",
                          TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        skip |= set(unused)
    x = csv_features(path, header, body, skip, training=False)
    named = [c for j, c in enumerate(header) if j not in skip]
    names = [r[ii] for r in body] if ii is not None else [str(i) for i in range(len(x))]
    note = id_values_note(path, header[ii], names) if ii is not None else None
    if note:  # predictions named alike, or by nothing, cannot be told apart
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    return (order_columns(x, named, columns, str(path), "the model's") if columns else x), names


def image_files(p: Path, warn=None, check: bool = True) -> list[Path] | None:
    """The image files an input names (a folder, searched recursively, or one image), or None
    for other inputs. ``warn(message)``: where the note on a folder's other files goes
    (default: ``warnings.warn``). ``check``: leave out, with a note, files that cannot be
    read (each is decoded to know); without it the caller reads them with
    ``read_images(unreadable=...)`` and passes what failed to ``readable_ones``, which
    decodes each file once instead of twice."""
    if p.is_dir():
        seen = [f for f in p.rglob("*") if not any(part.startswith(".") for part in f.relative_to(p).parts)]
        files = sorted(f for f in seen if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise TransferkitError(f"{p}: no images found.", f"use files ending in {sorted(IMAGE_SUFFIXES)}.")
        others = [f for f in seen if f.is_file() and f.suffix.lower() not in IMAGE_SUFFIXES]
        if others:  # as a run's folder loader says: they get no prediction (hidden files never mentioned)
            shown = ", ".join(str(f.relative_to(p)) for f in sorted(others)[:3]) + (", ..." if len(others) > 3 else "")
            note = (f"{p}: {len(others)} file(s) are not images and get no prediction ({shown}); images end in "
                    f"{', '.join(sorted(IMAGE_SUFFIXES))}.")  # fmt: skip
            (warn or (lambda m: warnings.warn(m, TransferkitWarning, stacklevel=user_stacklevel())))(note)
        return _readable(p, files, warn) if check else files
    return [p] if p.suffix.lower() in IMAGE_SUFFIXES and p.exists() else None


def _readable(folder: Path, files: list[Path], warn=None) -> list[Path]:
    """The files of a folder that open as images (each decoded), as ``readable_ones`` says."""
    bad = []
    for f in files:
        try:
            open_image(f).close()
        except TransferkitError as e:
            bad.append((f, e.problem))
    return readable_ones(folder, files, bad, warn)


def readable_ones(folder: Path, files: list[Path], bad: list, warn=None) -> list[Path]:
    """``files`` less the unreadable ones in ``bad`` ((file, problem) pairs), which get no
    prediction, with a note naming them (one broken file need not cost the folder's other
    predictions); refused when none is readable."""
    gone = {f for f, _ in bad}
    good = [f for f in files if f not in gone]
    if bad and not good:
        raise TransferkitError(f"{folder}: none of its {len(files)} image file(s) can be read ({bad[0][1].rstrip('.')}).",
                               "check that they are images (not truncated or mislabelled files).")  # fmt: skip
    if bad:
        shown = ", ".join(str(f.relative_to(folder)) for f, _ in bad[:3]) + (", ..." if len(bad) > 3 else "")
        note = (f"{folder}: {len(bad)} image file(s) cannot be read and get no prediction ({shown}; the first: "
                f"{bad[0][1].split(': ', 1)[-1].rstrip('.')}).")  # fmt: skip
        (warn or (lambda m: warnings.warn(m, TransferkitWarning, stacklevel=user_stacklevel())))(note)
    return good


def image_model_inputs(files: list[Path], recipe: Recipe, size: tuple[int, int] | None = None,
                       seen: list | None = None, unreadable: list | None = None) -> torch.Tensor | None:  # fmt: skip
    """Model inputs for image files, prepared as the run prepared its own.

    ``size`` (H, W): the size of the run's target images. A run reads an image folder at its
    most common size, resizing the other images to it, and the recipe takes it from there;
    files here go the same way. Without ``size`` (models saved before it was recorded) each
    file goes from its own size through the recipe, never squeezed to another file's size;
    files of one size and kind go through together. ``seen``: gets the images as read (N, C,
    H, W), one array per group, for checks on what was given. ``unreadable`` (with ``size``):
    files that cannot be read are left out and appended to it, as ``read_images`` does; None
    when no file is left.
    """
    seen = [] if seen is None else seen
    if size is not None:
        seen.append(read_images(files, tuple(size), recipe.shape[0], unreadable, recipe.block_average))
        return apply_recipe(seen[-1], recipe) if len(seen[-1]) else None
    groups: dict = {}
    for i, f in enumerate(files):
        groups.setdefault(image_kind(f), []).append(i)
    out = None
    for idx in groups.values():
        seen.append(read_images([files[i] for i in idx], model_channels=recipe.shape[0]))
        t = apply_recipe(seen[-1], recipe)
        if out is None:
            out = torch.empty((len(files), *t.shape[1:]), dtype=t.dtype)
        out[torch.as_tensor(idx)] = t
    return out


def load_inputs(
    path: str | Path, label_column: str = "label", columns: list[str] | None = None, width: int | None = None,
    id_column: str | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Unlabelled inputs: .npz (``x``), a folder of images (recursively), one image file, or a CSV of features
    (``label_column``, if present, is ignored; ``columns`` matched by name, see read_feature_csv).

    Names: the row number (.npz, CSV), the file's path (images), or for a CSV with
    ``id_column`` that column's values.
    """
    p = Path(path)
    if not p.exists():
        raise TransferkitError(f"input {str(path)!r} does not exist.", "give a .npz, .npy, .csv, an image or a folder of images.")
    if id_column is not None and p.suffix.lower() not in (".csv", ".tsv", ".txt", ".jsonl"):  # texts: said below
        raise TransferkitError(f"--id-column {id_column!r} names a column, but {p.name} has no columns.",
                               "leave --id-column out (rows are named by their number, images by their path), "
                               "or give a .csv/.tsv.")  # fmt: skip
    if p.suffix.lower() == ".npz":
        x = _npz_inputs(p)
        return x, [str(i) for i in range(len(x))]
    if p.suffix.lower() == ".npy":  # one array, x alone: np.save(path, x)
        x = image_layout(_npy_inputs(p).astype(np.float32))
        return x, [str(i) for i in range(len(x))]
    files = image_files(p)  # a folder of images, or one image file
    if files is not None:
        return read_images(files), [str(f.relative_to(p)) if p.is_dir() else f.name for f in files]
    if p.suffix.lower() in (".txt", ".jsonl"):
        raise TransferkitError(f"{p} holds texts, but this model reads images or feature vectors.",
                               "give a .npz, a .csv of features or a folder of images.")  # fmt: skip
    if p.suffix.lower() in (".csv", ".tsv"):
        return read_feature_csv(p, label_column, columns, width, id_column)
    if p.is_file():  # (load_file's refusal of it named the training formats, labelled texts among them)
        raise TransferkitError(f"{p}: predict does not read {p.suffix or 'suffix-less'!s} files.",
                               "give a .npz or .npy (x), a .csv/.tsv of features, an image or a folder of images.")
    domain = load_file(p)
    return domain.x, [str(i) for i in range(len(domain.x))]


def _labels_in_texts(texts: list[str], classes: list[str], where: str, on_warning=None) -> None:
    """A .txt in the training layout (``label<TAB>text``) read as one text per line would put
    each label into its text: refused when every line starts so, warned of when half do."""
    known = set(classes)
    labelled = sum("\t" in t and t.split("\t", 1)[0].strip() in known for t in texts)
    if not texts or labelled < len(texts) / 2:
        return
    problem = (f"{where}: {labelled} of its {len(texts)} lines start with a class name and a tab (label<TAB>text, "
               "the training layout), and predict reads each whole line as the text, label included")
    if labelled == len(texts):
        raise TransferkitError(problem + ".", "give the texts alone, one per line (e.g. cut -f2- FILE), or a "
                                              ".jsonl/.csv with a text column.")  # fmt: skip
    (on_warning or (lambda m: warnings.warn(m, TransferkitWarning, stacklevel=user_stacklevel())))(
        problem + ": drop the labels, or they sway the predictions.")


def _polarity(t, recipe: Recipe, meta: dict, what: str, warn, names: list[str] | None = None) -> None:
    """Warns when inputs are of the other polarity than the run's target images (runs before
    session 16 recorded no background: nothing to compare)."""
    if meta.get("target_border") is not None:
        note = inputs_polarity_note(border_medians(t, recipe.pad), meta["target_border"], what, names,
                                    meta.get("target_border_other"), inverted=recipe.invert,
                                    inks=ink_contrasts(t, recipe.pad), trained_ink=meta.get("target_ink"))  # fmt: skip
        if note:
            warn(note)


def _flagged_negative(summary: dict, meta: dict) -> str | None:
    """A note when the run flagged the chosen model's method and k as negative transfer, or
    when it scored below its baseline there without being flagged (the interval holds 0):
    the deployed method is fixed before any result (never chosen by test accuracy), so it can
    trail the baseline, and predict says so."""
    method, shots = meta.get("method"), meta.get("shots")
    rows = summary.get("results") or []
    base = (summary.get("baseline") or {}).get(str(shots))
    row = next((r for r in rows if r.get("method") == method and r.get("shots") == shots), None)
    ref = next((r for r in rows if r.get("method") == base and r.get("shots") == shots), None)
    if row is not None and row.get("negative_transfer"):
        own = _own_seed(row, ref, base, meta.get("seed"))
        return (f"{method} at k={shots} was flagged as negative transfer in this run (worse than {base or 'its baseline'}"
                f"{own}); choose another model with --method, e.g. --method {base or 'NAME'} (a choice made on this "
                "run's test split: the accuracy the run reports for it is then a little optimistic).")  # fmt: skip
    if not base or base == method or row is None or ref is None:
        return None
    keys = ("gain_vs_scratch", "gain_ci95") if base == "scratch" else (f"gain_vs_{base}", f"gain_vs_{base}_ci95")
    gain, ci = row.get(keys[0]), row.get(keys[1])  # report/summary.py: against scratch, else source_only
    gain = row["accuracy_mean"] - ref["accuracy_mean"] if gain is None else gain
    if gain >= 0:
        return _seed_trails(row, ref, base, meta.get("seed"))
    if ci and None not in ci:  # the interval holds 0: switching on this difference would choose on test noise
        return (f"{method} at k={shots} scored {100 * row['accuracy_mean']:.1f} % in this run, below {base}'s "
                f"{100 * ref['accuracy_mean']:.1f} % ({100 * gain:+.1f} points, 95 % CI [{100 * ci[0]:+.1f}, "
                f"{100 * ci[1]:+.1f}]: not flagged, as the interval holds 0{_own_seed(row, ref, base, meta.get('seed'))}); "
                f"the run cannot tell the two apart, and choosing {base} by this difference would choose on the test "
                "split: more labelled target data (or seeds) would decide.")  # fmt: skip
    return (f"{method} at k={shots} scored {100 * row['accuracy_mean']:.1f} % in this run, below {base}'s "
            f"{100 * ref['accuracy_mean']:.1f} % ({100 * gain:+.1f} points: no interval to judge it by (one seed?), so "
            f"not flagged{_own_seed(row, ref, base, meta.get('seed'))}); --seeds 3 or more would say whether it is noise.")  # fmt: skip


def _below_source_model(summary: dict, meta: dict) -> str | None:
    """A note when the run found the chosen model's method and k below the unadapted source
    model (``source_only``), its gain over it paired by seed wholly below 0 (report/summary.py
    ``below_unadapted``): beside scratch it may look like a gain, yet not adapting did better."""
    method, shots = meta.get("method"), meta.get("shots")
    row = next((r for r in summary.get("results") or [] if r.get("method") == method and r.get("shots") == shots), None)
    if row is None or not row.get("below_unadapted"):
        return None
    ci = row.get("gain_vs_unadapted_ci95") or [None, None]
    said = (f" ({points(row['gain_vs_unadapted'], '+')} points, 95 % CI [{points(ci[0], '+')}, {points(ci[1], '+')}])"
            if None not in ci and row.get("gain_vs_unadapted") is not None else "")  # fmt: skip
    return (f"{method} at k={shots} scored below the source model as it is (source_only) in this run{said}: adapting "
            f"the source to the target made it worse than not adapting it; --method source_only uses it unadapted (a "
            "choice made on this run's test split: the accuracy the run reports for it is then a little optimistic).")  # fmt: skip


def _seed_accuracy(row: dict | None, seed) -> float | None:
    """A results row's accuracy for ``seed`` (None when the row lacks it)."""
    seeds, accs = (row or {}).get("seeds") or [], (row or {}).get("accuracies") or []
    return accs[seeds.index(seed)] if seed in seeds and len(accs) == len(seeds) else None


def _own_seed(row: dict, ref: dict | None, base: str | None, seed) -> str:
    """``; the model used here, seed S's, scored X % against BASE's Y % on the same seed`` (empty
    with one seed, or without the number): the mean is the method's over the run's seeds; the
    deployed model is one seed's, and its own accuracy is its honest estimate."""
    own, other = _seed_accuracy(row, seed), _seed_accuracy(ref, seed)
    if own is None or len(row.get("seeds") or []) < 2:
        return ""
    versus = f" against {base}'s {100 * other:.1f} % on the same seed" if other is not None else ""
    return f"; the model used here, seed {seed}'s, scored {100 * own:.1f} %{versus}"


def _classes_missed(summary: dict, meta: dict) -> str | None:
    """A note when the run's model of this method and k got none of a class's test examples right on any
    seed, or lost balanced accuracy to its baseline significantly (a trial's collapsed source_only: every
    input of 61 predicted as the majority class, and predict said nothing; the run's report had)."""
    method, shots = meta.get("method"), meta.get("shots")
    row = next((r for r in summary.get("results") or [] if r.get("method") == method and r.get("shots") == shots), None)
    if row is None:
        return None
    counts = (summary.get("target") or {}).get("test_per_class") or {}
    missed = [c for c, a in (row.get("per_class_accuracy") or {}).items() if a == 0.0 and counts.get(c)]
    if missed:
        said = ", ".join(f"{c!r} (0 of {counts[c]})" for c in missed[:5]) + (", ..." if len(missed) > 5 else "")
        return (f"{method} at k={shots} classified none of these classes' test examples correctly in this run, on any "
                f"seed: {said}; its predictions of them cannot be trusted (the run's report.md has each class's "
                "accuracy).")  # fmt: skip
    from transferkit.report.markdown import imbalanced
    from transferkit.report.summary import balanced_negative

    name = f"{method} at k={shots}"
    if balanced_negative(row) and imbalanced(summary):  # (the row itself: k = 0's names add "(vs source_only)")
        ci = row["balanced_gain_ci95"]
        return (f"{name} lost balanced accuracy to its baseline in this run ({points(row['balanced_gain'], '+')} points, "
                f"95 % CI [{points(ci[0], '+')}, {points(ci[1], '+')}]) on an imbalanced test split: its smaller classes "
                "fare worse than the baseline's, which its accuracy hides.")  # fmt: skip
    return None


def _overconfident(summary: dict, meta: dict) -> str | None:
    """A note when the run found the model's method and k far surer than right on its test
    split (report/markdown.py, OVERCONFIDENT): the probabilities written are then no chances."""
    from transferkit.report.markdown import OVERCONFIDENT

    row = next((r for r in summary.get("results") or [] if r.get("method") == meta.get("method")
                and r.get("shots") == meta.get("shots")), None)  # fmt: skip
    if row is None or row.get("mean_confidence") is None or row["mean_confidence"] - row["accuracy_mean"] < OVERCONFIDENT:
        return None
    return (f"{row['method']} at k={row['shots']} was overconfident in this run: its top probability averaged "
            f"{100 * row['mean_confidence']:.0f} % on the test split, where it was right {100 * row['accuracy_mean']:.1f} % "
            "of the time; read the probabilities below as a ranking, not as chances of being right.")


def _seed_trails(row: dict, ref: dict, base: str, seed) -> str | None:
    """The model predict uses is one seed's; a note when that seed's model scored below the
    baseline's model of the same seed (same labelled examples) although the method's mean
    over the run's seeds did not: its own test accuracy is the honest estimate of the model
    in use. No other seed is suggested: picking a seed by these numbers chooses on the test split."""
    own, other = _seed_accuracy(row, seed), _seed_accuracy(ref, seed)
    if own is None or other is None or own >= other or len(row.get("seeds") or []) < 2:
        return None
    return (f"{row['method']} at k={row['shots']} scored {100 * row['accuracy_mean']:.1f} % on average over the run's "
            f"{len(row['seeds'])} seeds, at or above {base}'s {100 * ref['accuracy_mean']:.1f} %, but the model used "
            f"here, seed {seed}'s, scored {100 * own:.1f} % against {base}'s {100 * other:.1f} % on the same seed "
            f"(choosing another seed by these test scores would choose on the test split).")


def _eight_bit(p: Path) -> bool:
    """Whether an .npz holds 8-bit images, 0..255 by their type: x is uint8 (the rule training
    data follows too, see README). Image files are 0..255 too; `predict` reads them apart."""
    if p.suffix.lower() == ".npy":
        return np.load(p, mmap_mode="r", allow_pickle=False).dtype == np.uint8  # the header only
    if p.suffix.lower() == ".npz":  # the dtype from x's header: the array itself is read once, by load_inputs
        import zipfile

        with zipfile.ZipFile(p) as z, z.open("x.npy") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            _, _, dtype = read_header(f)
        return dtype == np.uint8
    return False


def _npy_inputs(p: Path) -> np.ndarray:
    """The array of a .npy, numeric, as stored (its dtype gives its range)."""
    try:
        x = np.load(p, allow_pickle=False)
    except ValueError as e:  # an object array needs pickle; or not a .npy at all
        raise TransferkitError(f"{p}: cannot read it as a numpy array ({e}).",
                               "save the inputs with numpy.save(path, x), x an array of numbers.") from None  # fmt: skip
    if x.dtype.kind not in "fiub":
        raise TransferkitError(f"{p}: its array has non-numeric dtype {x.dtype}.", "store numbers in it.")
    return x


def _npz_inputs(p: Path) -> np.ndarray:
    """The array ``x`` of an .npz, as float32 (N, C, H, W) images or (N, D) vectors."""
    x = npz_inputs(read_npz(p, ("x",), "numpy.savez(path, x=inputs)"), p)
    return image_layout(x.astype(np.float32))


def scale_warning(x: np.ndarray, recipe: Recipe, trained_on: str = "the model was trained on",
                  kind: str = "images") -> str | None:
    """A note when images are clearly on another scale than the model's (e.g. 0..1 or 0..16
    given to a model trained on 0..255): they would be read as near-black, and every
    prediction would be confident and wrong; and when vectors lie far outside the values it
    was trained on, column by column (data/column_ranges.py). None when they look alike."""
    lo, hi = recipe.value_range
    span = hi - lo
    if span <= 0 or x.size == 0:
        return None
    if len(recipe.shape) != 3 and recipe.column_ranges:  # vectors: column by column (one column in other units)
        return column_note(x, recipe.column_ranges, recipe.columns, trained_on, fallback_span=span,
                           heavy=recipe.heavy_columns)  # fmt: skip
    if len(recipe.shape) != 3:  # (models saved without column ranges) the bulk of the values far outside the
        q_lo, q_hi = (float(v) for v in np.quantile(x, [0.01, 0.99]))  # training range; percentiles: one long tail is no unit change
        if q_lo < lo - 0.5 * span or q_hi > hi + 0.5 * span:
            return (f"98 % of the input values lie in {q_lo:.3g}..{q_hi:.3g}, far outside the {lo:.3g}..{hi:.3g} the "
                    "model was trained on; if they are in other units or scaled differently, bring them to that "
                    "scale first.")  # fmt: skip
        if q_hi - q_lo < NARROW * span and len(x) >= 2 and float(np.ptp(x)) > 0:  # x 0.01, or z-normalised vs raw
            return (f"98 % of the input values lie in {q_lo:.3g}..{q_hi:.3g}, {100 * (q_hi - q_lo) / span:.1g} % of the "
                    f"{lo:.3g}..{hi:.3g} the model was trained on: read on that scale they are nearly constant; if they "
                    "are in other units or were standardised differently, bring them to that scale first.")  # fmt: skip
        return None
    xmin, xmax = float(x.min()), float(x.max())
    if xmax < lo + 0.1 * span or xmin < lo - 0.5 * span or xmax > hi + 0.5 * span:
        return (f"the inputs span {xmin:.3g}..{xmax:.3g}, but the model was trained on {kind} in {lo:.3g}..{hi:.3g}; "
                "if they are on another scale, rescale them to that range first.")  # fmt: skip
    return None


def own_range_note(name: str, own: tuple, hi: float, how: str, model: str = "a model whose training images were on",
                   top: float | None = None) -> str:
    """What predict and the API say when they read float images on ``own`` (0..1, or 8-bit's 0..255)
    beside a model of 0..``hi`` (``top``: their largest value; ``how``: how to give them on the
    model's scale instead; ``model``: how the model's scale is named)."""
    if own[1] == 1.0:
        return (f"{name}: float images in 0..1 beside {model} 0..{hi:g}: read on their own range, 0..1, as "
                f"`transferkit run` reads a float array ({how}).")
    top = own[1] if top is None else top
    return (f"{name}: float images in 0..{top:.4g} beside {model} 0..{hi:g}: read as 8-bit values on 0..255, their "
            f"scale by every sign (on the model's they would be far brighter than anything it saw; {how}).")


def own_float_range(x: np.ndarray, value_range) -> tuple[float, float] | None:
    """The fixed range to read float images on when they are clearly on another scale than the
    model's 0..N; None otherwise (read on the model's, with a warning where they are off it).

    - all within 0..1 for a model of N >= 2 (e.g. 0..16 digits, 0..255 photos; not 0..1.2): on
      the model's scale they would be dark, at most half its range, often one class for all: 0..1,
      as `run` reads a float array (0 to its maximum, at least 1);
    - within 0..255 with most images' brightest value over 4 N (0..255 floats for a model fitted
      on 0..1 or on 0..16; 0.31 against 0.89 accuracy in a new user's trial): 8-bit values stored
      as floats, read on 0..255. Judged on the median image's maximum, and read on a fixed range,
      so one bright pixel neither decides it nor rescales the other images of the batch; a unit
      change is a factor of 16 or more, so 1.5 N to 4 N (sharpened or noisy copies) is only warned of."""
    lo, hi = (float(v) for v in value_range)
    if x.dtype.kind != "f" or x.size == 0 or lo != 0.0 or hi <= 0 or float(x.min()) < 0.0:
        return None
    top = float(x.max())
    if hi >= 2.0 and top <= 1.0:
        return (0.0, 1.0)
    typical = float(np.median(np.asarray(x).reshape(len(x), -1).max(1))) if x.ndim > 1 else top
    if top <= 255.0 and typical > 4.0 * hi:
        return (0.0, 255.0)
    return None


def _scale_reference(run: Path) -> str:
    """Whose values a run's vector inputs are compared with: the source's where the run had
    source data (its scale is every model's, adapted ones included), else the training data's."""
    try:
        had_source = bool(json.loads((run / "summary.json").read_text(encoding="utf-8")).get("source"))
    except (OSError, ValueError):
        had_source = False
    return "the source holds (the scale this run's models read)" if had_source else "the model was trained on"


def _id_index(path: Path, header: list[str], id_column: str | None, columns: list[str] | None) -> int | None:
    """Where ``id_column`` is in ``header`` (None without one); refused when absent or a feature."""
    if id_column is None:
        return None
    if id_column not in header:
        shown = f"{header[:8]}{'...' if len(header) > 8 else ''}"
        raise TransferkitError(f"{path}: no column {id_column!r}, the --id-column (columns: {shown}).",
                               "give the name of the column that names each row, or leave --id-column out "
                               "to name rows by their number.")  # fmt: skip
    if columns and id_column in columns:
        raise TransferkitError(f"{path}: {id_column!r}, the --id-column, is a feature the model was trained on.",
                               "give a column that only names the rows, or leave --id-column out.")  # fmt: skip
    return header.index(id_column)


def _first_keys(path: Path) -> set[str]:
    """The keys of a .jsonl file's first object (empty when it has none or cannot be read)."""
    try:
        with path.open(encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        obj = json.loads(first) if first else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return set()  # said by the text reader, with its own words
    return set(obj) if isinstance(obj, dict) else set()


def predict(
    run_dir: str | Path, inputs: str | Path, out: str | Path | None = None, on_warning=None,
    text_column: str | None = None, id_column: str | None = None, proba: bool = False, **which,
) -> list[dict]:
    """Predictions of the run's deployed model (or ``which``: method, shots, seed) for ``inputs``.

    ``proba``: each row also holds every class's probability, as ``p_<class name>`` (to set your own
    threshold for a rare class; the top class's alone was written, a trial of imbalanced targets).

    ``on_warning(message)`` receives notes such as inputs on another scale (default: ``warnings.warn``).
    ``text_column``: the CSV column or JSON key of the texts (default: the run's ``target.text_column``).
    ``id_column``: a CSV column (or JSON key) whose values name the predictions, in their
    ``input`` field, instead of the row (line) numbers; it is never read as a feature.
    """
    if not isinstance(inputs, (str, os.PathLike)):
        texts = isinstance(inputs, (list, tuple)) and len(inputs) > 0 and all(isinstance(t, str) for t in inputs)
        raise TransferkitError(
            f"inputs must be the path of a file or folder, got a {type(inputs).__name__}"
            + (" of texts." if texts else "."),
            "save them one per line to a .txt (or a .csv or .jsonl), or use "
            "TransferClassifier.load('RUN/models/NAME').predict(texts)." if texts else
            "save them to a file (.npz, .csv, images), or for arrays use "
            "TransferClassifier.load('RUN/models/NAME').predict(X).",
        )
    warn = on_warning or (lambda m: warnings.warn(m, TransferkitWarning, stacklevel=user_stacklevel()))  # at predict's caller
    if not Path(inputs).exists():  # before seconds of loading the model (a pretrained encoder: many)
        raise TransferkitError(f"input {str(inputs)!r} does not exist.",
                               "give a .npz, .npy, .csv, an image or a folder of images (texts: .csv, .jsonl, .txt).")  # fmt: skip
    if out is not None:
        check_out_file(out, run_dir, inputs=inputs)
    path = model_path(run_dir, **which)
    meta = read_model_json(path)
    summary = json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
    # what the run found of this model: said once the inputs are read and predicted (an error stays one line)
    history = [n for n in (_flagged_negative(summary, meta), _below_source_model(summary, meta),
                           _classes_missed(summary, meta), _overconfident(summary, meta)) if n]  # fmt: skip
    model = TransferModel.load(path)
    label_column, run_text_column = run_columns(run_dir)
    run_id = _run_target(run_dir).get("id_column")  # the run's id column names a CSV's rows, when it has it
    if id_column is None and run_id and Path(inputs).suffix.lower() in (".csv", ".tsv") and run_id in csv_header(Path(inputs)):
        id_column = run_id
    elif id_column is None and run_id and Path(inputs).suffix.lower() == ".jsonl" and _first_keys(Path(inputs)) >= {run_id}:
        id_column = run_id  # a .jsonl of texts whose lines carry the run's id key
    given_text_column = text_column is not None
    whose = "the column --text-column names" if text_column else "the text column the model was trained with"
    text_column = text_column or run_text_column
    if meta["recipe"].get("kind") == "text":  # texts, tokenised by the pretrained source's tokenizer
        from transferkit.data.text import TextRecipe, count_truncated, load_text_inputs, tokenize, truncation_note

        recipe = TextRecipe(**meta["recipe"])
        tokenizer = getattr(model.shared, "tokenizer", None) or recipe.tokenizer()  # scratch text models have none
        if given_text_column and Path(inputs).suffix.lower() == ".txt":  # as --id-column is: nothing to name
            raise TransferkitError(f"--text-column {text_column!r} names a column, but {Path(inputs).name} has no "
                                   "columns (one text per line).",
                                   "leave --text-column out, or give a .csv or .jsonl with that column.")  # fmt: skip
        texts, names = load_text_inputs(inputs, text_column, whose, id_column)
        if Path(inputs).suffix.lower() == ".txt":
            _labels_in_texts(texts, model.classes, str(inputs), on_warning)
        note = truncation_note(count_truncated(tokenizer, texts, recipe.max_length), len(texts), recipe.max_length)
        if note:  # a verdict at the end of a long text would not count: say so
            warn(note)
        probs = predict_proba(model, tokenize(tokenizer, texts, recipe.max_length))
    else:
        if given_text_column:  # given, and nothing here reads texts
            raise TransferkitError(f"--text-column {text_column!r} names a column of texts, and this model reads "
                                   f"{'images' if len(meta['input_shape']) == 3 else 'numbers'}, not texts.",
                                   "leave --text-column out.")  # fmt: skip
        recipe = Recipe.from_dict(meta["recipe"])
        trained = _target_colour(Path(run_dir))  # what the run's target images were, not the model's input
        both = _target_colour_and_grey(Path(run_dir))  # ... both kinds: neither is new to it
        size = meta.get("image_size")  # known: each file is decoded once, unreadable ones left out as read
        files = image_files(Path(inputs), warn, check=size is None) if len(recipe.shape) == 3 else None
        if files is not None and id_column is not None:
            raise TransferkitError(f"--id-column {id_column!r} names a column, but {inputs} holds image files.",
                                   "leave --id-column out: image predictions are named by their file paths.")  # fmt: skip
        if files is not None:  # image files (0..255): to the size of the run's target images, then the recipe
            eight_bit_recipe = dataclasses.replace(recipe, value_range=(0.0, 255.0))
            read: list = []
            bad: list = []
            t = image_model_inputs(files, eight_bit_recipe, size, read, bad if size is not None else None)
            if Path(inputs).is_dir():
                files = readable_ones(Path(inputs), files, bad, warn)  # refused when none is
            elif bad:  # one image file: its own error
                raise TransferkitError(bad[0][1], "remove or replace the file.")
            note = (next((n for n in (channels_note(r, trained, recipe.shape[0], str(inputs), both) for r in read) if n), None)
                    if trained is not None else None)  # fmt: skip
            if note:
                warn(note)
            root = Path(inputs)
            names = [str(f.relative_to(root)) if root.is_dir() else f.name for f in files]  # as load_inputs names them
            note = blank_note(read, str(inputs), names if len(read) == 1 else None)
            if note:
                warn(note)
            _polarity(t, recipe, meta, str(inputs), warn, names)
            probs = predict_proba(model, t)
        else:
            width = recipe.shape[0] if len(recipe.shape) == 1 and not recipe.columns else None  # read by position
            x, names = load_inputs(inputs, label_column, list(recipe.columns) if recipe.columns else None, width,
                                   id_column)  # fmt: skip
            if recipe.columns and Path(inputs).suffix.lower() in (".npz", ".npy"):  # no names to match by
                shown = f"{list(recipe.columns[:5])}{'...' if len(recipe.columns) > 5 else ''}"
                warn(
                    f"{inputs}: the model was trained on named columns {shown} and an {Path(inputs).suffix.lower()} has "
                    "no names, so its "
                    "columns are read by position: check that they are in that order (or give a CSV with the names).")  # fmt: skip
            if len(recipe.shape) == 3 and x.ndim == 2:  # a table of pixels for an image model
                x = _rows_as_images(x, Path(run_dir), meta.get("image_size"), str(inputs), warn,
                                    reads_series(recipe.shape, model.config.get("architecture", "auto")))  # fmt: skip
                names = names if len(names) == len(x) else [str(i) for i in range(len(x))]  # one (H, W) image: "0"
            if len(recipe.shape) == 1 and x.ndim == 1 and len(x) == recipe.shape[0] > 1:  # np.save of one example
                warn(f"{inputs}: one array of {len(x)} values, the model's {len(x)} features, is read as one example.")
                x, names = x[None], ["0"]
            if not np.isfinite(x).all():
                bad = ~np.isfinite(x.reshape(len(x), -1)).all(1)
                padded = nan_padded(x)  # series of unequal lengths, NaN-padded: say so, with the fix that works
                raise TransferkitError(f"{inputs}: {int(bad.sum())} input(s) contain NaN or Inf values, the first "
                                       f"{names[int(np.argmax(bad))]!r}" + (PADDED[padded] if padded else "."),
                                       PADDED_FIX if padded else "remove or impute them.")  # fmt: skip
            size = meta.get("image_size")
            turned = turned_note(tuple(x.shape[-2:]), tuple(size), reads_series(tuple(recipe.shape), model.config.get(
                "architecture", "auto"))) if len(recipe.shape) == 3 and size and x.ndim == 4 else None  # fmt: skip
            if turned:  # the run's target images, not the model's input: what predict's inputs should look like
                raise TransferkitError(f"{inputs} {turned[0].replace('the model reads', 'the run trained on')}",
                                       turned[1])  # fmt: skip
            if len(recipe.shape) == 3 and x.ndim == 4:  # series of other channels or length: refused, not resized
                series_size_check(str(inputs), tuple(x.shape[-2:]), tuple(recipe.shape), model.config.get("architecture", "auto"))
            other = len(recipe.shape) == 3 and size and x.ndim == 4 and tuple(x.shape[-2:]) != tuple(size)
            if other and recipe.block_average and all(a % b == 0 for a, b in zip(x.shape[-2:], size, strict=True)):  # a whole factor larger (56x56 beside 28x28): each block averaged to the run's size, as an image
                # file of that size is read (files.read_images), then the run's own recipe: the run's path exactly
                x = fit_size(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), tuple(size)).numpy()
            elif other:
                warn(
                    f"{inputs}: its images are {x.shape[-2]}x{x.shape[-1]} pixels, the run's target images "
                    f"{size[0]}x{size[1]}; they are resized to the model's input as the run's were, but a model "
                    "reads other sizes differently: resize them to the run's size first for its accuracy.")  # fmt: skip
            # series (the cnn1d) are read on the run's recorded range, the source's, whatever their dtype or span
            picture = len(recipe.shape) == 3 and not reads_series(recipe.shape, model.config.get("architecture", "auto"))
            eight_bit = picture and _eight_bit(Path(inputs))
            if eight_bit:
                # uint8 arrays are 0..255, whatever scale the training arrays had (e.g. 0..16):
                # that range, not the training data's, maps them to the model's [0, 1]
                recipe = dataclasses.replace(recipe, value_range=(0.0, 255.0))
            elif picture and (own := own_float_range(x, recipe.value_range)) is not None:
                hi = recipe.value_range[1]
                warn(own_range_note(str(inputs), own, hi, f"to be read on the model's scale, save them as uint8 0..255 "
                                                          f"or as floats on 0..{hi:g}", top=float(x.max())))  # fmt: skip
                recipe = dataclasses.replace(recipe, value_range=own)
            checked, reference = recipe, _scale_reference(Path(run_dir))
            if meta.get("fit_range"):  # the run's target was off the source's scale, and its models trained on it
                checked = dataclasses.replace(recipe, value_range=tuple(meta["fit_range"]),
                                              column_ranges=tuple(tuple(r) for r in meta["fit_column_ranges"])
                                              if meta.get("fit_column_ranges") else None)  # (series: none)  # fmt: skip
                reference = "the source and the run's target (its rows outside the test split) hold"
            note = (small_uint8_note(x, f"{inputs}: x", "save x as float32") if eight_bit  # uint8: known scale
                    else scale_warning(x, checked, reference, "images" if picture else "series"))  # fmt: skip
            note = f"{inputs}: {note}" if note and not eight_bit else note  # which file, as its other notes say
            if note:
                warn(note)
            note = channels_note(x, trained, recipe.shape[0], str(inputs), both) if trained is not None and len(recipe.shape) == 3 else None
            if note:
                warn(note)
            note = alpha_note(x, recipe.shape[0], str(inputs)) if len(recipe.shape) == 3 else None
            if note:  # an array's 4th channel (an image file's alpha is laid on a sheet as it is read)
                warn(note)
            dims = [d for d in x.shape[1:] if d != 1]  # (N, 1, L) is L values in a row: flattened as they are
            if len(recipe.shape) == 1 and len(dims) > 1 and math.prod(dims) == recipe.shape[0]:  # (N, 6, 100) for 600 features: in which order?
                warn(f"{inputs}: its examples are {'x'.join(map(str, dims))} arrays; the model reads vectors of "
                     f"{recipe.shape[0]} features, so each is flattened row by row: check that the run's examples "
                     "were laid out so (or store x as (N, D)).")  # fmt: skip
            t = apply_recipe(x, recipe)
            if len(recipe.shape) == 3:
                note = blank_note([x], str(inputs), names) if x.ndim == 4 else None
                if note:
                    warn(note)
                _polarity(t, recipe, meta, str(inputs), warn, [str(n) for n in names])
            probs = predict_proba(model, t)
    for note in history:
        warn(note)
    conf, idx = probs.max(1)
    rows = [{"input": n, "class_index": int(i), "class_name": model.classes[int(i)], "probability": float(c)}
            for n, i, c in zip(names, idx, conf, strict=True)]  # fmt: skip
    if proba:
        every = probs.cpu().numpy()
        for row, p in zip(rows, every, strict=True):
            row.update({f"p_{name}": float(v) for name, v in zip(model.classes, p, strict=True)})
    if out is not None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")  # as printed to stdout
        w.writeheader()
        w.writerows(rows)
        write_text(out, buf.getvalue())
    return rows
