"""The numbers of a run: per (method, shots) accuracy, CI, transfer gain, negative transfer."""

from __future__ import annotations

import platform
import sys
from collections import defaultdict
from importlib import metadata

import numpy as np

from transferkit.data.domain import SAMPLED
from transferkit.data.preprocess import colour_and_grey, in_colour
from transferkit.evaluate.protocol import ProtocolResult
from transferkit.evaluate.stats import is_negative_transfer, paired_gain, t_interval
from transferkit.report.auto import auto_decisions
from transferkit.shots import ALL

BASELINE = "scratch"


def package_versions() -> dict[str, str]:
    """Python, platform, the key packages' versions and torch's CPU thread count: results
    reproduce for the same ones (docs/protocol.md, point 7)."""
    import torch

    out = {"python": sys.version.split()[0], "platform": platform.platform(), "torch_threads": str(torch.get_num_threads())}
    for dist in ("transferkit", "torch", "numpy", "scikit-learn", "safetensors", "pydantic"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _seed_mean(per_seed: dict[int, np.ndarray], seeds: list[int]) -> np.ndarray:
    """(m,) each test example's correctness averaged over ``seeds``."""
    return np.mean([per_seed[s] for s in seeds], axis=0)


def per_class(correct: np.ndarray, y_test: np.ndarray, classes: list[str]) -> dict[str, float | None]:
    """Accuracy on each class's test examples (None for a class without any): on an
    imbalanced target the overall accuracy mostly says how the large classes fare."""
    return {name: (float(correct[y_test == c].mean()) if (y_test == c).any() else None) for c, name in enumerate(classes)}


def balanced(correct: np.ndarray, y_test: np.ndarray) -> float:
    """Balanced accuracy: the mean over the classes present in the test split of each one's
    accuracy. Always predicting one class scores 1 / (classes present) whatever the split's mix;
    on an imbalanced split it says whether the small classes were learned, which the overall
    accuracy, dominated by the large ones, does not."""
    return float(np.mean([correct[y_test == c].mean() for c in np.unique(y_test)]))


def _balanced_intervals(right: dict, base_right: dict | None, seeds: list, y_test: np.ndarray, groups) -> dict:
    """A row's balanced accuracy interval, and its gain over the baseline's (paired by seed and
    test example) when the baseline has per-example results on the same seeds. The test split's
    term is stratified by class (evaluate/stats.py, stratified_test_variance)."""
    values = [balanced(right[s], y_test) for s in seeds]
    mine = np.mean([np.asarray(right[s], dtype=np.float64) for s in seeds], axis=0)
    ci = t_interval(values, bounds=(0.0, 1.0), per_example=mine, groups=groups, strata=y_test)
    out = {"balanced_accuracy_ci95": ci.as_list()}
    if base_right and all(s in base_right for s in seeds):
        base = [balanced(base_right[s], y_test) for s in seeds]
        diff = mine - np.mean([np.asarray(base_right[s], dtype=np.float64) for s in seeds], axis=0)
        gain = t_interval([a - b for a, b in zip(values, base, strict=True)], bounds=(-1.0, 1.0), per_example=diff,
                          paired=True, groups=groups, strata=y_test)  # fmt: skip
        out.update(balanced_gain=gain.mean, balanced_gain_ci95=gain.as_list())
    return out


def results_table(result: ProtocolResult) -> list[dict]:
    """One row per (method, shots), in config order; gains are paired by seed with scratch."""
    acc: dict[tuple[str, int], dict[int, float]] = defaultdict(dict)
    secs: dict[tuple[str, int], list[float]] = defaultdict(list)
    sizes: dict[tuple[str, int], list[tuple[int, dict]]] = defaultdict(list)
    kept: dict[tuple[str, int], list[int]] = defaultdict(list)  # seeds whose probed head was kept
    correct: dict[tuple[str, int], dict[int, np.ndarray]] = defaultdict(dict)
    sure: dict[tuple[str, int], list[float]] = defaultdict(list)  # mean top probability on the test split, per seed
    for r in result.records:
        acc[(r.method, r.shots)][r.seed] = r.accuracy
        if getattr(r, "confidence", None) is not None:
            sure[(r.method, r.shots)].append(r.confidence)
        if getattr(r, "correct", None) is not None:
            correct[(r.method, r.shots)][r.seed] = r.correct.astype(np.float64)
        secs[(r.method, r.shots)].append(r.seconds)
        sizes[(r.method, r.shots)].append((r.seed, r.footprint))
        if getattr(r, "probe_kept", False):
            kept[(r.method, r.shots)].append(r.seed)
    step = 1.0 / max(1, len(result.data.split.test_idx))  # one test example: an accuracy's resolution
    target = getattr(result.data, "target", None)  # absent in hand-made results (tests)
    y_test = None if target is None else np.asarray(target.y)[result.data.split.test_idx]
    groups = _test_copy_groups(target, result.data.split)  # copies of one input: one draw
    rows = []
    for method in result.config.method_names:
        for k in result.config.target.shots:
            if (method, k) not in acc:
                continue
            per_seed = acc[(method, k)]
            seeds = sorted(per_seed)
            values = [per_seed[s] for s in seeds]
            right = correct.get((method, k), {})
            have = all(s in right for s in seeds)  # per-example results: the intervals cover the test split too
            ci = t_interval(values, bounds=(0.0, 1.0), per_example=_seed_mean(right, seeds) if have else None,
                            plus_four=True, groups=groups)  # fmt: skip
            row = {
                "method": method, "shots": k, "seeds": seeds, "accuracies": values,
                "accuracy_mean": ci.mean, "accuracy_ci95": ci.as_list(),
                "gain_vs_scratch": None, "gain_ci95": None,
                "negative_transfer": None,  # not checked (no baseline to pair with); True/False once it is
                "train_seconds_mean": sum(secs[(method, k)]) / len(secs[(method, k)]),
                **_footprint(sizes[(method, k)]),
                **({"probe_kept_seeds": sorted(kept[(method, k)])} if kept.get((method, k)) else {}),
                # how sure it is against how often it is right: its probabilities read as chances only when close
                **({"mean_confidence": float(np.mean(sure[(method, k)]))} if sure.get((method, k)) else {}),
                "per_class_accuracy": per_class(_seed_mean(right, seeds), y_test, target.classes)
                if have and y_test is not None else None,
                # per seed, as accuracies: the mean over classes of each class's accuracy
                "balanced_accuracies": [balanced(right[s], y_test) for s in seeds]
                if have and y_test is not None and len(y_test) else None,
            }  # fmt: skip
            # scratch where it ran; else (k = 0, no target labels) the unadapted source model
            ref = BASELINE if (BASELINE, k) in acc else "source_only" if ("source_only", k) in acc else None
            if have and y_test is not None and len(y_test) and len(seeds) > 1:  # the report's imbalance table reads them
                base_right = correct.get((ref, k)) if ref is not None and ref != method else None
                row.update(_balanced_intervals(right, base_right, seeds, y_test, groups))
            mine = (method, values, right if have else {})
            gain = _gain_over(acc, correct, mine, ref, k, step, groups) if ref is not None else None
            if gain is not None:
                keys = ("gain_vs_scratch", "gain_ci95") if ref == BASELINE else ("gain_vs_source_only", "gain_vs_source_only_ci95")
                checked = gain.high is not None  # one seed without per-example results: no interval, no verdict
                row.update({keys[0]: gain.mean, keys[1]: gain.as_list(),
                            "negative_transfer": is_negative_transfer(gain) if checked else None})  # fmt: skip
            unadapted = (_gain_over(acc, correct, mine, "source_only", k, step, groups)
                         if ref == BASELINE and method != BASELINE else None)  # fmt: skip
            if unadapted is not None and unadapted.high is not None:  # with labels: did adapting hurt the source model?
                row.update({"gain_vs_unadapted": unadapted.mean, "gain_vs_unadapted_ci95": unadapted.as_list(),
                            "below_unadapted": is_negative_transfer(unadapted)})  # fmt: skip
            rows.append(row)
    return rows


FOOTPRINT = ("trainable_params", "total_params", "checkpoint_bytes")


def _footprint(per_seed: list[tuple[int, dict]]) -> dict:
    """A row's parameter counts and checkpoint size: the value its seeds share; where they differ
    (e.g. one seed's LoRA fell back to its probed head, a smaller checkpoint), the largest, and
    every seed's under ``footprint_per_seed``, so no seed's model is described by another's."""
    out: dict = {}
    for key in FOOTPRINT:
        values = [fp.get(key) for _, fp in per_seed]
        known = [v for v in values if v is not None]
        out[key] = values[0] if len(set(values)) <= 1 else (max(known) if known else None)
    if any(len({fp.get(key) for _, fp in per_seed}) > 1 for key in FOOTPRINT):
        out["footprint_per_seed"] = {str(seed): {key: fp.get(key) for key in FOOTPRINT} for seed, fp in sorted(per_seed)}
    return out


def test_copy_groups(target, split) -> np.ndarray | None:
    """The test examples' groups of exact copies, all of them (the split's own, as split_target
    found them, else computed), None without the target's inputs, as in hand-made results."""
    test_idx = np.asarray(split.test_idx)
    if target is None or not len(test_idx):
        return None
    groups = getattr(split, "groups", None)
    if groups is None:
        from transferkit.data.overlap import input_groups

        try:
            groups = input_groups(target)
        except (AttributeError, TypeError):  # a target without inputs to compare
            return None
    return np.asarray(groups)[test_idx]


def _test_copy_groups(target, split) -> np.ndarray | None:
    """:func:`test_copy_groups`, or None when every test example is distinct (per example, as before)."""
    groups = test_copy_groups(target, split)
    return groups if groups is not None and len(np.unique(groups)) < len(groups) else None


def _gain_over(acc: dict, correct: dict, mine: tuple, other: str, k: int, step: float,
               groups: np.ndarray | None = None):  # fmt: skip
    """A method's gain over ``other`` at ``k``, paired by seed (and by test example when both have
    per-example results), or None when ``other`` did not run on the same seeds.
    ``mine``: (method, accuracies in seed order, per-example results by seed or {})."""
    method, values, right = mine
    seeds = sorted(acc[(method, k)])
    base = acc.get((other, k))
    if base is None or method == other or not all(s in base for s in seeds):
        return None
    base_right = correct.get((other, k), {})
    diff = None
    if right and all(s in base_right for s in seeds):
        diff = _seed_mean(right, seeds) - _seed_mean(base_right, seeds)
    return paired_gain(values, [base[s] for s in seeds], resolution=step, per_example=diff,
                       groups=groups if diff is not None else None)  # fmt: skip


def _draw_order(target) -> list[str] | None:
    """The target's class names in the order its split and shots were drawn from, when that is
    not their order here (labels renumbered into the source's): what ``rank`` redraws with."""
    from transferkit.data.splits import draw_order

    order = draw_order(target)
    return None if order is None else [target.classes[i] for i in order]


def labelled_at_all(data) -> dict[str, int]:
    """Each class's labelled examples at ``shots: all``: its examples in the training pool."""
    counts = np.bincount(np.asarray(data.target.y)[data.split.pool_idx], minlength=len(data.target.classes))
    return {str(name): int(n) for name, n in zip(data.target.classes, counts, strict=True)}


def below_source_only(results: list[dict]) -> list[str]:
    """Rows (beside a scratch baseline) whose gain over the unadapted source lies wholly below 0."""
    return [f"{r['method']} at k={r['shots']}" for r in results if r.get("below_unadapted")]


IMBALANCED = 1.5  # largest / smallest class in the test split: from here accuracy and balanced accuracy part


def uneven_counts(counts) -> bool:
    """Whether a test split of these per-class counts is imbalanced (``IMBALANCED``; empty classes aside)."""
    present = [int(n) for n in counts if n]
    return len(present) > 1 and max(present) >= IMBALANCED * min(present)


def balanced_negative(row: dict) -> bool:
    """A balanced-accuracy gain whose interval lies wholly below 0, on a row not flagged on accuracy."""
    ci = row.get("balanced_gain_ci95")
    return bool(ci and ci[1] < 0 and not row.get("negative_transfer"))


def _below_not_significant(row: dict) -> bool:
    """A mean gain below 0 whose interval still reaches 0: possible, not established, negative transfer."""
    gain, ci = row.get("gain_vs_scratch"), row.get("gain_ci95")
    if gain is None:
        gain, ci = row.get("gain_vs_source_only"), row.get("gain_vs_source_only_ci95")
    return gain is not None and ci is not None and gain < 0 and not row["negative_transfer"]


def majority_class(y_test, classes: list[str]) -> dict:
    """The accuracy of always predicting the test split's most frequent class: the trivial
    rule every method, scratch included, should beat; and each class's test count. Empty
    without a test split."""
    if len(y_test) == 0:
        return {}
    counts = np.bincount(np.asarray(y_test), minlength=len(classes))
    return {"majority_class": classes[int(counts.argmax())], "majority_rate": float(counts.max() / len(y_test)),
            "test_per_class": {name: int(n) for name, n in zip(classes, counts, strict=True)}}  # fmt: skip


def shared_built(result: ProtocolResult) -> str | None:
    """The shared layers' architecture the run built (``auto`` resolved), from its source model
    or, without one, its first target model."""
    models = [*getattr(result, "source_models", {}).values(), *(r.model for r in result.records)]
    return next((m.config.get("architecture") for m in models if m is not None), None)


def pretrained_input_size(result: ProtocolResult) -> list[int] | None:
    """The (C, H, W) a pretrained image encoder was trained at (its spec), from the run's source model; None for
    texts and for shared layers of the run's own."""
    from transferkit.pretrained.spec import learned_input_size

    return next(filter(None, map(learned_input_size, getattr(result, "source_models", {}).values())), None)


def _auto_scratch_only(result: ProtocolResult) -> set[int]:
    """The k at which ``auto`` trained ``scratch`` for every seed (its rows are then scratch's)."""
    by_k: dict[int, set] = {}
    for d in auto_decisions(result):
        by_k.setdefault(d["shots"], set()).add(d["method"])
    return {k for k, chosen in by_k.items() if chosen == {"scratch"}}


def _row_name(row: dict, scratch_only: set[int]) -> str:
    """'finetune at k=5', with what it was compared with, and for ``auto`` that trained scratch throughout, that."""
    name = f"{row['method']} at k={row['shots']}" + (" (vs source_only)" if "gain_vs_source_only" in row else "")
    return name + (" (auto trained scratch at every seed)" if row["method"] == "auto" and row["shots"] in scratch_only
                   else "")  # fmt: skip


def build_summary(result: ProtocolResult) -> dict:
    cfg = result.config
    data = result.data
    scratch_only = _auto_scratch_only(result)
    results = results_table(result)
    uneven = uneven_counts(np.bincount(np.asarray(data.target.y)[data.split.test_idx]))
    return {
        "name": cfg.name,
        "source": None if data.source is None else {
            "data": data.source.name, "classes": data.source.classes, "examples": len(data.source),
            "recipe": data.source_recipe.to_dict(),
            "input_shape": list(data.source.input_shape) if getattr(data.source, "is_image", False) else None,
            "inverted": bool(getattr(cfg.source, "invert", False)),  # read as max - x when loaded (its recipe cannot say)
            "models": {str(s): v for s, v in result.sources.items()},
            "warnings": list(getattr(data, "source_notes", [])),  # raised while loading it, e.g. images resized
            "sampled": data.source.meta.get(SAMPLED),  # max_per_class: {"kept", "of", "max_per_class"}, else None
        },
        "target": {
            "data": data.target.name, "classes": data.target.classes, "examples": len(data.target),
            "test_examples": len(data.split.test_idx), "pool_examples": len(data.split.pool_idx),
            "recipe": data.target_recipe.to_dict(), "shots": cfg.target.shots,
            # k = all: the labelled examples of each class (its whole training pool), the same at every seed
            "labelled_at_all": labelled_at_all(data) if ALL in cfg.target.shots else None,
            "input_shape": list(data.target.input_shape) if getattr(data.target, "is_image", False) else None,
            "colour": bool(in_colour(data.target.x)) if getattr(data.target, "is_image", False) else None,
            "colour_and_grey": bool(colour_and_grey(data.target.x)) if getattr(data.target, "is_image", False) else None,
            "split_seed": cfg.target.split_seed, "test_fraction": cfg.target.test_fraction,
            "draw_order": _draw_order(data.target),  # the classes drawn from in their own order (rank redraws so)
            "test_examples_in_source": getattr(result, "test_in_source", 0),  # copies, exact or near: data/overlap.py
            "test_examples_in_source_same_class": getattr(result, "test_in_source_same_class", 0),
            "test_examples_in_source_near": getattr(result, "test_in_source_near", 0),  # ... images nearly equal
            "test_examples_in_source_near_same_class": getattr(result, "test_in_source_near_same_class", 0),
            "fingerprint": data.target.fingerprint(),  # lets rank recognise this data under another file name
            "content_fingerprint": data.target.content_fingerprint(),  # ... or saved apart from a larger file
            "warnings": list(getattr(data, "notes", [])),  # raised while loading, e.g. values off the source's range
            "sampled": data.target.meta.get(SAMPLED),  # max_per_class: the counts here are the sample's
            **majority_class(data.target.y[data.split.test_idx], data.target.classes),  # a reference, never a choice
        },
        "pretrained": None if cfg.source is None else cfg.source.pretrained,
        "pretrained_input_size": pretrained_input_size(result),  # e.g. [3, 224, 224]: the size its weights learned at
        "shared": shared_built(result),  # what `model.shared` (auto by default) built
        "shared_config": None if cfg.source is not None and cfg.source.pretrained else cfg.model.shared,
        "seeds": cfg.seeds,
        "class_weight": getattr(cfg, "class_weight", None),  # balanced: each class weighs alike in the losses
        "methods": cfg.method_names,
        "method_params": {m.name: m.params for m in cfg.methods if m.params},  # the settings given, not defaults
        # what each k's gains are taken against: scratch where it ran, else source_only, else none
        "baseline": {str(k): next((b for b in (BASELINE, "source_only") if any(r["method"] == b and r["shots"] == k
                                                                                 for r in results)), None)
                     for k in cfg.target.shots},
        "results": results,
        "negative_transfer": [_row_name(r, scratch_only) for r in results if r["negative_transfer"]],
        # rows whose balanced-accuracy gain lies wholly below 0 where their accuracy gain does not: the small
        # classes pay (a trial's source_only: -30.0 [-58.1, -1.9] balanced, its rare class 16.7 % against 100)
        "negative_transfer_balanced": [_row_name(r, scratch_only) for r in results if uneven and balanced_negative(r)],
        "below_baseline_not_significant": [_row_name(r, scratch_only) for r in results if _below_not_significant(r)],
        # (auto that trained scratch for every seed at a k is scratch beside scratch: not a transfer comparison)
        "negative_transfer_checked": sum(bool(r.get("gain_ci95") or r.get("gain_vs_source_only_ci95"))
                                         and not (r["method"] == "auto" and r["shots"] in scratch_only)
                                         for r in results),  # fmt: skip
        # beside scratch: methods that ended below the source model as it is (source_only), significantly
        "below_source_only": below_source_only(results),
        "skipped": result.skipped,
        "method_warnings": list(dict.fromkeys(result.method_notes)),  # e.g. a fine-tuning that diverged
        "auto_decisions": auto_decisions(result),
        "model_selection": "fixed training budgets; no model or checkpoint is chosen on this run's target test split "
                           "(some defaults were set on benchmark pairs, see docs/protocol.md)"
                           + ("; domain-adaptation methods choose their checkpoint by a label-free criterion on the "
                              "unlabelled target inputs (the labelled ones', labels unused, when every pool input is "
                              "labelled; `selection`), at every k, k > 0 included (below, and "
                              "docs/domain_adaptation.md)" if getattr(result, "selections", None) else ""),
        "wall_time_s": result.wall_time_s,
        # runs an interrupted run of this experiment had finished, taken from the cache (their own seconds kept)
        "resumed_runs": result.finished.taken if getattr(result, "finished", None) else 0,
        "versions": package_versions(),
    }  # fmt: skip
