"""``transferkit fewshot``: a source model, novel classes, N-way K-shot episodes, every method.

For each source seed: train the shared layers on the source classes (or load them from
the cache ``transferkit run`` shares), compute the novel-class features once, then for
each K evaluate every method on the same episodes. Episodes depend on the episode seed
and K only, so all source seeds and all methods see the same support and query sets.
``scratch`` never uses the source, so it runs once per K, not once per source seed.

Python::

    from transferkit.fewshot.experiment import run_fewshot
    summary = run_fewshot("configs/fewshot_fashion.yaml", out="runs/fewshot")
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from transferkit.data.files import CLASSES_FROM_LABELS
from transferkit.data.overlap import LEAK_SHARE, NEAR_WHAT, Overlap, copy_groups, count_test_in_source
from transferkit.data.preprocess import reads_series
from transferkit.data.splits import draw_order
from transferkit.devices import reproducible, resolve_device
from transferkit.errors import TransferkitError, TransferkitWarning, user_stacklevel
from transferkit.evaluate.prepare import Prepared, prepare
from transferkit.evaluate.protocol import check_source, train_source
from transferkit.fewshot.config import FewShotExperiment, load_fewshot_config
from transferkit.fewshot.episodes import case_twins, check_novel, sample_episodes, seen_overlap
from transferkit.fewshot.evaluate import EpisodeResult, count_episodes
from transferkit.fewshot.pipeline import (
    EpisodeSetting,
    cache_features,
    evaluate_on_features,
    evaluate_trained,
    predict_episode,
    resolve_methods,
)
from transferkit.fewshot.saved_source import SavedSource, load_saved_source, prepare_saved, runs_own_data
from transferkit.models import TransferModel
from transferkit.pretrained.spec import learned_input_size
from transferkit.rng import callers_rng_kept
from transferkit.train.source import SourceResult, input_stats, source_val_split


@dataclass
class FewShotRecord:
    """One method at one K with one source model (``seed`` None: a method without source)."""

    method: str
    k: int
    seed: int | None
    on_features: bool
    result: EpisodeResult
    transductive: bool = False  # predicts an episode's queries together, using them unlabelled


@dataclass
class FewShotRun:
    config: FewShotExperiment
    data: Prepared
    records: list[FewShotRecord] = field(default_factory=list)
    sources: dict[int, dict] = field(default_factory=dict)
    features: dict[int, dict] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    example: dict | None = None
    wall_time_s: float = 0.0
    notes: list[str] = field(default_factory=list)  # warnings for the report (e.g. class names equal but for case)
    saved_model: dict | None = None  # source.model: the saved model's path, run and the classes it was trained on
    pretrained_input_size: list[int] | None = None  # (C, H, W) a pretrained image encoder learned its weights at


def check_classes(cfg: FewShotExperiment, data: Prepared) -> list[str]:
    """Novel classes must not be source classes, unless the target is another data set.

    A source given only as pretrained weights (no source data) has no class list here, so
    nothing can be checked; the report says so.

    Returns:
        Notes for the report: novel class names equal to source class names but for case.

    Raises:
        TransferkitError: Shared class names (without ``cross_domain``), ``cross_domain``
            with source and target from the same data set, or novel-class images that are
            also source images (more than 5 %, exact copies, whatever their names).
    """
    src, tgt = data.source, data.target
    if src is None:  # pretrained weights without source data: their classes are unknown here
        return []
    twins = case_twins(tgt.classes, src.classes)
    notes = [twins_note(twins)] if twins else []
    same_data = src.name.split("[")[0] == tgt.name.split("[")[0]
    if cfg.fewshot.cross_domain:
        if same_data:
            raise TransferkitError(
                f"fewshot.cross_domain is true but source {src.name!r} and target {tgt.name!r} "
                "come from the same data set.",
                "set cross_domain: false and give the target only classes the source lacks.",
            )
        return _check_copies(src, tgt)
    try:
        check_novel(tgt.classes, src.classes)
    except TransferkitError as e:
        unnamed = [(role, d) for role, d in (("target", tgt), ("source", src))
                   if getattr(d, "meta", {}).get(CLASSES_FROM_LABELS)]  # fmt: skip  # '0'..'9' without names: numbers only
        if not same_data and unnamed:
            role, d = unnamed[0]
            how = ("save them with the labels: numpy.savez(path, x=..., y=..., classes=names)"
                   if str(d.name).split("[")[0].lower().endswith(".npz") else "write them as the labels in the label column")  # fmt: skip
            shared = sorted({str(c).strip() for c in tgt.classes} & {str(c).strip() for c in src.classes}, key=str)
            other = "source" if role == "target" else "target"
            raise TransferkitError(
                f"{role} {d.name!r} gives its classes as numbers, not names (whole-number labels are read as "
                f"numbers, written as text too), so they are named by their values, and "
                f"{len(shared)} of those are names of {other} classes ({', '.join(map(repr, shared[:10]))}"
                f"{', ...' if len(shared) > 10 else ''}).",
                f"give the {role}'s classes their names ({how}); if they really are the source's classes in "
                "another data set, set fewshot.cross_domain: true.",
            ) from None
        hint = (
            ""
            if same_data
            else (
                " If the target is another data set whose classes only share names with the "
                "source's (cross-domain few-shot), set fewshot.cross_domain: true."
            )
        )
        raise TransferkitError(f"{e.problem.rstrip('.')} (source {src.name!r}, target {tgt.name!r}).", f"{e.fix}{hint}") from None
    return _check_copies(src, tgt) + notes


def _adds_lora(method) -> bool:
    """Whether ``method`` (or, for ``auto``, one of the methods it may train) is ``lora`` on its default layers."""
    if method is None:
        return False
    p = getattr(method, "params", None)
    names = {method.name} | ({getattr(p, f, None) for f in ("transfer_method", "one_shot_method", "new_task_method")}
                             if method.name == "auto" else set())  # fmt: skip
    chosen = "target_modules" in getattr(p, "model_fields_set", set()) and method.name == "lora"
    return "lora" in names and not chosen


def check_saved_classes(cfg: FewShotExperiment, saved: SavedSource, novel: list[str]) -> list[str]:
    """Novel classes must not be classes the saved model's shared layers were trained on (its own, and its run's
    source classes), unless ``cross_domain`` says the target is another data set of the same classes.

    Returns:
        Notes for the report: names equal to those classes' but for case, punctuation or a plural 's'.
    """
    if cfg.fewshot.cross_domain:
        return []
    overlap = seen_overlap(novel, saved.seen)
    if overlap:
        known = ", ".join(repr(c) for c in overlap[:10]) + (f" (and {len(overlap) - 10} more)" if len(overlap) > 10 else "")
        raise TransferkitError(f"{len(overlap)} novel class(es), {known}, are classes {saved.describe} knows (its own, or those its "
                               "shared layers learned first): its features were trained to tell them apart, so their "
                               "accuracy would not measure learning new classes.",
                               "draw the novel classes from classes the model never had; if the target is another "
                               "data set whose classes only share names with the model's (cross-domain few-shot), "
                               "set fewshot.cross_domain: true.")  # fmt: skip
    twins = case_twins(novel, saved.seen)
    unknown = ([f"the novel classes were checked against the {len(saved.seen)} classes {saved.describe} records, "
                f"not against {saved.unknown}: if they are among those, their accuracy is inflated."]
               if saved.unknown else [])  # fmt: skip
    return unknown + ([twins_note(twins)] if twins else [])


def saved_result(saved: SavedSource):
    """A saved model as a source result: nothing trained, nothing validated (NaN)."""
    return SourceResult(saved.model, float("nan"), 0.0, False, str(saved.path), [])


def twins_note(twins: list[tuple[str, str]]) -> str:
    """One note for all novel classes named like a source class but for case, punctuation or a plural 's' (one
    line, not one a class)."""
    if len(twins) == 1:
        (c, twin), = twins
        return (f"novel class {c!r} differs from the source class {twin!r} only in case, punctuation or a plural 's'; "
                "if they are the same class, it is not novel and its accuracy is inflated.")
    pairs = ", ".join(f"{c!r} (source {twin!r})" for c, twin in twins[:5]) + (", ..." if len(twins) > 5 else "")
    return (f"{len(twins)} novel classes differ from source classes only in case, punctuation or a plural 's': {pairs}; "
            "if they are the same classes, they are not novel and their accuracy is inflated.")


def copies_note(copies: int, total: int, texts: bool = False, mixed: int = 0) -> str:
    """The report's note on novel-class inputs that repeat (``copies``: inputs beyond the first
    of each set of identical ones; ``texts``: identical once tokenised, so up to case and
    spacing for an uncased tokenizer; ``mixed``: repeated inputs found under two classes or more)."""
    kind = "copies of another one once tokenised (up to case and spacing)" if texts else "exact copies of another one"
    both = (f"; {mixed} repeated input{'s are' if mixed > 1 else ' is'} labelled with more than one class, which no "
            "method can get right every time: check those labels") if mixed else ""
    return (f"{copies} of the {total} novel-class examples are {kind}{both}; no episode has a "
            "query whose input is one of its support inputs (of any class), but a repeated input weighs twice in "
            "the accuracies: consider removing the copies.")


def inputs_noun(domain) -> str:
    """What notes call the novel classes' inputs: ``images``, ``series`` (sensors x steps held
    as images, which ``auto`` gives the cnn1d), ``texts``, or ``examples`` (rows of numbers)."""
    if getattr(domain, "texts", None) is not None:
        return "texts"
    if not getattr(domain, "is_image", False):
        return "examples"
    return "series" if reads_series(tuple(domain.input_shape)) else "images"


def small_pool_note(per_class: np.ndarray, k: int, n_query: int, episodes: int, seeds: int = 2,
                    noun: str = "images") -> str | None:  # fmt: skip
    """A note when each novel class has under twice the K + Q images an episode draws from it:
    the episodes then reuse the same few images, and their interval, taken over episodes,
    covers the draw of episodes but not the few images behind them (a new user's 20 series a
    class gave 59.5 +- 0.7 over 200 episodes, where the source seeds alone spanned 12 points).
    ``seeds``: the source seeds that train a source (0: pretrained weights used as they are);
    ``noun``: what the inputs are (:func:`inputs_noun`; a series user read of 'images')."""
    present = per_class[per_class > 0]
    if not len(present) or int(present.min()) >= 2 * (k + n_query):
        return None
    return (f"the novel classes have as few as {int(present.min())} examples each, and an episode draws {k + n_query} "
            f"from a class (K = {k} + {n_query} queries): the {episodes} episodes reuse the same {noun}, so their "
            f"intervals cover the choice of episodes, not the few {noun} behind them, and are narrower than what a "
            f"new set of {noun} would show; "
            + (f"read the spread across source seeds too, and add {noun} if you can." if seeds > 1 else
               f"add {noun} if you can (several source seeds would also show how much the source's training moves it)."
               if seeds == 1 else f"add {noun} if you can.")  # 0: pretrained weights as they are, no source training
            )  # fmt: skip


def check_saved_copies(saved: SavedSource, target) -> tuple[list[str], str]:
    """Novel-class examples that are copies (exact or near) of the data the saved model's run trained on (its source and
    target, from its config.yaml): refused or noted as for a data source. Returns (notes, what was compared) for
    the report: the run's data found, or why none could be."""
    if saved.run is None:
        return [], "none (the model records no data; copies of its training examples could not be looked for)"
    found, missing = runs_own_data(saved)
    # a scratch model never read its run's source: copies of that are not its training examples (a trial's was refused)
    found = [(role, d) for role, d in found if role != "source" or saved.read_source]
    notes = []
    for role, domain in found:
        if role == "source":  # its shared layers were trained on all of it, with labels
            notes += _check_copies(domain, target, "the saved model's run's source")
            continue
        overlap = count_test_in_source(domain, target, np.arange(len(target.y)))
        if overlap.found:  # a run's target trains on k labelled per class; the rest it adapts to or tests on
            notes.append(f"{overlap.found} of the {len(target.y)} novel-class examples are also in the saved model's "
                         f"run's target {domain.name!r} ({overlap.kind}): the model may have trained on them there (its "
                         "k labelled examples per class, or unlabelled ones a domain-adaptation method read), so "
                         "those classes' accuracies may be optimistic; drop the copies if they are that run's "
                         "classes under other names.")  # fmt: skip
    said = ", ".join(f"the run's {role} {d.name!r}" for role, d in found) or "none"
    if missing:
        said += f" (not at hand: {', '.join(missing)})"
        notes.append(f"the novel-class examples could not be compared with data the saved model's run read (not at "
                     f"hand: {'; '.join(missing)}): copies of its training examples among them would go unnoticed "
                     "and make those classes look easier; put the data back where the run's config.yaml says it "
                     "read it (or make that file valid again) to check.")  # fmt: skip
    return notes, said


def _measured(x: np.ndarray) -> bool:
    """Whether rows ``x`` (M, ...) are measurements, not a few discrete values: most hold 8 or
    more distinct values, some of them not whole numbers (a series' readings, not pixel levels,
    counts or flags)."""
    rows = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(rows) == 0:
        return False
    distinct = np.array([len(np.unique(r)) for r in rows])
    fractional = (rows != np.round(rows)).any(axis=1)
    return bool(np.median(distinct) >= 8 and fractional.mean() > 0.5)


def _check_copies(src, tgt, role: str = "the source") -> list[str]:
    """Refuses novel-class images (or series) that are exact copies of source images: more than 5 % of all
    of them, or more than half of one class's (a class of 60 copied source images among 1,260
    letters was 4.8 % in all, and scored 99 %); a class with more than 5 % copied is noted.
    Rows of numbers and texts are only warned of, at the same shares: short texts and rows of a
    few discrete values can repeat between two data sets by chance (a new user's class of 178
    rows copied from a source class scored 98.5 % without a word). Rows of measurements
    (:func:`_measured`: a series' readings) cannot, and are refused as images are (a trial's
    class of 75 float series copied whole scored 52.9 % against 47.5 % without them, warned of
    as rows that 'can also repeat by chance')."""
    overlap = count_test_in_source(src, tgt, np.arange(len(tgt.y)))
    if not overlap.found:
        return []
    size = np.maximum(np.bincount(tgt.y, minlength=len(tgt.classes)), 1)

    def per_class(rows) -> tuple[np.ndarray, str]:
        per = np.bincount(tgt.y[list(rows)], minlength=len(tgt.classes))
        worst = [int(c) for c in np.argsort(-per / size, kind="stable") if per[c]][:5]
        where = ", ".join(f"{per[c]} of the {size[c]} of class {tgt.classes[c]!r}" for c in worst)
        return per, where + (", ..." if np.count_nonzero(per) > 5 else "")

    notes = []
    if overlap.near:  # warned of, never refused: distinct captures of one fixed scene correlate as much
        per_all, _ = per_class(overlap.rows)  # at the shares of exact and near copies together
        if overlap.found > LEAK_SHARE * len(tgt.y) or (per_all > LEAK_SHARE * size).any():
            _, where = per_class(overlap.near_rows)
            notes.append(f"{overlap.near} of the {len(tgt.y)} novel-class images are near copies of images in {role} "
                         f"{src.name!r} ({where}; {NEAR_WHAT}): if they are copies, the shared layers were trained on "
                         "them and those classes' accuracies are inflated, so drop them.")  # fmt: skip
        near = set(overlap.near_rows)
        overlap = Overlap(overlap.found - overlap.near, 0, tuple(r for r in overlap.rows if r not in near))
        if not overlap.found:
            return notes
    per, where = per_class(overlap.rows)
    texts = getattr(tgt, "texts", None) is not None
    # rows of measurements (a series of 427 readings, decimals) do not repeat by chance: refused as images are
    measured = not texts and not getattr(tgt, "is_image", False) and _measured(tgt.x[list(overlap.rows)])
    noun = inputs_noun(tgt) if getattr(tgt, "is_image", False) else "examples"
    if not getattr(tgt, "is_image", False) and not measured:
        if overlap.found <= LEAK_SHARE * len(tgt.y) and not (per > LEAK_SHARE * size).any():
            return []
        kind, chance = ("texts (up to case and spacing)", "short texts") if texts else ("rows (exact copies)",
                                                                                       "rows of a few discrete values")
        return [f"{overlap.found} of the {len(tgt.y)} novel-class examples are also in {role} {src.name!r}, the "
                f"same {kind}: {where}. If they are the source's examples, the shared layers were trained on them: "
                f"those classes are not novel and their accuracies are inflated, so drop them ({chance} can also "
                "repeat by chance)."]  # fmt: skip
    if overlap.found > LEAK_SHARE * len(tgt.y) or (per > 0.5 * size).any():
        raise TransferkitError(
            f"{overlap.found} of the {len(tgt.y)} novel-class {noun} are also in {role} {src.name!r} "
            f"(exact copies; {where}): the shared layers were trained on them, so these classes are not novel.",
            f"draw the novel classes from {noun} that {role} never contained.",
        )
    if (per > LEAK_SHARE * size).any():
        return notes + [f"{overlap.found} of the {len(tgt.y)} novel-class {noun} are also in {role} {src.name!r} "
                        f"(exact copies; {where}): the shared layers were trained on those, so those classes' "
                        "accuracies are optimistic; drop the copies."]  # fmt: skip
    return notes


def own_order_episodes(target, n_way: int, k: int, n_query: int, n: int, seed: int, groups) -> list:
    """The episodes of ``target``, drawn in its own class order even when its labels were
    renumbered into a source's (``draw_order``, cross-domain few-shot), so that every source
    is scored on the same episodes; their ``classes`` are then the renumbered ids."""
    order = draw_order(target)
    if order is None:
        return sample_episodes(target.y, n_way, k, n_query, n, seed=seed, class_names=target.classes, groups=groups)
    own = np.argsort(order)[np.asarray(target.y)]  # renumbered id j -> own id
    episodes = sample_episodes(own, n_way, k, n_query, n, seed=seed, groups=groups,
                               class_names=[target.classes[i] for i in order])  # fmt: skip
    return [replace(ep, classes=np.asarray(order)[ep.classes]) for ep in episodes]


@reproducible
def evaluate_fewshot(cfg: FewShotExperiment, say: Callable[[str], None] | None = None) -> FewShotRun:
    """Runs every (source seed, K, method) of ``cfg``; see the module docstring."""
    start = time.perf_counter()
    say = say or (lambda _msg: None)
    fs = cfg.fewshot
    if "fewshot" not in cfg.model_fields_set:  # the defaults train networks on many episodes: say why it takes long
        said = ", ".join(m.name for m in fs.methods)
        say(f"no `fewshot:` section, so the defaults: {fs.n_way}-way, K = {fs.k_shot}, {fs.episodes} episodes, methods "
            f"{said} (those that train a network do so on each of the first {fs.train_episodes}); set "
            "fewshot.train_episodes lower for a quicker run")  # fmt: skip
    exp = cfg.experiment()
    saved = load_saved_source(cfg.source.model) if cfg.source.model is not None else None
    if saved is not None:  # a saved model as it is: its inputs, its classes; no source data
        data = prepare_saved(cfg, saved)
        notes = check_saved_classes(cfg, saved, data.target.classes)
        copies, compared = check_saved_copies(saved, data.target)
        notes += copies
    else:
        data = prepare(exp, test_split=False)  # episodes hold their own queries
        notes = check_classes(cfg, data)
    for note in notes:  # warnings, not progress lines: said with --quiet and to the API's caller too
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    methods = resolve_methods(fs.methods)
    for m in methods:  # e.g. source_only needs the source's classes: refuse before any training
        if m.method is not None:
            m.method.check(max(fs.k_shot), same_label_space=False, has_source=True)
    adapter = ((saved.model.config.get("adapter") or {}).get("kind") if saved is not None else None)
    twice = [m.label for m in methods if adapter == "lora" and _adds_lora(m.method)]
    if twice:  # (peft found no layers to adapt: the listed methods before it had run for minutes)
        raise TransferkitError(f"method {twice[0]!r} would add LoRA adapters to the layers the saved model "
                               f"{saved.path.name} adapted with LoRA already.",
                               "list finetune, bitfit or head for it instead (auto: another of its methods), give "
                               "lora other layers (target_modules), or give a model without adapters.")  # fmt: skip
    device = resolve_device(cfg.device)
    _check_blocks(cfg, exp, data)
    run = FewShotRun(cfg, data)
    if saved is not None:
        run.saved_model = {"path": str(saved.path), "run": None if saved.run is None else str(saved.run),
                           "architecture": saved.model.config.get("architecture"), "classes": saved.seen,
                           "unchecked": saved.unknown, "copies_checked_against": compared,
                           "pretrained": (saved.model.config.get("arch_kwargs") or {}).get("source")}  # fmt: skip
    run.notes = [*data.source_notes, *data.notes, *notes]  # loading warnings (shown as raised), then the class checks
    x, y = data.xt.to(device), data.target.y
    groups = copy_groups(data.xt.numpy())
    copies = len(groups) - len(np.unique(groups))
    if copies:
        classes_of = {}  # each repeated input's classes
        for g, c in zip(groups.tolist(), np.asarray(y).tolist(), strict=True):
            classes_of.setdefault(g, set()).add(c)
        mixed = sum(len(c) > 1 for c in classes_of.values())
        run.notes.append(copies_note(copies, len(groups), texts=not data.xt.is_floating_point(), mixed=mixed))
        warnings.warn(run.notes[-1], TransferkitWarning, stacklevel=user_stacklevel())
    try:
        episodes = {  # the largest K first: a class too small for it is named with the fix that suits every K
            k: own_order_episodes(data.target, fs.n_way, k, fs.n_query, fs.episodes, fs.episode_seed + k,
                                  groups if copies else None)
            for k in sorted(fs.k_shot, reverse=True)
        }  # fmt: skip
    except TransferkitError as e:  # "class 'Q' has 10" of a file of 114 a class: the cap is what to change
        cap, need = cfg.target.max_per_class, max(fs.k_shot) + fs.n_query
        counts = np.bincount(np.asarray(y), minlength=len(data.target.classes))
        if cap is None or cap >= need or "k_shot + n_query" not in e.problem or not (counts == cap).any():
            raise  # (no class was cut to the cap: the classes are short in the file itself)
        also = (f" Classes with fewer than {need} in the file itself stay short: for them, {e.fix[0].lower()}{e.fix[1:]}"
                if ((counts > 0) & (counts < cap)).any() else "")  # (a review: raising the cap alone left them short)
        raise TransferkitError(f"{e.problem[:-1]} (target.max_per_class={cap} keeps at most that many per class).",
                               f"raise target.max_per_class to at least {need} (or leave it out)"
                               + (f".{also}" if also else f"; or {e.fix[0].lower()}{e.fix[1:]}")) from None  # fmt: skip
    episodes = {k: episodes[k] for k in fs.k_shot}
    # A pretrained source used as it is is one model for every seed: methods on its cached features repeat exactly.
    # Methods that train per episode take their seeds from the source seed, so they differ (a review): all seeds then.
    trains = [m.label for m in methods if not m.on_features and m.uses_source]
    seeds = cfg.seeds if data.source is not None or trains else cfg.seeds[:1]
    note = small_pool_note(np.bincount(np.asarray(y), minlength=len(data.target.classes)), max(fs.k_shot), fs.n_query,
                           fs.episodes, len(seeds) if data.source is not None else 0, inputs_noun(data.target))  # fmt: skip
    if note:
        run.notes.append(note)
        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
    as_is = saved.describe + ", used as it is" if saved is not None else "pretrained weights used as they are"
    if len(seeds) < len(cfg.seeds):  # evaluated twice, then "run more seeds" where none could differ (a trial)
        run.notes.append(f"the source is {as_is} (no source data to train on): the same model for every seed, and "
                         f"every method here that uses it reads its cached features, so of seeds {cfg.seeds} only "
                         f"{seeds[0]} ran; the others would repeat its results exactly.")  # fmt: skip
        if "seeds" in cfg.model_fields_set:  # the default seeds were not asked for: the report says it, the console not
            warnings.warn(run.notes[-1], TransferkitWarning, stacklevel=user_stacklevel())
    elif data.source is None and len(seeds) > 1:  # the seeds vary only the methods that train per episode
        once = (f"; the methods on its cached features ran once, with seed {seeds[0]} (the others would repeat their "
                "results exactly)" if any(m.on_features for m in methods) else "")  # fmt: skip
        run.notes.append(f"the source is {as_is}: the same model for every seed, so the seeds vary only the training "
                         f"of {', '.join(trains)}{once}.")  # fmt: skip
    unused = saved is None and data.source is not None and not any(m.uses_source for m in methods)
    if unused:  # scratch alone: no source to train, only the input normalisation it shares (a trial's minutes)
        seeds = cfg.seeds[:1]
        run.notes.append("no listed method uses the source (scratch alone), so no source model was trained: scratch "
                         "takes only its input normalisation (each input's mean and spread) from the source's "
                         "training split, as it does beside source models.")  # fmt: skip
    for seed in seeds:
        if unused:
            source_model = normalisation_only(exp, data, seed, device)
            run.sources[seed] = {"val_accuracy": float("nan"), "seconds": 0.0, "cached": False, "key": None,
                                 "trained": False}  # fmt: skip
        else:
            src = train_source(exp, data, seed, device) if saved is None else saved_result(saved)
            source_model = src.model.to(device).eval()
            run.pretrained_input_size = run.pretrained_input_size or learned_input_size(source_model)
            state = "cached" if src.cached else f"trained in {src.seconds:.1f} s"
            run.sources[seed] = {
                "val_accuracy": src.val_accuracy,
                "seconds": src.seconds,
                "cached": src.cached,
                "key": src.key,
            }
            no_val = src.val_accuracy != src.val_accuracy  # NaN: a pretrained source used as it is
            loaded = f"{saved.describe} as it is (loaded)" if saved is not None else "pretrained weights as they are (loaded)"
            say(f"source seed={seed}: " + (loaded if no_val else f"validation accuracy {src.val_accuracy:.3f} ({state})"))
            warning = check_source(exp, data, seed, src.val_accuracy)
            if warning:
                run.sources[seed]["warning"] = warning
                warnings.warn(warning, TransferkitWarning, stacklevel=user_stacklevel())
        source_x, source_y = _source_training_split(data, seed, device)
        once = data.source is None and seed != seeds[0]  # one fixed model: its features' methods ran with the first
        try:
            sizes = [m.base_examples for m in methods if m.on_features and m.uses_base_mean]  # each method's base mean
            cache = None if once or unused else cache_features(source_model, x, y, source_x, blocks=fs.blocks,
                                                               base_examples=sizes, seed=seed)  # fmt: skip
        except TransferkitError as e:  # the encoder's own words name rank's and run's settings (upto, --cuts)
            if fs.blocks is None or "cut points" not in e.problem:
                raise
            raise TransferkitError(f"fewshot.blocks: {fs.blocks}: the source's features cannot be taken after an "
                                   f"inner block ({e.problem.split('; ', 1)[-1]})",
                                   "remove fewshot.blocks: the features of the whole shared layers are used.") from None  # fmt: skip
        if cache is not None:
            run.features[seed] = {"examples": len(y), "dim": int(cache.features.shape[1]), "seconds": cache.seconds}
            say(f"features of {len(y)} novel-class examples, once for every episode: dim {cache.features.shape[1]}, "
                f"{cache.seconds:.1f} s")  # fmt: skip (computed, or read from the feature cache of a pretrained source)
        setting = EpisodeSetting(
            x, data.target.classes, episode_model_factory(exp, data, source_model, device, saved is not None), source_model,
            source_x, source_y, data.source.classes if data.source else None, seed,
            _pretrained_features(source_model, x, cache, methods),
        )  # fmt: skip
        for k in fs.k_shot:
            for m in methods:
                if m.on_features and once:
                    continue  # one model for every seed (no source data to train it on): the same result again
                if m.on_features:
                    res = evaluate_on_features(m, cache, episodes[k])
                elif k < m.method.min_shots:
                    if seed == seeds[0]:
                        run.skipped.append({"method": m.label, "k": k, "reason": f"needs {m.method.min_shots}+ shots"})
                    continue
                elif not m.uses_source and seed != seeds[0]:
                    continue  # scratch: the same episodes give the same result for every source seed
                else:
                    n = min(fs.train_episodes, len(episodes[k]))
                    res = evaluate_trained(
                        m, setting, episodes[k][:n], _ticker(say, f"{m.label} {k}-shot{f' seed={seed}' if m.uses_source else ''}", n)
                    )
                run.records.append(FewShotRecord(m.label, k, seed if m.uses_source else None, m.on_features, res,
                                                 bool(m.fewshot is not None and m.fewshot.transductive)))  # fmt: skip
                said_seed = f" seed={seed}" if m.uses_source else " (no source)"  # scratch: one run for all seeds
                say(f"{m.label} {fs.n_way}-way {k}-shot{said_seed}: {100 * res.mean:.1f} % "
                    f"({count_episodes(len(res.accuracies))}, {res.seconds:.2f} s)")  # fmt: skip
        if run.example is None:
            run.example = _example(methods, cache, episodes[fs.k_shot[0]][0], fs.k_shot[0])
    run.wall_time_s = time.perf_counter() - start
    return run


def _pretrained_features(source_model, x: torch.Tensor, cache, methods) -> torch.Tensor | None:
    """The features of every novel-class example by frozen pretrained shared layers, for the methods that
    train per episode (``head``, a probe stage) to read instead of running the encoder on each episode's
    rows: the cache's, when it holds the whole shared layers' (float32 to float64 and back is exact);
    None for shared layers trained here (cheap to run) or when no such method uses the source."""
    if source_model is None or source_model.config.get("architecture") != "pretrained":
        return None
    if not any(not m.on_features and m.uses_source for m in methods):
        return None
    if cache is not None and cache.blocks is None:
        return torch.from_numpy(cache.features).float()
    from transferkit.train.feature_cache import frozen_features

    return frozen_features(source_model, x).flatten(1).cpu()


def normalisation_only(exp, data: Prepared, seed: int, device) -> TransferModel:
    """An untrained model whose only use is the input normalisation that scratch takes from a source model:
    the mean and spread of the source's training split for ``seed``, as :func:`pretrain_source` computes them."""
    from transferkit.models.shared import auto_architecture

    arch = exp.model.shared
    built = auto_architecture(tuple(data.xs.shape[1:])) if arch == "auto" else arch
    tr = torch.from_numpy(source_val_split(data.source.y, seed=seed)[0])
    mean, std = input_stats(data.xs.to(device)[tr.to(device)], built)
    return TransferModel.build(arch, tuple(data.xs.shape[1:]), data.source.classes, mean, std,
                               **exp.model.options).to(device)  # fmt: skip


def _check_blocks(cfg: FewShotExperiment, exp, data: Prepared) -> None:
    """``fewshot.blocks`` beyond the shared layers' blocks, refused before minutes of source training
    (an untrained copy of the architecture has as many blocks; a pretrained source is checked once
    loaded, by the features)."""
    if cfg.fewshot.blocks is None or cfg.source.pretrained is not None or data.source is None:
        return
    from transferkit.methods.prototypes import features

    model = TransferModel.build(exp.model.shared, data.input_shape, data.source.classes,
                                head_hidden=exp.model.head_hidden, **exp.model.options)  # fmt: skip
    if cfg.fewshot.blocks > model.num_blocks:
        features(model, data.xt[:1], cfg.fewshot.blocks)  # raises the error the run would give after training


def _source_training_split(data: Prepared, seed: int, device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The source examples the source model trained on (None without source data)."""
    if data.source is None or data.xs is None:
        return None, None
    tr = torch.from_numpy(source_val_split(data.source.y, seed=seed)[0])
    return data.xs[tr].to(device), data.ys[tr].to(device)


def _ticker(say: Callable[[str], None], what: str, total: int, slow: float = 120.0) -> Callable[[int], None]:
    """Progress every 10 trained episodes: training per episode takes seconds each; after the
    first, the time the rest will take when it is over ``slow`` seconds (a trial's pretrained
    224x224 source took 38 s an episode for scratch, and the run went on for hours unannounced)."""
    start = time.perf_counter()

    def tick(done: int) -> None:
        if done == 1 and total > 1:
            each = time.perf_counter() - start
            if each * (total - 1) > slow:
                say(f"{what}: the first episode trained in {each:.0f} s, so its {total} episodes take about "
                    f"{each * total / 60:.0f} min; set fewshot.train_episodes lower (or a smaller model.input_shape "
                    "for a pretrained source) for a quicker run")  # fmt: skip
        if done % 10 == 0 and done < total:
            say(f"{what}: {done}/{total} episodes trained")

    return tick


def _example(methods, cache, episode, k: int) -> dict | None:
    """One episode with a feature method's predictions, for the report's picture."""
    method = next((m for m in methods if m.on_features), None)
    if method is None:
        return None
    pred = predict_episode(method, cache, episode)
    return {"method": method.label, "k": k, "support_idx": episode.support_idx.tolist(),
            "query_idx": episode.query_idx.tolist(), "classes": episode.classes.tolist(),
            "query_y": episode.query_y.tolist(), "pred": pred.tolist()}  # fmt: skip


def episode_model_factory(
    exp, data: Prepared, source_model: TransferModel, device, saved: bool = False
) -> Callable[[list[str]], TransferModel]:
    """Fresh models for an episode's classes, with the source model's input normalisation (``saved``: a saved
    model's architecture is rebuilt with its own options, when scratch trains that architecture)."""
    mean, std = source_model.input_mean.cpu(), source_model.input_std.cpu()
    arch = data.scratch_architecture or exp.model.shared
    own = saved and arch == source_model.config.get("architecture")
    options = dict(source_model.config.get("arch_kwargs") or {}) if own else dict(exp.model.options)
    hidden = int(source_model.config.get("head_hidden") or 0) if own else exp.model.head_hidden

    def build(classes: list[str]) -> TransferModel:
        return TransferModel.build(arch, data.input_shape, classes, mean, std, head_hidden=hidden, **options).to(device)

    return build


def run_fewshot(
    experiment: str | Path | dict | FewShotExperiment,
    out: str | Path | None = None,
    overrides: list[str] | None = None,
    progress: bool = True,
) -> dict:
    """Runs a few-shot experiment (YAML path, dict or config) and writes its run folder.

    Returns the summary (also written as ``summary.json``) with ``run_dir`` added.
    """
    from transferkit.atomic import out_folder
    from transferkit.fewshot.report import write_fewshot_folder

    if not isinstance(experiment, (str, Path, dict, FewShotExperiment)):
        raise TransferkitError(f"run_fewshot takes the path of a few-shot experiment file, a dict or a "
                               f"FewShotExperiment, not a {type(experiment).__name__}.",
                               "e.g. run_fewshot('fewshot.yaml') or run_fewshot({'source': {...}, 'target': {...}}).")  # fmt: skip
    if isinstance(experiment, FewShotExperiment):  # what was given, not every default (`model` stands alone)
        experiment = experiment.model_dump(mode="json", exclude_unset=True)
    if isinstance(experiment, dict):
        cfg = load_fewshot_config(None, overrides, experiment)
    else:
        cfg = load_fewshot_config(experiment, overrides)
    with out_folder(out, cfg.name) as folder:
        say = _printer() if progress else None
        with callers_rng_kept():  # episodes and training seed torch: the caller's draws after it stay theirs
            run = evaluate_fewshot(cfg, say)
        summary = write_fewshot_folder(run, folder)
    summary["run_dir"] = str(folder)
    return summary


def _printer() -> Callable[[str], None]:
    import sys

    return lambda msg: print(f"[transferkit] {msg}", file=sys.stderr, flush=True)


__all__ = ["FewShotRecord", "FewShotRun", "check_classes", "evaluate_fewshot", "run_fewshot"]
