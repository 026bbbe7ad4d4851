"""The store of an interrupted experiment's finished runs: what it serves again, and what it does not."""

from __future__ import annotations

import os
import time

import pytest

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
    import torch

    threads = torch.get_num_threads()
    try:  # another thread count changes a model's last bits: another experiment
        torch.set_num_threads(1 if threads > 1 else 2)
        other = experiment_key(cfg, data)
    finally:
        torch.set_num_threads(threads)
    assert other != experiment_key(cfg, data)


def test_runs_stored_by_code_whose_results_differ_are_not_taken(image_npz, monkeypatch):
    """A run interrupted before scratch took its target's own statistics resumed with that stored scratch
    (the source's statistics) beside new methods' results (a review): the key holds a results format."""
    cfg, data = _cfg_and_data(image_npz)
    now = experiment_key(cfg, data)
    monkeypatch.setattr(resume, "RESULTS_FORMAT", resume.RESULTS_FORMAT - 1)
    assert experiment_key(cfg, data) != now


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
    from transferkit.paths import pretrained_identity

    cfg.source = cfg.source.model_copy(update={"weights": None, "pretrained": f"hf:{folder}"})  # the folder as hf:
    hf_key = experiment_key(cfg, data)
    (folder / "model.safetensors").write_bytes(b"third")
    os.utime(folder / "model.safetensors", ns=(2, 2))
    assert experiment_key(cfg, data) != hf_key and pretrained_identity(f"hf:{folder}")[0] == str(folder)
    assert pretrained_identity("hf:sentence-transformers/all-MiniLM-L6-v2") is None  # a hub id: its package keys it


def test_the_cached_source_of_an_hf_model_folder_is_keyed_on_its_files(tmp_path, monkeypatch):
    """The review: `pretrained: hf:<folder>` rewritten in place was served the source trained on the old files."""
    from types import SimpleNamespace as NS

    import torch

    from transferkit.train import pretrained_source

    class Keyed(Exception):
        pass

    keys = []

    def record(parts, device=None):
        keys.append(parts)
        raise Keyed

    monkeypatch.setattr(pretrained_source, "cache_key", record)
    folder = tmp_path / "encoder"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"first")
    src = NS(pretrained=f"hf:{folder}", weights=None, epochs=1, batch_size=8, lr=1e-3, shared_lr_mult=1.0,
             weight_decay=0.0, augment=False)  # fmt: skip
    cfg = NS(source=src, model=NS(head_hidden=0))
    data = NS(xs=None, source=None, target=NS(classes=["a", "b"]), input_shape=(3, 8, 8), source_recipe=None)
    for _ in range(2):
        with pytest.raises(Keyed):
            pretrained_source.pretrained_source_model(cfg, data, 0, torch.device("cpu"))
        (folder / "model.safetensors").write_bytes(b"second, longer")
    assert keys[0]["files"] != keys[1]["files"] and keys[0]["files"][0] == str(folder)
