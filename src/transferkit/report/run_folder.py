"""Writing a run folder. It is built under a hidden temporary name and renamed into place
only when complete, so an interrupted run never leaves a folder that looks finished.

Layout: ``config.yaml`` (fully resolved), ``summary.json``, ``metrics.csv``,
``models/<method>_k<k>_seed<s>.{safetensors,json}``, ``models/base/source_seed<s>.safetensors`` (the
source's shared layers, which adapted models' checkpoints leave out), ``report.md``, ``plots/*.png``.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
import yaml

from transferkit.atomic import atomic_folder, write_json, write_text
from transferkit.data.domain import file_rows
from transferkit.data.preprocess import (
    border_medians,
    frame_of,
    ink_contrasts,
    other_polarity,
    polarity_reference,
    reads_series,
)
from transferkit.evaluate.protocol import ProtocolResult
from transferkit.models.adapters import save_base
from transferkit.report.adaptation import adaptation_report
from transferkit.report.markdown import render_report
from transferkit.report.plots import plot_accuracy_vs_shots, plot_training_curves
from transferkit.report.summary import build_summary
from transferkit.shots import has_labels, largest


def metrics_csv(result: ProtocolResult) -> str:
    """One row per method x k x seed x logged step (loss, epoch), plus a final row per run
    with the test accuracy (epoch: passes over the labelled target examples so far)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # as every other file written here
    w.writerow(["method", "shots", "seed", "phase", "step", "epoch", "loss", "test_accuracy"])
    for c in result.curves:
        epoch = "" if c.get("epoch") is None else f"{c['epoch']:.3g}"
        w.writerow([c["method"], c["shots"], c["seed"], c["phase"], c["step"], epoch, f"{c['loss']:.6g}", ""])
    for r in result.records:
        w.writerow([r.method, r.shots, r.seed, "final", "", "", "", f"{r.accuracy:.6f}"])
    return buf.getvalue()


def test_results_csv(result: ProtocolResult) -> str | None:
    """Each test example's outcome, a row per example and a column per method, k and seed (1:
    right, 0: wrong), with its row in the target data, its label and its group of exact copies:
    what every interval in summary.json is computed from (evaluate/stats.py), so they can be
    checked from the run folder alone. None when some run kept no per-example results."""
    records = [r for r in result.records if getattr(r, "correct", None) is not None]
    if not records or len(records) != len(result.records):
        return None
    from transferkit.report.summary import test_copy_groups

    test_idx = np.asarray(result.data.split.test_idx)
    target = result.data.target
    labels = np.asarray(target.y)[test_idx]
    groups = test_copy_groups(target, result.data.split)
    rows = file_rows(target)  # the row in the user's data, also under target.classes or max_per_class
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["target_row", "label", "copy_group", *(f"{r.method} k={r.shots} seed={r.seed}" for r in records)])
    columns = np.stack([np.asarray(r.correct, dtype=np.int64) for r in records], axis=1)
    for i, row in enumerate(columns):
        w.writerow([int(rows[test_idx[i]]), target.classes[int(labels[i])], int(groups[i]), *row.tolist()])
    return buf.getvalue()


BASELINES = ("scratch", "source_only")  # references for the comparison, not what a user deploys


def deploy_method(result: ProtocolResult) -> str:
    """The method ``predict`` uses by default: the config's ``deploy``, else ``auto``, else
    ``finetune``, else the first method that is not a baseline (scratch, source_only) nor
    one whose models are a baseline's unchanged (adabn on a model without BatchNorm) nor one that
    never reads labels (adabn: at k = 0 after the others, at a k with labels not at all), else the first. Chosen from
    the configuration and the models' structure, never from test accuracy."""
    from transferkit.methods import METHODS

    names = result.config.method_names
    if result.config.deploy:
        return result.config.deploy
    unchanged = {r.method for r in result.records if getattr(r, "unchanged_from", None)}  # kept without the models too
    label_free = {n for n in names if n in METHODS and not METHODS[n].uses_target_labels}  # adabn: trains nothing
    if has_labels(largest(result.config.target.shots)):  # a trial deployed adabn at k = 5 beside mcc and dann
        unchanged |= label_free
    candidates = [n for n in names if n not in BASELINES and n not in unchanged]
    # at k = 0 adabn, the adaptation methods' own start, comes after them: a trial deployed it at 73.4 % beside
    # self_training's 95.2 %, being listed first
    preferred = [n for n in ("auto", "finetune") if n in names] + [n for n in candidates if n not in label_free]
    return (preferred or candidates or names)[0]


def write_run_folder(result: ProtocolResult, out: str | Path) -> dict:
    start = time.perf_counter()  # the folder's models, plots and diagnostics count in the run's wall time
    with atomic_folder(out) as tmp:
        summary = build_summary(result)
        summary["deploy"] = {"method": deploy_method(result), "shots": largest(result.config.target.shots),
                             "seed": result.config.seeds[0]}  # fmt: skip
        summary["models_saved"] = bool(result.config.save_models)
        cfg = result.config.model_dump(mode="json")
        write_text(tmp / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
        write_text(tmp / "metrics.csv", metrics_csv(result))
        outcomes = test_results_csv(result)
        if outcomes is not None:  # what every interval is computed from: checkable from the folder alone
            write_text(tmp / "test_results.csv", outcomes)
        target = result.data.target
        # image files given to predict are first brought to the size the target's images had
        # (an image folder's most common size), as the run's own off-size images were
        size = {"image_size": list(target.x.shape[-2:])} if getattr(target, "is_image", False) else {}
        if size and not reads_series(result.data.input_shape, result.config.model.shared):  # (series: no ink or paper)
            # the pool's model inputs' background (never the test split): predict warns of the other polarity
            pool = result.data.xt[result.data.split.pool_idx]
            borders = border_medians(pool, result.data.target_recipe.pad)
            size["target_border"] = polarity_reference(borders)
            size["target_border_other"] = other_polarity(borders, size["target_border"])
            size["target_ink"] = float(np.median(ink_contrasts(pool, result.data.target_recipe.pad)))  # tinted sheets
        frame = frame_of(result.data.source)  # how the source's images were framed: few-shot's source.model pads to it
        if frame is not None:
            size["source_frame"] = frame
        if result.data.source is not None:  # the classes the shared layers learned first: few-shot's novelty check
            size["source_classes"] = [str(c) for c in result.data.source.classes]
        bases = {r.model.config["base_model"]: r.seed for r in result.records
                 if r.model is not None and r.model.config.get("base_model")}  # fmt: skip
        for name, seed in bases.items():  # each seed's source shared layers, once (models/adapters.py)
            save_base(result.source_models[seed], tmp / "models" / name)
        for r in result.records:
            if r.model is not None:
                r.model.save(tmp / "models" / f"{r.method}_k{r.shots}_seed{r.seed}",
                             {"recipe": result.data.target_recipe.to_dict(), "method": r.method,
                              "shots": r.shots, "seed": r.seed, **size, **(result.data.fit_ranges or {})})  # fmt: skip
        plots = {"Accuracy vs k": "plots/accuracy_vs_shots.png"}
        plot_accuracy_vs_shots(summary["results"], tmp / plots["Accuracy vs k"])
        if result.curves:
            plots["Training curves"] = "plots/training_curves.png"
            plot_training_curves(result.curves, result.config.seeds[0], tmp / plots["Training curves"])
        da_section, da_plots = adaptation_report(result, tmp)
        if da_section:
            summary["adaptation"] = da_section
            plots.update(da_plots)
        summary["report_seconds"] = time.perf_counter() - start
        summary["evaluation_seconds"] = result.wall_time_s  # training and testing every method
        summary["wall_time_s"] = result.wall_time_s + summary["report_seconds"]
        write_text(tmp / "report.md", render_report(summary, plots))
        write_json(tmp / "summary.json", summary)  # last: its presence marks a complete run
    return summary
