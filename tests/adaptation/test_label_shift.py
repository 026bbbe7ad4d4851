"""The target's class mix estimated without its labels (BBSE), and the warning before alignment."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import transferkit.evaluate.protocol as protocol
from transferkit import TransferClassifier, pretrain
from transferkit.adaptation.label_shift import FLOOR, estimate_mix, label_shift_note, total_variation
from transferkit.config import validate
from transferkit.errors import TransferkitWarning

CLASSES = ["a", "b", "c"]


def _predicted(y: np.ndarray, c: np.ndarray, rng) -> np.ndarray:
    """A black-box classifier's predictions for labels ``y``: class j is predicted i with probability c[i, j]."""
    return np.array([rng.choice(len(c), p=c[:, j]) for j in y])


def test_bbse_recovers_a_skewed_mix_that_the_predicted_histogram_misses():
    rng = np.random.default_rng(0)
    c = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])  # P(yhat = i | y = j): a confused model
    y_val = np.repeat(np.arange(3), 2000)  # held-out source: balanced
    q = np.array([0.8, 0.15, 0.05])  # the target's mix
    y_t = rng.choice(3, size=6000, p=q)
    pred_val, pred_t = _predicted(y_val, c, rng), _predicted(y_t, c, rng)
    est = estimate_mix(pred_val, y_val, pred_t, 3)
    histogram = np.bincount(pred_t, minlength=3) / len(pred_t)
    assert total_variation(est, q) < 0.03 < 0.1 < total_variation(histogram, q)
    assert est.min() >= 0 and est.sum() == pytest.approx(1.0)


def test_bbse_falls_back_to_the_histogram_when_the_confusion_is_near_singular():
    rng = np.random.default_rng(1)
    y_val = np.repeat(np.arange(3), 500)
    pred_val = np.where(y_val == 2, 1, y_val)  # classes 1 and 2 always predicted 1: C is singular
    pred_t = rng.choice(3, size=300, p=[0.5, 0.4, 0.1])
    est = estimate_mix(pred_val, y_val, pred_t, 3)
    assert np.allclose(est, np.bincount(pred_t, minlength=3) / 300)


def test_note_fires_from_the_error_floor_alignment_would_force():
    p = np.full(3, 1 / 3)
    assert label_shift_note(p, p, 0.0, CLASSES, "t") is None
    skewed = np.array([0.9, 0.05, 0.05])  # TV 0.57: aligned, at least 57 % target error
    note = label_shift_note(skewed, p, 0.0, CLASSES, "t")
    assert note.startswith("t: the target's class mix") and "'a' 90 % (source 33 %)" in note
    assert "source_only" in note and "k >= 1" in note and "\n" not in note
    assert label_shift_note(skewed, p, total_variation(skewed, p) - FLOOR + 0.01, CLASSES, "t") is None  # a weak source


def _blobs(counts, rng, shift=0.0):
    """(N, 4) vectors: class c a Gaussian blob around 4 * e_c; ``counts`` examples of each class."""
    y = np.repeat(np.arange(len(counts)), counts)
    return (rng.normal(size=(len(y), 4)) + 4.0 * np.eye(4)[y] + shift).astype(np.float32), y


@pytest.fixture(scope="module")
def source():
    rng = np.random.default_rng(0)
    xs, ys = _blobs([200, 200, 200], rng)
    return pretrain(xs, np.array(CLASSES)[ys], epochs=5)


def _label_shift_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, TransferkitWarning) and "class mix" in str(w.message)]


def test_fit_warns_of_a_skewed_unlabelled_target_and_not_of_a_balanced_one(source):
    rng = np.random.default_rng(1)
    for counts, expected in (([270, 15, 15], 1), ([100, 100, 100], 0)):
        xu, _ = _blobs(counts, rng, shift=0.3)
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            TransferClassifier("mcc", source=source, method_params={"steps": 2}).fit(None, None, X_unlabelled=xu)
        assert len(_label_shift_warnings(said)) == expected, counts
    with warnings.catch_warnings(record=True) as said:  # not an alignment method: not said
        warnings.simplefilter("always")
        TransferClassifier("source_only", source=source).fit(None, None, X_unlabelled=_blobs([270, 15, 15], rng)[0])
    assert not _label_shift_warnings(said)


def _run_config(tmp_path, counts, methods) -> dict:
    rng = np.random.default_rng(2)
    xs, ys = _blobs([150, 150, 150], rng)
    xt, yt = _blobs(counts, rng, shift=0.3)
    np.savez(tmp_path / "s.npz", x=xs, y=ys, classes=np.array(CLASSES))
    np.savez(tmp_path / "t.npz", x=xt, y=yt, classes=np.array(CLASSES))
    return validate({"name": "shift", "source": {"data": str(tmp_path / "s.npz"), "epochs": 5},
                     "target": {"data": str(tmp_path / "t.npz"), "shots": [0]}, "methods": methods,
                     "seeds": 2, "save_models": False})  # fmt: skip


@pytest.mark.parametrize(("counts", "expected"), [([180, 10, 10], 1), ([70, 70, 70], 0)])
def test_run_warns_once_before_alignment_on_a_skewed_target(tmp_path, counts, expected):
    cfg = _run_config(tmp_path, counts, [{"mcc": {"steps": 2}}, {"dann": {"steps": 2}}])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        result = protocol.run_protocol(cfg)
    assert len(_label_shift_warnings(said)) == expected  # once a run, not once per seed or method
    assert len([n for n in result.data.notes if "class mix" in n]) == expected  # listed with the target's warnings


def test_run_estimates_the_mix_from_pool_inputs_only(tmp_path, monkeypatch):
    cfg = _run_config(tmp_path, [180, 10, 10], [{"mcc": {"steps": 2}}])
    seen = []

    def spy(source_model, x_val, y_val, x_target, classes, where):
        seen.append(x_target.cpu().clone())
        return None

    monkeypatch.setattr(protocol, "target_mix_note", spy)
    result = protocol.run_protocol(cfg)
    data = result.data
    assert len(seen) == 1 and torch.equal(seen[0], data.xt[data.split.pool_idx])  # the pool: never a test input
    test_rows = {row.numpy().tobytes() for row in data.xt[data.split.test_idx]}
    assert not any(row.numpy().tobytes() in test_rows for row in seen[0])


def test_run_does_not_estimate_without_an_alignment_method(tmp_path, monkeypatch):
    cfg = _run_config(tmp_path, [180, 10, 10], ["source_only"])
    monkeypatch.setattr(protocol, "target_mix_note", lambda *a: pytest.fail("estimated for source_only alone"))
    protocol.run_protocol(cfg)
