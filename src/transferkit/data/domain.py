"""A domain: a named, labelled data set as loaded, before any preprocessing."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from transferkit.errors import TransferkitError

ROWS = "rows"  # meta key: each example's row in the data as loaded, when a class subset or a sample was taken
SAMPLED = "sampled"  # meta key: {"kept", "of", "max_per_class"} where max_per_class left examples out


def file_rows(domain) -> np.ndarray:
    """Each example's row in the data as loaded (its file's example order), through class subsets
    and samples (``target.classes``, ``target.max_per_class``): what ``test_results.csv`` names
    as ``target_row``, which was the row in the subset (2 % of a new user's test rows pointed at
    their own example in the file)."""
    rows = domain.meta.get(ROWS)
    return np.arange(len(domain.y)) if rows is None else np.asarray(rows)


def subset_meta(meta: dict) -> dict:
    """A domain's meta for a class subset of it: its ``draw_order`` (an order of the old class
    ids, data/splits.py) is left out, as the ids are renumbered."""
    return {k: v for k, v in meta.items() if k != "draw_order"}


def subset_name(name: str, classes) -> str:
    """A class subset's name: the data set's, with the classes kept in brackets; past 10 of them, the first 5 and
    the count (a trial's 46 TREC types were spelled out in every warning and the report's Target line)."""
    listed = [str(c) for c in classes]
    inside = ",".join(listed) if len(listed) <= 10 else ",".join(listed[:5]) + f",... ({len(listed)} classes)"
    return f"{name}[{inside}]"


@dataclass(frozen=True)
class Domain:
    """A labelled data set in its natural form.

    Attributes:
        name: How the user named it (a built-in name or a path).
        x: Inputs, float32. Images are (N, C, H, W); vectors are (N, D).
        y: Integer labels (N,) in ``0 .. len(classes) - 1``.
        classes: Class names; ``classes[i]`` names label ``i``.
        value_range: The natural range of ``x`` (e.g. ``(0, 255)`` for 8-bit images);
            preprocessing maps it to ``[0, 1]``.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    value_range: tuple[float, float] = (0.0, 1.0)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_arrays(self.x, self.y, self.classes, self.name)

    @property
    def is_image(self) -> bool:
        return self.x.ndim == 4

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:  # the arrays' summary, not their values
        kind = "images" if self.is_image else "vectors"
        classes = self.classes if len(self.classes) <= 6 else [*self.classes[:5], "..."]
        return (f"Domain({self.name!r}: {len(self.y)} {kind} of shape {self.input_shape}, "
                f"{len(self.classes)} classes {classes}, values {self.value_range[0]:g}..{self.value_range[1]:g})")

    def fingerprint(self) -> str:
        """A hash of the content: what determines a model trained on this domain."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.x).tobytes())
        h.update(np.ascontiguousarray(self.y).tobytes())
        h.update("\n".join(self.classes).encode())
        h.update(repr(self.value_range).encode())
        return h.hexdigest()[:16]

    def content_fingerprint(self) -> str:
        """A hash of the examples alone (inputs, labels, class names), not of the value range:
        the same rows loaded on their own or as a class subset of a larger file (which keeps
        the file's range) are the same examples, whatever order the classes were listed in."""
        order = sorted(range(len(self.classes)), key=lambda c: self.classes[c])
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))  # each label's place among the classes sorted by name
        h = hashlib.sha256(b"content")
        h.update(str(self.x.shape).encode() + str(self.x.dtype).encode())
        h.update(np.ascontiguousarray(self.x).tobytes())
        h.update(np.ascontiguousarray(rank[np.asarray(self.y, dtype=np.int64)]).tobytes())
        h.update("\n".join(sorted(self.classes)).encode())
        return h.hexdigest()[:16]

    def select(self, idx: np.ndarray) -> Domain:
        """The examples at ``idx`` (same classes)."""
        return Domain(self.name, self.x[idx], self.y[idx], self.classes, self.value_range,
                      {**self.meta, ROWS: file_rows(self)[idx]})  # fmt: skip

    def subset(self, classes: list[int | str]) -> Domain:
        """Keep only ``classes`` (indices or names), relabelled ``0 .. len(classes) - 1``."""
        idx = [self._class_index(c) for c in classes]
        if len(set(idx)) != len(idx):
            raise TransferkitError(
                f"{self.name}: class list {classes} repeats a class.", "list each class once."
            )
        if len(idx) < 2:
            raise TransferkitError(
                f"{self.name}: a class subset needs at least 2 classes, got {classes}.",
                "list two or more classes.",
            )
        keep = np.isin(self.y, idx)
        remap = np.full(self.num_classes, -1, dtype=np.int64)
        remap[idx] = np.arange(len(idx))
        return Domain(
            name=subset_name(self.name, classes),
            x=self.x[keep],
            y=remap[self.y[keep]],
            classes=[self.classes[i] for i in idx],
            value_range=self.value_range,
            meta={**subset_meta(self.meta), "parent": self.name, "parent_classes": idx, ROWS: file_rows(self)[keep]},
        )

    def _class_index(self, c: int | str) -> int:
        """A class given by name or index; when every class name is a whole number (folders
        ``1``, ``2``, ``3``; numeric CSV labels), a whole number is a name, never a position."""
        if isinstance(c, str) and c in self.classes:
            return self.classes.index(c)
        nfc = [unicodedata.normalize("NFC", n) for n in self.classes]  # 'café' typed (NFC) for a macOS-made 'café' (NFD)
        if isinstance(c, str) and nfc.count(unicodedata.normalize("NFC", c)) == 1:
            return nfc.index(unicodedata.normalize("NFC", c))
        if isinstance(c, bool):  # YAML's yes/no, true/false: neither a name nor a position
            raise TransferkitError(f"{self.name}: class {c!r} is a truth value, not a class.",
                                   f"list classes by name ({self.classes[:5]}) or by position.")  # fmt: skip
        whole = [n for n in self.classes if re.fullmatch(r"[+-]?\d+", n.strip())]
        numbered = {int(n): self.classes.index(n) for n in whole}
        if len(whole) == len(self.classes) and len(numbered) < len(whole) and not isinstance(c, str):
            raise TransferkitError(
                f"{self.name}: class {c!r} is ambiguous: several class names are the same number ({self.classes}).",
                "list the classes by their names as strings in quotes (e.g. '01').",
            )
        if len(numbered) == len(self.classes):
            try:
                value = int(c) if float(c) == int(float(c)) else None
            except (TypeError, ValueError, OverflowError):
                value = None
            if value in numbered:
                return numbered[value]
            raise TransferkitError(
                f"{self.name}: no class named {c!r}; its classes are named by numbers: {self.classes}.",
                "list classes by these names (whole numbers here are names, not positions).",
            )
        try:
            i = int(c)
        except (TypeError, ValueError):
            raise TransferkitError(
                f"{self.name}: unknown class {c!r}.", f"use an index or one of {self.classes}."
            ) from None
        if not 0 <= i < self.num_classes:
            raise TransferkitError(
                f"{self.name}: class index {i} is out of range 0..{self.num_classes - 1}.",
                "use an index of an existing class.",
            )
        return i


def check_not_one_hot(y: np.ndarray, n: int, name: str) -> None:
    """A (N, C) y with C > 1 is one-hot labels or class scores: say so, with the fix."""
    if y.ndim == 2 and len(y) == n and y.shape[1] > 1:
        raise TransferkitError(
            f"{name}: y has shape {y.shape}: one row per example, as one-hot or per-class scores, not one label each.",
            "give y as a 1-D array of class indices (for one-hot labels: y.argmax(1)).",
        )


def validate_arrays(x: np.ndarray, y: np.ndarray, classes: list[str], name: str) -> None:
    """Check shapes, dtypes and values; raise a one-line error naming the problem."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32:
        raise TransferkitError(f"{name}: x must be a float32 numpy array, got {type(x).__name__}.", "pass x as a numpy array, e.g. np.asarray(x, dtype=np.float32).")
    if x.ndim not in (2, 4):
        raise TransferkitError(
            f"{name}: x has shape {x.shape}; expected (N, D) vectors or (N, C, H, W) images.",
            "reshape x to (N,H,W), (N,C,H,W) or (N,D)" + (" (one value per example: x.reshape(-1, 1))." if x.ndim == 1 else "."),
        )
    if len(x) == 0:
        raise TransferkitError(f"{name}: the data set is empty.", "give at least one example per class.")
    check_not_one_hot(y, len(x), name)
    if y.ndim != 1 or len(y) != len(x):
        column = y.ndim == 2 and y.shape == (len(x), 1)  # one label per example, in a column
        turned = y.ndim == 1 and x.ndim == 2 and x.shape[1] == len(y)  # x stored (D, N): one column per example
        raise TransferkitError(
            f"{name}: y has shape {y.shape}" + (", a column, not a 1-D array of labels." if column
                                                else f" but x has {len(x)} examples."),
            "give one label per example: y as a 1-D array as long as x" + (" (y.ravel())." if column else
            f"; x of shape {x.shape} has as many columns as y has labels: if each column is an example, store x.T."
            if turned else "."),
        )  # fmt: skip
    if not np.issubdtype(y.dtype, np.integer):
        raise TransferkitError(f"{name}: labels must be integers, got dtype {y.dtype}.", "store y as integer class indices 0..C-1.")
    if y.min() < 0 or y.max() >= len(classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        raise TransferkitError(
            f"{name}: label {bad} is out of range 0..{len(classes) - 1} ({len(classes)} classes).",
            "labels must be 0..C-1, or list all class names in `classes`.",
        )
    if not np.isfinite(x).all():
        bad = np.flatnonzero((~np.isfinite(x)).reshape(len(x), -1).any(axis=1))
        which = "1 example contains" if len(bad) == 1 else f"{len(bad)} examples contain"
        table = str(name).lower().endswith((".csv", ".tsv"))
        padded = "" if table else nan_padded(x)
        raise TransferkitError(
            f"{name}: {which} NaN or Inf values, the first is example {bad[0]} counting from 0"
            + (f" (data row {bad[0] + 1} of the file)" if table else "") + (PADDED[padded] if padded else "."),
            PADDED_FIX if padded else "remove or impute them before transfer.",
        )


PADDED = {  # by nan_padded's side: aeon's and sktime's convention pads the end; series aligned to the end, the start
    "end": ("; in each, the NaN come after the values, to the end: series of unequal lengths padded to one (aeon's "
            "and sktime's convention)."),
    "start": ("; in each, the NaN come before the values, from the start: series of unequal lengths aligned to "
              "their ends and padded to one."),
}
PADDED_FIX = ("resample each series to one length first (e.g. np.interp over its own values), as the model reads "
              "series of one length; padding would be read as values.")


def nan_padded(x: np.ndarray) -> str:
    """Where every non-finite value of ``x`` is a NaN in a run at one end of each series (along
    the last axis), the same end in all: ``"end"`` (after the values) or ``"start"`` (before
    them, series aligned to their ends), for unequal lengths padded with NaN, not missing
    readings; ``""`` otherwise. For (N, D) arrays, which may be tables (a missing value in the
    last columns ends its row too), only when the runs are of at least two lengths and one is 3
    values or longer, as recordings of other lengths are. For (N, C, L) arrays, which may be
    images, only when every channel of an example has the same run, beside at least one value,
    and some run is 3 values or longer."""
    x = np.asarray(x)
    bad = ~np.isfinite(x)
    if not bad.any() or np.isinf(x[bad]).any() or x.ndim < 2:
        return ""
    steps = np.diff(bad.astype(np.int8), axis=-1)
    side = "end" if (steps >= 0).all() else "start" if (steps <= 0).all() else ""  # once NaN, NaN to the end; or back
    if not side:
        return ""
    if x.ndim > 2:  # (N, channels, L): each example's channels padded alike, beside some values
        runs = bad.reshape(len(x), -1, x.shape[-1]).sum(axis=-1)  # (N, channels) run lengths
        runs = runs[runs.any(axis=1)]
        same = (runs == runs[:, :1]).all()  # an image's stray NaN at the end of one row is not
        return side if same and (runs < x.shape[-1]).all() and int(runs.max()) >= 3 else ""
    runs = bad.sum(axis=1)
    runs = runs[runs > 0]  # a table's optional last columns leave runs of 1 or 2; recordings, longer ones
    return side if len(np.unique(runs)) >= 2 and int(runs.max()) >= 3 else ""
