"""The experiment file: pydantic-validated YAML, the same fields the Python API takes.

Relative data paths are resolved against the experiment file's folder first, then the
working directory. ``--set key=value`` overrides any field (dotted keys, YAML values).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator, model_validator

from transferkit.errors import BOUNDS, TransferkitError, colon_hint, colon_text_hint, did_you_mean
from transferkit.shots import ALL, Shots, shots_order
from transferkit.strict_numbers import NoTruthValues


class Strict(NoTruthValues):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # `lr: .inf` diverged in training, named elsewhere


class DataConfig(Strict):
    data: str = Field(description="built-in domain name (see `transferkit list`) or a path")
    classes: list[int | str] | None = Field(None, description="keep only these classes (a new task)")
    label_column: str = "label"
    text_column: str = Field("text", description="text column of a CSV/JSONL text data set")
    id_column: str | None = Field(None, description="a CSV column that names the rows (an id): never read as a "
                                  "feature; predict names its rows by it too")
    max_per_class: int | None = Field(None, ge=1, description="subsample large data sets")
    invert: bool = Field(False, description="images: read x as max - x (dark on light <-> light on dark); predict too")
    image_shape: list[int] | None = Field(
        None, description="read each row of a table (N, D) as an image: [H, W], [C, H, W] or [H, W, C] (channels "
        "last: a row's pixels each give their C values in turn), C*H*W = D, rows in row-major order (pixel CSVs such "
        "as Kaggle's MNIST); predict reads its tables so too",
    )

    @field_validator("classes", mode="before")
    @classmethod
    def _class_spec(cls, v: Any) -> Any:
        """``"0-4"`` or ``"cat,dog"``, as rank's --classes and a file's brackets take them, is the list."""
        if isinstance(v, str):
            from transferkit.data.builtin import parse_class_spec

            if not v.replace(",", "").strip():
                raise ValueError('lists no class; write e.g. "0-4", "cat,dog" or a list')
            try:
                return parse_class_spec(v, "classes")
            except TransferkitError as e:
                raise ValueError(f"{e.problem.rstrip('.')}; {e.fix}") from None
        return v

    @field_validator("image_shape")
    @classmethod
    def _image_shape(cls, v: list[int] | None) -> list[int] | None:
        channels = (1, 3, 4)
        if v is not None and (len(v) not in (2, 3) or any(s < 1 for s in v)
                              or (len(v) == 3 and v[0] not in channels and v[2] not in channels)):  # fmt: skip
            raise ValueError("image_shape must be [H, W], [C, H, W] or [H, W, C] with C = 1, 3 or 4 and every side >= 1")
        return v


class SourceConfig(DataConfig):
    data: str | None = Field(None, description="source data; optional with `pretrained`")
    pretrained: str | None = Field(None, description="pretrained shared layers: mobilenet_v2_imagenet, timm:<model>, hf:<model>")
    weights: str | None = Field(None, description="local checkpoint file or model folder for `pretrained`")
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(2e-3, gt=0)
    shared_lr_mult: float = Field(0.05, gt=0, description="with `pretrained` and `data`: shared layers train at lr x this")
    weight_decay: float = Field(1e-4, ge=0)
    augment: bool | Literal["affine"] = Field(
        True, description="true: random shifts; affine: also rotation and scale of each axis; false: none (docs/config.md)"
    )
    cache: bool = True
    resolution: Literal["match", "native"] = Field(
        "match", description="bring the source down to the target's effective resolution when lower (docs/protocol.md)"
    )

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_kind(cls, v: Any) -> Any:
        word = v.strip().lower() if isinstance(v, str) else v
        if isinstance(v, bool) or word in (0, 1, "affine", "true", "false", "yes", "no", "on", "off"):
            return word
        raise ValueError("must be true (random shifts), false (none) or affine (shifts, rotation and scale)")

    @model_validator(mode="after")
    def _data_or_pretrained(self) -> SourceConfig:
        if self.data is None and self.pretrained is None:
            raise ValueError("give `data` (a source data set), `pretrained` (a pretrained model), or both")
        if self.weights is not None and self.pretrained is None:  # read only for a pretrained source: silently unused
            raise ValueError("`weights` is the checkpoint of a `pretrained` source; name that source too (e.g. "
                             "pretrained: mobilenet_v2_imagenet), or leave `weights` out")
        if self.pretrained is not None:
            from transferkit.pretrained.registry import SOURCES

            if self.pretrained not in SOURCES and not self.pretrained.startswith(("timm:", "hf:")):
                raise ValueError(f"unknown pretrained source {self.pretrained!r}; use one of: "
                                 f"{', '.join(sorted(SOURCES))}, timm:<model>, hf:<hub id or folder>")
        return self


def one_or_list(v: Any, field: str, example: str) -> Any:
    """A whole number as a list of one; a list as it is; anything else refused in words (pydantic
    said only "Input should be a valid list", as if one value could not be given)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return [v]
    if isinstance(v, (list, tuple)):
        return v
    raise ValueError(f"{field} must be a whole number or a list of whole numbers, e.g. {example}")


class TargetConfig(DataConfig):
    shots: list[Shots] = Field(default_factory=lambda: [1, 5, 10],
                               description="labelled examples per class: whole numbers, and `all` (every "
                               "training-pool example)")  # fmt: skip
    pad: int | Literal["auto"] = Field("auto", description="border in pixels, or match the source's framing")
    test_fraction: float = Field(0.3, gt=0, lt=1)
    split_seed: int = Field(0, ge=0, lt=2**32)  # numpy's and torch's seeds: 0 .. 2**32 - 1

    @field_validator("shots", mode="before")
    @classmethod
    def _one_k(cls, v):
        """``shots: 5`` is one k, as ``shots: [5]`` (a list is what several take); ``all``, in any case, alone or
        in the list, labels every training-pool example (:mod:`transferkit.shots`)."""
        v = one_or_list([v] if isinstance(v, str) else v, "shots", "[1, 5, 10]")
        return [_k_word(k) for k in v] if isinstance(v, list) else v

    @field_validator("shots")
    @classmethod
    def _shots(cls, v: list[Shots]) -> list[Shots]:
        if not v or any(k != ALL and k < 0 for k in v):
            raise ValueError("shots must be a non-empty list of integers >= 0, or all; write e.g. shots: [1, 5, all] "
                             "(0: no target labels; all: every training-pool example)")
        repeated = sorted({k for k in v if v.count(k) > 1}, key=shots_order)
        if repeated:  # as for seeds and methods: a repeat is a typo more often than a wish
            raise ValueError(f"shots must be distinct, {repeated} repeat(s); list each k once (all at most once)")
        return sorted(v, key=shots_order)


def _k_word(k: Any) -> Any:
    """One k as written: ``all`` in any case is ``"all"``; a number in a string is left to pydantic (``"5"`` is 5,
    as before); any other word is refused here in words (pydantic said "Input should be a valid integer ... or
    input should be 'all'")."""
    if not isinstance(k, str):
        return k
    if k.strip().lower() == ALL:
        return ALL
    if re.fullmatch(r"\s*[+-]?\d+\s*", k):
        return k
    raise ValueError(f"k {k!r} is neither a whole number nor all; write whole numbers >= 0 and at most one "
                     "all (every training-pool example), e.g. shots: [1, 5, all]")


class ModelConfig(Strict):
    shared: str = Field("auto", description="shared-layer architecture (see `transferkit list`)")
    options: dict[str, Any] = Field(default_factory=dict)
    head_hidden: int = Field(0, ge=0)
    input_shape: list[PositiveInt] | None = Field(None, min_length=1, description="default: the source's input shape")


class MethodSpec(Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class RunFields(Strict):
    """What `run` and `fewshot` experiments share: ``seeds`` (a count or a list of distinct
    seeds in numpy's range) and ``name`` (a plain folder name under runs/)."""

    @field_validator("seeds", mode="before", check_fields=False)
    @classmethod
    def _seeds(cls, v: Any) -> Any:
        return seeds_from_count(v)

    @field_validator("seeds", check_fields=False)
    @classmethod
    def _seed_values(cls, v: list[int]) -> list[int]:
        return checked_seeds(v)

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, v: str) -> str:
        return run_name(v)


class ExperimentConfig(RunFields):
    name: str = Field("experiment", min_length=1, description="the run folder's name under runs/ (no path)")
    source: SourceConfig | None = None
    target: TargetConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    methods: list[MethodSpec] = Field(default_factory=lambda: [MethodSpec(name=n) for n in ("scratch", "head", "finetune")])
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    deploy: str | None = Field(None, description="method whose model `predict` uses (default: auto, else finetune, else the first that is not scratch or source_only)")
    device: str = "auto"
    save_models: bool = True
    class_weight: Literal["balanced"] | None = Field(
        None, description="balanced: each class weighs alike in the losses on the labelled examples (for uneven "
        "labels, e.g. `shots: all` of an imbalanced target); null: each example alike",
    )

    @field_validator("class_weight", mode="before")
    @classmethod
    def _class_weight(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and v.strip().lower() == "balanced"):
            return None if v is None else "balanced"
        raise ValueError("class_weight must be null (each labelled example weighs alike) or balanced (each class "
                         "alike); write class_weight: balanced, or leave it out")

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, v: Any) -> Any:
        return method_specs(v)

    @property
    def method_names(self) -> list[str]:
        return [m.name for m in self.methods]


def parse_set(pairs: list[str] | dict[str, Any] | str) -> dict[str, Any]:
    """Overrides as {dotted key: value}: from ``key=value`` strings (``--set``; values read as
    YAML), one such string, or a dict (the Python API's ``overrides={"seeds": 2}``)."""
    if isinstance(pairs, dict):
        return {str(k): v for k, v in pairs.items()}
    if isinstance(pairs, str):
        pairs = [pairs]
    out: dict[str, Any] = {}
    for pair in pairs:
        if not isinstance(pair, str):
            raise TransferkitError(f"override {pair!r} is not a key=value string.",
                                   'give overrides as ["seeds=5", ...] or as a dict {"seeds": 5}.')  # fmt: skip
        if "=" not in pair or not pair.split("=", 1)[0].strip():
            raise TransferkitError(f"--set {pair!r} is not key=value.", "write e.g. --set seeds=5.")
        key, raw = pair.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def apply_overrides(raw: dict, overrides: dict[str, Any]) -> dict:
    for key, value in overrides.items():
        node = raw
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {}) if not (i == 0 and part == "methods") else node.get(part, [])
            if not isinstance(node, dict):
                if part == "methods":  # a list: set it whole (also when the file has none: a section made of
                    # the key had replaced the default list with one method, and dropped scratch, without a word)
                    named = len(parts) == 3 and not parts[1].isdigit()
                    example = (f"[scratch, {{{parts[1]}: {{{parts[2]}: {json.dumps(value)}}}}}]" if named
                               else "[scratch, {finetune: {steps: 50}}]")  # fmt: skip
                    raise TransferkitError(f"--set {key}: 'methods' is a list, not a section with keys.",
                                           f"set the whole list, every method to run (it replaces the file's), "
                                           f"e.g. --set 'methods={example}'.")  # fmt: skip
                raise TransferkitError(f"--set {key}: {part!r} is not a section.", "check the key path.")
        node[parts[-1]] = value
    return raw


def checked_seeds(v: list[int]) -> list[int]:
    """Seeds as numbers: each in numpy's and torch's range, and distinct as numbers (``"1"`` and
    ``1`` are one seed; the check before conversion saw two)."""
    if any(s < 0 or s >= 2**32 for s in v):
        raise ValueError("seeds must be whole numbers from 0 to 4294967295 (2**32 - 1)")
    repeated = sorted({s for s in v if v.count(s) > 1})
    if repeated:
        raise ValueError(f"seeds must be distinct, {repeated} repeat(s)")
    return v


def run_name(v: str) -> str:
    """A run's name becomes a folder under runs/: one plain name, not a path, no control characters."""
    if "/" in v or "\\" in v or v in (".", "..") or any(ord(c) < 32 for c in v):
        raise ValueError("the name must be a plain folder name (no '/', '\\', '..' or line breaks); choose the "
                         "folder itself with --out")
    return v


def seeds_from_count(v: Any) -> Any:
    """``seeds: 3`` means seeds [0, 1, 2]; a list is kept as written; anything else is named as
    neither (``seeds: true`` was told "Input should be a valid list", where a count is the usual form)."""
    if isinstance(v, (tuple, range)):  # seeds=range(5) from Python
        v = list(v)
    if isinstance(v, bool) or not isinstance(v, (int, list)):
        raise ValueError("seeds is a count (seeds: 3 runs seeds 0, 1, 2) or a list of seeds (seeds: [0, 1, 2]); "
                         "give one of those")  # fmt: skip
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 1:
            raise ValueError("seeds must be >= 1")
        if v > 10_000:  # each seed is a full run of every method: a count this large is a typo
            raise ValueError("seeds, a count, must be at most 10000 (list the seeds to run others)")
        return list(range(v))
    if isinstance(v, list):
        if not v:
            raise ValueError("seeds must list at least one seed (or give a count: seeds: 3)")
        repeated = sorted({s for s in v if v.count(s) > 1}, key=str)
        if repeated:  # a repeated seed repeats the same run and would narrow the interval for nothing
            raise ValueError(f"seeds must be distinct, {repeated} repeat(s)")
    return v


def validate(raw: dict, where: str = "experiment") -> ExperimentConfig:
    if isinstance(raw, dict) and "fewshot" in raw and "fewshot" not in ExperimentConfig.model_fields:
        raise TransferkitError(f"{where}: has a `fewshot` section: it is a few-shot experiment, which `run` does not "
                               "read.", "run it with `transferkit fewshot FILE` (docs/fewshot.md).")  # fmt: skip
    _check_method_names(raw, where)
    cfg = validate_as(ExperimentConfig, raw, where, "see configs/ and docs/config.md for valid fields.")
    from transferkit.methods import get_method

    bad = []
    for m in cfg.methods:  # a mistyped parameter fails here, before any data is read or model trained
        try:
            get_method(m.name, **m.params)
        except TransferkitError as e:
            bad.append((m.name, e))
    if bad:  # all of them at once, as the fields are
        name, first = bad[0]
        also = f" Also invalid: the parameters of {', '.join(repr(n) for n, _ in bad[1:])}." if len(bad) > 1 else ""
        raise TransferkitError(first.problem.rstrip() + also, first.fix) from None
    return cfg


def _check_method_names(raw: Any, where: str) -> None:
    """An unknown method name first: before its parameters' shape, and before any data is read."""
    from transferkit.methods import get_method  # noqa: F401 -- importing the package registers every method
    from transferkit.methods.base import METHODS

    methods = raw.get("methods") if isinstance(raw, dict) else None
    unknown = []
    for i, m in enumerate(methods if isinstance(methods, list) else []):
        name = m if isinstance(m, str) else None
        if isinstance(m, dict):
            name = m.get("name") if "name" in m else (next(iter(m)) if len(m) == 1 else None)
        if isinstance(name, str) and name not in METHODS:
            unknown.append((i, name))
    if unknown:  # every unknown name at once
        (i, name), rest = unknown[0], unknown[1:]
        also = f" Also unknown: {', '.join(f'`methods.{j}` {n!r}' for j, n in rest)}." if rest else ""
        from transferkit.fewshot.registry import FEWSHOT_METHODS

        episodic = [n for _, n in unknown if n in FEWSHOT_METHODS]  # e.g. logistic: scored on episodes, never deployed
        if episodic:
            are = "is a few-shot method" if len(episodic) == 1 else "are few-shot methods"
            also += (f" {', '.join(map(repr, episodic))} {are}: `transferkit fewshot` scores "
                     f"{'it' if len(episodic) == 1 else 'them'} on episodes (docs/fewshot.md).")
        raise TransferkitError(f"{where}: field `methods.{i}`: unknown method {name!r}.{also}",
                               f"use one of: {did_you_mean(name, sorted(METHODS))}.")  # fmt: skip


def method_specs(v: Any) -> Any:
    """A ``methods`` field as a list of ``{name, params}``: each item a name, ``{name: params}`` or
    ``{name:, params:}``; one name alone (``--set methods=head``, as ``shots=3`` is [3]) and a
    mapping of names to parameters (``{head: {}, finetune: {steps: 100}}``) are lists too."""
    if isinstance(v, str):
        v = [v]
    elif isinstance(v, dict) and "name" not in v:
        v = [{name: params} for name, params in v.items()]
    if not isinstance(v, list) or not v:
        raise ValueError("methods must be a non-empty list")
    out = []
    for m in v:
        if isinstance(m, str):
            out.append({"name": m})
        elif isinstance(m, dict) and len(m) == 1 and "name" not in m:
            (name, params), = m.items()
            if params is not None and not isinstance(params, dict):
                fix = colon_text_hint(params) or f"write `- {name}: {{steps: 200}}`, or `- {name}` for its defaults"
                raise ValueError(f"method {name!r} has parameters {params!r}, not a mapping of names to values; "
                                 + fix.removesuffix("."))
            out.append({"name": name, "params": params or {}})
        else:
            out.append(m)
    return out


def validate_as(model: type[BaseModel], raw: dict, where: str, fix: str):
    """``model.model_validate(raw)``, its first error turned into a one-line TransferkitError
    that names the file (``where``), the field and the value."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        errors = [{**x, "loc": _without_union_tags(x["loc"])} for x in e.errors()]
        err = errors[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        msg = err["msg"].removeprefix("Value error, ")  # pydantic's prefix to a validator's own message
        alike = [x["msg"] for x in errors[1:] if x["loc"] == err["loc"] and x["type"] != "value_error"]
        if alike and err["type"] != "value_error":  # `pad: 3.5` fails each member of int | "auto": all said
            msg = " or ".join([msg, *(a[0].lower() + a[1:] for a in alike)])
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"  # a whole section says nothing more
        known = _fields_at(model, err["loc"][:-1]) if err["type"] == "extra_forbidden" else None
        if known:  # a misspelt field: name the valid ones there, closest first
            msg = "no such field"
            fix = f"use one of: {did_you_mean(str(err['loc'][-1]), known)}."
        elif err["type"] == "value_error" and "; " in msg:  # our validators say "problem; fix": not a second fix
            msg, own = msg.rsplit("; ", 1)
            fix = own if own.endswith(".") else own + "."
        elif err["type"] in BOUNDS and "ctx" in err:  # a value out of range: the range, not an example file
            key, words = BOUNDS[err["type"]]
            fix = f"set {field} to {words.format(float(err['ctx'][key]))}."
        if " with --set " in where:  # name the overrides only when the field is one of them
            named, keys = where.split(" with --set ", 1)
            if not any(field == k or field.startswith(k + ".") or k.startswith(field + ".") for k in keys.split(", ")):
                where = named
        text = f"{where}: field `{field}`: {msg}{got_s}"
        text = text if text.endswith(".") else text + "."
        others = list(dict.fromkeys(_field_label(x) for x in errors if x["loc"] != err["loc"]))
        others = [o for o in others if o != f"`{field.rstrip('.0123456789')}`"]  # another item of the same list
        if others:  # all at once, not one run per mistake (each field is said in full when it comes first)
            text += f" Also invalid: {', '.join(others[:5])}{', ...' if len(others) > 5 else ''}."
        colon = next((h for x in errors if x["type"] == "extra_forbidden" and x["loc"]
                      and (x is err or (err["type"] == "missing" and x["loc"][:-1] == err["loc"][:-1]))
                      and (h := colon_hint(x["loc"][-1], x.get("input")))), None)  # fmt: skip
        if colon is None and err["type"] in ("dict_type", "model_type"):  # block style: `data:optdigits` as text
            colon = colon_text_hint(got)
        fix = colon or fix  # `{data:optdigits}`: the missing `data` beside it is that colon's doing
        raise TransferkitError(text, fix) from None


def _field_label(error: dict) -> str:
    """A field as the "Also invalid" list names it: the items of a list as the list (``target.shots``, not each
    ``target.shots.1``), a misspelt field as such."""
    loc = list(error["loc"])
    while loc and isinstance(loc[-1], int):
        loc.pop()
    label = f"`{'.'.join(str(p) for p in loc) or '(top level)'}`"
    return label + {"extra_forbidden": " (no such field)", "missing": " (missing)"}.get(error["type"], "")


_UNION_TAG = re.compile(r"^(int|float|str|bool|none|(list|dict|tuple|set|literal|function-\w+)\[.*\])$")


def _without_union_tags(loc: tuple) -> tuple:
    """pydantic's error location without the union members it tried (`target.pad.int` is the
    field `target.pad`, tried as an int)."""
    return tuple(p for p in loc if not (isinstance(p, str) and _UNION_TAG.match(p)))


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """The field names of the (nested) section of ``model`` at ``loc``, or None if it is not one."""
    import typing

    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        inner = [a for a in (field.annotation, *typing.get_args(field.annotation))
                 if isinstance(a, type) and issubclass(a, BaseModel)]  # fmt: skip
        if not inner:
            return None
        model = inner[0]
    return sorted(model.model_fields)


def read_experiment(
    path: str | Path | None, overrides: list[str] | None, raw: dict | None, example: str
) -> tuple[dict, Path]:
    """The experiment's fields (from ``path``, else ``raw``) with ``--set`` overrides applied,
    and the folder relative data paths are resolved against. ``example`` names a valid file
    for the error messages."""
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        if p.is_dir():
            raise TransferkitError(f"experiment file {str(path)!r} is a folder.",
                                   "give the experiment's .yaml file; data folders go in its `data:` fields.")  # fmt: skip
        if not p.is_file():
            raise TransferkitError(f"experiment file {str(path)!r} does not exist.", "give the path to a .yaml file.")
        try:
            raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 -- a SafeLoader
        except UnicodeDecodeError:
            raise TransferkitError(f"{p}: not a UTF-8 text file, so not an experiment file.",
                                   "give the experiment's .yaml (saved as UTF-8); data files go in its `data:` "
                                   "fields.") from None  # fmt: skip
        except _DuplicateKey as e:
            raise TransferkitError(f"{p}: field {e.key!r} is given twice (line {e.line}); only the last would count.",
                                   "keep one of them.") from None  # fmt: skip
        except yaml.YAMLError as e:
            line = getattr(getattr(e, "problem_mark", None), "line", None)
            at = f" at line {line + 1}" if line is not None else ""
            what = f" ({e.problem})" if getattr(e, "problem", None) else ""  # e.g. found character '\t' ...
            raise TransferkitError(f"{p}: not valid YAML{at}{what}.", "fix the syntax there (YAML indents with "
                                   "spaces, puts `key: value` one per line, one document per file).") from None  # fmt: skip
        if not isinstance(raw, dict):
            raise TransferkitError(f"{p}: expected a mapping of fields, got {type(raw).__name__}.", f"see {example}.")
        base = p.resolve().parent
    import copy

    return apply_overrides(copy.deepcopy(raw or {}), parse_set(overrides or [])), base  # never the caller's dict


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (plain YAML keeps the last,
    silently: ``methods:`` given twice would run only the second list)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` merges; SafeLoader handles it
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
            except TypeError:  # an unhashable key: the parent class raises its own YAML error
                continue
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path | None, overrides: list[str] | None = None, raw: dict | None = None) -> ExperimentConfig:
    """Read, override and validate an experiment; data paths become absolute."""
    raw, base = read_experiment(path, overrides, raw, "configs/mnist_to_optdigits.yaml")
    cfg = validate(raw, where_of(path, overrides, "experiment"))
    typed = set(parse_set(overrides)) if overrides else set()
    for role, section in (("source", cfg.source), ("target", cfg.target)):
        if section is not None and section.data is not None:
            section.data = resolve_data_path(section.data, base, typed=f"{role}.data" in typed)
    if cfg.source is not None and cfg.source.weights is not None and not Path(cfg.source.weights).is_absolute():
        cfg.source.weights = str((base / cfg.source.weights).resolve())
    return cfg


def where_of(path, overrides, default: str) -> str:
    """How an error names the experiment: its file, and the overrides given with it (a bad
    value may come from ``--set``, not from the file)."""
    keys = list(parse_set(overrides)) if overrides else []
    named = str(path) if path else default
    return f"{named} with --set {', '.join(keys)}" if keys else named


def resolve_data_path(spec: str, base: Path, typed: bool = False) -> str:
    """A relative data path against the experiment file's folder ``base``, then the working
    directory; ``typed`` (given with ``--set``, on the command line) the other way round: a trial's
    `--set target.data=csvd/plain.csv` read the file's folder's copy, not the one it was typed beside."""
    from transferkit.data.builtin import is_builtin

    if is_builtin(spec) and (base / spec).exists() and base.resolve() != Path.cwd().resolve():
        from transferkit.data import builtin_shadows  # (a path beside the working directory: load_domain says it)

        builtin_shadows(spec, base / spec)
    if is_builtin(spec) or Path(spec).is_absolute():
        return spec
    return beside(spec, base, typed)


def beside(spec: str, base: Path, typed: bool = False, exists=Path.exists) -> str:
    """A relative path found against ``base`` (the experiment file's folder), then the working directory
    (``typed`` with ``--set``: the other way round), made absolute; as written when neither has it (the loader
    then reports it missing, naming it so). ``exists``: what counts as being there."""
    for root in (Path.cwd(), base) if typed else (base, Path.cwd()):
        if exists(root / spec):
            return str((root / spec).resolve())
    return spec
