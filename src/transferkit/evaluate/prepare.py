"""Loading and preparing the two domains of an experiment into model-ready tensors."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from transferkit.config import DataConfig, ExperimentConfig
from transferkit.data import Domain, load_domain
from transferkit.data.column_ranges import column_ranges, union_ranges
from transferkit.data.domain import SAMPLED
from transferkit.data.files import RANGE_FROM_DATA, columns_read, left_out_note, order_columns, range_of_rows
from transferkit.data.files import value_range as value_range_of
from transferkit.data.preprocess import (
    Recipe,
    alpha_note,
    apply_recipe,
    colour_note,
    dead_columns_note,
    dead_sensors_note,
    enlarged_note,
    grey_beside_colour_note,
    make_recipe,
    match_resolution,
    mixed_polarity_note,
    outside_range_note,
    polarity_note,
    reads_series,
    shrunk_note,
    stretched_note,
)
from transferkit.data.splits import (
    TestSplit,
    case_twins_note,
    check_not_ids,
    no_test_split,
    numbered_classes_note,
    source_case_twins_note,
    split_target,
)
from transferkit.errors import TransferkitError, TransferkitWarning, collected_warnings, user_stacklevel
from transferkit.models.series import warn_layout


@dataclass
class Prepared:
    source: Domain | None
    target: Domain
    source_recipe: Recipe | None
    target_recipe: Recipe
    xs: torch.Tensor | None  # (Ns, *input_shape)
    ys: torch.Tensor | None
    xt: torch.Tensor  # (Nt, *input_shape)
    yt: torch.Tensor
    split: TestSplit
    input_shape: tuple[int, ...]
    scratch_architecture: str | None = None  # set when it differs from model.shared (pretrained sources)
    notes: list[str] = field(default_factory=list)  # for the report: a target far off the source's value range, colour lost
    source_notes: list[str] = field(default_factory=list)  # for the report: raised while loading the source
    # vectors off the source's scale (warned of): the ranges the models were then trained on,
    # the pool's own and, per column, the source's and the pool's together; saved with the
    # models so that `predict` does not warn of inputs like the run's own target
    fit_ranges: dict | None = None


def load_section(section: DataConfig, seed: int = 0, only_columns: list[str] | None = None,
                 invert: bool = True) -> Domain:  # fmt: skip
    """``only_columns``: the source's feature columns; a target CSV holding them and more leaves the
    others out unread (a text column only the target has, 'site', was refused as not numeric).
    ``invert`` False: ``invert: true`` is left to the caller (a target: :func:`invert_on_pool`, after its split)."""
    domain = load_domain(section.data, section.label_column, section.text_column, section.id_column, only_columns)
    if getattr(section, "image_shape", None):
        domain = rows_as_images(domain, tuple(section.image_shape))
    if section.classes:
        domain = domain.subset(section.classes)
    if section.max_per_class:
        rng = np.random.default_rng(seed)
        keep = np.sort(np.concatenate([
            rng.permutation(np.flatnonzero(domain.y == c))[: section.max_per_class]
            for c in range(domain.num_classes)
        ]))  # fmt: skip
        sampled = {"kept": len(keep), "of": len(domain), "max_per_class": section.max_per_class}
        domain = domain.select(keep)
        if sampled["kept"] < sampled["of"]:  # said in the report: its counts, test split and baselines are the sample's
            domain.meta[SAMPLED] = sampled
    missing = [domain.classes[c] for c in range(domain.num_classes) if not (domain.y == c).any()]
    if missing:
        raise TransferkitError(
            f"{domain.name}: classes {missing[:5]} have no examples.", "remove them from `classes` or add data."
        )
    domain = inverted(domain) if invert and getattr(section, "invert", False) else domain
    for note in (mixed_polarity_note(domain), case_twins_note(domain.classes, domain.name)):
        if note:  # raised while loading: said, and kept for the report with the other loading notes
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    return domain


def image_shape_chw(declared) -> tuple[tuple[int, int, int], bool]:
    """((C, H, W), channels_last) of an ``image_shape``: [H, W] is grey; of three sides the one
    that is 1, 3 or 4 where the other end is not names the channels ([3, 32, 32] channels first,
    [32, 32, 3] channels last; both ends such, e.g. [3, 4, 3], reads channels first)."""
    shape = tuple(int(v) for v in declared)
    if len(shape) == 2:
        return (1, *shape), False
    last = shape[2] in (1, 3, 4) and shape[0] not in (1, 3, 4)
    return ((shape[2], shape[0], shape[1]) if last else shape), last


def reshape_rows(x: np.ndarray, declared) -> np.ndarray:
    """(N, D) rows as (N, C, H, W) images by an ``image_shape`` (see :func:`image_shape_chw`)."""
    (c, h, w), last = image_shape_chw(declared)
    return x.reshape(len(x), h, w, c).transpose(0, 3, 1, 2).copy() if last else x.reshape(len(x), c, h, w)


def rows_as_images(domain: Domain, shape: tuple[int, ...]) -> Domain:
    """A table's rows (N, D) read as images (N, C, H, W) (``image_shape: [H, W]``, ``[C, H, W]``
    or ``[H, W, C]``), each row in row-major order: channel by channel (``x.reshape(N, C, H, W)``)
    or, channels last, pixel by pixel (``x.reshape(N, H, W, C)``, then channels first)."""
    if getattr(domain, "is_text", False) or domain.is_image:
        kind = "texts" if getattr(domain, "is_text", False) else f"images of shape {domain.input_shape}"
        raise TransferkitError(f"{domain.name} holds {kind}; `image_shape` reads the rows of a table as images.",
                               "remove `image_shape` from that section.")  # fmt: skip
    declared, shape = shape, image_shape_chw(shape)[0]
    size = int(np.prod(shape))
    if domain.input_shape[0] != size:
        raise TransferkitError(
            f"{domain.name}: image_shape {list(declared)} holds {size} values but its rows have {domain.input_shape[0]}.",
            "give the shape the rows were flattened from (a row of 784 grey pixels: [28, 28]).",
        )
    meta = {k: v for k, v in domain.meta.items() if k not in ("columns", "column_ranges")}  # pixels, not named features
    return Domain(domain.name, reshape_rows(domain.x, declared), domain.y, domain.classes, domain.value_range, meta)


def inverted(domain: Domain) -> Domain:
    """Images read as max - x (``invert: true``): every later step (framing, background, the polarity
    check, training) sees them inverted; the target's recipe says so, for ``predict``."""
    if not getattr(domain, "is_image", False):
        kind = "texts" if getattr(domain, "is_text", False) else "feature vectors"
        raise TransferkitError(f"{domain.name} holds {kind}; `invert` swaps the ink and background of images.",
                               "remove `invert` from that section.")  # fmt: skip
    lo, hi = domain.value_range
    x = (np.float32(lo) + np.float32(hi) - domain.x).astype(np.float32)
    return Domain(domain.name, x, domain.y, domain.classes, domain.value_range, dict(domain.meta))


def invert_on_pool(target: Domain, pool_idx: np.ndarray) -> Domain:
    """A target read as max - x (``invert: true``) on its pool's range, never the test split's: the range
    of the raw pool, (lo, hi), stays its value range, and each input becomes lo + hi - x, so the model
    reads 1 - (x - lo) / (hi - lo), as ``predict`` does with the target's recipe. (Inverted on the whole
    file's range, one bright test image rescaled every pool input, by 0.46 in a review's case, and the run's
    inputs differed from predict's by up to 0.24 when the pool's darkest value was above 0.)"""
    if not getattr(target, "is_image", False):
        return inverted(target)  # (refused there, naming the kind)
    lo, hi = range_of_rows(target, pool_idx).value_range
    x = (np.float32(lo) + np.float32(hi) - target.x).astype(np.float32)
    meta = {**target.meta, RANGE_FROM_DATA: False}  # the pool's raw range, measured: kept as it is
    return Domain(target.name, x, target.y, target.classes, (lo, hi), meta)


def match_source(source: Domain | None, target: Domain) -> Domain:
    """``target`` arranged like ``source``: named feature columns (CSV) in the source's order,
    matched by name, and, when both have the same class names in another order, its labels
    renumbered into the source's order (so source-trained heads read them right), the target's
    own order kept for the protocol's draws (``draw_order``: the same split with any source)."""
    if source is None:
        return target
    if getattr(target, "is_text", False):  # texts: only the class order to match
        if target.classes == source.classes or sorted(target.classes) != sorted(source.classes):
            return target
        renumber = [source.classes.index(c) for c in target.classes]
        y = np.asarray(renumber, dtype=np.int64)[target.y]
        return type(target)(target.name, target.texts, y, list(source.classes), {**target.meta, "draw_order": renumber})
    x, classes, y, meta = target.x, target.classes, target.y, dict(target.meta)
    named_s, named_t = source.meta.get("columns"), target.meta.get("columns")
    value_range = target.value_range
    keep = columns_read(named_t, named_s) if named_s and named_t else None
    if keep is not None:
        # columns the source lacks: no transferred layer reads them, so none is read (scratch neither:
        # every method sees the same features), as predict leaves out columns its model does not read
        extra = [c for c in named_t if c not in set(named_s)]
        warnings.warn(left_out_note(target.name, extra), TransferkitWarning, stacklevel=user_stacklevel())
        x, named_t = x[:, keep], [named_t[j] for j in keep]
        value_range = value_range_of(x) if np.isfinite(x).all() else value_range
    if named_s and named_t:
        x, meta["columns"] = order_columns(x, named_t, named_s, target.name), named_s
    elif named_s and not named_t and x.ndim == 2 and x.shape[1] == len(named_s):
        # the source's columns have names, the target's (an .npz) none: nothing to match, as predict says (the
        # other way round, make_recipe says it)
        shown = ", ".join(map(str, named_s[:4])) + (f", ... ({len(named_s)} columns)" if len(named_s) > 4 else "")
        warnings.warn(f"{target.name}: its columns have no names and the source's have, so they are read by "
                      f"position, as the source's {shown}: check that they are in that order, or give the target "
                      "as a CSV with a header, whose columns are matched by name.", TransferkitWarning,
                      stacklevel=user_stacklevel())  # fmt: skip
    if classes != source.classes and sorted(classes) == sorted(source.classes):
        renumber = [source.classes.index(c) for c in classes]
        y = np.asarray(renumber, dtype=np.int64)[y]
        classes = list(source.classes)
        meta["draw_order"] = renumber  # the test split and shots are drawn as from the target's own order
    if x is target.x and y is target.y:
        return target
    return Domain(target.name, x, y, classes, value_range, meta)


def check_two_classes(domain, role: str) -> None:
    """A source or target whose examples are all of one class has nothing to learn or tell apart;
    nor a source whose labels read as ids or a measurement (the target's: when it is split)."""
    present = np.unique(domain.y)
    if len(present) < 2:
        raise TransferkitError(
            f"the {role} {domain.name} holds examples of one class only ({domain.classes[int(present[0])]!r}): "
            f"{'the shared layers would learn nothing' if role == 'source' else 'there is nothing to tell apart'}.",
            f"give a {role} with examples of two or more classes.",
        )
    if role == "source":  # `run` had trained a price's 143 values as classes, and refused them as a target
        check_not_ids(domain.y, role)


def _texts_need_an_encoder(source: Domain | None, target: Domain) -> None:
    """Texts without a pretrained text encoder (whose tokenizer reads them): refused, naming
    the section to change; a text target beside an image or vector source is named as such
    (the bare advice to add an encoder led to the next error, an image source)."""
    texts = [getattr(d, "is_text", False) for d in (source, target)]
    if not any(texts):
        return
    example = "hf:sentence-transformers/all-MiniLM-L6-v2"
    if source is not None and texts[0] and texts[1]:
        raise TransferkitError(f"the source {source.name} and the target {target.name} hold texts, which need a "
                               "tokenizer: a pretrained text encoder's.",
                               f"add `pretrained: {example}` (or another hf: encoder) to the `source:` section; its "
                               "encoder then trains on the source texts before the target's.")  # fmt: skip
    if source is not None and texts[0]:
        raise TransferkitError(f"the source {source.name} holds texts and the target {target.name} does not.",
                               "give a source of the target's kind (images or feature vectors).")  # fmt: skip
    if source is not None:
        kind = "images" if getattr(source, "is_image", False) else "feature vectors"
        raise TransferkitError(f"the target {target.name} holds texts and the source {source.name} holds {kind}.",
                               f"use a text source: `source: {{pretrained: {example}}}`, with `data:` of labelled "
                               "texts if you have them.")  # fmt: skip
    target.input_shape  # noqa: B018 -- raises: texts need a tokenizer, i.e. a pretrained text source


def prepare(cfg: ExperimentConfig, test_split: bool = True) -> Prepared:
    """Source and target loaded, arranged and brought to the model input by their recipes.

    ``test_split`` False: no held-out test part (few-shot, whose episodes hold their queries).
    """
    if cfg.source is not None and cfg.source.pretrained:
        from transferkit.evaluate.pretrained import prepare_pretrained

        with collected_warnings() as loading:  # as below: kept for the report too
            data = prepare_pretrained(cfg, test_split)
        data.notes = [n for n in dict.fromkeys([*loading, *data.notes]) if n not in data.source_notes]
        return _say_inverted(cfg, data)
    with collected_warnings() as source_loading:  # e.g. images resized while loading: said, and kept for the report
        source = load_section(cfg.source) if cfg.source else None
    with collected_warnings() as loading:  # (the source's under the source, the target's under the target)
        target = load_section(cfg.target, only_columns=(getattr(source, "meta", None) or {}).get("columns"), invert=False)
    for domain, role in ((source, "source"), (target, "target")):
        if domain is not None:
            check_two_classes(domain, role)
    _texts_need_an_encoder(source, target)
    with collected_warnings() as matching:  # e.g. target columns the source lacks, left out: kept for the report
        target = match_source(source, target)
    loading = [*loading, *matching]
    if cfg.model.input_shape:
        shape = tuple(cfg.model.input_shape)
    else:
        shape = (source or target).input_shape
    with collected_warnings() as layout:  # series saved channels last? said, and kept for the report
        if not cfg.source or not cfg.source.pretrained:
            warn_layout(tuple(shape), cfg.model.shared, (source or target).name)
    loading = [*loading, *layout]
    with collected_warnings() as splitting:  # the target's exact copies, kept on one side of the split
        split = split_target(target, cfg.target.test_fraction, cfg.target.split_seed) if test_split else no_test_split(len(target.y))
    target = invert_on_pool(target, split.pool_idx) if cfg.target.invert else target
    src_recipe = make_recipe(source, shape, 0, architecture=cfg.model.shared) if source else None
    # the target's value range, framing (pad: auto) and range checks look at pool inputs only,
    # never at test inputs (`target` itself stays as loaded: its fingerprint names the data)
    pool = range_of_rows(target, split.pool_idx).select(split.pool_idx)
    with collected_warnings() as recipe:  # a target off the source's scale, columns read by position: kept too
        tgt_recipe = make_recipe(pool, shape, cfg.target.pad, source=source, architecture=cfg.model.shared)
    off = outside_range_note(pool, source, per_column=not reads_series(shape, cfg.model.shared)) \
        if source is not None and not getattr(pool, "is_image", True) else None  # fmt: skip
    # a multichannel series read on the source's scale: the same note, for the report (predict warns again)
    series = source is not None and getattr(pool, "is_image", False) and reads_series(shape, cfg.model.shared)
    series_off = outside_range_note(pool, source) if series else None
    dead = dead_sensors_note(pool, source) if series else None  # said by make_recipe too: kept for the report
    if source is not None and not getattr(pool, "is_image", True) and not reads_series(shape, cfg.model.shared):
        dead = dead_columns_note(pool, source)  # feature columns: the same, said by make_recipe too
    swapped = polarity_note(source, pool) if source is not None and not getattr(pool, "is_text", False) else None
    if swapped:
        warnings.warn(swapped, TransferkitWarning, stacklevel=user_stacklevel())
    # (few-shot, with no test split, says it of its novel classes in its own words)
    pictures = source is not None and not reads_series(tuple(shape), cfg.model.shared)
    shrunk = shrunk_note(target, tuple(shape), source.name) if pictures and not cfg.model.input_shape else None
    if shrunk:
        warnings.warn(shrunk, TransferkitWarning, stacklevel=user_stacklevel())
    enlarged = (enlarged_note(pool, tuple(shape), source.name, chosen=bool(cfg.model.input_shape), source=source)
                if pictures and cfg.source.resolution == "match" else None)  # fmt: skip
    if enlarged:  # (pool inputs only, as every look at the target)
        warnings.warn(enlarged, TransferkitWarning, stacklevel=user_stacklevel())
    stretched = stretched_note(target, tuple(shape), cfg.model.shared) if source is not None else None  # (no source:
    # scratch trains and tests on the same stretched images)
    if stretched:
        warnings.warn(stretched, TransferkitWarning, stacklevel=user_stacklevel())
    twins = source_case_twins_note(source.classes, target.classes) if source is not None and test_split else None
    if twins:
        warnings.warn(twins, TransferkitWarning, stacklevel=user_stacklevel())
    numbered = numbered_classes_note(source, target) if test_split and _reads_source_head(cfg) else None  # (few-shot: its own)
    if numbered:
        warnings.warn(numbered, TransferkitWarning, stacklevel=user_stacklevel())
    notes = list(dict.fromkeys([*loading, *splitting, *recipe, *(n for n in (off, series_off, dead, colour_note(target, shape),
                                                                     grey_beside_colour_note(pool, source, shape),
                                                                     alpha_note(target.x, shape[0], target.name) if len(shape) == 3 else None,
                                                                     swapped, twins, numbered, shrunk, enlarged, stretched) if n)]))  # fmt: skip
    fit_ranges = None
    if off is not None:
        fit_ranges = {"fit_range": [float(v) for v in pool.value_range],
                      "fit_column_ranges": [list(r) for r in union_ranges(tgt_recipe.column_ranges, column_ranges(pool.x))]
                      if tgt_recipe.column_ranges is not None else None}  # a series' steps: its whole range only
    if source is not None and target.is_image and cfg.source.resolution == "match":
        src_recipe = match_resolution(src_recipe, target.input_shape[1:], tgt_recipe)
    xs = apply_recipe(source.x, src_recipe) if source else None
    ys = torch.from_numpy(source.y) if source else None
    return _say_inverted(cfg, Prepared(
        source, target, src_recipe, tgt_recipe, xs, ys,
        apply_recipe(target.x, tgt_recipe), torch.from_numpy(target.y), split, shape, notes=notes,
        fit_ranges=fit_ranges, source_notes=list(dict.fromkeys(source_loading)),
    ))  # fmt: skip


def _reads_source_head(cfg: ExperimentConfig) -> bool:
    """Whether a listed method uses the source's head for the target's classes when their names match
    (source_only, adabn, the adaptation methods, auto): where classes numbered alike mislead most."""
    from transferkit.methods import METHODS

    return any(m.name == "auto" or (m.name in METHODS and (METHODS[m.name].needs_same_classes
                                                           or METHODS[m.name].uses_unlabelled)) for m in cfg.methods)  # fmt: skip


def _say_inverted(cfg: ExperimentConfig, data: Prepared) -> Prepared:
    """The target was inverted when loaded (its inputs above are); its recipe, which ``predict``
    applies to raw inputs, says so."""
    if cfg.target.invert:
        data.target_recipe = dataclasses.replace(data.target_recipe, invert=True)
    return data
