"""User data: ``.npz`` arrays, image folders ``root/<class>/<image>``, and CSV tables."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import unicodedata
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from transferkit.data.domain import PADDED_FIX, Domain, nan_padded
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                  ".pgm", ".ppm", ".pbm", ".pnm"}  # netpbm: how many digit and face data sets ship  # fmt: skip


def load_file(path: str | Path, label_column: str = "label", text_column: str = "text",
              id_column: str | None = None, only_columns: list[str] | None = None) -> Domain:  # fmt: skip
    """Load a user data set, choosing the reader from what ``path`` is."""
    p = Path(path)
    if not p.exists():
        raise TransferkitError(
            f"data file {str(path)!r} does not exist.",
            "give a built-in domain name (see `transferkit list`) or an existing .npz, .csv/.tsv, image folder, or "
            "texts in a .txt or .jsonl.",
        )
    from transferkit.data.text import TEXT_SUFFIXES, has_text_column, load_text_file

    suffix = p.suffix.lower()  # DATA.CSV is a CSV
    texts = suffix in TEXT_SUFFIXES or (suffix in (".csv", ".tsv") and has_text_column(p, text_column))
    if id_column is not None and texts and suffix in (".csv", ".tsv", ".jsonl"):
        # a text table's rows: never read anyway, but kept so that `predict` names a CSV's rows by it
        if id_column in (text_column, label_column):
            raise TransferkitError(f"id_column {id_column!r} is {p.name}'s {'text' if id_column == text_column else 'label'} "
                                   "column.", "name a column that only names the rows, or leave id_column out.")  # fmt: skip
        if suffix != ".jsonl" and id_column not in csv_header(p):
            raise TransferkitError(f"{p}: no column {id_column!r}, the id_column (columns: {csv_header(p)[:8]}).",
                                   "name one of its columns, or leave id_column out.")  # fmt: skip
    elif id_column is not None and (texts or suffix not in (".csv", ".tsv")):
        raise TransferkitError(f"id_column {id_column!r} names a column of a CSV (or a key of a .jsonl of texts), "
                               f"and {p.name} is {'a text file without columns' if texts else 'not a CSV'}.",
                               "leave id_column out.")  # fmt: skip
    if texts:
        return load_text_file(p, label_column, text_column)
    if suffix in (".csv", ".tsv") and text_column != "text":  # a column named for texts that is not there
        header = read_csv_rows(p)[0]
        raise TransferkitError(f"{p}: no text column {text_column!r}, the text column named for it (columns: "
                               f"{header[:8]}{'...' if len(header) > 8 else ''}).",
                               "name the column that holds the texts (`text_column:` in the experiment file, "
                               "`--text-column` for rank), or leave it out for a CSV of numeric features.")  # fmt: skip
    if p.is_dir():
        run = next((r for r in (p, p.parent, p.parent.parent) if (r / "summary.json").is_file()), None)
        if run is not None and (p == run or run / "models" in (p, p.parent)):  # a run folder, or its models/
            raise TransferkitError(
                f"{p} is {'a transferkit run folder' if p == run else f'inside the transferkit run folder {run}'} "
                "(its summary.json), not a data set.",
                "give the data the run read (its config.yaml names them): a source trained with the same `source:` "
                "section is taken from the cache, not trained again; `transferkit rank --model RUN` scores a run's "
                "model as a source, and a few-shot experiment uses it as it is with `source: {model: RUN}`.")  # fmt: skip
        return load_image_folder(p)
    if suffix == ".npz":
        return load_npz(p)
    if suffix in (".csv", ".tsv"):
        return load_csv(p, label_column, id_column, only_columns)
    if suffix in IMAGE_SUFFIXES:  # said "unsupported file type '.PNG'" of a type the folders read
        raise TransferkitError(f"{p} is one image, not a data set.",
                               f"give the folder that holds it in a class folder, root/<class>/<image> (here perhaps "
                               f"{p.parent.parent}), or an .npz or a .csv of many examples.")  # fmt: skip
    raise TransferkitError(
        f"{p}: unsupported file type {p.suffix!r}.",
        "use a .npz, a .csv/.tsv or an image folder; texts: .txt (label<TAB>text), .jsonl or a .csv/.tsv with a text "
        "column (a tab-separated file of another name: rename it .tsv).",
    )


def _labels(raw: np.ndarray, name: str) -> np.ndarray:
    if raw.dtype.kind == "f":
        if not np.isfinite(raw).all() or not np.all(raw == np.round(raw)):
            raise TransferkitError(
                f"{name}: labels must be integers; found non-integer values such as "
                f"{float(raw[~np.isfinite(raw) | (raw != np.round(raw))][0])}.",
                "store y as integer class indices 0..C-1.",
            )
        return raw.astype(np.int64)
    if raw.dtype.kind not in "iu":
        raise TransferkitError(
            f"{name}: labels must be integers, got dtype {raw.dtype}.",
            "store y as integer class indices 0..C-1 and names in `classes`.",
        )
    return raw.astype(np.int64)


def one_spelling_per_number(texts, numbers, where: str) -> None:
    """Refuses labels written differently that read as one number ('01' and '1', '1e0' and '1'):
    read as numbers they were silently one class, where an image folder's '01/' and '1/' are two.
    A whole number written with a decimal point ('1.0', as spreadsheets write it) is still '1'."""
    seen: dict = {}
    for text, number in dict.fromkeys(zip(texts, numbers, strict=True)):
        first = seen.setdefault(number, text)
        if re.sub(r"\.0*$", "", first.lstrip("+")) != re.sub(r"\.0*$", "", text.lstrip("+")):
            raise TransferkitError(
                f"{where}: the labels {first!r} and {text!r} are written differently but read as the same number, "
                f"so they would be one class.",
                "write one class's label the same way throughout; if they are two classes, give them names "
                "(e.g. 'c01' and 'c1').",
            )


def _named_labels(raw: np.ndarray, has_classes: bool, path: Path) -> tuple[np.ndarray, bool]:
    """String labels of an .npz, stripped: whole numbers ('1', '2': aeon's y) as integers, as a
    CSV's are (``named`` False), else the names themselves (``named`` True)."""
    if raw.ndim > 1:  # as for numbers: one label per example, not a table of them
        raise TransferkitError(f"{path}: y has shape {raw.shape}; it needs one label per example.",
                               "save y as a 1-D array of class names or numbers.")  # fmt: skip
    try:  # bytes (dtype S): UTF-8, as numpy writes names like 'café' when encoded
        text = np.char.decode(raw, "utf-8") if raw.dtype.kind == "S" else raw.astype(str)
    except UnicodeDecodeError:
        raise TransferkitError(f"{path}: y holds bytes that are not UTF-8 text.",
                               "save y as str (numpy 'U' dtype) names or integer labels.") from None  # fmt: skip
    names = np.char.strip(text)  # "Mix " is "Mix", as in a CSV
    if (names == "").any():
        raise TransferkitError(f"{path}: {int((names == '').sum())} label(s) in y are empty (the first at index "
                               f"{int(np.argmax(names == ''))}).", "give every example a class name, or remove it.")  # fmt: skip
    try:
        numbers = [int(v) for v in names]
    except ValueError:
        pass
    else:
        one_spelling_per_number(names.tolist(), numbers, f"{path}: y")
        return np.asarray(numbers, dtype=np.int64), False
    if has_classes:
        raise TransferkitError(f"{path}: y holds class names and `classes` lists them too, so which is which is "
                               "unclear.", "save y as indices into `classes`, or leave `classes` out.")  # fmt: skip
    return names, True


def value_range(x: np.ndarray, dtype: np.dtype | None = None) -> tuple[float, float]:
    """The natural range of stored values, mapped to [0, 1] before the model sees them.

    ``uint8`` data is 0..255. Other non-negative data runs from 0 to its maximum (at least
    1): sklearn's 4-bit digits (0..16) are 0..16 whether stored as whole numbers or with
    noise, so a source and a noisy copy of it are scaled alike. Whether the values are
    whole numbers says nothing about their range, and is not used. Data with negative
    values uses its observed minimum and maximum.
    """
    if dtype is not None and np.dtype(dtype) == np.uint8:
        return (0.0, 255.0)
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0:
        return (0.0, max(hi, 1.0))
    return (lo, hi if hi > lo else lo + 1.0)


RANGE_FROM_DATA = "range_from_data"  # Domain.meta key: value_range was measured on x, not fixed by its dtype
UNLABELLED = ("labels are needed even at shots: 0, to score the methods on the test split; to adapt to unlabelled "
              "inputs without scoring, use the Python API: TransferClassifier(METHOD).pretrain(X_source, y_source)"
              ".fit(None, None, X_unlabelled=x), docs/domain_adaptation.md")
CLASSES_FROM_LABELS = "classes_from_labels"  # Domain.meta key: no class names in the file; named by label value


def range_of_rows(domain: Domain, rows: np.ndarray) -> Domain:
    """``domain`` with its value range measured on ``rows`` only (the training pool), when
    the range came from the data: held-out test inputs must not set the scale of the inputs
    the models see (one bright test pixel would rescale every image). Fixed ranges (uint8,
    built-in domains) are kept."""
    if not domain.meta.get(RANGE_FROM_DATA) or len(rows) == 0:
        return domain
    x = domain.x[rows]
    if not np.isfinite(x).all():
        return domain  # Domain's checks name the problem
    return Domain(domain.name, domain.x, domain.y, domain.classes, value_range(x), domain.meta)


CHANNEL_COUNTS = (1, 3, 4)  # grey, RGB, RGBA


def image_layout(x: np.ndarray) -> np.ndarray:
    """Arrays of images as (N, C, H, W): (N, H, W) gains a channel axis; channels-last.

    (N, H, W, C) with C = 1, 3 or 4 (what ``np.asarray(PIL image)`` stacks to) is
    transposed when axis 1 cannot be a channel axis, so the common mistake of saving
    channels-last images does not silently train on scrambled pixels. Anything else is
    returned as it is.
    """
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[-1] in CHANNEL_COUNTS and x.shape[1] not in CHANNEL_COUNTS:
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return x


def read_npz(path: Path, keys: tuple[str, ...], save_as: str):
    """The opened .npz, checked to hold ``keys``; ``save_as`` is how the fix says to save it."""
    try:
        data = np.load(path, allow_pickle=False)
        files = data.files
    except Exception as e:  # numpy raises several types for corrupt or pickled files
        import zipfile

        # numpy reads a file that is no zip archive as a pickle and suggests allow_pickle: not this file's problem
        why = "not a zip archive, as an .npz is" if not zipfile.is_zipfile(path) else str(e)
        raise TransferkitError(f"{path}: cannot read as .npz ({why}).", f"save it with {save_as}.") from None
    for key in keys:
        if key not in files:
            unlabelled = f" ({UNLABELLED})" if key == "y" and "x" in files else ""
            raise TransferkitError(f"{path}: missing array {key!r} (found {sorted(files)}).",
                                   f"save with {save_as}{unlabelled}.")  # fmt: skip
    return data


def npz_inputs(data, path: Path) -> np.ndarray:
    """The array ``x`` of an opened .npz, numeric, as stored (its dtype gives its range)."""
    try:
        x = np.asarray(data["x"])
    except ValueError as e:  # an object array needs pickle: most often rows of unequal lengths
        raise TransferkitError(f"{path}: cannot read x ({e}); an object array is what numpy saves for rows of "
                               "unequal lengths, e.g. series of different lengths.",
                               "store numbers in x, one length for all: resample each series to one length "
                               "(np.interp) and np.stack them.") from None  # fmt: skip
    if x.dtype.kind not in "fiub":
        raise TransferkitError(f"{path}: x has non-numeric dtype {x.dtype}.", "store numbers in x.")
    return x


def _npz_array(data, key: str, path: Path) -> np.ndarray:
    """``data[key]`` of an opened .npz; an object array (e.g. from pandas) is a one-line error."""
    try:
        return np.asarray(data[key])
    except ValueError as e:  # object arrays need pickle, which is off
        raise TransferkitError(f"{path}: cannot read {key} ({e}).",
                               f"store {key} as numbers or plain strings, e.g. np.asarray({key}, dtype=str).") from None  # fmt: skip


def load_npz(path: Path) -> Domain:
    data = read_npz(path, ("x", "y"), "numpy.savez(path, x=inputs, y=labels)")
    x = npz_inputs(data, path)
    stored = x.dtype
    x = image_layout(x.astype(np.float32))  # (N, H, W) grey or channels-last -> (N, C, H, W)
    if x.ndim not in (2, 4):
        raise TransferkitError(
            f"{path}: x has shape {x.shape}; expected (N,H,W), (N,C,H,W), (N,H,W,C) or (N,D).",
            "reshape x before saving.",
        )
    raw_y, raw_classes = _npz_array(data, "y", path), (_npz_array(data, "classes", path) if "classes" in data.files else None)
    named = raw_y.dtype.kind in "US"  # class names as labels (aeon, sktime and pandas write y so)
    if named:
        raw_y, named = _named_labels(raw_y.reshape(-1) if raw_y.ndim <= 1 else raw_y, raw_classes is not None, path)
    if named:  # the names, sorted, are the classes
        values, y = np.unique(raw_y, return_inverse=True)
        classes, y = [str(v) for v in values], y.astype(np.int64)
    else:
        y = _labels(raw_y.reshape(-1) if raw_y.ndim <= 1 else raw_y, str(path))
    if not named and raw_classes is not None:
        classes = [str(c) for c in raw_classes.reshape(-1)]
        repeated = sorted({c for c in classes if classes.count(c) > 1})
        if repeated:
            raise TransferkitError(f"{path}: `classes` lists {repeated} more than once, so two labels would print alike.",
                                   "give each class its own name in `classes`.")  # fmt: skip
    elif not named:  # the label values present, in order, are the classes (e.g. y in {-1, 1} or {0, 5, 7})
        values, y = np.unique(y, return_inverse=True)
        classes, y = [str(v) for v in values], y.astype(np.int64)
    if x.size == 0 or not np.isfinite(x).all():
        return Domain(str(path), x, y, classes)  # Domain's validation names the empty set or the NaN
    note = small_uint8_note(x, f"{path}: x", "save x as float32") if stored == np.uint8 else None
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    return Domain(str(path), x, y, classes, value_range(x, stored),
                  {RANGE_FROM_DATA: stored != np.uint8, CLASSES_FROM_LABELS: raw_classes is None and not named})  # fmt: skip


GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


ORIENTATION = 0x0112  # the EXIF tag a camera sets instead of turning the pixels
SIDEWAYS = {5, 6, 7, 8}  # its values that swap width and height


def open_image(f: Path, load: bool = True):
    """``f`` opened with Pillow; loaded, it is turned as its EXIF orientation says, as image
    viewers show it (phone photos store their pixels sideways with a tag: read as stored, a
    7 lay on its side and was predicted a 9)."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():  # Pillow's notes on damaged EXIF tags (once per file): the pixels are fine
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            img = Image.open(f)
            if load:
                img.load()
                if _orientation(img) not in (1, None):
                    img = ImageOps.exif_transpose(img)
    except Exception as e:
        raise TransferkitError(f"{f}: cannot read image ({e}).", "remove or replace the file.") from None
    return img


def _orientation(img) -> int | None:
    """The image's EXIF orientation (1..8), None when it has none or a damaged one. Read from
    the header: a PNG without an EXIF chunk is not decoded to look for one (Pillow's getexif
    would, which made reading a folder's sizes a full decode of every file)."""
    if img.format != "TIFF" and "exif" not in img.info:  # TIFF keeps it among its own tags
        return None
    try:
        with warnings.catch_warnings():  # Pillow's notes on a damaged EXIF block: the pixels as stored
            warnings.simplefilter("ignore")
            value = img.getexif().get(ORIENTATION)
    except Exception:  # a damaged EXIF block: the pixels as stored
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _flatten_alpha(img):
    """An image with transparency laid on a background, as a viewer shows it: dropping the
    alpha channel would leave whatever colour the transparent pixels store (often black, so
    black ink on a transparent sheet read as a blank black image). The background is white
    under dark content and black under light content, so the content stays visible."""
    from PIL import Image

    if "transparency" in img.info and img.mode in ("1", "L", "RGB", "P"):  # one colour marked see-through (tRNS)
        img = img.convert("LA" if img.mode in ("1", "L") else "RGBA")  # (16-bit ones keep their values unlaid)
    elif img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode not in ("RGBA", "LA"):
        return img
    base = img.convert("RGB" if img.mode == "RGBA" else "L")
    alpha = img.getchannel("A")
    a = np.asarray(alpha, dtype=np.float32) / 255.0
    if a.min() >= 1.0:  # opaque throughout: nothing to lay on anything
        return base
    ink = np.asarray(base.convert("L"), dtype=np.float32)
    visible = float(a.sum())
    bg = 0 if visible > 0 and float((ink * a).sum()) / visible >= 128 else 255
    sheet = Image.new(base.mode, base.size, (bg, bg, bg) if base.mode == "RGB" else bg)
    sheet.paste(base, mask=alpha)
    return sheet


def image_kind(f: Path) -> tuple[tuple[int, int], bool]:
    """((width, height), colour) of an image file, from its header (width and height as the
    image is shown, after its EXIF orientation)."""
    with open_image(f, load=False) as img:  # closed here: a folder of thousands must not hold them all open
        w, h = img.size
        return ((h, w) if _orientation(img) in SIDEWAYS else (w, h)), img.mode not in GREY_MODES


def _grey(img) -> tuple[np.ndarray, str]:
    """A grey image as float32, and how its values read: ``"8bit"`` on 0..255 (8-bit, and 16-bit
    ones scaled from 0..65535, not clipped to black and white), or as stored, for
    :func:`_one_scale` to put every image of a folder on one scale: ``"int"`` (32-bit integer
    PNG or TIFF: 8-bit or 16-bit values, which one a folder tells) or ``"float"`` (mode F)."""
    if img.mode in ("1", "L", "LA"):
        return np.asarray(img.convert("L"), dtype=np.float32), "8bit"
    arr = np.asarray(img, dtype=np.float32)
    # Pillow reads a 16-bit netpbm (PGM, maxval > 255) as mode "I" already scaled to 0..65535: a dim one is no 8-bit image
    if img.mode.startswith("I;16") or (img.mode == "I" and img.format == "PPM"):
        return arr * np.float32(255.0 / 65535.0), "8bit"
    return arr, "float" if img.mode == "F" else "int"


UNIT_OVERSHOOT = 1.5  # float images up to this are 0..1 ones with an overshoot (a 0..255 image reaches far above)


def _one_scale(images: list[np.ndarray], kinds: list[str]) -> list[np.ndarray]:
    """``images`` on 0..255, one rule for each kind of :func:`_grey` across the folder (a review: per
    image, one float TIFF on 0..0.95 read as 0..242 and the same picture with one pixel at 1.05 as
    0..1.05, 1/255 as bright; an integer TIFF's 228 read as 228 or 0.89 by its own maximum).

    Integer images: 16-bit (scaled from 0..65535) when any of them exceeds 255, else 8-bit. Float
    images: 0..1 (times 255) when none exceeds ``UNIT_OVERSHOOT`` (values above 1, a resampling's
    overshoot, cut to white and said: one pixel at 1.05 had made the whole folder read near-black, a
    review), as they are when none exceeds 255, else scaled by 255 over the largest value of all of
    them (said)."""
    out = list(images)
    for kind in ("int", "float"):
        mine = [i for i, k in enumerate(kinds) if k == kind]
        if not mine:
            continue
        top = max(float(images[i].max()) if images[i].size else 0.0 for i in mine)
        low = min(float(images[i].min()) if images[i].size else 0.0 for i in mine)
        if kind == "int":
            scale = 255.0 / 65535.0 if top > 255 else 1.0
        else:
            scale = 255.0 if top <= UNIT_OVERSHOOT else 1.0 if top <= 255.0 else 255.0 / top
            if 1.0 < top <= UNIT_OVERSHOOT:
                over = sum(1 for i in mine if images[i].size and float(images[i].max()) > 1.0)
                warnings.warn(f"{over} of {len(mine)} floating-point image(s) on 0..1 hold values up to {top:.4g}, "
                              "above 1: those were cut to 1 (white).", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
            if top > 255.0:
                warnings.warn(f"{len(mine)} floating-point image(s) hold values up to {top:.4g}, above 0..1 and "
                              f"0..255: all were scaled by 255/{top:.4g} onto 0..255, one scale for the folder.",
                              TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        for i in mine:
            out[i] = images[i] * np.float32(scale)
            if kind == "float" and 1.0 < top <= UNIT_OVERSHOOT:
                out[i] = np.minimum(out[i], np.float32(255.0))
        if low < 0:  # below black: cut, as a picture holds none (said)
            warnings.warn(f"{len(mine)} {'floating-point' if kind == 'float' else 'integer'} image(s) hold values "
                          f"down to {low:.4g}, below 0: those were read as 0 (black).",
                          TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
            for i in mine:
                out[i] = np.maximum(out[i], np.float32(0.0))
    return out


MAX_READ_SIDE = 512  # pixels: a folder's images are read no larger on their longer side (a model reads 224 or less)


def read_images(files: list[Path], size: tuple[int, int] | None = None, model_channels: int | None = None,
                unreadable: list | None = None, block_average: bool = True) -> np.ndarray:  # fmt: skip
    """Images -> float32 (N, C, H, W) on 0..255.

    RGB when any image is in colour by content (grey ones are repeated to three channels), else
    grey: a grey picture stored in RGB mode is grey.
    Images of another size than ``size`` (H, W; default: the most common one here when it
    holds at least half the images, else the median width and height, so that a few
    thumbnails among photos of many sizes do not shrink them all; at most ``MAX_READ_SIDE``
    pixels on its longer side: 20 phone photos of 1512x2016 had taken 732 MB and a run 3.1 GB,
    a trial) are resized to it, with a
    warning saying how many (a model input has one size; the recipe then brings it to the model's). ``predict`` passes the size of the run's target images,
    so a file goes the way a training image of its size went. ``model_channels``: 1 for a grey
    model, which averages the colour away, so a mixed set's read as RGB goes unsaid.
    ``unreadable``: a list; a file that cannot be read is then left out (the result has a row
    per readable file, in order, possibly none) and ``(file, problem)`` appended to it, where
    without it the first such file's error is raised. Each file is decoded once either way.
    ``block_average``: a file a whole factor larger than ``size`` is averaged block by block
    (False: the bilinear filter, as runs read them before session 26; ``predict`` passes the
    run's choice, from its recipe).
    """
    from PIL import Image

    kinds = []
    for f in list(files):
        try:
            kinds.append(image_kind(f))
        except TransferkitError as e:
            if unreadable is None:
                raise
            unreadable.append((f, e.problem))
    if unreadable:
        gone = {f for f, _ in unreadable}
        files = [f for f in files if f not in gone]
    colour = any(c for _, c in kinds)
    common = size is None
    sizes = Counter(sz for sz, _ in kinds).most_common()
    median = common and kinds and 2 * sizes[0][1] < len(kinds)  # no one size holds half of them
    if median:
        size = tuple(int(round(float(np.median([sz[i] for sz, _ in kinds])))) for i in (0, 1))
    else:
        size = sizes[0][0] if common and kinds else (size and (size[1], size[0]))
    capped = common and kinds and max(size) > MAX_READ_SIDE  # phone photos: gigabytes at full size, for a small input
    native = size
    if capped:
        size = tuple(max(1, int(round(s * MAX_READ_SIDE / max(size)))) for s in size)
    images, resized, in_colour, kept, stretched, read_as = [], 0, 0, [], 0, []
    for f, (sz, is_colour) in zip(files, kinds, strict=True):
        try:
            img = _flatten_alpha(open_image(f))
        except TransferkitError as e:  # a header that reads, then pixels that do not (a truncated file)
            if unreadable is None:
                raise
            unreadable.append((f, e.problem))
            continue
        kept.append(f)
        # Grey images are read by _grey (16-bit ones scaled, not clipped) even in a colour set.
        arr, how_read = (np.asarray(img.convert("RGB"), dtype=np.float32), "8bit") if is_colour else _grey(img)
        read_as.append(how_read)
        in_colour += bool(is_colour and not (np.array_equal(arr[..., 0], arr[..., 1])
                                             and np.array_equal(arr[..., 1], arr[..., 2])))  # fmt: skip
        sz = (arr.shape[1], arr.shape[0])  # as decoded: a PNG's eXIf chunk after its pixels turns it only now
        if sz != size:
            resized += 1
            stretched += abs(math.log((sz[0] / sz[1]) / (size[0] / size[1]))) > math.log(1.1)  # aspect off by > 10 %
            # a whole factor smaller: each block averaged, as apply_recipe does (fit_size), not blurred
            how = Image.BOX if block_average and sz[0] % size[0] == 0 and sz[1] % size[1] == 0 else Image.BILINEAR
            if is_colour:
                arr = np.asarray(Image.fromarray(arr.astype(np.uint8)).resize(size, how), dtype=np.float32)
            else:
                arr = np.asarray(Image.fromarray(arr).resize(size, how), dtype=np.float32)
        if arr.ndim == 2:
            arr = arr[None] if not colour else np.repeat(arr[None], 3, axis=0)  # grey in a colour set: 3 equal channels
        else:
            arr = arr.transpose(2, 0, 1)
        images.append(arr)
    files = kept
    images = _one_scale(images, read_as)  # (a linear scale: the same before or after resizing)
    if not files:  # none readable (only with ``unreadable``): no rows
        return np.empty((0, 1, *(size[::-1] if size else (0, 0))), np.float32)
    if resized:
        which = "the most common size here" if common else "the size of the run's target images"
        tied = sum(n == sizes[0][1] for _, n in sizes)
        if median:
            which = (f"the median width and height here ({len(sizes)} sizes, the most common held by "
                     f"{sizes[0][1]} of the {len(files)} images, under half)")  # fmt: skip
        elif common and tied > 1:
            which = f"one of the {tied} sizes most common here ({sizes[0][1]} images each)"
        if capped:
            which += (f" ({native[1]}x{native[0]}) shrunk to at most {MAX_READ_SIDE} pixels a side as they are read (at "
                      "full size a folder of photos fills gigabytes, and the model reads its own, smaller input size)")  # fmt: skip
        where = files[0] if len(files) == 1 else Path(os.path.commonpath([str(f.parent) for f in files]))
        warnings.warn(f"{where}: {resized} of {len(files)} images are not {size[1]}x{size[0]} pixels (height x width), "
                      f"{which}, and were resized to it first"
                      + (f"; {stretched} of them of another shape were stretched to it, not cropped (crop them to "
                         f"{size[1]}x{size[0]}'s proportions first to keep theirs)." if stretched else "."),
                      TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    if colour and not in_colour:  # grey by content, some stored as RGB: one channel, as the report and predict judge
        images = [arr[:1] for arr in images]  # (their three channels are equal)
    grey = len(files) - in_colour  # by content: a grey picture saved as RGB is grey
    if in_colour and grey and model_channels != 1:  # a mixed folder: one layout for all, said (grey ones get 3 equal channels)
        warnings.warn(f"{in_colour} of {len(files)} images are in colour and {grey} grey; all were read as "
                      "RGB (grey ones with 3 equal channels).", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    return np.stack(images)


def _has_images(folder: Path) -> bool:
    """Whether ``folder`` directly holds an image file (by suffix, hidden files aside)."""
    return any(f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".") for f in folder.iterdir())


def id_values_note(path, column: str, names: list) -> str | None:
    """A note when the --id-column's values cannot tell every prediction apart: repeated values
    (predictions named alike) or empty ones (a prediction named by nothing)."""
    empty = sum(1 for n in names if n is None or not str(n).strip())
    counts = Counter(str(n) for n in names if n is not None and str(n).strip())
    twice = sorted(n for n, c in counts.items() if c > 1)
    if not twice and not empty:
        return None
    parts = ([f"it repeats values ({sum(counts[n] for n in twice)} rows share a name with another, e.g. {twice[0]!r})"]
             if twice else []) + ([f"{empty} row(s) have an empty one"] if empty else [])  # fmt: skip
    return (f"{path}: the --id-column {column!r} does not name every prediction apart: {' and '.join(parts)}, so "
            "those predictions cannot be joined back by it; give each row a value of its own.")


def _brief_names(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def class_name(folder: str) -> str:
    """The class a folder name stands for: without spaces at its ends, its accents in one form (NFC).
    macOS and its zip files store 'café' as 'cafe' + a combining accent (NFD), which printed alike
    but matched no 'café' typed in `classes:` (a trial's error listed 'café' as the class to use),
    and sorted elsewhere, so the same folder's class order differed by where it was unzipped."""
    return unicodedata.normalize("NFC", folder.strip())


def load_image_folder(root: Path) -> Domain:
    # __MACOSX: a Mac archive's resource forks (._name files), unzipped beside the classes: not a class (a trial)
    class_dirs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name != "__MACOSX"),
                        key=lambda d: (class_name(d.name), d.name))  # in the order of their class names
    numbers = [int(class_name(d.name)) if re.fullmatch(r"-?\d+", class_name(d.name)) else None for d in class_dirs]
    if class_dirs and None not in numbers and len(set(numbers)) == len(numbers):
        # folders named by numbers are classes in number order, as a CSV's or an .npz's labels: 1, 2, ..., 10
        # (as text, 10 sorted before 2, and class_index no longer followed the numbers); '01' beside '1': names
        class_dirs.sort(key=lambda d: int(class_name(d.name)))
    if len(class_dirs) < 2:
        only = class_dirs[0] if class_dirs else None
        nested = sorted(s.name for s in only.iterdir() if s.is_dir() and _has_images(s)) if only else []
        if len(nested) >= 2 and not _has_images(only):  # root/train/<class>/...: one level too high
            raise TransferkitError(f"{root}: its one folder, {only.name}, holds the class folders "
                                   f"({_brief_names(nested)}); an image folder is read as root/<class>/<image>.",
                                   f"point `data` at {only}.")  # fmt: skip
        loose = sum(1 for f in root.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))
        found = f"{len(class_dirs)} class folder{'' if len(class_dirs) == 1 else 's'}"
        raise TransferkitError(
            f"{root}: found {found}{f' and {loose} images outside any' if loose else ''}; an image folder "
            "needs root/<class>/<image>.",
            "put each class's images in its own sub-folder (at least 2 classes)"
            + ("; images without labels can still be predicted (`transferkit predict RUN FOLDER`) or adapted to "
               "with the Python API (fit(None, None, X_unlabelled=...), docs/domain_adaptation.md)." if loose and not
               class_dirs else "."),
        )  # fmt: skip
    names = [class_name(d.name) for d in class_dirs]  # 'pullover ' is 'pullover', as a CSV's or .npz's labels are
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TransferkitError(f"{root}: class folders {', '.join(repr(d.name) for d in class_dirs if class_name(d.name) in twice)}"
                               " differ only by spaces at their ends or by how their accents are stored (NFC or NFD); "
                               "class names are read without either difference.", "merge the folders, or rename one.")  # fmt: skip
    files, labels = [], []
    for label, d in enumerate(class_dirs):
        found = sorted(f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))
        if not found:
            nested = sorted(s.name for s in d.iterdir() if s.is_dir() and _has_images(s))
            if nested:  # root/train/<class>/..., root/test/<class>/...: one level too high
                raise TransferkitError(
                    f"{d}: class folder has no images of its own, only sub-folders of images ({_brief_names(nested)}); "
                    "an image folder is read one level deep, root/<class>/<image>.",
                    f"if those sub-folders are classes, point `data` at {d} (or another of {root}'s folders: "
                    f"train/test copies); if they belong to class {d.name!r}, move their images up into {d}.",
                )
            raise TransferkitError(f"{d}: class folder has no images.", f"add images ({sorted(IMAGE_SUFFIXES)}).")
        files += found
        labels += [label] * len(found)
    def images_below(folder: Path) -> list[Path]:
        return [f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")]

    left = [s for d in class_dirs for s in sorted(d.iterdir()) if s.is_dir() and not s.name.startswith(".")
            and images_below(s)]  # fmt: skip
    if left:  # read one level deep: images in sub-folders of a class folder would be lost without a word
        n = sum(len(images_below(s)) for s in left)
        warnings.warn(f"{root}: {n} image(s) in sub-folders of class folders are not read "
                      f"({_brief_names([str(s.relative_to(root)) for s in left])}); an image folder is read one "
                      "level deep, root/<class>/<image>. Move them up into their class folder to use them.",
                      TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    others = [f for d in class_dirs for f in sorted(d.iterdir()) if f.is_file() and not f.name.startswith(".")
              and f.suffix.lower() not in IMAGE_SUFFIXES]  # fmt: skip
    if others:  # hidden files (.DS_Store) are never mentioned
        warnings.warn(f"{root}: {len(others)} file(s) in class folders are not images and are not read "
                      f"({_brief_names([str(f.relative_to(root)) for f in others])}); images end in "
                      f"{', '.join(sorted(IMAGE_SUFFIXES))}.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    loose = sorted(f for f in root.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                   and not f.name.startswith("."))  # fmt: skip
    if loose:  # beside the class folders: no class to give them
        warnings.warn(f"{root}: {len(loose)} image(s) outside any class folder are not read "
                      f"({_brief_names([f.name for f in loose])}); an image folder is read as root/<class>/<image>. "
                      "Move them into their class folder to use them.", TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
    bad: list = []
    said: list = []
    try:
        with warnings.catch_warnings(record=True) as said:  # ours held back, said below unless the folder is refused
            warnings.simplefilter("always", TransferkitWarning)  # (others pass the caller's filters as they were)
            x = read_images(files, unreadable=bad)
    finally:  # (after the recording: re-issued inside it, each would be recorded again, without end)
        if not bad:  # (also when reading failed otherwise: what was said before is not lost)
            for w in said:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if bad:  # every unreadable file named at once, not one per run (a trial fixed one, then met the next)
        bad.sort(key=lambda fb: files.index(fb[0]))  # in the folder's order (header failures were found first)
        raise TransferkitError(
            f"{root}: {len(bad)} image file(s) cannot be read ({_brief_names([str(f.relative_to(root)) for f, _ in bad])}"
            f"; the first: {bad[0][1].split(': ', 1)[-1].rstrip('.')}).",
            "remove or replace them (truncated or mislabelled files), or move them out of the class folders.",
        )
    return Domain(str(root), x, np.asarray(labels, dtype=np.int64), names, (0.0, 255.0))


# How spreadsheets and data tools write a missing value (pandas' defaults, R, Excel, SPSS).
MISSING_MARKERS = {"na", "n/a", "nan", "null", "none", "?", "-", "#n/a", "missing"}
# in a label column: the markers that name no class one would write ("none", "?", "-" and "missing" may)
LABEL_MISSING = {"na", "n/a", "nan", "null", "#n/a"}



def missing_label_markers(labels: list[str], where: str, column: str = "", rows: str = "data rows {}") -> None:
    """Labels written as a missing value (R's NA, pandas' nan; it had been a class: 61.8 % against 92.2 %,
    a trial): refused beside numbered classes, where such a value can only be a missing one ('18_25' is
    a name); beside names said, as it may be a class of that name. ``column``: where, for the message;
    ``rows``: how the rows' numbers are said ("data rows {}", or "examples {}, counting from 1")."""
    marked = [i + 1 for i, v in enumerate(labels) if v.strip().lower() in LABEL_MISSING]
    if not marked:
        return
    others = [v for v in labels if v.strip().lower() not in LABEL_MISSING]
    shown = sorted({labels[i - 1].strip() for i in marked})
    if others and all("_" not in v and _is_number(v) for v in others):
        raise TransferkitError(
            f"{where}: {len(marked)} row(s) have no label{column}: {', '.join(map(repr, shown))}, a missing value "
            f"({rows.format(marked[:5])}).",
            "fill in their labels or remove those rows.",
        )
    warnings.warn(f"{where}: {len(marked)} row(s) have the label {' or '.join(map(repr, shown))}{column}, which also "
                  "writes a missing value (R's NA, pandas' nan): they are trained as a class of that name; if their "
                  "labels are missing, remove those rows (or fill them in).",
                  TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip


def spaced_name(header: list[str], name: str) -> tuple[str, str] | None:
    """(problem, fix) when ``name`` is in ``header`` only with spaces around it ('a, b, label' names the
    columns 'a', ' b' and ' label'; a review), else None."""
    spaced = next((c for c in header if c != name and c.strip() == name.strip()), None)
    if spaced is None:
        return None
    return (f"the header names it {spaced!r}, with spaces (a space after each comma makes it part of the next name).",
            f"write the header without spaces after its commas ({','.join(c.strip() for c in header)[:60]!r}).")


def cell_float(v: str) -> float:
    """A CSV cell's number: ``float(v)``, but not for a cell holding "_", which Python reads as a digit
    separator (``float("18_25")`` is 1825.0: an age group '18_25' read as a number; a review)."""
    if "_" in v:
        raise ValueError(f"not a number: {v!r}")
    return float(v)


def _is_number(v: str) -> bool:
    try:
        cell_float(v)
    except ValueError:
        return False
    return True


def read_text(path: Path) -> str:
    """A text file's content: UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8")."""
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TransferkitError(
            f"{path}: not UTF-8 text (byte {e.object[e.start]:#x} at position {e.start}).",
            "save the file as UTF-8 (e.g. Excel: CSV UTF-8).",
        ) from None


# The csv module refuses fields over 131,072 characters by default; a long review or article in
# a text column is one such field. Raised once, for every reader here (2**31 - 1: a C long anywhere).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def csv_header(path: Path) -> list[str]:
    """The first non-blank row of a CSV/TSV, reading no further than it."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            return next((r for r in reader if r), [])
    except UnicodeDecodeError:
        read_text(path)  # raises the one-line error
        raise


def csv_reader(path: Path):
    """A csv.reader over ``path`` (tab-separated for .tsv), decoded by :func:`read_text`."""
    return csv.reader(io.StringIO(read_text(path), newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")


def read_csv_rows(path: Path, known: set[str] | None = None,
                  unique_names: bool = True) -> tuple[list[str], list[list[str]]]:  # fmt: skip
    """(header, rows) of a CSV (or .tsv) with a header line and at least one data row; blank
    lines are skipped. ``known``: column names the caller expects (a model's recorded
    columns); a first row made of them is a header even when the names are numbers.
    ``unique_names``: refuse a name used twice (predict checks only the columns it reads)."""
    rows = [r for r in csv_reader(path) if r]
    if len(rows) < 2:
        raise TransferkitError(f"{path}: CSV has no data rows" + (" (only a header)." if rows else "."),
                               "add one row per example below the header." if rows else
                               "add a header and one row per example.")  # fmt: skip
    def tabs(row: list[str]) -> int:
        return sum(c.count("\t") for c in row)

    # tabs between the names, as many as commas or more, and in every row alike: a TSV (a name may hold a comma)
    alike = tabs(rows[0]) + 1 >= len(rows[0]) and all(tabs(r) == tabs(rows[0]) for r in rows[1:21])
    if tabs(rows[0]) and (len(rows[0]) == 1 or alike) and path.suffix.lower() != ".tsv":
        raise TransferkitError(
            f"{path}: the header has tabs between its names ({','.join(rows[0])[:40]!r}): the file is tab-separated, and a "
            f"{path.suffix or 'file without a suffix'} is read as comma-separated.",
            f"name it {path.stem}.tsv (read as tab-separated), or separate its columns with commas.",
        )
    def other_separator(sep: str) -> bool:  # more of it than columns, the same count in every row: the separator
        count = sum(c.count(sep) for c in rows[0])  # (a quoted comma in a name split a ';' header into 2 columns)
        return count >= len(rows[0]) and all(sum(c.count(sep) for c in r) == count for r in rows[1:21])

    if (len(rows[0]) == 1 and any(sep in rows[0][0] for sep in ";|")) or any(other_separator(sep) for sep in ";|"):
        # a spreadsheet's export where the decimal mark is a comma (most of Europe): ';' between the columns
        text = [",".join(r) for r in rows[1:21]]
        decimal_commas = ";" in rows[0][0] and any(";" in t and re.search(r"(^|;)\s*-?\d+,\d+\s*(;|$)", t) for t in text)
        cells = [[c for c in t.split(";") if c.strip()] for t in [",".join(rows[0]), *text[:1]]]
        title = ";" in rows[0][0] and len(cells[0]) == 1 and len(cells) > 1 and len(cells[1]) > 1  # 'Export;;;' above
        raise TransferkitError(
            f"{path}: the header {'is one column' if len(rows[0]) == 1 else f'reads as {len(rows[0])} columns'} "
            f"({','.join(rows[0])[:40]!r}); the file seems to use another separator"
            + (", and commas as decimal marks (a spreadsheet's export in a European locale)" if decimal_commas else "")
            + (f"; its first line holds one cell ({cells[0][0][:30]!r}) above lines of several: a title above the header"
               if title else "") + ".",
            ("export it with commas between columns and points as decimal marks, or convert it: "
             f"pandas.read_csv({str(path)!r}, sep=';', decimal=','{', skiprows=1' if title else ''})"
             ".to_csv('NEW.csv', index=False)." if decimal_commas else
             f"{'delete the title line, and ' if title else ''}separate columns with commas (.csv) or tabs (.tsv)."),
        )
    if _looks_like_data(rows[0]) and not (known and _is_header_of(rows[0], known)):
        raise TransferkitError(
            f"{path}: the first row holds numbers ({_cells(rows[0])}), not column names; "
            "the first row of a CSV is read as its header, so it would be lost.",
            "add a header row naming the columns (e.g. x0,x1,...,label); if the first row is a header of numeric "
            "names, give them non-numeric names (e.g. nm400) or save the inputs as a .npz.",
        )
    twice = sorted(c for c, n in Counter(rows[0]).items() if n > 1 and c.strip()) if unique_names else []
    values = len(rows[0]) > 1 and (_looks_like_data(rows[0][:-1]) or _looks_like_data(rows[0][1:]))
    if twice and not values:  # which of the two would a model's column be? (a row of values: said as such later)
        raise TransferkitError(f"{path}: column name(s) used more than once in the header: {_listed(twice)}.",
                               "give every column its own name (or drop the copies).")  # fmt: skip
    if len(rows[0]) > 1 and not rows[0][-1].strip() and all(len(r) == len(rows[0]) and not r[-1].strip()
                                                            for r in rows[1:]):  # fmt: skip
        rows = [r[:-1] for r in rows]  # a comma at the end of every line: no column, only a trailing separator
    bad = next((i for i, r in enumerate(rows[1:]) if len(r) != len(rows[0])), None)

    def trim(row: list[str]) -> list[str]:  # without empty cells at its end ('Wine data,' above 'a,b,c,')
        return row[: max((i + 1 for i, c in enumerate(row) if c.strip()), default=1)]

    names_below = len(rows) >= 3 and not _looks_like_data(trim(rows[1])) and all(c.strip() for c in trim(rows[1])) \
        and not looks_like_prose(trim(rows[1]))  # ('review,,' above texts: a header of empty names, not a title)
    widths = {len(trim(r)) for r in rows[2:22]}
    # the title padded to the header's width ('Wine data,,' above 'a,b,label') is one cell too
    if bad in (0, None) and len(trim(rows[0])) == 1 and len(trim(rows[1])) > 1 and widths == {len(trim(rows[1]))} and names_below:
        raise TransferkitError(  # a title line above the header, as lab systems and spreadsheets export
            f"{path}: its first line ({rows[0][0][:40]!r}) is one cell and the lines below it have {len(trim(rows[1]))}: "
            "it looks like a title above the header, and the first line of a CSV is read as its header.",
            "delete the first line, so that the column names come first.",
        )
    if bad is not None:
        raise TransferkitError(
            f"{path}: data row {bad + 1} has {len(rows[bad + 1])} columns, the header {len(rows[0])}.",
            "give every row one value per header column.",
        )
    return rows[0], rows[1:]


def _is_header_of(row: list[str], known: set[str]) -> bool:
    """Whether ``row`` names exactly the expected columns (each once; an extra name may be
    the label column): then numeric names are a header, not a row of values."""
    return len(set(row)) == len(row) and set(row) <= known and len(known - set(row)) <= 1


def _cells(row: list[str], n: int = 3) -> str:
    """The first ``n`` cells of a row for a message: numbers as numbers (``5.506e-01`` cut to
    12 characters read 5.5), other text cut to 12 characters."""
    shown = [f"{float(v):.6g}" if _is_number(v) else (v if len(v) <= 12 else v[:12] + "...") for v in row[:n]]
    return ", ".join(shown) + (", ..." if len(row) > n else "")


def _names(header: list[str]) -> str:
    """A header for a message: all of it, or its first 5 and last 3 names (a label column is
    often the last; a wide series' first names alone hid it)."""
    if len(header) <= 8:
        return ", ".join(map(repr, header))
    return f"{', '.join(map(repr, header[:5]))}, ... ({len(header) - 8} more), {', '.join(map(repr, header[-3:]))}"


def _looks_like_data(header: list[str]) -> bool:
    """Whether a CSV's first row is a row of values rather than names: every cell a number,
    and not the column numbers 0..D-1 or 1..D that e.g. ``pandas.DataFrame(x).to_csv()`` writes."""
    if not header or not all(_is_number(v) for v in header):
        return False
    try:
        ints = [int(v) for v in header]
    except ValueError:
        return True
    return ints not in (list(range(len(ints))), list(range(1, len(ints) + 1)))


def looks_like_prose(header: list[str], body: list[list[str]] | None = None) -> bool:
    """Whether a CSV's first row holds a text where column names belong: a file of texts with no
    header row, whose first text would be read as the names. A text: a cell of eight words or
    more, or of three or more ending like a sentence (. ? !); or a cell of four words or more
    beside a cell whose value recurs in its column below (a label: ``Hi there how are you,0``).
    Descriptive names (``sepal length in cm``, ``text of the review``) are none of these."""
    def sentence(cell: str) -> bool:
        words = cell.split()
        return len(words) >= 8 or (len(words) >= 3 and cell.rstrip()[-1:] in ".?!")

    cells = [str(c) for c in header]
    if any(sentence(c) for c in cells):
        return True
    if not body or not any(len(c.split()) >= 4 for c in cells):
        return False
    return any(len(c.split()) < 4 and c.strip() and any(j < len(r) and r[j] == c for r in body[:1000])
               for j, c in enumerate(cells))  # fmt: skip


NO_HEADER_FIX = ("add a header row naming the columns (e.g. text,label); naming a column after that row's text "
                 "would read the first text as the header and drop it")


def _gaps_end_rows(body: list[list[str]], skip: set) -> str:
    """Where a CSV's empty (or missing-marked) cells are series padding (``"end"`` or ``"start"``:
    each row's run to its end, or from its start; ``""`` if not), as
    :func:`~transferkit.data.domain.nan_padded` reads NaN, with every other cell a number."""
    try:
        x = np.asarray([[np.nan if not v.strip() or v.strip().lower() in MISSING_MARKERS else cell_float(v)
                         for j, v in enumerate(r) if j not in skip] for r in body], dtype=np.float64)  # fmt: skip
    except ValueError:  # another column holds words: not a series
        return ""
    return nan_padded(x)


def csv_features(
    path: Path, header: list[str], body: list[list[str]], skip: int | set | None = None, training: bool = True
) -> np.ndarray:
    """(N, D) float32 of every column but ``skip`` (an index or a set of them); a non-numeric
    column is named, with the fix (``training``: for a data set to train on, else for inputs
    to predict)."""
    skip = set() if skip is None else {skip} if isinstance(skip, int) else set(skip)
    try:
        return np.asarray([[cell_float(v) for j, v in enumerate(r) if j not in skip] for r in body], dtype=np.float32)
    except ValueError:
        i, j, v = next((i, j, v) for i, r in enumerate(body) for j, v in enumerate(r) if j not in skip and not _is_number(v))
        if not v.strip() or v.strip().lower() in MISSING_MARKERS:
            what = "an empty value" if not v.strip() else f"a missing-value marker ({v.strip()!r})"
            padded = _gaps_end_rows(body, skip)
            gaps = [(i2, j2) for i2, r in enumerate(body) for j2, c in enumerate(r)
                    if j2 not in skip and (not c.strip() or c.strip().lower() in MISSING_MARKERS)]  # fmt: skip
            rows, columns = {g[0] for g in gaps}, list(dict.fromkeys(header[g[1]] for g in gaps))
            more = (f"; {len(gaps)} cells are missing in all, in {len(rows)} of the {len(body)} data rows and the "
                    f"column(s) {_listed(columns)}" if len(gaps) > 1 else "")  # impute or drop: how much is missing
            raise TransferkitError(
                f"{path}: data row {i + 1} has {what} in column {header[j]!r}"
                + ("" if training else f" (input {i} in the predictions, which count rows from 0)")
                + (f"; in every row with one, the gaps run {'to the end of' if padded == 'end' else 'from the start of'} "
                   "the row: series of unequal lengths padded to one." if padded else more + "."),
                PADDED_FIX if padded else "fill in or impute missing values, or drop those rows.",
            ) from None
        column = [r[j].strip() for r in body]
        written = _numbers_written_as(column)
        if written:  # '609,1' or '609.1 mm2' in most rows: numbers, written so
            raise TransferkitError(f"{path}: column {header[j]!r} is not numeric ({v[:40]!r} in data row {i + 1}): "
                                   f"{written[0]}.", written[1]) from None  # fmt: skip
        numeric = sum(_is_number(r[j]) for r in body) >= len(body) / 2  # mostly numbers: this cell is the odd one out
        ids = len(body) > 1 and len({r[j] for r in body}) == len(body)  # one value per row, short: row names
        ids = ids and max(len(r[j]) for r in body) <= 40 and not any(" " in r[j].strip() for r in body)  # texts have words
        fix = (f"drop it, keeping only numeric feature columns; if it holds the texts to train on, set "
               f"`text_column: {header[j]}` (with a text encoder as the source)." if training else
               "drop it: this model reads numeric feature columns only.")  # fmt: skip
        kinds = {r[j].strip() for r in body}
        category = len(body) >= 4 and len(kinds) <= min(10, len(body) // 2) and all(len(k.split()) <= 2 for k in kinds)
        if numeric:  # a number column with a typo ('81.0kg') is neither texts nor an id
            fix = "write a number there (or fix the value: a unit, a decimal comma?), or drop the row; the column is otherwise numeric."
        elif training and not ids and all(_DATE.fullmatch(k) for k in kinds):  # not texts nor categories: as the API
            fix = ("it holds dates: encode them as numbers first (e.g. days since a fixed date, or year, month and "
                   "day columns), or drop it.")  # fmt: skip
        elif category:  # 'F'/'M', True/False, a site: a category, not texts to train on
            shown = ", ".join(repr(k) for k in sorted(kinds)[:4]) + (", ..." if len(kinds) > 4 else "")
            fix = (f"it holds {len(kinds)} categories ({shown}): encode them as numbers first (0/1 for two, one "
                   "0/1 column per category for more, e.g. pd.get_dummies), or drop it.")  # fmt: skip
        elif ids and training:
            fix = (f"it names each row (no value repeats), as an id does: name it with `id_column: {header[j]}` in "
                   f"the experiment file (rank: --id-column {header[j]}, or --source-id-column for a source; never read "
                   "as a feature; predict then names its rows by it), or drop it.")  # fmt: skip
        elif ids:  # predict: the option made for it
            fix = (f"it names each row (no value repeats), as an id does: give --id-column {header[j]} to name the "
                   "predictions by it (it is then never read as a feature), or drop it.")  # fmt: skip
        raise TransferkitError(f"{path}: column {header[j]!r} is not numeric ({v[:40]!r} in data row {i + 1} is not a "
                               "number).", fix) from None  # fmt: skip


_DATE = re.compile(r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,4}/\d{1,2}/\d{1,4})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?")
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
_WHOLE = re.compile(r"[-+]?\d+")
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+\.\d+")  # 1,680.0 (1,680 alone reads as a decimal comma too)
# a number (no bare trailing dot: '0000.jpg' is a file name) and a unit starting with a letter, %, ° or µ ('12_R1': no)
_NUMBER_AND_UNIT = re.compile(r"([-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%°µ][^,]{0,11})")


def _numbers_written_as(values: list[str]) -> tuple[str, str] | None:
    """(what, fix) when nine in ten of a column's non-empty cells are numbers written with a
    decimal comma ('609,1') or followed by one unit ('609.1 mm2'); None otherwise."""
    cells = [v for v in values if v]
    if not cells:
        return None
    commas = sum(bool(_DECIMAL_COMMA.fullmatch(v)) for v in cells)  # whole numbers ('8') fit either way
    if commas and commas + sum(bool(_WHOLE.fullmatch(v)) for v in cells) >= 0.9 * len(cells):
        return ("its numbers are written with a comma (a decimal comma, or a thousands separator)",
                "write plain numbers, 609.1 (not 609,1) and 1234 (not 1,234): e.g. read the file with "
                "pd.read_csv(path, decimal=',') or thousands=',', and save it again with to_csv.")
    thousands = sum(bool(_THOUSANDS.fullmatch(v)) for v in cells)  # '1,680.0': a separator, then a decimal point
    plain = sum(_is_number(v) for v in cells)
    if thousands and thousands + plain >= 0.9 * len(cells):
        return ("its numbers are written with a thousands separator (1,680.0)",
                "write plain numbers (1680.0): e.g. read the file with pd.read_csv(path, thousands=',') and save it "
                "again with to_csv.")
    units = [m.group(2).strip() for m in map(_NUMBER_AND_UNIT.fullmatch, cells) if m]
    if len(units) >= 0.9 * len(cells) and len(set(units)) == 1:
        return (f"its cells are numbers followed by the unit {units[0]!r}",
                f"write the numbers alone (strip {units[0]!r}; the unit can go in the column name).")
    return None


def _listed(names: list[str], most: int = 5) -> str:
    """``['a', 'b']``, or the first ``most`` and how many there are in all."""
    if len(names) <= most:
        return repr(names)
    return repr(names[:most])[:-1] + f", ... {len(names)} in all]"


def order_columns(
    x: np.ndarray, columns: list[str], wanted: list[str], name: str, reference: str = "the source's"
) -> np.ndarray:
    """The columns of x (N, D), named ``columns``, in the order of ``wanted`` (matched by name).

    ``reference``: whose columns ``wanted`` are, for the error ("the source's", "the model's")."""
    if list(columns) == list(wanted):
        return x
    missing, extra = [c for c in wanted if c not in columns], [c for c in columns if c not in wanted]
    if missing or extra or len(set(columns)) != len(columns) or len(set(wanted)) != len(wanted):
        counts = f"; {len(columns)} columns against {len(wanted)}" if len(columns) != len(wanted) else ""
        twice = sorted({c for c in columns if columns.count(c) > 1})
        repeated = f", repeated {_listed(twice)}" if twice else ""
        folded = sorted({c.strip().lower() for c in missing} & {c.strip().lower() for c in extra})
        case = (f"; {len(folded)} differ only in upper/lower case or spaces, e.g. "
                f"{next(c for c in extra if c.strip().lower() == folded[0])!r} for "
                f"{next(c for c in missing if c.strip().lower() == folded[0])!r}" if folded else "")  # fmt: skip
        doubled = sorted({c for c in wanted if list(wanted).count(c) > 1})
        if doubled:  # trained on a file that named a column twice (refused since): no file can match it
            raise TransferkitError(f"{name}: {reference} feature columns name {_listed(doubled)} more than once, so "
                                   "no file's columns can be matched to them by name.",
                                   "retrain on data whose columns have one name each.")  # fmt: skip
        raise TransferkitError(
            f"{name}: its feature columns are not {reference} (missing {_listed(missing)}, extra {_listed(extra)}"
            f"{repeated}{counts}{case}).",
            f"give it {reference} feature column names (their order does not matter).",
        )
    return x[:, [columns.index(c) for c in wanted]]


def left_out_note(name: str, extra: list[str]) -> str:
    """What run and rank say of a target's columns the source lacks (:func:`columns_read`)."""
    shown = [repr(c) if c.strip() else "a column with no name (a saved index?)" for c in extra[:5]]
    return (f"{name}: column(s) the source lacks are left out: {', '.join(shown)}{', ...' if len(extra) > 5 else ''} "
            "(every method reads the source's columns).")


def columns_read(named: list[str], wanted: list[str]) -> list[int] | None:
    """Positions of ``named``'s columns that ``wanted`` (a source's or model's columns) reads, when
    ``named`` holds all of them and more, each once: the others are left out; None otherwise."""
    if set(wanted) < set(named) and len(set(named)) == len(named):
        return [j for j, c in enumerate(named) if c in set(wanted)]
    return None


def _row_numbers(values: list[str]) -> bool:
    """Whether ``values`` are 0..N-1 or 1..N in order: a saved row index."""
    if not values or values[0].strip() not in ("0", "1") or (len(values) > 1 and not _is_number(values[1])):
        return False  # most columns are ruled out here, without reading them all
    try:
        ints = [float(v) for v in values]
    except ValueError:
        return False
    return ints in (list(range(len(ints))), list(range(1, len(ints) + 1)))


def _rises(values: list[str]) -> bool:
    """Whether ``values`` are whole numbers, each larger than the one before (record numbers with
    gaps: as a feature, one scored 88.3 % on labels unrelated to the inputs, in a file sorted by
    class, against 50.6 % without it; a tabular trial)."""
    if not (_is_number(values[0]) and _is_number(values[1])) or float(values[1]) <= float(values[0]):
        return False  # most numeric columns end here, before the whole column is read
    try:
        nums = [float(v) for v in values]
    except ValueError:
        return False
    steps = {b - a for a, b in zip(nums[:-1], nums[1:], strict=True)}
    # one step other than 1 throughout (1000, 1002, ...): a measurement's grid, such as a time, not a record number
    return all(math.isfinite(v) and v == int(v) for v in nums) and min(steps) > 0 and len(steps) > 1


def _counts_up(values: list[str]) -> bool:
    """Whether ``values`` are whole numbers that go up by one from row to row (1000, 1001, ...):
    an id or index with any start."""
    if len(values) < 2 or not (_is_number(values[0]) and _is_number(values[1])):
        return False
    start = float(values[0])
    if not math.isfinite(start) or start != int(start) or float(values[1]) != start + 1:
        return False  # most numeric columns end here, before the whole column is read
    try:
        return all(float(v) == start + i for i, v in enumerate(values))
    except ValueError:
        return False


def check_index_columns(path: Path, header: list[str], body: list[list[str]], label: int | set[int]) -> None:
    """Refuses a feature column without a name (pandas' ``to_csv`` writes its index as one
    unless ``index=False``); warns of a named column that holds the row numbers. As a
    feature, a row number tells the model where a row sits in the file, and in a file
    sorted by class, its label. ``label``: the index (or indices) of columns that are not
    features (the label, a declared id column)."""
    skip = label if isinstance(label, set) else {label}
    for j, name in enumerate(header):
        if j in skip:
            continue
        values = [r[j] for r in body]
        if not name.strip() or re.fullmatch(r"Unnamed: \d+", name.strip()):
            what = "the row numbers, a saved index" if _row_numbers(values) else f"values such as {values[0][:20]!r}"
            if name.strip():  # read_csv named a nameless column so, and a later to_csv wrote that name out
                raise TransferkitError(
                    f"{path}: column {j + 1} is named {name.strip()!r}, pandas' name for a column that had none, and "
                    f"holds {what}; every feature column needs a real name, by which predict matches columns.",
                    f"if it is a saved index, drop it (df.drop(columns={name.strip()!r}), or read the file with "
                    "pd.read_csv(path, index_col=0)) before saving with df.to_csv(path, index=False); else name it.",
                )
            raise TransferkitError(
                f"{path}: column {j + 1} has no name and holds {what}; every feature column needs a name, "
                "by which predict matches columns.",
                "if it is pandas' index, save with df.to_csv(path, index=False) or delete the column; "
                "else name it in the header.",
            )
        note = rising_column_note(f"{path}: column {name!r}", values, "the file", "a file",
                                  "Delete it if it is an id or index (or name it with `id_column:`).")  # fmt: skip
        if note:
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())


def rising_column_note(column: str, values: list[str], where: str, sorted_as: str, fix: str) -> str | None:
    """Said of a feature column (``column``: how to name it) whose ``values`` (as text) are the row
    numbers, or count up or rise from every row to the next as an id does: as a feature it tells
    the model where a row sits in ``where`` (in ``sorted_as`` sorted by class, its label)."""
    if not (len(values) >= 20 and (_counts_up(values) or _rises(values))):
        return None
    what = ("holds the row numbers" if _row_numbers(values) else "counts up by one from row to row, as an id does"
            if _counts_up(values) else "holds whole numbers that rise from every row to the next, as an id does")
    return (f"{column} {what} ({values[0]}..{values[-1]}); as a feature it tells the model where a row sits in "
            f"{where} (in {sorted_as} sorted by class, its label). {fix}")


def small_uint8_note(x: np.ndarray, what: str, fix: str) -> str | None:
    """uint8 inputs are read as 0..255; a note when their values stay small (e.g. 0..16
    stored as uint8), which that reads as near-black. ``fix``: how to keep their own range."""
    if x.size == 0 or not 0 < float(x.max()) < 32:  # all black is dark, not on another scale
        return None
    return (f"{what} is uint8, read as 0..255, but its values only reach {int(x.max())}; if they are on another "
            f"scale (e.g. 0..16), {fix} so the range is taken from the data.")


def _text_and_label_hint(header: list[str], body: list[list[str]], rows: int = 50) -> str:
    """When two or more columns hold words, not numbers: which looks like the texts (the
    longest values) and which like the labels (the fewest distinct values), for one message
    that names both options, not two round trips."""
    head = [r for r in body[:rows] if len(r) == len(header)]
    wordy = [j for j in range(len(header)) if head and not all(_is_number(r[j]) for r in head if r[j].strip())]
    if len(wordy) < 2:
        return ""
    text = max(wordy, key=lambda j: sum(len(r[j]) for r in head))
    label = min((j for j in wordy if j != text), key=lambda j: len({r[j] for r in head}))
    return (f", e.g. label_column: {header[label]}; and the texts, if a column holds them, with `text_column:`, "
            f"e.g. text_column: {header[text]} (with a text encoder as the source)")


def load_csv(path: Path, label_column: str, id_column: str | None = None, only_columns: list[str] | None = None) -> Domain:
    header, body = read_csv_rows(path)
    if id_column is not None and id_column not in header:
        raise TransferkitError(f"{path}: no column {id_column!r}, the id_column (columns: {_names(header)}).",
                               "name the column that holds the rows' ids, or leave id_column out.")  # fmt: skip
    if id_column is not None and id_column == label_column:
        raise TransferkitError(f"{path}: id_column and label_column are both {id_column!r}.",
                               "the id column names rows; the label column holds their classes: give two columns.")  # fmt: skip
    if label_column not in header:
        if looks_like_prose(header, body):
            raise TransferkitError(f"{path}: no label column {label_column!r}, and its first row ({_cells(header)}) "
                                   "holds a text, not column names: the file seems to have no header row.",
                                   NO_HEADER_FIX + ".")  # fmt: skip
        if len(header) > 1 and (_looks_like_data(header[:-1]) or _looks_like_data(header[1:])):  # a label at one end
            raise TransferkitError(
                f"{path}: no label column {label_column!r}, and its first row ({_cells(header)}) holds values, not "
                "column names: the file seems to have no header row.",
                "add a header row naming the columns (e.g. x0,x1,...,label); if that row is the header, name its "
                "label column with `label_column:`.",
            )
        spaced = spaced_name(header, label_column)
        if spaced:
            raise TransferkitError(f"{path}: no label column {label_column!r} (columns: {_names(header)}): {spaced[0]}",
                                   spaced[1])  # fmt: skip
        raise TransferkitError(
            f"{path}: no label column {label_column!r} (columns: {_names(header)}).",
            "name the label column with `label_column:` in the experiment file (for rank: `--label-column` of the "
            "target, `--source-label-column` of a --source)"
            + _text_and_label_hint(header, body) + f"; a file with no labels at all: {UNLABELLED}.",
        )  # (a trial's unlabelled target CSV at shots: [0] was only told to rename its label column)
    li = header.index(label_column)
    skip = {li} | ({header.index(id_column)} if id_column is not None else set())  # never features
    named = [c for j, c in enumerate(header) if j not in skip]
    if only_columns and columns_read(named, list(only_columns)) is not None:  # all of the source's, and more
        extra = [c for c in named if c not in set(only_columns)]  # text ones too ('site'): never read, so never parsed
        warnings.warn(left_out_note(str(path), extra), TransferkitWarning, stacklevel=user_stacklevel())
        skip |= {header.index(c) for c in extra}
    check_index_columns(path, header, body, skip)
    raw_labels = [r[li].strip() for r in body]  # "Mix " is "Mix": not a class of its own
    empty = [i + 1 for i, v in enumerate(raw_labels) if not v.strip()]  # data rows, blank lines not counted
    if empty:
        raise TransferkitError(
            f"{path}: {len(empty)} row(s) have no label in column {label_column!r} (data rows {empty[:5]}).",
            "fill in their labels or remove those rows.",
        )
    missing_label_markers(raw_labels, str(path), f" in column {label_column!r}")
    x = csv_features(path, header, body, skip)
    try:  # (float() reads '18_25' as 1825: a label with '_' is a name)
        numbers = None if any("_" in v for v in raw_labels) else np.asarray([float(v) for v in raw_labels])
    except ValueError:  # string labels: names, sorted
        numbers = None
    if numbers is None:
        classes, numbered = sorted(set(raw_labels)), False
        y = np.asarray([classes.index(v) for v in raw_labels], dtype=np.int64)
    else:
        odd = ~np.isfinite(numbers) | (numbers != np.round(numbers))
        if odd.any():  # 0.5 or 2.12 would silently become class names
            i = int(np.argmax(odd))
            raise TransferkitError(
                f"{path}: column {label_column!r} holds numbers that are not whole, such as {raw_labels[i]!r} "
                f"(data row {i + 1}); class labels are names or whole numbers.",
                "write class names or whole numbers there; if it is a quantity to predict (regression), bin it "
                "into classes first.",
            )
        one_spelling_per_number([v.strip() for v in raw_labels], numbers.astype(np.int64).tolist(),
                                f"{path}: column {label_column!r}")  # fmt: skip
        values, y = np.unique(numbers.astype(np.int64), return_inverse=True)
        classes, y, numbered = [str(v) for v in values], y.astype(np.int64), True
    columns = [c for j, c in enumerate(header) if j not in skip]
    return Domain(str(path), x, y, classes, value_range(x) if np.isfinite(x).all() else (0.0, 1.0),
                  {"columns": columns, RANGE_FROM_DATA: True, CLASSES_FROM_LABELS: numbered})  # fmt: skip
