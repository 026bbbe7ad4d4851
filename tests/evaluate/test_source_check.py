"""A source model no better than chance is reported (evaluate/source_check.py)."""

from __future__ import annotations

import json

import numpy as np
import yaml

from tests.conftest import tiny_experiment
from transferkit.cli import main
from transferkit.evaluate.source_check import source_steps, weak_source_warning


def test_the_warning_is_given_below_z_3_only():
    # 5 balanced classes, 35 held-out examples: 30 % is z = 1.5 above chance (20 %); 60 % is z = 5.9
    balanced = np.repeat(np.arange(5), 7)
    text = weak_source_warning(0.30, balanced, seed=0, steps=30)
    assert "validation accuracy 30.0 % is not clearly above chance (20 %, always predicting" in text
    assert "z = 1.5 on 35 held-out examples" in text and "It trained 30 steps; raise source.epochs" in text
    assert weak_source_warning(0.60, balanced, seed=0) is None
    assert weak_source_warning(float("nan"), balanced, seed=0) is None  # nothing held out
    assert weak_source_warning(0.5, np.repeat([0, 1], 200), seed=1).startswith("source model seed 1:")
    assert source_steps(297, 128, 10) == 23 and source_steps(10, 128, 1) == 1


def test_chance_is_the_most_frequent_class_and_tiny_splits_are_not_judged():
    imbalanced = np.r_[np.zeros(450, int), np.ones(50, int)]  # 90 % of one class
    assert "chance (90 %" in weak_source_warning(0.90, imbalanced, seed=0)  # always the majority: no better
    assert weak_source_warning(0.97, imbalanced, seed=0) is None
    assert weak_source_warning(1.0, np.repeat([0, 1], 4), seed=0) is None  # 8 examples: even 100 % is z = 2.8
    small = np.r_[np.zeros(23, int), np.ones(4, int)]  # 27 held out, 85 % of one class
    assert weak_source_warning(26 / 27, small, seed=0) is None  # z = 1.6, but one error: nearer perfect than chance
    text = weak_source_warning(24 / 27, small, seed=0)  # three errors: nearer chance
    assert "z = 0.5 on 27 held-out examples), so its features may hold little to transfer. Raise source.epochs" in text


def test_a_source_with_shuffled_labels_is_reported_in_the_run(tmp_path, image_npz, capsys):
    src, tgt = image_npz
    d = np.load(src)
    y = np.random.default_rng(0).permutation(d["y"])  # labels that do not match the inputs
    np.savez(tmp_path / "shuffled.npz", x=d["x"], y=y, classes=d["classes"])
    cfg = tiny_experiment(tmp_path / "shuffled.npz", tgt, seeds=1,
                          methods=[{"name": "scratch", "params": {"steps": 3}}, {"name": "head", "params": {"steps": 3}}])  # fmt: skip
    cfg["target"]["shots"] = [2]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    warning = summary["source"]["models"]["0"]["warning"]
    assert "is not clearly above chance (" in warning and "always predicting its most frequent class" in warning
    assert f"**Warning:** {warning}" in (tmp_path / "run" / "report.md").read_text()
    assert f"warning: {warning}" in capsys.readouterr().out
