"""A source model no better than chance is reported (evaluate/source_check.py)."""

from __future__ import annotations

import json

import numpy as np
import yaml

from tests.conftest import tiny_experiment
from transferkit.cli import main
from transferkit.evaluate.source_check import source_steps, weak_source_warning


def test_the_warning_is_given_below_z_3_only():
    # 5 classes, 33 held-out examples: 30 % is z = 1.4 above chance; 60 % is z = 5.7
    text = weak_source_warning(0.30, 5, 33, seed=0, steps=30)
    assert "validation accuracy 30.0 % is not clearly above chance (20 % for 5 classes; z = 1.4" in text
    assert "It trained 30 steps; raise source.epochs" in text
    assert weak_source_warning(0.60, 5, 33, seed=0) is None
    assert weak_source_warning(float("nan"), 5, 33, seed=0) is None  # nothing held out
    assert weak_source_warning(0.5, 2, 400, seed=1).startswith("source model seed 1:")
    assert source_steps(297, 128, 10) == 23 and source_steps(10, 128, 1) == 1


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
    assert "is not clearly above chance (33 % for 3 classes" in warning
    assert f"**Warning:** {warning}" in (tmp_path / "run" / "report.md").read_text()
    assert f"warning: {warning}" in capsys.readouterr().out
