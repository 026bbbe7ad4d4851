"""The store of an interrupted experiment's finished runs: what it serves again, and what it does not."""

from __future__ import annotations

import os
import time

from tests.conftest import tiny_experiment
from transferkit.config import load_config
from transferkit.evaluate import resume
from transferkit.evaluate.resume import FinishedRuns, experiment_key
from transferkit.paths import cache_dir


def _cfg_and_data(image_npz):
    from transferkit.evaluate.prepare import prepare

    src, tgt = image_npz
    cfg = load_config(None, raw=tiny_experiment(src, tgt, seeds=1))
    return cfg, prepare(cfg)


def test_a_run_trained_on_another_source_model_is_trained_again(image_npz):
    cfg, data = _cfg_and_data(image_npz)
    store = FinishedRuns(cfg, data)
    store.save(0, 2, "head", {"record": "r", "source_key": "weights-a"})
    assert store.load(0, 2, "head", "weights-b") is None and store.taken == 0  # not counted as taken either
    assert store.load(0, 2, "finetune", "weights-a") is None
    assert store.load(0, 2, "head", "weights-a")["record"] == "r" and store.taken == 1
    store.finish()
    assert not store.folder.exists()


def test_stores_of_runs_never_run_again_are_removed_after_a_month(image_npz):
    cfg, data = _cfg_and_data(image_npz)
    old, recent = cache_dir() / "unfinished" / "old", cache_dir() / "unfinished" / "recent"
    for folder in (old, recent):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "seed0_k1_x.pt").write_bytes(b"")
    month = time.time() - (resume.STALE_DAYS + 1) * 86400
    os.utime(old, (month, month))
    FinishedRuns(cfg, data)
    assert not old.exists() and recent.exists()


def test_a_checkpoint_written_again_at_the_same_path_is_another_experiment(tmp_path, image_npz):
    cfg, data = _cfg_and_data(image_npz)
    weights = tmp_path / "encoder.pt"
    weights.write_bytes(b"first")
    cfg.source = cfg.source.model_copy(update={"weights": str(weights)})
    first = experiment_key(cfg, data)
    assert experiment_key(cfg, data) == first
    weights.write_bytes(b"second, longer")
    assert experiment_key(cfg, data) != first
    assert experiment_key(cfg.model_copy(update={"seeds": [0, 1]}), data) != experiment_key(cfg, data)


def test_a_model_folder_written_again_is_another_experiment_too(tmp_path, image_npz):
    """A trial rewrote an `hf:` model folder's model.safetensors between interrupt and rerun: the
    runs trained on the old weights (0.958, 1.000) were taken beside runs on the new (0.833)."""
    from transferkit.paths import file_identity

    cfg, data = _cfg_and_data(image_npz)
    folder = tmp_path / "minilm"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"first")
    cfg.source = cfg.source.model_copy(update={"weights": str(folder)})
    first = experiment_key(cfg, data)
    assert experiment_key(cfg, data) == first
    before = file_identity(folder)
    (folder / "model.safetensors").write_bytes(b"other")  # the same size: its time tells it
    os.utime(folder / "model.safetensors", ns=(1, 1))
    assert file_identity(folder) != before and experiment_key(cfg, data) != first
    assert file_identity(None) is None and file_identity(tmp_path / "gone") == [str(tmp_path / "gone")]
