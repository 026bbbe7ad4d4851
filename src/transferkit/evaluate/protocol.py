"""The protocol: every method, every k, every seed, on the same splits, against scratch.

For each run seed: the source model is trained (or loaded from cache); for each k the
labelled target examples are drawn from the pool; each method fits on exactly that task
and is scored on the fixed test split. Nothing here lets a method see test labels:
methods receive a :class:`TransferTask`, which holds no test data at all.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from transferkit.adaptation.label_shift import aligns, target_mix_note
from transferkit.class_weights import balanced_weights, imbalance_note
from transferkit.config import ExperimentConfig
from transferkit.data.overlap import check_test_not_in_source
from transferkit.data.splits import TargetData, draw_order, draw_shots, source_case_twins, too_small_classes
from transferkit.devices import reproducible, resolve_device
from transferkit.errors import TransferkitError, TransferkitWarning, collected_warnings, user_stacklevel
from transferkit.evaluate.prepare import Prepared, prepare
from transferkit.evaluate.resume import FinishedRuns
from transferkit.evaluate.source_check import source_steps, weak_source_warning
from transferkit.methods import METHODS, Method, TransferTask, get_method
from transferkit.methods._pretrained_rate import for_task
from transferkit.methods.base import class_difference
from transferkit.models import TransferModel
from transferkit.models.adapters import base_name, is_delta, model_footprint
from transferkit.shots import ALL, fewest_per_class
from transferkit.train.source import SourceResult, pretrain_source, source_val_split
from transferkit.train.supervised import predict_proba


@dataclass
class RunRecord:
    method: str
    shots: int
    seed: int
    accuracy: float
    seconds: float
    model: TransferModel | None = None
    footprint: dict = field(default_factory=dict)  # trainable_params, total_params, checkpoint_bytes
    correct: np.ndarray | None = None  # (m,) bool: which test examples it got right (for the intervals)
    auto_decision: dict | None = None  # what `auto` chose and why, kept even when the model is not
    probe_kept: bool = False  # its second stage diverged and the probed model (a head) was kept (_probe_guard)
    unchanged_from: str | None = None  # its model is this baseline's, unchanged (adabn without BatchNorm)
    confidence: float | None = None  # mean top probability on the test split (reported beside accuracy, never chosen on)


@dataclass
class ProtocolResult:
    config: ExperimentConfig
    data: Prepared
    records: list[RunRecord] = field(default_factory=list)
    curves: list[dict] = field(default_factory=list)  # method, shots, seed, phase, step, loss
    sources: dict[int, dict] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    wall_time_s: float = 0.0
    # Domain adaptation: target test accuracy at each checkpoint, recorded for the report only
    # (methods never see it), the label-free checkpoint choice of each run, and the source
    # models (features before adaptation).
    target_curves: list[dict] = field(default_factory=list)  # method, shots, seed, step, accuracy
    selections: list[dict] = field(default_factory=list)  # method, shots, seed, criterion, ...
    source_models: dict[int, TransferModel] = field(default_factory=dict)
    test_in_source: int = 0  # target test examples found, input for input, in the source (a few: duplicates)
    test_in_source_same_class: int = 0  # ... of them under the same class name there
    test_in_source_near: int = 0  # ... of them only nearly equal to a source image (data/overlap.py: NEAR_R)
    test_in_source_near_same_class: int = 0  # ... of those, under the same class name
    method_notes: list[str] = field(default_factory=list)  # transferkit warnings raised while methods trained
    finished: FinishedRuns | None = None  # the store that resumes an interrupted run (run_protocol(resume=True))


def _classes_differ(names: list[str], source: list[str], target: list[str]) -> TransferkitError:
    """The error for methods that keep the source's head beside a target of other classes, with the fix that
    fits how they differ: names written another way, a target of fewer classes, or of more."""
    said = ", ".join(map(repr, names))
    they = (f"method {said} keeps the source's head (it applies or adapts it" if len(names) == 1
            else f"methods {said} keep the source's head (they apply or adapt it")  # fmt: skip
    problem = (f"{they}, with its classes), so source and target must have the same classes "
               f"({class_difference(source, target)}).")
    drop = "drop " + ("it" if len(names) == 1 else "them") + " from `methods`"
    twins = source_case_twins(source, target)
    only_t = [c for c in target if c not in source]
    if twins and len(twins) == len(only_t) and len(source) == len(target):  # the same classes, written otherwise
        pairs = ", ".join(f"{t!r} as {s!r}" for t, s in twins[:3]) + (", ..." if len(twins) > 3 else "")
        return TransferkitError(problem, f"write the target's class names as the source's ({pairs}), or {drop}.")
    if set(target) < set(source):
        keep = json.dumps([str(c) for c in target])
        return TransferkitError(problem, f"the target's classes are all source classes, so the source can keep only "
                                         f"them: source.classes: {keep}; or {drop}.")  # fmt: skip
    if set(source) < set(target):
        keep = json.dumps([str(c) for c in target if c in source])
        return TransferkitError(problem, f"the source's classes are all target classes: keep only those in the target "
                                         f"(a smaller task) with target.classes: {keep}; or {drop}.")  # fmt: skip
    numbered = any(c.isdigit() for c in class_difference(source, target).split("'")[1::2])
    return TransferkitError(problem, f"{drop}, or use source and target with the same class names"
                                     + (" (a .npz names label i by its `classes` array: classes[i])." if numbered else "."))


def build_methods(cfg: ExperimentConfig, data: Prepared) -> list[Method]:
    methods = [get_method(m.name, **m.params) for m in cfg.methods]
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise TransferkitError(f"methods {names} list a method twice.", "list each method once.")
    same = data.source is not None and data.source.classes == data.target.classes
    for m in methods:
        if m.needs_same_classes and data.source is None and cfg.source is not None:  # a pretrained encoder alone
            raise TransferkitError(
                f"method {m.name!r} applies a head trained on source labels, but the pretrained source "
                f"{cfg.source.pretrained!r} has no source data, so no head for the target's classes.",
                "drop it from `methods`, or add source data with the target's classes (`source: {pretrained: ..., data: ...}`).",
            )
        most = max(fewest_per_class(k, data.target.y, data.split.pool_idx) for k in cfg.target.shots)  # `all`: the pool's
        try:
            m.check(most, True, cfg.source is not None)  # all but the classes: said below, at once
        except TransferkitError as e:
            if ALL not in cfg.target.shots or most >= m.min_shots:
                raise
            raise TransferkitError(e.problem.replace(f"got shots={most}.", f"and at shots: all the smallest class's "
                                                     f"training pool holds {most}."),
                                   f"{e.fix.removesuffix('.')}, add examples of that class, or lower "
                                   "`test_fraction`.") from None  # fmt: skip
    head_kept = [m.name for m in methods if m.needs_same_classes and data.source is not None and not same]
    if head_kept:  # every method that needs the source's classes, in one error (a trial fixed them one run at a time)
        raise _classes_differ(head_kept, data.source.classes, data.target.classes)
    if cfg.deploy and cfg.deploy not in names:
        raise TransferkitError(f"deploy: {cfg.deploy!r} is not among methods {names}.", "name one of the methods.")
    return methods


def check_source(cfg: ExperimentConfig, data: Prepared, seed: int, val_accuracy: float) -> str | None:
    """A warning when the source model's validation accuracy is not clearly above chance."""
    if data.source is None:
        return None
    tr, va = source_val_split(data.source.y, seed=seed)
    steps = None if cfg.source.pretrained else source_steps(len(tr), cfg.source.batch_size, cfg.source.epochs)
    return weak_source_warning(val_accuracy, data.source.y[va], seed, steps)


def train_source(cfg: ExperimentConfig, data: Prepared, seed: int, device: torch.device) -> SourceResult:
    src = cfg.source
    if src.pretrained:  # a pretrained model as source, optionally fine-tuned on source data
        from transferkit.train.pretrained_source import pretrained_source_model

        return pretrained_source_model(cfg, data, seed, device)
    settings = {k: getattr(src, k) for k in ("epochs", "batch_size", "lr", "weight_decay", "augment")}
    # "head_hidden": 0 whatever model.head_hidden says: the source's own head never has the hidden layer (it is for
    # the target's), and a key that changed with it retrained an identical source (0 also keeps the keys rank shares)
    identity = {"data": data.source.fingerprint(), "recipe": data.source_recipe.identity(), "head_hidden": 0}
    return pretrain_source(
        data.xs.to(device), data.ys.to(device), data.source.classes,
        architecture=cfg.model.shared, arch_kwargs=dict(cfg.model.options), settings=settings,
        seed=seed, identity=identity, use_cache=src.cache,
    )  # fmt: skip


@reproducible
def run_protocol(cfg: ExperimentConfig, progress: Callable[[str], None] | None = None,
                 resume: bool = False) -> ProtocolResult:  # fmt: skip
    """Run every (seed, k, method) of ``cfg``; return per-run accuracies and curves.

    ``resume``: keep each finished (seed, k, method) in the cache and take those an interrupted
    run of the same experiment left (:mod:`transferkit.evaluate.resume`); the caller removes
    them (``result.finished.finish()``) once the run folder is written.
    """
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    data = prepare(cfg)
    methods = build_methods(cfg, data)
    device = resolve_device(cfg.device)
    result = ProtocolResult(cfg, data)
    result.finished = FinishedRuns(cfg, data) if resume else None
    needs_source = cfg.source is not None and any(m.uses_source or m.optional_source for m in methods)
    if needs_source:  # a source no method uses leaks nothing
        overlap = check_test_not_in_source(data.source, data.target, data.split.test_idx)
        result.test_in_source, result.test_in_source_same_class = overlap.found, overlap.same_class
        result.test_in_source_near, result.test_in_source_near_same_class = overlap.near, overlap.near_same_class
        if overlap.found:
            say(f"note: {overlap.found} of the {len(data.split.test_idx)} target test examples are also in the "
                f"source ({overlap.same_class} with the same class; {overlap.kind})")  # fmt: skip
    x_test, y_test = data.xt[data.split.test_idx].to(device), data.yt[data.split.test_idx].to(device)
    xt, yt = data.xt.to(device), data.yt.to(device)
    target_classes = data.target.classes
    for k in cfg.target.shots:  # fail before any training if a class is too small for k
        try:
            draw_shots(data.target.y, data.split.pool_idx, k, cfg.seeds[0], target_classes, draw_order(data.target))
        except TransferkitError as e:
            cap = cfg.target.max_per_class
            counts = np.bincount(data.target.y, minlength=len(target_classes))
            short = too_small_classes(data.target.y, data.split.pool_idx, k)
            if not cap or not any(counts[c] >= cap for c in short):  # the cap did not cut a class that is short
                raise
            raise TransferkitError(f"{e.problem.rstrip('.')} (target.max_per_class={cfg.target.max_per_class} "
                                   "keeps that many per class before the test split).",
                                   f"raise or remove target.max_per_class; or {e.fix}") from None  # fmt: skip
    if ALL in cfg.target.shots and cfg.class_weight is None and any(m.weighs_classes and m.uses_target_labels
                                                                    for m in methods):  # fmt: skip
        counts = np.bincount(data.target.y[data.split.pool_idx], minlength=len(target_classes))
        note = imbalance_note(counts, target_classes, "the labelled target at shots: all (the whole training pool)",
                              "the methods' training", "`class_weight: balanced`", "report.md's imbalance table")
        if note:  # once: the same labelled examples at every seed
            warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
            data.notes.append(note)  # listed again under the results, with the target's other notes
    for seed in cfg.seeds:
        source_model = None
        src_parts: dict = {}
        if data.xs is not None:
            tr, va = (torch.from_numpy(i) for i in source_val_split(data.source.y, seed=seed))
            xs, ys = data.xs.to(device), data.ys.to(device)
            src_parts = {"source_x": xs[tr], "source_y": ys[tr], "source_val_x": xs[va], "source_val_y": ys[va],
                         "source_classes": data.source.classes}  # fmt: skip
        if needs_source:
            say(f"now: source seed={seed}")  # (a terminal's bar shows what runs; minutes of training for a big source)
            src = train_source(cfg, data, seed, device)
            source_model = src.model.to(device)
            result.source_models[seed] = source_model
            result.sources[seed] = {"val_accuracy": src.val_accuracy, "seconds": src.seconds, "cached": src.cached, "key": src.key}
            warning = check_source(cfg, data, seed, src.val_accuracy)
            if warning:
                result.sources[seed]["warning"] = warning
                say(f"warning: {warning}")
            no_val = src.val_accuracy != src.val_accuracy  # NaN: nothing was held out (a pretrained source as it is)
            val = "no source validation" if no_val else f"val acc {src.val_accuracy:.3f}"
            say(f"source seed={seed}: {val} ({'cached' if src.cached else f'{src.seconds:.1f} s'})")
            if seed == cfg.seeds[0] and src_parts and any(aligns(m) for m in methods):  # once a run, pool inputs only
                shift = target_mix_note(source_model, src_parts["source_val_x"], src_parts["source_val_y"],
                                        xt[data.split.pool_idx], target_classes, data.target.name)  # fmt: skip
                if shift:  # said, and listed with the target's warnings under the results table
                    warnings.warn(shift, TransferkitWarning, stacklevel=user_stacklevel())
                    data.notes.append(shift)
        for k in cfg.target.shots:
            lab, unl = draw_shots(data.target.y, data.split.pool_idx, k, seed, target_classes, draw_order(data.target))
            weights = None if cfg.class_weight is None else balanced_weights(
                np.bincount(data.target.y[lab], minlength=len(target_classes))).to(device)  # (C,); 1 each at a k-shot draw
            target = TargetData(xt[lab], yt[lab], xt[unl], len(target_classes), weights)
            fewest = fewest_per_class(k, data.target.y, data.split.pool_idx)  # k, or at `all` the smallest class's pool
            for method in methods:
                if fewest < method.min_shots:
                    has = f" (the smallest class has {fewest} at shots: all)" if k == ALL else ""
                    result.skipped.append({"method": method.name, "shots": k, "seed": seed,
                                           "reason": f"needs at least {method.min_shots} labelled example(s) per "
                                                     f"class{has}"})  # fmt: skip
                    say(f"skipped: {method.name} k={k} seed={seed} (needs labels)")  # not counted as a run
                    continue
                source_key = result.sources.get(seed, {}).get("key")
                unit = result.finished.load(seed, k, method.name, source_key) if result.finished else None
                if unit is not None:  # finished before an interrupt: as it was, with its own time
                    _take(result, unit)
                    for note in dict.fromkeys(unit.get("method_notes", [])):  # said again, as when it ran
                        warnings.warn(note, TransferkitWarning, stacklevel=user_stacklevel())
                    say(f"{method.name} k={k} seed={seed}: accuracy {unit['record'].accuracy:.3f} (finished before "
                        "an interrupt, taken from the cache)")  # fmt: skip
                    continue
                marks = [len(getattr(result, part)) for part in UNIT_PARTS]

                def on_log(phase, step, loss, epoch=None, _m=method.name, _k=k, _s=seed, rows=result.curves):
                    rows.append({"method": _m, "shots": _k, "seed": _s, "phase": phase, "step": step,
                                 "epoch": epoch, "loss": loss})  # fmt: skip

                task = TransferTask(
                    target, target_classes, seed, _model_factory(cfg, data, source_model, device),
                    source_model, on_log=on_log, **src_parts,
                    monitor=_monitor(result.target_curves, method.name, k, seed, x_test, y_test),
                )
                say(f"now: {method.name} k={k} seed={seed}")
                t0 = time.perf_counter()
                torch.manual_seed(seed)
                fitted, rate = for_task(method, task)  # pretrained shared layers: a lower default rate
                if rate and rate not in result.method_notes:  # a warning, as auto, fewshot and the API say it
                    warnings.warn(rate, TransferkitWarning, stacklevel=user_stacklevel())
                    result.method_notes.append(rate)
                with collected_warnings() as notes:  # said as usual, and kept for the report
                    model = fitted.fit(task)
                result.method_notes += notes
                seconds = time.perf_counter() - t0
                if "selection" in task.extras:
                    result.selections.append({"method": method.name, "shots": k, "seed": seed,
                                              **vars(task.extras["selection"])})  # fmt: skip
                if source_model is not None and not is_delta(model) and model.config.get("adapter"):
                    # shared layers as the source left them (head) or adapted on top (lora, bitfit): the
                    # run folder stores them once per seed and the model's checkpoint only what changed
                    model.config["base_model"] = base_name(seed)
                probs = predict_proba(model, x_test)
                correct = (probs.argmax(1) == y_test).cpu().numpy()
                acc = float(correct.mean())
                keep = model.cpu() if cfg.save_models else None
                result.records.append(
                    RunRecord(method.name, k, seed, acc, seconds, keep, model_footprint(model), correct,
                              model.config.get("auto_decision"), bool(model.config.get("probe_kept")),
                              model.config.get("unchanged_from"), float(probs.max(1).values.mean()))  # fmt: skip
                )
                if result.finished:
                    result.finished.save(seed, k, method.name, {
                        "record": result.records[-1], "source_key": source_key, **{
                        part: getattr(result, part)[mark:] for part, mark in zip(UNIT_PARTS, marks, strict=True)}})
                say(f"{method.name} k={k} seed={seed}: accuracy {acc:.3f} ({seconds:.1f} s)")
    result.wall_time_s = time.perf_counter() - start
    return result


# what one (seed, k, method) adds to a ProtocolResult besides its record, kept for resuming
UNIT_PARTS = ("curves", "target_curves", "selections", "method_notes")


def _take(result: ProtocolResult, unit: dict) -> None:
    """Adds a run that finished before an interrupt (:mod:`transferkit.evaluate.resume`) to ``result``."""
    result.records.append(unit["record"])
    for part in UNIT_PARTS:
        getattr(result, part).extend(unit.get(part, []))


def _monitor(rows: list[dict], method: str, k: int, seed: int, x_test, y_test) -> Callable:
    """``monitor(model, step)``: records target test accuracy for the report; returns nothing
    to the method, so no selection can use it."""

    def record(model: TransferModel, step: int) -> None:
        acc = float((predict_proba(model, x_test).argmax(1) == y_test).float().mean())
        rows.append({"method": method, "shots": k, "seed": seed, "step": step, "accuracy": acc})

    return record


def _model_factory(cfg: ExperimentConfig, data: Prepared, source_model, device) -> Callable[[], TransferModel]:
    """Fresh models (``scratch``'s) normalise their inputs by the target's own statistics, those of its pool
    (never the test split), with or without a source. Sharing the source model's made the baseline pay
    for a source in other units: a wine target with one column 400 times the source's scored 77.8 % from
    scratch beside the source, 90.4 % alone, and a transfer method 3 points below scratch-alone showed
    +9.6 (a trial). Token ids (texts) have none: the source's, if any."""
    from transferkit.train.source import input_stats

    if data.xt.is_floating_point():
        mean, std = input_stats(data.xt[data.split.pool_idx], data.scratch_architecture or cfg.model.shared)
    elif source_model is not None:
        mean, std = source_model.input_mean.cpu(), source_model.input_std.cpu()
    else:
        mean, std = None, None

    def build() -> TransferModel:
        return TransferModel.build(
            data.scratch_architecture or cfg.model.shared, data.input_shape, data.target.classes, mean, std,
            head_hidden=cfg.model.head_hidden, **cfg.model.options,
        ).to(device)  # fmt: skip

    return build


def method_names() -> list[str]:
    return sorted(METHODS)
